package dvm

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/storage"
)

// Where an uploader puts a block's replicas: on k of the w peers closest
// to its ID (the block's window), the ones it has sent least to lately.
//
// Placing on exactly the k closest lets the skew of random peer IDs
// decide how much each peer receives: with 20 peers the busiest one is
// among the 3 closest to 8–10% of all keys, not 5%, and during a burst
// of uploads its downlink sets the pace for everyone. Choosing among the
// window spreads each uploader's bytes over its peers, and so the sum of
// all uploaders' and the storage. A peer still takes copies only of the
// blocks whose windows it is in, so with 20 peers the busiest still gets
// 1.2-1.6 times the mean (storebench upload: 5.7-8.2% of the copies
// against an even 5%), where it got 1.6-2 times. Readers ask the window
// in distance order, repair keeps k copies inside it, and a copy goes
// only when its peer leaves the window or is one too many, so a burst
// costs no migration later. An idle uploader's loads are all below one
// quantum and tie, so a lone small put still goes to the k closest.

// loadQuantum is the resolution of the load comparison: about one chunk.
// Loads that differ by less do not reorder peers, so placement only
// departs from the k closest once an uploader has sent a peer a chunk
// or more that the others have not had.
const loadQuantum = 1 << 20

// loadHalfLife is how fast an uploader forgets what it sent: long enough
// to balance the whole of a checkpoint burst, short enough that the
// next burst starts from a clean slate.
const loadHalfLife = 10 * time.Second

// sendLoad counts the bytes this peer recently placed on each peer,
// decaying with loadHalfLife, and remembers where it placed its latest
// blocks.
type sendLoad struct {
	mu     sync.Mutex
	m      map[peer.ID]loadEntry
	placed map[storage.ID][]peer.ID
}

// maxPlaced bounds the blocks whose holders a peer remembers: a few GiB
// of chunks, a few hundred KiB of memory.
const maxPlaced = 4096

type loadEntry struct {
	v  float64
	at time.Time
}

func decayed(e loadEntry, now time.Time) float64 {
	return e.v * math.Exp2(-now.Sub(e.at).Seconds()/loadHalfLife.Seconds())
}

// add books n bytes on each of ps.
func (l *sendLoad) add(ps []peer.ID, n int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[peer.ID]loadEntry{}
	}
	if len(l.m) > 4096 {
		// Peers long gone would otherwise stay forever in a big DVM.
		for q, e := range l.m {
			if decayed(e, now) < loadQuantum/16 {
				delete(l.m, q)
			}
		}
	}
	for _, q := range ps {
		l.m[q] = loadEntry{v: decayed(l.m[q], now) + float64(n), at: now}
	}
}

// levels returns each of ps's load in quanta.
func (l *sendLoad) levels(ps []peer.ID, now time.Time) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, len(ps))
	for i, q := range ps {
		out[i] = int64(decayed(l.m[q], now) / loadQuantum)
	}
	return out
}

// remember records where a block was placed.
func (l *sendLoad) remember(id storage.ID, holders []peer.ID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.placed == nil {
		l.placed = map[storage.ID][]peer.ID{}
	}
	if len(l.placed) >= maxPlaced {
		for b := range l.placed { // map order: an arbitrary half goes
			if len(l.placed) < maxPlaced/2 {
				break
			}
			delete(l.placed, b)
		}
	}
	l.placed[id] = slices.Clone(holders)
}

// order returns cands in the order a put of id tries them: where this
// peer last placed the block, if those peers are all still in its
// window, so that putting the same content again (a program submitted
// twice) finds the copies in place instead of making new ones;
// otherwise by pickHolders.
func (l *sendLoad) order(id storage.ID, cands []peer.ID, k, w int, now time.Time) []peer.ID {
	l.mu.Lock()
	prev := l.placed[id]
	l.mu.Unlock()
	win := cands[:min(w, len(cands))]
	if len(prev) == min(k, len(cands)) && !slices.ContainsFunc(prev, func(q peer.ID) bool { return !slices.Contains(win, q) }) {
		levels := make([]int64, len(cands))
		for i, q := range cands {
			if !slices.Contains(prev, q) {
				levels[i] = 1
			}
		}
		return pickHolders(cands, levels, k, w)
	}
	return pickHolders(cands, l.levels(cands, now), k, w)
}

// pickHolders orders cands (closest first) for a put: the k of the
// first w with the lowest level, closest first (equal levels go to the
// closer peer), then the rest of the window, least loaded first, then
// the peers beyond it: a holder that fails is replaced by the window's
// next-least-loaded peer before any peer outside the window.
// levels[i] is cands[i]'s load.
func pickHolders(cands []peer.ID, levels []int64, k, w int) []peer.ID {
	w = min(w, len(cands))
	idx := make([]int, w)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(levels[a], levels[b]) })
	chosen := idx[:min(k, w)]
	slices.Sort(chosen)
	out := make([]peer.ID, 0, len(cands))
	for _, i := range chosen {
		out = append(out, cands[i])
	}
	rest := idx[min(k, w):]
	for _, i := range rest {
		out = append(out, cands[i])
	}
	return append(out, cands[w:]...)
}
