package mpishim

import (
	"fmt"
	"sort"

	"github.com/p2pdvm/p2pdvm/peal"
)

// Undefined as a Split color leaves the caller out of every new
// communicator (MPI_UNDEFINED).
const Undefined = -1

// New communicators need a context id that no member uses yet. Each
// process counts up from the lowest id it has not used; members agree on
// the largest of their counters (MPICH agrees the same way, with a mask of
// free ids). Ids only grow, so a process never reuses one. Dup and Split
// calls of one process must not run concurrently, or they could read the
// same counter.

func (pr *process) nextFree() uint32 {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.nextCtx
}

// claim records that ctx and ctx+1 are in use.
func (pr *process) claim(ctx uint32) error {
	if ctx >= peal.SyncCtx-2 {
		return fmt.Errorf("mpishim: out of communicator context ids")
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.nextCtx = max(pr.nextCtx, ctx+2)
	return nil
}

// Dup returns a communicator with the same members and ranks as c and a
// message space of its own (MPI_Comm_dup). It is collective over c.
func (c *Comm) Dup() (*Comm, error) {
	if c.inter != nil {
		return c.interDup()
	}
	ctx := []uint32{0}
	if err := AllreduceT(c, []uint32{c.pr.nextFree()}, ctx, Max); err != nil {
		return nil, fmt.Errorf("mpishim: dup: %w", err)
	}
	if err := c.pr.claim(ctx[0]); err != nil {
		return nil, err
	}
	return &Comm{pr: c.pr, ranks: c.ranks, index: c.index, rank: c.rank, ctx: ctx[0]}, nil
}

// Split partitions c (MPI_Comm_split; see interSplit for an
// intercommunicator): members that pass the same color
// form a new communicator, ranked by key and then by rank in c. A member
// that passes Undefined gets nil. It is collective over c; one Allgather
// carries every member's color, key and next free context id. All the new
// communicators share one context id, which is safe because their member
// sets are disjoint.
func (c *Comm) Split(color, key int) (*Comm, error) {
	if color < 0 && color != Undefined {
		return nil, fmt.Errorf("mpishim: split: color %d is negative and not Undefined", color)
	}
	if c.inter != nil {
		return c.interSplit(color, key)
	}
	n := c.Size()
	all := make([]int64, 3*n)
	me := []int64{int64(c.pr.nextFree()), int64(color), int64(key)}
	if err := AllgatherT(c, me, all); err != nil {
		return nil, fmt.Errorf("mpishim: split: %w", err)
	}
	var ctx uint32
	type member struct{ key, rank int }
	var ms []member
	for r := 0; r < n; r++ {
		ctx = max(ctx, uint32(all[3*r]))
		if int(all[3*r+1]) == color {
			ms = append(ms, member{int(all[3*r+2]), r})
		}
	}
	if err := c.pr.claim(ctx); err != nil {
		return nil, err
	}
	if color == Undefined {
		return nil, nil
	}
	// ms is in rank order, so a stable sort by key breaks ties by rank.
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
	ranks := make([]int, len(ms))
	mine := 0
	for i, m := range ms {
		ranks[i] = c.ranks[m.rank]
		if m.rank == c.rank {
			mine = i
		}
	}
	return c.pr.newComm(ranks, mine, ctx), nil
}
