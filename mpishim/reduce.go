package mpishim

import (
	"fmt"
	"math/bits"
)

// Op is a reduction operation. All of them are commutative and, except
// for Sum and Prod on floating-point types, associative; to keep those two
// reproducible the algorithms fix the order in which operands combine.
type Op int

const (
	Sum Op = iota
	Prod
	Max
	Min
	Land // logical and: 1 if both are non-zero, else 0
	Lor
	Band // bitwise ops are for integer types only
	Bor
	Bxor
)

func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return fmt.Sprintf("Op(%d)", int(o))
	}
	return opNames[o]
}

var opNames = [...]string{"SUM", "PROD", "MAX", "MIN", "LAND", "LOR", "BAND", "BOR", "BXOR"}

// checkOp rejects an op that makes no sense for T, before any message is
// sent, so that every rank fails the same way.
func checkOp[T Elem](op Op) error {
	if op < Sum || op > Bxor {
		return fmt.Errorf("%w: %v", ErrOp, op)
	}
	if op >= Band && isFloat[T]() {
		return fmt.Errorf("%w: %v on a floating-point type", ErrOp, op)
	}
	return nil
}

func isFloat[T Elem]() bool {
	var x T = 1
	x /= 2
	return x != 0
}

// combine sets dst[i] = a[i] op b[i], where a is the operand of the lower
// ranks. dst may be a or b.
func combine[T Elem](op Op, dst, a, b []T) {
	b = b[:len(dst)]
	a = a[:len(dst)]
	switch op {
	case Sum:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case Prod:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case Max:
		for i := range dst {
			dst[i] = max(a[i], b[i])
		}
	case Min:
		for i := range dst {
			dst[i] = min(a[i], b[i])
		}
	case Land:
		for i := range dst {
			dst[i] = truth[T](a[i] != 0 && b[i] != 0)
		}
	case Lor:
		for i := range dst {
			dst[i] = truth[T](a[i] != 0 || b[i] != 0)
		}
	default:
		// Bitwise ops work bytewise on the integers' bytes, which is the
		// same as on the integers; checkOp kept floats out.
		d, x, y := AsBytes(dst), AsBytes(a), AsBytes(b)
		for i := range d {
			switch op {
			case Band:
				d[i] = x[i] & y[i]
			case Bor:
				d[i] = x[i] | y[i]
			case Bxor:
				d[i] = x[i] ^ y[i]
			}
		}
	}
}

func truth[T Elem](b bool) T {
	if b {
		return 1
	}
	return 0
}

// recvOperand receives a partner's operand of want elements into a buffer
// this rank owns. A wrong-sized operand is fitted and noted in *bad, so
// the algorithm can finish before reporting it.
func recvOperand[T Elem](c *Comm, from, tag, want int, bad *error) ([]T, error) {
	data, err := c.crecv(from, tag)
	if err != nil {
		return nil, err
	}
	data, err = fitLen(data, want*sizeOf[T](), tag)
	*bad = cmp(*bad, err)
	return fromBytes[T](data)
}

// ReduceT combines every member's send with op into root's recv (binomial
// tree, lower relative ranks' operand first). recv is used only at root
// and may be send itself. All members pass send slices of one length.
func ReduceT[T Elem](c *Comm, send, recv []T, op Op, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	if err := checkOp[T](op); err != nil {
		return err
	}
	n, v := c.Size(), c.rel(root)
	// acc is read-only while it is send; each received operand is a fresh
	// buffer, so combining into it needs no allocation of our own.
	acc := send
	var bad error
	for mask := 1; mask < n; mask <<= 1 {
		if v&mask != 0 {
			if err := c.csend(AsBytes(acc), c.abs(v-mask, root), tagReduce); err != nil {
				return err
			}
			return bad
		}
		if v+mask < n {
			other, err := recvOperand[T](c, c.abs(v+mask, root), tagReduce, len(send), &bad)
			if err != nil {
				return err
			}
			combine(op, other, acc, other)
			acc = other
		}
	}
	if len(recv) < len(acc) {
		return fmt.Errorf("%w: reduce of %d elements into %d", ErrTruncate, len(acc), len(recv))
	}
	copy(recv, acc)
	return bad
}

// AllreduceT combines every member's send with op into every member's
// recv, which may be send itself. Recursive doubling: in log2 p rounds,
// with p the largest power of two up to n, partners swap what they have
// and combine it, lower rank's operand first, so both compute the same
// bits. With n not a power of two the first 2(n-p) ranks pair up first:
// the even one hands its operand to the odd one, sits out, and is sent
// the result at the end.
func AllreduceT[T Elem](c *Comm, send, recv []T, op Op) error {
	if err := checkOp[T](op); err != nil {
		return err
	}
	n, r := c.Size(), c.rank
	pof2 := 1 << (bits.Len(uint(n)) - 1)
	rem := n - pof2
	acc := send
	var bad error
	exchange := func(partner int, sendFirst bool) error {
		if sendFirst {
			if err := c.csend(AsBytes(acc), partner, tagAllreduce); err != nil {
				return err
			}
		}
		other, err := recvOperand[T](c, partner, tagAllreduce, len(send), &bad)
		if err != nil {
			return err
		}
		if partner < r {
			combine(op, other, other, acc)
		} else {
			combine(op, other, acc, other)
		}
		acc = other
		return nil
	}

	newr := r - rem // rank among the p that do the doubling, or -1
	if r < 2*rem {
		if r%2 == 0 {
			if err := c.csend(AsBytes(acc), r+1, tagAllreduce); err != nil {
				return err
			}
			newr = -1
		} else {
			if err := exchange(r-1, false); err != nil {
				return err
			}
			newr = r / 2
		}
	}
	if newr >= 0 {
		for mask := 1; mask < pof2; mask <<= 1 {
			pnew := newr ^ mask
			partner := pnew + rem
			if pnew < rem {
				partner = pnew*2 + 1
			}
			if err := exchange(partner, true); err != nil {
				return err
			}
		}
	}
	if r < 2*rem {
		if r%2 == 1 {
			if err := c.csend(AsBytes(acc), r-1, tagAllreduce); err != nil {
				return err
			}
		} else {
			res, err := recvOperand[T](c, r+1, tagAllreduce, len(send), &bad)
			if err != nil {
				return err
			}
			acc = res
		}
	}
	if len(recv) < len(acc) {
		return fmt.Errorf("%w: allreduce of %d elements into %d", ErrTruncate, len(acc), len(recv))
	}
	copy(recv, acc)
	return bad
}

// Reduce is ReduceT for callers holding a slice whose type is known only
// at run time: send and recv must be slices of the same Elem type.
func (c *Comm) Reduce(send, recv any, op Op, root int) error {
	return reduceAny(c, send, recv, op, root)
}

// Allreduce is AllreduceT for a slice whose type is known only at run
// time; see Reduce.
func (c *Comm) Allreduce(send, recv any, op Op) error {
	return reduceAny(c, send, recv, op, -1)
}

// reduceAny dispatches on the slice type; root < 0 means all-reduce.
func reduceAny(c *Comm, send, recv any, op Op, root int) error {
	switch s := send.(type) {
	case []float64:
		return reduceSlices(c, s, recv, op, root)
	case []float32:
		return reduceSlices(c, s, recv, op, root)
	case []int64:
		return reduceSlices(c, s, recv, op, root)
	case []int32:
		return reduceSlices(c, s, recv, op, root)
	case []int:
		return reduceSlices(c, s, recv, op, root)
	case []uint64:
		return reduceSlices(c, s, recv, op, root)
	case []uint32:
		return reduceSlices(c, s, recv, op, root)
	case []uint8:
		return reduceSlices(c, s, recv, op, root)
	}
	return fmt.Errorf("%w: %T", ErrType, send)
}

func reduceSlices[T Elem](c *Comm, send []T, recv any, op Op, root int) error {
	r, ok := recv.([]T)
	if !ok && recv != nil {
		return fmt.Errorf("%w: reduce from %T into %T", ErrType, send, recv)
	}
	if root < 0 {
		return AllreduceT(c, send, r, op)
	}
	return ReduceT(c, send, r, op, root)
}
