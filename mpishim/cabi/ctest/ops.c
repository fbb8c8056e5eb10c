/* ranks: 1 2 3 4 */
/* ops.c: SUM PROD MAX MIN on every integer, multi-language and floating
 * type, SUM PROD on the complex types, MAXLOC/MINLOC on the pair types with
 * ties. Expected results fold the contributions of ranks 0..n-1 in the
 * element type. Logical and bitwise ops are in ops_logic.c, user ops in
 * ops_user.c. */
#include "ops.h"

/* contributions of rank r at element i */
static int v_arith(int r, int i) { return (r + i) % 3 + 1; }    /* SUM, PROD */
static int v_order(int r, int i) { return (5 * r + 3 * i) % 7 - 3; } /* MAX, MIN */

/* SUM PROD MAX MIN */
#define DEF_ARITH(N, T, MT)                                                   \
    static void arith_##N(void)                                               \
    {                                                                         \
        T s[NE], r[NE], w[NE], x;                                             \
        int i, q, o;                                                          \
        MPI_Op ops[4] = {MPI_SUM, MPI_PROD, MPI_MAX, MPI_MIN};                \
        static const char *names[4] = {"SUM", "PROD", "MAX", "MIN"};          \
        for (o = 0; o < 4; o++) {                                             \
            for (i = 0; i < NE; i++) {                                        \
                s[i] = (T)(o < 2 ? v_arith(rank, i) : v_order(rank, i));      \
                w[i] = (T)(o < 2 ? v_arith(0, i) : v_order(0, i));            \
                for (q = 1; q < size; q++) {                                  \
                    x = (T)(o < 2 ? v_arith(q, i) : v_order(q, i));           \
                    w[i] = o == 0   ? (T)(w[i] + x)                           \
                           : o == 1 ? (T)(w[i] * x)                           \
                           : o == 2 ? (x > w[i] ? x : w[i])                   \
                                    : (x < w[i] ? x : w[i]);                  \
                }                                                             \
            }                                                                 \
            RUN_AND_COMPARE(MT, ops[o], names[o], #N, r[i_] == w[i_]);     \
        }                                                                     \
    }

INT_TYPES(DEF_ARITH)
MULTI_TYPES(DEF_ARITH)
FLOAT_TYPES(DEF_ARITH)

/* SUM and PROD on the complex types, with small exact values. */
#define DEF_COMPLEX(N, T, MT)                                                 \
    static void complex_##N(void)                                             \
    {                                                                         \
        T s[NE], r[NE], w[NE], x;                                             \
        int i, q, o;                                                          \
        MPI_Op ops[2] = {MPI_SUM, MPI_PROD};                                  \
        static const char *names[2] = {"SUM", "PROD"};                        \
        for (o = 0; o < 2; o++) {                                             \
            for (i = 0; i < NE; i++) {                                        \
                for (q = 0; q < size; q++) {                                  \
                    x = (T)((q + i) % 3 + 1) + (T)((q * i) % 3 - 1) * I;      \
                    if (q == rank)                                            \
                        s[i] = x;                                             \
                    w[i] = q == 0 ? x : o == 0 ? w[i] + x : w[i] * x;         \
                }                                                             \
            }                                                                 \
            RUN_AND_COMPARE(MT, ops[o], names[o], #N, r[i_] == w[i_]);     \
        }                                                                     \
    }
DEF_COMPLEX(c_float_complex, float _Complex, MPI_C_FLOAT_COMPLEX)
DEF_COMPLEX(c_double_complex, double _Complex, MPI_C_DOUBLE_COMPLEX)
DEF_COMPLEX(c_long_double_complex, long double _Complex, MPI_C_LONG_DOUBLE_COMPLEX)

/* MAXLOC/MINLOC: value v and index k. Element 0 ties everywhere; the indices
 * are not the ranks (higher ranks get lower indices on even elements), so
 * "lowest index wins" is not "lowest rank wins". */
static int loc_v(int r, int e) { return e % 3 == 0 ? 5 : (3 * r + e) % 4; }
static int loc_k(int r, int e) { return e % 2 ? r : 2 * (size - 1 - r); }

#define DEF_LOC(N, VT, MT)                                                    \
    static void loc_##N(void)                                                 \
    {                                                                         \
        struct { VT v; int k; } s[NE], r[NE], w[NE], x;                       \
        int e, q, o;                                                          \
        MPI_Op ops[2] = {MPI_MAXLOC, MPI_MINLOC};                             \
        static const char *names[2] = {"MAXLOC", "MINLOC"};                   \
        for (o = 0; o < 2; o++) {                                             \
            for (e = 0; e < NE; e++) {                                        \
                for (q = 0; q < size; q++) {                                  \
                    x.v = (VT)loc_v(q, e);                                    \
                    x.k = loc_k(q, e);                                        \
                    if (q == rank)                                            \
                        s[e] = x;                                             \
                    if (q == 0 || (o == 0 ? x.v > w[e].v : x.v < w[e].v) ||   \
                        (x.v == w[e].v && x.k < w[e].k))                      \
                        w[e] = x;                                             \
                }                                                             \
            }                                                                 \
            RUN_AND_COMPARE(MT, ops[o], names[o], #N,                     \
                            r[i_].v == w[i_].v && r[i_].k == w[i_].k);        \
        }                                                                     \
    }
DEF_LOC(float_int, float, MPI_FLOAT_INT)
DEF_LOC(double_int, double, MPI_DOUBLE_INT)
DEF_LOC(long_int, long, MPI_LONG_INT)
DEF_LOC(2int, int, MPI_2INT)
DEF_LOC(short_int, short, MPI_SHORT_INT)
DEF_LOC(long_double_int, long double, MPI_LONG_DOUBLE_INT)

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "ops");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

#define CALL_ARITH(N, T, MT) arith_##N();
    INT_TYPES(CALL_ARITH)
    MULTI_TYPES(CALL_ARITH)
    FLOAT_TYPES(CALL_ARITH)
    complex_c_float_complex();
    complex_c_double_complex();
    complex_c_long_double_complex();
    loc_float_int();
    loc_double_int();
    loc_long_int();
    loc_2int();
    loc_short_int();
    loc_long_double_int();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
