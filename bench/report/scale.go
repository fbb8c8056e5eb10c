package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/p2pdvm/p2pdvm/bench/internal/stats"
)

// The scale section (#7), from bench/scale.sh's rows (bench/scalebench):
//
//	scale-meta            ns, loadavg, loadavg_after
//	scale/N               peers, join, parallel, started_s, connect_failures, bootstrap_s,
//	                      tables_s, bootstrap_status, min_table, nudged,
//	                      table_mean, conns_per_peer, links
//	scale/N               PREFIXheap_mib_per_peer, PREFIXlive_mib_per_peer,
//	                      PREFIXstack_mib_per_peer, PREFIXrss_mib_per_peer,
//	                      PREFIXgoroutines_per_peer with PREFIX "" (right
//	                      after bootstrap), after_lookups_ or settled_;
//	                      hosts_heap_mib_per_peer, hosts_rss_mib_per_peer
//	                      (the bare mocknet hosts); settle_s
//	scale/N               per cold lookup: lookup_requests, lookup_answers,
//	                      lookup_failed, lookup_rounds, lookup_owner_round,
//	                      data_hops, lookup_ms; lookups, lookups_correct
//	scale/N               loadavg, loadavg_after (1-minute load, by scale.sh)
//	scale/N               linkall_links, linkall_s, linkall_heap_mib, linkall_rss_mib
//	scale/N/heap          OWNER: MiB of sampled live heap per peer
//	scale/N/goroutines    ENTRY: goroutines per peer (settled_goroutines too)
//	scale-job             ranks, peers, iters, wall_s, hosts, result, ok
//
// Between markers, so that BENCH_ONLY=scale can replace it (report
// -merge-scale).
const (
	scaleBegin = "<!-- scale:begin (bench/scale.sh; BENCH_ONLY=scale rewrites this section) -->"
	scaleEnd   = "<!-- scale:end -->"
)

// scaleTargetMiB is the memory target per peer.
const scaleTargetMiB = 6

// scaleNs lists the N of every scale/N row, ascending.
func (r results) scaleNs() []int {
	var ns []int
	for row := range r {
		rest, ok := strings.CutPrefix(row, "scale/")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	return ns
}

// medP90 renders "median / p90" of row/metric, or "–".
func (r results) medP90(row, metric string) string {
	xs := r.nums(row, metric)
	if len(xs) == 0 {
		return "–"
	}
	return num(stats.NearestRank(xs, 0.5)) + " / " + num(stats.NearestRank(xs, 0.9))
}

// sumOf renders the sum of two per-peer figures, or "–".
func (r results) sumOf(row, a, b string) (float64, bool) {
	x, errA := strconv.ParseFloat(r.first(row, a), 64)
	y, errB := strconv.ParseFloat(r.first(row, b), 64)
	return x + y, errA == nil && errB == nil
}

func (r results) value(row, metric string) string {
	if v := r.first(row, metric); v != "" {
		return v
	}
	return "–"
}

// memCell is "heap+stacks (heap / stacks)" for a prefix of row.
func (r results) memCell(row, prefix string) string {
	tot, ok := r.sumOf(row, prefix+"heap_mib_per_peer", prefix+"stack_mib_per_peer")
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%s (%s / %s)", num(tot), r.value(row, prefix+"heap_mib_per_peer"), r.value(row, prefix+"stack_mib_per_peer"))
}

func (p *report) scaleSection(allNotes bool) {
	r := p.r
	meta := func(k string) string { return r.first("meta", k) }
	ns := r.scaleNs()
	p.f("%s\n## Scale: up to 1,000 peers in one process (mocknet, real kad-dht)\n\n", scaleBegin)
	p.f("Run on %s on the machine above (%s, %s cores, %s, %s); load average %s before, %s after.",
		meta("date"), meta("cpu"), meta("cores"), meta("memory"), meta("go"), r.first("scale-meta", "loadavg"), r.first("scale-meta", "loadavg_after"))
	if meta("quick") == "1" {
		p.f(" **Quick smoke run (BENCH_QUICK=1): not to be quoted.**")
	}
	p.f("\n\n")
	if len(ns) == 0 {
		why := r.first("scale", "status")
		if why == "" {
			why = "not run"
		}
		p.f("%s\n%s\n", why, scaleEnd)
		return
	}
	first := fmt.Sprintf("scale/%d", ns[0])
	p.f("`bench/scalebench`, one process per N: N real dvm peers (`dvm.NewWithHost` on mocknet hosts, dvm's own kad-dht in\n")
	p.f("server mode; control socket and background block repair off, nothing else changed). Each peer joins through %s peers\n", r.value(first, "join"))
	p.f("that have already joined, as `p2pdvm peer --bootstrap` does (`dvm.Peer.Join`: connect, wait for the first routing-table entry, queue a refresh; one bootstrap peer\n")
	p.f("answering is enough, as in dvm), %s joins at a time.\n", r.value(first, "parallel"))
	p.f("**Bootstrap** is the wall time from the first peer's start until every routing table holds min(N−1, 20) peers and\n")
	p.f("owner lookups (dvm's rule: `GetClosestPeers` plus the asker, closest by XOR) of 20 random keys from 3 random peers each\n")
	p.f("all name the true owner, the closest of all N peer IDs. **Memory per peer** is (after − before) / N of the Go heap in\n")
	p.f("use plus goroutine stacks after a GC, and of VmRSS; right after bootstrap, and again after the DVM sat idle for\n")
	p.f("%s s (kad-dht resets a stream idle for a minute; mocknet runs two goroutines per open stream). Before the peers, the\n", r.value(first, "settle_s"))
	p.f("bare mocknet hosts alone cost %s MiB of heap+stacks per peer.\n\n", r.value(first, "hosts_heap_mib_per_peer"))

	p.f("Everything shares the machine's %s cores; the load column is the 1-minute load average when each N started and\n", meta("cores"))
	p.f("ended (other work on the machine inflates the times and the failed connects, not the counts).\n\n")
	p.f("| N | load | bootstrap (s) | all joined (s) | mean routing table | conns per peer | heap+stacks per peer, MiB (heap / stacks) | RSS per peer (MiB) | settled heap+stacks | settled RSS | goroutines per peer (settled) |\n")
	p.f("|---:|---|---:|---:|---:|---:|---|---:|---|---:|---:|\n")
	for _, n := range ns {
		row := fmt.Sprintf("scale/%d", n)
		boot := r.value(row, "bootstrap_s")
		if st := r.first(row, "bootstrap_status"); st != "" {
			boot = st
		} else if st := r.first(row, "status"); st != "" && boot == "–" {
			boot = st
		}
		if nd := r.first(row, "nudged"); nd != "" && nd != "0" {
			boot += fmt.Sprintf(" (%s peers refreshed again)", nd)
		}
		joined := r.value(row, "started_s")
		if cf := r.first(row, "connect_failures"); cf != "" && cf != "0" {
			joined += fmt.Sprintf(" (%s bootstrap connects timed out)", cf)
		}
		p.f("| %d | %s → %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) |\n", n, r.value(row, "loadavg"), r.value(row, "loadavg_after"), boot, joined, r.value(row, "table_mean"),
			r.value(row, "conns_per_peer"), r.memCell(row, ""), r.value(row, "rss_mib_per_peer"),
			r.memCell(row, "settled_"), r.value(row, "settled_rss_mib_per_peer"),
			r.value(row, "goroutines_per_peer"), r.value(row, "settled_goroutines_per_peer"))
	}

	// The breakdown comes from the largest N that got as far as measuring.
	lastN := ns[len(ns)-1]
	for i := len(ns) - 1; i >= 0; i-- {
		if len(r[fmt.Sprintf("scale/%d/heap", ns[i])]) > 0 {
			lastN = ns[i]
			break
		}
	}
	last := fmt.Sprintf("scale/%d", lastN)
	p.f("\nWhat the memory is, at N=%d: the heap profile (sampled every 64 KiB, scaled as pprof does; its total is the live\n", lastN)
	p.f("heap, %s MiB per peer, below HeapInuse, which counts whole spans) by the innermost frame in a known package, and the\n", r.value(last, "live_mib_per_peer"))
	p.f("goroutines by the function they started in.\n\n")
	p.f("| heap by owner | MiB per peer |\n|---|---:|\n")
	for _, kv := range r.ranked(last + "/heap") {
		p.f("| %s | %s |\n", kv.k, num(kv.v))
	}
	p.f("\n| goroutines, right after bootstrap | per peer |\n|---|---:|\n")
	for _, kv := range r.ranked(last + "/goroutines") {
		p.f("| `%s` | %s |\n", kv.k, num(kv.v))
	}
	if g := r.ranked(last + "/settled_goroutines"); len(g) > 0 {
		p.f("\n| goroutines, settled | per peer |\n|---|---:|\n")
		for _, kv := range g {
			p.f("| `%s` | %s |\n", kv.k, num(kv.v))
		}
	}

	if share, ok := mocknetShare(r, last, ""); ok {
		p.f("\nmocknet's own share at N=%d, right after bootstrap: %s MiB per peer (its heap above plus the stacks of its\n", lastN, num(share))
		p.f("`mock.(*stream).transport` goroutines, pro rata of all goroutines); settled (same heap): %s MiB. A real transport (TCP or QUIC\n", func() string {
			if s, ok := mocknetShare(r, last, "settled_"); ok {
				return num(s)
			}
			return "–"
		}())
		p.f("with yamux) has no goroutine per stream but buffers and a connection of its own, so this share is replaced, not removed.\n")
	}

	p.f("\n### Owner lookups and routed hops\n\n")
	p.f("A rank's first message to a destination its host has not cached costs an owner lookup (kad-dht's iterative\n")
	p.f("closest-peers query, alpha 10, k 20) and then up to 2 peer hops: sender's peer → owner → host. Measured over cold\n")
	p.f("lookups of random keys from random peers, one at a time, counting libp2p routing query events: **requests** are\n")
	p.f("`SendingQuery` events (peers asked); **rounds** is the depth of the deepest answered request, where a peer known before\n")
	p.f("the lookup is asked in round 1 and a peer first named in a round-d answer in round d+1 (kad-dht has no rounds of its\n")
	p.f("own: this is the longest chain of round trips that had to wait for each other); **owner named in round** is the round\n")
	p.f("whose answer first named the owner (0: the asker knew it or was it); **data hops** is the message's own peer hops with\n")
	p.f("the destination on a random host; **sequential legs** = rounds + data hops, the round trips and hops one after another\n")
	p.f("before the first message arrives. Median / p90.\n\n")
	p.f("| N | log₂N | lookups (true owner found) | DHT requests per lookup | failed requests, all lookups | rounds | owner named in round | data hops | sequential legs | lookup time (ms) |\n")
	p.f("|---:|---:|---:|---|---:|---|---|---|---|---|\n")
	for _, n := range ns {
		row := fmt.Sprintf("scale/%d", n)
		legs := legsOf(r, row)
		p.f("| %d | %.1f | %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", n, math.Log2(float64(n)),
			r.value(row, "lookups"), r.value(row, "lookups_correct"), r.medP90(row, "lookup_requests"),
			sumCell(r.nums(row, "lookup_failed")), r.medP90(row, "lookup_rounds"), r.medP90(row, "lookup_owner_round"),
			r.medP90(row, "data_hops"), legs, r.medP90(row, "lookup_ms"))
	}
	p.f("\n%s\n", growth(r, ns))

	p.f("\n### Links: lazy vs mocknet's LinkAll\n\n")
	p.f("mocknet dials only over links. `LinkAll` links every ordered pair, itself included: N² link objects for a DVM in\n")
	p.f("which a peer talks to a few hundred others. scalebench's hosts link a pair on its first dial instead (Connect or\n")
	p.f("NewStream; otherwise a dial is exactly mocknet's), and after the measurements each run calls `LinkAll` once to\n")
	p.f("price it.\n\n| N | lazy links made | LinkAll links | LinkAll heap (MiB) | per peer (MiB) | LinkAll time (s) |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range ns {
		row := fmt.Sprintf("scale/%d", n)
		per := "–"
		if h, err := strconv.ParseFloat(r.first(row, "linkall_heap_mib"), 64); err == nil {
			per = num(h / float64(n))
		}
		p.f("| %d | %s | %s | %s | %s | %s |\n", n, r.value(row, "links"), r.value(row, "linkall_links"), r.value(row, "linkall_heap_mib"), per, r.value(row, "linkall_s"))
	}

	p.f("\n### The %s-rank job\n\n", r.value("scale-job", "ranks"))
	switch {
	case r.first("scale-job", "ok") == "1":
		p.f("`bench/scalebench/allreduce` (mpishim, %s MPI_SUM allreduces of int64, each checked by every rank) submitted with\n", r.value("scale-job", "iters"))
		p.f("`Peer.Submit` from one peer of the %s-peer DVM: **completed** in %s s, ranks on %s distinct peers, printing `%s`\n",
			r.value("scale-job", "peers"), r.value("scale-job", "wall_s"), r.value("scale-job", "hosts"), r.value("scale-job", "result"))
		p.f("(the closed form ITERS(ITERS+1)/2 · N(N+1)/2 agrees). Its %s rank processes share the %s cores with the DVM.\n", r.value("scale-job", "ranks"), meta("cores"))
	case r.first("scale-job", "status") != "":
		p.f("%s-rank allreduce on the %s-peer DVM: %s.\n", r.value("scale-job", "ranks"), r.value("scale-job", "peers"), r.first("scale-job", "status"))
	default:
		why := r.first(fmt.Sprintf("scale/%d", ns[len(ns)-1]), "status")
		if why == "" {
			why = "not run"
		}
		p.f("Not run: %s.\n", why)
	}

	p.f("\n### Targets (#7, scale)\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range p.scaleTargets(ns) {
		p.f("| %s | %s | %s |\n", t.name, t.measured, t.met)
	}
	var notes []string
	for _, n := range ns {
		if st := r.first(fmt.Sprintf("scale/%d", n), "status"); st != "" {
			notes = append(notes, fmt.Sprintf("N=%d: %s", n, st))
		}
		if st := r.first(fmt.Sprintf("scale/%d", n), "lookup_status"); st != "" {
			notes = append(notes, fmt.Sprintf("N=%d lookups: %s", n, st))
		}
	}
	p.notes(notes, allNotes)
	p.f("%s\n", scaleEnd)
}

// mocknetShare estimates mocknet's memory per peer in row: the heap the
// profile attributes to it plus the stacks of its stream goroutines, as
// their share of all goroutines (prefix "" or "settled_").
func mocknetShare(r results, row, prefix string) (float64, bool) {
	heap, err1 := strconv.ParseFloat(r.first(row+"/heap", "mocknet (conns, streams, links)"), 64)
	stacks, err2 := strconv.ParseFloat(r.first(row, prefix+"stack_mib_per_peer"), 64)
	all, err3 := strconv.ParseFloat(r.first(row, prefix+"goroutines_per_peer"), 64)
	mock, err4 := strconv.ParseFloat(r.first(row+"/"+prefix+"goroutines", "mock.(*stream).transport"), 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || all <= 0 {
		return 0, false
	}
	return heap + stacks*min(mock/all, 1), true
}

type kv struct {
	k string
	v float64
}

// ranked lists row's metrics with numeric values, largest first.
func (r results) ranked(row string) []kv {
	var out []kv
	for k, vs := range r[row] {
		if x, err := strconv.ParseFloat(vs[0], 64); err == nil {
			out = append(out, kv{k, x})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].v > out[j].v || out[i].v == out[j].v && out[i].k < out[j].k })
	return out
}

func sumCell(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return num(s)
}

// legsOf is median / p90 of rounds + data hops, lookup by lookup (the
// samples of both metrics are written in the same order).
func legsOf(r results, row string) string {
	rs, hs := r.nums(row, "lookup_rounds"), r.nums(row, "data_hops")
	if len(rs) == 0 || len(rs) != len(hs) {
		return "–"
	}
	xs := make([]float64, len(rs))
	for i := range rs {
		xs[i] = rs[i] + hs[i]
	}
	return num(stats.NearestRank(xs, 0.5)) + " / " + num(stats.NearestRank(xs, 0.9))
}

// growth says how the median requests and rounds grew from the smallest
// to the largest N, next to log₂N.
func growth(r results, ns []int) string {
	if len(ns) < 2 {
		return "One N only: no growth to describe."
	}
	a, b := fmt.Sprintf("scale/%d", ns[0]), fmt.Sprintf("scale/%d", ns[len(ns)-1])
	ra, rb := r.nums(a, "lookup_requests"), r.nums(b, "lookup_requests")
	da, db := r.nums(a, "lookup_rounds"), r.nums(b, "lookup_rounds")
	if len(ra) == 0 || len(rb) == 0 {
		return "Lookups missing: no growth to describe."
	}
	ma, mb := stats.NearestRank(ra, 0.5), stats.NearestRank(rb, 0.5)
	return fmt.Sprintf("From N=%d to N=%d (%.0f× the peers, log₂N %.1f → %.1f, ×%.2f) the median DHT requests per lookup went %s → %s (×%.2f) and the median rounds %s → %s. "+
		"kad-dht asks at least its k=20 closest known peers before it stops, so the requests start near k and grow only by the extra peers met on the way; the rounds are the log N part.",
		ns[0], ns[len(ns)-1], float64(ns[len(ns)-1])/float64(ns[0]), math.Log2(float64(ns[0])), math.Log2(float64(ns[len(ns)-1])),
		math.Log2(float64(ns[len(ns)-1]))/math.Log2(float64(ns[0])), num(ma), num(mb), mb/ma, num(stats.NearestRank(da, 0.5)), num(stats.NearestRank(db, 0.5)))
}

func (p *report) scaleTargets(ns []int) []target {
	r := p.r
	var ts []target
	n := ns[len(ns)-1]
	row := fmt.Sprintf("scale/%d", n)
	mem := func(name, prefix string) {
		hs, ok := r.sumOf(row, prefix+"heap_mib_per_peer", prefix+"stack_mib_per_peer")
		rss, err := strconv.ParseFloat(r.first(row, prefix+"rss_mib_per_peer"), 64)
		if !ok || err != nil {
			ts = append(ts, target{name, firstNonEmpty(r.first(row, "status"), "not measured"), verdict(false, false)})
			return
		}
		ts = append(ts, target{name, fmt.Sprintf("heap+stacks %s MiB, RSS %s MiB per peer", num(hs), num(rss)), verdict(max(hs, rss) <= scaleTargetMiB, true)})
	}
	mem(fmt.Sprintf("memory per peer ≤ %d MiB at N=%d, right after bootstrap", scaleTargetMiB, n), "")
	mem(fmt.Sprintf("memory per peer ≤ %d MiB at N=%d, settled", scaleTargetMiB, n), "settled_")
	if b := r.first(row, "bootstrap_s"); b != "" {
		ts = append(ts, target{fmt.Sprintf("N=%d bootstraps (tables ≥ 20, owner lookups agree)", n), b + " s", "met"})
	} else {
		ts = append(ts, target{fmt.Sprintf("N=%d bootstraps (tables ≥ 20, owner lookups agree)", n), firstNonEmpty(r.first(row, "bootstrap_status"), r.first(row, "status"), "not measured"), verdict(false, r.first(row, "bootstrap_status") != "")})
	}
	job := fmt.Sprintf("%s-rank allreduce completes on the %d-peer DVM", r.value("scale-job", "ranks"), n)
	switch {
	case r.first("scale-job", "ok") == "1":
		ts = append(ts, target{job, r.value("scale-job", "wall_s") + " s, result right", "met"})
	case r.first("scale-job", "ok") == "0":
		ts = append(ts, target{job, r.first("scale-job", "status"), "not met"})
	default:
		ts = append(ts, target{job, firstNonEmpty(r.first("scale-job", "status"), "not run"), verdict(false, false)})
	}
	return ts
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// mergeSection puts a section between begin and end into an existing
// report: in place of the old one, else before "## Targets", else at the
// end.
func mergeSection(old, section, begin, end string) string {
	if i := strings.Index(old, begin); i >= 0 {
		if j := strings.Index(old[i:], end); j >= 0 {
			rest := strings.TrimPrefix(old[i+j+len(end):], "\n")
			return old[:i] + section + rest
		}
	}
	if i := strings.Index(old, "\n## Targets"); i >= 0 {
		return old[:i+1] + section + "\n" + old[i+1:]
	}
	return strings.TrimRight(old, "\n") + "\n\n" + section
}
