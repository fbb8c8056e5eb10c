package dtype

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// mk returns a helper that unwraps a constructor's result.
func mk(t *testing.T) func(*Type, error) *Type {
	return func(ty *Type, err error) *Type {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ty
	}
}

func TestBasicLayout(t *testing.T) {
	cases := []struct {
		k                      Kind
		size, ext, text, align int64
	}{
		{Byte, 1, 1, 1, 1}, {Char, 1, 1, 1, 1}, {Int8, 1, 1, 1, 1}, {Uint8, 1, 1, 1, 1},
		{Int16, 2, 2, 2, 2}, {Uint16, 2, 2, 2, 2}, {Int32, 4, 4, 4, 4}, {Uint32, 4, 4, 4, 4},
		{Int64, 8, 8, 8, 8}, {Uint64, 8, 8, 8, 8}, {Float32, 4, 4, 4, 4}, {Float64, 8, 8, 8, 8},
		{LongDouble, 16, 16, 16, 16}, {Complex64, 8, 8, 8, 4}, {Complex128, 16, 16, 16, 8},
		{Bool, 1, 1, 1, 1},
		{FloatInt, 8, 8, 8, 4}, {DoubleInt, 12, 16, 12, 8}, {LongInt, 12, 16, 12, 8},
		{TwoInt, 8, 8, 8, 4}, {ShortInt, 6, 8, 8, 4}, {LongDoubleInt, 20, 32, 20, 16},
		{LongDoubleComplex, 32, 32, 32, 16},
	}
	if len(cases) != int(numKinds)-1 {
		t.Fatalf("table covers %d kinds of %d", len(cases), numKinds-1)
	}
	for _, c := range cases {
		ty := Basic(c.k)
		if int64(c.k.Size()) != c.size || ty.Size() != c.size || ty.LB() != 0 || ty.Extent() != c.ext ||
			ty.TrueLB() != 0 || ty.TrueExtent() != c.text || ty.align != c.align {
			t.Errorf("%v: size %d extent %d true extent %d align %d", c.k, ty.Size(), ty.Extent(), ty.TrueExtent(), ty.align)
		}
		if k, ok := ty.Elem(); k != c.k || !ok {
			t.Errorf("%v: Elem %v %v", c.k, k, ok)
		}
		if ty.Contig() != (c.size == c.ext) {
			t.Errorf("%v: Contig %v", c.k, ty.Contig())
		}
		if Basic(c.k) != ty {
			t.Errorf("%v: Basic returns a new type each time", c.k)
		}
	}
	if Basic(Invalid) != nil || Basic(numKinds) != nil {
		t.Error("Basic of an invalid kind is not nil")
	}
	if Invalid.Size() != 0 || Kind(200).String() != "Kind(200)" || DoubleInt.String() != "double_int" {
		t.Error("invalid kind Size or String")
	}
}

// TestPairPacking checks that a pair packs as value then index, without the
// struct's padding, and that ShortInt skips its hole.
func TestPairPacking(t *testing.T) {
	type shortInt struct {
		v int16
		i int32
	}
	type doubleInt struct {
		v float64
		i int32
	}
	si := []shortInt{{-2, 7}, {300, -1}}
	di := []doubleInt{{1.5, 3}, {-0.25, 9}}
	if unsafe.Sizeof(si[0]) != 8 || unsafe.Sizeof(di[0]) != 16 {
		t.Skip("not the LP64 struct layout")
	}
	got := make([]byte, 12)
	Basic(ShortInt).Pack(got, unsafe.Pointer(&si[0]), 2)
	want := []byte{0xfe, 0xff, 7, 0, 0, 0, 0x2c, 0x01, 0xff, 0xff, 0xff, 0xff}
	if string(got) != string(want) {
		t.Errorf("ShortInt packed %x, want %x", got, want)
	}
	got = make([]byte, 24)
	Basic(DoubleInt).Pack(got, unsafe.Pointer(&di[0]), 2)
	back := make([]doubleInt, 2)
	Basic(DoubleInt).Unpack(got, unsafe.Pointer(&back[0]), 2)
	if back[0] != di[0] || back[1] != di[1] {
		t.Errorf("DoubleInt round trip %v", back)
	}
}

func TestConstructedLayout(t *testing.T) {
	m := mk(t)
	dbl, i32, ch := Basic(Float64), Basic(Int32), Basic(Char)
	sdc := m(Struct([]int{1, 1}, []int64{0, 8}, []*Type{dbl, ch}))
	cases := []struct {
		name          string
		ty            *Type
		size, lb, ext int64
		tlb, text     int64
		contig        bool
		elem          Kind
	}{
		{"struct{double,char} pads to 16", sdc, 9, 0, 16, 0, 9, false, Invalid},
		{"struct{int[4],char} pads to 20",
			m(Struct([]int{4, 1}, []int64{0, 16}, []*Type{i32, ch})), 17, 0, 20, 0, 17, false, Invalid},
		{"struct{char,short} pads to 4",
			m(Struct([]int{1, 1}, []int64{0, 2}, []*Type{ch, Basic(Int16)})), 3, 0, 4, 0, 4, false, Invalid},
		{"struct{char@1,double@9} rounds the extent, not ub",
			m(Struct([]int{1, 1}, []int64{1, 9}, []*Type{ch, dbl})), 9, 1, 16, 1, 16, false, Invalid},
		{"struct{int,float} is one run",
			m(Struct([]int{1, 1}, []int64{0, 4}, []*Type{i32, Basic(Float32)})), 8, 0, 8, 0, 8, true, Invalid},
		{"resized struct to its size",
			m(Resized(sdc, 0, 9)), 9, 0, 9, 0, 9, true, Invalid},
		{"no padding above a resized type",
			m(Contiguous(3, m(Resized(sdc, 0, 12)))), 27, 0, 36, 0, 33, false, Invalid},
		{"struct with a resized member is not padded",
			m(Struct([]int{1, 1}, []int64{0, 8}, []*Type{m(Resized(i32, 0, 8)), ch})), 5, 0, 9, 0, 9, false, Invalid},
		{"resized with negative lb",
			m(Resized(dbl, -4, 16)), 8, -4, 16, 0, 8, false, Float64},
		{"resized: data at base, copies abut",
			m(Resized(dbl, -8, 8)), 8, -8, 8, 0, 8, true, Float64},
		{"vector", m(Vector(3, 2, 4, dbl)), 48, 0, 80, 0, 80, false, Float64},
		{"vector stride==blocklen", m(Vector(3, 2, 2, dbl)), 48, 0, 48, 0, 48, true, Float64},
		{"vector negative stride", m(Vector(3, 1, -2, i32)), 12, -16, 20, -16, 20, false, Int32},
		{"vector of padded structs", m(Vector(2, 1, 2, sdc)), 18, 0, 48, 0, 41, false, Invalid},
		{"hvector rounds to alignment", m(Hvector(2, 1, 12, dbl)), 16, 0, 24, 0, 20, false, Float64},
		{"hvector negative stride", m(Hvector(2, 2, -24, i32)), 16, -24, 32, -24, 32, false, Int32},
		{"indexed", m(Indexed([]int{2, 1}, []int{3, 0}, i32)), 12, 0, 20, 0, 20, false, Int32},
		{"indexed with empty block", m(Indexed([]int{0, 1}, []int{-50, 2}, i32)), 4, 8, 4, 8, 4, false, Int32},
		{"hindexed negative", m(Hindexed([]int{1, 1}, []int64{-16, 8}, dbl)), 16, -16, 32, -16, 32, false, Float64},
		{"indexed_block", m(IndexedBlock(2, []int{1, -2}, Basic(Int16))), 8, -4, 10, -4, 10, false, Int16},
		{"hindexed_block unaligned", m(HindexedBlock(1, []int64{3, 0}, i32)), 8, 0, 8, 0, 7, false, Int32},
		{"empty contiguous", m(Contiguous(0, dbl)), 0, 0, 0, 0, 0, true, Float64},
		{"empty vector", m(Vector(4, 0, 3, dbl)), 0, 0, 0, 0, 0, true, Float64},
		{"empty struct", m(Struct(nil, nil, nil)), 0, 0, 0, 0, 0, true, Invalid},
		{"bounds of an empty resized member count",
			m(Struct([]int{1, 1}, []int64{0, 40}, []*Type{dbl, m(Resized(m(Contiguous(0, dbl)), 0, 8))})),
			8, 0, 48, 0, 8, false, Float64},
		{"an empty unresized member does not",
			m(Struct([]int{1, 1}, []int64{0, 40}, []*Type{dbl, m(Contiguous(0, dbl))})),
			8, 0, 8, 0, 8, true, Float64},
		{"array of pairs", m(Contiguous(2, Basic(ShortInt))), 12, 0, 16, 0, 16, false, ShortInt},
		{"negative resized extent", m(Resized(i32, 0, -4)), 4, 0, -4, 0, 4, false, Int32},
	}
	for _, c := range cases {
		ty := c.ty
		if ty.Size() != c.size || ty.LB() != c.lb || ty.Extent() != c.ext || ty.TrueLB() != c.tlb || ty.TrueExtent() != c.text {
			t.Errorf("%s: size %d lb %d extent %d true lb %d true extent %d; want %d %d %d %d %d", c.name,
				ty.Size(), ty.LB(), ty.Extent(), ty.TrueLB(), ty.TrueExtent(), c.size, c.lb, c.ext, c.tlb, c.text)
		}
		if ty.Contig() != c.contig {
			t.Errorf("%s: Contig %v", c.name, ty.Contig())
		}
		if k, ok := ty.Elem(); k != c.elem || ok != (c.elem != Invalid) {
			t.Errorf("%s: Elem %v %v, want %v", c.name, k, ok, c.elem)
		}
	}
}

func TestElements(t *testing.T) {
	m := mk(t)
	dbl := Basic(Float64)
	mixed := m(Struct([]int{2, 1}, []int64{0, 16}, []*Type{dbl, Basic(DoubleInt)}))
	cases := []struct {
		ty     *Type
		nbytes int64
		n      int64
		exact  bool
	}{
		{dbl, 0, 0, true}, {dbl, 8, 1, true}, {dbl, 12, 1, false}, {dbl, 800, 100, true},
		{Basic(DoubleInt), 12, 2, true}, {Basic(DoubleInt), 8, 1, true}, {Basic(DoubleInt), 10, 1, false},
		{Basic(DoubleInt), 4, 0, false}, {Basic(DoubleInt), 24, 4, true},
		{mixed, 28, 4, true}, {mixed, 36, 5, true}, {mixed, 40, 5, false}, {mixed, 56, 8, true},
		{m(Contiguous(0, dbl)), 0, 0, true}, {m(Contiguous(0, dbl)), 5, 0, false},
		{m(Vector(1000, 3, 7, Basic(Int16))), 6000*3 + 5, 9002, false},
		{dbl, -1, 0, false},
	}
	for _, c := range cases {
		if n, ex := c.ty.Elements(c.nbytes); n != c.n || ex != c.exact {
			t.Errorf("Elements(%d) of %v = %d %v, want %d %v", c.nbytes, c.ty.Kinds(), n, ex, c.n, c.exact)
		}
	}
	if n := mixed.NumElems(); n != 4 {
		t.Errorf("NumElems of struct{2 double, double_int} = %d, want 4", n)
	}
}

func TestConstructorErrors(t *testing.T) {
	m := mk(t)
	dbl := Basic(Float64)
	huge := m(Contiguous(1<<40, Basic(Byte)))
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"contiguous count", errOf(Contiguous(-1, dbl)), "dtype: contiguous: negative count -1"},
		{"contiguous nil", errOf(Contiguous(1, nil)), "dtype: contiguous: nil old type"},
		{"vector blocklen", errOf(Vector(1, -1, 1, dbl)), "dtype: vector: negative blocklen -1"},
		{"vector nil", errOf(Vector(1, 1, 1, nil)), "dtype: vector: nil old type"},
		{"hvector count", errOf(Hvector(-3, 1, 8, dbl)), "dtype: hvector: negative count -3"},
		{"indexed lengths", errOf(Indexed([]int{1}, nil, dbl)), "dtype: indexed: 1 blocklens but 0 displs"},
		{"indexed blocklen", errOf(Indexed([]int{1, -2}, []int{0, 1}, dbl)), "dtype: indexed: negative blocklen -2"},
		{"hindexed lengths", errOf(Hindexed(nil, []int64{1}, dbl)), "dtype: hindexed: 0 blocklens but 1 displs"},
		{"indexed_block", errOf(IndexedBlock(-1, nil, dbl)), "dtype: indexed_block: negative blocklen -1"},
		{"hindexed_block nil", errOf(HindexedBlock(1, nil, nil)), "dtype: hindexed_block: nil old type"},
		{"struct lengths", errOf(Struct([]int{1}, []int64{0}, nil)), "dtype: struct: 1 blocklens, 1 displs and 0 types"},
		{"struct nil", errOf(Struct([]int{1, 1}, []int64{0, 8}, []*Type{dbl, nil})), "dtype: struct: nil type at index 1"},
		{"resized nil", errOf(Resized(nil, 0, 8)), "dtype: resized: nil old type"},
		{"resized overflow", errOf(Resized(dbl, 1<<62, 1<<62)), "dtype: resized: lb 4611686018427387904 + extent 4611686018427387904 overflows int64"},
		{"size overflow", errOf(Contiguous(1<<30, huge)), "dtype: contiguous: size or displacement overflows int64"},
		{"stride overflow", errOf(Vector(2, 1, 1<<62, dbl)), "dtype: vector: size or displacement overflows int64"},
		{"hvector block overflow", errOf(Hvector(1, 1<<62, 0, dbl)), "dtype: hvector: size or displacement overflows int64"},
		{"extent overflow", errOf(Hindexed([]int{1, 1}, []int64{-1 << 62, 1 << 62}, dbl)), "dtype: hindexed: extent overflows int64"},
		{"displacement overflow", errOf(Hindexed([]int{1}, []int64{1<<63 - 4}, dbl)), "dtype: hindexed: size or displacement overflows int64"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrArg) || c.err.Error() != c.msg {
			t.Errorf("%s: %v, want %q wrapping ErrArg", c.name, c.err, c.msg)
		}
	}
}

func errOf(_ *Type, err error) error { return err }

func TestPackPanics(t *testing.T) {
	expectPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(r.(string), "dtype: ") {
				t.Errorf("%s: panic %v", name, r)
			}
		}()
		f()
	}
	x := make([]float64, 4)
	p := unsafe.Pointer(&x[0])
	expectPanic("short dst", func() { Basic(Float64).Pack(make([]byte, 31), p, 4) })
	expectPanic("negative count", func() { Basic(Float64).Pack(nil, p, -1) })
	expectPanic("negative unpack count", func() { Basic(Float64).Unpack(nil, p, -1) })
	big, err := Contiguous(1<<40, Basic(Byte))
	if err != nil {
		t.Fatal(err)
	}
	expectPanic("size overflow", func() { big.Unpack(nil, p, 1<<30) })
}

// TestConcurrentUse packs one type from many goroutines; with -race this
// checks that packing never writes to the shared type.
func TestConcurrentUse(t *testing.T) {
	m := mk(t)
	ty := m(Vector(64, 3, 5, m(Struct([]int{1, 1}, []int64{0, 8}, []*Type{Basic(Float64), Basic(Int16)}))))
	src := make([]byte, ty.Extent())
	for i := range src {
		src[i] = byte(i)
	}
	want := make([]byte, ty.Size())
	ty.Pack(want, unsafe.Pointer(&src[0]), 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got := make([]byte, ty.Size())
			back := make([]byte, len(src))
			for range 50 {
				ty.Pack(got, unsafe.Pointer(&src[0]), 1)
				ty.Unpack(got, unsafe.Pointer(&back[0]), 1)
			}
			if string(got) != string(want) {
				t.Error("concurrent Pack differs")
			}
		})
	}
	wg.Wait()
}

func TestBytesFor(t *testing.T) {
	st, err := Struct([]int{2, 1}, []int64{0, 16}, []*Type{Basic(Int32), Basic(Float64)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ty   *Type
		n    int64
		want int64
		ok   bool
	}{
		{Basic(Int32), 0, 0, true}, {Basic(Int32), 5, 20, true},
		{st, 1, 4, true}, {st, 2, 8, true}, {st, 3, 16, true}, {st, 4, 20, true}, {st, 7, 36, true},
		{Basic(DoubleInt), 1, 8, true}, {Basic(DoubleInt), 2, 12, true}, {Basic(DoubleInt), 3, 20, true},
		{Basic(Int32), -1, 0, false},
	} {
		got, ok := c.ty.BytesFor(c.n)
		if got != c.want || ok != c.ok {
			t.Errorf("%v BytesFor(%d) = %d %v, want %d %v", c.ty.Kinds(), c.n, got, ok, c.want, c.ok)
		}
		if ok {
			if n, exact := c.ty.Elements(got); n != c.n || !exact {
				t.Errorf("%v: Elements(%d) = %d %v, want %d", c.ty.Kinds(), got, n, exact, c.n)
			}
		}
	}
}
