/* ranks: 1 2 3 4 */
/* expect-exit: nonzero */
/* expect-stderr: MPI_Send */
/* fatal.c: under the default handler MPI_ERRORS_ARE_FATAL, rank 0 sends to
 * rank size (no such rank). That must end the whole job with a non-zero
 * status and a message naming MPI_Send, while the other ranks block in a
 * receive. Should the Send return instead, rank 0 releases the others and
 * the job exits 0, which the runner reports as a failure. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int rank, size, v = 7, rc, r;
    ctest_init(&argc, &argv, "fatal");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        rc = MPI_Send(&v, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
        fprintf(stderr, "fatal: the send to rank %d returned %d instead of "
                "aborting\n", size, rc);
        for (r = 1; r < size; r++)
            MPI_Send(&v, 1, MPI_INT, r, 5, MPI_COMM_WORLD);
    } else {
        MPI_Recv(&v, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    MPI_Finalize();
    return 0;
}
