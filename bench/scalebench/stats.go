package main

// lookupTrace follows one iterative closest-peers query through its
// routing query events and derives how many requests it sent and how
// deep the chain of requests went.
//
// kad-dht queries up to alpha peers at once and starts a new request as
// soon as any answer names a closer peer, so it has no rounds of its own.
// The depth of a request stands in for them: a peer the querier knew
// before the lookup (its routing table) is queried at depth 1, and a peer
// first named in the answer of a depth-d request is queried at depth d+1.
// The deepest answered request is the length of the longest chain of
// round trips, each of which had to wait for the one before: the
// lookup's sequential rounds.
//
// Events must arrive in causal order: an answer before the requests it
// made possible. kad-dht publishes a peer's answer before it hands the
// peers in it to the query, and the event channel is unbuffered past a
// small buffer read by one goroutine, so that holds.
type lookupTrace struct {
	learned  map[string]int // peer -> depth of the request that first named it
	depth    map[string]int // peer -> depth at which it was queried
	Sent     int            // requests sent (SendingQuery)
	Answered int            // answers (PeerResponse)
	Failed   int            // errors (QueryError)
	Rounds   int            // deepest answered request
}

func newLookupTrace() *lookupTrace {
	return &lookupTrace{learned: map[string]int{}, depth: map[string]int{}}
}

// sending records a request to p.
func (t *lookupTrace) sending(p string) {
	t.Sent++
	t.depth[p] = t.learned[p] + 1 // 0+1 for a peer from the routing table
}

// answered records p's answer naming peers.
func (t *lookupTrace) answered(p string, peers []string) {
	t.Answered++
	d, ok := t.depth[p]
	if !ok { // an answer without its request: count it as a first-round one
		d = 1
	}
	t.Rounds = max(t.Rounds, d)
	for _, q := range peers {
		if _, seen := t.learned[q]; !seen {
			t.learned[q] = d
		}
	}
}

// failed records a request to p that got no answer.
func (t *lookupTrace) failed() { t.Failed++ }

// depthOf is the depth at which p was first named (0: known before the
// lookup, or never named), the rounds it took to discover p.
func (t *lookupTrace) depthOf(p string) int { return t.learned[p] }
