package main

import (
	"fmt"
	"strings"
)

// The checkpoint section (#6), from bench/ckpt.sh's rows:
//
//	ckpt                            interval, iters, expected_checksum, expected_from
//	ckpt/npN/none, ckpt/npN/every   time_s, checksum
//	ckpt/npN/every                  epochs, epoch_bytes, epoch_stored, epoch_new
//	ckpt/restart                    restart_s, checksum, restarted_from, expected_checksum
//	heartbeats/peerN                sent, missed, p50_ms, p99_ms, max_ms
//
// It sits between two markers, with its own targets, so that
// BENCH_ONLY=ckpt can replace it in a report the full run wrote.
const (
	ckptBegin = "<!-- ckpt:begin (bench/ckpt.sh; BENCH_ONLY=ckpt rewrites this section) -->"
	ckptEnd   = "<!-- ckpt:end -->"
)

// ckptSection writes the checkpoint rows.
func (p *report) ckptSection() {
	r := p.r
	meta := func(k string) string { return r.first("meta", k) }
	every := r.first("ckpt", "interval")
	p.f("%s\n## Checkpoints (heat N=%s, %s iterations, over 2 peers)\n\n", ckptBegin, meta("heat_n"), r.first("ckpt", "iters"))
	p.f("Run on %s. The same `examples/heat` submitted without checkpoints and with `--ckpt-interval %s`, runs\n", meta("date"), every)
	p.f("interleaved; %s iterations so that a run spans a few intervals (heat's own %s take about one, and a run without\n", r.first("ckpt", "iters"), meta("heat_iters"))
	p.f("an epoch says nothing about its cost). 4 ranks on this machine's %s cores are oversubscribed. Each epoch stores\n", meta("cores"))
	p.f("every rank's grid and iteration counter in the DHT block store (content-defined chunks, 8-byte shuffle + zstd,\n")
	p.f("3 replicas wanted; with 2 peers, 2 copies). *State* is the bytes the ranks saved per epoch, *stored* after\n")
	p.f("compression, *new* what the store had not seen (deduplication against the rank's previous epoch). The checksum\n")
	p.f("is checked against a 1-rank MPICH run of the same iterations.\n\n")
	p.f("| ranks | no checkpoints (s) | every %s (s) | overhead | epochs per run | state per epoch (MiB) | stored (MiB) | new (MiB) | checksum |\n", every)
	p.f("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var ts []target
	for _, np := range []string{"2", "4"} {
		row := "ckpt/np" + np
		none := r.summarise(row+"/none", "time_s", row+"/none")
		with := r.summarise(row+"/every", "time_s", row+"/none")
		over := "–"
		if none.ok && with.ok {
			over = fmt.Sprintf("%+.1f%%", 100*(with.med/none.med-1))
		}
		mib := func(metric string) string {
			st := r.summarise(row+"/every", metric, row+"/none")
			if !st.ok {
				return "–"
			}
			st.med, st.min, st.max = st.med/(1<<20), st.min/(1<<20), st.max/(1<<20)
			return st.cell()
		}
		epochs := r.summarise(row+"/every", "epochs", row+"/none")
		sum := p.checksumOf("ckpt", row+"/none", row+"/every")
		p.f("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", np, none.cell(), with.cell(), over, epochs.cell(),
			mib("epoch_bytes"), mib("epoch_stored"), mib("epoch_new"), sum)
		name := fmt.Sprintf("checkpoint every %s: overhead ≤ 5%% (%s ranks)", every, np)
		if !none.ok || !with.ok {
			ts = append(ts, target{name, none.why + with.why, verdict(false, false)})
			continue
		}
		if !epochs.ok || epochs.med < 1 {
			// A run shorter than the interval takes no checkpoint at all:
			// its time says nothing about the overhead.
			ts = append(ts, target{name, fmt.Sprintf("no epoch in a run (%s s runs, interval %s)", num(with.med), every), verdict(false, false)})
			continue
		}
		x := with.med/none.med - 1
		ts = append(ts, target{name, fmt.Sprintf("%+.1f%% (%s vs %s s, %s epochs a run)", 100*x, num(with.med), num(none.med), num(epochs.med)),
			verdict(x <= 0.05 && sum == "OK", true)})
	}
	rs := r.summarise("ckpt/restart", "restart_s", "ckpt/restart")
	restartSum := p.checksumOf("ckpt/restart", "ckpt/restart")
	restartIters := r.first("ckpt/restart", "iters")
	if restartIters == "" { // a run from before the row recorded it
		restartIters = meta("heat_iters")
	}
	p.f("\n**Restart.** 3 peers, heat (%s iterations) on 2 ranks checkpointed every second; after the first epoch one peer\n", restartIters)
	p.f("that hosts a rank gets `kill -9`. From the kill to `p2pdvm status` showing every rank of the next run running: **%s s**", rs.cell())
	if from := r.first("ckpt/restart", "restarted_from"); from != "" {
		p.f(" (%s)", strings.TrimSpace(from))
	}
	p.f("; checksum after the restart: %s.\n", restartSum)
	ts = append(ts, target{"kill -9 of a hosting peer → every rank running again ≤ 10 s", rs.cell() + " s",
		verdict(rs.ok && rs.max <= 10 && restartSum == "OK", rs.ok)})
	p.f("\n### Targets (#6)\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range ts {
		p.f("| %s | %s | %s |\n", t.name, t.measured, t.met)
	}
	p.f("%s\n", ckptEnd)
}

// heartbeats writes what the failure detector's timeout is measured
// against: the round trips of the heartbeats the 2-peer DVM sent while its
// ranks kept both cores busy.
func (p *report) heartbeats() {
	r := p.r
	var rows []string
	for _, peer := range []string{"peer1", "peer2"} {
		row := "heartbeats/" + peer
		if r.first(row, "sent") == "" || r.first(row, "sent") == "0" {
			continue
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n", peer, r.first(row, "sent"), r.first(row, "missed"),
			r.first(row, "p50_ms"), r.first(row, "p99_ms"), r.first(row, "max_ms")))
	}
	if len(rows) == 0 {
		return
	}
	p.f("\n## Heartbeats under load\n\nThe pings the 2 peers of the pingpong and heat rows sent each other (as owners of\n")
	p.f("location objects and as submitter) while the ranks kept both cores busy. A host is declared lost after 3 pings in a\n")
	p.f("row go unanswered within 750 ms each (3/4 of the 1 s interval): that is the margin against the largest round trip below.\n\n")
	p.f("| peer | pings | unanswered | p50 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range rows {
		p.f("%s", row)
	}
}

// checksumOf is "OK" when every checksum of rows matches the expected
// one that ref's row names (or heat's), "–" when there is none.
func (p *report) checksumOf(ref string, rows ...string) string {
	want := p.r.first(ref, "expected_checksum")
	if want == "" {
		want = p.r.first("heat", "expected_checksum")
	}
	seen := false
	for _, row := range rows {
		for _, c := range p.r.all(row, "checksum") {
			seen = true
			if want == "" || c != want {
				return "WRONG: " + c
			}
		}
	}
	if !seen {
		return "–"
	}
	return "OK"
}
