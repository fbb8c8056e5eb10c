// Package mpishim is MPI for Go programs, built on the PEAL and nothing
// else.
//
// A program calls Init, which attaches to the p2pdvm peer that started it
// and returns the world communicator, and Finalize at the end; tests build
// communicators over peal.NewGroup with InitWith instead, any number of
// them in one process.
//
// Point to point calls follow MPI's rules: messages between a pair on one
// communicator are not overtaken, receives match in the order they were
// posted, a receive into a buffer shorter than the message fails with
// ErrTruncate, and sends are eager (they complete at once and the buffer
// may be reused), so Isend requests are born complete.
//
// Every communicator owns two PEAL contexts, one for user point to point
// traffic and one for its collectives, so the two never match each other
// and a communicator made by Dup or Split never sees its parent's messages.
//
// Collectives use logarithmic algorithms: binomial trees for Bcast, Reduce,
// Gather and Scatter, recursive doubling for Allreduce, Bruck's algorithm
// for Allgather, a dissemination Barrier and a pairwise Alltoall.
// Reductions combine operands in an order fixed by the communicator size
// (lower ranks' operand first), so a floating-point result is the same on
// every rank and in every run with that many ranks.
//
// Data travels as bytes. The generic helpers (SendT, AllreduceT, ...) view a
// []float64 or []int32 as its bytes without copying, which assumes all
// ranks share one byte order, as a homogeneous MPI job does.
package mpishim
