/* ranks: 1 2 4 */
/* p2p_sync.c: a synchronous send completes once its receive has matched,
 * not once the receiver waits for it (MPI-3.1 3.4): Irecv from self then
 * Ssend to self; every rank Irecv from its left, Ssend to its right, then
 * Wait (a ring that deadlocks if acknowledgements wait for the Wait); and
 * the same with Issend + Waitall over both requests; Waitany and a Test
 * loop over the Issend alone, with the receive waited for afterwards. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int rank, size, left, right, in = -1, out, i;
    MPI_Request rq[2];
    MPI_Status st;

    ctest_init(&argc, &argv, "p2p_sync");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    left = (rank + size - 1) % size;
    right = (rank + 1) % size;

    out = 100 + rank;
    CHECK_MPI(MPI_Irecv(&in, 1, MPI_INT, rank, 1, MPI_COMM_WORLD, &rq[0]));
    CHECK_MPI(MPI_Ssend(&out, 1, MPI_INT, rank, 1, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Wait(&rq[0], &st));
    CHECK(in == out && st.MPI_SOURCE == rank, "self: got %d from %d", in, st.MPI_SOURCE);

    for (i = 0; i < 3; i++) {
        in = -1;
        out = 1000 * i + rank;
        CHECK_MPI(MPI_Irecv(&in, 1, MPI_INT, left, 2, MPI_COMM_WORLD, &rq[0]));
        CHECK_MPI(MPI_Ssend(&out, 1, MPI_INT, right, 2, MPI_COMM_WORLD));
        CHECK_MPI(MPI_Wait(&rq[0], &st));
        CHECK(in == 1000 * i + left, "ring %d: got %d", i, in);
    }

    in = -1;
    out = rank;
    CHECK_MPI(MPI_Issend(&out, 1, MPI_INT, right, 3, MPI_COMM_WORLD, &rq[1]));
    CHECK_MPI(MPI_Irecv(&in, 1, MPI_INT, left, 3, MPI_COMM_WORLD, &rq[0]));
    CHECK_MPI(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    CHECK(in == left, "issend ring: got %d", in);

    for (i = 0; i < 2; i++) { /* 0: Waitany, 1: a Test loop */
        int idx = -1, flag = 0;
        in = -1;
        CHECK_MPI(MPI_Irecv(&in, 1, MPI_INT, left, 4, MPI_COMM_WORLD, &rq[0]));
        CHECK_MPI(MPI_Issend(&out, 1, MPI_INT, right, 4, MPI_COMM_WORLD, &rq[1]));
        if (i == 0) {
            CHECK_MPI(MPI_Waitany(1, &rq[1], &idx, MPI_STATUS_IGNORE));
            CHECK(idx == 0, "waitany index %d", idx);
        } else {
            while (!flag)
                CHECK_MPI(MPI_Test(&rq[1], &flag, MPI_STATUS_IGNORE));
        }
        CHECK_MPI(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));
        CHECK(in == left, "round %d: got %d", i, in);
    }
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
