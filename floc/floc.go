package floc

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Dest names a destination rank of one run of a job.
type Dest struct {
	Job  string
	Rank int
}

// Shortcut is a cached location of a destination, used to send to its
// host directly.
type Shortcut struct {
	Dest      Dest
	Host      peer.ID
	Version   uint64
	Installed time.Time
	Validated time.Time // last time a routed reply confirmed Host/Version
	LastUsed  time.Time // last message sent over it; Installed until the first
	Msgs      uint64    // messages sent over it
	Bytes     uint64
}

// Stats counts what the Table did since New.
type Stats struct {
	Held        int    // shortcuts now
	Installed   uint64 // ever installed, replacements included
	Invalidated uint64 // dropped because the location's version changed, or by Invalidate
	Evicted     uint64 // dropped for MaxShortcuts (LRU)
	Quiet       uint64 // dropped by Sweep for no traffic
	ViaShortcut uint64 // messages Next sent by a shortcut
	Routed      uint64 // messages Next sent routed
}

// entry is everything known about one destination. Entries sit on two
// intrusive lists so that both LRU orders cost pointer updates and no
// allocation on the message path.
type entry struct {
	dest  Dest
	win   window
	links [2]links
	held  bool     // sc is a live shortcut
	sc    Shortcut // valid when held
	// Clock readings (see Table.clock) kept beside sc's times, which are
	// for the caller: comparing these costs no time.Time arithmetic.
	used    time.Duration // sc.LastUsed
	recheck time.Duration // after this, the next message goes routed to revalidate sc
}

// Table is safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	cfg   Config
	now   func() time.Time // nil: the real clock
	t0    time.Time        // the clock counts from here, so ticks stay small and non-negative
	width time.Duration    // of one tick: Window/Buckets
	// The Table's time, the latest clock reading, with the tick it falls
	// in and where that tick ends, so that most messages need no division.
	last   time.Duration
	tick   int64
	tickTo time.Duration
	m      map[Dest]*entry
	seen   list // every counted destination, most recently sent to first
	used   list // destinations holding a shortcut, most recently used first
	hosts  map[peer.ID]int
	st     Stats
	// Messages routed while disabled, counted without mu: the baseline
	// should cost as little as Floc can make it.
	baseline atomic.Uint64
}

// New returns an empty Table. now == nil means the real clock, as
// time.Now but read as time.Since (see clock). New panics if
// cfg does not pass Validate: a bad policy is the caller's bug, and
// Validate is there to catch it where the config is read.
func New(cfg Config, now func() time.Time) *Table {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	t := &Table{
		cfg:   cfg,
		now:   now,
		m:     map[Dest]*entry{},
		seen:  list{k: bySeen},
		used:  list{k: byUse},
		hosts: map[peer.ID]int{},
	}
	if now == nil {
		t.t0 = time.Now()
	} else {
		t.t0 = now()
	}
	if cfg.Enabled {
		t.width = cfg.Window / time.Duration(cfg.Buckets)
	}
	return t
}

// clock reads the time since t0, before mu is taken so that the critical
// section does not include it. The real clock reads only the monotonic
// time: time.Now reads the wall clock as well, which costs as much again,
// as much as the rest of Next on some virtual machines.
func (t *Table) clock() time.Duration {
	if t.now == nil {
		return time.Since(t.t0)
	}
	return t.now().Sub(t.t0)
}

// settle makes the reading c the Table's time and returns it with its
// tick; mu must be held. Readings taken before mu can arrive out of order,
// and a fake clock can step back, so the Table's time only moves forward:
// both LRU lists then stay ordered by time, which Sweep relies on.
func (t *Table) settle(c time.Duration) (now time.Duration, tick int64) {
	t.last = max(t.last, c)
	if t.last >= t.tickTo {
		t.tick = int64(t.last / t.width)
		t.tickTo = time.Duration(t.tick+1) * t.width
	}
	return t.last, t.tick
}

// at is the time of a reading, for the caller's eyes.
func (t *Table) at(c time.Duration) time.Time { return t.t0.Add(c) }

// Next records one message of n bytes to d and says how to send it.
// ok: send straight to sc.Host (the shortcut's Msgs/Bytes/LastUsed are
// updated). !ok: route it through the owner; want reports that d is chatty
// now (or its shortcut is due for Refresh), so the caller should pass the
// routed reply's location to Learned.
//
// Switching between the routed and the direct path lets a message overtake
// an earlier one to the same destination; the caller must order them if it
// needs to.
func (t *Table) Next(d Dest, n int) (sc Shortcut, ok bool, want bool) {
	if !t.cfg.Enabled {
		t.baseline.Add(1)
		return Shortcut{}, false, false
	}
	c := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	now, tk := t.settle(c)
	e := t.m[d]
	if e == nil {
		e = t.track(d, tk)
	} else {
		t.seen.moveToFront(e)
	}
	bytes := int64(max(n, 0))
	e.win.add(tk, bytes)
	if e.held {
		if t.cfg.Refresh > 0 && now > e.recheck {
			// Ask again one Refresh later if this reply is lost, so the
			// owner is consulted at least that often while the shortcut
			// is in use.
			e.recheck = now + t.cfg.Refresh
			t.st.Routed++
			return Shortcut{}, false, true
		}
		e.sc.Msgs++
		e.sc.Bytes += uint64(bytes)
		e.used = now
		e.sc.LastUsed = t.at(now)
		t.used.moveToFront(e)
		t.st.ViaShortcut++
		return e.sc, true, false
	}
	t.st.Routed++
	return Shortcut{}, false, e.win.chatty(&t.cfg)
}

// track starts counting d, forgetting the least recently seen destination
// without a shortcut if MaxTracked are counted already. Its entry is
// reused, so a Table at capacity allocates only for the map.
func (t *Table) track(d Dest, tk int64) *entry {
	var e *entry
	if t.seen.n >= t.cfg.MaxTracked {
		// Validate's MaxTracked > MaxShortcuts guarantees one is found
		// within Held+1 steps from the back.
		e = t.seen.back
		for e.held {
			e = e.links[bySeen].prev
		}
		t.forget(e)
		e.win.reset(tk)
		*e = entry{win: e.win}
	} else {
		e = &entry{win: newWindow(t.cfg.Buckets, tk)}
	}
	e.dest = d
	t.m[d] = e
	t.seen.pushFront(e)
	return e
}

func (t *Table) forget(e *entry) {
	t.seen.remove(e)
	delete(t.m, e.dest)
}

// Learned is told the location a routed reply carried for d. If d has a
// shortcut with the same Host and Version it is revalidated; a newer
// Version, or another Host, replaces it (counted as Invalidated). An older
// Version is ignored: versions grow with every move, so that reply was
// overtaken by the one the shortcut came from. With no shortcut, one is
// installed if d is chatty in the current window, evicting the least
// recently used past MaxShortcuts. An empty host is ignored.
//
// It returns the host that just gained its first shortcut ("" if none: the
// caller protects that connection) and the hosts that lost their last one
// (the caller unprotects them). A host is never in both.
func (t *Table) Learned(d Dest, host peer.ID, version uint64) (added peer.ID, removed []peer.ID) {
	if !t.cfg.Enabled || host == "" {
		return "", nil
	}
	c := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	now, tk := t.settle(c)
	e := t.m[d]
	if e == nil {
		return "", nil
	}
	if e.held {
		if e.sc.Host == host && e.sc.Version == version {
			e.sc.Validated = t.at(now)
			e.recheck = now + t.cfg.Refresh
			return "", nil
		}
		if version < e.sc.Version {
			return "", nil
		}
		// Count the new host before releasing the old one: when they
		// are the same host, its count never touches zero, so the caller
		// is not told to unprotect a connection it still uses.
		added = t.acquire(host)
		old := e.sc.Host
		t.set(e, host, version, now)
		t.used.moveToFront(e)
		t.st.Invalidated++
		t.st.Installed++
		if t.release(old) {
			removed = append(removed, old)
		}
		return added, removed
	}
	e.win.advance(tk)
	if !e.win.chatty(&t.cfg) {
		return "", nil
	}
	added = t.acquire(host)
	e.held = true
	t.set(e, host, version, now)
	t.used.pushFront(e)
	t.st.Installed++
	// The new shortcut is at the front, so it is never its own victim.
	// A victim on the same host means acquire found that host counted
	// already, so it is reported neither added nor removed.
	for t.used.n > t.cfg.MaxShortcuts {
		removed = t.drop(t.used.back, removed)
		t.st.Evicted++
	}
	return added, removed
}

// set gives e a fresh shortcut, installed and validated now.
func (t *Table) set(e *entry, host peer.ID, version uint64, now time.Duration) {
	at := t.at(now)
	e.sc = Shortcut{Dest: e.dest, Host: host, Version: version, Installed: at, Validated: at, LastUsed: at}
	e.used = now
	e.recheck = now + t.cfg.Refresh
}

// Invalidate drops d's shortcut (its host refused the message or the
// stream broke). d's traffic is still counted, so if d stays chatty its
// next routed message asks for the location again.
func (t *Table) Invalidate(d Dest) (removed []peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[d]
	if e == nil || !e.held {
		return nil
	}
	t.st.Invalidated++
	return t.drop(e, nil)
}

// DropJob drops every shortcut and counter of job (the run ended). The
// dropped shortcuts are not counted in Stats other than Held. removed is
// sorted.
func (t *Table) DropJob(job string) (removed []peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for d, e := range t.m {
		if d.Job != job {
			continue
		}
		if e.held {
			removed = t.drop(e, removed)
		}
		t.forget(e)
	}
	slices.Sort(removed)
	return removed
}

// Sweep drops shortcuts unused for Quiet and forgets counters of
// destinations idle for a whole window; call it periodically (once a
// Window is plenty).
func (t *Table) Sweep() (removed []peer.ID) {
	if !t.cfg.Enabled {
		return nil
	}
	c := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	now, tk := t.settle(c)
	for e := t.used.back; e != nil && now-e.used >= t.cfg.Quiet; e = t.used.back {
		removed = t.drop(e, removed)
		t.st.Quiet++
	}
	// seen is in order of last message, so the idle counters are a run
	// at the back, interrupted only by shortcut holders, which stay.
	for e := t.seen.back; e != nil; {
		prev := e.links[bySeen].prev
		if !e.held {
			e.win.advance(tk)
			if e.win.msgs > 0 {
				break
			}
			t.forget(e)
		}
		e = prev
	}
	return removed
}

// drop ends e's shortcut, appending its host to removed if that was the
// host's last one. e's counter stays.
func (t *Table) drop(e *entry, removed []peer.ID) []peer.ID {
	t.used.remove(e)
	e.held = false
	h := e.sc.Host
	e.sc = Shortcut{}
	if t.release(h) {
		removed = append(removed, h)
	}
	return removed
}

// acquire counts one more shortcut to h and returns h if it is the first.
func (t *Table) acquire(h peer.ID) peer.ID {
	t.hosts[h]++
	if t.hosts[h] == 1 {
		return h
	}
	return ""
}

// release counts one shortcut less to h and reports whether it was the last.
func (t *Table) release(h peer.ID) bool {
	t.hosts[h]--
	if t.hosts[h] > 0 {
		return false
	}
	delete(t.hosts, h)
	return true
}

// Peek returns d's shortcut if it has one, without counting a message:
// for messages already counted that waited to be routed and can take the
// shortcut now.
func (t *Table) Peek(d Dest) (Shortcut, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[d]
	if !ok || !e.held {
		return Shortcut{}, false
	}
	return e.sc, true
}

// Shortcuts returns the shortcuts held, sorted by Dest (Job, Rank).
func (t *Table) Shortcuts() []Shortcut {
	t.mu.Lock()
	out := make([]Shortcut, 0, t.used.n)
	for e := t.used.front; e != nil; e = e.links[byUse].next {
		out = append(out, e.sc)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Shortcut) int {
		return cmp.Or(cmp.Compare(a.Dest.Job, b.Dest.Job), cmp.Compare(a.Dest.Rank, b.Dest.Rank))
	})
	return out
}

// Stats returns the counters since New.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Held = t.used.n
	s.Routed += t.baseline.Load()
	return s
}
