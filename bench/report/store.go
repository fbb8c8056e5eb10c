package main

import (
	"fmt"
	"strconv"
)

// The block store's section (#5), from bench/store.sh's rows:
//
//	store-meta                      repeat, loadavg, loadavg_after
//	store-mocknet                   peers, size_mib, cap_mbit, latency_ms, repeat
//	store-mocknet/MODE/N            agg_MBps, wall_s, copies, holders, max_share
//	                                (MODE dht or central, N uploaders)
//	store-loopback                  size_mib, peers, disk
//	store-loopback                  put_MBps, get_MBps, rss_peak_mib (per peer)
//	store-loopback-inprocess        put_MBps, get_MBps, put_cpu_s_per_GB, get_cpu_s_per_GB
//	store-compress                  input_MiB, heat
//	store-compress/INPUT            chunks
//	store-compress/INPUT/CODEC      ratio, enc_MBps, dec_MBps
//
// The section sits between two markers so that BENCH_ONLY=store can
// replace it in a report the full run wrote (report -merge).
const (
	storeBegin = "<!-- store:begin (bench/store.sh; BENCH_ONLY=store rewrites this section) -->"
	storeEnd   = "<!-- store:end -->"
)

var uploaderRows = []int{1, 2, 4, 8}

// storeReplicas is dvm's default BlockReplicas, the k of the targets.
const storeReplicas = 3

func (p *report) storeSection(allNotes bool) {
	r := p.r
	meta := func(k string) string { return r.first("meta", k) }
	sm := func(k string) string { return r.first("store-mocknet", k) }
	p.f("%s\n## Block store\n\n", storeBegin)
	p.f("Run on %s on the machine above (%s cores, %s); load average %s before, %s after.",
		meta("date"), meta("cores"), meta("go"), r.first("store-meta", "loadavg"), r.first("store-meta", "loadavg_after"))
	if meta("quick") == "1" {
		p.f(" **Quick smoke run (BENCH_QUICK=1): small files, one repetition; not to be quoted.**")
	}
	p.f(" Each row is the median of its runs, min–max in brackets; 1 MB = 10⁶ B.\n")

	p.f("\n### Uploads at once: DHT store vs one central peer (mocknet)\n\n")
	p.f("%s peers with the real kad-dht on mocknet (`bench/storebench upload`), every link %s ms one way. Each peer's access\n", sm("peers"), sm("latency_ms"))
	p.f("link is capped at %s Mbit/s up and %s Mbit/s down. mocknet's own `LinkOptions.Bandwidth` cannot express that: it is one\n", sm("cap_mbit"), sm("cap_mbit"))
	p.f("token bucket per link, that is per *pair* of peers, so a central peer would get N× the cap from N uploaders.\n")
	p.f("storebench therefore wraps each host: every stream write from A to B is booked, in 128 KiB pieces, on A's uplink and\n")
	p.f("B's downlink (a virtual clock each) and returns when both have carried it. Uploaders 1..N each `storage.PutFile` %s MiB\n", sm("size_mib"))
	p.f("of random bytes (ChaCha8: zstd cannot shrink them, so compression adds no throughput) at the same moment. **DHT**:\n")
	if w := sm("window"); w != "" {
		p.f("`Peer.Blocks()`, each block to %d of the %s peers closest to its ID, the ones its uploader has sent least to lately\n", storeReplicas, w)
		p.f("(dvm/placement.go), along a chain (the uploader sends it once, each holder forwards it to the next). **Central**:\n")
	} else {
		p.f("`Peer.Blocks()`, each block to the %d peers closest to its ID along a chain (the uploader sends it once, each holder\n", storeReplicas)
		p.f("forwards it to the next). **Central**:\n")
	}
	p.f("`Peer.StoreTo(peer 0)` (dvm/blocks_central.go), every block to peer 0 once, nothing replicated. Throughput is N × size /\n")
	p.f("the time until the last upload returned; median (min–max) over %s repetitions.\n\n", sm("repeat"))
	capMB := 0.0
	if c, err := strconv.ParseFloat(sm("cap_mbit"), 64); err == nil {
		capMB = c / 8
	}
	peers, _ := strconv.ParseFloat(sm("peers"), 64)
	p.f("| uploaders | DHT store (MB/s) | central peer (MB/s) | DHT / central | DHT bound min(N·cap, P·cap/k) | DHT bound at the busiest holder | central bound cap | DHT: peers holding blocks, busiest one's share |\n")
	p.f("|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, n := range uploaderRows {
		dht := r.summarise(fmt.Sprintf("store-mocknet/dht/%d", n), "agg_MBps", "store-mocknet")
		cen := r.summarise(fmt.Sprintf("store-mocknet/central/%d", n), "agg_MBps", "store-mocknet")
		spread, busiest := "–", "–"
		row := fmt.Sprintf("store-mocknet/dht/%d", n)
		if h := r.summarise(row, "holders", "store-mocknet"); h.ok {
			sh := r.summarise(row, "max_share", "store-mocknet")
			cp := r.summarise(row, "copies", "store-mocknet")
			spread = fmt.Sprintf("%.0f peers, %.1f%%", h.med, 100*sh.med)
			if sh.med > 0 && cp.med > 0 {
				busiest = num(capMB / (cp.med * sh.med))
			}
		}
		p.f("| %d | %s | %s | %s | %s | %s | %s | %s |\n", n, dht.cell(), cen.cell(), ratio(dht, cen),
			num(min(float64(n)*capMB, peers*capMB/storeReplicas)), busiest, num(capMB), spread)
	}
	p.f("\nThe bounds assume only the access links limit: a DHT uploader sends each block once over its own uplink (N·cap),\n")
	p.f("all P peers' downlinks together take k copies of everything (P·cap/k), and every central upload ends on the\n")
	p.f("central peer's one downlink (cap).\n")
	if sm("window") != "" {
		p.f("A peer takes copies only of the blocks whose window it is in, and with %s random peer IDs some are in more windows\n", sm("peers"))
		p.f("than others: the busiest holder receives its share of all k copies through one downlink, so the DHT store can go\n")
		p.f("no faster than cap / (k × that share), the \"busiest holder\" column (an even spread over %s peers is %.1f%%).\n", sm("peers"), 100/peers)
	} else {
		p.f("Placement by XOR distance is uneven with %s random peer IDs: the busiest holder receives its share of all k copies\n", sm("peers"))
		p.f("through one downlink, so the DHT store can go no faster than cap / (k × that share), the \"busiest holder\" column.\n")
	}

	p.f("\n### Put and get between peer processes (loopback)\n\n")
	p.f("%s `p2pdvm peer` processes on 127.0.0.1 (TCP, TLS, yamux), data dirs on %s; a fresh DVM for each of %s repetitions.\n",
		r.first("store-loopback", "peers"), r.first("store-loopback", "disk"), r.first("store-loopback", "repeat"))
	p.f("`p2pdvm store put` of %s MiB of random bytes through peer 1, then `p2pdvm store get` through peer 2, compared with\n", r.first("store-loopback", "size_mib"))
	p.f("`cmp`. With 4 peers and k=%d the getting peer holds about 3/4 of the blocks; a get reads a copy held here first\n", storeReplicas)
	p.f("(from its own disk, verified) and fetches the other quarter from another peer over TLS.\n")
	p.f("Peak RSS is VmHWM of every peer process after its put and get.\n\n")
	put := r.summarise("store-loopback", "put_MBps", "store-loopback")
	get := r.summarise("store-loopback", "get_MBps", "store-loopback")
	rss := r.summarise("store-loopback", "rss_peak_mib", "store-loopback")
	p.f("| measurement | value |\n|---|---:|\n")
	p.f("| put (MB/s) | %s |\n| get (MB/s) | %s |\n", put.cell(), get.cell())
	p.f("| peak RSS per peer (MiB), median over peers and runs | %s |\n", rss.cell())
	in := "store-loopback-inprocess"
	putCPU := r.summarise(in, "put_cpu_s_per_GB", in)
	getCPU := r.summarise(in, "get_cpu_s_per_GB", in)
	cores, _ := strconv.ParseFloat(meta("cores"), 64)
	if putCPU.ok && getCPU.ok && cores > 0 {
		p.f("| CPU time per GB put, all peers (s) | %s |\n| CPU time per GB got, all peers (s) | %s |\n", putCPU.cell(), getCPU.cell())
		p.f("| put bound on %s cores: cores × 1000 / CPU s per GB (MB/s) | %s |\n", meta("cores"), num(cores*1000/putCPU.med))
		p.f("| get bound on %s cores (MB/s) | %s |\n", meta("cores"), num(cores*1000/getCPU.med))
		p.f("\nThe CPU rows come from `storebench loopback`: the same put and get between %s peers on 127.0.0.1, in one\n", r.first("store-loopback", "peers"))
		p.f("process so that getrusage counts every peer's share (%s and %s MB/s there). On loopback all k replicas write,\n",
			r.summarise(in, "put_MBps", in).cell(), r.summarise(in, "get_MBps", in).cell())
		p.f("hash and decrypt on the same cores as the uploader; on separate machines each would pay only its own part.\n")
	}
	w1 := r.summarise("store-disk", "write1_MBps", "store-loopback")
	w4 := r.summarise("store-disk", "write4_MBps", "store-loopback")
	rd := r.summarise("store-disk", "read_MBps", "store-loopback")
	// What the one disk under every peer allows a put (k durable copies)
	// and a get (its file, one stream); 0 where not measured.
	var putBound, getBound float64
	if w4.ok {
		putBound = w4.med / storeReplicas
	}
	if w1.ok {
		getBound = w1.med
	}
	if w1.ok && w4.ok && rd.ok {
		p.f("\nThe disk alone, just before each put: `dd` with the I/O the store uses (O_DIRECT, then fdatasync), %s MiB:\n\n", r.first("store-loopback", "size_mib"))
		p.f("| measurement | value |\n|---|---:|\n")
		p.f("| write, one stream (MB/s) | %s |\n| write, four streams at once, all of them (MB/s) | %s |\n| read, one stream (MB/s) | %s |\n", w1.cell(), w4.cell(), rd.cell())
		p.f("| put bound by the disk: four streams / k (MB/s) | %s |\n", num(putBound))
		p.f("| get bound by the disk: one stream's write (MB/s) | %s |\n", num(getBound))
		p.f("\nOn loopback every peer's data dir and the get's output file are on this one disk. A put stores each block on k\n")
		p.f("peers, each a durable write, so the disk writes k times the file; a get writes the file back as one stream\n")
		p.f("(durably, then renames it) while it reads the blocks. On separate machines each peer's disk carries only its own share.\n")
	}

	p.f("\n### Compression (one block per chunk, as the store writes them)\n\n")
	p.f("%s MiB inputs cut by `storage.Split` (%s chunks of the heat grid), each chunk `storage.Encode`d and `Decode`d\n",
		r.first("store-compress", "input_MiB"), r.first("store-compress/heat", "chunks"))
	p.f("(decode includes the SHA-256 check every read makes). Heat grid: %s, computed serially by storebench with\n", r.first("store-compress", "heat"))
	p.f("examples/heat's numerics (checked against its checksum in a test); float64, little-endian, row by row.\n\n")
	p.f("| input | codec | ratio | encode (MB/s) | decode (MB/s) |\n|---|---|---:|---:|---:|\n")
	for _, in := range []string{"heat", "random"} {
		for _, c := range []string{"zstd", "zstd+shuffle"} {
			row := "store-compress/" + in + "/" + c
			ra := r.summarise(row, "ratio", "store-compress")
			cell := ra.cell()
			if ra.ok {
				cell = num(ra.med) + "×"
			}
			p.f("| %s | %s | %s | %s | %s |\n", in, c, cell,
				r.summarise(row, "enc_MBps", "store-compress").cell(), r.summarise(row, "dec_MBps", "store-compress").cell())
		}
	}

	p.f("\n### Targets (#5)\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range p.storeTargets(capMB, put, get, rss, putBound, getBound) {
		p.f("| %s | %s | %s |\n", t.name, t.measured, t.met)
	}
	notes := r.all("store-note", "text")
	p.notes(notes, allNotes)
	p.f("%s\n", storeEnd)
}

func (p *report) storeTargets(capMB float64, put, get, rss stat, putBound, getBound float64) []target {
	r := p.r
	dht := r.summarise("store-mocknet/dht/8", "agg_MBps", "store-mocknet")
	cen := r.summarise("store-mocknet/central/8", "agg_MBps", "store-mocknet")
	var ts []target
	if dht.ok && cen.ok && cen.med > 0 {
		x := dht.med / cen.med
		ts = append(ts, target{"8 uploaders: DHT ≥ 3× central", fmt.Sprintf("%.2f× (%s vs %s MB/s)", x, num(dht.med), num(cen.med)), verdict(x >= 3, true)})
	} else {
		ts = append(ts, target{"8 uploaders: DHT ≥ 3× central", firstWhy(dht, cen), verdict(false, false)})
	}
	bound := 8 * capMB / storeReplicas
	if dht.ok && bound > 0 {
		ts = append(ts, target{fmt.Sprintf("8 uploaders: DHT ≥ 0.7 × 8·cap/k = %s MB/s", num(0.7*bound)),
			fmt.Sprintf("%.2f × 8·cap/k (%s MB/s)", dht.med/bound, num(dht.med)), verdict(dht.med >= 0.7*bound, true)})
	} else {
		ts = append(ts, target{"8 uploaders: DHT ≥ 0.7 × 8·cap/k", firstWhy(dht, dht), verdict(false, false)})
	}
	at := func(name string, s stat, unit string, ok func(float64) bool, x float64) {
		if !s.ok {
			ts = append(ts, target{name, s.why, verdict(false, false)})
			return
		}
		ts = append(ts, target{name, num(x) + " " + unit, verdict(ok(x), true)})
	}
	// What the disk allows, beside the figure: a target above it says
	// more about the machine than about the store.
	unit := func(bound float64) string {
		if bound > 0 {
			return fmt.Sprintf("MB/s (the disk allows %s)", num(bound))
		}
		return "MB/s"
	}
	putUnit, getUnit := unit(putBound), unit(getBound)
	at("loopback put ≥ 200 MB/s (k=3)", put, putUnit, func(x float64) bool { return x >= 200 }, put.med)
	at("loopback get ≥ 400 MB/s", get, getUnit, func(x float64) bool { return x >= 400 }, get.med)
	at("peak RSS of any peer ≤ 256 MiB", rss, "MiB (largest peer)", func(x float64) bool { return x <= 256 }, rss.max)
	return ts
}

func firstWhy(a, b stat) string {
	if !a.ok {
		return a.why
	}
	return b.why
}

// notes lists a section's notes, and the run's general ones when the
// section is rendered alone (BENCH_ONLY).
func (p *report) notes(notes []string, allNotes bool) {
	if allNotes {
		notes = append(notes, p.r.all("note", "text")...)
	}
	if len(notes) == 0 {
		return
	}
	p.f("\nNotes:\n\n")
	for _, n := range notes {
		p.f("- %s\n", n)
	}
}

// merge puts the store section into an existing report (mergeSection).
func merge(old, section string) string { return mergeSection(old, section, storeBegin, storeEnd) }
