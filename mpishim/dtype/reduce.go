package dtype

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Op is a predefined MPI reduction operation.
type Op uint8

const (
	OpNull Op = iota
	Sum
	Prod
	Max
	Min
	Land
	Lor
	Lxor
	Band
	Bor
	Bxor
	Maxloc
	Minloc
	Replace // MPI_REPLACE, for accumulates: the result is the incoming value
	NoOp    // MPI_NO_OP: the result is the value already there
	numOps
)

var opNames = [numOps]string{
	"MPI_OP_NULL", "MPI_SUM", "MPI_PROD", "MPI_MAX", "MPI_MIN",
	"MPI_LAND", "MPI_LOR", "MPI_LXOR", "MPI_BAND", "MPI_BOR", "MPI_BXOR",
	"MPI_MAXLOC", "MPI_MINLOC", "MPI_REPLACE", "MPI_NO_OP",
}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Valid returns nil when MPI defines op on kind k, following the
// standard's groups: MAX and MIN on integers and reals; SUM and PROD also
// on complex; the logical ops on integers and C _Bool; the bitwise ops on
// integers and MPI_BYTE; MAXLOC and MINLOC on the pair kinds; REPLACE and
// NO_OP on anything. A long double passes here even though Reduce cannot
// compute it (ErrUnsupported), because MPI defines it.
func Valid(op Op, k Kind) error {
	if !k.valid() {
		return errorf(ErrArg, "%v on invalid kind %v", op, k)
	}
	var ok bool
	switch op {
	case Replace, NoOp:
		ok = true
	case Max, Min:
		ok = k.isInt() || k.isFloat()
	case Sum, Prod:
		ok = k.isInt() || k.isFloat() || k.isComplex()
	case Land, Lor, Lxor:
		ok = k.isInt() || k == Bool
	case Band, Bor, Bxor:
		ok = k.isInt() || k == Byte
	case Maxloc, Minloc:
		ok = k.isPair()
	default:
		return errorf(ErrOp, "%v is not a reduction operation", op)
	}
	if !ok {
		return errorf(ErrOp, "%v is not defined on %v", op, k)
	}
	return nil
}

// Reduce computes inout[i] = in[i] op inout[i] over packed elements of
// kind k (host byte order, any alignment), the operand order of an MPI user
// function, which only shows in the MAXLOC/MINLOC tie rule and for NaNs.
//
// Integer arithmetic wraps around. The logical ops yield 0 or 1 in the
// element type. MAX and MIN on floats follow Go's max and min: a NaN on
// either side gives NaN, and -0 is less than +0, so the result does not
// depend on the order operands meet in. MAXLOC and MINLOC compare values
// with > and <, keep inout's element when neither wins (so a NaN value
// never replaces anything), and on equal values take the smaller index,
// which makes them order-independent for non-NaN data too. Go multiplies
// complex64 values in float64 precision and rounds once, so a complex64
// product may differ in its last bit from C's float _Complex product.
func Reduce(op Op, k Kind, inout, in []byte) error {
	if err := Valid(op, k); err != nil {
		return err
	}
	if len(in) != len(inout) {
		return errorf(ErrArg, "reduce: operands of %d and %d bytes", len(in), len(inout))
	}
	if sz := k.Size(); len(in)%sz != 0 {
		return errorf(ErrArg, "reduce: %d bytes is not a whole number of %d-byte %v elements", len(in), sz, k)
	}
	switch op {
	case NoOp:
		return nil
	case Replace:
		copy(inout, in)
		return nil
	}
	if k == LongDouble || k == LongDoubleInt || k == LongDoubleComplex {
		return errorf(ErrUnsupported, "reduce: %v on %v", op, k)
	}
	if len(in) == 0 {
		return nil
	}
	switch op {
	case Band, Bor, Bxor:
		bitwise(op, inout, in)
		return nil
	case Maxloc:
		loc(true, k, inout, in)
		return nil
	case Minloc:
		loc(false, k, inout, in)
		return nil
	}
	switch k {
	case Int8:
		num[int8](op, inout, in)
	case Uint8, Bool:
		num[uint8](op, inout, in)
	case Int16:
		num[int16](op, inout, in)
	case Uint16:
		num[uint16](op, inout, in)
	case Int32:
		num[int32](op, inout, in)
	case Uint32:
		num[uint32](op, inout, in)
	case Int64:
		num[int64](op, inout, in)
	case Uint64:
		num[uint64](op, inout, in)
	case Float32:
		num[float32](op, inout, in)
	case Float64:
		num[float64](op, inout, in)
	case Complex64:
		if op == Sum { // complex addition is componentwise
			num[float32](op, inout, in)
		} else {
			cprod[complex64](inout, in)
		}
	case Complex128:
		if op == Sum {
			num[float64](op, inout, in)
		} else {
			cprod[complex128](inout, in)
		}
	}
	return nil
}

type number interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 |
		~float32 | ~float64
}

// views reinterprets packed bytes as elements when both operands are
// aligned for T, which is the usual case: Go allocations and C's malloc
// both are.
func views[T any](a, b []byte) ([]T, []T, bool) {
	var z T
	al := uintptr(unsafe.Alignof(z))
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(pa)%al != 0 || uintptr(pb)%al != 0 {
		return nil, nil, false
	}
	n := len(a) / int(unsafe.Sizeof(z))
	return unsafe.Slice((*T)(pa), n), unsafe.Slice((*T)(pb), n), true
}

func bytesOf[T any](s []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// stage is the element count of the aligned scratch arrays that misaligned
// operands are copied through; on the stack, so the slow path costs two
// memmoves per chunk and no allocation.
const stage = 256

func num[T number](op Op, inout, in []byte) {
	if a, b, ok := views[T](inout, in); ok {
		kernel(op, a, b)
		return
	}
	var ta, tb [stage]T
	for len(inout) > 0 {
		m := min(stage, len(inout)/len(bytesOf(ta[:1])))
		nb := copy(bytesOf(ta[:m]), inout)
		copy(bytesOf(tb[:m]), in)
		kernel(op, ta[:m], tb[:m])
		copy(inout, bytesOf(ta[:m]))
		inout, in = inout[nb:], in[nb:]
	}
}

// kernel computes a[i] = b[i] op a[i]: a is inout, b is in.
func kernel[T number](op Op, a, b []T) {
	b = b[:len(a)]
	switch op {
	case Sum:
		for i := range a {
			a[i] = b[i] + a[i]
		}
	case Prod:
		for i := range a {
			a[i] = b[i] * a[i]
		}
	case Max:
		for i := range a {
			a[i] = max(b[i], a[i])
		}
	case Min:
		for i := range a {
			a[i] = min(b[i], a[i])
		}
	case Land:
		for i := range a {
			a[i] = truth[T](b[i] != 0 && a[i] != 0)
		}
	case Lor:
		for i := range a {
			a[i] = truth[T](b[i] != 0 || a[i] != 0)
		}
	case Lxor:
		for i := range a {
			a[i] = truth[T]((b[i] != 0) != (a[i] != 0))
		}
	}
}

func truth[T number](v bool) T {
	if v {
		return 1
	}
	return 0
}

func cprod[T complex64 | complex128](inout, in []byte) {
	if a, b, ok := views[T](inout, in); ok {
		ckernel(a, b)
		return
	}
	var ta, tb [stage]T
	for len(inout) > 0 {
		m := min(stage, len(inout)/len(bytesOf(ta[:1])))
		nb := copy(bytesOf(ta[:m]), inout)
		copy(bytesOf(tb[:m]), in)
		ckernel(ta[:m], tb[:m])
		copy(inout, bytesOf(ta[:m]))
		inout, in = inout[nb:], in[nb:]
	}
}

func ckernel[T complex64 | complex128](a, b []T) {
	b = b[:len(a)]
	for i := range a {
		a[i] = b[i] * a[i]
	}
}

// bitwise works on bytes whatever the element size, since the result of a
// bitwise op does not depend on how bytes group into integers; eight at a
// time through unaligned word loads.
func bitwise(op Op, inout, in []byte) {
	ne := binary.NativeEndian
	in = in[:len(inout)]
	for len(inout) >= 8 {
		x, y := ne.Uint64(in), ne.Uint64(inout)
		switch op {
		case Band:
			y &= x
		case Bor:
			y |= x
		case Bxor:
			y ^= x
		}
		ne.PutUint64(inout, y)
		inout, in = inout[8:], in[8:]
	}
	for i := range inout {
		switch op {
		case Band:
			inout[i] &= in[i]
		case Bor:
			inout[i] |= in[i]
		case Bxor:
			inout[i] ^= in[i]
		}
	}
}

// loc does MAXLOC/MINLOC on packed pairs: the value, then a C int index.
func loc(isMax bool, k Kind, inout, in []byte) {
	switch k {
	case FloatInt:
		locT[float32](isMax, inout, in)
	case DoubleInt:
		locT[float64](isMax, inout, in)
	case LongInt:
		locT[int64](isMax, inout, in)
	case TwoInt:
		locT[int32](isMax, inout, in)
	case ShortInt:
		locT[int16](isMax, inout, in)
	}
}

func locT[T number](isMax bool, inout, in []byte) {
	var z T
	vs := int(unsafe.Sizeof(z))
	es := vs + 4
	ne := binary.NativeEndian
	for p := 0; p+es <= len(inout); p += es {
		x, y := load[T](in[p:]), load[T](inout[p:])
		if isMax && x > y || !isMax && x < y {
			copy(inout[p:p+es], in[p:p+es])
		} else if x == y {
			xi, yi := int32(ne.Uint32(in[p+vs:])), int32(ne.Uint32(inout[p+vs:]))
			ne.PutUint32(inout[p+vs:], uint32(min(xi, yi)))
		}
	}
}

// load reads one possibly misaligned T.
func load[T number](b []byte) T {
	var v T
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v)), b)
	return v
}
