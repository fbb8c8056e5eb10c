/* ranks: 1 2 3 4 */
/* env.c: Initialized/Finalized before and after, rank and size, processor
 * name, version, Wtime/Wtick, the predefined attributes of MPI_COMM_WORLD. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int flag = -1, rank = -1, size = -1, rc;
    int version = -1, subversion = -1;

    /* Legal before MPI_Init: Initialized, Finalized, Get_version. */
    CHECK_MPI(MPI_Initialized(&flag));
    CHECK(flag == 0, "Initialized before Init gave %d", flag);
    flag = -1;
    CHECK_MPI(MPI_Finalized(&flag));
    CHECK(flag == 0, "Finalized before Init gave %d", flag);
    CHECK_MPI(MPI_Get_version(&version, &subversion));
    CHECK(version >= 3, "Get_version before Init gave %d.%d", version,
          subversion);

    ctest_init(&argc, &argv, "env");

    flag = -1;
    CHECK_MPI(MPI_Initialized(&flag));
    CHECK(flag == 1, "Initialized after Init gave %d", flag);
    flag = -1;
    CHECK_MPI(MPI_Finalized(&flag));
    CHECK(flag == 0, "Finalized after Init gave %d", flag);

    /* Rank and size: every rank in range, all distinct, sizes agree. */
    CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    CHECK(size >= 1, "size %d", size);
    CHECK(rank >= 0 && rank < size, "rank %d of %d", rank, size);
    {
        int in[3] = {rank, 1, size}, sum[3], max[3];
        MPI_Allreduce(in, sum, 3, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(in, max, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        CHECK(sum[0] == size * (size - 1) / 2, "sum of ranks %d", sum[0]);
        CHECK(sum[1] == size, "%d processes, size %d", sum[1], size);
        CHECK(max[0] == size - 1, "max rank %d", max[0]);
        CHECK(sum[2] == size * size, "ranks disagree on the size");
    }

    /* Processor name: non-empty, NUL terminated, length as returned. */
    {
        char name[MPI_MAX_PROCESSOR_NAME];
        int len = -1;
        memset(name, 'x', sizeof name);
        CHECK_MPI(MPI_Get_processor_name(name, &len));
        CHECK(len > 0 && len < MPI_MAX_PROCESSOR_NAME, "name length %d", len);
        if (len > 0 && len < MPI_MAX_PROCESSOR_NAME)
            CHECK((int)strlen(name) == len, "strlen %d != resultlen %d",
                  (int)strlen(name), len);
    }

    /* Version: at least MPI-3, and the header agrees with the library. */
    version = subversion = -1;
    CHECK_MPI(MPI_Get_version(&version, &subversion));
    CHECK(version >= 3 && subversion >= 0, "version %d.%d", version,
          subversion);
    CHECK(MPI_VERSION >= 3, "MPI_VERSION %d", MPI_VERSION);
    CHECK(version == MPI_VERSION && subversion == MPI_SUBVERSION,
          "library %d.%d, header %d.%d", version, subversion, MPI_VERSION,
          MPI_SUBVERSION);
    {
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = -1;
        CHECK_MPI(MPI_Get_library_version(lib, &len));
        CHECK(len > 0 && len < MPI_MAX_LIBRARY_VERSION_STRING,
              "library version length %d", len);
        if (len > 0 && len < MPI_MAX_LIBRARY_VERSION_STRING)
            CHECK((int)strlen(lib) == len, "strlen %d != resultlen %d",
                  (int)strlen(lib), len);
    }

    /* Wtime never goes back; Wtick is a positive resolution. */
    {
        double t0 = MPI_Wtime(), prev = t0, tick = MPI_Wtick();
        int backwards = 0, i;
        for (i = 0; i < 100000; i++) {
            double t = MPI_Wtime();
            if (t < prev)
                backwards++;
            prev = t;
        }
        CHECK(backwards == 0, "Wtime went back %d times", backwards);
        CHECK(prev - t0 >= 0.0 && prev - t0 < 5.0, "elapsed %g", prev - t0);
        CHECK(tick > 0.0 && tick <= 1.0, "Wtick %g", tick);
    }

    /* MPI_TAG_UB: present, >= 32767, the same everywhere, and usable. */
    {
        int *ub = NULL, ubmin = 0, ubmax = 0, got = -1;
        MPI_Status st;
        flag = 0;
        CHECK_MPI(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag));
        CHECK(flag && ub != NULL, "MPI_TAG_UB not set");
        if (flag && ub != NULL) {
            CHECK(*ub >= 32767, "MPI_TAG_UB %d", *ub);
            MPI_Allreduce(ub, &ubmin, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
            MPI_Allreduce(ub, &ubmax, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            CHECK(ubmin == ubmax, "MPI_TAG_UB differs: %d..%d", ubmin, ubmax);
            CHECK_MPI(MPI_Sendrecv(&rank, 1, MPI_INT, 0, *ub, &got, 1,
                                   MPI_INT, 0, *ub, MPI_COMM_SELF, &st));
            CHECK(got == rank && st.MPI_TAG == *ub, "tag_ub message: %d tag %d",
                  got, st.MPI_TAG);
        } else {
            int dummy = 32767;
            MPI_Allreduce(&dummy, &ubmin, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
            MPI_Allreduce(&dummy, &ubmax, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        }
    }
    /* MPI_WTIME_IS_GLOBAL: when present, a boolean. */
    {
        int *g = NULL;
        flag = 0;
        CHECK_MPI(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &g,
                                    &flag));
        if (flag)
            CHECK(g != NULL && (*g == 0 || *g == 1), "MPI_WTIME_IS_GLOBAL %d",
                  g ? *g : -1);
    }

    rc = ctest_finish();
    MPI_Finalize();

    /* After MPI_Finalize: Finalized is true and Initialized stays true. */
    flag = -1;
    MPI_Finalized(&flag);
    if (flag != 1) {
        fprintf(stderr, "env: rank %d: Finalized after Finalize gave %d\n",
                rank, flag);
        rc = 1;
    }
    flag = -1;
    MPI_Initialized(&flag);
    if (flag != 1) {
        fprintf(stderr, "env: rank %d: Initialized after Finalize gave %d\n",
                rank, flag);
        rc = 1;
    }
    return rc;
}
