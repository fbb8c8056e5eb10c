/*
 * heat: 2-D heat flow by Jacobi iteration on an N x N grid of float64.
 *
 * usage: heat [ITERS [N]]   (defaults 3000 1024)
 *
 * Global row 0 is held at 100.0 (all columns); the bottom row and the first
 * and last columns of every other row are held at 0.0; the interior starts
 * at 0.0. Rows are split in equal contiguous blocks over the ranks (N must
 * be divisible by the number of ranks). Each iteration exchanges one halo
 * row with each neighbour and sets every interior cell to
 * 0.25*(up + down + left + right), added in exactly that order, new from
 * old. Every 100th iteration and the last one, the residual max|new-old|
 * over the interior is reduced with MPI_Allreduce(MAX). At the end every
 * rank sums each of its rows left to right, rank 0 gathers the row sums and
 * adds them in global row order starting from 0.0: the checksum.
 *
 * The result is bit-for-bit independent of the number of ranks; build
 * without -ffast-math and with -ffp-contract=off so it also matches other
 * implementations (ITERS=2000 N=256: residual 0.012096012910987497,
 * checksum 592716.52687308204).
 *
 * Under p2pdvm (submit --ckpt-interval) it checkpoints at the top of each
 * iteration through the MPIX_ calls of p2pdvm's mpi.h and resumes from
 * there after a restart; with another MPI it builds and runs without.
 *
 * Rank 0 prints:
 *   heat N=<N> ranks=<p> iters=<it> residual=<%.17g> checksum=<%.17g> time_s=<%.3f>
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long parse(const char *s, const char *what, int rank)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || end == s || v < 1 || v > 1000000000L) {
		if (rank == 0)
			fprintf(stderr, "heat: bad %s %s (want a positive integer)\n", what, s);
		return -1;
	}
	return v;
}

/* One row of the sweep: o[j] = 0.25*(u[j] + d[j] + c[j-1] + c[j+1]) on the
 * interior columns, four cells a step with each middle-row value loaded
 * once. examples/heat (Go) has the same loop, so both languages run the
 * same kernel; the additions keep their order, so the result is bit for
 * bit the plain loop's. */
static void sweep_row(const double *u, const double *c, const double *d, double *o, long w)
{
	if (w < 3)
		return;
	double l0 = c[0], l1 = c[1]; /* c[j-1] and c[j] for the next step */
	long j = 1;
	for (; j + 4 < w; j += 4) {
		double r0 = c[j + 1], r1 = c[j + 2], r2 = c[j + 3], r3 = c[j + 4];
		o[j] = 0.25 * (u[j] + d[j] + l0 + r0);
		o[j + 1] = 0.25 * (u[j + 1] + d[j + 1] + l1 + r1);
		o[j + 2] = 0.25 * (u[j + 2] + d[j + 2] + r0 + r2);
		o[j + 3] = 0.25 * (u[j + 3] + d[j + 3] + r1 + r3);
		l0 = r2;
		l1 = r3;
	}
	for (; j < w - 1; j++)
		o[j] = 0.25 * (u[j] + d[j] + c[j - 1] + c[j + 1]);
}

int main(int argc, char **argv)
{
	int rank, size;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);

	long iters = 3000, n = 1024;
	if (argc > 3) {
		if (rank == 0)
			fprintf(stderr, "usage: heat [ITERS [N]]\n");
		MPI_Finalize();
		return 1;
	}
	if (argc > 1 && (iters = parse(argv[1], "ITERS", rank)) < 0) {
		MPI_Finalize();
		return 1;
	}
	if (argc > 2 && (n = parse(argv[2], "N", rank)) < 0) {
		MPI_Finalize();
		return 1;
	}
	if (n < 3 || n > 1000000) {
		if (rank == 0)
			fprintf(stderr, "heat: N=%ld out of range (3..1000000)\n", n);
		MPI_Finalize();
		return 1;
	}
	if (n % size != 0) {
		if (rank == 0)
			fprintf(stderr, "heat: N=%ld is not divisible by the number of ranks %d\n", n, size);
		MPI_Finalize();
		return 1;
	}

	const long N = n;
	const long b = N / size;     /* rows owned by this rank */
	const long g0 = rank * b;    /* global index of the first owned row */
	const long W = N;            /* row stride */
	/* Local rows 1..b are owned, 0 and b+1 are halos. */
	double *cur = calloc((size_t)(b + 2) * W, sizeof(double));
	double *nxt = calloc((size_t)(b + 2) * W, sizeof(double));
	double *rowsum = malloc(sizeof(double) * b);
	double *allsums = rank == 0 ? malloc(sizeof(double) * N) : NULL;
	if (!cur || !nxt || !rowsum || (rank == 0 && !allsums)) {
		fprintf(stderr, "heat: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	/* Boundary: global row 0 at 100.0; everything else starts at 0.0. */
	if (rank == 0)
		for (long j = 0; j < W; j++)
			cur[1 * W + j] = nxt[1 * W + j] = 100.0;

	const int up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
	const int down = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;
	/* Owned local rows that are interior (global 1..N-2). */
	long lo = 1, hi = b;
	if (g0 == 0)
		lo = 2;
	if (g0 + b == N)
		hi = b - 1;

	long it = 1;
#ifdef P2PDVM_MPIX_CKPT
	/* cur and nxt trade places every iteration, so both are saved and
	 * the iteration count says which one is current. */
	double *const bufA = cur, *const bufB = nxt;
	const MPI_Aint bytes = (MPI_Aint)((b + 2) * W * sizeof(double));
	MPIX_Ckpt_register("heat.it", &it, sizeof it);
	MPIX_Ckpt_register("heat.a", bufA, bytes);
	MPIX_Ckpt_register("heat.b", bufB, bytes);
	if ((it - 1) % 2 == 1) {
		cur = bufB;
		nxt = bufA;
	}
#endif

	MPI_Barrier(MPI_COMM_WORLD);
	double t0 = MPI_Wtime();
	double residual = 0.0;
	for (; it <= iters; it++) {
#ifdef P2PDVM_MPIX_CKPT
		MPIX_Safe_point();
#endif
		/* Halo exchange: first owned row goes up, last owned row goes down. */
		MPI_Sendrecv(&cur[1 * W], (int)W, MPI_DOUBLE, up, 0,
		             &cur[(b + 1) * W], (int)W, MPI_DOUBLE, down, 0,
		             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		MPI_Sendrecv(&cur[b * W], (int)W, MPI_DOUBLE, down, 1,
		             &cur[0 * W], (int)W, MPI_DOUBLE, up, 1,
		             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		for (long i = lo; i <= hi; i++)
			sweep_row(&cur[(i - 1) * W], &cur[i * W], &cur[(i + 1) * W], &nxt[i * W], W);
		if (it % 100 == 0 || it == iters) {
			double local = 0.0;
			for (long i = lo; i <= hi; i++)
				for (long j = 1; j < W - 1; j++) {
					double dlt = fabs(nxt[i * W + j] - cur[i * W + j]);
					if (dlt > local)
						local = dlt;
				}
			MPI_Allreduce(&local, &residual, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
		}
		double *t = cur;
		cur = nxt;
		nxt = t;
	}

	for (long i = 0; i < b; i++) {
		double s = 0.0;
		for (long j = 0; j < W; j++)
			s += cur[(i + 1) * W + j];
		rowsum[i] = s;
	}
	MPI_Gather(rowsum, (int)b, MPI_DOUBLE, allsums, (int)b, MPI_DOUBLE, 0, MPI_COMM_WORLD);
	double t1 = MPI_Wtime();
	if (rank == 0) {
		double checksum = 0.0;
		for (long i = 0; i < N; i++)
			checksum += allsums[i];
		printf("heat N=%ld ranks=%d iters=%ld residual=%.17g checksum=%.17g time_s=%.3f\n",
		       N, size, iters, residual, checksum, t1 - t0);
		fflush(stdout);
	}

	free(cur);
	free(nxt);
	free(rowsum);
	free(allsums);
	MPI_Finalize();
	return 0;
}
