/* ranks: 1 2 3 4 */
/* coll_v.c: Gather(v), Scatter(v), Allgather(v), Alltoall(v,w): every root,
 * counts 0/1/1000 (100 for the all-to-alls), MPI_IN_PLACE where allowed,
 * v-variants with uneven (some zero) counts, gaps and reversed displacements;
 * gaps must stay untouched. Values:
 *   V(r, i)    = 1000 r + i           what rank r contributes at index i
 *   A(s, d, i) = 10000 s + 100 d + i  what s sends to d at index i (i < 100)
 */
#include "ctest.h"

static int rank, size;
static const int counts[3] = {0, 1, 1000};
#define NC 3
#define GAP 2   /* elements left between blocks of the v-variants */
#define HOLE -7 /* what gaps hold */

static int V(int r, int i) { return 1000 * r + i; }
static int A(int s, int d, int i) { return 10000 * s + 100 * d + i; }
static int *ints(int n) { return malloc((n > 0 ? n : 1) * sizeof(int)); }

static void gather_scatter(void)
{
    int root, c, k, i, r, bad, inplace;
    for (root = 0; root < size; root++) {
        for (inplace = 0; inplace < 2; inplace++) {
            for (c = 0; c < NC; c++) {
                int *s, *g = NULL, me = rank == root;
                k = counts[c];
                s = ints(k);
                for (i = 0; i < k; i++)
                    s[i] = V(rank, i);
                /* Gather: recvbuf only at the root (NULL elsewhere) */
                if (me) {
                    g = ints(size * k);
                    for (i = 0; i < size * k; i++)
                        g[i] = inplace && i / k == root ? V(root, i % k) : HOLE;
                }
                CHECK_MPI(MPI_Gather(inplace && me ? MPI_IN_PLACE : s, k,
                                     MPI_INT, g, k, MPI_INT, root,
                                     MPI_COMM_WORLD));
                if (me) {
                    for (bad = 0, r = 0; r < size; r++)
                        for (i = 0; i < k; i++)
                            bad += g[r * k + i] != V(r, i);
                    CHECK(bad == 0, "Gather root %d count %d in_place %d: %d "
                          "wrong", root, k, inplace, bad);
                }
                /* Scatter: block r of the root's buffer (V(r, i) + root) */
                if (me)
                    for (i = 0; i < size * k; i++)
                        g[i] = V(i / k, i % k) + root;
                for (i = 0; i < k; i++)
                    s[i] = HOLE;
                CHECK_MPI(MPI_Scatter(g, k, MPI_INT,
                                      inplace && me ? MPI_IN_PLACE : s, k,
                                      MPI_INT, root, MPI_COMM_WORLD));
                if (!(inplace && me)) {
                    for (bad = 0, i = 0; i < k; i++)
                        bad += s[i] != V(rank, i) + root;
                    CHECK(bad == 0, "Scatter root %d count %d: %d wrong", root,
                          k, bad);
                }
                if (me) {
                    for (bad = 0, i = 0; i < size * k; i++)
                        bad += g[i] != V(i / k, i % k) + root;
                    CHECK(bad == 0, "Scatter changed the root's buffer");
                }
                free(s);
                free(g);
            }
        }
    }
}

/* Layout of the v-variants: rank r's block has cnt(r) = (r+1) m elements, or
 * 0 for odd r when `holes`; blocks in reversed rank order with GAP between. */
static int cnt(int r, int m, int holes) { return holes && r % 2 ? 0 : (r + 1) * m; }
static int layout(int m, int holes, int *cnts, int *displs)
{
    int r, off = 0;
    for (r = size - 1; r >= 0; r--) {
        cnts[r] = cnt(r, m, holes);
        displs[r] = off;
        off += cnts[r] + GAP;
    }
    return off;
}

static void gatherv_scatterv(void)
{
    static const int ms[3] = {0, 1, 100};
    int root, c, holes, inplace, i, r, bad, total, cn[4], dp[4];
    for (root = 0; root < size; root++)
        for (holes = 0; holes < 2; holes++)
            for (inplace = 0; inplace < 2; inplace++)
                for (c = 0; c < 3; c++) {
                    int m = ms[c], me = rank == root, mine, *s, *g = NULL;
                    total = layout(m, holes, cn, dp);
                    mine = cn[rank];
                    s = ints(mine);
                    for (i = 0; i < mine; i++)
                        s[i] = V(rank, i);
                    if (me) {
                        g = ints(total);
                        for (i = 0; i < total; i++)
                            g[i] = HOLE;
                        if (inplace)
                            for (i = 0; i < mine; i++)
                                g[dp[root] + i] = V(root, i);
                    }
                    CHECK_MPI(MPI_Gatherv(inplace && me ? MPI_IN_PLACE : s,
                                          mine, MPI_INT, g, cn, dp, MPI_INT,
                                          root, MPI_COMM_WORLD));
                    if (me) {
                        int used = 0;
                        for (bad = 0, r = 0; r < size; r++) {
                            for (i = 0; i < cn[r]; i++)
                                bad += g[dp[r] + i] != V(r, i);
                            used += cn[r];
                        }
                        for (i = 0; i < total; i++)
                            used -= g[i] != HOLE;
                        CHECK(bad == 0 && used == 0, "Gatherv root %d m %d "
                              "holes %d in_place %d: %d wrong, %d gaps written",
                              root, m, holes, inplace, bad, -used);
                    }
                    /* Scatterv back: block r holds V(r, i) - root */
                    if (me)
                        for (r = 0; r < size; r++)
                            for (i = 0; i < cn[r]; i++)
                                g[dp[r] + i] = V(r, i) - root;
                    for (i = 0; i < mine; i++)
                        s[i] = HOLE;
                    CHECK_MPI(MPI_Scatterv(g, cn, dp, MPI_INT,
                                           inplace && me ? MPI_IN_PLACE : s,
                                           mine, MPI_INT, root,
                                           MPI_COMM_WORLD));
                    if (!(inplace && me)) {
                        for (bad = 0, i = 0; i < mine; i++)
                            bad += s[i] != V(rank, i) - root;
                        CHECK(bad == 0, "Scatterv root %d m %d holes %d: %d "
                              "wrong", root, m, holes, bad);
                    }
                    free(s);
                    free(g);
                }
}

static void allgathers(void)
{
    int c, k, i, r, bad, inplace, holes, total, cn[4], dp[4];
    for (inplace = 0; inplace < 2; inplace++) {
        for (c = 0; c < NC; c++) {
            int *s, *g;
            k = counts[c];
            s = ints(k);
            g = ints(size * k);
            for (i = 0; i < k; i++)
                s[i] = V(rank, i);
            for (i = 0; i < size * k; i++)
                g[i] = inplace && i / k == rank ? V(rank, i % k) : HOLE;
            CHECK_MPI(MPI_Allgather(inplace ? MPI_IN_PLACE : s, k, MPI_INT, g,
                                    k, MPI_INT, MPI_COMM_WORLD));
            for (bad = 0, i = 0; i < size * k; i++)
                bad += g[i] != V(i / k, i % k);
            CHECK(bad == 0, "Allgather count %d in_place %d: %d wrong", k,
                  inplace, bad);
            free(s);
            free(g);
        }
        for (holes = 0; holes < 2; holes++) {
            int *s, *g, used = 0;
            total = layout(7, holes, cn, dp);
            s = ints(cn[rank]);
            g = ints(total);
            for (i = 0; i < cn[rank]; i++)
                s[i] = V(rank, i);
            for (i = 0; i < total; i++)
                g[i] = HOLE;
            if (inplace)
                for (i = 0; i < cn[rank]; i++)
                    g[dp[rank] + i] = V(rank, i);
            CHECK_MPI(MPI_Allgatherv(inplace ? MPI_IN_PLACE : s, cn[rank],
                                     MPI_INT, g, cn, dp, MPI_INT,
                                     MPI_COMM_WORLD));
            for (bad = 0, r = 0; r < size; r++) {
                for (i = 0; i < cn[r]; i++)
                    bad += g[dp[r] + i] != V(r, i);
                used += cn[r];
            }
            for (i = 0; i < total; i++)
                used -= g[i] != HOLE;
            CHECK(bad == 0 && used == 0,
                  "Allgatherv holes %d in_place %d: %d wrong, %d gaps written",
                  holes, inplace, bad, -used);
            free(s);
            free(g);
        }
    }
}

static void alltoall(void)
{
    static const int ks[3] = {0, 1, 100};
    int c, k, i, d, bad, inplace;
    for (inplace = 0; inplace < 2; inplace++)
        for (c = 0; c < 3; c++) {
            int *s, *r;
            k = ks[c];
            s = ints(size * k);
            r = ints(size * k);
            for (d = 0; d < size; d++)
                for (i = 0; i < k; i++) {
                    s[d * k + i] = A(rank, d, i);
                    r[d * k + i] = inplace ? A(rank, d, i) : HOLE;
                }
            CHECK_MPI(MPI_Alltoall(inplace ? MPI_IN_PLACE : s, k, MPI_INT, r, k,
                                   MPI_INT, MPI_COMM_WORLD));
            for (bad = 0, d = 0; d < size; d++)
                for (i = 0; i < k; i++)
                    bad += r[d * k + i] != A(d, rank, i);
            CHECK(bad == 0, "Alltoall count %d in_place %d: %d wrong", k,
                  inplace, bad);
            free(s);
            free(r);
        }
}

/* Alltoallv: s sends C(s, d) elements to d. With MPI_IN_PLACE the counts
 * must be symmetric, so C(s, d) = ((s + d) % 3) m there, else
 * ((s + 2 d) % 3) m. Blocks in reversed order with gaps. */
static int C(int s, int d, int m, int sym) { return ((s + (sym ? d : 2 * d)) % 3) * m; }

static void alltoallv(void)
{
    static const int ms[2] = {1, 50};
    int c, sym, i, p, bad, used, sc[4], sd[4], rc[4], rd[4], stot, rtot;
    for (sym = 0; sym < 2; sym++)
        for (c = 0; c < 2; c++) {
            int m = ms[c], *s, *r;
            for (stot = rtot = 0, p = size - 1; p >= 0; p--) {
                sc[p] = C(rank, p, m, sym);
                sd[p] = stot;
                stot += sc[p] + GAP;
                rc[p] = C(p, rank, m, sym);
                rd[p] = rtot;
                rtot += rc[p] + GAP;
            }
            s = ints(stot);
            r = ints(rtot);
            for (i = 0; i < stot; i++)
                s[i] = HOLE;
            for (i = 0; i < rtot; i++)
                r[i] = HOLE;
            for (p = 0; p < size; p++)
                for (i = 0; i < sc[p]; i++)
                    s[sd[p] + i] = A(rank, p, i);
            if (sym) /* in place: what goes to p sits where p's data comes */
                for (p = 0; p < size; p++)
                    for (i = 0; i < rc[p]; i++)
                        r[rd[p] + i] = A(rank, p, i);
            CHECK_MPI(MPI_Alltoallv(sym ? MPI_IN_PLACE : s, sc, sd, MPI_INT, r,
                                    rc, rd, MPI_INT, MPI_COMM_WORLD));
            for (bad = 0, used = 0, p = 0; p < size; p++) {
                for (i = 0; i < rc[p]; i++)
                    bad += r[rd[p] + i] != A(p, rank, i);
                used += rc[p];
            }
            for (i = 0; i < rtot; i++)
                used -= r[i] != HOLE;
            CHECK(bad == 0 && used == 0,
                  "Alltoallv m %d in_place %d: %d wrong, %d gaps written", m,
                  sym, bad, -used);
            free(s);
            free(r);
        }
}

/* Alltoallw: s sends C(s, d) + 1 elements to d, as MPI_INT when s + d is
 * even and as MPI_DOUBLE when odd, at byte displacements; then in place
 * (symmetric counts and types: the data for p sits where p's data lands). */
static void put(char *b, MPI_Datatype t, int i, int v)
{
    if (t == MPI_INT)
        ((int *)b)[i] = v;
    else
        ((double *)b)[i] = v + 0.5;
}
static int is(const char *b, MPI_Datatype t, int i, int v)
{
    return t == MPI_INT ? ((const int *)b)[i] == v
                        : ((const double *)b)[i] == v + 0.5;
}

static void alltoallw(void)
{
    int sc[4], sd[4], rc[4], rd[4], p, i, bad, stot, rtot, sym;
    MPI_Datatype st[4], rt[4];
    char *s, *r;
    for (sym = 0; sym < 2; sym++) {
        for (stot = rtot = 0, p = 0; p < size; p++) {
            sc[p] = C(rank, p, 1, sym) + 1;
            st[p] = (rank + p) % 2 ? MPI_DOUBLE : MPI_INT;
            sd[p] = stot;
            stot += sc[p] * 8;
            rc[p] = C(p, rank, 1, sym) + 1;
            rt[p] = (rank + p) % 2 ? MPI_DOUBLE : MPI_INT;
            rd[p] = rtot;
            rtot += rc[p] * 8;
        }
        s = malloc(stot);
        r = calloc(rtot, 1);
        for (p = 0; p < size; p++)
            for (i = 0; i < sc[p]; i++) {
                put(s + sd[p], st[p], i, A(rank, p, i));
                if (sym)
                    put(r + rd[p], rt[p], i, A(rank, p, i));
            }
        CHECK_MPI(MPI_Alltoallw(sym ? MPI_IN_PLACE : s, sc, sd, st, r, rc, rd,
                                rt, MPI_COMM_WORLD));
        for (bad = 0, p = 0; p < size; p++)
            for (i = 0; i < rc[p]; i++)
                bad += !is(r + rd[p], rt[p], i, A(p, rank, i));
        CHECK(bad == 0, "Alltoallw in_place %d: %d wrong", sym, bad);
        free(s);
        free(r);
    }
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "coll_v");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    gather_scatter();
    gatherv_scatterv();
    allgathers();
    alltoall();
    alltoallv();
    alltoallw();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
