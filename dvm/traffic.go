package dvm

import (
	"sync/atomic"
	"time"

	"github.com/p2pdvm/p2pdvm/floc"
)

// traffic counts how this peer's ranks' messages left it, and what it
// forwarded for others as an owner.
type traffic struct {
	local, shortcut, routed atomic.Uint64
	hops                    atomic.Uint64
	forwarded               atomic.Uint64
	retries, resent         atomic.Uint64
}

// TrafficStats is a snapshot of a peer's data plane, for `p2pdvm peers`,
// tests and benchmarks.
type TrafficStats struct {
	// Messages from ranks hosted here, by how they left: to a rank on this
	// peer, by a Floc shortcut straight to the destination's host, or
	// routed through the owner of the destination's location object.
	// Messages between ranks connected directly never reach the peer.
	Local, Shortcut, Routed uint64
	// Hops is the total number of peer-to-peer hops those messages took.
	Hops uint64
	// Forwarded counts messages this peer delivered as an owner.
	Forwarded uint64
	// Retries counts routing attempts that had to look the owner up again
	// (churn); Resent, messages routed again after a shortcut's stream broke.
	Retries, Resent uint64
	// LocationObjects is how many location objects this peer owns.
	LocationObjects int
	Floc            floc.Stats
	Shortcuts       []floc.Shortcut
}

// Traffic returns the peer's data-plane counters and its shortcuts.
func (p *Peer) Traffic() TrafficStats {
	t := &p.out.stats
	return TrafficStats{
		Local: t.local.Load(), Shortcut: t.shortcut.Load(), Routed: t.routed.Load(),
		Hops: t.hops.Load(), Forwarded: t.forwarded.Load(),
		Retries: t.retries.Load(), Resent: t.resent.Load(),
		LocationObjects: p.locs.count(),
		Floc:            p.out.floc.Stats(),
		Shortcuts:       p.out.floc.Shortcuts(),
	}
}

// runFlocSweep drops shortcuts whose pairs went quiet, and lets their
// hosts' connections go back to the connection manager.
func (p *Peer) runFlocSweep() {
	if !p.cfg.Floc.Enabled {
		return
	}
	t := time.NewTicker(p.cfg.Floc.Window)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.out.unprotect(p.out.floc.Sweep())
		}
	}
}
