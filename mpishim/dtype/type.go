package dtype

// Type is an MPI datatype. It is immutable once built, so one value may be
// shared by any number of goroutines and by the types built from it.
type Type struct {
	size     int64 // packed bytes of one copy
	lb, ub   int64 // bounds that space consecutive copies
	tlb, tub int64 // bounds of the data itself, resizing ignored
	align    int64 // widest basic alignment inside, for the padding rule
	// bounded records an explicit lb/ub set by Resized somewhere in the
	// tree. Like MPI's sticky bound markers it turns the padding rule off
	// for every type built on top, so a user-chosen extent is never grown.
	bounded bool

	nelems int64 // MPI basic elements in one copy (a pair counts twice)
	elem   Kind  // the one kind of every element, or Invalid when mixed
	kind   Kind  // set on predefined types only
	kids   []kid // element order of constructed types, for Elements and Kinds

	segs  []seg // the flattened byte layout of one copy, in type-map order
	nruns int64 // runs in one copy with every segment expanded
	loop  loopForm
}

// kid is n consecutive copies of t in type-map order. Displacements do not
// matter here: kids only answer which element kinds come in which order.
type kid struct {
	t *Type
	n int64
}

// run is a contiguous byte range [off, off+n).
type run struct{ off, n int64 }

// seg is reps repetitions of a run pattern, the i-th starting at
// off + i*stride. One level of repetition is enough to keep vectors of
// anything, and contiguous arrays of structs, at a constant size instead
// of one run per element.
type seg struct {
	off, reps, stride int64
	runs              []run // relative to the start of each repetition
}

// loopForm describes count copies of a type as a single repeated pattern
// when that is possible, so Pack does not walk the segments per copy.
type loopForm struct {
	mode   uint8
	off    int64
	mul    int64 // pattern repetitions per copy
	stride int64
	runs   []run
}

const (
	loopNone uint8 = iota // walk the segments copy by copy
	loopCopy              // all copies are one run starting at off
	loopSeg               // count*mul repetitions of runs, stride apart
)

var basics [numKinds]*Type

func init() {
	for k := Byte; k < numKinds; k++ {
		ki := kinds[k]
		runs := []run{{0, ki.size}}
		tub := ki.size
		if k.isPair() {
			tub = ki.ioff + 4
			if ki.ioff != ki.vsize {
				runs = []run{{0, ki.vsize}, {ki.ioff, 4}}
			}
		}
		t := &Type{
			size: ki.size, ub: ki.extent, tub: tub, align: ki.align,
			nelems: k.basicElems(), elem: k, kind: k,
			segs:  []seg{{reps: 1, runs: runs}},
			nruns: int64(len(runs)),
		}
		t.setLoop()
		basics[k] = t
	}
}

// Basic returns the predefined type of kind k, or nil for an invalid kind.
// A pair kind is laid out as its C struct: the padding is in its extent and
// not in its size.
func Basic(k Kind) *Type {
	if !k.valid() {
		return nil
	}
	return basics[k]
}

// Size is the number of bytes of data in one t (MPI_Type_size).
func (t *Type) Size() int64 { return t.size }

// LB is the lower bound (MPI_Type_get_extent).
func (t *Type) LB() int64 { return t.lb }

// Extent is ub-lb, the distance between consecutive copies of t.
func (t *Type) Extent() int64 { return t.ub - t.lb }

// TrueLB is where the data starts, whatever Resized said
// (MPI_Type_get_true_extent). It is 0 for a type without data.
func (t *Type) TrueLB() int64 { return t.tlb }

// TrueExtent is the span of the data itself.
func (t *Type) TrueExtent() int64 { return t.tub - t.tlb }

// Contig reports whether count copies of t are exactly count*Size() bytes
// starting at the buffer address, with no holes, so the buffer can be sent
// or received in place. The lower bound does not matter, only where the
// data lies.
func (t *Type) Contig() bool {
	if t.size == 0 {
		return t.ub == t.lb
	}
	return t.loop.mode == loopCopy && t.loop.off == 0
}

// Elem returns the kind shared by every element of t, if there is one: a
// vector of doubles gives (Float64, true). A pair kind is one kind here,
// since that is the unit MPI_MAXLOC works on.
func (t *Type) Elem() (Kind, bool) { return t.elem, t.elem != Invalid }

// NumElems is the number of MPI basic elements in one t. Following the
// standard, which defines each pair type as a struct of two members, a
// pair counts as two elements, so NumElems agrees with Elements.
func (t *Type) NumElems() int64 { return t.nelems }

// Elements implements MPI_Get_elements: the number of basic elements held
// by nbytes of packed data of this type. exact is false when nbytes ends
// inside a basic element, the case MPI reports as MPI_UNDEFINED.
func (t *Type) Elements(nbytes int64) (n int64, exact bool) {
	if nbytes <= 0 {
		return 0, nbytes == 0
	}
	if t.size == 0 {
		return 0, false
	}
	q, r := nbytes/t.size, nbytes%t.size
	n, exact = t.partial(r)
	return q*t.nelems + n, exact
}

// partial counts the complete basic elements in the first r < size packed
// bytes of one t by descending the kids, which skips whole runs of copies
// with a division instead of visiting them.
func (t *Type) partial(r int64) (int64, bool) {
	if r == 0 {
		return 0, true
	}
	if t.kind != Invalid {
		ki := kinds[t.kind]
		switch {
		case !t.kind.isPair() || r < ki.vsize:
			return 0, false
		case r == ki.vsize:
			return 1, true
		default:
			return 1, false
		}
	}
	var acc int64
	for _, c := range t.kids {
		cs := c.t.size
		if cs == 0 {
			continue
		}
		if full := c.n * cs; r >= full {
			acc += c.n * c.t.nelems
			if r -= full; r == 0 {
				return acc, true
			}
			continue
		}
		acc += r / cs * c.t.nelems
		m, exact := c.t.partial(r % cs)
		return acc + m, exact
	}
	return acc, r == 0
}

// Kinds lists the element kinds of one t in type-map order, a pair kind
// once. It allocates one entry per element, so it is meant for tests and
// diagnostics rather than for large types.
func (t *Type) Kinds() []Kind {
	var out []Kind
	t.appendKinds(&out)
	return out
}

func (t *Type) appendKinds(out *[]Kind) {
	if t.kind != Invalid {
		*out = append(*out, t.kind)
		return
	}
	for _, c := range t.kids {
		for range c.n {
			c.t.appendKinds(out)
		}
	}
}

// setLoop finds the cheapest way to walk count copies of t.
func (t *Type) setLoop() {
	t.loop = loopForm{}
	if len(t.segs) != 1 {
		return
	}
	s, ext := t.segs[0], t.ub-t.lb
	switch {
	case s.reps == 1 && len(s.runs) == 1 && s.runs[0].n == ext:
		t.loop = loopForm{mode: loopCopy, off: s.off + s.runs[0].off}
	case s.reps == 1:
		t.loop = loopForm{mode: loopSeg, off: s.off, mul: 1, stride: ext, runs: s.runs}
	default:
		// Copies continue the repetition seamlessly when the pattern
		// stride times its count is exactly the extent.
		if span, ok := mul64(s.stride, s.reps); ok && span == ext {
			t.loop = loopForm{mode: loopSeg, off: s.off, mul: s.reps, stride: s.stride, runs: s.runs}
		}
	}
}

// BytesFor is the inverse of Elements: the fewest packed bytes of t that
// hold n complete basic elements (MPI_Status_set_elements stores a count
// of elements in a status that counts bytes). It fails when no byte count
// gives exactly n, as for n = 1 of a type whose first element is a pair's
// second half.
func (t *Type) BytesFor(n int64) (int64, bool) {
	if n <= 0 {
		return 0, n == 0
	}
	if t.size == 0 || t.nelems == 0 {
		return 0, false
	}
	// Elements grows with the byte count: search the least b with at
	// least n elements, within the whole copies that hold them.
	lo, hi := int64(0), (n/t.nelems+1)*t.size
	for lo < hi {
		mid := lo + (hi-lo)/2
		if got, _ := t.Elements(mid); got >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	got, exact := t.Elements(lo)
	return lo, got == n && exact
}
