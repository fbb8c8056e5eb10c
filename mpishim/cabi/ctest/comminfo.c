/* ranks: 1 3 */
/* comminfo.c: Comm_set_info/get_info (the library uses no hint, so
 * get_info returns a new, empty info object, as MPI-3.1 6.4.4 says of
 * hints not in use), Comm_dup_with_info; Comm_split_type(MPI_COMM_TYPE_SHARED) puts the ranks of one host
 * together (here all of them), MPI_UNDEFINED gives MPI_COMM_NULL;
 * Status_set_elements/_x and Status_set_cancelled as Get_elements,
 * Get_count and Test_cancelled read them back. */
#include "ctest.h"

static int nkeys(MPI_Comm c)
{
    MPI_Info got;
    int n = -1;
    CHECK_MPI(MPI_Comm_get_info(c, &got));
    MPI_Info_get_nkeys(got, &n);
    MPI_Info_free(&got);
    return n;
}

int main(int argc, char **argv)
{
    MPI_Info info, other;
    MPI_Comm dup, dwi, shm, none;
    MPI_Status st;
    MPI_Datatype pair;
    int rank, size, r = -1, s = -1, n = -1, flag = -1, cnt = -1, bl[2] = {1, 1};
    MPI_Aint ds[2] = {0, 8};
    MPI_Datatype ts[2] = {MPI_INT, MPI_DOUBLE};
    MPI_Count big = -1;
    char val[16];

    ctest_init(&argc, &argv, "comminfo");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    MPI_Info_create(&info);
    MPI_Info_set(info, "mpi_assert_no_any_tag", "true");
    CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    CHECK_MPI(MPI_Comm_set_info(dup, info));
    CHECK(nkeys(dup) == 0, "hints in use after set_info: %d", nkeys(dup));
    {
        MPI_Info got;
        MPI_Comm_get_info(dup, &got);
        MPI_Info_get(got, "mpi_assert_no_any_tag", sizeof(val) - 1, val, &flag);
        CHECK(flag == 0, "an unused hint came back: %s", val);
        MPI_Info_free(&got);
    }
    MPI_Info_create(&other);
    MPI_Info_set(other, "a", "1");
    MPI_Info_set(other, "b", "2");
    CHECK_MPI(MPI_Comm_dup_with_info(dup, other, &dwi));
    CHECK(nkeys(dwi) == 0, "dup_with_info: %d hints in use", nkeys(dwi));
    MPI_Comm_size(dwi, &s);
    CHECK(s == size, "dup_with_info size %d", s);

    CHECK_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, -rank, MPI_INFO_NULL, &shm));
    MPI_Comm_rank(shm, &r);
    MPI_Comm_size(shm, &s);
    CHECK(s == size && r == size - 1 - rank, "shared: rank %d of %d (keys reverse the order)", r, s);
    CHECK_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_UNDEFINED, 0, MPI_INFO_NULL, &none));
    CHECK(none == MPI_COMM_NULL, "MPI_UNDEFINED gave %d", none);

    /* a {int, double} struct holds 2 basic elements in 12 packed bytes */
    MPI_Type_create_struct(2, bl, ds, ts, &pair);
    MPI_Type_commit(&pair);
    CHECK_MPI(MPI_Status_set_elements(&st, pair, 5));
    MPI_Get_elements(&st, pair, &n);
    MPI_Get_count(&st, pair, &cnt);
    CHECK(n == 5 && cnt == MPI_UNDEFINED, "5 elements: Get_elements %d Get_count %d", n, cnt);
    CHECK_MPI(MPI_Status_set_elements_x(&st, MPI_INT, 7));
    MPI_Get_elements_x(&st, MPI_INT, &big);
    MPI_Get_count(&st, MPI_INT, &cnt);
    CHECK(big == 7 && cnt == 7, "7 ints: %lld %d", (long long)big, cnt);
    CHECK_MPI(MPI_Status_set_cancelled(&st, 1));
    MPI_Test_cancelled(&st, &flag);
    CHECK(flag == 1, "cancelled %d", flag);

    MPI_Type_free(&pair);
    MPI_Comm_free(&shm);
    MPI_Comm_free(&dwi);
    MPI_Comm_free(&dup);
    MPI_Info_free(&other);
    MPI_Info_free(&info);
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
