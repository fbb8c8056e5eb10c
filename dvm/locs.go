package dvm

import (
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

type rankID struct {
	job  string
	rank int
}

// locTable holds the location objects this peer owns, and forwarding
// pointers for those it handed on.
type locTable struct {
	mu    sync.RWMutex
	m     map[rankID]Location
	moved map[rankID]movedLoc  // handed to a closer peer: route with the copy meanwhile
	ended map[string]time.Time // released jobs, so late messages are dropped, not retried
	check map[rankID]time.Time // when each held object was last checked by a lookup
	// wake asks the location upkeep loop for a round now (a peer joined or
	// left, a ticket arrived) instead of at its next tick.
	wake chan struct{}
}

// movedLoc remembers where an object went. A sender whose idea of the
// owner predates the move still reaches its rank: the process did not
// move, so the old copy forwards correctly until the pointer expires.
type movedLoc struct {
	to  peer.ID
	loc Location
	at  time.Time
}

// tombstoneTTL is how long an owner remembers that a job ended; movedTTL
// how long it forwards for an object it handed on (senders' owner caches
// expire well before: Config.OwnerCacheTTL).
const (
	tombstoneTTL = 10 * time.Minute
	movedTTL     = 2 * time.Minute
)

func newLocTable() *locTable {
	return &locTable{m: map[rankID]Location{}, moved: map[rankID]movedLoc{},
		ended: map[string]time.Time{}, check: map[rankID]time.Time{}, wake: make(chan struct{}, 1)}
}

func (t *locTable) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *locTable) isEnded(job string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, ok := t.ended[job]
	return ok
}

func (t *locTable) get(job string, rank int) (Location, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l, ok := t.m[rankID{job, rank}]
	return l, ok
}

// lookup finds the location to route by: the object if held, else the
// copy kept when it was handed on (moved reports which).
func (t *locTable) lookup(job string, rank int) (l Location, moved, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if l, ok := t.m[rankID{job, rank}]; ok {
		return l, false, true
	}
	if mv, ok := t.moved[rankID{job, rank}]; ok {
		return mv.loc, true, true
	}
	return Location{}, false, false
}

func (t *locTable) put(l Location) {
	t.mu.Lock()
	t.m[rankID{l.Job, l.Rank}] = l
	delete(t.moved, rankID{l.Job, l.Rank})
	t.mu.Unlock()
}

// adopt takes an object that moved here (a hand-off, or a host
// registering its rank after the owner changed) and returns what is held
// afterwards. A move is a new version; an older or equal copy arriving
// late changes nothing, and a ticket fills in a copy that had none.
func (t *locTable) adopt(l Location) (Location, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.ended[l.Job]; ok {
		return Location{}, false
	}
	k := rankID{l.Job, l.Rank}
	if old, ok := t.m[k]; ok && old.Host == l.Host {
		if old.Ticket == nil {
			old.Ticket = l.Ticket
			t.m[k] = old
		}
		return old, true
	}
	l.Version++
	if mv, ok := t.moved[k]; ok && mv.loc.Version >= l.Version {
		l.Version = mv.loc.Version + 1
	}
	t.m[k] = l
	delete(t.moved, k)
	return l, true
}

// attach gives a held object its ticket, sent by its submitter.
func (t *locTable) attach(tk *Ticket, from peer.ID) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := rankID{tk.Job, tk.Rank}
	l, ok := t.m[k]
	if !ok {
		return nil // moved on already: its host registers it where it is
	}
	if l.Submitter != from {
		return fmt.Errorf("%w: ticket from a peer that did not submit the job", wire.ErrDenied)
	}
	if err := verifyTicket(tk, l); err != nil {
		return err
	}
	l.Ticket = tk
	t.m[k] = l
	return nil
}

// moveOut drops the objects handed to to, keeping forwarding pointers.
func (t *locTable) moveOut(to peer.ID, ls []Location) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for _, l := range ls {
		k := rankID{l.Job, l.Rank}
		if cur, ok := t.m[k]; ok && cur.Version == l.Version {
			delete(t.m, k)
			t.moved[k] = movedLoc{to: to, loc: cur, at: now}
		}
	}
}

// dueForCheck returns the objects held that were not checked within
// every, and marks them checked now.
func (t *locTable) dueForCheck(now time.Time, every time.Duration) []Location {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Location
	for k, l := range t.m {
		if now.Sub(t.check[k]) >= every {
			t.check[k] = now
			out = append(out, l)
		}
	}
	for k := range t.check {
		if _, ok := t.m[k]; !ok {
			delete(t.check, k)
		}
	}
	return out
}

// list returns every object held.
func (t *locTable) list() []Location {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Location, 0, len(t.m))
	for _, l := range t.m {
		out = append(out, l)
	}
	return out
}

func (t *locTable) releaseJob(job string, by peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	released := false
	for k, l := range t.m {
		if k.job == job && l.Submitter == by {
			delete(t.m, k)
			released = true
		}
	}
	for k, mv := range t.moved {
		if k.job == job && mv.loc.Submitter == by {
			delete(t.moved, k)
			released = true
		}
	}
	if !released {
		return
	}
	t.ended[job] = time.Now()
}

// expire forgets old tombstones and forwarding pointers.
func (t *locTable) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for j, at := range t.ended {
		if now.Sub(at) > tombstoneTTL {
			delete(t.ended, j)
		}
	}
	for k, mv := range t.moved {
		if now.Sub(mv.at) > movedTTL {
			delete(t.moved, k)
		}
	}
}

func (t *locTable) count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
