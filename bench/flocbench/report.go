package main

import (
	"fmt"
	"math"
	"time"

	"github.com/p2pdvm/p2pdvm/bench/internal/stats"
	"github.com/p2pdvm/p2pdvm/floc"
)

// report puts the rows bench/report's floc section reads:
//
//	floc-meta            the setting
//	floc-run/MODE        wall_s, placement
//	floc/MODE/PHASE      per phase, MODE floc or routed (see the metrics below)
//
// "After warm-up" means received at least cfg.Warmup after the receiving
// rank started the phase; hop counts after warm-up come from the traffic
// counters sampled while every rank was in the phase (commonWindow), from
// the last rank's start plus the warm-up to the first rank's end.
//
// The reference for a chatty pair's message is the configured link
// latency between the two hosts plus overhead, the one-way time of a
// direct connection between two ranks on this machine (0 if not
// measured).
func report(cfg config, runs []*runResult, overhead time.Duration, out *results) {
	fc := runs[0].Floc
	for _, r := range runs {
		if r.Mode == "floc" {
			fc = r.Floc
		}
	}
	out.put("floc-meta", "peers", cfg.Peers)
	out.put("floc-meta", "sites", len(siteLatency))
	out.put("floc-meta", "ranks", cfg.Ranks)
	out.put("floc-meta", "phase_s", cfg.Phase.Seconds())
	out.put("floc-meta", "warmup_s", cfg.Warmup.Seconds())
	out.put("floc-meta", "ring_every_ms", ms(cfg.RingEvery))
	out.put("floc-meta", "bcast_every_ms", ms(cfg.BcastEvery))
	out.put("floc-meta", "sparse_every_ms", ms(cfg.SparseEvery))
	out.put("floc-meta", "sample_every_ms", ms(cfg.SampleEvery))
	out.put("floc-meta", "floc_min_msgs", fc.MinMsgs)
	out.put("floc-meta", "floc_window_ms", ms(fc.Window))
	out.put("floc-meta", "floc_refresh_s", fc.Refresh.Seconds())
	out.put("floc-meta", "floc_quiet_s", fc.Quiet.Seconds())
	out.put("floc-meta", "site_latency", siteMatrix())
	out.put("floc-meta", "direct_overhead_ms", f3(ms(overhead)))
	for _, r := range runs {
		row := "floc-run/" + r.Mode
		out.put(row, "wall_s", fmt.Sprintf("%.1f", r.Wall.Seconds()))
		out.put(row, "placement", placement(r))
		for _, ph := range phases {
			phaseRows(cfg, r, ph, overhead, out)
		}
	}
}

func siteMatrix() string {
	s := ""
	for i, row := range siteLatency {
		if i > 0 {
			s += "; "
		}
		for j, d := range row {
			if j > 0 {
				s += " "
			}
			s += fmt.Sprint(ms(d))
		}
	}
	return s + " (ms, one way, site by site)"
}

func placement(r *runResult) string {
	perSite := make([]int, len(siteLatency))
	hosts := map[string]bool{}
	for i, s := range r.Sites {
		perSite[s]++
		hosts[string(r.Hosts[i])] = true
	}
	s := fmt.Sprintf("%d ranks on %d distinct peers; ranks per site", len(r.Hosts), len(hosts))
	for i, n := range perSite {
		s += fmt.Sprintf(" %c:%d", 'A'+i, n)
	}
	return s
}

// phaseRows computes one phase's metrics:
//
//	msgs, dur_s                 messages received, the phase's span over all ranks
//	lat_med_ms, lat_p95_ms      one-way latency of every message of the phase
//	hops_per_msg                peer hops per message over the whole phase
//	after_routed, after_shortcut, after_local, one_hop_frac
//	                            messages leaving hosts after warm-up, and the
//	                            share that took at most one hop (shortcut or local)
//	pairs, chatty_pairs         pairs that talked, and those at Floc's threshold
//	chatty_msgs, chatty_lat_med_ms, chatty_link_med_ms, chatty_ratio_med,
//	chatty_ratio_p95, chatty_within10
//	                            chatty pairs on distinct hosts after warm-up:
//	                            latency / (link latency of the two hosts +
//	                            overhead), and the share within 1.10 of it
//	fresh_msgs, fresh_lat_med_ms, fresh_path_ratio_med, fresh_excess_med_ms
//	                            (sparse) pairs that had not talked before the
//	                            phase, so hold no shortcut: latency over the
//	                            routed path's link latency, and what the software
//	                            adds to it
func phaseRows(cfg config, r *runResult, ph string, overhead time.Duration, out *results) {
	row := "floc/" + r.Mode + "/" + ph
	var lat []float64
	for _, m := range r.Msgs {
		if m.Phase == ph {
			lat = append(lat, ms(m.Latency))
		}
	}
	from, to := phaseWindow(r.Logs, ph)
	out.put(row, "msgs", len(lat))
	out.put(row, "dur_s", f3((to - from).Seconds()))
	out.put(row, "lat_med_ms", f3(stats.Median(lat)))
	out.put(row, "lat_p95_ms", f3(stats.Interpolated(lat, 0.95)))
	all := delta(r.Traffic, from, to)
	if n := all.Local + all.Shortcut + all.Routed; n > 0 {
		out.put(row, "hops_per_msg", f3(float64(all.Hops)/float64(n)))
	}
	cfrom, cto := commonWindow(r.Logs, ph)
	after := within(r.Traffic, cfrom+cfg.Warmup, cto)
	out.put(row, "after_routed", after.Routed)
	out.put(row, "after_shortcut", after.Shortcut)
	out.put(row, "after_local", after.Local)
	if n := after.Local + after.Shortcut + after.Routed; n > 0 {
		out.put(row, "one_hop_frac", f4(float64(after.Local+after.Shortcut)/float64(n)))
	}

	minMsgs, window := r.Floc.MinMsgs, r.Floc.Window
	if minMsgs == 0 { // Floc off: judge chattiness by the default policy
		d := floc.DefaultConfig()
		minMsgs, window = d.MinMsgs, d.Window
	}
	chatty := chattyPairs(r.Logs, ph, minMsgs, window)
	talked := map[pair]bool{}
	var ratios, clat, clink []float64
	for _, m := range r.Msgs {
		if m.Phase != ph {
			continue
		}
		p := pair{m.Src, m.Dst}
		talked[p] = true
		if chatty[p] && m.Link > 0 && afterWarmup(r.Logs, m.msg, cfg.Warmup) {
			ratios = append(ratios, float64(m.Latency)/float64(m.Link+overhead))
			clat = append(clat, ms(m.Latency))
			clink = append(clink, ms(m.Link))
		}
	}
	out.put(row, "pairs", len(talked))
	out.put(row, "chatty_pairs", len(chatty))
	out.put(row, "chatty_msgs", len(ratios))
	if len(ratios) > 0 {
		within := 0
		for _, x := range ratios {
			if x <= 1.10 {
				within++
			}
		}
		out.put(row, "chatty_lat_med_ms", f3(stats.Median(clat)))
		out.put(row, "chatty_link_med_ms", f3(stats.Median(clink)))
		out.put(row, "chatty_ratio_med", f4(stats.Median(ratios)))
		out.put(row, "chatty_ratio_p95", f4(stats.Interpolated(ratios, 0.95)))
		out.put(row, "chatty_within10", f4(float64(within)/float64(len(ratios))))
	}
	if ph == "sparse" {
		before := usedBefore(r.Logs, ph)
		var flat, fratio, fexcess []float64
		for _, m := range r.Msgs {
			if m.Phase == ph && !before[pair{m.Src, m.Dst}] && m.Ideal > 0 {
				flat = append(flat, ms(m.Latency))
				fratio = append(fratio, float64(m.Latency)/float64(m.Ideal))
				fexcess = append(fexcess, ms(m.Latency-m.Ideal))
			}
		}
		out.put(row, "fresh_msgs", len(flat))
		if len(flat) > 0 {
			out.put(row, "fresh_lat_med_ms", f3(stats.Median(flat)))
			out.put(row, "fresh_path_ratio_med", f4(stats.Median(fratio)))
			out.put(row, "fresh_excess_med_ms", f3(stats.Median(fexcess)))
		}
	}
}

func f3(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return fmt.Sprintf("%.3f", x)
}

func f4(x float64) string { return fmt.Sprintf("%.4f", x) }
