package main

/*
#include "cabi.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// Checkpoint and restart for C programs: the MPIX_ functions of mpi.h
// over mpishim's Register and SafePoint. Registered memory is the
// program's; it is read at each cut and written on a restart only.

//export MPIX_Ckpt_register
func MPIX_Ckpt_register(name C.pdvm_cstr, buf unsafe.Pointer, size C.MPI_Aint) C.int {
	const fn = "MPIX_Ckpt_register"
	if !state.initialized || state.finalized {
		return ret(0, fn, errf(C.MPI_ERR_OTHER, "MPI is not initialized"))
	}
	if name == nil || size < 0 || buf == nil && size > 0 {
		return ret(C.MPI_COMM_WORLD, fn, errf(C.MPI_ERR_ARG, "%s: need a name and a buffer of size >= 0", fn))
	}
	mem := unsafe.Slice((*byte)(buf), int(size))
	err := state.world.RegisterBytes(C.GoString((*C.char)(name)), mem)
	if errors.Is(err, mpishim.ErrNoCheckpoint) {
		return C.MPI_SUCCESS // a singleton outside p2pdvm: nothing to save to
	}
	if err != nil {
		return ret(C.MPI_COMM_WORLD, fn, errf(C.MPI_ERR_OTHER, "%s: %v", fn, err))
	}
	return C.MPI_SUCCESS
}

//export MPIX_Safe_point
func MPIX_Safe_point() C.int {
	if !state.initialized || state.finalized {
		return ret(0, "MPIX_Safe_point", errf(C.MPI_ERR_OTHER, "MPI is not initialized"))
	}
	if err := state.world.SafePoint(); err != nil {
		return ret(C.MPI_COMM_WORLD, "MPIX_Safe_point", errf(C.MPI_ERR_OTHER, "MPIX_Safe_point: %v", err))
	}
	return C.MPI_SUCCESS
}

//export MPIX_Restarted
func MPIX_Restarted(flag, epoch *C.int) C.int {
	if !state.initialized || state.finalized {
		return ret(0, "MPIX_Restarted", errf(C.MPI_ERR_OTHER, "MPI is not initialized"))
	}
	e, ok := state.world.Restarted()
	*flag = cbool(ok)
	if epoch != nil {
		*epoch = C.int(e)
	}
	return C.MPI_SUCCESS
}
