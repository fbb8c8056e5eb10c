package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Failure detection. A host that crashes or is killed closes its
// connections, and the submitter learns at once from the rank's output
// stream. A host that hangs, or whose network goes silent, closes
// nothing. Those are found by the owner of each rank's location object:
// it pings the hosts of the objects it holds every HeartbeatInterval, and
// one that misses HeartbeatMisses pings in a row is reported to the job's
// submitter, which confirms with a ping of its own before it acts. So the
// watching is spread over the DVM as the objects are, and follows them
// when the key space changes, instead of resting on one peer per job.
//
// The submitter still watches its hosts, at half the owners' pace, for
// the one case no owner covers: a host that owns its own ranks' objects
// takes the watcher down with it.

// misses counts consecutive missed heartbeats per host. It is pure: the
// watcher feeds it answers and acts on the hosts it declares lost.
type misses struct {
	limit int
	n     map[peer.ID]int
}

// answer records one ping's outcome and reports whether the host has now
// missed limit in a row.
func (m *misses) answer(h peer.ID, ok bool) (lost bool) {
	if ok {
		delete(m.n, h)
		return false
	}
	m.n[h]++
	if m.n[h] < m.limit {
		return false
	}
	delete(m.n, h)
	return true
}

// keep forgets the hosts no longer watched, so a host watched again later
// starts with a clean slate.
func (m *misses) keep(watched map[peer.ID][]Location) {
	for h := range m.n {
		if _, ok := watched[h]; !ok {
			delete(m.n, h)
		}
	}
}

func (p *Peer) handlePing(context.Context, peer.ID, json.RawMessage) (any, error) { return nil, nil }

// ping asks h for a sign of life within timeout.
func (p *Peer) ping(h peer.ID, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	t0 := time.Now()
	ok := p.call(ctx, h, "peer.ping", struct{}{}, nil) == nil
	p.pings.add(time.Since(t0), ok)
	return ok
}

// HeartbeatStats describes the heartbeats this peer sent: how many, how
// many went unanswered, and the round-trip times of the last answered
// ones. They are the evidence for the timeout: a live host's worst
// round trip under load against the HeartbeatInterval it must beat.
type HeartbeatStats struct {
	Sent   uint64  `json:"sent"`
	Missed uint64  `json:"missed"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"` // over every answered ping, not only the recent ones
}

// pingStats keeps the last pingWindow round trips.
type pingStats struct {
	mu          sync.Mutex
	sent, missd uint64
	rtt         []time.Duration // ring
	next        int
	max         time.Duration
}

const pingWindow = 1024

func (s *pingStats) add(d time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if !ok {
		s.missd++
		return
	}
	s.max = max(s.max, d)
	if len(s.rtt) < pingWindow {
		s.rtt = append(s.rtt, d)
		return
	}
	s.rtt[s.next] = d
	s.next = (s.next + 1) % pingWindow
}

func (s *pingStats) snapshot() HeartbeatStats {
	s.mu.Lock()
	rtt := slices.Clone(s.rtt)
	st := HeartbeatStats{Sent: s.sent, Missed: s.missd, MaxMs: ms(s.max)}
	s.mu.Unlock()
	if len(rtt) == 0 {
		return st
	}
	slices.Sort(rtt)
	at := func(q float64) float64 { return ms(rtt[min(len(rtt)-1, int(q*float64(len(rtt))))]) }
	st.P50Ms, st.P99Ms = at(0.5), at(0.99)
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pingAll pings hosts at once and returns who answered.
func (p *Peer) pingAll(hosts []peer.ID, timeout time.Duration) []bool {
	ok := make([]bool, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		if h == p.h.ID() {
			ok[i] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[i] = p.ping(h, timeout)
		}()
	}
	wg.Wait()
	return ok
}

// ownerWatch is an owner's watch over the hosts of its location objects.
type ownerWatch struct {
	p        *Peer
	busy     atomic.Bool // a round is under way
	mu       sync.Mutex
	m        misses
	bursts   map[peer.ID]bool // hosts being probed after a disconnect
	reported map[lostRun]bool // runs told their host is lost, so each is told once
}

// lostRun is a run whose submitter was told that host h is lost.
type lostRun struct {
	run string
	h   peer.ID
}

// watched groups the objects held by host, leaving out this peer's own.
func (w *ownerWatch) watched() map[peer.ID][]Location {
	out := map[peer.ID][]Location{}
	for _, l := range w.p.locs.list() {
		if l.Host != "" && l.Host != w.p.h.ID() {
			out[l.Host] = append(out[l.Host], l)
		}
	}
	return out
}

// runHostWatch is the owner's loop: a round of pings every
// HeartbeatInterval, and a burst of quicker probes when the connection
// to a watched host drops (a killed peer refuses the redial at once, so
// its loss is known in a fraction of the interval). It is a loop of its
// own, not part of the location upkeep: that one waits on DHT lookups,
// which a hung peer stalls for seconds (the SIGSTOP test took 5.8 s
// instead of 3.7 s to declare a hung host with the two loops merged).
func (p *Peer) runHostWatch() {
	iv := p.cfg.HeartbeatInterval
	if iv <= 0 {
		return
	}
	w := &ownerWatch{p: p, m: misses{limit: p.cfg.HeartbeatMisses, n: map[peer.ID]int{}},
		bursts: map[peer.ID]bool{}, reported: map[lostRun]bool{}}
	// The notifier only queues: goroutines are started from this loop,
	// which holds the peer's WaitGroup, so none starts after Close waited.
	drops := make(chan peer.ID, 64)
	n := &network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) {
		select {
		case drops <- c.RemotePeer():
		default: // a flood of drops: the next round covers them
		}
	}}
	p.h.Network().Notify(n)
	defer p.h.Network().StopNotify(n)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case h := <-drops:
			if p.h.Network().Connectedness(h) != network.Connected {
				p.goFunc(func() { w.burst(h) })
			}
		case <-t.C:
			// A round lasts up to the interval; one still going skips a tick
			// rather than count its misses twice. A peer that owns no object
			// pings nobody and starts nothing.
			if p.locs.count() > 0 && w.busy.CompareAndSwap(false, true) {
				p.goFunc(func() {
					defer w.busy.Store(false)
					w.round(pingTimeout(iv))
				})
			}
		}
	}
}

// pingTimeout is how long a heartbeat may take: three quarters of the
// interval, so that a round of pings to a silent host ends before the
// next tick. With the whole interval, the round would still be running
// at the tick, the tick would be skipped, and each miss would take two
// intervals (a hung host took 6 s to declare instead of 3 to 4).
func pingTimeout(interval time.Duration) time.Duration { return interval * 3 / 4 }

func (w *ownerWatch) round(timeout time.Duration) {
	byHost := w.watched()
	w.mu.Lock()
	w.m.keep(byHost)
	for k := range w.reported {
		if _, ok := byHost[k.h]; !ok {
			delete(w.reported, k)
		}
	}
	w.mu.Unlock()
	hosts := make([]peer.ID, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	ok := w.p.pingAll(hosts, timeout)
	for i, h := range hosts {
		w.record(h, ok[i], byHost[h])
	}
}

// burst probes a host whose connection just dropped, up to the miss
// limit, a quarter interval apart; a live host answers the first (its
// connection may have been trimmed, or it reconnects).
func (w *ownerWatch) burst(h peer.ID) {
	w.mu.Lock()
	if w.bursts[h] {
		w.mu.Unlock()
		return
	}
	w.bursts[h] = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.bursts, h)
		w.mu.Unlock()
	}()
	gap := w.p.cfg.HeartbeatInterval / 4
	for range w.m.limit {
		locs := w.watched()[h]
		if len(locs) == 0 {
			return
		}
		ok := w.p.ping(h, pingTimeout(w.p.cfg.HeartbeatInterval))
		if w.record(h, ok, locs) || ok {
			return
		}
		select {
		case <-w.p.ctx.Done():
			return
		case <-time.After(gap):
		}
	}
}

// record feeds one ping's outcome and, when the host is lost, tells the
// submitter of every run with ranks there (once per run and host).
func (w *ownerWatch) record(h peer.ID, ok bool, locs []Location) (lost bool) {
	w.mu.Lock()
	lost = w.m.answer(h, ok)
	if ok {
		for k := range w.reported {
			if k.h == h {
				delete(w.reported, k)
			}
		}
	}
	var tell []Location // one per run
	if lost {
		for _, l := range locs {
			if k := (lostRun{l.Job, h}); !w.reported[k] {
				w.reported[k] = true
				tell = append(tell, l)
			}
		}
	}
	w.mu.Unlock()
	why := fmt.Sprintf("host %s missed %d heartbeats from owner %s", shortID(h), w.m.limit, shortID(w.p.h.ID()))
	for _, l := range tell {
		w.p.log.Warn("watched host lost", "run", l.Job, "host", shortID(h), "submitter", shortID(l.Submitter))
		w.p.goFunc(func() {
			ctx, cancel := context.WithTimeout(w.p.ctx, 2*w.p.cfg.HeartbeatInterval)
			defer cancel()
			if err := w.p.call(ctx, l.Submitter, "host.lost", hostLostReq{Run: l.Job, Host: h, Why: why}, nil); err != nil {
				w.p.log.Info("telling a submitter its host is lost", "run", l.Job, "submitter", shortID(l.Submitter), "err", err)
			}
		})
	}
	return lost
}

// hostLostReq is an owner's report that a host of a run's ranks is lost.
type hostLostReq struct {
	Run  string  `json:"run"`
	Host peer.ID `json:"host"`
	Why  string  `json:"why"`
}

// handleHostLost takes an owner's report. Any peer may send one, so it
// only starts a check: the submitter pings the host itself and acts only
// if that goes unanswered too (half an interval is ample for a live
// peer, which answers a loopback ping in well under a millisecond).
func (p *Peer) handleHostLost(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req hostLostReq
	if err := wire.DecodeJSON(body, &req); err != nil {
		return nil, err
	}
	j, run := p.jobs.getRun(req.Run)
	if j == nil || req.Host == p.h.ID() || !j.hostsRanks(run, req.Host) || !j.confirming(req.Host, true) {
		return nil, nil
	}
	defer j.confirming(req.Host, false)
	if p.ping(req.Host, max(p.cfg.HeartbeatInterval/2, 100*time.Millisecond)) {
		p.log.Info("reported lost but answers", "job", j.ID(), "host", shortID(req.Host), "reporter", shortID(from))
		return nil, nil
	}
	j.hostLost(run, req.Host, req.Why)
	return nil, nil
}

// hostsRanks reports whether h hosts running ranks of the current run.
func (j *Job) hostsRanks(run int, h peer.ID) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if run != j.core.rec.Run {
		return false
	}
	for _, r := range j.core.rec.Ranks {
		if r.Host == h && r.State == RankRunning {
			return true
		}
	}
	return false
}

// confirming marks (on) or unmarks a host under check and reports whether
// the mark was taken: one check per host at a time, however many reports.
func (j *Job) confirming(h peer.ID, on bool) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !on {
		delete(j.checking, h)
		return true
	}
	if j.checking[h] {
		return false
	}
	if j.checking == nil {
		j.checking = map[peer.ID]bool{}
	}
	j.checking[h] = true
	return true
}

// watchHosts is the submitter's own watch, the fallback for a host that
// owned its ranks' objects: twice the owners' miss limit, so the owners'
// report comes first whenever there is an owner to send it.
func (j *Job) watchHosts() {
	cfg := j.p.cfg
	if cfg.HeartbeatInterval <= 0 {
		return
	}
	m := &misses{limit: 2 * cfg.HeartbeatMisses, n: map[peer.ID]int{}}
	j.every(cfg.HeartbeatInterval, func() {
		j.mu.Lock()
		run := j.core.rec.Run
		hosts := j.rankHostsLocked()
		j.mu.Unlock()
		ok := j.p.pingAll(hosts, pingTimeout(cfg.HeartbeatInterval))
		for i, h := range hosts {
			if m.answer(h, ok[i]) {
				j.hostLost(run, h, fmt.Sprintf("host %s missed %d heartbeats from the submitter", shortID(h), m.limit))
			}
		}
	})
}

// hostLost ends the ranks of run on h as lost, as a broken output stream
// would, and drops the connection so nothing half-alive lingers.
func (j *Job) hostLost(run int, h peer.ID, why string) {
	j.p.log.Warn("host lost", "job", j.ID(), "host", shortID(h), "why", why)
	j.mu.Lock()
	var ranks []int
	if run == j.core.rec.Run {
		for _, r := range j.core.rec.Ranks {
			if r.Host == h && r.State == RankRunning {
				ranks = append(ranks, r.Rank)
			}
		}
	}
	j.mu.Unlock()
	for _, r := range ranks {
		j.exit(run, r, wire.Exit{Code: 255, Err: "host lost: " + why}, RankLost)
	}
	_ = j.p.h.Network().ClosePeer(h)
}
