/* ranks: 1 2 3 4 */
/* group.c: Comm_group, Group_size/rank (MPI_UNDEFINED for non-members),
 * Group_incl/excl/range_incl/range_excl, union/intersection/difference (and
 * the member order each defines), translate_ranks (MPI_UNDEFINED,
 * MPI_PROC_NULL), compare, MPI_GROUP_EMPTY, Group_free. */
#include "ctest.h"

static int rank, size;

/* size of g and the rank of the caller in it */
static void expect(MPI_Group g, const char *name, int gsize, int grank)
{
    int s = -1, r = -5;
    CHECK_MPI(MPI_Group_size(g, &s));
    CHECK_MPI(MPI_Group_rank(g, &r));
    CHECK(s == gsize && r == grank, "%s: size %d rank %d, want %d %d", name, s,
          r, gsize, grank);
}

/* the world ranks of g's members, in g's order, match want[0..n) */
static void members(MPI_Group w, MPI_Group g, const char *name, const int *want,
                    int n)
{
    int i, in[4] = {0, 1, 2, 3}, out[4], bad = 0;
    CHECK_MPI(MPI_Group_translate_ranks(g, n, in, w, out));
    for (i = 0; i < n; i++)
        bad += out[i] != want[i];
    CHECK(bad == 0, "%s: %d members out of place", name, bad);
}

static int compare(MPI_Group a, MPI_Group b)
{
    int r = -1;
    CHECK_MPI(MPI_Group_compare(a, b, &r));
    return r;
}

int main(int argc, char **argv)
{
    MPI_Group w, rev, revr, excl0, evens, odds, u, u2, inter, diff, empty, g;
    int i, q, n, want[4], in[5], out[5], ranges[1][3];

    ctest_init(&argc, &argv, "group");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    CHECK_MPI(MPI_Comm_group(MPI_COMM_WORLD, &w));
    expect(w, "world", size, rank);

    for (i = 0; i < size; i++)
        in[i] = size - 1 - i;
    CHECK_MPI(MPI_Group_incl(w, size, in, &rev));
    expect(rev, "reversed", size, size - 1 - rank);
    members(w, rev, "reversed", in, size);
    CHECK(compare(w, rev) == (size > 1 ? MPI_SIMILAR : MPI_IDENT),
          "compare(world, reversed) %d", compare(w, rev));
    CHECK(compare(w, w) == MPI_IDENT, "compare(world, world)");

    ranges[0][0] = size - 1; /* first, last, stride */
    ranges[0][1] = 0;
    ranges[0][2] = -1;
    CHECK_MPI(MPI_Group_range_incl(w, 1, ranges, &revr));
    CHECK(compare(rev, revr) == MPI_IDENT, "range_incl with stride -1");

    in[0] = 0;
    CHECK_MPI(MPI_Group_excl(w, 1, in, &excl0));
    expect(excl0, "excl 0", size - 1, rank == 0 ? MPI_UNDEFINED : rank - 1);
    CHECK(compare(w, excl0) == MPI_UNEQUAL, "compare(world, excl 0)");

    ranges[0][0] = 0;
    ranges[0][1] = size - 1;
    ranges[0][2] = 2;
    CHECK_MPI(MPI_Group_range_incl(w, 1, ranges, &evens));
    expect(evens, "evens", (size + 1) / 2, rank % 2 ? MPI_UNDEFINED : rank / 2);
    CHECK_MPI(MPI_Group_range_excl(w, 1, ranges, &odds));
    expect(odds, "odds", size / 2, rank % 2 ? rank / 2 : MPI_UNDEFINED);

    /* union: the first group's members, then the second's not in it */
    CHECK_MPI(MPI_Group_union(odds, evens, &u));
    expect(u, "odds U evens", size, rank % 2 ? rank / 2 : size / 2 + rank / 2);
    for (n = 0, q = 1; q < size; q += 2)
        want[n++] = q;
    for (q = 0; q < size; q += 2)
        want[n++] = q;
    members(w, u, "odds U evens", want, n);
    CHECK_MPI(MPI_Group_union(w, rev, &u2));
    CHECK(compare(u2, w) == MPI_IDENT, "world U reversed is world");

    /* intersection: in the first group's order */
    CHECK_MPI(MPI_Group_intersection(rev, evens, &inter));
    for (n = 0, q = size - 1; q >= 0; q--)
        if (q % 2 == 0)
            want[n++] = q;
    expect(inter, "reversed ^ evens", n,
           rank % 2 ? MPI_UNDEFINED : (size - 1 - rank) / 2);
    members(w, inter, "reversed ^ evens", want, n);

    /* difference: first group's order */
    CHECK_MPI(MPI_Group_difference(w, evens, &diff));
    CHECK(compare(diff, odds) == MPI_IDENT, "world - evens is odds");
    MPI_Group_free(&diff);
    CHECK_MPI(MPI_Group_difference(w, w, &diff));
    expect(diff, "world - world", 0, MPI_UNDEFINED);
    CHECK(compare(diff, MPI_GROUP_EMPTY) == MPI_IDENT,
          "world - world vs MPI_GROUP_EMPTY");
    CHECK(diff == MPI_GROUP_EMPTY, "an empty result is not MPI_GROUP_EMPTY");

    /* translate: non-members give MPI_UNDEFINED, PROC_NULL maps to itself */
    for (q = 0; q < size; q++)
        in[q] = q;
    in[size] = MPI_PROC_NULL;
    CHECK_MPI(MPI_Group_translate_ranks(w, size + 1, in, evens, out));
    for (q = 0; q < size; q++)
        CHECK(out[q] == (q % 2 ? MPI_UNDEFINED : q / 2),
              "translate %d into evens: %d", q, out[q]);
    CHECK(out[size] == MPI_PROC_NULL, "translate PROC_NULL: %d", out[size]);
    CHECK_MPI(MPI_Group_translate_ranks(w, 0, in, evens, out));

    /* the empty group */
    expect(MPI_GROUP_EMPTY, "MPI_GROUP_EMPTY", 0, MPI_UNDEFINED);
    CHECK_MPI(MPI_Group_incl(w, 0, in, &empty));
    expect(empty, "incl of none", 0, MPI_UNDEFINED);
    CHECK(compare(empty, MPI_GROUP_EMPTY) == MPI_IDENT, "incl of none");
    CHECK(compare(w, MPI_GROUP_EMPTY) == MPI_UNEQUAL, "world vs empty");
    CHECK_MPI(MPI_Group_union(empty, evens, &g));
    CHECK(compare(g, evens) == MPI_IDENT, "empty U evens");
    MPI_Group_free(&g);

    /* the group of MPI_COMM_SELF is {rank} */
    CHECK_MPI(MPI_Comm_group(MPI_COMM_SELF, &g));
    expect(g, "self", 1, 0);
    in[0] = 0;
    CHECK_MPI(MPI_Group_translate_ranks(g, 1, in, w, out));
    CHECK(out[0] == rank, "self's member is world rank %d", out[0]);
    CHECK_MPI(MPI_Group_free(&g));
    CHECK(g == MPI_GROUP_NULL, "Group_free left the handle set");

    MPI_Group_free(&w);
    MPI_Group_free(&rev);
    MPI_Group_free(&revr);
    MPI_Group_free(&excl0);
    MPI_Group_free(&evens);
    MPI_Group_free(&odds);
    MPI_Group_free(&u);
    MPI_Group_free(&u2);
    MPI_Group_free(&inter);
    MPI_Group_free(&diff);
    MPI_Group_free(&empty);

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
