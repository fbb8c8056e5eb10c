package dtype

import "math/bits"

// maxPieces bounds the flattened form of one type (segments plus runs).
// The form is proportional to the constructor arguments except when a
// fragmented type is repeated, which can multiply; past this bound the
// constructor fails instead of exhausting memory.
const maxPieces = 1 << 22

// mul64 and add64 report false on overflow. Type arithmetic runs on
// user-supplied counts and displacements, and a wrapped size or offset
// would later make Pack read or write outside the buffer.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(uint64(abs64(a)), uint64(abs64(b)))
	neg := (a < 0) != (b < 0)
	if hi != 0 || lo > 1<<63 || (lo == 1<<63 && !neg) || a == -1<<63 || b == -1<<63 {
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

func sub64(a, b int64) (int64, bool) {
	s := a - b
	return s, (s < a) == (b > 0)
}

func abs64(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// builder accumulates the blocks of a constructed type. Every constructor
// reduces to add calls: n copies of a child, stride bytes apart, from byte
// displacement d.
type builder struct {
	what  string
	t     Type
	haveB bool // some block set the bounds
	haveT bool // some block holds data
	own   bool // the last segment's runs were allocated here and may grow
	// only is the single old type of a non-struct constructor: an empty
	// vector of doubles is still "of doubles" for Elem.
	only   *Type
	pieces int64
	err    error
}

func newBuilder(what string) *builder { return &builder{what: what} }

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = errorf(ErrArg, b.what+": "+format, args...)
	}
}

func (b *builder) mul(x, y int64) int64 {
	v, ok := mul64(x, y)
	if !ok {
		b.fail("size or displacement overflows int64")
	}
	return v
}

func (b *builder) sum(x, y int64) int64 {
	v, ok := add64(x, y)
	if !ok {
		b.fail("size or displacement overflows int64")
	}
	return v
}

// add appends n copies of c, the k-th at byte displacement d + k*stride.
func (b *builder) add(c *Type, n, d, stride int64) {
	if b.err != nil || n == 0 {
		return
	}
	if k := len(b.t.kids); k > 0 && b.t.kids[k-1].t == c {
		b.t.kids[k-1].n = b.sum(b.t.kids[k-1].n, n)
	} else {
		b.t.kids = append(b.t.kids, kid{c, n})
	}
	// A child without data and without explicit bounds has an empty type
	// map: it contributes nothing, not even to the bounds.
	if c.size == 0 && !c.bounded {
		return
	}
	span := b.mul(n-1, stride)
	lo, hi := min(0, span), max(0, span)
	lb := b.sum(b.sum(d, c.lb), lo)
	ub := b.sum(b.sum(d, c.ub), hi)
	if !b.haveB || lb < b.t.lb {
		b.t.lb = lb
	}
	if !b.haveB || ub > b.t.ub {
		b.t.ub = ub
	}
	b.haveB = true
	b.t.align = max(b.t.align, c.align)
	b.t.bounded = b.t.bounded || c.bounded
	if c.size == 0 {
		return
	}
	tlb := b.sum(b.sum(d, c.tlb), lo)
	tub := b.sum(b.sum(d, c.tub), hi)
	if !b.haveT || tlb < b.t.tlb {
		b.t.tlb = tlb
	}
	if !b.haveT || tub > b.t.tub {
		b.t.tub = tub
	}
	b.haveT = true
	b.t.size = b.sum(b.t.size, b.mul(n, c.size))
	if b.err == nil {
		b.place(c, n, d, stride)
	}
}

// place appends the byte layout of n copies of c, keeping it compact: a
// repetition of a one-pattern child becomes one segment, and only a
// repetition of an already repeated child needs expanding one of the two
// levels (whichever is smaller).
func (b *builder) place(c *Type, n, d, stride int64) {
	cs := c.segs
	if n == 1 {
		for _, s := range cs {
			s.off += d
			b.push(s)
		}
		return
	}
	if len(cs) == 1 {
		s := cs[0]
		if s.reps == 1 {
			if len(s.runs) == 1 && s.runs[0].n == stride {
				b.push(seg{off: d + s.off + s.runs[0].off, reps: 1, runs: []run{{0, n * stride}}})
				b.own = true
				return
			}
			b.push(seg{off: d + s.off, reps: n, stride: stride, runs: s.runs})
			return
		}
		if span, ok := mul64(s.stride, s.reps); ok && span == stride {
			b.push(seg{off: d + s.off, reps: n * s.reps, stride: s.stride, runs: s.runs})
			return
		}
	}
	if c.nruns/int64(len(cs)) <= n && c.nruns <= maxPieces {
		b.pieces += c.nruns
		b.push(seg{off: d, reps: n, stride: stride, runs: c.expand()})
		return
	}
	if total, ok := mul64(n, int64(len(cs))); !ok || b.pieces+total > maxPieces {
		b.fail("type map too fragmented (more than %d pieces)", maxPieces)
		return
	}
	for k := int64(0); k < n && b.err == nil; k++ {
		for _, s := range cs {
			s.off += d + k*stride
			b.push(s)
		}
	}
}

// push appends one segment, merging it into the previous one when both are
// single patterns, and merging byte-adjacent runs, so that for example a
// struct of fields without padding packs with one copy.
func (b *builder) push(s seg) {
	if b.pieces++; b.pieces > maxPieces {
		b.fail("type map too fragmented (more than %d pieces)", maxPieces)
		return
	}
	if s.reps > 1 && len(s.runs) == 1 && s.runs[0].n == s.stride {
		s = seg{off: s.off + s.runs[0].off, reps: 1, runs: []run{{0, s.reps * s.stride}}}
	}
	segs := b.t.segs
	if s.reps != 1 || len(segs) == 0 || segs[len(segs)-1].reps != 1 {
		b.t.segs = append(segs, s)
		b.own = false
		return
	}
	last := &segs[len(segs)-1]
	if !b.own {
		last.runs = append(make([]run, 0, len(last.runs)+len(s.runs)), last.runs...)
		b.pieces += int64(len(last.runs))
		b.own = true
	}
	delta := s.off - last.off
	for _, r := range s.runs {
		r.off += delta
		last.runs = appendRun(last.runs, r)
	}
	b.pieces += int64(len(s.runs))
}

func appendRun(runs []run, r run) []run {
	if k := len(runs); k > 0 && runs[k-1].off+runs[k-1].n == r.off {
		runs[k-1].n += r.n
		return runs
	}
	return append(runs, r)
}

// expand lists the runs of one copy with every repetition spelled out.
func (t *Type) expand() []run {
	out := make([]run, 0, t.nruns)
	for _, s := range t.segs {
		for i := range s.reps {
			o := s.off + i*s.stride
			for _, r := range s.runs {
				out = appendRun(out, run{o + r.off, r.n})
			}
		}
	}
	return out
}

// finish applies the padding rule and derives the summary fields.
func (b *builder) finish() (*Type, error) {
	if b.err != nil {
		return nil, b.err
	}
	t := &b.t
	ext, ok := sub64(t.ub, t.lb)
	if !t.bounded && t.align > 1 && ok && ext%t.align != 0 {
		// C pads a struct so that an array of it keeps every member
		// aligned; MPI's epsilon rule does the same to the extent.
		t.ub = b.sum(t.ub, t.align-ext%t.align)
		ext, ok = sub64(t.ub, t.lb)
	}
	if !ok {
		b.fail("extent overflows int64")
	}
	if b.err != nil {
		return nil, b.err
	}
	for _, s := range t.segs {
		t.nruns += s.reps * int64(len(s.runs))
	}
	// Elem looks at children that hold elements; a type without any takes
	// its old type's kind, so an empty vector of doubles is still of doubles.
	t.elem = Invalid
	first := true
	for _, c := range t.kids {
		if c.t.nelems == 0 {
			continue
		}
		t.nelems += c.n * c.t.nelems
		if first {
			t.elem, first = c.t.elem, false
		} else if c.t.elem != t.elem {
			t.elem = Invalid
		}
	}
	if t.nelems == 0 && b.only != nil {
		t.elem = b.only.elem
	}
	t.setLoop()
	return t, nil
}

func (b *builder) checkOld(old *Type) bool {
	if old == nil {
		b.fail("nil old type")
		return false
	}
	b.only = old
	return true
}

func (b *builder) checkCount(name string, v int) {
	if v < 0 {
		b.fail("negative %s %d", name, v)
	}
}

// Contiguous is MPI_Type_contiguous.
func Contiguous(count int, old *Type) (*Type, error) {
	b := newBuilder("contiguous")
	b.checkCount("count", count)
	if b.checkOld(old) {
		b.add(old, int64(count), 0, old.Extent())
	}
	return b.finish()
}

// Vector is MPI_Type_vector; stride is in multiples of old's extent.
func Vector(count, blocklen, stride int, old *Type) (*Type, error) {
	b := newBuilder("vector")
	if old == nil {
		b.fail("nil old type")
		return b.finish()
	}
	return b.hvector(count, blocklen, b.mul(int64(stride), old.Extent()), old)
}

// Hvector is MPI_Type_create_hvector; stride is in bytes.
func Hvector(count, blocklen int, stride int64, old *Type) (*Type, error) {
	return newBuilder("hvector").hvector(count, blocklen, stride, old)
}

func (b *builder) hvector(count, blocklen int, stride int64, old *Type) (*Type, error) {
	b.checkCount("count", count)
	b.checkCount("blocklen", blocklen)
	if !b.checkOld(old) || b.err != nil {
		return b.finish()
	}
	inner := newBuilder(b.what)
	inner.only = old
	inner.add(old, int64(blocklen), 0, old.Extent())
	in, err := inner.finish()
	if err != nil {
		return nil, err
	}
	b.add(in, int64(count), 0, stride)
	return b.finish()
}

// Indexed is MPI_Type_indexed; displs are in multiples of old's extent.
func Indexed(blocklens, displs []int, old *Type) (*Type, error) {
	b := newBuilder("indexed")
	if len(blocklens) != len(displs) {
		b.fail("%d blocklens but %d displs", len(blocklens), len(displs))
	}
	for _, n := range blocklens {
		b.checkCount("blocklen", n)
	}
	if b.checkOld(old) && b.err == nil {
		e := old.Extent()
		for i, n := range blocklens {
			b.add(old, int64(n), b.mul(int64(displs[i]), e), e)
		}
	}
	return b.finish()
}

// Hindexed is MPI_Type_create_hindexed; displs are in bytes.
func Hindexed(blocklens []int, displs []int64, old *Type) (*Type, error) {
	b := newBuilder("hindexed")
	if len(blocklens) != len(displs) {
		b.fail("%d blocklens but %d displs", len(blocklens), len(displs))
	}
	for _, n := range blocklens {
		b.checkCount("blocklen", n)
	}
	if b.checkOld(old) && b.err == nil {
		for i, n := range blocklens {
			b.add(old, int64(n), displs[i], old.Extent())
		}
	}
	return b.finish()
}

// IndexedBlock is MPI_Type_create_indexed_block; displs are in multiples
// of old's extent.
func IndexedBlock(blocklen int, displs []int, old *Type) (*Type, error) {
	b := newBuilder("indexed_block")
	b.checkCount("blocklen", blocklen)
	if b.checkOld(old) && b.err == nil {
		e := old.Extent()
		for _, d := range displs {
			b.add(old, int64(blocklen), b.mul(int64(d), e), e)
		}
	}
	return b.finish()
}

// HindexedBlock is MPI_Type_create_hindexed_block; displs are in bytes.
func HindexedBlock(blocklen int, displs []int64, old *Type) (*Type, error) {
	b := newBuilder("hindexed_block")
	b.checkCount("blocklen", blocklen)
	if b.checkOld(old) && b.err == nil {
		for _, d := range displs {
			b.add(old, int64(blocklen), d, old.Extent())
		}
	}
	return b.finish()
}

// Struct is MPI_Type_create_struct; displs are in bytes.
func Struct(blocklens []int, displs []int64, types []*Type) (*Type, error) {
	b := newBuilder("struct")
	if len(blocklens) != len(displs) || len(blocklens) != len(types) {
		b.fail("%d blocklens, %d displs and %d types", len(blocklens), len(displs), len(types))
	}
	for i, n := range blocklens {
		b.checkCount("blocklen", n)
		if i < len(types) && types[i] == nil {
			b.fail("nil type at index %d", i)
		}
	}
	if b.err == nil {
		for i, n := range blocklens {
			b.add(types[i], int64(n), displs[i], types[i].Extent())
		}
	}
	return b.finish()
}

// Resized is MPI_Type_create_resized: old's data with lower bound lb and
// the given extent. The padding rule no longer applies to it nor to any
// type built from it, as the caller chose the extent.
func Resized(old *Type, lb, extent int64) (*Type, error) {
	if old == nil {
		return nil, errorf(ErrArg, "resized: nil old type")
	}
	ub, ok := add64(lb, extent)
	if !ok {
		return nil, errorf(ErrArg, "resized: lb %d + extent %d overflows int64", lb, extent)
	}
	t := *old
	t.lb, t.ub, t.bounded = lb, ub, true
	t.kind = Invalid
	t.kids = []kid{{old, 1}}
	t.setLoop()
	return &t, nil
}
