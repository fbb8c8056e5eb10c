/* ranks: 1 */
/* typeenv.c: Type_get_envelope and Type_get_contents for every
 * constructor the library has: the combiner, the counts, the arguments
 * as passed; predefined types are MPI_COMBINER_NAMED and have no
 * contents; a derived argument comes back as a new, equal handle. */
#include "ctest.h"

static void envelope(MPI_Datatype t, const char *name, int comb, int ni, int na, int nd)
{
    int i = -1, a = -1, d = -1, c = -1;
    CHECK_MPI(MPI_Type_get_envelope(t, &i, &a, &d, &c));
    CHECK(c == comb && i == ni && a == na && d == nd,
          "%s: combiner %d counts %d %d %d, want %d and %d %d %d", name, c, i, a, d, comb, ni, na, nd);
}

int main(int argc, char **argv)
{
    MPI_Datatype vec, hvec, idx, hidx, blk, hblk, st, rs, dup, contig, got[3];
    int ints[16], bl[3] = {1, 2, 3}, dis[3] = {0, 4, 9}, sz = 0, rc, cls = -1;
    MPI_Aint aints[8], ad[3] = {0, 16, 40};
    MPI_Datatype types[3] = {MPI_INT, MPI_DOUBLE, MPI_CHAR};

    ctest_init(&argc, &argv, "typeenv");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

    envelope(MPI_INT, "MPI_INT", MPI_COMBINER_NAMED, 0, 0, 0);
    envelope(MPI_DOUBLE_INT, "MPI_DOUBLE_INT", MPI_COMBINER_NAMED, 0, 0, 0);
    rc = MPI_Type_get_contents(MPI_INT, 4, 4, 4, ints, aints, got);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TYPE, "contents of MPI_INT: class %d", cls);

    MPI_Type_contiguous(5, MPI_INT, &contig);
    envelope(contig, "contiguous", MPI_COMBINER_CONTIGUOUS, 1, 0, 1);
    CHECK_MPI(MPI_Type_get_contents(contig, 1, 0, 1, ints, aints, got));
    CHECK(ints[0] == 5 && got[0] == MPI_INT, "contiguous: %d, type %d", ints[0], got[0]);

    MPI_Type_vector(3, 2, 5, contig, &vec);
    envelope(vec, "vector", MPI_COMBINER_VECTOR, 3, 0, 1);
    CHECK_MPI(MPI_Type_get_contents(vec, 3, 0, 1, ints, aints, got));
    CHECK(ints[0] == 3 && ints[1] == 2 && ints[2] == 5, "vector: %d %d %d", ints[0], ints[1], ints[2]);
    /* a derived argument: a new handle to an equal type, which we free */
    CHECK(got[0] != contig, "vector's old type came back as the same derived handle");
    MPI_Type_size(got[0], &sz);
    CHECK(sz == 5 * (int)sizeof(int), "vector's old type has size %d", sz);
    envelope(got[0], "vector's old type", MPI_COMBINER_CONTIGUOUS, 1, 0, 1);
    MPI_Type_free(&got[0]);

    MPI_Type_create_hvector(4, 1, 24, MPI_DOUBLE, &hvec);
    envelope(hvec, "hvector", MPI_COMBINER_HVECTOR, 2, 1, 1);
    CHECK_MPI(MPI_Type_get_contents(hvec, 2, 1, 1, ints, aints, got));
    CHECK(ints[0] == 4 && ints[1] == 1 && aints[0] == 24 && got[0] == MPI_DOUBLE, "hvector contents");

    MPI_Type_indexed(3, bl, dis, MPI_INT, &idx);
    envelope(idx, "indexed", MPI_COMBINER_INDEXED, 7, 0, 1);
    CHECK_MPI(MPI_Type_get_contents(idx, 7, 0, 1, ints, aints, got));
    CHECK(ints[0] == 3 && ints[1] == 1 && ints[3] == 3 && ints[4] == 0 && ints[6] == 9, "indexed contents");

    MPI_Type_create_hindexed(3, bl, ad, MPI_INT, &hidx);
    envelope(hidx, "hindexed", MPI_COMBINER_HINDEXED, 4, 3, 1);
    CHECK_MPI(MPI_Type_get_contents(hidx, 4, 3, 1, ints, aints, got));
    CHECK(ints[0] == 3 && ints[3] == 3 && aints[2] == 40, "hindexed contents");

    MPI_Type_create_indexed_block(3, 2, dis, MPI_INT, &blk);
    envelope(blk, "indexed_block", MPI_COMBINER_INDEXED_BLOCK, 5, 0, 1);
    CHECK_MPI(MPI_Type_get_contents(blk, 5, 0, 1, ints, aints, got));
    CHECK(ints[0] == 3 && ints[1] == 2 && ints[4] == 9, "indexed_block contents");

    MPI_Type_create_hindexed_block(3, 2, ad, MPI_INT, &hblk);
    envelope(hblk, "hindexed_block", MPI_COMBINER_HINDEXED_BLOCK, 2, 3, 1);

    MPI_Type_create_struct(3, bl, ad, types, &st);
    envelope(st, "struct", MPI_COMBINER_STRUCT, 4, 3, 3);
    CHECK_MPI(MPI_Type_get_contents(st, 4, 3, 3, ints, aints, got));
    CHECK(ints[0] == 3 && ints[2] == 2 && aints[1] == 16 && got[0] == MPI_INT && got[1] == MPI_DOUBLE &&
              got[2] == MPI_CHAR,
          "struct contents");

    MPI_Type_create_resized(MPI_INT, -4, 16, &rs);
    envelope(rs, "resized", MPI_COMBINER_RESIZED, 0, 2, 1);
    CHECK_MPI(MPI_Type_get_contents(rs, 0, 2, 1, ints, aints, got));
    CHECK(aints[0] == -4 && aints[1] == 16 && got[0] == MPI_INT, "resized contents");

    MPI_Type_dup(vec, &dup);
    envelope(dup, "dup", MPI_COMBINER_DUP, 0, 0, 1);

    rc = MPI_Type_get_contents(st, 1, 3, 3, ints, aints, got);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ARG, "contents with too little room: class %d", cls);

    MPI_Type_free(&dup);
    MPI_Type_free(&rs);
    MPI_Type_free(&st);
    MPI_Type_free(&hblk);
    MPI_Type_free(&blk);
    MPI_Type_free(&hidx);
    MPI_Type_free(&idx);
    MPI_Type_free(&hvec);
    MPI_Type_free(&vec);
    MPI_Type_free(&contig);
    {
        int rc2 = ctest_finish();
        MPI_Finalize();
        return rc2;
    }
}
