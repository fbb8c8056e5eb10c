package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Floc's section (#7), from bench/floc.sh's rows (bench/flocbench writes
// most of them; see its report.go for every metric):
//
//	floc-meta            the setting; loadavg, loadavg_after, wall_s
//	floc-run/MODE        wall_s, placement (MODE floc or routed)
//	floc/MODE/PHASE      per phase: latency, hops, chatty pairs, ...
//	floc-next/CASE       ns_op: floc's BenchmarkNext (routed, shortcut, disabled)
//	floc                 status: why the benchmark did not run
//
// The section sits between markers so that BENCH_ONLY=floc can replace
// it in a report the full run wrote.
const (
	flocBegin = "<!-- floc:begin (bench/floc.sh; BENCH_ONLY=floc rewrites this section) -->"
	flocEnd   = "<!-- floc:end -->"
)

var flocPhases = []string{"ring", "bcast", "barrier", "sparse"}

// flocPct is a share as a percentage.
func flocPct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func (p *report) flocNum(row, metric string) (float64, bool) {
	xs := p.r.nums(row, metric)
	if len(xs) == 0 || math.IsNaN(xs[0]) {
		return 0, false
	}
	return xs[0], true
}

func (p *report) flocSection() {
	r := p.r
	fm := func(k string) string { return r.first("floc-meta", k) }
	p.f("\n%s\n## Floc: shortcuts between chatty ranks (#7)\n\n", flocBegin)
	if fm("peers") == "" {
		p.f("Not run: %s.\n%s\n", orDash(r.first("floc", "status")), flocEnd)
		return
	}
	p.f("Run on %s (%s cores, %s); load average %s before, %s after; the section took %s s.",
		r.first("meta", "date"), r.first("meta", "cores"), r.first("meta", "go"), fm("loadavg"), fm("loadavg_after"), fm("wall_s"))
	if r.first("meta", "quick") == "1" {
		p.f(" **Quick smoke run (BENCH_QUICK=1).**")
	}
	if load, err := strconv.ParseFloat(strings.Fields(fm("loadavg") + " x")[0], 64); err == nil {
		if cores, err := strconv.ParseFloat(r.first("meta", "cores"), 64); err == nil && load > cores {
			p.f(" **The machine was busy (load %.1f on %.0f cores) with other work: latencies include waiting for a CPU, and the\n", load, cores)
			p.f("routed backlogs that builds; figures from a quiet machine will be lower.**")
		}
	}
	p.f("\n\n")
	p.f("`bench/flocbench`: %s peers with the real kad-dht on mocknet, in %s sites of equal size; one-way latency between\n", fm("peers"), fm("sites"))
	p.f("sites (ms, row by row): %s. Every peer's streams, opened and accepted, are delayed by a wrapper\n", strings.TrimSuffix(fm("site_latency"), " (ms, one way, site by site)"))
	p.f("(`bench/flocbench/latency.go`), not by mocknet's `LinkOptions.Latency`, which delivers what is buffered at once on\n")
	p.f("Close/CloseWrite (every RPC reply crossed a 60 ms link in under 1 ms) and holds writes under 256 B until the latest\n")
	p.f("one's arrival time. A %s-rank job of `bench/flocbench/phases` runs twice on a fresh DVM: **Floc on** (defaults: a\n", fm("ranks"))
	p.f("destination is chatty at %s messages in %s ms; a shortcut is revalidated by one routed message every %s s and dropped\n", fm("floc_min_msgs"), fm("floc_window_ms"), fm("floc_refresh_s"))
	p.f("after %s s quiet) and **Floc off** (every message routed through the owner of its destination's location object).\n", fm("floc_quiet_s"))
	p.f("`RankDirect` is off, so every message crosses the overlay; owners are looked up once (`OwnerCacheTTL` 10 min, no churn\n")
	p.f("here), in an all-to-all start phase; the program is spawned before site latency is switched on. Where ranks landed:\n")
	p.f("Floc on: %s; Floc off: %s.\n\n", r.first("floc-run/floc", "placement"), r.first("floc-run/routed", "placement"))
	p.f("Phases, %s s each, in this order, every message stamped with its send time (one machine, one clock):\n", fm("phase_s"))
	p.f("**ring**: every %s ms each rank sends to rank+1; **bcast**: every %s ms rank 0 broadcasts down a binomial tree of\n", fm("ring_every_ms"), fm("bcast_every_ms"))
	p.f("point-to-point sends (each hop a message); **barrier**: dissemination barriers back to back (round k: to rank+2^k);\n")
	p.f("**sparse**: every %s ms every rank sends to every other one, far below the threshold. Latency is one way, from the\n", fm("sparse_every_ms"))
	p.f("sender's stamp to the receiving rank's receive. Hops are the hosts' data-plane counters (`Peer.Traffic()`: routed\n")
	p.f("messages count the hops the owner reports, shortcuts 1, local 0), summed over all peers every %s ms. The plot marks\n", fm("sample_every_ms"))
	p.f("rank 0's phase starts (solid: Floc on, dashed: off); the other ranks follow it within a message or two.\n\n")
	p.f("![Message latency and hops per message over time, Floc on and off](bench/floc.svg)\n\n")

	p.f("### Per phase (medians over the phase's messages)\n\n")
	p.f("| phase | Floc on: latency ms, median (p95) | hops/msg | phase took (s) | Floc off: latency ms, median (p95) | hops/msg | phase took (s) |\n")
	p.f("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, ph := range flocPhases {
		p.f("| %s", ph)
		for _, mode := range []string{"floc", "routed"} {
			row := "floc/" + mode + "/" + ph
			p.f(" | %s (%s) | %s | %s", r.first(row, "lat_med_ms"), r.first(row, "lat_p95_ms"), r.first(row, "hops_per_msg"), r.first(row, "dur_s"))
		}
		p.f(" |\n")
	}
	p.f("\nA phase took longer than %s s when messages queued: a routed message waits for the one before it to the same\n", fm("phase_s"))
	p.f("destination to be delivered and acknowledged (a round trip through the owner), so a pair that sends faster than that\n")
	p.f("builds a backlog, which the next phase starts behind.\n\n")

	warm := fm("warmup_s")
	p.f("### Floc on, after a warm-up of %s s in each phase\n\n", warm)
	p.f("Chatty pairs are those whose rate over the phase reaches Floc's threshold. \"At most one hop\" is (shortcut + local) /\n")
	p.f("all messages leaving hosts while every rank is in the phase, from the last rank's start + %s s to the first rank's\n", warm)
	p.f("end: the counters are per peer, so outside that window they also count neighbouring phases' messages (a routed message whose owner is\n")
	p.f("one of the two hosts also takes one hop, but counts as routed here). The reference, a direct connection, is the\n")
	p.f("configured one-way latency between the two hosts plus what a direct connection between two ranks costs on this\n")
	if d := r.first("floc-direct", "lat_med_ms"); d != "" {
		p.f("machine: %s ms, the median one-way time (p95 %s ms) of the ring's messages after warm-up in a third run with\n", d, r.first("floc-direct", "lat_p95_ms"))
		p.f("`RankDirect` on (ranks connect to each other over loopback TCP once Floc finds the pair chatty) and no site latency\n")
		p.f("(%s messages; %s). Messages between ranks on one host are left out.\n\n", r.first("floc-direct", "msgs"), r.first("floc-direct", "placement"))
	} else {
		p.f("machine, which was not measured (%s): the reference is the link latency alone. Messages between ranks on one host\n", orDash(r.first("floc-direct", "status")))
		p.f("are left out.\n\n")
	}
	p.f("| phase | chatty pairs / pairs | messages with ≤ 1 hop | latency ms, median | latency / reference, median (p95) | messages within 1.10× |\n")
	p.f("|---|---:|---:|---:|---:|---:|\n")
	for _, ph := range flocPhases {
		row := "floc/floc/" + ph
		oneHop := r.first(row, "one_hop_frac")
		if x, ok := p.flocNum(row, "one_hop_frac"); ok {
			oneHop = flocPct(x)
		}
		within := "–"
		if x, ok := p.flocNum(row, "chatty_within10"); ok {
			within = flocPct(x)
		}
		med, p95 := r.first(row, "chatty_ratio_med"), r.first(row, "chatty_ratio_p95")
		ratio := "–"
		if med != "" {
			ratio = med + " (" + p95 + ")"
		}
		lat := r.first(row, "chatty_lat_med_ms")
		if lat == "" {
			lat = "–"
		}
		p.f("| %s | %s / %s | %s | %s | %s | %s |\n", ph, r.first(row, "chatty_pairs"), r.first(row, "pairs"), oneHop, lat, ratio, within)
	}

	p.f("\n### Bookkeeping when nothing is chatty\n\n")
	p.f("The sparse phase, pairs that had not talked in an earlier phase (so hold no shortcut): both runs route them all, Floc\n")
	p.f("on counting each message first. The runs place ranks and owners differently (the job id picks both), so latency is\n")
	p.f("also shown over the routed path's configured latency (host → owner → host).\n\n")
	p.f("| | messages | latency ms, median | latency / routed path, median | latency − routed path, ms, median |\n|---|---:|---:|---:|---:|\n")
	for _, mode := range []string{"floc", "routed"} {
		row := "floc/" + mode + "/sparse"
		p.f("| %s | %s | %s | %s | %s |\n", map[string]string{"floc": "Floc on", "routed": "Floc off"}[mode], r.first(row, "fresh_msgs"),
			r.first(row, "fresh_lat_med_ms"), r.first(row, "fresh_path_ratio_med"), r.first(row, "fresh_excess_med_ms"))
	}
	p.f("\nfloc's own cost, `go test -bench BenchmarkNext ./floc` (ns per `Next`, the call every message makes):")
	for _, c := range []string{"routed", "shortcut", "disabled"} {
		p.f(" %s %s;", c, orDash(r.first("floc-next/"+c, "ns_op")))
	}
	p.f(" see `floc/bench_test.go`.\n\n")

	p.f("### Targets (#7)\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range p.flocTargets() {
		p.f("| %s | %s | %s |\n", t.name, t.measured, t.met)
	}
	if notes := r.all("floc-note", "text"); len(notes) > 0 {
		p.f("\n")
		for _, n := range notes {
			p.f("- %s\n", n)
		}
	}
	p.f("%s\n", flocEnd)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// flocTargets judges every phase with chatty pairs. The hop counts come
// from the hosts' counters, which cannot tell pairs apart: where only
// some pairs were chatty, the share is over all of the phase's messages,
// and the row says so.
func (p *report) flocTargets() []target {
	r := p.r
	var hopParts, latParts []string
	hopOK, latOK, measured := true, true, false
	for _, ph := range flocPhases {
		row := "floc/floc/" + ph
		ch, _ := p.flocNum(row, "chatty_pairs")
		pairs, _ := p.flocNum(row, "pairs")
		if ch == 0 {
			continue
		}
		oneHop, ok1 := p.flocNum(row, "one_hop_frac")
		ratio, ok2 := p.flocNum(row, "chatty_ratio_med")
		if !ok1 || !ok2 {
			continue
		}
		measured = true
		hopOK = hopOK && oneHop >= 0.95
		latOK = latOK && ratio <= 1.10
		part := fmt.Sprintf("%s %s", ph, flocPct(oneHop))
		if ch != pairs {
			part += fmt.Sprintf(" (of all its messages: %.0f of %.0f pairs chatty)", ch, pairs)
		}
		hopParts = append(hopParts, part)
		within, _ := p.flocNum(row, "chatty_within10")
		latParts = append(latParts, fmt.Sprintf("%s %.3f× (p95 %s×; %s of messages within 1.10×)", ph, ratio, r.first(row, "chatty_ratio_p95"), flocPct(within)))
	}
	var ts []target
	why := orDash(r.first("floc", "status"))
	if measured {
		ts = append(ts,
			target{"≥ 95% of chatty pairs' messages take one hop, after warm-up", strings.Join(hopParts, "; "), verdict(hopOK, true)},
			target{"chatty pairs' latency within 10% of a direct connection (median)", strings.Join(latParts, "; "), verdict(latOK, true)})
	} else {
		ts = append(ts, target{"≥ 95% of chatty pairs' messages take one hop, after warm-up", why, verdict(false, false)},
			target{"chatty pairs' latency within 10% of a direct connection (median)", why, verdict(false, false)})
	}

	on, ok1 := p.flocNum("floc/floc/sparse", "fresh_path_ratio_med")
	off, ok2 := p.flocNum("floc/routed/sparse", "fresh_path_ratio_med")
	lat, ok3 := p.flocNum("floc/floc/sparse", "fresh_lat_med_ms")
	next, ok4 := p.flocNum("floc-next/routed", "ns_op")
	name := "Floc's bookkeeping adds ≤ 5% per message when nothing is chatty"
	if ok1 && ok2 && ok3 && ok4 && off > 0 && lat > 0 {
		e2e := on/off - 1
		share := next / (lat * 1e6)
		m := fmt.Sprintf("sparse phase, latency / routed path: %+.1f%% with Floc (%.3f vs %.3f); `Next` %.0f ns = %.5f%% of the %.1f ms a message takes",
			100*e2e, on, off, next, 100*share, lat)
		ok := e2e <= 0.05 && share <= 0.05
		v := verdict(ok, true)
		if !ok && share <= 0.05 {
			v = "not met end to end (`Next`'s own share met)"
		}
		ts = append(ts, target{name, m, v})
	} else {
		ts = append(ts, target{name, why, verdict(false, false)})
	}
	return ts
}

// mergeFloc puts a freshly rendered Floc section into an existing report:
// in place of the old one, else before the closing Targets, else at the
// end.
func mergeFloc(old string, r results) string {
	var sec strings.Builder
	(&report{r: r, w: &sec}).flocSection()
	return mergeSection(old, strings.TrimPrefix(sec.String(), "\n"), flocBegin, flocEnd)
}
