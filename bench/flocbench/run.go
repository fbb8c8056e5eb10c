package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/dvm"
	"github.com/p2pdvm/p2pdvm/floc"
)

// runResult is one run of the job, Floc on or off.
type runResult struct {
	Mode    string // "floc" or "routed"
	Floc    floc.Config
	Logs    []rankLog // by rank
	Msgs    []sample
	Traffic []trafficSample
	Hosts   []peer.ID // by rank
	Sites   []int     // of each rank's host
	Wall    time.Duration
}

// sample is a message with what the geography says about it.
type sample struct {
	msg
	Link  time.Duration // configured one-way latency between the two hosts (0: same host)
	Ideal time.Duration // the routed path's: host(src) -> owner -> host(dst)
}

// runOnce runs the job in one mode: "floc", "routed" (Floc off) or
// "direct", the reference: Floc on and ranks connecting to each other
// directly (RankDirect), without site latency and with only the ring
// phase of any length, for the one-way time of a direct connection
// between two ranks on this machine.
func runOnce(ctx context.Context, cfg config, mode string, log *slog.Logger) (*runResult, error) {
	withFloc, direct := mode != "routed", mode == "direct"
	res := &runResult{Mode: mode}
	dir := filepath.Join(cfg.Dir, mode)
	outDir := filepath.Join(dir, "out")
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return nil, err
	}
	progress("%s: starting %d peers on mocknet", mode, cfg.Peers)
	c, err := startCluster(cfg.Peers, cfg.Seed, dir, func(pc *dvm.Config) {
		pc.RankDirect = direct
		pc.Floc.Enabled = withFloc
		// No churn here: an owner once looked up stays the owner, so
		// lookups happen once per destination, in the start phase, and
		// not again in the middle of a measured one.
		pc.OwnerCacheTTL = 10 * time.Minute
		res.Floc = pc.Floc
	}, log)
	if err != nil {
		return nil, err
	}
	defer c.close()

	rest := cfg.Phase
	if direct {
		rest = time.Millisecond // one broadcast, one barrier, one sparse round
	}
	args := []string{
		"-ring", cfg.Phase.String(), "-ring-every", cfg.RingEvery.String(), "-bcast", rest.String(), "-barrier", rest.String(), "-sparse", rest.String(),
		"-bcast-every", cfg.BcastEvery.String(), "-sparse-every", cfg.SparseEvery.String(), outDir,
	}
	progress("%s: submitting %d ranks", mode, cfg.Ranks)
	start := time.Now()
	j, err := c.peers[0].Submit(ctx, dvm.Spec{Program: cfg.Prog, N: cfg.Ranks, Args: args})
	if err != nil {
		return nil, err
	}
	// Counters from submission on, in absolute time until the ranks tell
	// the common start.
	type abs struct {
		at time.Time
		s  trafficSample
	}
	var raw []abs
	// Which peers run rank processes, seen from the peers themselves, to
	// check the record's placement against.
	seen := map[peer.ID]int{}
	tick := time.NewTicker(cfg.SampleEvery)
	limit := time.After(4*cfg.Phase + 2*time.Minute)
wait:
	for {
		select {
		case <-j.Done():
			break wait
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-limit:
			return nil, fmt.Errorf("%s: job %s still running after %v", mode, j.ID(), 4*cfg.Phase+2*time.Minute)
		case now := <-tick.C:
			raw = append(raw, abs{now, c.traffic()})
			if len(raw)%10 == 0 || !c.delay.on.Load() {
				procs := 0
				for _, p := range c.peers {
					n := p.Info().Procs
					seen[p.ID()] = max(seen[p.ID()], n)
					procs += n
				}
				// Spawning (the program through the block store) goes
				// without site latency, to keep the benchmark short; the
				// ranks' start phase then runs with it.
				if procs == cfg.Ranks && !c.delay.on.Load() && !direct {
					c.delay.on.Store(true)
					progress("%s: all ranks running after %.1f s; site latency on", mode, time.Since(start).Seconds())
				}
			}
		}
	}
	tick.Stop()
	raw = append(raw, abs{time.Now(), c.traffic()})
	res.Wall = time.Since(start)
	rec, err := j.Wait(ctx)
	if err != nil {
		return nil, err
	}
	if rec.State != dvm.JobDone {
		var sb strings.Builder
		_ = j.Output(ctx, false, func(ch dvm.Chunk) error { sb.Write(ch.Data); return nil })
		return nil, fmt.Errorf("%s: job %s %s (exit %d): %s\n%s", mode, j.ID(), rec.State, rec.ExitCode, rec.Err, sb.String())
	}
	progress("%s: job done in %.1f s", mode, res.Wall.Seconds())

	res.Hosts = make([]peer.ID, cfg.Ranks)
	res.Sites = make([]int, cfg.Ranks)
	for _, ri := range rec.Ranks {
		res.Hosts[ri.Rank] = ri.Host
		res.Sites[ri.Rank] = c.site[ri.Host]
	}
	recHosts := map[peer.ID]int{}
	for _, h := range res.Hosts {
		recHosts[h]++
	}
	for i, p := range c.peers {
		if seen[p.ID()] != recHosts[p.ID()] {
			progress("%s: peer %d (site %d) ran up to %d rank processes, the record places %d there", mode, i, c.site[p.ID()], seen[p.ID()], recHosts[p.ID()])
		}
	}
	owners := make([]peer.ID, cfg.Ranks)
	for r := range owners {
		owners[r] = c.owner(dvm.RankKey(j.ID(), r))
	}
	for r := range cfg.Ranks {
		f, err := os.Open(filepath.Join(outDir, fmt.Sprintf("rank-%d.tsv", r)))
		if err != nil {
			return nil, err
		}
		l, err := parseRankLog(f, r)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: rank %d's samples: %w", mode, r, err)
		}
		res.Logs = append(res.Logs, l)
		for _, m := range l.Msgs {
			hs, hd, o := res.Hosts[m.Src], res.Hosts[m.Dst], owners[m.Dst]
			res.Msgs = append(res.Msgs, sample{msg: m, Link: c.latency(hs, hd), Ideal: c.latency(hs, o) + c.latency(o, hd)})
		}
	}
	t0 := res.Logs[0].T0
	for _, a := range raw {
		s := a.s
		s.At = a.at.Sub(t0)
		res.Traffic = append(res.Traffic, s)
	}
	return res, nil
}

func writeSamples(path string, runs []*runResult) error {
	var sb strings.Builder
	sb.WriteString("mode\tphase\trecv_s\tsrc\tdst\tlatency_ms\tlink_ms\trouted_path_ms\n")
	for _, r := range runs {
		for _, m := range r.Msgs {
			fmt.Fprintf(&sb, "%s\t%s\t%.6f\t%d\t%d\t%.3f\t%.3f\t%.3f\n", r.Mode, m.Phase, m.Recv.Seconds(), m.Src, m.Dst,
				ms(m.Latency), ms(m.Link), ms(m.Ideal))
		}
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func writeTraffic(path string, runs []*runResult) error {
	var sb strings.Builder
	sb.WriteString("mode\tt_s\tlocal\tshortcut\trouted\thops\n")
	for _, r := range runs {
		for _, s := range r.Traffic {
			fmt.Fprintf(&sb, "%s\t%.3f\t%d\t%d\t%d\t%d\n", r.Mode, s.At.Seconds(), s.Local, s.Shortcut, s.Routed, s.Hops)
		}
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
