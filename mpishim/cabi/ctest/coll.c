/* ranks: 1 2 3 4 */
/* coll.c: Barrier, Bcast, Reduce, Allreduce, Reduce_scatter_block,
 * Reduce_scatter, Scan, Exscan: every root, counts 0/1/1000 (and 100000
 * doubles for Bcast/Allreduce/Reduce), MPI_IN_PLACE where allowed. Expected
 * values come from closed formulas over the contributions
 *   V(r, i) = 1000 r + i   (ints)      D(r, i) = r + i/2   (doubles)
 * The gather/scatter/alltoall family is in coll_v.c. */
#include "ctest.h"

static int rank, size;
static const int counts[3] = {0, 1, 1000};
#define NC 3
#define BIGD 100000

static int V(int r, int i) { return 1000 * r + i; }
static double D(int r, int i) { return r + 0.5 * i; }
/* sum of V(q, i) for q in [lo, hi) */
static int sumV(int lo, int hi, int i)
{
    return 1000 * (lo + hi - 1) * (hi - lo) / 2 + (hi - lo) * i;
}
static double sumD(int lo, int hi, int i)
{
    return (lo + hi - 1) * (hi - lo) / 2.0 + (hi - lo) * 0.5 * i;
}

static int *ints(int n) { return malloc((n > 0 ? n : 1) * sizeof(int)); }

/* Barrier, many times; and its classic use: receives posted before a
 * barrier make a ready-mode send after it correct. */
static void barrier(void)
{
    int k, v = -1, r;
    MPI_Request rq;
    for (k = 0; k < 50; k++)
        CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
    if (rank != 0)
        MPI_Irecv(&v, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, &rq);
    CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) {
        for (r = 1; r < size; r++)
            MPI_Rsend(&r, 1, MPI_INT, r, 5, MPI_COMM_WORLD);
    } else {
        MPI_Wait(&rq, MPI_STATUS_IGNORE);
        CHECK(v == rank, "Rsend after Barrier gave %d", v);
    }
}

static void bcast(void)
{
    int root, c, i, bad, n;
    double *d = malloc(BIGD * sizeof(double));
    for (root = 0; root < size; root++) {
        for (c = 0; c < NC; c++) {
            int *b = ints(counts[c] + 1);
            n = counts[c];
            for (i = 0; i <= n; i++)
                b[i] = rank == root ? V(root, i) : -1;
            CHECK_MPI(MPI_Bcast(b, n, MPI_INT, root, MPI_COMM_WORLD));
            for (bad = 0, i = 0; i < n; i++)
                bad += b[i] != V(root, i);
            CHECK(bad == 0, "Bcast root %d count %d: %d wrong", root, n, bad);
            CHECK(b[n] == (rank == root ? V(root, n) : -1),
                  "Bcast root %d count %d wrote past the end", root, n);
            free(b);
        }
        for (i = 0; i < BIGD; i++)
            d[i] = rank == root ? D(root, i) : -1.0;
        CHECK_MPI(MPI_Bcast(d, BIGD, MPI_DOUBLE, root, MPI_COMM_WORLD));
        for (bad = 0, i = 0; i < BIGD; i++)
            bad += d[i] != D(root, i);
        CHECK(bad == 0, "Bcast root %d of %d doubles: %d wrong", root, BIGD,
              bad);
    }
    free(d);
}

static void reduce(void)
{
    int root, c, i, bad, n, inplace;
    double *ds = malloc(BIGD * sizeof(double)), *dr = NULL;
    for (root = 0; root < size; root++) {
        for (inplace = 0; inplace < 2; inplace++) {
            for (c = 0; c < NC; c++) {
                int *s = ints(counts[c]), *r = NULL;
                n = counts[c];
                for (i = 0; i < n; i++)
                    s[i] = V(rank, i);
                if (rank == root) { /* recvbuf matters at the root only */
                    r = ints(n);
                    for (i = 0; i < n; i++)
                        r[i] = inplace ? V(rank, i) : -1;
                }
                CHECK_MPI(MPI_Reduce(inplace && rank == root ? MPI_IN_PLACE : s,
                                     r, n, MPI_INT, MPI_SUM, root,
                                     MPI_COMM_WORLD));
                if (rank == root) {
                    for (bad = 0, i = 0; i < n; i++)
                        bad += r[i] != sumV(0, size, i);
                    CHECK(bad == 0, "Reduce root %d count %d in_place %d: %d "
                          "wrong", root, n, inplace, bad);
                }
                for (bad = 0, i = 0; i < n; i++)
                    bad += s[i] != V(rank, i);
                CHECK(bad == 0, "Reduce changed its send buffer");
                free(s);
                free(r);
            }
        }
        /* large, doubles, MPI_MAX */
        for (i = 0; i < BIGD; i++)
            ds[i] = D(rank, i);
        if (rank == root)
            dr = malloc(BIGD * sizeof(double));
        CHECK_MPI(MPI_Reduce(ds, dr, BIGD, MPI_DOUBLE, MPI_MAX, root,
                             MPI_COMM_WORLD));
        if (rank == root) {
            for (bad = 0, i = 0; i < BIGD; i++)
                bad += dr[i] != D(size - 1, i);
            CHECK(bad == 0, "Reduce MAX of %d doubles at %d: %d wrong", BIGD,
                  root, bad);
            free(dr);
            dr = NULL;
        }
    }
    free(ds);
}

static void allreduce(void)
{
    int c, i, bad, n, inplace;
    double *ds = malloc(BIGD * sizeof(double));
    double *dr = malloc(BIGD * sizeof(double));
    for (inplace = 0; inplace < 2; inplace++) {
        for (c = 0; c < NC; c++) {
            int *s = ints(counts[c]), *r = ints(counts[c]);
            n = counts[c];
            for (i = 0; i < n; i++) {
                s[i] = V(rank, i);
                r[i] = inplace ? V(rank, i) : -1;
            }
            CHECK_MPI(MPI_Allreduce(inplace ? MPI_IN_PLACE : s, r, n, MPI_INT,
                                    MPI_SUM, MPI_COMM_WORLD));
            for (bad = 0, i = 0; i < n; i++)
                bad += r[i] != sumV(0, size, i);
            CHECK(bad == 0, "Allreduce SUM count %d in_place %d: %d wrong", n,
                  inplace, bad);
            if (!inplace) {
                CHECK_MPI(MPI_Allreduce(s, r, n, MPI_INT, MPI_MIN,
                                        MPI_COMM_WORLD));
                for (bad = 0, i = 0; i < n; i++)
                    bad += r[i] != V(0, i);
                CHECK(bad == 0, "Allreduce MIN count %d: %d wrong", n, bad);
            }
            free(s);
            free(r);
        }
        for (i = 0; i < BIGD; i++) {
            ds[i] = D(rank, i);
            dr[i] = inplace ? D(rank, i) : -1.0;
        }
        CHECK_MPI(MPI_Allreduce(inplace ? MPI_IN_PLACE : ds, dr, BIGD,
                                MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
        for (bad = 0, i = 0; i < BIGD; i++)
            bad += dr[i] != sumD(0, size, i);
        CHECK(bad == 0, "Allreduce of %d doubles in_place %d: %d wrong", BIGD,
              inplace, bad);
    }
    free(ds);
    free(dr);
}

/* Reduce_scatter_block: rank r gets block r of the elementwise sum. */
static void reduce_scatter_block(void)
{
    int c, i, bad, k, inplace;
    for (inplace = 0; inplace < 2; inplace++) {
        for (c = 0; c < NC; c++) {
            int *s, *r;
            k = counts[c];
            s = ints(size * k);
            r = ints(size * k);
            for (i = 0; i < size * k; i++) {
                s[i] = V(rank, i);
                r[i] = inplace ? V(rank, i) : -1;
            }
            CHECK_MPI(MPI_Reduce_scatter_block(inplace ? MPI_IN_PLACE : s, r,
                                               k, MPI_INT, MPI_SUM,
                                               MPI_COMM_WORLD));
            for (bad = 0, i = 0; i < k; i++)
                bad += r[i] != sumV(0, size, rank * k + i);
            CHECK(bad == 0, "Reduce_scatter_block %d in_place %d: %d wrong", k,
                  inplace, bad);
            free(s);
            free(r);
        }
    }
}

/* Reduce_scatter with uneven counts, some zero. */
static void reduce_scatter(void)
{
    int pat, i, q, bad, total, off, inplace, rc[4];
    for (pat = 0; pat < 3; pat++) {
        for (q = 0; q < size; q++)
            rc[q] = pat == 0 ? q + 1
                  : pat == 1 ? (q % 2 ? 3 : 0)
                  : (q == size - 1 ? 1000 : 0);
        for (total = 0, off = 0, q = 0; q < size; q++) {
            if (q < rank)
                off += rc[q];
            total += rc[q];
        }
        for (inplace = 0; inplace < 2; inplace++) {
            int *s = ints(total), *r = ints(total);
            for (i = 0; i < total; i++) {
                s[i] = V(rank, i);
                r[i] = inplace ? V(rank, i) : -1;
            }
            CHECK_MPI(MPI_Reduce_scatter(inplace ? MPI_IN_PLACE : s, r, rc,
                                         MPI_INT, MPI_SUM, MPI_COMM_WORLD));
            for (bad = 0, i = 0; i < rc[rank]; i++)
                bad += r[i] != sumV(0, size, off + i);
            CHECK(bad == 0, "Reduce_scatter pattern %d in_place %d: %d wrong",
                  pat, inplace, bad);
            free(s);
            free(r);
        }
    }
}

/* Scan (inclusive) and Exscan (exclusive; rank 0's result is undefined). */
static void scans(void)
{
    int c, i, bad, n, inplace, ex;
    for (ex = 0; ex < 2; ex++) {
        for (inplace = 0; inplace < 2; inplace++) {
            for (c = 0; c < NC; c++) {
                int *s = ints(counts[c]), *r = ints(counts[c]);
                n = counts[c];
                for (i = 0; i < n; i++) {
                    s[i] = V(rank, i);
                    r[i] = inplace ? V(rank, i) : -1;
                }
                if (ex)
                    CHECK_MPI(MPI_Exscan(inplace ? MPI_IN_PLACE : s, r, n,
                                         MPI_INT, MPI_SUM, MPI_COMM_WORLD));
                else
                    CHECK_MPI(MPI_Scan(inplace ? MPI_IN_PLACE : s, r, n,
                                       MPI_INT, MPI_SUM, MPI_COMM_WORLD));
                if (ex && rank == 0) {
                    free(s);
                    free(r);
                    continue;
                }
                for (bad = 0, i = 0; i < n; i++)
                    bad += r[i] != sumV(0, ex ? rank : rank + 1, i);
                CHECK(bad == 0, "%s count %d in_place %d: %d wrong",
                      ex ? "Exscan" : "Scan", n, inplace, bad);
                free(s);
                free(r);
            }
        }
    }
    /* a non-monotone MAX scan: prefix maxima of W(q) = (7q + 3) % 5 */
    {
        int w = (7 * rank + 3) % 5, got = -1, want = 3, q;
        for (q = 1; q <= rank; q++)
            if ((7 * q + 3) % 5 > want)
                want = (7 * q + 3) % 5;
        CHECK_MPI(MPI_Scan(&w, &got, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
        CHECK(got == want, "Scan MAX gave %d, want %d", got, want);
    }
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "coll");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    barrier();
    bcast();
    reduce();
    allreduce();
    reduce_scatter_block();
    reduce_scatter();
    scans();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
