package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/peal"
)

// The benchmark script parses these lines; their shape is the contract.
var line = regexp.MustCompile(`^pingpong size=(\d+) latency_us=\d+\.\d{3} bandwidth_MBps=\d+\.\d{3}$`)

func TestOutputLines(t *testing.T) {
	// Ranks beyond 1 only wait; with 3 ranks rank 2 must stay silent.
	for _, p := range []int{2, 3} {
		ps := peal.NewGroup("pp", p)
		outs := make([]bytes.Buffer, p)
		errs := make([]error, p)
		var wg sync.WaitGroup
		for i := range ps {
			wg.Go(func() { errs[i] = run(mpishim.InitWith(ps[i]), &outs[i], sizes, 3) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("ranks=%d rank %d: %v", p, i, err)
			}
			if i > 0 && outs[i].Len() != 0 {
				t.Fatalf("rank %d printed %q", i, outs[i].String())
			}
		}
		got := strings.Split(strings.TrimSuffix(outs[0].String(), "\n"), "\n")
		if len(got) != len(sizes) {
			t.Fatalf("ranks=%d: %d lines, want %d: %q", p, len(got), len(sizes), got)
		}
		for i, l := range got {
			m := line.FindStringSubmatch(l)
			if m == nil || m[1] != strconv.Itoa(sizes[i]) {
				t.Errorf("line %d: %q", i, l)
			}
		}
	}
}
