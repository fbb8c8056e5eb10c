package mpishim

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// An intercommunicator joins two disjoint groups of processes. Its ranks
// and rank are those of the local group (MPI_Comm_rank, MPI_Comm_size),
// while point to point names ranks of the remote group, both as a
// destination and as a source (MPI-3.1 §6.6). Both groups use one context
// id: a process only ever receives from the other group on it, so the
// source alone tells the groups apart. Each side also keeps its local
// group as an intracommunicator on context ctx+2, over which it agrees on
// the contexts of communicators derived from this one.

// ErrInter marks an operation that intercommunicators do not support
// (collectives) or that needs one (Merge on an intracommunicator).
var ErrInter = errors.New("mpishim: intercommunicator")

type interPart struct {
	remote []int       // the remote group's world ranks in its rank order
	rindex map[int]int // world rank -> rank in the remote group
	local  *Comm       // the local group alone, on context ctx+2
}

// tagInter carries the leaders' exchanges on an intercommunicator's
// collective context; no collective runs there, so it meets nothing else.
const tagInter = 100

// IsInter reports whether c is an intercommunicator.
func (c *Comm) IsInter() bool { return c.inter != nil }

// RemoteMembers returns the world ranks of the remote group of an
// intercommunicator in rank order, or nil for an intracommunicator.
func (c *Comm) RemoteMembers() []int {
	if c.inter == nil {
		return nil
	}
	return append([]int(nil), c.inter.remote...)
}

// peers are the processes point to point ranks name: the remote group of
// an intercommunicator, the members of an intracommunicator.
func (c *Comm) peers() []int {
	if c.inter != nil {
		return c.inter.remote
	}
	return c.ranks
}

func (c *Comm) checkPeer(r int, what string) error {
	if n := len(c.peers()); r < 0 || r >= n {
		return fmt.Errorf("%w: %s %d in a (remote) group of %d", ErrRank, what, r, n)
	}
	return nil
}

// peerRank maps the world rank of a message's sender to the rank a status
// reports: in the remote group for an intercommunicator.
func (c *Comm) peerRank(w int) int {
	if c.inter != nil {
		if r, ok := c.inter.rindex[w]; ok {
			return r
		}
		return -1
	}
	return c.commRank(w)
}

// newInter builds an intercommunicator on context ctx (and ctx+2 for the
// local group) once both sides agreed on it.
func (pr *process) newInter(local []int, me int, remote []int, ctx uint32) (*Comm, error) {
	if err := pr.claim(ctx); err != nil {
		return nil, err
	}
	if err := pr.claim(ctx + 2); err != nil {
		return nil, err
	}
	ic := pr.newComm(local, me, ctx)
	rindex := make(map[int]int, len(remote))
	for i, w := range remote {
		rindex[w] = i
	}
	ic.inter = &interPart{remote: remote, rindex: rindex, local: pr.newComm(local, me, ctx+2)}
	return ic, nil
}

func int64s(xs []int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

func fromInt64s(xs []int64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

// bcastVar broadcasts root's data, whose length only root knows, over c.
func bcastVar(c *Comm, data []int64, root int) ([]int64, error) {
	n := []int64{int64(len(data))}
	if err := BcastT(c, n, root); err != nil {
		return nil, err
	}
	if c.rank != root {
		data = make([]int64, n[0])
	}
	if err := BcastT(c, data, root); err != nil {
		return nil, err
	}
	return data, nil
}

// IntercommCreate joins the group of c (the local communicator) with the
// group of another communicator, whose leader is remoteLeader in peer
// (MPI_Intercomm_create). The leaders exchange over peer with tag; every
// member of both groups then takes the largest free context id of all.
// It is collective over c and over the remote local communicator.
func (c *Comm) IntercommCreate(localLeader int, peer *Comm, remoteLeader, tag int) (*Comm, error) {
	if c.inter != nil {
		return nil, fmt.Errorf("%w: intercomm create: the local communicator must be an intracommunicator", ErrInter)
	}
	if err := c.checkRank(localLeader, "local leader"); err != nil {
		return nil, err
	}
	free := []uint32{0}
	if err := AllreduceT(c, []uint32{c.pr.nextFree()}, free, Max); err != nil {
		return nil, fmt.Errorf("mpishim: intercomm create: %w", err)
	}
	var theirs []int64
	if c.rank == localLeader {
		if peer == nil {
			return nil, fmt.Errorf("%w: intercomm create: the local leader needs a peer communicator", ErrInter)
		}
		mine := append([]int64{int64(free[0])}, int64s(c.ranks)...)
		var err error
		if theirs, err = exchange(peer, mine, remoteLeader, tag); err != nil {
			return nil, fmt.Errorf("mpishim: intercomm create: leader exchange: %w", err)
		}
	}
	theirs, err := bcastVar(c, theirs, localLeader)
	if err != nil {
		return nil, fmt.Errorf("mpishim: intercomm create: %w", err)
	}
	if len(theirs) < 2 {
		return nil, fmt.Errorf("mpishim: intercomm create: the remote leader sent %d values", len(theirs))
	}
	remote := fromInt64s(theirs[1:])
	for _, w := range remote {
		if c.commRank(w) >= 0 {
			return nil, fmt.Errorf("%w: intercomm create: world rank %d is in both groups", ErrInter, w)
		}
	}
	ctx := max(free[0], uint32(theirs[0]))
	return c.pr.newInter(c.ranks, c.rank, remote, ctx)
}

// exchange sends mine to rank other of c with tag and receives what other
// sends back, of a length found by probing. Sends do not block, so both
// sides may send first.
func exchange(c *Comm, mine []int64, other, tag int) ([]int64, error) {
	if err := SendT(c, mine, other, tag); err != nil {
		return nil, err
	}
	st, err := c.Probe(other, tag)
	if err != nil {
		return nil, err
	}
	theirs := make([]int64, ElemCount[int64](st))
	if _, err := RecvT(c, theirs, other, tag); err != nil {
		return nil, err
	}
	return theirs, nil
}

// interAgree is the step every communicator derived from an
// intercommunicator starts with: each group agrees on its largest free
// context id, the two leaders (rank 0 of each group) swap it along with
// data (the same on every local member) over the collective context, and
// each leader broadcasts the other side's answer to its group. It returns
// the context id both groups will use and the remote group's data.
func (c *Comm) interAgree(data []int64) (uint32, []int64, error) {
	local := c.inter.local
	free := []uint32{0}
	if err := AllreduceT(local, []uint32{c.pr.nextFree()}, free, Max); err != nil {
		return 0, nil, err
	}
	var theirs []int64
	if c.rank == 0 {
		mine := append([]int64{int64(free[0])}, data...)
		if err := c.pr.p.Send(c.inter.remote[0], c.ctx+1, tagInter, AsBytes(mine)); err != nil {
			return 0, nil, fmt.Errorf("send to the remote leader: %w", err)
		}
		m, err := c.pr.wait(c.pr.p.Post(c.inter.remote[0], c.ctx+1, tagInter), c.inter.remote[0])
		if err != nil {
			return 0, nil, fmt.Errorf("receive from the remote leader: %w", err)
		}
		if theirs, err = fromBytes[int64](m.Data); err != nil {
			return 0, nil, err
		}
	}
	theirs, err := bcastVar(local, theirs, 0)
	if err != nil {
		return 0, nil, err
	}
	if len(theirs) < 1 {
		return 0, nil, fmt.Errorf("the remote leader sent nothing")
	}
	return max(free[0], uint32(theirs[0])), theirs[1:], nil
}

// Dup of an intercommunicator keeps both groups and takes a new context.
func (c *Comm) interDup() (*Comm, error) {
	ctx, _, err := c.interAgree(nil)
	if err != nil {
		return nil, fmt.Errorf("mpishim: intercomm dup: %w", err)
	}
	return c.pr.newInter(c.ranks, c.rank, c.inter.remote, ctx)
}

// Merge makes an intracommunicator of both groups of an intercommunicator
// (MPI_Intercomm_merge). The group whose members pass high=false comes
// first; when both pass the same value MPI leaves the order to the
// implementation, and here the group whose rank 0 has the lower world rank
// comes first, which both sides can compute alike.
func (c *Comm) Merge(high bool) (*Comm, error) {
	if c.inter == nil {
		return nil, fmt.Errorf("%w: merge needs an intercommunicator", ErrInter)
	}
	h := int64(0)
	if high {
		h = 1
	}
	ctx, theirs, err := c.interAgree([]int64{h})
	if err != nil {
		return nil, fmt.Errorf("mpishim: intercomm merge: %w", err)
	}
	if len(theirs) != 1 {
		return nil, fmt.Errorf("mpishim: intercomm merge: the remote leader sent %d values, want 1", len(theirs))
	}
	localFirst := h < theirs[0] || (h == theirs[0] && c.ranks[0] < c.inter.remote[0])
	var ranks []int
	me := c.rank
	if localFirst {
		ranks = append(append(ranks, c.ranks...), c.inter.remote...)
	} else {
		ranks = append(append(ranks, c.inter.remote...), c.ranks...)
		me += len(c.inter.remote)
	}
	if err := c.pr.claim(ctx); err != nil {
		return nil, err
	}
	return c.pr.newComm(ranks, me, ctx), nil
}

// interSplit is Split on an intercommunicator (MPI-3.1 §6.4.2): the local
// members with one color form the local group and the remote members with
// that color the remote group, each ordered by key, then by old rank. A
// caller whose color finds no remote member gets nil.
func (c *Comm) interSplit(color, key int) (*Comm, error) {
	n := c.Size()
	table := make([]int64, 2*n)
	if err := AllgatherT(c.inter.local, []int64{int64(color), int64(key)}, table); err != nil {
		return nil, fmt.Errorf("mpishim: intercomm split: %w", err)
	}
	ctx, theirs, err := c.interAgree(table)
	if err != nil {
		return nil, fmt.Errorf("mpishim: intercomm split: %w", err)
	}
	if len(theirs) != 2*len(c.inter.remote) {
		return nil, fmt.Errorf("mpishim: intercomm split: the remote leader sent %d values for a group of %d", len(theirs), len(c.inter.remote))
	}
	if color == Undefined {
		return nil, c.pr.claim(ctx)
	}
	local, me := pick(table, c.ranks, color, c.rank)
	remote, _ := pick(theirs, c.inter.remote, color, -1)
	if len(remote) == 0 {
		return nil, c.pr.claim(ctx)
	}
	return c.pr.newInter(local, me, remote, ctx)
}

// pick returns the world ranks of the members whose (color, key) pair in
// table has the given color, ordered by key then rank, and the new rank of
// old rank self (-1 if self is not picked).
func pick(table []int64, world []int, color, self int) ([]int, int) {
	type member struct{ key, rank int }
	var ms []member
	for r := range world {
		if int(table[2*r]) == color {
			ms = append(ms, member{int(table[2*r+1]), r})
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
	out, me := make([]int, len(ms)), -1
	for i, m := range ms {
		out[i] = world[m.rank]
		if m.rank == self {
			me = i
		}
	}
	return out, me
}

// interCreate is MPI_Comm_create on an intercommunicator: each side passes
// a subgroup of its local group (every local member the same one), and
// the result joins the two subgroups. Members outside their side's group,
// and everyone when either group is empty, get nil.
func (c *Comm) interCreate(group []int) (*Comm, error) {
	ctx, remote, err := c.interAgree(int64s(group))
	if err != nil {
		return nil, fmt.Errorf("mpishim: intercomm create from group: %w", err)
	}
	me := -1
	for i, w := range group {
		if w == c.ranks[c.rank] {
			me = i
		}
	}
	if me < 0 || len(remote) == 0 {
		return nil, c.pr.claim(ctx)
	}
	return c.pr.newInter(group, me, fromInt64s(remote), ctx)
}

// CreateGroup makes a communicator of the processes of c listed in group
// (world ranks, in the new rank order), collectively over those processes
// only (MPI_Comm_create_group). The members agree on a context id over
// c's collective context; as for every collective, members that share
// several such calls must make them in the same order, which is why the
// MPI tag argument, meant for concurrent calls from threads, is not needed
// to keep them apart. A caller not in group gets nil.
func (c *Comm) CreateGroup(group []int) (*Comm, error) {
	me := -1
	for i, w := range group {
		if w < 0 || w >= c.pr.p.Size() || c.commRank(w) < 0 {
			return nil, fmt.Errorf("%w: create group: world rank %d is not in the communicator", ErrRank, w)
		}
		if w == c.ranks[c.rank] {
			me = i
		}
	}
	if me < 0 {
		return nil, nil
	}
	if c.inter != nil {
		return nil, fmt.Errorf("%w: create group on an intercommunicator is not supported", ErrInter)
	}
	tmp := c.pr.newComm(group, me, c.ctx)
	free := []uint32{0}
	if err := AllreduceT(tmp, []uint32{c.pr.nextFree()}, free, Max); err != nil {
		return nil, fmt.Errorf("mpishim: create group: %w", err)
	}
	if err := c.pr.claim(free[0]); err != nil {
		return nil, err
	}
	return c.pr.newComm(group, me, free[0]), nil
}

// CreateFrom is MPI_Comm_create: group (world ranks) must be within c's
// (local) group. On an intracommunicator it is a split in which each
// member takes its group's lowest world rank as color, ordered by rank in
// the group: since MPI-2.2 processes may pass different groups as long as
// they are disjoint, and each gets the communicator of its own. On an
// intercommunicator see interCreate. Callers not in group get nil.
func (c *Comm) CreateFrom(group []int) (*Comm, error) {
	for _, w := range group {
		if w < 0 || w >= c.pr.p.Size() || c.commRank(w) < 0 {
			return nil, fmt.Errorf("%w: create: world rank %d is not in the (local) group", ErrRank, w)
		}
	}
	if c.inter != nil {
		return c.interCreate(group)
	}
	color, key := Undefined, 0
	for i, w := range group {
		if w == c.ranks[c.rank] {
			color, key = slices.Min(group), i
		}
	}
	return c.Split(color, key)
}
