// Package mpicheck is a conformance suite for mpishim: each check runs on
// every member of a communicator and compares what the collectives and
// point to point calls deliver with a serial computation of the same
// thing. The mpishim tests run it over in-memory groups of several sizes;
// examples/collcheck runs it inside a real p2pdvm job, where messages take
// the runtime's real paths.
//
// A check returns an error on the member that saw the wrong answer. The
// other members may then wait forever for a message that will not come,
// so a caller that sees an error should abort the job (or the in-memory
// group), not wait for the others.
package mpicheck

import (
	"fmt"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// Check is one named property.
type Check struct {
	Name string
	Run  func(c *mpishim.Comm) error
}

// Checks is the suite, cheapest first.
var Checks = []Check{
	{"barrier", checkBarrier},
	{"errors", checkErrors},
	{"p2p-order", checkOrder},
	{"p2p-wildcards", checkWildcards},
	{"p2p-probe", checkProbe},
	{"p2p-post-order", checkPostOrder},
	{"p2p-truncate", checkTruncate},
	{"bcast", checkBcast},
	{"gather", checkGather},
	{"scatter", checkScatter},
	{"allgather", checkAllgather},
	{"alltoall", checkAlltoall},
	{"reduce", checkReduce},
	{"allreduce", checkAllreduce},
	{"reduce-determinism", checkDeterminism},
	{"p2p-collective-isolation", checkIsolation},
	{"split-dup", checkSplitDup},
}

// All runs the suite on c and then on a split of c into even and odd
// ranks, each half in reverse order, so every check also runs where
// communicator ranks differ from process ranks. Each check gets a fresh
// duplicate, so a failed check's leftover messages cannot confuse the
// next one. All returns the first failure.
func All(c *mpishim.Comm) error {
	if err := suite(c, "world"); err != nil {
		return err
	}
	half, err := c.Split(c.Rank()%2, -c.Rank())
	if err != nil {
		return fmt.Errorf("split: %w", err)
	}
	return suite(half, fmt.Sprintf("reversed half %d", c.Rank()%2))
}

func suite(c *mpishim.Comm, name string) error {
	for _, chk := range Checks {
		d, err := c.Dup()
		if err != nil {
			return fmt.Errorf("%s: %s: dup: %w", name, chk.Name, err)
		}
		if err := chk.Run(d); err != nil {
			return fmt.Errorf("%s: %s: rank %d of %d: %w", name, chk.Name, c.Rank(), c.Size(), err)
		}
	}
	return nil
}

func checkBarrier(c *mpishim.Comm) error {
	for range 3 {
		if err := c.Barrier(); err != nil {
			return err
		}
	}
	return nil
}

// pattern is the byte i of a buffer identified by id.
func pattern(id, i int) byte { return byte(id*31 + i*7 + i>>8) }

func fill(b []byte, id int) []byte {
	for i := range b {
		b[i] = pattern(id, i)
	}
	return b
}

func same(got []byte, id int, what string) error {
	for i := range got {
		if got[i] != pattern(id, i) {
			return fmt.Errorf("%s: byte %d of %d is %d, want %d", what, i, len(got), got[i], pattern(id, i))
		}
	}
	return nil
}

func checkBcast(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	type tc struct{ root, size int }
	var cases []tc
	for root := range n {
		for _, size := range []int{0, 1, 1000} {
			cases = append(cases, tc{root, size})
		}
	}
	// Larger than one PEAL fragment, so the runtime splits it.
	cases = append(cases, tc{n - 1, 3<<20 + 5})
	for _, k := range cases {
		buf := make([]byte, k.size)
		if r == k.root {
			fill(buf, k.root)
		}
		if err := c.Bcast(buf, k.root); err != nil {
			return err
		}
		if err := same(buf, k.root, fmt.Sprintf("bcast of %d from %d", k.size, k.root)); err != nil {
			return err
		}
	}
	// The typed form.
	v := []float64{0, 0}
	if r == 0 {
		v = []float64{1.5, -2}
	}
	if err := mpishim.BcastT(c, v, 0); err != nil {
		return err
	}
	if v[0] != 1.5 || v[1] != -2 {
		return fmt.Errorf("bcast of floats: %v", v)
	}
	return nil
}

func checkGather(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	for root := range n {
		for _, blk := range []int{0, 3, 800} {
			var recv []byte
			if r == root {
				recv = make([]byte, n*blk)
			}
			if err := c.Gather(fill(make([]byte, blk), r), recv, root); err != nil {
				return err
			}
			if r != root {
				continue
			}
			for i := range n {
				if err := same(recv[i*blk:(i+1)*blk], i, fmt.Sprintf("gather of %d to %d, block %d", blk, root, i)); err != nil {
					return err
				}
			}
		}
	}
	got := make([]int64, n)
	if err := mpishim.GatherT(c, []int64{int64(r) * 1e12}, got, 0); err != nil {
		return err
	}
	for i := 0; r == 0 && i < n; i++ {
		if got[i] != int64(i)*1e12 {
			return fmt.Errorf("gather of int64: %v", got)
		}
	}
	return nil
}

func checkScatter(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	for root := range n {
		for _, blk := range []int{0, 3, 800} {
			var send []byte
			if r == root {
				send = make([]byte, 0, n*blk)
				for i := range n {
					send = append(send, fill(make([]byte, blk), i+root)...)
				}
			}
			recv := make([]byte, blk)
			if err := c.Scatter(send, recv, root); err != nil {
				return err
			}
			if err := same(recv, r+root, fmt.Sprintf("scatter of %d from %d", blk, root)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkAllgather(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	for _, blk := range []int{0, 1, 24, 5000} {
		recv := make([]byte, n*blk)
		if err := c.Allgather(fill(make([]byte, blk), r), recv); err != nil {
			return err
		}
		for i := range n {
			if err := same(recv[i*blk:(i+1)*blk], i, fmt.Sprintf("allgather of %d, block %d", blk, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkAlltoall(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	for _, blk := range []int{0, 1, 16, 3000} {
		send := make([]byte, 0, n*blk)
		for i := range n {
			send = append(send, fill(make([]byte, blk), r*n+i)...) // from r to i
		}
		recv := make([]byte, n*blk)
		if err := c.Alltoall(send, recv); err != nil {
			return err
		}
		for i := range n {
			if err := same(recv[i*blk:(i+1)*blk], i*n+r, fmt.Sprintf("alltoall of %d, block from %d", blk, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
