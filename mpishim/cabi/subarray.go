package main

/*
#include "cabi.h"
*/
import "C"

import (
	"github.com/p2pdvm/p2pdvm/mpishim/dtype"
)

// MPI_Type_create_subarray (MPI-3.1 §4.1.3) builds from the fastest
// varying dimension out: a contiguous run of the innermost subsize, then
// one hvector per outer dimension, striding over a full row of the array
// below it; the start offsets become one displacement, and the result is
// resized to the whole array, as the standard defines its extent.
//
//export MPI_Type_create_subarray
func MPI_Type_create_subarray(ndims C.int, sizes, subsizes, starts C.pdvm_cints, order C.int, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	const fn = "MPI_Type_create_subarray"
	if ndims <= 0 {
		return ret(0, fn, errf(C.MPI_ERR_ARG, "ndims %d is not positive", ndims))
	}
	if order != C.MPI_ORDER_C && order != C.MPI_ORDER_FORTRAN {
		return ret(0, fn, errf(C.MPI_ERR_ARG, "order %d is neither MPI_ORDER_C nor MPI_ORDER_FORTRAN", order))
	}
	sz, sub, st := ints(sizes, ndims), ints(subsizes, ndims), ints(starts, ndims)
	for i := range sz {
		if sz[i] <= 0 || sub[i] <= 0 || sub[i] > sz[i] || st[i] < 0 || st[i]+sub[i] > sz[i] {
			return ret(0, fn, errf(C.MPI_ERR_ARG, "dimension %d: size %d, subsize %d, start %d", i, sz[i], sub[i], st[i]))
		}
	}
	t, err := anyType(old)
	if err != nil {
		return ret(0, fn, err)
	}
	// dims lists the dimensions from the fastest varying to the slowest.
	dims := make([]int, ndims)
	for i := range dims {
		dims[i] = i
		if order == C.MPI_ORDER_C {
			dims[i] = int(ndims) - 1 - i
		}
	}
	ext := t.Extent()
	stride, disp := ext, int64(0) // bytes one step of the current dimension spans
	cur, err := dtype.Contiguous(sub[dims[0]], t)
	for _, d := range dims {
		if err != nil {
			break
		}
		if d != dims[0] {
			cur, err = dtype.Hvector(sub[d], 1, stride, cur)
		}
		disp += int64(st[d]) * stride
		stride *= int64(sz[d])
	}
	if err == nil {
		cur, err = dtype.Hindexed([]int{1}, []int64{disp}, cur)
	}
	if err == nil {
		cur, err = dtype.Resized(cur, 0, stride)
	}
	env := append(append(append([]C.int{ndims}, cInts(sizes, ndims)...), cInts(subsizes, ndims)...), cInts(starts, ndims)...)
	return newType(fn, cur, err, newEnv(C.MPI_COMBINER_SUBARRAY, append(env, order), nil, old), out)
}

// MPI_Type_hvector and MPI_Type_hindexed are the MPI-1 names of the
// create_ constructors (deprecated in MPI-2, still used by old code such
// as MPICH's own test helpers); the C bindings take the same arguments.
//
//export MPI_Type_hvector
func MPI_Type_hvector(count, blocklen C.int, stride C.MPI_Aint, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	return MPI_Type_create_hvector(count, blocklen, stride, old, out)
}

//export MPI_Type_hindexed
func MPI_Type_hindexed(count C.int, blocklens C.pdvm_cints, displs C.pdvm_caints, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	return MPI_Type_create_hindexed(count, blocklens, displs, old, out)
}
