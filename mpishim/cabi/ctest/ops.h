/* ops.h: shared by ops.c and ops_logic.c: the element types of the
 * predefined reduction ops and a helper that runs and checks one reduction. */
#ifndef OPS_H
#define OPS_H
#include "ctest.h"
#include <complex.h>
#include <stdbool.h>
#include <stdint.h>

static int rank, size;
#define NE 10 /* elements per reduction */

/* Run op as Allreduce and, for the first op of each family, also as Reduce
 * to rank size-1; CMP tells whether r[i_] is right (w holds the expected
 * results). */
#define RUN_AND_COMPARE(MT, OP, OPNAME, TNAME, CMP)                           \
    do {                                                                      \
        int i_, bad_ = 0, pass_;                                              \
        for (pass_ = 0; pass_ < (o == 0 ? 2 : 1); pass_++) {                  \
            memset(r, 0, sizeof r);                                           \
            if (pass_ == 0)                                                   \
                CHECK_MPI(MPI_Allreduce(s, r, NE, MT, OP, MPI_COMM_WORLD));   \
            else                                                              \
                CHECK_MPI(MPI_Reduce(s, r, NE, MT, OP, size - 1,              \
                                     MPI_COMM_WORLD));                        \
            if (pass_ == 1 && rank != size - 1)                               \
                break;                                                        \
            for (i_ = 0; i_ < NE; i_++)                                       \
                bad_ += !(CMP);                                               \
        }                                                                     \
        CHECK(bad_ == 0, "%s on %s: %d wrong", OPNAME, TNAME, bad_);          \
    } while (0)

/* The C integer types (MPI-3.1 5.9.2), and the multi-language types. */
#define INT_TYPES(X)                                                          \
    X(schar, signed char, MPI_SIGNED_CHAR)                                    \
    X(uchar, unsigned char, MPI_UNSIGNED_CHAR)                                \
    X(short, short, MPI_SHORT)                                                \
    X(ushort, unsigned short, MPI_UNSIGNED_SHORT)                             \
    X(int, int, MPI_INT)                                                      \
    X(unsigned, unsigned, MPI_UNSIGNED)                                       \
    X(long, long, MPI_LONG)                                                   \
    X(ulong, unsigned long, MPI_UNSIGNED_LONG)                                \
    X(llong, long long, MPI_LONG_LONG)                                        \
    X(llong_int, long long, MPI_LONG_LONG_INT)                                \
    X(ullong, unsigned long long, MPI_UNSIGNED_LONG_LONG)                     \
    X(int8, int8_t, MPI_INT8_T)                                               \
    X(uint8, uint8_t, MPI_UINT8_T)                                            \
    X(int16, int16_t, MPI_INT16_T)                                            \
    X(uint16, uint16_t, MPI_UINT16_T)                                         \
    X(int32, int32_t, MPI_INT32_T)                                            \
    X(uint32, uint32_t, MPI_UINT32_T)                                         \
    X(int64, int64_t, MPI_INT64_T)                                            \
    X(uint64, uint64_t, MPI_UINT64_T)
#define MULTI_TYPES(X)                                                        \
    X(aint, MPI_Aint, MPI_AINT)                                               \
    X(offset, MPI_Offset, MPI_OFFSET)                                         \
    X(count, MPI_Count, MPI_COUNT)
#define FLOAT_TYPES(X)                                                        \
    X(float, float, MPI_FLOAT)                                                \
    X(double, double, MPI_DOUBLE)                                             \
    X(ldouble, long double, MPI_LONG_DOUBLE)

#endif
