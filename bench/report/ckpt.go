package main

import "fmt"

// ckptSection writes the checkpoint rows (bench/ckpt.sh) and returns
// their targets.
func (p *report) ckptSection() []target {
	r := p.r
	meta := func(k string) string { return r.first("meta", k) }
	every := r.first("ckpt", "interval")
	p.f("\n## Checkpoints (heat N=%s, %s iterations, over 2 peers)\n\n", meta("heat_n"), meta("heat_iters"))
	p.f("The same `examples/heat` submitted without checkpoints and with `--ckpt-interval %s`, runs interleaved.\n", every)
	p.f("Each epoch stores every rank's grid and iteration counter in the DHT block store (content-defined chunks,\n")
	p.f("8-byte shuffle + zstd, 3 replicas wanted; with 2 peers, 2 copies). *State* is the bytes the ranks saved per epoch,\n")
	p.f("*stored* after compression, *new* what the store had not seen (deduplication against the rank's previous epoch).\n")
	p.f("4 ranks on this machine's %s cores are oversubscribed.\n\n", meta("cores"))
	p.f("| ranks | no checkpoints (s) | every %s (s) | overhead | epochs per run | state per epoch (MiB) | stored (MiB) | new (MiB) | checksum |\n", every)
	p.f("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var ts []target
	for _, np := range []string{"2", "4"} {
		none := r.summarise("ckpt/np"+np+"/none", "time_s", "ckpt/np2/none")
		with := r.summarise("ckpt/np"+np+"/every", "time_s", "ckpt/np2/none")
		over := "–"
		if none.ok && with.ok {
			over = fmt.Sprintf("%+.1f%%", 100*(with.med/none.med-1))
		}
		mib := func(metric string) string {
			st := r.summarise("ckpt/np"+np+"/every", metric, "ckpt/np2/none")
			if !st.ok {
				return "–"
			}
			st.med, st.min, st.max = st.med/(1<<20), st.min/(1<<20), st.max/(1<<20)
			return st.cell()
		}
		epochs := r.summarise("ckpt/np"+np+"/every", "epochs", "ckpt/np2/none")
		sum := p.checksumOf("ckpt/np"+np+"/none", "ckpt/np"+np+"/every")
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
		ts = append(ts, target{name, fmt.Sprintf("%+.1f%% (%s vs %s s)", 100*x, num(with.med), num(none.med)),
			verdict(x <= 0.05 && sum == "OK", true)})
	}
	rs := r.summarise("ckpt/restart", "restart_s", "ckpt/restart")
	p.f("\n**Restart.** 3 peers, heat on 2 ranks checkpointed every second; after the first epoch one peer that hosts a rank\n")
	p.f("gets `kill -9`. From the kill to `p2pdvm status` showing every rank of the next run running: **%s s**", rs.cell())
	if from := r.first("ckpt/restart", "restarted_from"); from != "" {
		p.f(" (%s)", from)
	}
	p.f("; checksum after the restart: %s.\n", p.checksumOf("ckpt/restart"))
	ts = append(ts, target{"kill -9 of a hosting peer → every rank running again ≤ 10 s", rs.cell() + " s",
		verdict(rs.ok && rs.max <= 10 && p.checksumOf("ckpt/restart") == "OK", rs.ok)})
	p.heartbeats()
	return ts
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
	p.f("\n**Heartbeats under load.** The pings the 2 peers of the pingpong and heat rows sent each other (as owners of\n")
	p.f("location objects and as submitter) while the ranks kept both cores busy. A host is declared lost after 3 pings\n")
	p.f("in a row go unanswered for 1 s each, so the margin is 1 s against the largest round trip below.\n\n")
	p.f("| peer | pings | unanswered | p50 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range rows {
		p.f("%s", row)
	}
}

// checksumOf is "OK" when every checksum of rows matches the expected
// one, "–" when there is none.
func (p *report) checksumOf(rows ...string) string {
	want := p.r.first("heat", "expected_checksum")
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
