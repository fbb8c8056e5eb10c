package mpishim

import (
	"fmt"
	"math/bits"
)

// Combine folds in into inout, element by element: inout = in op inout,
// where in is the operand of the lower ranks. That is the argument order
// of MPI's user functions (invec, inoutvec), so a C MPI_User_function
// plugs in directly. Both slices have the same length; in is not
// modified. An error (an op undefined for the data) is reported after the
// collective has finished, so no member is left waiting.
type Combine func(inout, in []byte) error

// The algorithms below hand Combine only buffers this rank owns: the
// user's send buffer is read, never written.

// ReduceFunc combines every member's send with f into root's recv
// (binomial tree). A non-commutative f is applied in rank order, so the
// tree is rooted at rank 0 and the result forwarded to root, as MPICH
// does. recv is used only at root and may alias send.
func (c *Comm) ReduceFunc(send, recv []byte, f Combine, commute bool, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	treeRoot := root
	if !commute {
		treeRoot = 0
	}
	n, v := c.Size(), c.rel(treeRoot)
	acc := send
	var bad error
	for mask := 1; mask < n; mask <<= 1 {
		if v&mask != 0 {
			if err := c.csend(acc, c.abs(v-mask, treeRoot), tagReduce); err != nil {
				return err
			}
			acc = nil
			break
		}
		if v+mask < n {
			other, err := c.crecv(c.abs(v+mask, treeRoot), tagReduce)
			if err != nil {
				return err
			}
			other, err = fitLen(other, len(send), tagReduce)
			bad = cmp(bad, err)
			bad = cmp(bad, f(other, acc))
			acc = other
		}
	}
	if treeRoot != root {
		switch c.rank {
		case treeRoot:
			if err := c.csend(acc, root, tagReduce); err != nil {
				return err
			}
		case root:
			other, err := c.crecv(treeRoot, tagReduce)
			if err != nil {
				return err
			}
			acc, err = fitLen(other, len(send), tagReduce)
			bad = cmp(bad, err)
		}
	}
	if c.rank != root {
		return bad
	}
	if len(recv) < len(acc) {
		return fmt.Errorf("%w: reduce of %d bytes into %d", ErrTruncate, len(acc), len(recv))
	}
	copy(recv, acc)
	return bad
}

// AllreduceFunc combines every member's send with f into every member's
// recv, which may alias send. Recursive doubling: in log2 p rounds, with p
// the largest power of two up to n, partners swap what they have and
// combine it, lower ranks' operand first, so both compute the same bits
// and a non-commutative f sees rank order. With n not a power of two the
// first 2(n-p) ranks pair up first: the even one hands its operand to the
// odd one, sits out, and is sent the result at the end.
func (c *Comm) AllreduceFunc(send, recv []byte, f Combine) error {
	n, r := c.Size(), c.rank
	pof2 := 1 << (bits.Len(uint(n)) - 1)
	rem := n - pof2
	acc := send
	owned := false
	var bad error
	exchange := func(partner int, sendFirst bool) error {
		if sendFirst {
			if err := c.csend(acc, partner, tagAllreduce); err != nil {
				return err
			}
		}
		other, err := c.crecv(partner, tagAllreduce)
		if err != nil {
			return err
		}
		other, err = fitLen(other, len(send), tagAllreduce)
		bad = cmp(bad, err)
		if partner < r {
			if !owned {
				acc, owned = append([]byte(nil), acc...), true
			}
			bad = cmp(bad, f(acc, other))
		} else {
			bad = cmp(bad, f(other, acc))
			acc, owned = other, true
		}
		return nil
	}

	newr := r - rem // rank among the p that do the doubling, or -1
	if r < 2*rem {
		if r%2 == 0 {
			if err := c.csend(acc, r+1, tagAllreduce); err != nil {
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
			if err := c.csend(acc, r-1, tagAllreduce); err != nil {
				return err
			}
		} else {
			res, err := c.crecv(r+1, tagAllreduce)
			if err != nil {
				return err
			}
			acc, err = fitLen(res, len(send), tagAllreduce)
			bad = cmp(bad, err)
		}
	}
	if len(recv) < len(acc) {
		return fmt.Errorf("%w: allreduce of %d bytes into %d", ErrTruncate, len(acc), len(recv))
	}
	copy(recv, acc)
	return bad
}

// ScanFunc sets member r's recv to send(0) op ... op send(r) (MPI_Scan);
// with exclusive, to send(0) op ... op send(r-1) (MPI_Exscan), leaving
// member 0's recv untouched. recv may alias send. Recursive doubling:
// partial is what this rank knows of the ranks in its current block, and
// it only grows by contributions of whole blocks, lower before higher.
func (c *Comm) ScanFunc(send, recv []byte, f Combine, commute, exclusive bool) error {
	n, r := c.Size(), c.rank
	partial := append([]byte(nil), send...)
	var result []byte // nil until some lower rank contributed (exclusive)
	if !exclusive {
		result = append([]byte(nil), send...)
	}
	var bad error
	for mask := 1; mask < n; mask <<= 1 {
		dst := r ^ mask
		if dst >= n {
			continue
		}
		if err := c.csend(partial, dst, tagScan); err != nil {
			return err
		}
		tmp, err := c.crecv(dst, tagScan)
		if err != nil {
			return err
		}
		tmp, err = fitLen(tmp, len(send), tagScan)
		bad = cmp(bad, err)
		if dst < r {
			bad = cmp(bad, f(partial, tmp))
			if result == nil {
				result = tmp
			} else {
				bad = cmp(bad, f(result, tmp))
			}
		} else if commute {
			bad = cmp(bad, f(partial, tmp))
		} else {
			bad = cmp(bad, f(tmp, partial))
			partial = tmp
		}
	}
	if result != nil {
		copy(recv, result)
	}
	return bad
}

// ReduceScatterFunc combines every member's send (the concatenation of
// counts[i] bytes for each member i) with f and leaves block i of the
// result in member i's recv (MPI_Reduce_scatter): a reduce to rank 0 and
// a scatter from it.
func (c *Comm) ReduceScatterFunc(send, recv []byte, counts []int, f Combine, commute bool) error {
	if len(counts) != c.Size() {
		return fmt.Errorf("%w: reduce_scatter: %d counts for %d members", ErrCount, len(counts), c.Size())
	}
	displs := make([]int, len(counts))
	total := 0
	for i, n := range counts {
		if n < 0 {
			return fmt.Errorf("%w: reduce_scatter: count %d for member %d", ErrCount, n, i)
		}
		displs[i] = total
		total += n
	}
	if len(send) < total {
		return fmt.Errorf("%w: reduce_scatter: %d bytes to send, counts add up to %d", ErrCount, len(send), total)
	}
	var whole []byte
	if c.rank == 0 {
		whole = make([]byte, total)
	}
	err := c.ReduceFunc(send[:total], whole, f, commute, 0)
	return cmp(err, c.Scatterv(whole, counts, displs, recv, 0))
}
