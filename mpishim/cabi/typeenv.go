package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"
)

// typeEnv is how a derived datatype was made (MPI-3.1 §4.1.13): the
// constructor and its arguments, kept for MPI_Type_get_envelope and
// MPI_Type_get_contents. Predefined types have none (MPI_COMBINER_NAMED).
type typeEnv struct {
	combiner C.int
	ints     []C.int
	aints    []C.MPI_Aint
	types    []C.MPI_Datatype // the handles passed, for predefined ones
	objs     []typeObj        // what the derived ones were then, since the caller may free them
}

// newEnv records a constructor call; olds are the datatype arguments.
func newEnv(combiner C.int, ints []C.int, aints []C.MPI_Aint, olds ...C.MPI_Datatype) *typeEnv {
	e := &typeEnv{combiner: combiner, ints: ints, aints: aints, types: olds, objs: make([]typeObj, len(olds))}
	for i, h := range olds {
		if to := state.types.get(int32(h)); to != nil {
			e.objs[i] = *to
		}
	}
	return e
}

// cInts and cAints copy n C values at p (nil when n <= 0).
func cInts(p *C.int, n C.int) []C.int {
	if n <= 0 || p == nil {
		return nil
	}
	return append([]C.int(nil), unsafe.Slice(p, int(n))...)
}

func cAints(p *C.MPI_Aint, n C.int) []C.MPI_Aint {
	if n <= 0 || p == nil {
		return nil
	}
	return append([]C.MPI_Aint(nil), unsafe.Slice(p, int(n))...)
}

//export MPI_Type_get_envelope
func MPI_Type_get_envelope(h C.MPI_Datatype, ni, na, nd, combiner *C.int) C.int {
	to := state.types.get(int32(h))
	if to == nil {
		return ret(0, "MPI_Type_get_envelope", errf(C.MPI_ERR_TYPE, "invalid datatype %d", h))
	}
	if to.env == nil {
		*ni, *na, *nd, *combiner = 0, 0, 0, C.MPI_COMBINER_NAMED
		return C.MPI_SUCCESS
	}
	e := to.env
	*ni, *na, *nd, *combiner = C.int(len(e.ints)), C.int(len(e.aints)), C.int(len(e.types)), e.combiner
	return C.MPI_SUCCESS
}

// MPI_Type_get_contents returns the constructor's arguments. Datatype
// arguments that were predefined come back as the same handles; derived
// ones as new handles to equal types, which the caller frees, as MPI says.
//
//export MPI_Type_get_contents
func MPI_Type_get_contents(h C.MPI_Datatype, maxi, maxa, maxd C.int, ints *C.int, aints *C.MPI_Aint, types *C.MPI_Datatype) C.int {
	to := state.types.get(int32(h))
	switch {
	case to == nil:
		return ret(0, "MPI_Type_get_contents", errf(C.MPI_ERR_TYPE, "invalid datatype %d", h))
	case to.env == nil:
		return ret(0, "MPI_Type_get_contents", errf(C.MPI_ERR_TYPE, "datatype %d is predefined (MPI_COMBINER_NAMED): it has no contents", h))
	}
	e := to.env
	if int(maxi) < len(e.ints) || int(maxa) < len(e.aints) || int(maxd) < len(e.types) {
		return ret(0, "MPI_Type_get_contents", errf(C.MPI_ERR_ARG, "room for %d, %d and %d values, the envelope says %d, %d and %d",
			maxi, maxa, maxd, len(e.ints), len(e.aints), len(e.types)))
	}
	if len(e.ints) > 0 {
		copy(unsafe.Slice(ints, len(e.ints)), e.ints)
	}
	if len(e.aints) > 0 {
		copy(unsafe.Slice(aints, len(e.aints)), e.aints)
	}
	if len(e.types) > 0 {
		out := unsafe.Slice(types, len(e.types))
		for i, old := range e.types {
			if int32(old) < state.types.fixed {
				out[i] = old
				continue
			}
			dup := e.objs[i]
			out[i] = C.MPI_Datatype(state.types.add(&dup))
		}
	}
	return C.MPI_SUCCESS
}

func cTypes(p *C.MPI_Datatype, n C.int) []C.MPI_Datatype {
	if n <= 0 || p == nil {
		return nil
	}
	return append([]C.MPI_Datatype(nil), unsafe.Slice(p, int(n))...)
}
