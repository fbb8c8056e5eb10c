// Command cabi is p2pdvm's MPI library for C programs: built with
// -buildmode=c-archive into libp2pdvm_mpi.a, which `p2pdvm mpicc` links
// with mpi.h. The C functions of mpi.h are the exported Go functions of
// this package (and a few C ones in cabi.c); they translate C handles,
// buffers and datatypes and call the mpishim package, so C and Go
// programs share one MPI implementation on the PEAL.
//
// Handles are indices into tables (handles.go). Data described by a
// derived datatype is packed into a contiguous buffer before it is sent
// and unpacked after it arrives; contiguous data is sent straight from
// and received straight into the user's memory. The library provides
// MPI_THREAD_SERIALIZED: any thread may call it, one at a time, which is
// why the tables need no lock.
package main

func main() {}
