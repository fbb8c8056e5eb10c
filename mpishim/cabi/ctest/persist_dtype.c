/* ranks: 2 */
/* persist_dtype.c: a persistent request keeps its datatype: the program
 * frees the type right after Send_init/Recv_init (MPI-3.1 4.1.9: pending
 * communication that uses it completes normally), makes other types that
 * may take the freed handle, and starts the requests three times. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int rank, i, v[6], j;
    MPI_Datatype t, other;
    MPI_Request req;

    ctest_init(&argc, &argv, "persist_dtype");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        MPI_Type_vector(3, 1, 2, MPI_INT, &t); /* elements 0, 2, 4 */
        MPI_Type_commit(&t);
        CHECK_MPI(MPI_Send_init(v, 1, t, 1, 0, MPI_COMM_WORLD, &req));
    } else {
        MPI_Type_contiguous(3, MPI_INT, &t);
        MPI_Type_commit(&t);
        CHECK_MPI(MPI_Recv_init(v, 1, t, 0, 0, MPI_COMM_WORLD, &req));
    }
    MPI_Type_free(&t);
    MPI_Type_contiguous(2, MPI_DOUBLE, &other); /* may reuse the handle */
    MPI_Type_commit(&other);
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 6; j++)
            v[j] = rank == 0 ? 10 * i + j : -1;
        CHECK_MPI(MPI_Start(&req));
        CHECK_MPI(MPI_Wait(&req, MPI_STATUS_IGNORE));
        if (rank == 1)
            CHECK(v[0] == 10 * i && v[1] == 10 * i + 2 && v[2] == 10 * i + 4 && v[3] == -1,
                  "round %d: got %d %d %d %d", i, v[0], v[1], v[2], v[3]);
    }
    MPI_Request_free(&req);
    MPI_Type_free(&other);
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
