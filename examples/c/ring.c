/*
 * ring: checkpoint and restart lose, repeat and reorder nothing (C).
 *
 * usage: ring ITERS [AHEAD]
 *
 * Every rank sends numbered messages to the next rank while AHEAD
 * (default 2) of the previous rank's are still in flight, so every
 * checkpoint cuts through traffic, and checks that it receives 0, 1, 2,
 * ... from the previous rank. Under p2pdvm the loop counter and the
 * expected number are registered with MPIX_Ckpt_register and the loop
 * has a safe point; with another MPI it runs without. Rank 0 prints
 *   ring ranks=<p> iters=<n> received=<total> restarted=<0|1>
 * and a rank that sees a message out of order exits with status 3.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int rank, size, restarted = 0, epoch = 0;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (argc < 2) {
		if (rank == 0)
			fprintf(stderr, "usage: ring ITERS [AHEAD]\n");
		MPI_Finalize();
		return 2;
	}
	long iters = atol(argv[1]);
	long ahead = argc > 2 ? atol(argv[2]) : 2;
	const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
	long it = 0, want = 0, msg;

#ifdef P2PDVM_MPIX_CKPT
	MPIX_Ckpt_register("ring.it", &it, sizeof it);
	MPIX_Ckpt_register("ring.want", &want, sizeof want);
	MPIX_Restarted(&restarted, &epoch);
#endif
	if (!restarted) /* a restart resumes with these still in flight */
		for (long k = 0; k < ahead; k++)
			MPI_Send(&k, 1, MPI_LONG, next, 7, MPI_COMM_WORLD);
	for (; it < iters; it++) {
#ifdef P2PDVM_MPIX_CKPT
		MPIX_Safe_point();
#endif
		msg = it + ahead;
		MPI_Send(&msg, 1, MPI_LONG, next, 7, MPI_COMM_WORLD);
		MPI_Recv(&msg, 1, MPI_LONG, prev, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		if (msg != want) {
			fprintf(stderr, "ring: rank %d: message %ld from rank %d, expected %ld\n", rank, msg, prev, want);
			exit(3);
		}
		want++;
	}
	for (long k = 0; k < ahead; k++) {
		MPI_Recv(&msg, 1, MPI_LONG, prev, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		if (msg != want) {
			fprintf(stderr, "ring: rank %d: trailing message %ld, expected %ld\n", rank, msg, want);
			exit(3);
		}
		want++;
	}
	long total = 0;
	MPI_Reduce(&want, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rank == 0)
		printf("ring ranks=%d iters=%ld received=%ld restarted=%d\n", size, iters, total, restarted);
	MPI_Finalize();
	return 0;
}
