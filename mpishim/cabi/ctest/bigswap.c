/* ranks: 2 3 4 */
/* bigswap.c: every rank starts an 8 MiB Isend to its right before it
 * posts the Irecv from its left, three times over. A valid program: an
 * implementation must not let two ranks block in writes to each other
 * while neither reads (p2pdvm's C library reads while its writes wait). */
#include "ctest.h"

int main(int argc, char **argv)
{
    int rank, size, n = 1 << 21, k, i, bad;
    ctest_init(&argc, &argv, "bigswap");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *s = malloc(n * sizeof(int)), *r = malloc(n * sizeof(int));
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    for (k = 0; k < 3; k++) {
        MPI_Request q[2];
        for (i = 0; i < n; i++)
            s[i] = rank * 1000003 + k * 7 + i;
        CHECK_MPI(MPI_Isend(s, n, MPI_INT, right, k, MPI_COMM_WORLD, &q[0]));
        CHECK_MPI(MPI_Irecv(r, n, MPI_INT, left, k, MPI_COMM_WORLD, &q[1]));
        CHECK_MPI(MPI_Waitall(2, q, MPI_STATUSES_IGNORE));
        for (bad = 0, i = 0; i < n; i++)
            bad += r[i] != left * 1000003 + k * 7 + i;
        CHECK(bad == 0, "round %d: %d wrong ints from rank %d", k, bad, left);
    }
    free(s);
    free(r);
    int rc = ctest_finish();
    MPI_Finalize();
    return rc;
}
