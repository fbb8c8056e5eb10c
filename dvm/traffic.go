package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/floc"
	"github.com/p2pdvm/p2pdvm/internal/wire"
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

// procStatsReq asks a host for the message counts of some ranks of a run
// it hosts; only the run's submitter may ask.
type procStatsReq struct {
	Job   string `json:"job"` // run id
	Ranks []int  `json:"ranks"`
}

// rankCounts is what a rank has sent so far, by path.
type rankCounts struct {
	Rank     int    `json:"rank"`
	Routed   uint64 `json:"routed"`
	Shortcut uint64 `json:"shortcut"`
}

func (p *Peer) handleProcStats(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req procStatsReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if len(req.Ranks) > MaxRanks {
		return nil, fmt.Errorf("%w: %d ranks", wire.ErrBadRequest, len(req.Ranks))
	}
	out := []rankCounts{}
	for _, r := range req.Ranks {
		pr := p.procs.get(req.Job, r)
		if pr == nil {
			continue
		}
		if pr.submitter != from {
			return nil, fmt.Errorf("%w: only the submitter of %s may ask", wire.ErrDenied, req.Job)
		}
		out = append(out, rankCounts{Rank: r, Routed: pr.viaRoute.Load(), Shortcut: pr.viaShortcut.Load()})
	}
	return out, nil
}

// liveCounts fills in what each running rank of rec has sent so far, by
// asking the hosts; a rank's final counts come with its exit. A host that
// does not answer within a second leaves its ranks' counts as they were:
// status must not hang on a slow peer.
func (p *Peer) liveCounts(ctx context.Context, rec *JobRecord) {
	byHost := map[peer.ID][]int{}
	for _, r := range rec.Ranks {
		if r.State == RankRunning && r.Host != "" {
			byHost[r.Host] = append(byHost[r.Host], r.Rank)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	run := runID(rec.ID, rec.Run)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for h, ranks := range byHost {
		wg.Go(func() {
			var got []rankCounts
			if err := p.call(ctx, h, "proc.stats", procStatsReq{Job: run, Ranks: ranks}, &got); err != nil {
				p.log.Debug("live counts", "job", run, "host", shortID(h), "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range got {
				if c.Rank >= 0 && c.Rank < len(rec.Ranks) && rec.Ranks[c.Rank].Host == h {
					rec.Ranks[c.Rank].Routed, rec.Ranks[c.Rank].Shortcut = c.Routed, c.Shortcut
				}
			}
		})
	}
	wg.Wait()
}
