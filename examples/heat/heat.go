package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// Boundary temperatures: global row 0, across all its columns (corners
// included), is held hot; the bottom row and both side columns are cold.
const (
	hot  = 100.0
	cold = 0.0
)

// checkEvery is how often (in iterations) the residual is reduced over
// all ranks; the last iteration always reduces it too.
const checkEvery = 100

// result is what rank 0 reports. Other ranks get the residual too but
// not the checksum.
type result struct {
	residual float64 // max |new-old| over interior cells, last iteration
	checksum float64 // sum of row sums in global row order (rank 0 only)
}

// block is one rank's rows of the grid plus a halo row above and below,
// stored flat: local row i is cells [i*n, (i+1)*n). Local rows 1..rows
// are global rows lo..lo+rows-1.
type block struct {
	n, rows, lo int
	cur, nxt    []float64
}

func newBlock(n, rows, lo int) *block {
	b := &block{n: n, rows: rows, lo: lo,
		cur: make([]float64, (rows+2)*n), nxt: make([]float64, (rows+2)*n)}
	// Fixed boundaries are written into both buffers once; the sweep
	// never writes them, so swapping keeps them.
	if lo == 0 {
		for j := range n {
			b.cur[n+j], b.nxt[n+j] = hot, hot
		}
	}
	return b
}

// register makes the grid and the iteration counter part of every
// checkpoint, and restores them if this run is a restart.
func (b *block) register(c *mpishim.Comm, it *int) error {
	err := errors.Join(
		c.RegisterInt("heat.iteration", it),
		c.Register("heat.grid", func() []byte {
			out := make([]byte, 0, 8*len(b.cur))
			for _, v := range b.cur {
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
			}
			return out
		}, func(saved []byte) error {
			if len(saved) != 8*len(b.cur) {
				return fmt.Errorf("saved grid has %d bytes, want %d", len(saved), 8*len(b.cur))
			}
			for i := range b.cur {
				b.cur[i] = math.Float64frombits(binary.LittleEndian.Uint64(saved[8*i:]))
			}
			return nil
		}))
	if errors.Is(err, mpishim.ErrNoCheckpoint) {
		return nil
	}
	return err
}

// row is local row i of buf.
func (b *block) row(buf []float64, i int) []float64 { return buf[i*b.n : (i+1)*b.n] }

// exchange fills the halo rows of cur from the neighbours' edge rows.
func (b *block) exchange(c *mpishim.Comm) error {
	r, p := c.Rank(), c.Size()
	const down, up = 1, 2 // tags by direction of travel
	var reqs []*mpishim.Request
	if r > 0 {
		reqs = append(reqs, mpishim.IrecvT(c, b.row(b.cur, 0), r-1, down))
	}
	if r < p-1 {
		reqs = append(reqs, mpishim.IrecvT(c, b.row(b.cur, b.rows+1), r+1, up))
	}
	if r > 0 {
		if err := mpishim.SendT(c, b.row(b.cur, 1), r-1, up); err != nil {
			return err
		}
	}
	if r < p-1 {
		if err := mpishim.SendT(c, b.row(b.cur, b.rows), r+1, down); err != nil {
			return err
		}
	}
	return mpishim.Waitall(reqs...)
}

// sweep computes nxt from cur on every interior cell this rank owns and,
// if residual is set, returns the largest change.
func (b *block) sweep(residual bool) float64 {
	n := b.n
	var res float64
	for i := 1; i <= b.rows; i++ {
		if g := b.lo + i - 1; g == 0 || g == n-1 {
			continue
		}
		up, mid, down, out := b.row(b.cur, i-1), b.row(b.cur, i), b.row(b.cur, i+1), b.row(b.nxt, i)
		sweepRow(up, mid, down, out, 0.25)
		if residual {
			// A compare, as examples/c/heat.c does: the builtin max also
			// orders NaNs and signed zeros, a chain of five instructions
			// per cell that made this pass, every 100th iteration, cost
			// as much as four sweeps.
			for j := 1; j < len(out)-1; j++ {
				if d := math.Abs(out[j] - mid[j]); d > res {
					res = d
				}
			}
		}
	}
	return res
}

// sweepRow sets out[j] = w*(up[j] + down[j] + mid[j-1] + mid[j+1]) on
// the interior columns, w being each neighbour's weight (0.25). Four
// cells a step, each middle-row value loaded once and kept for the
// neighbour that needs it next: Go's compiler neither unrolls nor reuses
// loads, and the plain loop spent a third more time than this one.
// examples/c/heat.c has the same loop, so both languages run the same
// kernel; the sum is added in the same order, so the result is bit for
// bit the plain loop's.
//
// Two details keep Go's code as tight as gcc's. The loop is bounded by
// j < n-4 and indexes the rows directly: the compiler then proves every
// index in range and checks none (reslicing each step cost three checks
// per four cells). And w comes in as an argument: a constant is loaded
// from memory at every use, an argument stays in a register. Together
// 5% of a sweep on a 1024-column grid.
func sweepRow(up, mid, down, out []float64, w float64) {
	n := len(out)
	if n < 3 {
		return
	}
	up, mid, down = up[:n], mid[:n], down[:n]
	l0, l1 := mid[0], mid[1] // mid[j-1] and mid[j] for the next step
	j := 1
	for ; j < n-4; j += 4 {
		r0, r1, r2, r3 := mid[j+1], mid[j+2], mid[j+3], mid[j+4]
		out[j] = w * (up[j] + down[j] + l0 + r0)
		out[j+1] = w * (up[j+1] + down[j+1] + l1 + r1)
		out[j+2] = w * (up[j+2] + down[j+2] + r0 + r2)
		out[j+3] = w * (up[j+3] + down[j+3] + r1 + r3)
		l0, l1 = r2, r3
	}
	for ; j < n-1; j++ {
		out[j] = w * (up[j] + down[j] + mid[j-1] + mid[j+1])
	}
}

// solve runs iters Jacobi iterations on an n×n grid whose rows are split
// in equal blocks over c. Every rank computes exactly the serial
// operations on its cells, so the result is bit-identical for any number
// of ranks.
func solve(c *mpishim.Comm, iters, n int) (result, error) {
	p := c.Size()
	if n < 1 || n%p != 0 {
		return result{}, fmt.Errorf("N=%d must be a positive multiple of the number of ranks (%d)", n, p)
	}
	if iters < 0 {
		return result{}, fmt.Errorf("ITERS=%d is negative", iters)
	}
	rows := n / p
	b := newBlock(n, rows, c.Rank()*rows)
	var res result
	it := 1
	if err := b.register(c, &it); err != nil {
		return result{}, err
	}
	for ; it <= iters; it++ {
		// A checkpoint cuts here, where the grid and it say everything.
		if err := c.SafePoint(); err != nil {
			return result{}, fmt.Errorf("iteration %d: checkpoint: %w", it, err)
		}
		if err := b.exchange(c); err != nil {
			return result{}, fmt.Errorf("iteration %d: halo exchange: %w", it, err)
		}
		check := it%checkEvery == 0 || it == iters
		local := b.sweep(check)
		b.cur, b.nxt = b.nxt, b.cur
		if check {
			g := []float64{0}
			if err := mpishim.AllreduceT(c, []float64{local}, g, mpishim.Max); err != nil {
				return result{}, fmt.Errorf("iteration %d: residual: %w", it, err)
			}
			res.residual = g[0]
		}
	}

	sums := make([]float64, rows)
	for i := range sums {
		s := 0.0
		for _, v := range b.row(b.cur, i+1) {
			s += v
		}
		sums[i] = s
	}
	var all []float64
	if c.Rank() == 0 {
		all = make([]float64, n)
	}
	if err := mpishim.GatherT(c, sums, all, 0); err != nil {
		return result{}, fmt.Errorf("gathering row sums: %w", err)
	}
	for _, s := range all {
		res.checksum += s
	}
	return res, nil
}
