package dtype

import "fmt"

// Kind is a basic element kind of the C ABI on linux/amd64 (LP64).
type Kind uint8

const (
	Invalid Kind = iota
	Byte         // MPI_BYTE, MPI_PACKED: opaque bytes, bitwise ops only
	Char         // C char: only MPI_REPLACE and MPI_NO_OP apply to it
	Int8
	Uint8
	Int16
	Uint16
	Int32
	Uint32
	Int64
	Uint64
	Float32
	Float64
	LongDouble // x87 80-bit extended in 16 bytes; Go cannot do its arithmetic
	Complex64
	Complex128
	Bool // C _Bool

	// Pair kinds of MPI_MAXLOC and MPI_MINLOC: a value and a C int index,
	// laid out in memory as the C struct, padding included.
	FloatInt      // struct{float; int}
	DoubleInt     // struct{double; int}
	LongInt       // struct{long; int}
	TwoInt        // struct{int; int}
	ShortInt      // struct{short; int}
	LongDoubleInt // struct{long double; int}

	// LongDoubleComplex is C's long double _Complex: two x87 values in 32
	// bytes. Added last so that existing kind numbers stay put.
	LongDoubleComplex

	numKinds
)

// kindInfo describes a kind as C lays it out. Pair kinds pack without their
// padding, so their packed size differs from their extent in memory.
type kindInfo struct {
	name   string
	size   int64 // packed bytes
	extent int64 // bytes one element spans in memory
	align  int64
	vsize  int64 // pairs: bytes of the value member
	ioff   int64 // pairs: offset of the int member in memory
}

var kinds = [numKinds]kindInfo{
	Invalid:       {name: "invalid"},
	Byte:          {"byte", 1, 1, 1, 0, 0},
	Char:          {"char", 1, 1, 1, 0, 0},
	Int8:          {"int8", 1, 1, 1, 0, 0},
	Uint8:         {"uint8", 1, 1, 1, 0, 0},
	Int16:         {"int16", 2, 2, 2, 0, 0},
	Uint16:        {"uint16", 2, 2, 2, 0, 0},
	Int32:         {"int32", 4, 4, 4, 0, 0},
	Uint32:        {"uint32", 4, 4, 4, 0, 0},
	Int64:         {"int64", 8, 8, 8, 0, 0},
	Uint64:        {"uint64", 8, 8, 8, 0, 0},
	Float32:       {"float32", 4, 4, 4, 0, 0},
	Float64:       {"float64", 8, 8, 8, 0, 0},
	LongDouble:    {"long double", 16, 16, 16, 0, 0},
	Complex64:     {"complex64", 8, 8, 4, 0, 0},
	Complex128:    {"complex128", 16, 16, 8, 0, 0},
	Bool:          {"bool", 1, 1, 1, 0, 0},
	FloatInt:      {"float_int", 8, 8, 4, 4, 4},
	DoubleInt:     {"double_int", 12, 16, 8, 8, 8},
	LongInt:       {"long_int", 12, 16, 8, 8, 8},
	TwoInt:        {"2int", 8, 8, 4, 4, 4},
	ShortInt:      {"short_int", 6, 8, 4, 2, 4},
	LongDoubleInt: {"long_double_int", 20, 32, 16, 16, 16},

	LongDoubleComplex: {"long double complex", 32, 32, 16, 0, 0},
}

func (k Kind) valid() bool { return k > Invalid && k < numKinds }

// Size is the number of bytes one element takes in packed data; for a pair
// kind that is the value and the index without the struct's padding.
func (k Kind) Size() int {
	if !k.valid() {
		return 0
	}
	return int(kinds[k].size)
}

func (k Kind) String() string {
	if k < numKinds {
		return kinds[k].name
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) isInt() bool     { return k >= Int8 && k <= Uint64 }
func (k Kind) isFloat() bool   { return k == Float32 || k == Float64 || k == LongDouble }
func (k Kind) isComplex() bool { return k == Complex64 || k == Complex128 || k == LongDoubleComplex }
func (k Kind) isPair() bool    { return k >= FloatInt && k <= LongDoubleInt }

// basicElems is how many MPI basic elements one k holds: the standard
// defines each pair type as a two-member struct, so MPI_Get_elements
// counts its value and its index separately.
func (k Kind) basicElems() int64 {
	if k.isPair() {
		return 2
	}
	return 1
}
