package dvm

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p-kad-dht/amino"
	"github.com/libp2p/go-libp2p/core/peer"
)

// wholeView remembers the answer of a closest-peers lookup that came back
// with fewer peers than a Kademlia bucket holds. Such a lookup returns
// every peer that answered, not the closest few of many, so any other
// key's lookup would have returned the same set: in a DVM of up to
// amino.DefaultBucketSize peers (a lab, a few desktops) one lookup
// serves every block put for a while, instead of one lookup per block.
//
// Per-block lookups are what this saves: under a bulk upload their
// queries queue behind the blocks on every busy link, and the put waits
// for them (storebench upload, 8 uploaders of 20 peers, 2 repetitions a
// run: 2.98x the central peer with a lookup per block; 2.53-3.24x over
// five runs with the view, spread mostly by how unevenly random peer IDs
// share out the key space, which placement by load (placement.go) has
// since evened out).
//
// The view lasts as long as an owner stays cached (OwnerCacheTTL), and
// only while the routing table holds as many peers as when the lookup
// answered: a newcomer that connects, or a peer the table drops, makes
// the next placement ask the DHT again, and so does a peer that stops
// answering (forget).
type wholeView struct {
	mu    sync.Mutex
	peers []peer.ID
	table int // routing-table size when the lookup answered
	exp   time.Time
}

// get returns the whole DVM but this peer, if a recent lookup saw it and
// the routing table has not changed size since. The slice is the
// caller's own.
func (v *wholeView) get(now time.Time, table int) ([]peer.ID, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.peers == nil || !now.Before(v.exp) || table != v.table {
		return nil, false
	}
	return slices.Clone(v.peers), true
}

// learn takes a lookup's answer; only one short of a bucket describes
// the whole DVM.
func (v *wholeView) learn(found []peer.ID, table int, until time.Time) {
	if len(found) == 0 || len(found) >= amino.DefaultBucketSize {
		return
	}
	v.mu.Lock()
	v.peers, v.table, v.exp = slices.Clone(found), table, until
	v.mu.Unlock()
}

// forget drops the view: one of its peers did not answer.
func (v *wholeView) forget() {
	v.mu.Lock()
	v.peers = nil
	v.mu.Unlock()
}
