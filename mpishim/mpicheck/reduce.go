package mpicheck

import (
	"errors"
	"fmt"
	"math"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

var ops = []mpishim.Op{mpishim.Sum, mpishim.Prod, mpishim.Max, mpishim.Min,
	mpishim.Land, mpishim.Lor, mpishim.Band, mpishim.Bor, mpishim.Bxor}

// operand is rank r's element i for op. Values stay small enough that
// floating-point sums and products are exact, so any combination order
// must give the serial answer; integer overflow wraps the same way in any
// order.
func operand[T mpishim.Elem](op mpishim.Op, r, i int) T {
	switch op {
	case mpishim.Prod:
		return T((r+i)%2 + 1)
	case mpishim.Land, mpishim.Lor:
		return T(((r + 1) * (i + 2)) % 4)
	}
	v := T((r*37 + i*11) % 101)
	if isSigned[T]() {
		v -= 50
	}
	return v
}

func isSigned[T mpishim.Elem]() bool {
	var z T
	return z-1 < 0
}

func isFloat[T mpishim.Elem]() bool {
	var x T = 1
	x /= 2
	return x != 0
}

// apply is the serial reference, written independently of mpishim's own.
func apply[T mpishim.Elem](op mpishim.Op, a, b T) T {
	b2i := func(v bool) T {
		if v {
			return 1
		}
		return 0
	}
	switch op {
	case mpishim.Sum:
		return a + b
	case mpishim.Prod:
		return a * b
	case mpishim.Max:
		if b > a {
			return b
		}
		return a
	case mpishim.Min:
		if b < a {
			return b
		}
		return a
	case mpishim.Land:
		return b2i(a != 0 && b != 0)
	case mpishim.Lor:
		return b2i(a != 0 || b != 0)
	}
	x, y := uint64(int64(a)), uint64(int64(b))
	switch op {
	case mpishim.Band:
		return T(x & y)
	case mpishim.Bor:
		return T(x | y)
	}
	return T(x ^ y)
}

// reduceCase runs Reduce to every root, or Allreduce, for every op on
// vectors of a few lengths and compares with the serial reduction.
func reduceCase[T mpishim.Elem](c *mpishim.Comm, all bool) error {
	n, r := c.Size(), c.Rank()
	for _, op := range ops {
		lengths := []int{0, 7}
		if op == mpishim.Sum {
			lengths = append(lengths, 3000)
		}
		for _, l := range lengths {
			send := make([]T, l)
			want := make([]T, l)
			for i := range l {
				send[i] = operand[T](op, r, i)
				want[i] = operand[T](op, 0, i)
				for q := 1; q < n; q++ {
					want[i] = apply(op, want[i], operand[T](op, q, i))
				}
			}
			roots := []int{-1}
			if !all {
				roots = roots[:0]
				for root := range n {
					roots = append(roots, root)
				}
			}
			for _, root := range roots {
				got := make([]T, l)
				var err error
				if root < 0 {
					err = mpishim.AllreduceT(c, send, got, op)
				} else {
					err = mpishim.ReduceT(c, send, got, op, root)
				}
				if op >= mpishim.Band && isFloat[T]() {
					if !errors.Is(err, mpishim.ErrOp) {
						return fmt.Errorf("%v on %T: got %v, want ErrOp", op, send, err)
					}
					continue
				}
				if err != nil {
					return fmt.Errorf("%v on %T: %w", op, send, err)
				}
				if root >= 0 && root != r {
					continue
				}
				for i := range want {
					if got[i] != want[i] {
						return fmt.Errorf("%v on %d-element %T (root %d): element %d is %v, want %v",
							op, l, send, root, i, got[i], want[i])
					}
				}
			}
		}
	}
	return nil
}

// reduceAllTypes stops at the first failure: a rank that went on to the
// next type would be out of step with the others.
func reduceAllTypes(c *mpishim.Comm, all bool) error {
	for _, f := range []func(*mpishim.Comm, bool) error{
		reduceCase[float64], reduceCase[float32], reduceCase[int64],
		reduceCase[int32], reduceCase[uint64], reduceCase[uint8],
	} {
		if err := f(c, all); err != nil {
			return err
		}
	}
	return nil
}

func checkReduce(c *mpishim.Comm) error { return reduceAllTypes(c, false) }

func checkAllreduce(c *mpishim.Comm) error {
	if err := reduceAllTypes(c, true); err != nil {
		return err
	}
	// The untyped method, in place.
	v := []int32{int32(c.Rank()), 1}
	if err := c.Allreduce(v, v, mpishim.Max); err != nil {
		return err
	}
	if v[0] != int32(c.Size()-1) || v[1] != 1 {
		return fmt.Errorf("in-place Allreduce(MAX): %v", v)
	}
	return nil
}

// checkDeterminism: sums of values that round make the result depend on
// the order of combination; with a fixed number of ranks it must still be
// the same bits on every rank and in every repetition.
func checkDeterminism(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	send := make([]float64, 64)
	for i := range send {
		send[i] = 0.1*float64(r+1)/3 + float64(i)*1e-7 + math.Sqrt(float64(r*i+2))
	}
	var first []float64
	for rep := range 3 {
		got := make([]float64, len(send))
		if err := mpishim.AllreduceT(c, send, got, mpishim.Sum); err != nil {
			return err
		}
		if rep == 0 {
			first = got
		} else if err := sameBits(first, got, "allreduce repeated"); err != nil {
			return err
		}
	}
	everyone := make([]float64, n*len(send))
	if err := mpishim.AllgatherT(c, first, everyone); err != nil {
		return err
	}
	for q := range n {
		if err := sameBits(first, everyone[q*len(send):(q+1)*len(send)], fmt.Sprintf("allreduce at rank %d", q)); err != nil {
			return err
		}
	}
	var prev []float64
	for rep := range 2 {
		got := make([]float64, len(send))
		if err := mpishim.ReduceT(c, send, got, mpishim.Sum, n-1); err != nil {
			return err
		}
		if rep == 1 && r == n-1 {
			return sameBits(prev, got, "reduce repeated")
		}
		prev = got
	}
	return nil
}

func sameBits(a, b []float64, what string) error {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Errorf("%s: element %d is %v, was %v", what, i, b[i], a[i])
		}
	}
	return nil
}
