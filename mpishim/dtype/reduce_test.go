package dtype

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

var le = binary.LittleEndian

// validTable is the standard's table of which predefined op applies to
// which kind, spelled out independently of Valid's implementation.
func validTable(op Op, k Kind) bool {
	ints := map[Kind]bool{Int8: true, Uint8: true, Int16: true, Uint16: true, Int32: true, Uint32: true, Int64: true, Uint64: true}
	floats := map[Kind]bool{Float32: true, Float64: true, LongDouble: true}
	switch op {
	case Max, Min:
		return ints[k] || floats[k]
	case Sum, Prod:
		return ints[k] || floats[k] || k == Complex64 || k == Complex128 || k == LongDoubleComplex
	case Land, Lor, Lxor:
		return ints[k] || k == Bool
	case Band, Bor, Bxor:
		return ints[k] || k == Byte
	case Maxloc, Minloc:
		switch k {
		case FloatInt, DoubleInt, LongInt, TwoInt, ShortInt, LongDoubleInt:
			return true
		}
		return false
	case Replace, NoOp:
		return true
	}
	return false
}

func TestValid(t *testing.T) {
	for op := OpNull; op <= numOps; op++ {
		for k := Byte; k < numKinds; k++ {
			err := Valid(op, k)
			if want := validTable(op, k); (err == nil) != want || (err != nil && !errors.Is(err, ErrOp)) {
				t.Errorf("Valid(%v, %v) = %v, want valid=%v", op, k, err, want)
			}
		}
		if err := Valid(op, Invalid); !errors.Is(err, ErrArg) {
			t.Errorf("Valid(%v, invalid) = %v", op, err)
		}
	}
	if err := Valid(Sum, Char); err == nil || err.Error() != "dtype: MPI_SUM is not defined on char" {
		t.Errorf("Valid(Sum, Char) = %v", err)
	}
	if Sum.String() != "MPI_SUM" || NoOp.String() != "MPI_NO_OP" || Op(99).String() != "Op(99)" {
		t.Error("Op.String")
	}
}

// refReduce is the element-by-element reference: decode, combine in a
// wide type, truncate.
func refReduce(op Op, k Kind, inout, in []byte) {
	sz := k.Size()
	for p := 0; p < len(in); p += sz {
		a, b := inout[p:p+sz], in[p:p+sz]
		switch {
		case k.isInt() || k == Bool:
			signed := k == Int8 || k == Int16 || k == Int32 || k == Int64
			x, y := getInt(b, sz, signed), getInt(a, sz, signed)
			var r uint64
			switch op {
			case Sum:
				r = x + y
			case Prod:
				r = x * y
			case Max, Min:
				less := x < y
				if signed {
					less = int64(x) < int64(y)
				}
				if less == (op == Min) {
					r = x
				} else {
					r = y
				}
			case Land:
				r = b2u(x != 0 && y != 0)
			case Lor:
				r = b2u(x != 0 || y != 0)
			case Lxor:
				r = b2u((x != 0) != (y != 0))
			case Band:
				r = x & y
			case Bor:
				r = x | y
			case Bxor:
				r = x ^ y
			}
			putInt(a, sz, r)
		case k == Byte:
			switch op {
			case Band:
				a[0] &= b[0]
			case Bor:
				a[0] |= b[0]
			case Bxor:
				a[0] ^= b[0]
			}
		case k == Float32:
			x, y := math.Float32frombits(le.Uint32(b)), math.Float32frombits(le.Uint32(a))
			le.PutUint32(a, math.Float32bits(float32(combineF(op, float64(x), float64(y), true))))
		case k == Float64:
			x, y := math.Float64frombits(le.Uint64(b)), math.Float64frombits(le.Uint64(a))
			le.PutUint64(a, math.Float64bits(combineF(op, x, y, false)))
		case k == Complex128:
			x := complex(math.Float64frombits(le.Uint64(b)), math.Float64frombits(le.Uint64(b[8:])))
			y := complex(math.Float64frombits(le.Uint64(a)), math.Float64frombits(le.Uint64(a[8:])))
			r := x + y
			if op == Prod {
				r = x * y
			}
			le.PutUint64(a, math.Float64bits(real(r)))
			le.PutUint64(a[8:], math.Float64bits(imag(r)))
		case k == Complex64:
			f := func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }
			x, y := complex(f(b), f(b[4:])), complex(f(a), f(a[4:]))
			r := x + y
			if op == Prod {
				r = x * y
			}
			le.PutUint32(a, math.Float32bits(real(r)))
			le.PutUint32(a[4:], math.Float32bits(imag(r)))
		}
	}
}

func combineF(op Op, x, y float64, f32 bool) float64 {
	switch op {
	case Sum:
		if f32 {
			return float64(float32(x) + float32(y))
		}
		return x + y
	case Prod:
		if f32 {
			return float64(float32(x) * float32(y))
		}
		return x * y
	case Max:
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.NaN()
		}
		if x == y && x == 0 { // +0 beats -0
			return math.Copysign(0, float64(b2s(!math.Signbit(x) || !math.Signbit(y))))
		}
		return math.Max(x, y)
	case Min:
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.NaN()
		}
		return math.Min(x, y)
	}
	panic(op)
}

func b2u(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func b2s(v bool) int {
	if v {
		return 1
	}
	return -1
}

func getInt(b []byte, sz int, signed bool) uint64 {
	var u uint64
	for i := sz - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if signed && sz < 8 {
		shift := 64 - 8*uint(sz)
		u = uint64(int64(u<<shift) >> shift)
	}
	return u
}

func putInt(b []byte, sz int, u uint64) {
	for i := range sz {
		b[i] = byte(u >> (8 * i))
	}
}

// randElems fills a buffer with values that exercise each kind: small and
// extreme integers, floats with zeros of both signs, infinities and NaN.
func randElems(r *rand.Rand, k Kind, n int) []byte {
	b := make([]byte, n*k.Size())
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for p := 0; p < len(b); p += k.Size() {
		e := b[p : p+k.Size()]
		switch {
		case k == Float64 || k == Complex128:
			specials := []float64{0, math.Copysign(0, -1), 1, -2.5, math.Inf(1), math.NaN(), r.NormFloat64() * 1e3}
			for q := 0; q < len(e); q += 8 {
				le.PutUint64(e[q:], math.Float64bits(specials[r.IntN(len(specials))]))
			}
		case k == Float32 || k == Complex64:
			specials := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, float32(math.Inf(-1)), float32(math.NaN()), float32(r.NormFloat64())}
			for q := 0; q < len(e); q += 4 {
				le.PutUint32(e[q:], math.Float32bits(specials[r.IntN(len(specials))]))
			}
		case k.isInt() || k == Bool:
			if r.IntN(3) == 0 {
				clear(e)
				e[0] = byte(r.IntN(3))
			}
		}
	}
	return b
}

// TestReduceMatchesReference runs every valid (op, kind) pair on aligned
// and misaligned operands of several lengths and compares the bits with
// the reference.
func TestReduceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for op := Sum; op <= Bxor; op++ {
		for k := Byte; k < numKinds; k++ {
			if Valid(op, k) != nil || k == LongDouble || k == LongDoubleComplex {
				continue
			}
			for _, n := range []int{1, 7, 300, 1030} {
				for _, shift := range []int{0, 1, 3} {
					in, inout := randElems(r, k, n), randElems(r, k, n)
					want := bytes.Clone(inout)
					refReduce(op, k, want, in)
					bufA := make([]byte, len(in)+8)
					bufB := make([]byte, len(in)+8)
					a, b := bufA[shift:shift+len(in)], bufB[8-shift:8-shift+len(in)]
					copy(a, inout)
					copy(b, in)
					if err := Reduce(op, k, a, b); err != nil {
						t.Fatalf("%v %v: %v", op, k, err)
					}
					if !bytes.Equal(a, want) && !sameFloats(k, a, want) {
						t.Fatalf("%v %v n=%d shift=%d:\n got %x\nwant %x", op, k, n, shift, a, want)
					}
					if !bytes.Equal(b, in) {
						t.Fatalf("%v %v: in was modified", op, k)
					}
				}
			}
		}
	}
}

// sameFloats accepts NaNs with different payloads as equal.
func sameFloats(k Kind, a, b []byte) bool {
	w := 8
	switch k {
	case Float32, Complex64:
		w = 4
	case Float64, Complex128:
	default:
		return false
	}
	for p := 0; p < len(a); p += w {
		x, y := le.Uint64(append(bytes.Clone(a[p:p+w]), make([]byte, 8-w)...)), le.Uint64(append(bytes.Clone(b[p:p+w]), make([]byte, 8-w)...))
		if x == y {
			continue
		}
		var nx, ny bool
		if w == 4 {
			nx, ny = math.IsNaN(float64(math.Float32frombits(uint32(x)))), math.IsNaN(float64(math.Float32frombits(uint32(y))))
		} else {
			nx, ny = math.IsNaN(math.Float64frombits(x)), math.IsNaN(math.Float64frombits(y))
		}
		if !nx || !ny {
			return false
		}
	}
	return true
}

func f64s(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		le.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func i32s(v ...int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		le.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

func TestReduceValues(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name      string
		op        Op
		k         Kind
		inout, in []byte
		want      []byte
	}{
		{"sum float64", Sum, Float64, f64s(1, 2.5, -1), f64s(0.5, 2.5, 1), f64s(1.5, 5, 0)},
		{"max float64 NaN in in", Max, Float64, f64s(1, 2), f64s(nan, 1), f64s(nan, 2)},
		{"max float64 NaN in inout", Max, Float64, f64s(nan, -inf), f64s(1, -inf), f64s(nan, -inf)},
		{"min float64 zeros", Min, Float64, f64s(0), f64s(math.Copysign(0, -1)), f64s(math.Copysign(0, -1))},
		{"sum int32 wraps", Sum, Int32, i32s(math.MaxInt32, -5), i32s(1, 3), i32s(math.MinInt32, -2)},
		{"prod int32 wraps", Prod, Int32, i32s(1 << 30), i32s(4), i32s(0)},
		{"max int32", Max, Int32, i32s(-7, 3), i32s(-9, 4), i32s(-7, 4)},
		{"min uint32 is unsigned", Min, Uint32, i32s(-1, 2), i32s(5, -3), i32s(5, 2)},
		{"land int32", Land, Int32, i32s(0, 7, 3, 0), i32s(9, 5, 0, 0), i32s(0, 1, 0, 0)},
		{"lor int32", Lor, Int32, i32s(0, 7, 3, 0), i32s(9, 5, 0, 0), i32s(1, 1, 1, 0)},
		{"lxor int32", Lxor, Int32, i32s(0, 7, 3, 0), i32s(9, 5, 0, 0), i32s(1, 0, 1, 0)},
		{"lxor bool", Lxor, Bool, []byte{0, 2, 1, 0}, []byte{1, 1, 0, 0}, []byte{1, 0, 1, 0}},
		{"band byte", Band, Byte, []byte{0xf0, 0xff, 0x0f}, []byte{0x3c, 0x00, 0xff}, []byte{0x30, 0x00, 0x0f}},
		{"bxor int64", Bxor, Int64, f64s(0), []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"prod complex128", Prod, Complex128, f64s(1, 2), f64s(3, -1), f64s(5, 5)},
		{"sum complex128", Sum, Complex128, f64s(1, 2), f64s(3, -1), f64s(4, 1)},
		{"replace", Replace, Char, []byte("abc"), []byte("xyz"), []byte("xyz")},
		{"no op", NoOp, LongDouble, make([]byte, 16), bytes.Repeat([]byte{1}, 16), make([]byte, 16)},
		{"replace long double", Replace, LongDoubleInt, make([]byte, 20), bytes.Repeat([]byte{1}, 20), bytes.Repeat([]byte{1}, 20)},
		{"empty", Sum, Float64, nil, nil, nil},
	}
	for _, c := range cases {
		if err := Reduce(c.op, c.k, c.inout, c.in); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !bytes.Equal(c.inout, c.want) && !sameFloats(c.k, c.inout, c.want) {
			t.Errorf("%s: got %x, want %x", c.name, c.inout, c.want)
		}
	}
}

// pair packs a value (given as its bytes) and an index.
func pair(v []byte, idx int32) []byte { return append(bytes.Clone(v), i32s(idx)...) }

func TestLoc(t *testing.T) {
	d := func(v float64, i int32) []byte { return pair(f64s(v), i) }
	s := func(v int16, i int32) []byte { return pair([]byte{byte(v), byte(v >> 8)}, i) }
	cat := func(p ...[]byte) []byte { return bytes.Join(p, nil) }
	cases := []struct {
		name      string
		op        Op
		k         Kind
		inout, in []byte
		want      []byte
	}{
		{"maxloc larger in wins", Maxloc, DoubleInt, d(1, 5), d(2, 9), d(2, 9)},
		{"maxloc larger inout stays", Maxloc, DoubleInt, d(3, 5), d(2, 1), d(3, 5)},
		{"maxloc tie takes min index (in smaller)", Maxloc, DoubleInt, d(2, 5), d(2, 1), d(2, 1)},
		{"maxloc tie takes min index (inout smaller)", Maxloc, DoubleInt, d(2, 1), d(2, 5), d(2, 1)},
		{"minloc tie takes min index", Minloc, DoubleInt, d(-1, 8), d(-1, 3), d(-1, 3)},
		{"minloc smaller in wins", Minloc, DoubleInt, d(0, 0), d(-4, 7), d(-4, 7)},
		{"maxloc NaN never wins", Maxloc, DoubleInt, d(1, 1), d(math.NaN(), 0), d(1, 1)},
		{"minloc short_int packed", Minloc, ShortInt, cat(s(5, 1), s(-3, 2)), cat(s(4, 9), s(-3, -1)), cat(s(4, 9), s(-3, -1))},
		{"maxloc 2int negative", Maxloc, TwoInt, i32s(-5, 0, 7, 3), i32s(-6, 1, 7, 2), i32s(-5, 0, 7, 2)},
		{"maxloc long_int", Maxloc, LongInt, pair(f64s(0)[:8], 4), pair([]byte{1, 0, 0, 0, 0, 0, 0, 0x80}, 1), pair(f64s(0)[:8], 4)},
		{"minloc float_int", Minloc, FloatInt, pair([]byte{0, 0, 0x80, 0x3f}, 2), pair([]byte{0, 0, 0, 0x40}, 1), pair([]byte{0, 0, 0x80, 0x3f}, 2)},
	}
	for _, c := range cases {
		if err := Reduce(c.op, c.k, c.inout, c.in); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !bytes.Equal(c.inout, c.want) {
			t.Errorf("%s: got %x, want %x", c.name, c.inout, c.want)
		}
	}
}

func TestReduceErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		is   error
	}{
		{"sum on byte", Reduce(Sum, Byte, nil, nil), ErrOp},
		{"maxloc on double", Reduce(Maxloc, Float64, nil, nil), ErrOp},
		{"band on float", Reduce(Band, Float32, nil, nil), ErrOp},
		{"max on complex", Reduce(Max, Complex64, nil, nil), ErrOp},
		{"max on bool", Reduce(Max, Bool, nil, nil), ErrOp},
		{"any op on char", Reduce(Bor, Char, nil, nil), ErrOp},
		{"op null", Reduce(OpNull, Int32, nil, nil), ErrOp},
		{"invalid kind", Reduce(Sum, Invalid, nil, nil), ErrArg},
		{"length mismatch", Reduce(Sum, Int32, make([]byte, 8), make([]byte, 4)), ErrArg},
		{"partial element", Reduce(Sum, Int32, make([]byte, 6), make([]byte, 6)), ErrArg},
		{"long double sum", Reduce(Sum, LongDouble, make([]byte, 16), make([]byte, 16)), ErrUnsupported},
		{"long double maxloc", Reduce(Maxloc, LongDoubleInt, make([]byte, 20), make([]byte, 20)), ErrUnsupported},
		{"long double complex sum", Reduce(Sum, LongDoubleComplex, make([]byte, 32), make([]byte, 32)), ErrUnsupported},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.is)
		}
	}
}
