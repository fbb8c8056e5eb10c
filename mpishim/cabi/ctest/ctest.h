/* ctest.h: the tiny shared harness of the C MPI tests in this folder.
 *
 *   ctest_init(&argc, &argv, "name")   MPI_Init and name the test
 *   CHECK(cond, fmt, ...)              count a check; on failure print
 *                                      file:line, rank and the message on
 *                                      stderr and go on (no abort)
 *   CHECK_MPI(call)                    CHECK(call == MPI_SUCCESS)
 *   ctest_skip(min)                    1 (after printing a skip line) when
 *                                      MPI_COMM_WORLD has fewer than min ranks
 *   ctest_finish()                     Allreduce the failures; rank 0 prints
 *                                      "ok <name> ranks=<n> checks=<k>" or
 *                                      "FAIL <name> ranks=<n> failures=<f>";
 *                                      returns the exit code (0 or 1).
 *                                      The caller then calls MPI_Finalize.
 */
#ifndef CTEST_H
#define CTEST_H

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MPICH defines MPI_STATUSES_IGNORE as (MPI_Status *)1, which GCC >= 11
 * reports as -Wstringop-overflow in MPI_Waitall & co. (a known MPICH issue,
 * pmodels/mpich#5687). Silence it for MPICH only. */
#if defined(MPICH_VERSION) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

/* Known deviations of the reference MPICH from MPI-3.1; tests relax only
 * those checks, only for MPICH builds older than the fix. */
#if defined(MPICH_NUMVERSION) && MPICH_NUMVERSION < 40200000
/* pmodels/mpich#6805 (fixed in 4.2): the status of an Irecv from
 * MPI_PROC_NULL completed by Wait & co. says source 0, tag 0. */
#define CTEST_MPICH_IRECV_PROC_NULL_STATUS 1
#endif

static const char *ctest_name_ = "test";
static long long ctest_checks_ = 0;
static long long ctest_fails_ = 0;

static inline int ctest_rank_(void)
{
    int up = 0, down = 0, r = -1;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline void ctest_fail_(const char *file, int line, const char *cond,
                               const char *fmt, ...)
{
    va_list ap;
    if (++ctest_fails_ > 50) /* keep the log bounded */
        return;
    fprintf(stderr, "%s:%d: rank %d: CHECK(%s) failed: ", file, line,
            ctest_rank_(), cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        ctest_checks_++;                                                      \
        if (!(cond))                                                          \
            ctest_fail_(__FILE__, __LINE__, #cond, __VA_ARGS__);              \
    } while (0)

#define CHECK_MPI(call)                                                       \
    do {                                                                      \
        int ctest_rc_ = (call);                                               \
        CHECK(ctest_rc_ == MPI_SUCCESS, "%s returned %d", #call, ctest_rc_);  \
    } while (0)

static inline void ctest_init(int *argc, char ***argv, const char *name)
{
    ctest_name_ = name;
    MPI_Init(argc, argv);
}

static inline int ctest_skip(int min)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size >= min)
        return 0;
    if (rank == 0)
        printf("skip %s ranks=%d needs %d ranks\n", ctest_name_, size, min);
    fflush(stdout);
    return 1;
}

static inline int ctest_finish(void)
{
    long long mine[2] = {ctest_fails_, ctest_checks_}, all[2] = {0, 0};
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(mine, all, 2, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        if (all[0] == 0)
            printf("ok %s ranks=%d checks=%lld\n", ctest_name_, size, all[1]);
        else
            printf("FAIL %s ranks=%d failures=%lld\n", ctest_name_, size,
                   all[0]);
        fflush(stdout);
    }
    return all[0] != 0;
}

#endif
