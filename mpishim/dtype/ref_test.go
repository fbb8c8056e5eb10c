package dtype

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// desc is a datatype as the test describes it. The reference model below
// expands it entry by entry and copy by copy, sharing no code with the
// package, so the two implementations check each other.
type desc struct {
	op      string
	k       Kind
	count   int
	bl      int
	stride  int64
	bls     []int
	displs  []int64
	kids    []*desc
	lb, ext int64
}

func (d *desc) String() string {
	switch d.op {
	case "basic":
		return d.k.String()
	case "resized":
		return fmt.Sprintf("resized(%v,%d,%d)", d.kids[0], d.lb, d.ext)
	case "struct":
		var parts []string
		for i, c := range d.kids {
			parts = append(parts, fmt.Sprintf("%d*%v@%d", d.bls[i], c, d.displs[i]))
		}
		return "struct{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("%s(n=%d bl=%d st=%d bls=%v ds=%v %v)", d.op, d.count, d.bl, d.stride, d.bls, d.displs, d.kids[0])
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func (d *desc) build() (*Type, error) {
	if d.op == "basic" {
		return Basic(d.k), nil
	}
	kids := make([]*Type, len(d.kids))
	for i, c := range d.kids {
		t, err := c.build()
		if err != nil {
			return nil, err
		}
		kids[i] = t
	}
	old := kids[0]
	switch d.op {
	case "contig":
		return Contiguous(d.count, old)
	case "vector":
		return Vector(d.count, d.bl, int(d.stride), old)
	case "hvector":
		return Hvector(d.count, d.bl, d.stride, old)
	case "indexed":
		return Indexed(d.bls, ints(d.displs), old)
	case "hindexed":
		return Hindexed(d.bls, d.displs, old)
	case "iblock":
		return IndexedBlock(d.bl, ints(d.displs), old)
	case "hiblock":
		return HindexedBlock(d.bl, d.displs, old)
	case "struct":
		return Struct(d.bls, d.displs, kids)
	case "resized":
		return Resized(old, d.lb, d.ext)
	}
	panic(d.op)
}

type ent struct {
	k    Kind
	disp int64
}

// ref is the reference model of a type.
type ref struct {
	ents     []ent
	lb, ub   int64
	tlb, tub int64
	hasB     bool // has entries or explicit bounds
	align    int64
	bounded  bool
}

func (r *ref) ext() int64 { return r.ub - r.lb }

func (r *ref) size() int64 {
	var s int64
	for _, e := range r.ents {
		s += int64(e.k.Size())
	}
	return s
}

// memRuns is where an element's bytes lie in memory, in packing order.
func memRuns(k Kind) [][2]int64 {
	ki := kinds[k]
	if k.isPair() {
		return [][2]int64{{0, ki.vsize}, {ki.ioff, 4}}
	}
	return [][2]int64{{0, ki.size}}
}

type copyAt struct {
	r    *ref
	disp int64
}

func (d *desc) ref() *ref {
	if d.op == "basic" {
		ki := kinds[d.k]
		tub := ki.size
		if d.k.isPair() {
			tub = ki.ioff + 4
		}
		return &ref{ents: []ent{{d.k, 0}}, ub: ki.extent, tub: tub, hasB: true, align: ki.align}
	}
	kids := make([]*ref, len(d.kids))
	for i, c := range d.kids {
		kids[i] = c.ref()
	}
	if d.op == "resized" {
		r := *kids[0]
		r.lb, r.ub, r.bounded, r.hasB = d.lb, d.lb+d.ext, true, true
		return &r
	}
	old := kids[0]
	e := old.ext()
	var copies []copyAt
	switch d.op {
	case "contig":
		for k := range d.count {
			copies = append(copies, copyAt{old, int64(k) * e})
		}
	case "vector", "hvector":
		st := d.stride
		if d.op == "vector" {
			st *= e
		}
		for i := range d.count {
			for j := range d.bl {
				copies = append(copies, copyAt{old, int64(i)*st + int64(j)*e})
			}
		}
	case "indexed", "hindexed", "iblock", "hiblock":
		for i, dd := range d.displs {
			if d.op == "indexed" || d.op == "iblock" {
				dd *= e
			}
			bl := d.bl
			if d.bls != nil {
				bl = d.bls[i]
			}
			for j := range bl {
				copies = append(copies, copyAt{old, dd + int64(j)*e})
			}
		}
	case "struct":
		for i, c := range kids {
			for j := range d.bls[i] {
				copies = append(copies, copyAt{c, d.displs[i] + int64(j)*c.ext()})
			}
		}
	}
	r := &ref{}
	haveT := false
	for _, c := range copies {
		for _, en := range c.r.ents {
			r.ents = append(r.ents, ent{en.k, en.disp + c.disp})
		}
		if !c.r.hasB {
			continue
		}
		lb, ub := c.disp+c.r.lb, c.disp+c.r.ub
		if !r.hasB || lb < r.lb {
			r.lb = lb
		}
		if !r.hasB || ub > r.ub {
			r.ub = ub
		}
		r.hasB = true
		r.align = max(r.align, c.r.align)
		r.bounded = r.bounded || c.r.bounded
		if len(c.r.ents) > 0 {
			tlb, tub := c.disp+c.r.tlb, c.disp+c.r.tub
			if !haveT || tlb < r.tlb {
				r.tlb = tlb
			}
			if !haveT || tub > r.tub {
				r.tub = tub
			}
			haveT = true
		}
	}
	if !r.bounded && r.align > 1 {
		for r.ext()%r.align != 0 {
			r.ub++
		}
	}
	return r
}

// span is the memory range count copies touch, widened to include base.
func (r *ref) span(count int) (lo, hi int64) {
	for c := range count {
		for _, e := range r.ents {
			for _, m := range memRuns(e.k) {
				a := int64(c)*r.ext() + e.disp + m[0]
				lo, hi = min(lo, a), max(hi, a+m[1])
			}
		}
	}
	return lo, max(hi, 1)
}

// each calls f with the memory offset and length of every packed piece of
// count copies, in type-map order.
func (r *ref) each(count int, f func(off, n int64)) {
	for c := range count {
		for _, e := range r.ents {
			for _, m := range memRuns(e.k) {
				f(int64(c)*r.ext()+e.disp+m[0], m[1])
			}
		}
	}
}

func (r *ref) pack(mem []byte, base int64, count int) []byte {
	var out []byte
	r.each(count, func(off, n int64) { out = append(out, mem[base+off:base+off+n]...) })
	return out
}

func (r *ref) unpack(mem []byte, base int64, count int, src []byte) {
	r.each(count, func(off, n int64) {
		for i := range n {
			if len(src) == 0 {
				return
			}
			mem[base+off+i] = src[0]
			src = src[1:]
		}
	})
}

// elements counts MPI basic elements the slow way: a pair's value and
// index are separate elements.
func (r *ref) elements(count int, nbytes int64) (int64, bool) {
	var n int64
	for range count {
		for _, e := range r.ents {
			sizes := []int64{int64(e.k.Size())}
			if e.k.isPair() {
				sizes = []int64{kinds[e.k].vsize, 4}
			}
			for _, s := range sizes {
				if nbytes == 0 {
					return n, true
				}
				if nbytes < s {
					return n, false
				}
				nbytes -= s
				n++
			}
		}
	}
	return n, nbytes == 0
}

// source yields small random choices; the fuzz test feeds it fuzz bytes.
type source interface{ intn(n int) int }

type rng struct{ r *rand.Rand }

func (s rng) intn(n int) int { return s.r.IntN(n) }

type byteSource struct{ b []byte }

func (s *byteSource) intn(n int) int {
	if len(s.b) == 0 {
		return 0
	}
	v := int(s.b[0]) % n
	s.b = s.b[1:]
	return v
}

func between(s source, lo, hi int) int { return lo + s.intn(hi-lo+1) }

var allOps = []string{"contig", "vector", "hvector", "indexed", "hindexed", "iblock", "hiblock", "struct", "resized"}

// gen draws a random type tree with small counts and displacements of
// both signs, overlaps and resizings included.
func gen(s source, depth int) *desc {
	if depth == 0 || s.intn(4) == 0 {
		return &desc{op: "basic", k: Kind(1 + s.intn(int(numKinds)-1))}
	}
	d := &desc{op: allOps[s.intn(len(allOps))]}
	switch d.op {
	case "contig":
		d.count = between(s, 0, 4)
	case "vector":
		d.count, d.bl, d.stride = between(s, 0, 4), between(s, 0, 3), int64(between(s, -4, 5))
	case "hvector":
		d.count, d.bl, d.stride = between(s, 0, 4), between(s, 0, 3), int64(between(s, -40, 60))
	case "indexed", "hindexed", "iblock", "hiblock":
		n := between(s, 0, 4)
		if d.op == "iblock" || d.op == "hiblock" {
			d.bl = between(s, 0, 3)
		} else {
			d.bls = make([]int, n)
		}
		d.displs = make([]int64, n)
		for i := range n {
			if d.bls != nil {
				d.bls[i] = between(s, 0, 3)
			}
			if d.op[0] == 'h' {
				d.displs[i] = int64(between(s, -64, 64))
			} else {
				d.displs[i] = int64(between(s, -6, 8))
			}
		}
	case "struct":
		n := between(s, 1, 4)
		for range n {
			d.kids = append(d.kids, gen(s, depth-1))
			d.bls = append(d.bls, between(s, 0, 3))
			d.displs = append(d.displs, int64(between(s, -48, 64)))
		}
		return d
	case "resized":
		d.lb, d.ext = int64(between(s, -24, 24)), int64(between(s, -8, 48))
	}
	d.kids = []*desc{gen(s, depth-1)}
	return d
}
