package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
)

// lookupResult is one cold owner lookup, as a rank's first message to a
// destination pays it before dvm's owner cache knows the key.
type lookupResult struct {
	trace    *lookupTrace
	correct  bool          // found the true owner
	ownerAt  int           // depth at which the owner was first named (0: in the asker's table, or the asker itself)
	dataHops int           // peer hops of the message itself: asker → owner → host
	wall     time.Duration // the lookup's wall time
}

// coldLookup runs dvm's owner lookup (GetClosestPeers plus the asking
// peer) for key from the peer at index from, counting kad-dht's query
// events. host is where the destination rank would run, for the data
// hops.
func (c *cluster) coldLookup(ctx context.Context, from int, key []byte, host peer.ID) (lookupResult, error) {
	p := c.peers[from]
	ectx, cancel := context.WithCancel(ctx)
	ectx, events := routing.RegisterForQueryEvents(ectx)
	tr := newLookupTrace()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			switch ev.Type {
			case routing.SendingQuery:
				tr.sending(string(ev.ID))
			case routing.PeerResponse:
				named := make([]string, 0, len(ev.Responses))
				for _, ai := range ev.Responses {
					named = append(named, string(ai.ID))
				}
				tr.answered(string(ev.ID), named)
			case routing.QueryError:
				tr.failed()
			}
		}
	}()
	lctx, lcancel := context.WithTimeout(ectx, 30*time.Second)
	t0 := time.Now()
	owner, _, err := ownerFrom(lctx, p, key)
	wall := time.Since(t0)
	lcancel()
	// Cancelling closes the channel once the buffered events are read;
	// requests still in flight when the lookup returned publish nothing
	// more, but their SendingQuery is already counted.
	cancel()
	<-done
	if err != nil {
		return lookupResult{}, err
	}
	r := lookupResult{trace: tr, correct: owner == c.trueOwner(key), wall: wall}
	if owner != p.ID() {
		r.ownerAt = tr.depthOf(string(owner))
		r.dataHops++
	}
	if host != owner {
		r.dataHops++
	}
	return r, nil
}

// lookups runs n cold lookups of random keys from random peers, one
// after another (concurrent lookups would share the two cores and each
// other's queues, and the count is what matters here, not throughput).
// The destination's host is a random peer, as dvm's round-robin placement
// over the live peers makes it for a random rank.
func (c *cluster) lookups(ctx context.Context, n int, rng *rand.Rand) ([]lookupResult, error) {
	var out []lookupResult
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		key := randomKey(rng)
		from := rng.IntN(len(c.peers))
		host := c.ids[rng.IntN(len(c.ids))]
		r, err := c.coldLookup(ctx, from, key, host)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
