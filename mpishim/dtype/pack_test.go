package dtype

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// checkDesc builds d and compares every property, Pack and Unpack (whole
// and truncated) against the reference model.
func checkDesc(t *testing.T, d *desc, r *rand.Rand) {
	t.Helper()
	ty, err := d.build()
	if err != nil {
		t.Fatalf("%v: %v", d, err)
	}
	rf := d.ref()
	if got, want := ty.Size(), rf.size(); got != want {
		t.Fatalf("%v: size %d, want %d", d, got, want)
	}
	if ty.LB() != rf.lb || ty.Extent() != rf.ext() {
		t.Fatalf("%v: lb/extent %d/%d, want %d/%d", d, ty.LB(), ty.Extent(), rf.lb, rf.ext())
	}
	if ty.TrueLB() != rf.tlb || ty.TrueExtent() != rf.tub-rf.tlb {
		t.Fatalf("%v: true lb/extent %d/%d, want %d/%d", d, ty.TrueLB(), ty.TrueExtent(), rf.tlb, rf.tub-rf.tlb)
	}
	var kinds []Kind
	var nelems int64
	for _, e := range rf.ents {
		kinds = append(kinds, e.k)
		nelems += e.k.basicElems()
	}
	if got := ty.Kinds(); !slices.Equal(got, kinds) {
		t.Fatalf("%v: kinds %v, want %v", d, got, kinds)
	}
	if ty.NumElems() != nelems {
		t.Fatalf("%v: NumElems %d, want %d", d, ty.NumElems(), nelems)
	}
	if len(kinds) > 0 {
		want, homo := kinds[0], true
		for _, k := range kinds {
			homo = homo && k == want
		}
		if k, ok := ty.Elem(); ok != homo || (homo && k != want) {
			t.Fatalf("%v: Elem %v %v, want %v %v", d, k, ok, want, homo)
		}
	}

	for count := range 4 {
		lo, hi := rf.span(count)
		buf := make([]byte, hi-lo)
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		base := -lo
		ptr := unsafe.Pointer(&buf[base])

		want := rf.pack(buf, base, count)
		got := make([]byte, len(want)+3)
		if n := ty.Pack(got, ptr, count); n != len(want) || !bytes.Equal(got[:n], want) {
			t.Fatalf("%v count %d: Pack wrote %d bytes %x, want %x", d, count, n, got[:n], want)
		}
		contig := len(want) == 0 || base+int64(len(want)) <= int64(len(buf)) &&
			bytes.Equal(want, buf[base:base+int64(len(want))])
		if count > 1 && ty.Contig() && !contig {
			t.Fatalf("%v: Contig but %d copies are not in place", d, count)
		}

		// Unpack into a fresh background, whole and cut at every length.
		cuts := []int{len(want)}
		for range 3 {
			cuts = append(cuts, r.IntN(len(want)+1))
		}
		for _, cut := range cuts {
			src := want[:cut]
			bg := make([]byte, len(buf))
			for i := range bg {
				bg[i] = byte(r.Uint32())
			}
			mine, theirs := slices.Clone(bg), slices.Clone(bg)
			rf.unpack(theirs, base, count, src)
			if n := ty.Unpack(src, unsafe.Pointer(&mine[base]), count); n != cut {
				t.Fatalf("%v count %d: Unpack of %d bytes consumed %d", d, count, cut, n)
			}
			if !bytes.Equal(mine, theirs) {
				t.Fatalf("%v count %d: Unpack of %d bytes:\n got %x\nwant %x", d, count, cut, mine, theirs)
			}
		}

		// Elements at both ends and at random byte counts.
		nbs := []int64{0, int64(len(want))}
		for range 8 {
			nbs = append(nbs, r.Int64N(int64(len(want))+1))
		}
		for _, nb := range nbs {
			wn, wex := rf.elements(count, nb)
			if ty.Size() == 0 {
				wn, wex = 0, nb == 0
			}
			if n, ex := ty.Elements(nb); n != wn || ex != wex {
				t.Fatalf("%v count %d: Elements(%d) = %d %v, want %d %v", d, count, nb, n, ex, wn, wex)
			}
		}
	}
	// Unpacking more data than count copies consumes just the copies.
	if ty.Size() > 0 {
		lo, hi := rf.span(1)
		buf := make([]byte, hi-lo)
		src := make([]byte, ty.Size()+5)
		if n := ty.Unpack(src, unsafe.Pointer(&buf[-lo]), 1); int64(n) != ty.Size() {
			t.Fatalf("%v: Unpack of a long source consumed %d, want %d", d, n, ty.Size())
		}
	}
}

func smallEnough(d *desc) bool { return len(d.ref().ents) <= 200 }

func TestRandomTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 0
	for n < 2000 {
		d := gen(rng{r}, 4)
		if !smallEnough(d) {
			continue
		}
		checkDesc(t, d, r)
		n++
	}
}

func FuzzPackUnpack(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{7, 1, 3, 2, 9, 200, 4, 17, 33, 2, 5})
	f.Add([]byte{3, 0, 2, 1, 0, 4, 6, 250, 1, 1, 13, 40})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := gen(&byteSource{data}, 4)
		if !smallEnough(d) {
			t.Skip()
		}
		checkDesc(t, d, rand.New(rand.NewPCG(uint64(len(data)), 7)))
	})
}

// TestCompactLayout checks that the flattened form stays small for types
// whose type map is large: the point of keeping one repetition level.
func TestCompactLayout(t *testing.T) {
	dbl := Basic(Float64)
	mustT := func(ty *Type, err error) *Type {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ty
	}
	sdc := mustT(Struct([]int{1, 1}, []int64{0, 8}, []*Type{dbl, Basic(Char)}))
	col := mustT(Vector(1<<20, 1, 3, dbl))
	cases := []struct {
		name string
		ty   *Type
		segs int
		runs int
		mode uint8
	}{
		{"vector of doubles", col, 1, 1, loopNone},
		{"vector, stride=blocklen", mustT(Vector(1000, 4, 4, dbl)), 1, 1, loopCopy},
		{"array of structs", mustT(Contiguous(1<<20, sdc)), 1, 1, loopSeg},
		{"vector of vectors", mustT(Vector(100, 1, 5, col)), 100, 100, loopNone},
		{"contiguous of vectors", mustT(Contiguous(1000, col)), 1000, 1000, loopNone},
		{"resized column", mustT(Resized(col, 0, 8)), 1, 1, loopNone},
		{"struct of ints, no padding", mustT(Struct([]int{2, 1}, []int64{0, 8}, []*Type{Basic(Int32), Basic(Float64)})), 1, 1, loopCopy},
	}
	for _, c := range cases {
		runs := 0
		for _, s := range c.ty.segs {
			runs += len(s.runs)
		}
		if len(c.ty.segs) != c.segs || runs != c.runs || c.ty.loop.mode != c.mode {
			t.Errorf("%s: %d segs, %d runs, loop %d; want %d, %d, %d", c.name, len(c.ty.segs), runs, c.ty.loop.mode, c.segs, c.runs, c.mode)
		}
	}
	// A vector of a contiguous array of structs is repeated seamlessly.
	if l := mustT(Contiguous(10, sdc)).loop; l.mode != loopSeg || l.mul != 10 || l.stride != 16 {
		t.Errorf("array of structs loop %+v", l)
	}
}

func TestTooFragmented(t *testing.T) {
	// x has two segments; y repeats x, which expands x into one pattern
	// of 4097 runs; w repeats y 4096 times, too many runs to expand, so it
	// keeps 4096 segments; repeating w 4096 times again would need 2^24.
	b := Basic(Int8)
	col, err := Vector(1<<12, 1, 2, b)
	if err != nil {
		t.Fatal(err)
	}
	x, err := Struct([]int{1, 1}, []int64{0, -1000}, []*Type{col, b})
	if err != nil {
		t.Fatal(err)
	}
	y, err := Hvector(1<<12, 1, 1<<20, x)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Hvector(1<<12, 1, 1<<34, y)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.segs) != 1 || len(w.segs) != 1<<12 {
		t.Fatalf("y has %d segments, w %d", len(y.segs), len(w.segs))
	}
	if _, err := Hvector(1<<12, 1, 1<<46, w); !errors.Is(err, ErrArg) {
		t.Fatalf("a type of 2^24 segments: err %v", err)
	}
}

// FuzzConstructorArgs feeds raw, possibly negative or huge arguments to the
// constructors: they must return a type or an ErrArg, never panic, and a
// type they return must be self-consistent.
func FuzzConstructorArgs(f *testing.F) {
	f.Add(int64(3), int64(-2), int64(1<<40), uint8(0))
	f.Add(int64(-1), int64(4), int64(-8), uint8(5))
	f.Add(int64(1<<62), int64(1<<62), int64(1<<62), uint8(2))
	f.Fuzz(func(t *testing.T, a, b, c int64, which uint8) {
		old, err := Vector(3, 2, 5, Basic(Kind(1+int(which)%int(numKinds-1))))
		if err != nil {
			t.Fatal(err)
		}
		var ty *Type
		switch which % 9 {
		case 0:
			ty, err = Contiguous(int(a%(1<<20)), old)
		case 1:
			ty, err = Vector(int(a%(1<<10)), int(b%(1<<10)), int(c), old)
		case 2:
			ty, err = Hvector(int(a%(1<<10)), int(b%(1<<10)), c, old)
		case 3:
			ty, err = Indexed([]int{int(a % 64), int(b % 64)}, []int{int(c), int(a)}, old)
		case 4:
			ty, err = Hindexed([]int{int(a % 64), int(b % 64)}, []int64{c, a}, old)
		case 5:
			ty, err = IndexedBlock(int(a%64), []int{int(b), int(c)}, old)
		case 6:
			ty, err = HindexedBlock(int(a%64), []int64{b, c}, old)
		case 7:
			ty, err = Struct([]int{int(a % 64), 1}, []int64{b, c}, []*Type{old, Basic(Char)})
		case 8:
			ty, err = Resized(old, b, c)
		}
		if err != nil {
			if !errors.Is(err, ErrArg) {
				t.Fatalf("error %v does not wrap ErrArg", err)
			}
			return
		}
		if n, exact := ty.Elements(ty.Size()); n != ty.NumElems() || !exact {
			t.Fatalf("Elements(Size()) = %d %v, NumElems %d", n, exact, ty.NumElems())
		}
		var sum int64
		for _, s := range ty.segs {
			for _, r := range s.runs {
				sum += s.reps * r.n
			}
		}
		if sum != ty.Size() {
			t.Fatalf("runs hold %d bytes, size %d", sum, ty.Size())
		}
	})
}
