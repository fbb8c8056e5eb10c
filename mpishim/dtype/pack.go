package dtype

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// mem views n bytes of user memory at base+off.
func mem(base unsafe.Pointer, off, n int64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(base, off)), n)
}

// total is the packed size of count copies.
func (t *Type) total(op string, count int) int64 {
	if count < 0 {
		panic(fmt.Sprintf("dtype: %s: negative count %d", op, count))
	}
	n, ok := mul64(int64(count), t.size)
	if !ok || n > math.MaxInt {
		panic(fmt.Sprintf("dtype: %s: %d copies of %d bytes overflow", op, count, t.size))
	}
	return n
}

// Pack copies count copies of t, the k-th at base + k*Extent(), into dst in
// type-map order and returns the number of bytes written, count*Size().
// dst must hold that many bytes. base is the MPI buffer address:
// displacements are relative to it and may be negative.
func (t *Type) Pack(dst []byte, base unsafe.Pointer, count int) int {
	total := t.total("Pack", count)
	if int64(len(dst)) < total {
		panic(fmt.Sprintf("dtype: Pack: destination holds %d bytes, %d copies need %d", len(dst), count, total))
	}
	if total == 0 {
		return 0
	}
	dst = dst[:total]
	switch l := &t.loop; l.mode {
	case loopCopy:
		copy(dst, mem(base, l.off, total))
	case loopSeg:
		gather(dst, base, l.off, int64(count)*l.mul, l.stride, l.runs)
	default:
		ext := t.Extent()
		for k := range int64(count) {
			for _, s := range t.segs {
				dst = gather(dst, base, k*ext+s.off, s.reps, s.stride, s.runs)
			}
		}
	}
	return int(total)
}

// Unpack is the inverse of Pack: it writes min(len(src), count*Size())
// bytes into memory in type-map order and returns how many it consumed. A
// short src, as in a truncated receive, fills elements as far as its bytes
// go, the last one possibly in part.
func (t *Type) Unpack(src []byte, base unsafe.Pointer, count int) int {
	n := min(int64(len(src)), t.total("Unpack", count))
	if n == 0 {
		return 0
	}
	src = src[:n]
	full := n / t.size
	switch l := &t.loop; l.mode {
	case loopCopy:
		copy(mem(base, l.off, n), src)
		return int(n)
	case loopSeg:
		src = scatter(src, base, l.off, full*l.mul, l.stride, l.runs)
	default:
		ext := t.Extent()
		for k := range full {
			for _, s := range t.segs {
				src = scatter(src, base, k*ext+s.off, s.reps, s.stride, s.runs)
			}
		}
	}
	if len(src) > 0 {
		t.scatterPart(src, base, full*t.Extent())
	}
	return int(n)
}

// gather packs reps repetitions of runs and returns the rest of dst. Runs
// of one machine word are the common case of vectors of scalars and get a
// load and a store instead of a call to memmove.
func gather(dst []byte, base unsafe.Pointer, off, reps, stride int64, runs []run) []byte {
	ne := binary.NativeEndian
	if len(runs) == 1 {
		off += runs[0].off
		switch n := runs[0].n; n {
		case 4:
			for i := range reps {
				ne.PutUint32(dst, ne.Uint32(mem(base, off+i*stride, 4)))
				dst = dst[4:]
			}
		case 8:
			for i := range reps {
				ne.PutUint64(dst, ne.Uint64(mem(base, off+i*stride, 8)))
				dst = dst[8:]
			}
		case 16:
			for i := range reps {
				m := mem(base, off+i*stride, 16)
				ne.PutUint64(dst, ne.Uint64(m))
				ne.PutUint64(dst[8:], ne.Uint64(m[8:]))
				dst = dst[16:]
			}
		default:
			for i := range reps {
				copy(dst[:n], mem(base, off+i*stride, n))
				dst = dst[n:]
			}
		}
		return dst
	}
	for i := range reps {
		o := off + i*stride
		for _, r := range runs {
			copy(dst[:r.n], mem(base, o+r.off, r.n))
			dst = dst[r.n:]
		}
	}
	return dst
}

// scatter is gather the other way round.
func scatter(src []byte, base unsafe.Pointer, off, reps, stride int64, runs []run) []byte {
	ne := binary.NativeEndian
	if len(runs) == 1 {
		off += runs[0].off
		switch n := runs[0].n; n {
		case 4:
			for i := range reps {
				ne.PutUint32(mem(base, off+i*stride, 4), ne.Uint32(src))
				src = src[4:]
			}
		case 8:
			for i := range reps {
				ne.PutUint64(mem(base, off+i*stride, 8), ne.Uint64(src))
				src = src[8:]
			}
		case 16:
			for i := range reps {
				m := mem(base, off+i*stride, 16)
				ne.PutUint64(m, ne.Uint64(src))
				ne.PutUint64(m[8:], ne.Uint64(src[8:]))
				src = src[16:]
			}
		default:
			for i := range reps {
				copy(mem(base, off+i*stride, n), src[:n])
				src = src[n:]
			}
		}
		return src
	}
	for i := range reps {
		o := off + i*stride
		for _, r := range runs {
			copy(mem(base, o+r.off, r.n), src[:r.n])
			src = src[r.n:]
		}
	}
	return src
}

// scatterPart unpacks src, shorter than one copy, into the copy at byte
// offset at, cutting the last run where src ends.
func (t *Type) scatterPart(src []byte, base unsafe.Pointer, at int64) {
	for _, s := range t.segs {
		for i := range s.reps {
			o := at + s.off + i*s.stride
			for _, r := range s.runs {
				n := min(r.n, int64(len(src)))
				copy(mem(base, o+r.off, n), src[:n])
				if src = src[n:]; len(src) == 0 {
					return
				}
			}
		}
	}
}
