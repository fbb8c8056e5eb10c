/* ranks: 1 2 3 4 */
/* comm.c: Comm_dup (its own message space), Comm_split (colors, reversed
 * keys, MPI_UNDEFINED), Comm_create from a group, Comm_compare (IDENT,
 * CONGRUENT, SIMILAR, UNEQUAL), Comm_free, Comm_test_inter, MPI_COMM_SELF,
 * collectives on sub-communicators. Groups are in group.c, attributes in
 * attr.c. */
#include "ctest.h"

static int rank, size, left, right;

static int compare(MPI_Comm a, MPI_Comm b)
{
    int r = -1;
    CHECK_MPI(MPI_Comm_compare(a, b, &r));
    return r;
}

/* A message on the dup does not match a receive on the original, even with
 * the same source and tag, and arrives first. */
static void dup(void)
{
    MPI_Comm d;
    int on_dup = 1000 + rank, on_world = 2000 + rank, got = -1, flag = 1, s, r;
    MPI_Request rq[2];
    MPI_Status st;
    CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    MPI_Comm_size(d, &s);
    MPI_Comm_rank(d, &r);
    CHECK(s == size && r == rank, "dup: size %d rank %d", s, r);
    CHECK(compare(MPI_COMM_WORLD, MPI_COMM_WORLD) == MPI_IDENT, "world vs world");
    CHECK(compare(MPI_COMM_WORLD, d) == MPI_CONGRUENT, "world vs dup: %d",
          compare(MPI_COMM_WORLD, d));

    MPI_Isend(&on_dup, 1, MPI_INT, right, 5, d, &rq[0]);
    MPI_Isend(&on_world, 1, MPI_INT, right, 5, MPI_COMM_WORLD, &rq[1]);
    CHECK_MPI(MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                       MPI_COMM_WORLD, &st));
    CHECK(got == 2000 + left, "world receive got %d", got);
    CHECK_MPI(MPI_Recv(&got, 1, MPI_INT, left, 5, d, &st));
    CHECK(got == 1000 + left, "dup receive got %d", got);
    MPI_Waitall(2, rq, MPI_STATUSES_IGNORE);

    /* a message pending on world is invisible on the dup */
    MPI_Isend(&on_world, 1, MPI_INT, right, 6, MPI_COMM_WORLD, &rq[0]);
    MPI_Probe(left, 6, MPI_COMM_WORLD, &st);
    CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, d, &flag, &st));
    CHECK(flag == 0, "Iprobe on the dup saw a message sent on world");
    MPI_Recv(&got, 1, MPI_INT, left, 6, MPI_COMM_WORLD, &st);
    MPI_Wait(&rq[0], MPI_STATUS_IGNORE);

    CHECK_MPI(MPI_Allreduce(&rank, &got, 1, MPI_INT, MPI_SUM, d));
    CHECK(got == size * (size - 1) / 2, "Allreduce on the dup: %d", got);
    CHECK_MPI(MPI_Comm_free(&d));
    CHECK(d == MPI_COMM_NULL, "Comm_free left the handle set");
}

static void split(void)
{
    MPI_Comm c;
    int color = rank % 2, s = -1, r = -1, q, want_s = 0, want_r = 0, sum = -1;
    int want_sum = 0, top = -1;

    /* parity colors, reversed keys: highest world rank first */
    CHECK_MPI(MPI_Comm_split(MPI_COMM_WORLD, color, -rank, &c));
    for (q = 0; q < size; q++)
        if (q % 2 == color) {
            want_s++;
            want_sum += q;
            want_r += q > rank;
            if (q > top)
                top = q;
        }
    MPI_Comm_size(c, &s);
    MPI_Comm_rank(c, &r);
    CHECK(s == want_s && r == want_r, "split parity: size %d rank %d, want %d "
          "%d", s, r, want_s, want_r);
    CHECK_MPI(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, c));
    CHECK(sum == want_sum, "Allreduce on the split: %d, want %d", sum,
          want_sum);
    q = rank;
    CHECK_MPI(MPI_Bcast(&q, 1, MPI_INT, 0, c)); /* root: highest world rank */
    CHECK(q == top, "Bcast from the split's rank 0 gave %d, want %d", q, top);
    CHECK(compare(MPI_COMM_WORLD, c) == (size == 1 ? MPI_CONGRUENT : MPI_UNEQUAL),
          "world vs parity split: %d", compare(MPI_COMM_WORLD, c));
    MPI_Comm_free(&c);

    /* one color, reversed keys: SIMILAR; equal keys keep the order */
    CHECK_MPI(MPI_Comm_split(MPI_COMM_WORLD, 7, size - rank, &c));
    MPI_Comm_rank(c, &r);
    CHECK(r == size - 1 - rank, "reversed split rank %d", r);
    CHECK(compare(MPI_COMM_WORLD, c) == (size == 1 ? MPI_CONGRUENT : MPI_SIMILAR),
          "world vs reversed split: %d", compare(MPI_COMM_WORLD, c));
    MPI_Comm_free(&c);
    CHECK_MPI(MPI_Comm_split(MPI_COMM_WORLD, 0, 0, &c));
    MPI_Comm_rank(c, &r);
    CHECK(r == rank && compare(MPI_COMM_WORLD, c) == MPI_CONGRUENT,
          "equal keys: rank %d", r);
    MPI_Comm_free(&c);

    /* MPI_UNDEFINED gives MPI_COMM_NULL */
    CHECK_MPI(MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : 1,
                             rank, &c));
    if (rank == 0) {
        CHECK(c == MPI_COMM_NULL, "MPI_UNDEFINED color gave a communicator");
    } else {
        MPI_Comm_size(c, &s);
        MPI_Comm_rank(c, &r);
        CHECK(s == size - 1 && r == rank - 1, "split without 0: %d/%d", r, s);
        MPI_Comm_free(&c);
    }
}

static void create(void)
{
    MPI_Group w, g, rev, cg;
    MPI_Comm c;
    int ex = 0, s, r, v, i, ranks[4], cmp = -1;
    MPI_Comm_group(MPI_COMM_WORLD, &w);

    /* all but rank 0 (all of them with one rank) */
    if (size > 1)
        MPI_Group_excl(w, 1, &ex, &g);
    else
        MPI_Group_incl(w, 1, &ex, &g);
    CHECK_MPI(MPI_Comm_create(MPI_COMM_WORLD, g, &c));
    if (size > 1 && rank == 0) {
        CHECK(c == MPI_COMM_NULL, "non-member got a communicator");
    } else {
        MPI_Comm_size(c, &s);
        MPI_Comm_rank(c, &r);
        CHECK(s == (size > 1 ? size - 1 : 1) &&
                  r == (size > 1 ? rank - 1 : 0),
              "Comm_create: rank %d of %d", r, s);
        MPI_Comm_group(c, &cg);
        MPI_Group_compare(cg, g, &cmp);
        CHECK(cmp == MPI_IDENT, "group of the new communicator: %d", cmp);
        MPI_Group_free(&cg);
        v = rank;
        MPI_Bcast(&v, 1, MPI_INT, 0, c);
        CHECK(v == (size > 1 ? 1 : 0), "Bcast on the new communicator: %d", v);
        CHECK_MPI(MPI_Comm_free(&c));
    }
    MPI_Group_free(&g);

    /* reversed group: ranks reversed */
    for (i = 0; i < size; i++)
        ranks[i] = size - 1 - i;
    MPI_Group_incl(w, size, ranks, &rev);
    CHECK_MPI(MPI_Comm_create(MPI_COMM_WORLD, rev, &c));
    MPI_Comm_rank(c, &r);
    CHECK(r == size - 1 - rank, "reversed Comm_create rank %d", r);
    MPI_Comm_free(&c);
    MPI_Group_free(&rev);

    /* the empty group: MPI_COMM_NULL everywhere */
    CHECK_MPI(MPI_Comm_create(MPI_COMM_WORLD, MPI_GROUP_EMPTY, &c));
    CHECK(c == MPI_COMM_NULL, "Comm_create(MPI_GROUP_EMPTY) gave a comm");
    MPI_Group_free(&w);
}

static void self(void)
{
    int s = -1, r = -1, v = rank * 3, got = -1, flag = -1;
    MPI_Comm d;
    MPI_Comm_size(MPI_COMM_SELF, &s);
    MPI_Comm_rank(MPI_COMM_SELF, &r);
    CHECK(s == 1 && r == 0, "MPI_COMM_SELF: rank %d of %d", r, s);
    CHECK_MPI(MPI_Sendrecv(&v, 1, MPI_INT, 0, 3, &got, 1, MPI_INT, 0, 3,
                           MPI_COMM_SELF, MPI_STATUS_IGNORE));
    CHECK(got == v, "self send/recv gave %d", got);
    CHECK_MPI(MPI_Allreduce(&v, &got, 1, MPI_INT, MPI_SUM, MPI_COMM_SELF));
    CHECK(got == v, "Allreduce on SELF gave %d", got);
    CHECK(compare(MPI_COMM_SELF, MPI_COMM_SELF) == MPI_IDENT, "self vs self");
    CHECK(compare(MPI_COMM_SELF, MPI_COMM_WORLD) ==
              (size == 1 ? MPI_CONGRUENT : MPI_UNEQUAL),
          "self vs world: %d", compare(MPI_COMM_SELF, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Comm_test_inter(MPI_COMM_WORLD, &flag));
    CHECK(flag == 0, "Comm_test_inter(world) %d", flag);
    flag = -1;
    CHECK_MPI(MPI_Comm_test_inter(MPI_COMM_SELF, &flag));
    CHECK(flag == 0, "Comm_test_inter(self) %d", flag);
    MPI_Comm_dup(MPI_COMM_SELF, &d);
    CHECK(compare(MPI_COMM_SELF, d) == MPI_CONGRUENT, "self vs its dup");
    MPI_Comm_free(&d);
}

/* Collectives on two halves at once; the first half is ranks [0, size/2). */
static void sub_collectives(void)
{
    MPI_Comm h;
    int color = rank < size / 2, s, r, i, v, root, bad;
    int all[4], sum = -1, scan = -1;
    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &h);
    MPI_Comm_size(h, &s);
    MPI_Comm_rank(h, &r);
    /* world rank of half-rank i: base + i */
    {
        int base = color ? 0 : size / 2;
        CHECK(s == (color ? size / 2 : size - size / 2) && r == rank - base,
              "half: rank %d of %d", r, s);
        for (root = 0; root < s; root++) {
            v = r == root ? 100 + rank : -1;
            CHECK_MPI(MPI_Bcast(&v, 1, MPI_INT, root, h));
            CHECK(v == 100 + base + root, "half Bcast from %d: %d", root, v);
        }
        CHECK_MPI(MPI_Allgather(&rank, 1, MPI_INT, all, 1, MPI_INT, h));
        for (bad = 0, i = 0; i < s; i++)
            bad += all[i] != base + i;
        CHECK(bad == 0, "half Allgather: %d wrong", bad);
        CHECK_MPI(MPI_Reduce(&rank, &sum, 1, MPI_INT, MPI_SUM, s - 1, h));
        if (r == s - 1)
            CHECK(sum == s * base + s * (s - 1) / 2, "half Reduce: %d", sum);
        CHECK_MPI(MPI_Scan(&rank, &scan, 1, MPI_INT, MPI_SUM, h));
        CHECK(scan == (r + 1) * base + r * (r + 1) / 2, "half Scan: %d", scan);
        CHECK_MPI(MPI_Barrier(h));
    }
    /* a world collective in between still works */
    CHECK_MPI(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size * (size - 1) / 2, "world Allreduce: %d", sum);
    MPI_Comm_free(&h);
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "comm");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    right = (rank + 1) % size;
    left = (rank + size - 1) % size;

    dup();
    split();
    create();
    self();
    sub_collectives();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
