/* ranks: 1 2 3 4 */
/* ops_logic.c: LAND LOR LXOR on every C integer type and MPI_C_BOOL, BAND
 * BOR BXOR on every C integer type, the multi-language types and MPI_BYTE.
 * Expected results fold the contributions of ranks 0..n-1. */
#include "ops.h"

/* contributions of rank r at element i */
static int v_logic(int r, int i)                                 /* LAND ... */
{
    switch (i % 5) {
    case 0: return r + 1;              /* all true, not all 1 */
    case 1: return 0;                  /* all false */
    case 2: return r == 0 ? 2 : 0;     /* only rank 0 */
    case 3: return r % 2 ? -1 : 0;     /* odd ranks */
    default: return r == size - 1 ? 0 : 3; /* all but the last */
    }
}
static unsigned long long v_bits(int r, int i)                   /* BAND ... */
{
    return 0x9E3779B97F4A7C15ull * (unsigned long long)(r * 16 + i + 1);
}

/* LAND LOR LXOR: the result of an op is 0 or 1. With one rank no op is
 * applied, so the input itself (or its 0/1 form) is accepted. */
#define DEF_LOGIC(N, T, MT)                                                   \
    static void logic_##N(void)                                               \
    {                                                                         \
        T s[NE], r[NE], w[NE], x;                                             \
        int i, q, o;                                                          \
        MPI_Op ops[3] = {MPI_LAND, MPI_LOR, MPI_LXOR};                        \
        static const char *names[3] = {"LAND", "LOR", "LXOR"};                \
        for (o = 0; o < 3; o++) {                                             \
            for (i = 0; i < NE; i++) {                                        \
                s[i] = (T)v_logic(rank, i);                                   \
                w[i] = (T)v_logic(0, i);                                      \
                for (q = 1; q < size; q++) {                                  \
                    x = (T)v_logic(q, i);                                     \
                    w[i] = o == 0   ? (T)(w[i] && x)                          \
                           : o == 1 ? (T)(w[i] || x)                          \
                                    : (T)(!w[i] != !x);                       \
                }                                                             \
            }                                                                 \
            RUN_AND_COMPARE(MT, ops[o], names[o], #N,                      \
                            r[i_] == w[i_] ||                                 \
                                (size == 1 && r[i_] == (T)(w[i_] != 0)));     \
        }                                                                     \
    }

/* BAND BOR BXOR */
#define DEF_BITS(N, T, MT)                                                    \
    static void bits_##N(void)                                                \
    {                                                                         \
        T s[NE], r[NE], w[NE], x;                                             \
        int i, q, o;                                                          \
        MPI_Op ops[3] = {MPI_BAND, MPI_BOR, MPI_BXOR};                        \
        static const char *names[3] = {"BAND", "BOR", "BXOR"};                \
        for (o = 0; o < 3; o++) {                                             \
            for (i = 0; i < NE; i++) {                                        \
                s[i] = (T)v_bits(rank, i);                                    \
                w[i] = (T)v_bits(0, i);                                       \
                for (q = 1; q < size; q++) {                                  \
                    x = (T)v_bits(q, i);                                      \
                    w[i] = o == 0   ? (T)(w[i] & x)                           \
                           : o == 1 ? (T)(w[i] | x)                           \
                                    : (T)(w[i] ^ x);                          \
                }                                                             \
            }                                                                 \
            RUN_AND_COMPARE(MT, ops[o], names[o], #N, r[i_] == w[i_]);     \
        }                                                                     \
    }

INT_TYPES(DEF_LOGIC)
DEF_LOGIC(c_bool, bool, MPI_C_BOOL)
INT_TYPES(DEF_BITS)
MULTI_TYPES(DEF_BITS)
DEF_BITS(byte, unsigned char, MPI_BYTE)

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "ops_logic");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

#define CALL_LOGIC(N, T, MT) logic_##N();
#define CALL_BITS(N, T, MT) bits_##N();
    INT_TYPES(CALL_LOGIC)
    logic_c_bool();
    INT_TYPES(CALL_BITS)
    MULTI_TYPES(CALL_BITS)
    bits_byte();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
