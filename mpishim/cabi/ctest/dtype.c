/* ranks: 1 2 3 4 */
/* dtype.c: sizes of the predefined types; every type constructor with exact
 * size, lb, extent, true lb and true extent; Type_dup/commit/free. The
 * communication side (vector columns, Get_count/Get_elements, Pack/Unpack,
 * derived types in collectives, MPI_BYTE) is in dtype_comm.c. */
#include "ctest.h"
#include <complex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

/* Check size, lb, extent, true lb, true extent of a type. */
#define EXPECT(t, sz, lb, ext, tlb, text)                                     \
    expect_type(t, #t, __LINE__, sz, lb, ext, tlb, text)
static void expect_type(MPI_Datatype t, const char *name, int line, int size,
                        MPI_Aint lb, MPI_Aint ext, MPI_Aint tlb, MPI_Aint text)
{
    int s = -1;
    MPI_Aint l = -99, e = -99, tl = -99, te = -99;
    CHECK_MPI(MPI_Type_size(t, &s));
    CHECK_MPI(MPI_Type_get_extent(t, &l, &e));
    CHECK_MPI(MPI_Type_get_true_extent(t, &tl, &te));
    CHECK(s == size && l == lb && e == ext && tl == tlb && te == text,
          "line %d, %s: size %d lb %ld extent %ld true lb %ld true extent "
          "%ld; want %d %ld %ld %ld %ld",
          line, name, s, (long)l, (long)e, (long)tl, (long)te, size, (long)lb,
          (long)ext, (long)tlb, (long)text);
}
/* A predefined type: lb 0, extent = size = sizeof the C type. */
#define BASIC(t, ctype) EXPECT(t, (int)sizeof(ctype), 0, sizeof(ctype), 0, sizeof(ctype))

static void predefined(void)
{
    BASIC(MPI_CHAR, char);
    BASIC(MPI_SIGNED_CHAR, signed char);
    BASIC(MPI_UNSIGNED_CHAR, unsigned char);
    BASIC(MPI_BYTE, char);
    BASIC(MPI_WCHAR, wchar_t);
    BASIC(MPI_SHORT, short);
    BASIC(MPI_UNSIGNED_SHORT, unsigned short);
    BASIC(MPI_INT, int);
    BASIC(MPI_UNSIGNED, unsigned);
    BASIC(MPI_LONG, long);
    BASIC(MPI_UNSIGNED_LONG, unsigned long);
    BASIC(MPI_LONG_LONG, long long);
    BASIC(MPI_LONG_LONG_INT, long long);
    BASIC(MPI_UNSIGNED_LONG_LONG, unsigned long long);
    BASIC(MPI_FLOAT, float);
    BASIC(MPI_DOUBLE, double);
    BASIC(MPI_LONG_DOUBLE, long double);
    BASIC(MPI_C_LONG_DOUBLE_COMPLEX, long double _Complex);
    BASIC(MPI_C_BOOL, bool);
    BASIC(MPI_INT8_T, int8_t);
    BASIC(MPI_UINT8_T, uint8_t);
    BASIC(MPI_INT16_T, int16_t);
    BASIC(MPI_UINT16_T, uint16_t);
    BASIC(MPI_INT32_T, int32_t);
    BASIC(MPI_UINT32_T, uint32_t);
    BASIC(MPI_INT64_T, int64_t);
    BASIC(MPI_UINT64_T, uint64_t);
    BASIC(MPI_AINT, MPI_Aint);
    BASIC(MPI_OFFSET, MPI_Offset);
    BASIC(MPI_COUNT, MPI_Count);
    BASIC(MPI_C_FLOAT_COMPLEX, float _Complex);
    BASIC(MPI_C_DOUBLE_COMPLEX, double _Complex);
    BASIC(MPI_PACKED, char);
    /* pair types: size = value + int, extent = the C struct */
    {
        struct fi { float v; int i; };
        struct di { double v; int i; };
        struct li { long v; int i; };
        struct ii { int v; int i; };
        struct si { short v; int i; };
        struct ldi { long double v; int i; };
#define PAIR(t, S, V)                                                         \
    EXPECT(t, (int)(sizeof(V) + sizeof(int)), 0, sizeof(struct S), 0,        \
           offsetof(struct S, i) + sizeof(int))
        PAIR(MPI_FLOAT_INT, fi, float);
        PAIR(MPI_DOUBLE_INT, di, double);
        PAIR(MPI_LONG_INT, li, long);
        PAIR(MPI_2INT, ii, int);
        PAIR(MPI_SHORT_INT, si, short);
        PAIR(MPI_LONG_DOUBLE_INT, ldi, long double);
    }
}

struct S { char c; double d; int i; }; /* offsets 0, 8, 16; sizeof 24 */

static void constructors(void)
{
    MPI_Datatype t, u, v;
    MPI_Aint lb, ext;

    MPI_Type_contiguous(3, MPI_INT, &t);
    EXPECT(t, 12, 0, 12, 0, 12);
    MPI_Type_free(&t);
    CHECK(t == MPI_DATATYPE_NULL, "Type_free left the handle set");

    MPI_Type_contiguous(0, MPI_INT, &t); /* empty */
    EXPECT(t, 0, 0, 0, 0, 0);
    MPI_Type_free(&t);

    /* 3 blocks of 2 doubles, stride 5 doubles */
    MPI_Type_vector(3, 2, 5, MPI_DOUBLE, &t);
    EXPECT(t, 48, 0, 96, 0, 96);
    MPI_Type_dup(t, &u); /* same layout, independent handle */
    EXPECT(u, 48, 0, 96, 0, 96);
    MPI_Type_contiguous(2, t, &v); /* nested */
    EXPECT(v, 96, 0, 192, 0, 192);
    MPI_Type_free(&t);
    EXPECT(u, 48, 0, 96, 0, 96); /* still fine after the original is freed */
    EXPECT(v, 96, 0, 192, 0, 192);
    MPI_Type_free(&u);
    MPI_Type_free(&v);

    /* negative stride: blocks at 0, -8, -16 bytes */
    MPI_Type_vector(3, 1, -2, MPI_INT, &t);
    EXPECT(t, 12, -16, 20, -16, 20);
    MPI_Type_free(&t);

    /* 3 blocks of 2 ints, stride 40 bytes */
    MPI_Type_create_hvector(3, 2, 40, MPI_INT, &t);
    EXPECT(t, 24, 0, 88, 0, 88);
    MPI_Type_free(&t);

    {
        int bl[3] = {2, 1, 3}, dp[3] = {4, 0, 8};
        MPI_Type_indexed(3, bl, dp, MPI_INT, &t); /* ints 4-5, 0, 8-10 */
        EXPECT(t, 24, 0, 44, 0, 44);
        MPI_Type_free(&t);
    }
    {
        int dp[3] = {1, 5, 9};
        MPI_Type_create_indexed_block(3, 2, dp, MPI_SHORT, &t);
        EXPECT(t, 12, 2, 20, 2, 20);
        MPI_Type_free(&t);
    }
    {
        int bl[2] = {1, 2};
        MPI_Aint dp[2] = {8, 24};
        MPI_Type_create_hindexed(2, bl, dp, MPI_DOUBLE, &t);
        EXPECT(t, 24, 8, 32, 8, 32);
        MPI_Type_free(&t);
    }
    {
        /* struct with padding: true extent 20 (ends after i); the extent
         * may be rounded up to the alignment (24 on x86-64 ABIs) */
        int bl[3] = {1, 1, 1};
        MPI_Aint dp[3] = {offsetof(struct S, c), offsetof(struct S, d),
                          offsetof(struct S, i)};
        MPI_Datatype ty[3] = {MPI_CHAR, MPI_DOUBLE, MPI_INT};
        MPI_Aint tlb, text;
        int sz;
        MPI_Type_create_struct(3, bl, dp, ty, &t);
        MPI_Type_size(t, &sz);
        MPI_Type_get_extent(t, &lb, &ext);
        MPI_Type_get_true_extent(t, &tlb, &text);
        CHECK(sz == 13 && lb == 0 && tlb == 0 && text == 20 &&
                  (ext == 20 || ext == (MPI_Aint)sizeof(struct S)),
              "struct: size %d lb %ld extent %ld true %ld/%ld", sz, (long)lb,
              (long)ext, (long)tlb, (long)text);
        MPI_Type_create_resized(t, 0, sizeof(struct S), &u);
        EXPECT(u, 13, 0, 24, 0, 20);
        MPI_Type_free(&t);
        MPI_Type_free(&u);
    }

    /* resized: a basic type with lb -4 and extent 16 */
    MPI_Type_create_resized(MPI_INT, -4, 16, &t);
    EXPECT(t, 4, -4, 16, 0, 4);
    MPI_Type_contiguous(3, t, &u); /* data at 0, 16, 32 */
    EXPECT(u, 12, -4, 48, 0, 36);
    MPI_Type_free(&t);
    MPI_Type_free(&u);

    /* resized vector: a matrix column with the extent of one element */
    MPI_Type_vector(3, 1, 5, MPI_INT, &t);
    MPI_Type_create_resized(t, 0, sizeof(int), &u);
    EXPECT(u, 12, 0, 4, 0, 44);
    MPI_Type_contiguous(2, u, &v); /* two adjacent columns */
    EXPECT(v, 24, 0, 8, 0, 48);
    MPI_Type_free(&t);
    MPI_Type_free(&u);
    MPI_Type_free(&v);

    /* commit and use a dup'ed type; commit is idempotent */
    MPI_Type_vector(2, 1, 3, MPI_INT, &t);
    MPI_Type_dup(t, &u);
    CHECK_MPI(MPI_Type_commit(&u));
    CHECK_MPI(MPI_Type_commit(&u));
    {
        int src[6] = {0, 1, 2, 3, 4, 5}, dst[2] = {-1, -1};
        CHECK_MPI(MPI_Sendrecv(src, 1, u, 0, 1, dst, 2, MPI_INT, 0, 1,
                               MPI_COMM_SELF, MPI_STATUS_IGNORE));
        CHECK(dst[0] == 0 && dst[1] == 3, "dup'ed vector sent %d %d", dst[0],
              dst[1]);
    }
    MPI_Type_free(&t);
    MPI_Type_free(&u);
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "dtype");
    predefined();
    constructors();
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
