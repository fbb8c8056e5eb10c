/* ranks: 1 2 3 4 */
/* expect-exit: 3 */
/* abort.c: rank 1 (rank 0 when alone) calls MPI_Abort(MPI_COMM_WORLD, 3)
 * while every other rank blocks in a receive that nothing matches. The whole
 * job must end, and the launcher must exit with status 3. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int rank, size, aborter, v = 0;
    ctest_init(&argc, &argv, "abort");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    aborter = size > 1 ? 1 : 0;
    MPI_Barrier(MPI_COMM_WORLD); /* everyone is up */
    if (rank == aborter) {
        fprintf(stderr, "abort: rank %d calls MPI_Abort(MPI_COMM_WORLD, 3)\n",
                rank);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 3);
        fprintf(stderr, "abort: MPI_Abort returned\n");
    } else {
        MPI_Recv(&v, 1, MPI_INT, aborter, 99, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        fprintf(stderr, "abort: rank %d: a receive nobody sent to completed\n",
                rank);
    }
    return 1; /* not reached */
}
