package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

const sampleLog = "T\t1000\n" +
	"P\tring\t0\t5000000000\n" +
	"P\tbcast\t5000000000\t9000000000\n" +
	"P\tbarrier\t9000000000\t12000000000\n" +
	"P\tsparse\t12000000000\t15000000000\n" +
	"S\tring\t1500000000\t3\t21000000\n" +
	"S\tsparse\t13000000000\t0\t45000000\n"

func TestParseRankLog(t *testing.T) {
	l, err := parseRankLog(strings.NewReader(sampleLog), 4)
	if err != nil {
		t.Fatal(err)
	}
	if l.T0 != time.Unix(0, 1000) || len(l.Spans) != 4 || len(l.Msgs) != 2 {
		t.Fatalf("parsed %+v", l)
	}
	if s := l.Spans[1]; s.Phase != "bcast" || s.Start != 5*time.Second || s.End != 9*time.Second {
		t.Fatalf("bcast span %+v", s)
	}
	if m := l.Msgs[0]; m != (msg{Phase: "ring", Recv: 1500 * time.Millisecond, Src: 3, Dst: 4, Latency: 21 * time.Millisecond}) {
		t.Fatalf("message %+v", m)
	}
	for _, bad := range []string{
		"T\t1000\n", // no phases
		strings.Replace(sampleLog, "ring", "rung", 1), // unknown phase
		sampleLog + "S\tring\t1\t2\n",                 // short line
		sampleLog + "S\tring\tx\t2\t3\n",              // not a number
	} {
		if _, err := parseRankLog(strings.NewReader(bad), 0); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestPairsAndWarmup(t *testing.T) {
	span := []span{{"ring", 0, 2 * time.Second}, {"bcast", 2 * time.Second, 4 * time.Second},
		{"barrier", 4 * time.Second, 5 * time.Second}, {"sparse", 5 * time.Second, 6 * time.Second}}
	logs := []rankLog{{Spans: span}, {Spans: span}}
	for i := range 20 { // 10/s from 0 to 1 over the 2 s ring
		logs[1].Msgs = append(logs[1].Msgs, msg{Phase: "ring", Recv: time.Duration(i) * 100 * time.Millisecond, Src: 0, Dst: 1})
	}
	for i := range 10 { // 5/s from 1 to 0
		logs[0].Msgs = append(logs[0].Msgs, msg{Phase: "ring", Recv: time.Duration(i) * 200 * time.Millisecond, Src: 1, Dst: 0})
	}
	ch := chattyPairs(logs, "ring", 8, time.Second)
	if !ch[pair{0, 1}] || ch[pair{1, 0}] || len(ch) != 1 {
		t.Fatalf("chatty pairs %v, want only 0->1", ch)
	}
	if ub := usedBefore(logs, "sparse"); !ub[pair{0, 1}] || !ub[pair{1, 0}] || len(usedBefore(logs, "ring")) != 0 {
		t.Fatalf("used before: %v", ub)
	}
	m := msg{Phase: "bcast", Recv: 2500 * time.Millisecond, Dst: 0}
	if afterWarmup(logs, m, time.Second) || !afterWarmup(logs, m, 500*time.Millisecond) {
		t.Fatal("warm-up is counted from the receiver's phase start")
	}
	if from, to := phaseWindow(logs, "bcast"); from != 2*time.Second || to != 4*time.Second {
		t.Fatalf("window %v..%v", from, to)
	}
}

func TestHopsAndDelta(t *testing.T) {
	ts := []trafficSample{
		{At: 0},
		{At: 100 * time.Millisecond, Routed: 10, Hops: 20},
		{At: 200 * time.Millisecond, Routed: 10, Hops: 20},
		{At: 300 * time.Millisecond, Routed: 10, Shortcut: 10, Local: 10, Hops: 30},
	}
	at, h := hopsPerMsg(ts)
	if len(at) != 3 || h[0] != 2 || !math.IsNaN(h[1]) || h[2] != 0.5 {
		t.Fatalf("hops per message %v at %v", h, at)
	}
	d := delta(ts, 90*time.Millisecond, time.Second)
	if d.Routed != 0 || d.Shortcut != 10 || d.Hops != 10 || d.At != 200*time.Millisecond {
		t.Fatalf("delta %+v", d)
	}
}

func TestBinMedians(t *testing.T) {
	xs := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 250 * time.Millisecond}
	bx, by := binMedians(xs, []float64{1, 5, 3, 9}, 100*time.Millisecond)
	if len(bx) != 2 || bx[0] != 0.05 || by[0] != 3 || bx[1] != 0.25 || by[1] != 9 {
		t.Fatalf("bins %v %v", bx, by)
	}
}

func TestCommonWindowAndWithin(t *testing.T) {
	logs := []rankLog{
		{Spans: []span{{"barrier", 1 * time.Second, 7 * time.Second}, {"sparse", 7 * time.Second, 13 * time.Second}}},
		{Spans: []span{{"barrier", 1200 * time.Millisecond, 7500 * time.Millisecond}}},
	}
	if from, to := commonWindow(logs, "barrier"); from != 1200*time.Millisecond || to != 7*time.Second {
		t.Fatalf("common window of barrier %v..%v, want 1.2s..7s", from, to)
	}
	ts := []trafficSample{
		{At: 4 * time.Second, Shortcut: 100},
		{At: 5 * time.Second, Shortcut: 200},
		{At: 7 * time.Second, Shortcut: 300},
		{At: 7050 * time.Millisecond, Shortcut: 300, Routed: 50}, // the next phase, nearest to 7 s but outside
	}
	if d := within(ts, 4200*time.Millisecond, 7*time.Second); d.Shortcut != 100 || d.Routed != 0 {
		t.Fatalf("within %+v, want only the samples at 5 s and 7 s", d)
	}
	if d := within(ts, 6*time.Second, 6500*time.Millisecond); d != (trafficSample{}) {
		t.Fatalf("a window without two samples gave %+v", d)
	}
}
