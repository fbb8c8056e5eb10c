package dvm

import (
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

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
	// Keep: the peers of the block's window that hold it and keep it,
	// and those about to get a copy.
	Keep   []peer.ID
	CopyTo []peer.ID // window peers that lack the block and get it from here
	// Drop: this copy is not needed; at least k peers of the window
	// confirmed theirs, and this peer is outside the window or the
	// farthest of more than k holders in it.
	Drop bool
}

// nextProbe returns the next candidate to ask about the block, or false
// when the block's window is known: the w closest peers that answer.
// cands is ordered by distance to the block; self holds it and is never
// asked. An unreachable peer is passed over, so the next-closest takes
// its place.
func nextProbe(self peer.ID, cands []peer.ID, state map[peer.ID]replicaState, w int) (peer.ID, bool) {
	found := 0
	for _, c := range cands {
		if found == w {
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

// planRepair decides what self, which holds the block, does about it: a
// block belongs on k peers of its window (the w closest peers that
// answer). Too few there: the holder closest to the block copies it to
// the closest window peers that lack it; only that one copies, so that
// k holders do not all send the same block to the same peer, and the
// closest holder that is alive always sees itself as such, so some
// holder always copies. Enough there: a holder outside the window, or
// the farthest of a surplus inside it, drops its copy. Peers not asked
// count as not confirmed: they get no copy and allow no drop, so a round
// cut short never loses data.
func planRepair(self peer.ID, cands []peer.ID, state map[peer.ID]replicaState, k, w int) repairPlan {
	var window, holders, missing []peer.ID
	firstHolder := peer.ID("")
	for _, c := range cands {
		s := state[c]
		if c == self {
			s = stateHas
		}
		if s == stateHas && firstHolder == "" {
			firstHolder = c
		}
		if len(window) == w || s == stateUnreachable {
			continue
		}
		window = append(window, c)
		switch s {
		case stateHas:
			holders = append(holders, c)
		case stateMissing:
			missing = append(missing, c)
		}
	}
	var pl repairPlan
	want := min(k, len(window))
	switch {
	case len(holders) < want:
		if firstHolder == self {
			pl.CopyTo = missing[:min(len(missing), want-len(holders))]
		}
		pl.Keep = append(holders, pl.CopyTo...)
	case !slices.Contains(window, self):
		pl.Keep, pl.Drop = holders, true
	case len(holders) > want && holders[len(holders)-1] == self:
		pl.Keep, pl.Drop = holders[:len(holders)-1], true
	default:
		pl.Keep = holders
	}
	return pl
}
