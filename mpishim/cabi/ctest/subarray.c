/* ranks: 1 2 */
/* subarray.c: Type_create_subarray in C and Fortran order: the elements
 * it selects (through MPI_Pack), its extent (the whole array), its
 * envelope; and a 3-d block sent from rank 0 to rank 1 lands in place. */
#include "ctest.h"

int main(int argc, char **argv)
{
    int a[4][5], out[6], i, j, k, pos, sz = 0, rank, size;
    int sizes[2] = {4, 5}, sub[2] = {2, 3}, st[2] = {1, 1};
    int ni, na, nd, comb, got[8];
    MPI_Aint lb, ext;
    MPI_Datatype t, f, t3;

    ctest_init(&argc, &argv, "subarray");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (i = 0; i < 4; i++)
        for (j = 0; j < 5; j++)
            a[i][j] = 10 * i + j;

    CHECK_MPI(MPI_Type_create_subarray(2, sizes, sub, st, MPI_ORDER_C, MPI_INT, &t));
    MPI_Type_commit(&t);
    MPI_Type_size(t, &sz);
    MPI_Type_get_extent(t, &lb, &ext);
    CHECK(sz == 6 * (int)sizeof(int) && lb == 0 && ext == (MPI_Aint)sizeof(a), "C order: size %d lb %ld extent %ld", sz,
          (long)lb, (long)ext);
    pos = 0;
    CHECK_MPI(MPI_Pack(a, 1, t, out, sizeof(out), &pos, MPI_COMM_WORLD));
    CHECK(out[0] == 11 && out[1] == 12 && out[2] == 13 && out[3] == 21 && out[5] == 23,
          "C order picked %d %d %d %d .. %d", out[0], out[1], out[2], out[3], out[5]);
    CHECK_MPI(MPI_Type_get_envelope(t, &ni, &na, &nd, &comb));
    CHECK(comb == MPI_COMBINER_SUBARRAY && ni == 8 && na == 0 && nd == 1, "envelope %d: %d %d %d", comb, ni, na, nd);
    CHECK_MPI(MPI_Type_get_contents(t, 8, 0, 1, got, NULL, &f));
    CHECK(got[0] == 2 && got[1] == 4 && got[4] == 3 && got[6] == 1 && got[7] == MPI_ORDER_C && f == MPI_INT,
          "contents");

    /* Fortran order: dimension 0 varies fastest; the same memory read as
     * a 5x4 column-major array */
    sizes[0] = 5, sizes[1] = 4, sub[0] = 3, sub[1] = 2;
    CHECK_MPI(MPI_Type_create_subarray(2, sizes, sub, st, MPI_ORDER_FORTRAN, MPI_INT, &f));
    MPI_Type_commit(&f);
    pos = 0;
    CHECK_MPI(MPI_Pack(a, 1, f, out, sizeof(out), &pos, MPI_COMM_WORLD));
    CHECK(out[0] == 11 && out[2] == 13 && out[3] == 21, "Fortran order picked %d %d %d", out[0], out[2], out[3]);

    if (size >= 2 && rank < 2) {
        int big[3][4][5], s3[3] = {3, 4, 5}, b3[3] = {2, 2, 2}, o3[3] = {1, 2, 3}, bad = 0;
        CHECK_MPI(MPI_Type_create_subarray(3, s3, b3, o3, MPI_ORDER_C, MPI_INT, &t3));
        MPI_Type_commit(&t3);
        for (i = 0; i < 3; i++)
            for (j = 0; j < 4; j++)
                for (k = 0; k < 5; k++)
                    big[i][j][k] = rank == 0 ? 100 * i + 10 * j + k : -1;
        if (rank == 0)
            CHECK_MPI(MPI_Send(big, 1, t3, 1, 0, MPI_COMM_WORLD));
        else {
            CHECK_MPI(MPI_Recv(big, 1, t3, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            for (i = 0; i < 3; i++)
                for (j = 0; j < 4; j++)
                    for (k = 0; k < 5; k++) {
                        int in = i >= 1 && j >= 2 && k >= 3;
                        bad += big[i][j][k] != (in ? 100 * i + 10 * j + k : -1);
                    }
            CHECK(bad == 0, "3-d block: %d elements wrong", bad);
        }
        MPI_Type_free(&t3);
    }
    MPI_Type_free(&f);
    MPI_Type_free(&t);
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
