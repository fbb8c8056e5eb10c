package main

/*
#include "cabi.h"
*/
import "C"

import (
	"os"
	"slices"
)

// Communicator hints (MPI-3.1 §6.4.4). The library acts on no hint, and
// MPI_Comm_get_info returns "the hints actually used by the system", so
// an empty info object, whatever was set.

//export MPI_Comm_set_info
func MPI_Comm_set_info(comm C.MPI_Comm, info C.MPI_Info) C.int {
	_, err := commOf(comm)
	if err == nil {
		_, err = infoOf(info)
	}
	return ret(comm, "MPI_Comm_set_info", err)
}

// MPI_Comm_get_info returns a new info object, which the caller frees.
//
//export MPI_Comm_get_info
func MPI_Comm_get_info(comm C.MPI_Comm, info *C.MPI_Info) C.int {
	if _, err := commOf(comm); err != nil {
		return ret(comm, "MPI_Comm_get_info", err)
	}
	*info = C.MPI_Info(state.infos.add(&infoObj{}))
	return C.MPI_SUCCESS
}

// MPI_Comm_dup_with_info is MPI_Comm_dup (attributes copied) with info's
// hints, which, as all hints, the library does not act on.
//
//export MPI_Comm_dup_with_info
func MPI_Comm_dup_with_info(comm C.MPI_Comm, info C.MPI_Info, out *C.MPI_Comm) C.int {
	if err := infoOK(info); err != nil {
		return ret(comm, "MPI_Comm_dup_with_info", err)
	}
	return MPI_Comm_dup(comm, out)
}

// MPI_Comm_split_type with MPI_COMM_TYPE_SHARED groups the processes
// that can share memory: those on one host, told apart by host name.
// Ranks in each new communicator follow key, then rank in comm.
//
//export MPI_Comm_split_type
func MPI_Comm_split_type(comm C.MPI_Comm, splitType, key C.int, info C.MPI_Info, out *C.MPI_Comm) C.int {
	co, err := commOf(comm)
	if err == nil {
		err = infoOK(info)
	}
	if err == nil && splitType != C.MPI_COMM_TYPE_SHARED && splitType != C.MPI_UNDEFINED {
		err = errf(C.MPI_ERR_ARG, "split type %d is neither MPI_COMM_TYPE_SHARED nor MPI_UNDEFINED", splitType)
	}
	if err == nil && co.c.IsInter() {
		err = errf(C.MPI_ERR_COMM, "MPI_Comm_split_type needs an intracommunicator")
	}
	if err != nil {
		return ret(comm, "MPI_Comm_split_type", err)
	}
	color, err := hostColor(co)
	if err != nil {
		return ret(comm, "MPI_Comm_split_type", err)
	}
	if splitType == C.MPI_UNDEFINED {
		color = C.MPI_UNDEFINED
	}
	return MPI_Comm_split(comm, color, key, out)
}

// hostColor is the lowest rank in co on this process's host: every
// member learns the others' host names by an allgather of fixed-size
// names.
func hostColor(co *commObj) (C.int, error) {
	const width = 256
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	mine := make([]byte, width)
	copy(mine, host)
	all := make([]byte, width*co.c.Size())
	if err := co.c.Allgather(mine, all); err != nil {
		return 0, err
	}
	for r := 0; r < co.c.Size(); r++ {
		if slices.Equal(all[r*width:(r+1)*width], mine) {
			return C.int(r), nil
		}
	}
	return C.int(co.c.Rank()), nil
}
