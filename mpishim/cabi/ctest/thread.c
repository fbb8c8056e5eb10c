/* ranks: 1 2 3 4 */
/* thread.c: Init_thread(FUNNELED), Query_thread, Is_thread_main. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int provided = -1, queried = -1, main_flag = -1, flag = -1;
    int rank, size, sum = 0;

    ctest_name_ = "thread";
    CHECK_MPI(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));

    /* The levels are ordered as the standard requires. */
    CHECK(MPI_THREAD_SINGLE < MPI_THREAD_FUNNELED &&
              MPI_THREAD_FUNNELED < MPI_THREAD_SERIALIZED &&
              MPI_THREAD_SERIALIZED < MPI_THREAD_MULTIPLE,
          "thread level constants out of order");
    CHECK(provided == MPI_THREAD_SINGLE || provided == MPI_THREAD_FUNNELED ||
              provided == MPI_THREAD_SERIALIZED ||
              provided == MPI_THREAD_MULTIPLE,
          "provided %d is no thread level", provided);
    CHECK(provided >= MPI_THREAD_SINGLE, "provided %d", provided);

    CHECK_MPI(MPI_Query_thread(&queried));
    CHECK(queried == provided, "Query_thread %d, provided %d", queried,
          provided);
    CHECK_MPI(MPI_Is_thread_main(&main_flag));
    CHECK(main_flag == 1, "Is_thread_main %d", main_flag);
    CHECK_MPI(MPI_Initialized(&flag));
    CHECK(flag == 1, "Initialized %d after Init_thread", flag);

    /* The library works after Init_thread. */
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK_MPI(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size * (size - 1) / 2, "sum of ranks %d", sum);

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
