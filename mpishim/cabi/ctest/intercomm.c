/* ranks: 2 3 4 */
/* intercomm.c: Intercomm_create from a split of the world (leaders talk
 * over MPI_COMM_WORLD), Comm_test_inter, Comm_remote_size/remote_group,
 * point to point naming remote ranks (and MPI_ANY_SOURCE reporting the
 * remote rank), Comm_dup and Comm_free of an intercommunicator,
 * Intercomm_merge ordered by `high`, collectives refused with
 * MPI_ERR_COMM, and Comm_create_group over the even ranks only. */
#include "ctest.h"

static int rank, size;

static void inter(void)
{
    MPI_Comm local, ic, icd, merged;
    MPI_Group rg, wg;
    int low = rank < size / 2, flag = -1, lsize, rsize = -1, lrank, i, v, mrank, msize, rc, cls = -1;
    int remote_leader = low ? size / 2 : 0, nlow = size / 2;
    MPI_Status st;

    CHECK_MPI(MPI_Comm_split(MPI_COMM_WORLD, low, rank, &local));
    MPI_Comm_size(local, &lsize);
    MPI_Comm_rank(local, &lrank);
    CHECK_MPI(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, remote_leader, 7, &ic));
    CHECK_MPI(MPI_Comm_test_inter(ic, &flag));
    CHECK(flag == 1, "test_inter says %d", flag);
    CHECK_MPI(MPI_Comm_test_inter(local, &flag));
    CHECK(flag == 0, "test_inter of an intracomm says %d", flag);
    CHECK_MPI(MPI_Comm_remote_size(ic, &rsize));
    CHECK(rsize == size - lsize, "remote size %d, want %d", rsize, size - lsize);
    MPI_Comm_size(ic, &i);
    CHECK(i == lsize, "Comm_size of the intercomm is %d, want the local %d", i, lsize);

    /* the remote group's rank 0 is world rank remote_leader */
    CHECK_MPI(MPI_Comm_remote_group(ic, &rg));
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    i = 0;
    CHECK_MPI(MPI_Group_translate_ranks(rg, 1, &i, wg, &v));
    CHECK(v == remote_leader, "remote rank 0 is world %d, want %d", v, remote_leader);
    MPI_Group_free(&rg);
    MPI_Group_free(&wg);

    /* every process sends its world rank to remote rank lrank % rsize;
     * the receivers learn the senders through MPI_ANY_SOURCE */
    CHECK_MPI(MPI_Send(&rank, 1, MPI_INT, lrank % rsize, 3, ic));
    for (i = 0; i < lsize + rsize; i++) {
        int from = i - lsize; /* remote ranks r with r % lsize == lrank */
        if (from < 0 || from % lsize != lrank)
            continue;
        CHECK_MPI(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 3, ic, &st));
        CHECK(st.MPI_SOURCE >= 0 && st.MPI_SOURCE < rsize, "source %d", st.MPI_SOURCE);
        CHECK(v == (low ? nlow : 0) + st.MPI_SOURCE,
              "got world %d from remote rank %d", v, st.MPI_SOURCE);
    }

    /* a dup has its own message space and the same groups */
    CHECK_MPI(MPI_Comm_dup(ic, &icd));
    CHECK_MPI(MPI_Comm_remote_size(icd, &i));
    CHECK(i == rsize, "dup's remote size %d", i);
    if (lrank == 0) {
        v = 100 + rank;
        CHECK_MPI(MPI_Sendrecv_replace(&v, 1, MPI_INT, 0, 1, 0, 1, icd, &st));
        CHECK(v == 100 + remote_leader, "dup exchange got %d", v);
    }

    MPI_Comm_set_errhandler(ic, MPI_ERRORS_RETURN);
    rc = MPI_Barrier(ic);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_COMM, "Barrier on an intercomm: class %d", cls);

    /* merge: the low half says high=1, so it comes second */
    CHECK_MPI(MPI_Intercomm_merge(ic, low, &merged));
    MPI_Comm_rank(merged, &mrank);
    MPI_Comm_size(merged, &msize);
    CHECK(msize == size, "merged size %d", msize);
    CHECK(mrank == (low ? (size - nlow) + rank : rank - nlow),
          "merged rank %d for world %d", mrank, rank);
    v = 0;
    CHECK_MPI(MPI_Allreduce(&rank, &v, 1, MPI_INT, MPI_SUM, merged));
    CHECK(v == size * (size - 1) / 2, "sum over the merged comm %d", v);

    CHECK_MPI(MPI_Comm_free(&merged));
    CHECK_MPI(MPI_Comm_free(&icd));
    CHECK_MPI(MPI_Comm_free(&ic));
    CHECK(ic == MPI_COMM_NULL, "free left %d", ic);
    MPI_Comm_free(&local);
}

static void create_group(void)
{
    MPI_Group wg, evens;
    MPI_Comm c = MPI_COMM_NULL;
    int ranges[1][3] = {{0, size - 1, 2}}, r = -1, s = -1, sum = 0;

    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Group_range_incl(wg, 1, ranges, &evens);
    if (rank % 2 == 0) { /* odd ranks do not call it at all */
        CHECK_MPI(MPI_Comm_create_group(MPI_COMM_WORLD, evens, 5, &c));
        MPI_Comm_rank(c, &r);
        MPI_Comm_size(c, &s);
        CHECK(r == rank / 2 && s == (size + 1) / 2, "rank %d size %d", r, s);
        CHECK_MPI(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, c));
        CHECK(sum == (s - 1) * s, "sum of even ranks %d", sum);
        MPI_Comm_free(&c);
    }
    MPI_Group_free(&evens);
    MPI_Group_free(&wg);
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "intercomm");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    inter();
    create_group();
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
