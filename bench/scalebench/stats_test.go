package main

import (
	"testing"
)

func TestLookupTraceDepth(t *testing.T) {
	tr := newLookupTrace()
	// Two peers from the routing table, queried at once.
	tr.sending("a")
	tr.sending("b")
	tr.answered("a", []string{"c", "d"})
	tr.sending("c")
	tr.answered("b", []string{"d", "e"}) // d was named by a first
	tr.sending("d")
	tr.answered("c", []string{"f"})
	tr.sending("f")
	tr.failed() // f does not answer
	tr.answered("d", nil)
	if tr.Sent != 5 || tr.Answered != 4 || tr.Failed != 1 {
		t.Fatalf("counts: sent %d answered %d failed %d", tr.Sent, tr.Answered, tr.Failed)
	}
	// a (1) -> c (2) answered; f (3) never answered, so the chain is 2 deep.
	if tr.Rounds != 2 {
		t.Fatalf("rounds %d, want 2", tr.Rounds)
	}
	if tr.depthOf("f") != 2 || tr.depthOf("d") != 1 || tr.depthOf("a") != 0 {
		t.Fatalf("depths: f %d d %d a %d", tr.depthOf("f"), tr.depthOf("d"), tr.depthOf("a"))
	}
}

func TestShortFuncAndStatusLines(t *testing.T) {
	if got := shortFunc("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).transport"); got != "mock.(*stream).transport" {
		t.Errorf("shortFunc: %q", got)
	}
	if got := shortFunc("main.main"); got != "main.main" {
		t.Errorf("shortFunc: %q", got)
	}
	for _, c := range []struct {
		line string
		kib  uint64
		ok   bool
	}{{"VmRSS:\t  123456 kB", 123456, true}, {"VmHWM:\t 1 kB", 0, false}, {"VmRSS: 12", 0, false}, {"VmRSS: x kB", 0, false}} {
		kib, ok := parseStatusKiB(c.line, "VmRSS:")
		if kib != c.kib || ok != c.ok {
			t.Errorf("parseStatusKiB(%q) = %d, %v", c.line, kib, ok)
		}
	}
	if got := perPeerMiB(1<<20, 11<<20, 5); got != 2 {
		t.Errorf("perPeerMiB: %v", got)
	}
	if got := perPeerMiB(5, 1, 5); got != 0 {
		t.Errorf("perPeerMiB below the baseline: %v", got)
	}
}

func TestCheckAllreduce(t *testing.T) {
	// 64 ranks, 5 iterations: 15 · 2080.
	if _, err := checkAllreduce("x\nallreduce ranks=64 iters=5 sum=31200\n", 64, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := checkAllreduce("allreduce ranks=64 iters=5 sum=31199\n", 64, 5); err == nil {
		t.Fatal("a wrong sum passed")
	}
	if _, err := checkAllreduce("allreduce ranks=32 iters=5 sum=31200\n", 64, 5); err == nil {
		t.Fatal("wrong ranks passed")
	}
	if _, err := checkAllreduce("rank 3 died\n", 64, 5); err == nil {
		t.Fatal("no line passed")
	}
}
