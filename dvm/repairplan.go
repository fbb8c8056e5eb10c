package dvm

import "github.com/libp2p/go-libp2p/core/peer"

// The decisions of block repair, apart from the network: which peers to
// ask about a block, where it must be copied, and when the peer holding
// it may let it go. repair.go does the asking and copying.

// replicaState is what a probe learned about one peer and one block.
type replicaState uint8

const (
	stateUnknown     replicaState = iota // not asked (yet)
	stateHas                             // it holds the block
	stateMissing                         // it answered that it does not
	stateUnreachable                     // it did not answer
)

// repairPlan is what to do about one block held here.
type repairPlan struct {
	Targets []peer.ID // the k closest peers that answered: where the block belongs
	CopyTo  []peer.ID // targets that lack it
	// Drop: this peer is not a target and all k targets confirmed that
	// they hold the block, so this copy is surplus.
	Drop bool
}

// nextProbe returns the next candidate to ask about the block, or false
// when the k closest peers that answer are known. cands is ordered by
// distance to the block; self holds it and is never asked. An
// unreachable peer is passed over, so the next-closest takes its place.
func nextProbe(self peer.ID, cands []peer.ID, state map[peer.ID]replicaState, k int) (peer.ID, bool) {
	found := 0
	for _, c := range cands {
		if found == k {
			return "", false
		}
		switch {
		case c == self:
			found++
		case state[c] == stateUnknown:
			return c, true
		case state[c] != stateUnreachable:
			found++
		}
	}
	return "", false
}

// planRepair decides what self, which holds the block, does about it.
// Only the holder closest to the block copies it, so that k holders do
// not all send the same block to the same peer; the closest holder that
// is alive always sees itself as such, so some holder always copies.
// Peers not asked count as not confirmed: they get no copy and allow no
// drop, so a round cut short never loses data.
func planRepair(self peer.ID, cands []peer.ID, state map[peer.ID]replicaState, k int) repairPlan {
	var pl repairPlan
	var missing []peer.ID
	selfTarget, confirmed, firstHolder := false, 0, peer.ID("")
	for _, c := range cands {
		s := state[c]
		if c == self {
			s = stateHas
		}
		if s == stateHas && firstHolder == "" {
			firstHolder = c
		}
		if len(pl.Targets) == k || s == stateUnreachable {
			continue
		}
		pl.Targets = append(pl.Targets, c)
		selfTarget = selfTarget || c == self
		switch s {
		case stateHas:
			confirmed++
		case stateMissing:
			missing = append(missing, c)
		}
	}
	if firstHolder == self {
		pl.CopyTo = missing
	}
	pl.Drop = !selfTarget && len(pl.Targets) == k && confirmed == k
	return pl
}
