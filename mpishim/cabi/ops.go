package main

/*
#include <stdlib.h>
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/mpishim/dtype"
)

var builtinOps = [...]dtype.Op{
	C.MPI_MAX:     dtype.Max,
	C.MPI_MIN:     dtype.Min,
	C.MPI_SUM:     dtype.Sum,
	C.MPI_PROD:    dtype.Prod,
	C.MPI_LAND:    dtype.Land,
	C.MPI_BAND:    dtype.Band,
	C.MPI_LOR:     dtype.Lor,
	C.MPI_BOR:     dtype.Bor,
	C.MPI_LXOR:    dtype.Lxor,
	C.MPI_BXOR:    dtype.Bxor,
	C.MPI_MINLOC:  dtype.Minloc,
	C.MPI_MAXLOC:  dtype.Maxloc,
	C.MPI_REPLACE: dtype.Replace,
	C.MPI_NO_OP:   dtype.NoOp,
}

func init() {
	for h, op := range builtinOps {
		if h > 0 {
			state.ops.predefine(int32(h), &opObj{builtin: op, commute: true})
		}
	}
}

// combiner returns how to fold packed data of datatype dt with op, and
// whether the fold is commutative. It fails before any message is sent
// when op is not defined on dt, so every member fails alike.
func combiner(op C.MPI_Op, dt C.MPI_Datatype, t *dtype.Type) (mpishim.Combine, bool, error) {
	o := state.ops.get(int32(op))
	if o == nil {
		return nil, false, errf(C.MPI_ERR_OP, "invalid operation %d", op)
	}
	if o.user != nil {
		return userCombine((*C.MPI_User_function)(o.user), dt, t), o.commute, nil
	}
	kind, ok := t.Elem()
	if !ok {
		return nil, false, errf(C.MPI_ERR_OP, "%v on a datatype that mixes element kinds", o.builtin)
	}
	if err := dtype.Valid(o.builtin, kind); err != nil {
		return nil, false, err
	}
	if kind == dtype.LongDouble || kind == dtype.LongDoubleInt || kind == dtype.LongDoubleComplex {
		pair := cbool(kind == dtype.LongDoubleInt)
		if kind == dtype.LongDoubleComplex {
			pair = 2
		}
		return func(inout, in []byte) error {
			n := len(in) / kind.Size()
			if n == 0 {
				return nil
			}
			if C.pdvm_reduce_ld(op, pair, unsafe.Pointer(&inout[0]), unsafe.Pointer(&in[0]), C.int(n)) != 0 {
				return errf(C.MPI_ERR_OP, "%v is not defined on %v", o.builtin, kind)
			}
			return nil
		}, true, nil
	}
	bop := o.builtin
	return func(inout, in []byte) error { return dtype.Reduce(bop, kind, inout, in) }, true, nil
}

// userCombine calls a C MPI_User_function. The function expects its
// operands laid out as the datatype describes, so packed data of a
// non-contiguous type is unpacked into C memory around the call.
func userCombine(fn *C.MPI_User_function, dt C.MPI_Datatype, t *dtype.Type) mpishim.Combine {
	return func(inout, in []byte) error {
		size := int(t.Size())
		if size == 0 || len(in) == 0 {
			return nil
		}
		n := len(in) / size
		if t.Contig() {
			C.pdvm_call_user_fn(fn, unsafe.Pointer(&in[0]), unsafe.Pointer(&inout[0]), C.int(n), dt)
			return nil
		}
		span := int(t.TrueExtent()) + (n-1)*int(t.Extent())
		a, b := C.malloc(C.size_t(span)), C.malloc(C.size_t(span))
		defer C.free(a)
		defer C.free(b)
		baseA, baseB := unsafe.Add(a, -t.TrueLB()), unsafe.Add(b, -t.TrueLB())
		t.Unpack(in, baseA, n)
		t.Unpack(inout, baseB, n)
		C.pdvm_call_user_fn(fn, baseA, baseB, C.int(n), dt)
		t.Pack(inout, baseB, n)
		return nil
	}
}

//export MPI_Op_create
func MPI_Op_create(fn *C.MPI_User_function, commute C.int, op *C.MPI_Op) C.int {
	if fn == nil {
		return ret(0, "MPI_Op_create", errf(C.MPI_ERR_ARG, "null function"))
	}
	*op = C.MPI_Op(state.ops.add(&opObj{user: unsafe.Pointer(fn), commute: commute != 0}))
	return C.MPI_SUCCESS
}

//export MPI_Op_free
func MPI_Op_free(op *C.MPI_Op) C.int {
	if state.ops.get(int32(*op)) == nil || int32(*op) < state.ops.fixed {
		return ret(0, "MPI_Op_free", errf(C.MPI_ERR_OP, "operation %d is not a user-defined operation", *op))
	}
	state.ops.del(int32(*op))
	*op = C.MPI_OP_NULL
	return C.MPI_SUCCESS
}

//export MPI_Op_commutative
func MPI_Op_commutative(op C.MPI_Op, commute *C.int) C.int {
	o := state.ops.get(int32(op))
	if o == nil {
		return ret(0, "MPI_Op_commutative", errf(C.MPI_ERR_OP, "invalid operation %d", op))
	}
	*commute = cbool(o.commute)
	return C.MPI_SUCCESS
}

//export MPI_Reduce_local
func MPI_Reduce_local(in C.pdvm_cbuf, inout unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op) C.int {
	bi, err := newBuf(unsafe.Pointer(in), count, dt)
	if err != nil {
		return ret(0, "MPI_Reduce_local", err)
	}
	f, _, err := combiner(op, dt, bi.t)
	if err != nil {
		return ret(0, "MPI_Reduce_local", err)
	}
	bo := buf{base: inout, count: bi.count, t: bi.t}
	acc, finish := bo.landing()
	copy(acc, bo.packed())
	err = f(acc, bi.packed())
	finish(len(acc))
	return ret(0, "MPI_Reduce_local", err)
}
