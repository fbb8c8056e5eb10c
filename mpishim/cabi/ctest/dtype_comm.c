/* ranks: 1 2 3 4 */
/* dtype_comm.c: derived datatypes in communication. A matrix column (vector)
 * sent and received contiguous and vice versa, a transpose through a resized
 * column; Get_count/Get_elements on derived types (MPI_UNDEFINED for a
 * partial one); Pack/Unpack/Pack_size with MPI_PACKED messages; Bcast of a
 * struct array, Gather of vector columns; a struct as MPI_BYTE. Point to
 * point runs on a ring (send right, receive left). */
#include "ctest.h"
#include <stddef.h>

#define R 6 /* matrix rows */
#define C 5 /* matrix columns */

static int rank, size, left, right;
static MPI_Datatype col;  /* column of a R x C matrix of doubles */
static MPI_Datatype colr; /* the same, extent of one double */
static MPI_Datatype stype; /* struct S, extent sizeof(struct S) */

struct S { char c; double d; int i; };

static double A(int r, int i, int j) { return r * 100 + i * 10 + j; }
static void fill_matrix(double m[R][C], int r)
{
    int i, j;
    for (i = 0; i < R; i++)
        for (j = 0; j < C; j++)
            m[i][j] = A(r, i, j);
}
static struct S mk(int r, int k)
{
    struct S s;
    memset(&s, 0, sizeof s);
    s.c = (char)('a' + r + k);
    s.d = r + k * 0.25;
    s.i = -r * 10 - k;
    return s;
}
static int same(struct S x, struct S y) { return x.c == y.c && x.d == y.d && x.i == y.i; }

static void make_types(void)
{
    int bl[3] = {1, 1, 1};
    MPI_Aint dp[3] = {offsetof(struct S, c), offsetof(struct S, d),
                      offsetof(struct S, i)};
    MPI_Datatype ty[3] = {MPI_CHAR, MPI_DOUBLE, MPI_INT}, tmp;
    MPI_Type_vector(R, 1, C, MPI_DOUBLE, &col);
    MPI_Type_create_resized(col, 0, sizeof(double), &colr);
    MPI_Type_create_struct(3, bl, dp, ty, &tmp);
    MPI_Type_create_resized(tmp, 0, sizeof(struct S), &stype);
    MPI_Type_free(&tmp); /* stype stays usable */
    MPI_Type_commit(&col);
    MPI_Type_commit(&colr);
    MPI_Type_commit(&stype);
}

static void columns(void)
{
    double m[R][C], b[R][C], v[R * C];
    int i, j, bad, count = -1;
    MPI_Status st;
    fill_matrix(m, rank);

    /* column 2 as a vector -> R contiguous doubles */
    CHECK_MPI(MPI_Sendrecv(&m[0][2], 1, col, right, 1, v, R * C, MPI_DOUBLE,
                           left, 1, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_DOUBLE, &count);
    for (bad = 0, i = 0; i < R; i++)
        bad += v[i] != A(left, i, 2);
    CHECK(count == R && bad == 0, "column -> contiguous: count %d, %d wrong",
          count, bad);

    /* R contiguous doubles -> column 3, nothing else touched */
    for (i = 0; i < R; i++)
        v[i] = rank * 1000 + i;
    for (i = 0; i < R; i++)
        for (j = 0; j < C; j++)
            b[i][j] = -1;
    CHECK_MPI(MPI_Sendrecv(v, R, MPI_DOUBLE, right, 2, &b[0][3], 1, col, left,
                           2, MPI_COMM_WORLD, &st));
    for (bad = 0, i = 0; i < R; i++)
        for (j = 0; j < C; j++)
            bad += b[i][j] != (j == 3 ? left * 1000 + i : -1);
    CHECK(bad == 0, "contiguous -> column: %d wrong", bad);

    /* C resized columns = the transpose, as R*C contiguous doubles */
    CHECK_MPI(MPI_Sendrecv(m, C, colr, right, 3, v, R * C, MPI_DOUBLE, left, 3,
                           MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_DOUBLE, &count);
    for (bad = 0, j = 0; j < C; j++)
        for (i = 0; i < R; i++)
            bad += v[j * R + i] != A(left, i, j);
    CHECK(count == R * C && bad == 0, "transpose: count %d, %d wrong", count,
          bad);
    /* and back: contiguous transpose received as C resized columns */
    CHECK_MPI(MPI_Sendrecv(v, R * C, MPI_DOUBLE, right, 4, b, C, colr, left, 4,
                           MPI_COMM_WORLD, &st));
    for (bad = 0, i = 0; i < R; i++)
        for (j = 0; j < C; j++)
            bad += b[i][j] != A((left + size - 1) % size, i, j);
    CHECK(bad == 0, "transpose back: %d wrong", bad);
    MPI_Get_elements(&st, colr, &count);
    CHECK(count == R * C, "Get_elements of %d columns: %d", C, count);
    MPI_Get_count(&st, colr, &count);
    CHECK(count == C, "Get_count of %d columns: %d", C, count);
}

/* Get_count/Get_elements: whole structs, and a partial struct (char and
 * double only), which has count MPI_UNDEFINED and 2 elements. */
static void counts(void)
{
    struct S out[3], in[3];
    MPI_Datatype half, tmp;
    int bl[2] = {1, 1}, count = -5, elems = -5, k;
    MPI_Aint dp[2] = {offsetof(struct S, c), offsetof(struct S, d)};
    MPI_Datatype ty[2] = {MPI_CHAR, MPI_DOUBLE};
    MPI_Status st;
    for (k = 0; k < 3; k++)
        out[k] = mk(rank, k);
    CHECK_MPI(MPI_Sendrecv(out, 2, stype, right, 5, in, 3, stype, left, 5,
                           MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, stype, &count);
    MPI_Get_elements(&st, stype, &elems);
    CHECK(count == 2 && elems == 6, "2 structs: count %d elements %d", count,
          elems);
    CHECK(same(in[0], mk(left, 0)) && same(in[1], mk(left, 1)),
          "structs received wrong");

    MPI_Type_create_struct(2, bl, dp, ty, &tmp);
    MPI_Type_create_resized(tmp, 0, sizeof(struct S), &half);
    MPI_Type_commit(&half);
    CHECK_MPI(MPI_Sendrecv(out, 1, half, right, 6, in, 1, stype, left, 6,
                           MPI_COMM_WORLD, &st));
    count = elems = -5;
    MPI_Get_count(&st, stype, &count);
    MPI_Get_elements(&st, stype, &elems);
    CHECK(count == MPI_UNDEFINED && elems == 2,
          "partial struct: count %d elements %d", count, elems);
    CHECK(in[0].c == mk(left, 0).c && in[0].d == mk(left, 0).d,
          "partial struct received wrong");
    MPI_Type_free(&tmp);
    MPI_Type_free(&half);
}

static void packing(void)
{
    double m[R][C], colv[R];
    struct S ss[2], got[2];
    int n = 42 + rank, gotn = -1, s1, s2, s3, total, pos = 0, upos = 0, count;
    int i, bad, ints[5], iin[5];
    char *buf, *rbuf;
    MPI_Status st;
    fill_matrix(m, rank);
    ss[0] = mk(rank, 0);
    ss[1] = mk(rank, 1);
    MPI_Pack_size(1, MPI_INT, MPI_COMM_WORLD, &s1);
    MPI_Pack_size(1, col, MPI_COMM_WORLD, &s2);
    MPI_Pack_size(2, stype, MPI_COMM_WORLD, &s3);
    CHECK(s1 >= (int)sizeof(int) && s2 >= R * (int)sizeof(double) &&
              s3 >= 2 * 13,
          "Pack_size %d %d %d", s1, s2, s3);
    total = s1 + s2 + s3;
    buf = malloc(total);
    rbuf = malloc(total);
    CHECK_MPI(MPI_Pack(&n, 1, MPI_INT, buf, total, &pos, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Pack(&m[0][1], 1, col, buf, total, &pos, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Pack(ss, 2, stype, buf, total, &pos, MPI_COMM_WORLD));
    CHECK(pos > 0 && pos <= total, "packed %d bytes, bound %d", pos, total);

    CHECK_MPI(MPI_Sendrecv(buf, pos, MPI_PACKED, right, 7, rbuf, total,
                           MPI_PACKED, left, 7, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_PACKED, &count);
    CHECK(count == pos, "MPI_PACKED message of %d bytes, sent %d", count, pos);
    /* unpack the column into contiguous doubles: same type signature */
    CHECK_MPI(MPI_Unpack(rbuf, count, &upos, &gotn, 1, MPI_INT,
                         MPI_COMM_WORLD));
    CHECK_MPI(MPI_Unpack(rbuf, count, &upos, colv, R, MPI_DOUBLE,
                         MPI_COMM_WORLD));
    CHECK_MPI(MPI_Unpack(rbuf, count, &upos, got, 2, stype, MPI_COMM_WORLD));
    CHECK(upos == count, "unpacked %d of %d bytes", upos, count);
    for (bad = 0, i = 0; i < R; i++)
        bad += colv[i] != A(left, i, 1);
    CHECK(gotn == 42 + left && bad == 0 && same(got[0], mk(left, 0)) &&
              same(got[1], mk(left, 1)),
          "unpacked n %d, %d wrong column values", gotn, bad);

    /* packed ints received as MPI_INT, and MPI_INT received as packed */
    for (i = 0; i < 5; i++)
        ints[i] = rank * 5 + i;
    pos = 0;
    MPI_Pack(ints, 5, MPI_INT, buf, total, &pos, MPI_COMM_WORLD);
    CHECK_MPI(MPI_Sendrecv(buf, pos, MPI_PACKED, right, 8, iin, 5, MPI_INT,
                           left, 8, MPI_COMM_WORLD, &st));
    for (bad = 0, i = 0; i < 5; i++)
        bad += iin[i] != left * 5 + i;
    CHECK(bad == 0, "packed -> MPI_INT: %d wrong", bad);
    CHECK_MPI(MPI_Sendrecv(ints, 5, MPI_INT, right, 9, rbuf, total, MPI_PACKED,
                           left, 9, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_PACKED, &count);
    upos = 0;
    MPI_Unpack(rbuf, count, &upos, iin, 5, MPI_INT, MPI_COMM_WORLD);
    for (bad = 0, i = 0; i < 5; i++)
        bad += iin[i] != left * 5 + i;
    CHECK(bad == 0 && upos == count, "MPI_INT -> packed: %d wrong", bad);
    free(buf);
    free(rbuf);
}

static void collectives(void)
{
    struct S arr[4];
    double m[R][C], g[R * 4], gm[R * 4]; /* gm: R x size */
    MPI_Datatype gcol, tmp;
    int root, k, i, r, bad;
    for (root = 0; root < size; root++) {
        for (k = 0; k < 4; k++)
            arr[k] = rank == root ? mk(root, k) : mk(99, 0);
        CHECK_MPI(MPI_Bcast(arr, 4, stype, root, MPI_COMM_WORLD));
        for (bad = 0, k = 0; k < 4; k++)
            bad += !same(arr[k], mk(root, k));
        CHECK(bad == 0, "Bcast of structs from %d: %d wrong", root, bad);
    }

    /* each rank sends column rank % C of its matrix */
    fill_matrix(m, rank);
    MPI_Type_vector(R, 1, size, MPI_DOUBLE, &tmp); /* column of R x size */
    MPI_Type_create_resized(tmp, 0, sizeof(double), &gcol);
    MPI_Type_commit(&gcol);
    MPI_Type_free(&tmp);
    for (root = 0; root < size; root++) {
        CHECK_MPI(MPI_Gather(&m[0][rank % C], 1, col, g, R, MPI_DOUBLE, root,
                             MPI_COMM_WORLD));
        /* received as columns: rank r's data lands in column r */
        CHECK_MPI(MPI_Gather(&m[0][rank % C], 1, col, gm, 1, gcol, root,
                             MPI_COMM_WORLD));
        if (rank != root)
            continue;
        for (bad = 0, r = 0; r < size; r++)
            for (i = 0; i < R; i++)
                bad += g[r * R + i] != A(r, i, r % C) ||
                       gm[i * size + r] != A(r, i, r % C);
        CHECK(bad == 0, "Gather of columns at %d: %d wrong", root, bad);
    }
    MPI_Type_free(&gcol);
}

/* A struct as raw bytes. */
static void bytes(void)
{
    struct S out = mk(rank, 3), in;
    int count = -1;
    MPI_Status st;
    memset(&in, 0, sizeof in);
    CHECK_MPI(MPI_Sendrecv(&out, sizeof out, MPI_BYTE, right, 10, &in,
                           sizeof in, MPI_BYTE, left, 10, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_BYTE, &count);
    CHECK(count == (int)sizeof(struct S) && same(in, mk(left, 3)),
          "struct as MPI_BYTE: count %d", count);
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "dtype_comm");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    right = (rank + 1) % size;
    left = (rank + size - 1) % size;

    make_types();
    columns();
    counts();
    packing();
    collectives();
    bytes();
    MPI_Type_free(&col);
    MPI_Type_free(&colr);
    MPI_Type_free(&stype);

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
