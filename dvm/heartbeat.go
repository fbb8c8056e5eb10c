package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Failure detection. A host that crashes or is killed closes its
// connections, and the submitter learns at once from the rank's output
// stream. A host that hangs, or whose network goes silent, closes
// nothing; so the submitter also pings every host of a running job and
// declares it lost after HeartbeatMisses consecutive pings that got no
// answer within HeartbeatInterval each.

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

func (p *Peer) handlePing(context.Context, peer.ID, json.RawMessage) (any, error) { return nil, nil }

// watchHosts pings the hosts of the job's current run until it ends.
func (j *Job) watchHosts() {
	cfg := j.p.cfg
	if cfg.HeartbeatInterval <= 0 {
		return
	}
	m := &misses{limit: cfg.HeartbeatMisses, n: map[peer.ID]int{}}
	j.every(cfg.HeartbeatInterval, func() {
		j.mu.Lock()
		run := j.core.rec.Run
		hosts := j.rankHostsLocked()
		j.mu.Unlock()
		ok := make([]bool, len(hosts))
		var wg sync.WaitGroup
		for i, h := range hosts {
			if h == j.p.h.ID() {
				ok[i] = true
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(j.p.ctx, cfg.HeartbeatInterval)
				defer cancel()
				ok[i] = j.p.call(ctx, h, "peer.ping", struct{}{}, nil) == nil
			}()
		}
		wg.Wait()
		for i, h := range hosts {
			if m.answer(h, ok[i]) {
				j.hostLost(run, h, fmt.Sprintf("host %s missed %d heartbeats", shortID(h), m.limit))
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
