/* ranks: 1 2 3 4 */
/* ops_user.c: Op_create with a commutative user function (ints, sum mod 97)
 * and a non-commutative one (2x2 int matrix product, checked against the
 * product in rank order), a user op on a derived datatype (a contiguous of
 * 2 doubles) that checks the datatype handle it receives; Op_commutative,
 * Reduce_local, Op_free. Used with Allreduce, Reduce at every root, Scan,
 * Exscan and Reduce_scatter_block. */
#include "ctest.h"

static int rank, size;
static MPI_Datatype mat_type, pair_type;
static int bad_handles; /* a user function got a datatype it did not expect */

/* commutative: elementwise sum modulo 97 */
static void addmod(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    int *a = in, *b = inout, i;
    if (*dt != MPI_INT)
        bad_handles++;
    for (i = 0; i < *len; i++)
        b[i] = (a[i] + b[i]) % 97;
}
static int addv(int r, int i) { return (31 * r + i) % 97; }

/* non-commutative: inout = in x inout, where in holds the lower ranks */
typedef struct { int a, b, c, d; } mat; /* [[a b] [c d]] */
static mat mul(mat x, mat y)
{
    mat z = {x.a * y.a + x.b * y.c, x.a * y.b + x.b * y.d,
             x.c * y.a + x.d * y.c, x.c * y.b + x.d * y.d};
    return z;
}
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    mat *x = in, *y = inout;
    int i;
    if (*dt != mat_type)
        bad_handles++;
    for (i = 0; i < *len; i++)
        y[i] = mul(x[i], y[i]);
}
static mat M(int r, int e)
{
    mat m = {1, (r + e) % 3 + 1, (r + 2 * e) % 2 + r % 2, 1};
    return m;
}
/* M(lo, e) x M(lo+1, e) x ... x M(hi-1, e) */
static mat prod(int lo, int hi, int e)
{
    mat p = {1, 0, 0, 1};
    int q;
    for (q = lo; q < hi; q++)
        p = mul(p, M(q, e));
    return p;
}
static int same(mat x, mat y)
{
    return x.a == y.a && x.b == y.b && x.c == y.c && x.d == y.d;
}

/* on pairs of doubles: (x, y) o (u, v) = (x + u, max(y, v)) */
static void pairop(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    double *a = in, *b = inout;
    int i, sz = 0;
    MPI_Type_size(*dt, &sz);
    if (*dt != pair_type || sz != 2 * (int)sizeof(double))
        bad_handles++;
    for (i = 0; i < *len; i++) {
        b[2 * i] += a[2 * i];
        if (a[2 * i + 1] > b[2 * i + 1])
            b[2 * i + 1] = a[2 * i + 1];
    }
}

static void commutative(void)
{
    static const int counts[3] = {1, 1000, 50000};
    MPI_Op op;
    int c, n, i, q, bad, root, flag = -1;
    CHECK_MPI(MPI_Op_create(addmod, 1, &op));
    CHECK_MPI(MPI_Op_commutative(op, &flag));
    CHECK(flag == 1, "Op_commutative of a commutative op: %d", flag);
    for (c = 0; c < 3; c++) {
        int *s, *r, want;
        n = counts[c];
        s = malloc(n * sizeof(int));
        r = malloc(n * sizeof(int));
        for (i = 0; i < n; i++)
            s[i] = addv(rank, i);
        CHECK_MPI(MPI_Allreduce(s, r, n, MPI_INT, op, MPI_COMM_WORLD));
        for (bad = 0, i = 0; i < n; i++) {
            for (want = 0, q = 0; q < size; q++)
                want = (want + addv(q, i)) % 97;
            bad += r[i] != want;
        }
        CHECK(bad == 0, "Allreduce addmod count %d: %d wrong", n, bad);
        for (root = 0; root < size && n <= 1000; root++) {
            CHECK_MPI(MPI_Reduce(s, r, n, MPI_INT, op, root, MPI_COMM_WORLD));
            if (rank != root)
                continue;
            for (bad = 0, i = 0; i < n; i++) {
                for (want = 0, q = 0; q < size; q++)
                    want = (want + addv(q, i)) % 97;
                bad += r[i] != want;
            }
            CHECK(bad == 0, "Reduce addmod root %d count %d: %d wrong", root,
                  n, bad);
        }
        CHECK_MPI(MPI_Scan(s, r, n, MPI_INT, op, MPI_COMM_WORLD));
        for (bad = 0, i = 0; i < n; i++) {
            for (want = 0, q = 0; q <= rank; q++)
                want = (want + addv(q, i)) % 97;
            bad += r[i] != want;
        }
        CHECK(bad == 0, "Scan addmod count %d: %d wrong", n, bad);
        free(s);
        free(r);
    }
    CHECK_MPI(MPI_Op_free(&op));
    CHECK(op == MPI_OP_NULL, "Op_free left the handle set");
}

static void noncommutative(void)
{
    static const int counts[2] = {1, 1000};
    MPI_Op op;
    mat *s, *r, a, b;
    int c, n, e, bad, root, flag = -1;
    CHECK_MPI(MPI_Type_contiguous(4, MPI_INT, &mat_type));
    CHECK_MPI(MPI_Type_commit(&mat_type));
    CHECK_MPI(MPI_Op_create(matmul, 0, &op));
    CHECK_MPI(MPI_Op_commutative(op, &flag));
    CHECK(flag == 0, "Op_commutative of a non-commutative op: %d", flag);
    s = malloc(1000 * sizeof(mat));
    r = malloc(1000 * size * sizeof(mat));

    /* Reduce_local(in, inout): inout = in x inout */
    a = M(0, 1);
    b = M(1, 0);
    CHECK_MPI(MPI_Reduce_local(&a, &b, 1, mat_type, op));
    CHECK(same(b, mul(M(0, 1), M(1, 0))), "Reduce_local order");

    for (c = 0; c < 2; c++) {
        n = counts[c];
        for (e = 0; e < n; e++)
            s[e] = M(rank, e);
        CHECK_MPI(MPI_Allreduce(s, r, n, mat_type, op, MPI_COMM_WORLD));
        for (bad = 0, e = 0; e < n; e++)
            bad += !same(r[e], prod(0, size, e));
        CHECK(bad == 0, "Allreduce matmul count %d: %d wrong", n, bad);
        for (root = 0; root < size; root++) {
            CHECK_MPI(MPI_Reduce(s, r, n, mat_type, op, root, MPI_COMM_WORLD));
            if (rank != root)
                continue;
            for (bad = 0, e = 0; e < n; e++)
                bad += !same(r[e], prod(0, size, e));
            CHECK(bad == 0, "Reduce matmul root %d count %d: %d wrong", root, n,
                  bad);
        }
        CHECK_MPI(MPI_Scan(s, r, n, mat_type, op, MPI_COMM_WORLD));
        for (bad = 0, e = 0; e < n; e++)
            bad += !same(r[e], prod(0, rank + 1, e));
        CHECK(bad == 0, "Scan matmul count %d: %d wrong", n, bad);
        CHECK_MPI(MPI_Exscan(s, r, n, mat_type, op, MPI_COMM_WORLD));
        if (rank > 0) {
            for (bad = 0, e = 0; e < n; e++)
                bad += !same(r[e], prod(0, rank, e));
            CHECK(bad == 0, "Exscan matmul count %d: %d wrong", n, bad);
        }
    }
    /* Reduce_scatter_block: rank k gets the products of element k */
    {
        mat *all = malloc(size * 2 * sizeof(mat));
        for (e = 0; e < size * 2; e++)
            all[e] = M(rank, e);
        CHECK_MPI(MPI_Reduce_scatter_block(all, r, 2, mat_type, op,
                                           MPI_COMM_WORLD));
        CHECK(same(r[0], prod(0, size, 2 * rank)) &&
                  same(r[1], prod(0, size, 2 * rank + 1)),
              "Reduce_scatter_block matmul");
        free(all);
    }
    free(s);
    free(r);
    CHECK_MPI(MPI_Op_free(&op));
    CHECK(op == MPI_OP_NULL, "Op_free left the handle set");
    MPI_Type_free(&mat_type);
}

static void derived(void)
{
    enum { N = 100 };
    double s[2 * N], r[2 * N];
    MPI_Op op;
    int e, q, root, bad;
    CHECK_MPI(MPI_Type_contiguous(2, MPI_DOUBLE, &pair_type));
    CHECK_MPI(MPI_Type_commit(&pair_type));
    CHECK_MPI(MPI_Op_create(pairop, 1, &op));
    for (e = 0; e < N; e++) {
        s[2 * e] = rank + 1 + e;
        s[2 * e + 1] = (3 * rank + e) % 5;
    }
    for (root = -1; root < size; root++) { /* -1: Allreduce */
        memset(r, 0, sizeof r);
        if (root < 0)
            CHECK_MPI(MPI_Allreduce(s, r, N, pair_type, op, MPI_COMM_WORLD));
        else
            CHECK_MPI(MPI_Reduce(s, r, N, pair_type, op, root,
                                 MPI_COMM_WORLD));
        if (root >= 0 && rank != root)
            continue;
        for (bad = 0, e = 0; e < N; e++) {
            double sum = 0, max = 0;
            for (q = 0; q < size; q++) {
                sum += q + 1 + e;
                if ((3 * q + e) % 5 > max)
                    max = (3 * q + e) % 5;
            }
            bad += r[2 * e] != sum || r[2 * e + 1] != max;
        }
        CHECK(bad == 0, "pair op, root %d: %d wrong", root, bad);
    }
    CHECK_MPI(MPI_Op_free(&op));
    MPI_Type_free(&pair_type);
}

int main(int argc, char **argv)
{
    int flag = -1, in[3] = {1, 2, 3}, io[3] = {10, 20, 30};
    ctest_init(&argc, &argv, "ops_user");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    CHECK_MPI(MPI_Op_commutative(MPI_SUM, &flag));
    CHECK(flag == 1, "Op_commutative(MPI_SUM) %d", flag);
    CHECK_MPI(MPI_Reduce_local(in, io, 3, MPI_INT, MPI_SUM));
    CHECK(io[0] == 11 && io[1] == 22 && io[2] == 33, "Reduce_local SUM");

    commutative();
    noncommutative();
    derived();
    CHECK(bad_handles == 0, "user functions got %d unexpected datatypes",
          bad_handles);

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
