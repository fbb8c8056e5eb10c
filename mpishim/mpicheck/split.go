package mpicheck

import (
	"fmt"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// checkSplitDup: Split groups and orders members as asked, each new
// communicator works on its own, and traffic on one never reaches
// another.
func checkSplitDup(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()

	// Two colors by parity, keys reversing the order within each.
	sub, err := c.Split(r%2, -r)
	if err != nil {
		return err
	}
	var members []int // ranks of c in sub, in sub's rank order
	for q := n - 1; q >= 0; q-- {
		if q%2 == r%2 {
			members = append(members, q)
		}
	}
	if sub.Size() != len(members) || members[sub.Rank()] != r {
		return fmt.Errorf("split by parity: rank %d of %d, want position of %d in %v", sub.Rank(), sub.Size(), r, members)
	}
	got := make([]int32, sub.Size())
	if err := mpishim.AllgatherT(sub, []int32{int32(r)}, got); err != nil {
		return err
	}
	for i, q := range members {
		if got[i] != int32(q) {
			return fmt.Errorf("allgather in split: %v, want %v", got, members)
		}
	}

	// Rank 0 opts out; the rest keep their order (equal keys).
	rest, err := c.Split(map[bool]int{true: mpishim.Undefined, false: 7}[r == 0], 0)
	if err != nil {
		return err
	}
	if (r == 0) != (rest == nil) || rest != nil && (rest.Size() != n-1 || rest.Rank() != r-1) {
		return fmt.Errorf("split with Undefined: %v", rest)
	}

	dup, err := c.Dup()
	if err != nil {
		return err
	}
	// Same peers and tag on c, dup and sub: each receive gets its own
	// communicator's message even though the others arrived first.
	to, from := (r+1)%n, (r-1+n)%n
	sto, sfrom := (sub.Rank()+1)%sub.Size(), (sub.Rank()-1+sub.Size())%sub.Size()
	if err := c.Send([]byte("c"), to, 1); err != nil {
		return err
	}
	if err := sub.Send([]byte("sub"), sto, 1); err != nil {
		return err
	}
	if err := dup.Send([]byte("dup"), to, 1); err != nil {
		return err
	}
	for _, k := range []struct {
		comm *mpishim.Comm
		src  int
		want string
	}{{dup, from, "dup"}, {sub, sfrom, "sub"}, {c, from, "c"}} {
		b := make([]byte, 8)
		st, err := k.comm.Recv(b, mpishim.AnySource, 1)
		if err != nil || string(b[:st.Count]) != k.want || st.Source != k.src {
			return fmt.Errorf("receive on %s communicator: %q from %d (%v)", k.want, b[:st.Count], st.Source, err)
		}
	}

	// Collectives on nested communicators, interleaved with the parent's.
	sub2, err := sub.Dup()
	if err != nil {
		return err
	}
	v := []int64{int64(r)}
	if err := mpishim.AllreduceT(sub2, v, v, mpishim.Sum); err != nil {
		return err
	}
	var want int64
	for _, q := range members {
		want += int64(q)
	}
	if err := c.Barrier(); err != nil {
		return err
	}
	if v[0] != want {
		return fmt.Errorf("allreduce on a dup of a split: %d, want %d", v[0], want)
	}
	return sub.Barrier()
}
