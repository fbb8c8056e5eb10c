package mpishim

import "fmt"

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

// combineFunc adapts combine to the Combine signature for element type T.
func combineFunc[T Elem](op Op) Combine {
	return func(inout, in []byte) error {
		x, err := fromBytes[T](inout)
		if err != nil {
			return err
		}
		y, err := fromBytes[T](in)
		if err != nil {
			return err
		}
		combine(op, x, y, x)
		if len(inout) > 0 && &AsBytes(x)[0] != &inout[0] {
			copy(inout, AsBytes(x)) // fromBytes had to copy a misaligned buffer
		}
		return nil
	}
}

// ReduceT combines every member's send with op into root's recv (binomial
// tree, lower relative ranks' operand first). recv is used only at root
// and may be send itself. All members pass send slices of one length.
func ReduceT[T Elem](c *Comm, send, recv []T, op Op, root int) error {
	if err := checkOp[T](op); err != nil {
		return err
	}
	return c.ReduceFunc(AsBytes(send), AsBytes(recv), combineFunc[T](op), true, root)
}

// AllreduceT combines every member's send with op into every member's
// recv, which may be send itself; see AllreduceFunc.
func AllreduceT[T Elem](c *Comm, send, recv []T, op Op) error {
	if err := checkOp[T](op); err != nil {
		return err
	}
	return c.AllreduceFunc(AsBytes(send), AsBytes(recv), combineFunc[T](op))
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
