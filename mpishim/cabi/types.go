package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim/dtype"
)

// predefinedTypes lists mpi.h's basic datatypes by handle.
var predefinedTypes = [...]struct {
	kind dtype.Kind
	name string
}{
	C.MPI_CHAR:                  {dtype.Char, "MPI_CHAR"},
	C.MPI_SIGNED_CHAR:           {dtype.Int8, "MPI_SIGNED_CHAR"},
	C.MPI_UNSIGNED_CHAR:         {dtype.Uint8, "MPI_UNSIGNED_CHAR"},
	C.MPI_BYTE:                  {dtype.Byte, "MPI_BYTE"},
	C.MPI_WCHAR:                 {dtype.Int32, "MPI_WCHAR"},
	C.MPI_SHORT:                 {dtype.Int16, "MPI_SHORT"},
	C.MPI_UNSIGNED_SHORT:        {dtype.Uint16, "MPI_UNSIGNED_SHORT"},
	C.MPI_INT:                   {dtype.Int32, "MPI_INT"},
	C.MPI_UNSIGNED:              {dtype.Uint32, "MPI_UNSIGNED"},
	C.MPI_LONG:                  {dtype.Int64, "MPI_LONG"},
	C.MPI_UNSIGNED_LONG:         {dtype.Uint64, "MPI_UNSIGNED_LONG"},
	C.MPI_LONG_LONG_INT:         {dtype.Int64, "MPI_LONG_LONG_INT"},
	C.MPI_UNSIGNED_LONG_LONG:    {dtype.Uint64, "MPI_UNSIGNED_LONG_LONG"},
	C.MPI_FLOAT:                 {dtype.Float32, "MPI_FLOAT"},
	C.MPI_DOUBLE:                {dtype.Float64, "MPI_DOUBLE"},
	C.MPI_LONG_DOUBLE:           {dtype.LongDouble, "MPI_LONG_DOUBLE"},
	C.MPI_C_BOOL:                {dtype.Bool, "MPI_C_BOOL"},
	C.MPI_INT8_T:                {dtype.Int8, "MPI_INT8_T"},
	C.MPI_INT16_T:               {dtype.Int16, "MPI_INT16_T"},
	C.MPI_INT32_T:               {dtype.Int32, "MPI_INT32_T"},
	C.MPI_INT64_T:               {dtype.Int64, "MPI_INT64_T"},
	C.MPI_UINT8_T:               {dtype.Uint8, "MPI_UINT8_T"},
	C.MPI_UINT16_T:              {dtype.Uint16, "MPI_UINT16_T"},
	C.MPI_UINT32_T:              {dtype.Uint32, "MPI_UINT32_T"},
	C.MPI_UINT64_T:              {dtype.Uint64, "MPI_UINT64_T"},
	C.MPI_C_FLOAT_COMPLEX:       {dtype.Complex64, "MPI_C_FLOAT_COMPLEX"},
	C.MPI_C_DOUBLE_COMPLEX:      {dtype.Complex128, "MPI_C_DOUBLE_COMPLEX"},
	C.MPI_AINT:                  {dtype.Int64, "MPI_AINT"},
	C.MPI_OFFSET:                {dtype.Int64, "MPI_OFFSET"},
	C.MPI_COUNT:                 {dtype.Int64, "MPI_COUNT"},
	C.MPI_PACKED:                {dtype.Byte, "MPI_PACKED"},
	C.MPI_FLOAT_INT:             {dtype.FloatInt, "MPI_FLOAT_INT"},
	C.MPI_DOUBLE_INT:            {dtype.DoubleInt, "MPI_DOUBLE_INT"},
	C.MPI_LONG_INT:              {dtype.LongInt, "MPI_LONG_INT"},
	C.MPI_2INT:                  {dtype.TwoInt, "MPI_2INT"},
	C.MPI_SHORT_INT:             {dtype.ShortInt, "MPI_SHORT_INT"},
	C.MPI_LONG_DOUBLE_INT:       {dtype.LongDoubleInt, "MPI_LONG_DOUBLE_INT"},
	C.MPI_C_LONG_DOUBLE_COMPLEX: {dtype.LongDoubleComplex, "MPI_C_LONG_DOUBLE_COMPLEX"},
}

func init() {
	for h, p := range predefinedTypes {
		if h > 0 {
			state.types.predefine(int32(h), &typeObj{t: dtype.Basic(p.kind), committed: true, name: p.name})
		}
	}
}

// typeOf returns the committed datatype behind h.
func typeOf(h C.MPI_Datatype) (*dtype.Type, error) {
	to := state.types.get(int32(h))
	switch {
	case to == nil:
		return nil, errf(C.MPI_ERR_TYPE, "invalid datatype %d", h)
	case !to.committed:
		return nil, errf(C.MPI_ERR_TYPE, "datatype %d is not committed (MPI_Type_commit)", h)
	}
	return to.t, nil
}

// anyType returns the datatype behind h, committed or not, for the
// constructors and queries that accept both.
func anyType(h C.MPI_Datatype) (*dtype.Type, error) {
	to := state.types.get(int32(h))
	if to == nil {
		return nil, errf(C.MPI_ERR_TYPE, "invalid datatype %d", h)
	}
	return to.t, nil
}

// buf is count elements of datatype t at base in the user's memory.
type buf struct {
	base  unsafe.Pointer
	count int
	t     *dtype.Type
}

func newBuf(base unsafe.Pointer, count C.int, h C.MPI_Datatype) (buf, error) {
	if count < 0 {
		return buf{}, errf(C.MPI_ERR_COUNT, "negative count %d", count)
	}
	t, err := typeOf(h)
	if err != nil {
		return buf{}, err
	}
	return buf{base: base, count: int(count), t: t}, nil
}

func (b buf) size() int { return b.count * int(b.t.Size()) }

// memory is the user's bytes when the data is contiguous in them.
func (b buf) memory() ([]byte, bool) {
	if !b.t.Contig() {
		return nil, false
	}
	n := b.size()
	if n == 0 || b.base == nil {
		return nil, n == 0
	}
	return unsafe.Slice((*byte)(b.base), n), true
}

// packed returns the data to send: the user's memory itself when it is
// contiguous, else a packed copy.
func (b buf) packed() []byte {
	if m, ok := b.memory(); ok {
		return m
	}
	out := make([]byte, b.size())
	b.t.Pack(out, b.base, b.count)
	return out
}

// landing returns where received data should go and a function that
// moves n received bytes into place: the user's memory needs nothing.
func (b buf) landing() ([]byte, func(n int)) {
	if m, ok := b.memory(); ok {
		return m, func(int) {}
	}
	tmp := make([]byte, b.size())
	return tmp, func(n int) { b.t.Unpack(tmp[:min(n, len(tmp))], b.base, b.count) }
}

func newType(fn string, t *dtype.Type, err error, env *typeEnv, out *C.MPI_Datatype) C.int {
	if err != nil {
		return ret(0, fn, err)
	}
	*out = C.MPI_Datatype(state.types.add(&typeObj{t: t, env: env}))
	return C.MPI_SUCCESS
}

func ints(p *C.int, n C.int) []int {
	if n <= 0 || p == nil {
		return nil
	}
	cs := unsafe.Slice(p, int(n))
	out := make([]int, n)
	for i, v := range cs {
		out[i] = int(v)
	}
	return out
}

func aints(p *C.MPI_Aint, n C.int) []int64 {
	if n <= 0 || p == nil {
		return nil
	}
	cs := unsafe.Slice(p, int(n))
	out := make([]int64, n)
	for i, v := range cs {
		out[i] = int64(v)
	}
	return out
}

//export MPI_Type_contiguous
func MPI_Type_contiguous(count C.int, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.Contiguous(int(count), t)
	}
	return newType("MPI_Type_contiguous", t, err, newEnv(C.MPI_COMBINER_CONTIGUOUS, []C.int{count}, nil, old), out)
}

//export MPI_Type_vector
func MPI_Type_vector(count, blocklen, stride C.int, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.Vector(int(count), int(blocklen), int(stride), t)
	}
	return newType("MPI_Type_vector", t, err, newEnv(C.MPI_COMBINER_VECTOR, []C.int{count, blocklen, stride}, nil, old), out)
}

//export MPI_Type_create_hvector
func MPI_Type_create_hvector(count, blocklen C.int, stride C.MPI_Aint, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.Hvector(int(count), int(blocklen), int64(stride), t)
	}
	return newType("MPI_Type_create_hvector", t, err, newEnv(C.MPI_COMBINER_HVECTOR, []C.int{count, blocklen}, []C.MPI_Aint{stride}, old), out)
}

//export MPI_Type_indexed
func MPI_Type_indexed(count C.int, blocklens, displs C.pdvm_cints, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.Indexed(ints(blocklens, count), ints(displs, count), t)
	}
	return newType("MPI_Type_indexed", t, err,
		newEnv(C.MPI_COMBINER_INDEXED, append(append([]C.int{count}, cInts(blocklens, count)...), cInts(displs, count)...), nil, old), out)
}

//export MPI_Type_create_hindexed
func MPI_Type_create_hindexed(count C.int, blocklens C.pdvm_cints, displs C.pdvm_caints, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.Hindexed(ints(blocklens, count), aints(displs, count), t)
	}
	return newType("MPI_Type_create_hindexed", t, err,
		newEnv(C.MPI_COMBINER_HINDEXED, append([]C.int{count}, cInts(blocklens, count)...), cAints(displs, count), old), out)
}

//export MPI_Type_create_indexed_block
func MPI_Type_create_indexed_block(count, blocklen C.int, displs C.pdvm_cints, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.IndexedBlock(int(blocklen), ints(displs, count), t)
	}
	return newType("MPI_Type_create_indexed_block", t, err,
		newEnv(C.MPI_COMBINER_INDEXED_BLOCK, append([]C.int{count, blocklen}, cInts(displs, count)...), nil, old), out)
}

//export MPI_Type_create_hindexed_block
func MPI_Type_create_hindexed_block(count, blocklen C.int, displs C.pdvm_caints, old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.HindexedBlock(int(blocklen), aints(displs, count), t)
	}
	return newType("MPI_Type_create_hindexed_block", t, err,
		newEnv(C.MPI_COMBINER_HINDEXED_BLOCK, []C.int{count, blocklen}, cAints(displs, count), old), out)
}

//export MPI_Type_create_struct
func MPI_Type_create_struct(count C.int, blocklens C.pdvm_cints, displs C.pdvm_caints, types C.pdvm_ctypes, out *C.MPI_Datatype) C.int {
	if count < 0 {
		return ret(0, "MPI_Type_create_struct", errf(C.MPI_ERR_COUNT, "negative count %d", count))
	}
	ts := make([]*dtype.Type, count)
	if count > 0 {
		for i, h := range unsafe.Slice(types, int(count)) {
			t, err := anyType(h)
			if err != nil {
				return ret(0, "MPI_Type_create_struct", err)
			}
			ts[i] = t
		}
	}
	t, err := dtype.Struct(ints(blocklens, count), aints(displs, count), ts)
	return newType("MPI_Type_create_struct", t, err,
		newEnv(C.MPI_COMBINER_STRUCT, append([]C.int{count}, cInts(blocklens, count)...), cAints(displs, count), cTypes(types, count)...), out)
}

//export MPI_Type_create_resized
func MPI_Type_create_resized(old C.MPI_Datatype, lb, extent C.MPI_Aint, out *C.MPI_Datatype) C.int {
	t, err := anyType(old)
	if err == nil {
		t, err = dtype.Resized(t, int64(lb), int64(extent))
	}
	return newType("MPI_Type_create_resized", t, err, newEnv(C.MPI_COMBINER_RESIZED, nil, []C.MPI_Aint{lb, extent}, old), out)
}

//export MPI_Type_dup
func MPI_Type_dup(old C.MPI_Datatype, out *C.MPI_Datatype) C.int {
	to := state.types.get(int32(old))
	if to == nil {
		return ret(0, "MPI_Type_dup", errf(C.MPI_ERR_TYPE, "invalid datatype %d", old))
	}
	dup := *to
	dup.env = newEnv(C.MPI_COMBINER_DUP, nil, nil, old)
	*out = C.MPI_Datatype(state.types.add(&dup))
	return C.MPI_SUCCESS
}

//export MPI_Type_commit
func MPI_Type_commit(h *C.MPI_Datatype) C.int {
	to := state.types.get(int32(*h))
	if to == nil {
		return ret(0, "MPI_Type_commit", errf(C.MPI_ERR_TYPE, "invalid datatype %d", *h))
	}
	to.committed = true
	return C.MPI_SUCCESS
}

//export MPI_Type_free
func MPI_Type_free(h *C.MPI_Datatype) C.int {
	if state.types.get(int32(*h)) == nil || int32(*h) < state.types.fixed {
		return ret(0, "MPI_Type_free", errf(C.MPI_ERR_TYPE, "datatype %d is not a derived datatype", *h))
	}
	state.types.del(int32(*h))
	*h = C.MPI_DATATYPE_NULL
	return C.MPI_SUCCESS
}

//export MPI_Type_size
func MPI_Type_size(h C.MPI_Datatype, size *C.int) C.int {
	t, err := anyType(h)
	if err != nil {
		return ret(0, "MPI_Type_size", err)
	}
	*size = C.int(t.Size())
	return C.MPI_SUCCESS
}

//export MPI_Type_size_x
func MPI_Type_size_x(h C.MPI_Datatype, size *C.MPI_Count) C.int {
	t, err := anyType(h)
	if err != nil {
		return ret(0, "MPI_Type_size_x", err)
	}
	*size = C.MPI_Count(t.Size())
	return C.MPI_SUCCESS
}

//export MPI_Type_get_extent
func MPI_Type_get_extent(h C.MPI_Datatype, lb, extent *C.MPI_Aint) C.int {
	t, err := anyType(h)
	if err != nil {
		return ret(0, "MPI_Type_get_extent", err)
	}
	*lb, *extent = C.MPI_Aint(t.LB()), C.MPI_Aint(t.Extent())
	return C.MPI_SUCCESS
}

//export MPI_Type_get_extent_x
func MPI_Type_get_extent_x(h C.MPI_Datatype, lb, extent *C.MPI_Count) C.int {
	t, err := anyType(h)
	if err != nil {
		return ret(0, "MPI_Type_get_extent_x", err)
	}
	*lb, *extent = C.MPI_Count(t.LB()), C.MPI_Count(t.Extent())
	return C.MPI_SUCCESS
}

//export MPI_Type_get_true_extent
func MPI_Type_get_true_extent(h C.MPI_Datatype, lb, extent *C.MPI_Aint) C.int {
	t, err := anyType(h)
	if err != nil {
		return ret(0, "MPI_Type_get_true_extent", err)
	}
	*lb, *extent = C.MPI_Aint(t.TrueLB()), C.MPI_Aint(t.TrueExtent())
	return C.MPI_SUCCESS
}

//export MPI_Type_get_true_extent_x
func MPI_Type_get_true_extent_x(h C.MPI_Datatype, lb, extent *C.MPI_Count) C.int {
	t, err := anyType(h)
	if err != nil {
		return ret(0, "MPI_Type_get_true_extent_x", err)
	}
	*lb, *extent = C.MPI_Count(t.TrueLB()), C.MPI_Count(t.TrueExtent())
	return C.MPI_SUCCESS
}

//export MPI_Type_set_name
func MPI_Type_set_name(h C.MPI_Datatype, name C.pdvm_cstr) C.int {
	to := state.types.get(int32(h))
	if to == nil {
		return ret(0, "MPI_Type_set_name", errf(C.MPI_ERR_TYPE, "invalid datatype %d", h))
	}
	to.name = C.GoString(name)
	return C.MPI_SUCCESS
}

//export MPI_Type_get_name
func MPI_Type_get_name(h C.MPI_Datatype, name *C.char, resultlen *C.int) C.int {
	to := state.types.get(int32(h))
	if to == nil {
		return ret(0, "MPI_Type_get_name", errf(C.MPI_ERR_TYPE, "invalid datatype %d", h))
	}
	*resultlen = C.int(putString(name, to.name, C.MPI_MAX_OBJECT_NAME))
	return C.MPI_SUCCESS
}

//export MPI_Pack
func MPI_Pack(in C.pdvm_cbuf, count C.int, h C.MPI_Datatype, out unsafe.Pointer, outsize C.int, pos *C.int, comm C.MPI_Comm) C.int {
	b, err := newBuf(unsafe.Pointer(in), count, h)
	if err != nil {
		return ret(comm, "MPI_Pack", err)
	}
	n := b.size()
	if *pos < 0 || int(*pos)+n > int(outsize) {
		return ret(comm, "MPI_Pack", errf(C.MPI_ERR_TRUNCATE, "%d bytes at position %d do not fit in %d", n, *pos, outsize))
	}
	if n > 0 {
		b.t.Pack(unsafe.Slice((*byte)(out), int(outsize))[*pos:int(*pos)+n], b.base, b.count)
	}
	*pos += C.int(n)
	return C.MPI_SUCCESS
}

//export MPI_Unpack
func MPI_Unpack(in C.pdvm_cbuf, insize C.int, pos *C.int, out unsafe.Pointer, count C.int, h C.MPI_Datatype, comm C.MPI_Comm) C.int {
	b, err := newBuf(out, count, h)
	if err != nil {
		return ret(comm, "MPI_Unpack", err)
	}
	n := b.size()
	if *pos < 0 || int(*pos)+n > int(insize) {
		return ret(comm, "MPI_Unpack", errf(C.MPI_ERR_TRUNCATE, "%d bytes at position %d run past the %d packed", n, *pos, insize))
	}
	if n > 0 {
		b.t.Unpack(unsafe.Slice((*byte)(unsafe.Pointer(in)), int(insize))[*pos:int(*pos)+n], b.base, b.count)
	}
	*pos += C.int(n)
	return C.MPI_SUCCESS
}

//export MPI_Pack_size
func MPI_Pack_size(count C.int, h C.MPI_Datatype, comm C.MPI_Comm, size *C.int) C.int {
	t, err := typeOf(h)
	if err == nil && count < 0 {
		err = errf(C.MPI_ERR_COUNT, "negative count %d", count)
	}
	if err != nil {
		return ret(comm, "MPI_Pack_size", err)
	}
	*size = count * C.int(t.Size())
	return C.MPI_SUCCESS
}
