/* pingpong: one-way latency and bandwidth between ranks 0 and 1.
 *
 * Usage: pingpong [ITERS]
 * For each message size, a warm-up, then ITERS timed round trips (default
 * depends on the size, chosen so the whole run takes a few seconds even
 * with ~100 us latency). The one-way time is the median over iterations of
 * round-trip/2; bandwidth is size / one-way time in MB/s (1 MB = 1e6 B).
 * Rank 0 prints one line per size:
 *   pingpong size=8 latency_us=12.345 bandwidth_MBps=0.648
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    static const int sizes[] = {8, 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024};
    static const int default_iters[] = {10000, 10000, 1000, 200, 50}; /* as pingpong.go */
    const int nsizes = (int)(sizeof sizes / sizeof sizes[0]);
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        if (rank == 0) fprintf(stderr, "pingpong: needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int iters_arg = 0;
    if (argc > 1) {
        iters_arg = atoi(argv[1]);
        if (iters_arg < 1) {
            if (rank == 0) fprintf(stderr, "pingpong: bad iteration count %s\n", argv[1]);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }

    char *buf = malloc((size_t)sizes[nsizes - 1]);
    double *t = malloc(sizeof(double) * (size_t)(iters_arg > 10000 ? iters_arg : 10000));
    if (!buf || !t) {
        fprintf(stderr, "pingpong: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(buf, 1, (size_t)sizes[nsizes - 1]);

    for (int s = 0; s < nsizes; s++) {
        int n = sizes[s];
        int iters = iters_arg ? iters_arg : default_iters[s];
        int warm = iters / 10 < 5 ? 5 : iters / 10;
        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = -warm; i < iters; i++) {
            if (rank == 0) {
                double t0 = MPI_Wtime();
                MPI_Send(buf, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(buf, n, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                double dt = MPI_Wtime() - t0;
                if (i >= 0) t[i] = dt / 2.0;
            } else if (rank == 1) {
                MPI_Recv(buf, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buf, n, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
        }
        if (rank == 0) {
            qsort(t, (size_t)iters, sizeof(double), cmp_double);
            double med = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
            printf("pingpong size=%d latency_us=%.3f bandwidth_MBps=%.3f\n",
                   n, med * 1e6, (double)n / med / 1e6);
            fflush(stdout);
        }
    }
    free(buf);
    free(t);
    MPI_Finalize();
    return 0;
}
