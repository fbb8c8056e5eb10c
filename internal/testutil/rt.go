package testutil

import (
	"fmt"
	"time"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"
)

// bucketSize is kad-dht's k: at most this many peers per common-prefix
// length in a routing table.
const bucketSize = 20

// FullTable is the size of self's kad-dht routing table once it knows
// every peer in others: with more than k peers sharing a prefix length
// with self, the bucket holds only k of them.
func FullTable(self peer.ID, others []peer.ID) int {
	me := kb.ConvertPeerID(self)
	per := map[int]int{}
	for _, q := range others {
		if q != self {
			per[kb.CommonPrefixLen(me, kb.ConvertPeerID(q))]++
		}
	}
	n := 0
	for _, c := range per {
		n += min(c, bucketSize)
	}
	return n
}

// WaitTable waits until size() reaches want. kad-dht's tables fill in
// their own time and, under load, now and then stay a peer or two short
// for minutes (a peer whose lookup check timed out waits for the next
// refresh, ten minutes by default). So every soft interval that finds
// the table short calls nudge (if not nil), which should ask for that
// refresh now. Owner lookups ask the network, so nothing depends on the
// last entries: after soft, two short is enough; after hard it gives up
// with an error that says how far it got.
func WaitTable(size func() int, want int, soft, hard time.Duration, nudge func()) error {
	start := time.Now()
	nudged := start
	for {
		have := size()
		if have >= want || have >= want-2 && time.Since(start) > soft {
			return nil
		}
		if time.Since(start) > hard {
			return fmt.Errorf("%d of %d after %v", have, want, hard)
		}
		if nudge != nil && time.Since(nudged) > soft {
			nudge()
			nudged = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
}
