package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/p2pdvm/p2pdvm/bench/internal/stats"
)

// The pure half of the benchmark: reading what the ranks wrote, and the
// statistics the report quotes. Nothing here touches a peer or a clock.

// phases in the order the program runs them.
var phases = []string{"ring", "bcast", "barrier", "sparse"}

// span is one rank's phase, in time since the common start.
type span struct {
	Phase      string
	Start, End time.Duration
}

// msg is one received message, as the receiving rank logged it.
type msg struct {
	Phase    string
	Recv     time.Duration // since the common start
	Src, Dst int
	Latency  time.Duration // one way, sender's stamp to receiver's
}

// rankLog is what one rank wrote: the common start, its phases and the
// messages it received.
type rankLog struct {
	T0    time.Time
	Spans []span
	Msgs  []msg
}

// parseRankLog reads a rank's file (see phases/main.go for the format).
func parseRankLog(rd io.Reader, dst int) (rankLog, error) {
	var l rankLog
	sc := bufio.NewScanner(rd)
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), "\t")
		bad := func(what string) error { return fmt.Errorf("line %d: %s: %q", n, what, sc.Text()) }
		ints := func(fs []string) ([]int64, error) {
			out := make([]int64, len(fs))
			for i, s := range fs {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return nil, bad("not a number")
				}
				out[i] = v
			}
			return out, nil
		}
		switch {
		case f[0] == "T" && len(f) == 2:
			v, err := ints(f[1:])
			if err != nil {
				return l, err
			}
			l.T0 = time.Unix(0, v[0])
		case f[0] == "P" && len(f) == 4:
			if !slices.Contains(phases, f[1]) {
				return l, bad("unknown phase")
			}
			v, err := ints(f[2:])
			if err != nil {
				return l, err
			}
			l.Spans = append(l.Spans, span{f[1], time.Duration(v[0]), time.Duration(v[1])})
		case f[0] == "S" && len(f) == 5:
			if !slices.Contains(phases, f[1]) {
				return l, bad("unknown phase")
			}
			v, err := ints(f[2:])
			if err != nil {
				return l, err
			}
			l.Msgs = append(l.Msgs, msg{Phase: f[1], Recv: time.Duration(v[0]), Src: int(v[1]), Dst: dst, Latency: time.Duration(v[2])})
		default:
			return l, bad("want T, P or S with their fields")
		}
	}
	if err := sc.Err(); err != nil {
		return l, err
	}
	if l.T0.IsZero() || len(l.Spans) != len(phases) {
		return l, fmt.Errorf("incomplete: start %v, %d of %d phases", l.T0, len(l.Spans), len(phases))
	}
	return l, nil
}

// phaseWindow is when a phase ran over all ranks: from the first rank's
// start to the last rank's end.
func phaseWindow(logs []rankLog, phase string) (from, to time.Duration) {
	from, to = time.Duration(math.MaxInt64), 0
	for _, l := range logs {
		for _, s := range l.Spans {
			if s.Phase == phase {
				from, to = min(from, s.Start), max(to, s.End)
			}
		}
	}
	return from, to
}

// commonWindow is when every rank was in a phase: from the last rank's
// start to the first rank's end. The traffic counters are per peer, not
// per phase, so only inside it do they count this phase's messages alone:
// ranks that moved on early already send the next phase's messages, and
// stragglers still send the last one's. Empty (to <= from) if the ranks'
// spans never overlapped.
func commonWindow(logs []rankLog, phase string) (from, to time.Duration) {
	from, to = 0, time.Duration(math.MaxInt64)
	for _, l := range logs {
		for _, s := range l.Spans {
			if s.Phase == phase {
				from, to = max(from, s.Start), min(to, s.End)
			}
		}
	}
	return from, to
}

// pair is a sender and a receiver rank.
type pair struct{ Src, Dst int }

// chattyPairs are the pairs of a phase whose rate over the phase, as the
// receiver saw it, reaches Floc's threshold: minMsgs in window.
func chattyPairs(logs []rankLog, phase string, minMsgs int, window time.Duration) map[pair]bool {
	count := map[pair]int{}
	for _, l := range logs {
		for _, m := range l.Msgs {
			if m.Phase == phase {
				count[pair{m.Src, m.Dst}]++
			}
		}
	}
	out := map[pair]bool{}
	for p, c := range count {
		var d time.Duration
		for _, s := range logs[p.Dst].Spans {
			if s.Phase == phase {
				d = s.End - s.Start
			}
		}
		if d > 0 && float64(c)/d.Seconds() >= float64(minMsgs)/window.Seconds() {
			out[p] = true
		}
	}
	return out
}

// usedBefore are the pairs that exchanged messages in a phase before
// phase: they may still hold a shortcut when it starts.
func usedBefore(logs []rankLog, phase string) map[pair]bool {
	i := slices.Index(phases, phase)
	out := map[pair]bool{}
	for _, l := range logs {
		for _, m := range l.Msgs {
			if j := slices.Index(phases, m.Phase); j >= 0 && j < i {
				out[pair{m.Src, m.Dst}] = true
			}
		}
	}
	return out
}

// afterWarmup reports whether m came in at least warmup after its
// receiver started m's phase.
func afterWarmup(logs []rankLog, m msg, warmup time.Duration) bool {
	for _, s := range logs[m.Dst].Spans {
		if s.Phase == m.Phase {
			return m.Recv >= s.Start+warmup
		}
	}
	return false
}

// trafficSample is the sum of every peer's data-plane counters at one
// moment.
type trafficSample struct {
	At                            time.Duration // since the common start
	Local, Shortcut, Routed, Hops uint64
}

// hopsPerMsg is, between consecutive samples, the peer hops per message
// that left a host (local ones count with 0 hops); NaN where none did.
func hopsPerMsg(ts []trafficSample) (at []time.Duration, hops []float64) {
	for i := 1; i < len(ts); i++ {
		a, b := ts[i-1], ts[i]
		n := (b.Local + b.Shortcut + b.Routed) - (a.Local + a.Shortcut + a.Routed)
		h := math.NaN()
		if n > 0 {
			h = float64(b.Hops-a.Hops) / float64(n)
		}
		at, hops = append(at, b.At), append(hops, h)
	}
	return at, hops
}

// delta is how the counters grew between the samples nearest to from
// and to.
func delta(ts []trafficSample, from, to time.Duration) trafficSample {
	if len(ts) == 0 {
		return trafficSample{}
	}
	near := func(t time.Duration) trafficSample {
		i, _ := slices.BinarySearchFunc(ts, t, func(s trafficSample, t time.Duration) int {
			switch {
			case s.At < t:
				return -1
			case s.At > t:
				return 1
			}
			return 0
		})
		return ts[min(i, len(ts)-1)]
	}
	a, b := near(from), near(to)
	return trafficSample{At: b.At - a.At, Local: b.Local - a.Local, Shortcut: b.Shortcut - a.Shortcut,
		Routed: b.Routed - a.Routed, Hops: b.Hops - a.Hops}
}

// within is how the counters grew between the first sample at or after
// from and the last one at or before to: never a sample outside the
// window. Zero if the window holds fewer than two samples.
func within(ts []trafficSample, from, to time.Duration) trafficSample {
	i := slices.IndexFunc(ts, func(s trafficSample) bool { return s.At >= from })
	j := -1
	for k := len(ts) - 1; k >= 0; k-- {
		if ts[k].At <= to {
			j = k
			break
		}
	}
	if i < 0 || j <= i {
		return trafficSample{}
	}
	a, b := ts[i], ts[j]
	return trafficSample{At: b.At - a.At, Local: b.Local - a.Local, Shortcut: b.Shortcut - a.Shortcut,
		Routed: b.Routed - a.Routed, Hops: b.Hops - a.Hops}
}

// binMedians are the medians of ys over bins of width w by x, for the
// plot; empty bins are left out.
func binMedians(xs []time.Duration, ys []float64, w time.Duration) (bx []float64, by []float64) {
	bins := map[int64][]float64{}
	for i, x := range xs {
		bins[int64(x/w)] = append(bins[int64(x/w)], ys[i])
	}
	keys := make([]int64, 0, len(bins))
	for k := range bins {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		bx = append(bx, (time.Duration(k)*w + w/2).Seconds())
		by = append(by, stats.Median(bins[k]))
	}
	return bx, by
}
