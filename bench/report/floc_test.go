package main

import (
	"strings"
	"testing"
)

func flocResults(t *testing.T, rows string) results {
	t.Helper()
	r, err := read(strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const flocRows = "floc-meta\tpeers\t64\n" +
	"floc/floc/ring\tpairs\t16\nfloc/floc/ring\tchatty_pairs\t16\nfloc/floc/ring\tone_hop_frac\t0.97\n" +
	"floc/floc/ring\tchatty_ratio_med\t1.04\nfloc/floc/ring\tchatty_ratio_p95\t1.6\nfloc/floc/ring\tchatty_within10\t0.7\n" +
	"floc/floc/bcast\tpairs\t15\nfloc/floc/bcast\tchatty_pairs\t15\nfloc/floc/bcast\tone_hop_frac\t0.93\n" +
	"floc/floc/bcast\tchatty_ratio_med\t1.05\nfloc/floc/bcast\tchatty_ratio_p95\t3\nfloc/floc/bcast\tchatty_within10\t0.6\n" +
	// No pair of the barrier is chatty: it is left out.
	"floc/floc/barrier\tpairs\t64\nfloc/floc/barrier\tchatty_pairs\t0\nfloc/floc/barrier\tone_hop_frac\t0.4\n" +
	// Some pairs of the sparse phase are: it counts, with all its messages.
	"floc/floc/sparse\tpairs\t240\nfloc/floc/sparse\tchatty_pairs\t3\nfloc/floc/sparse\tone_hop_frac\t0.96\n" +
	"floc/floc/sparse\tchatty_ratio_med\t1.01\n" +
	"floc/floc/sparse\tfresh_path_ratio_med\t1.30\nfloc/floc/sparse\tfresh_lat_med_ms\t70\n" +
	"floc/routed/sparse\tfresh_path_ratio_med\t1.25\n" +
	"floc-next/routed\tns_op\t50\n"

func TestFlocTargets(t *testing.T) {
	ts := (&report{r: flocResults(t, flocRows)}).flocTargets()
	if len(ts) != 3 {
		t.Fatalf("%d targets", len(ts))
	}
	if ts[0].met != "not met" || !strings.Contains(ts[0].measured, "bcast 93.0%") || strings.Contains(ts[0].measured, "barrier") ||
		!strings.Contains(ts[0].measured, "sparse 96.0% (of all its messages: 3 of 240 pairs chatty)") {
		t.Errorf("one hop: %+v", ts[0])
	}
	if ts[1].met != "met" {
		t.Errorf("latency: %+v", ts[1])
	}
	// +4% end to end, and Next is 50 ns of 70 ms.
	if ts[2].met != "met" || !strings.Contains(ts[2].measured, "+4.0%") {
		t.Errorf("bookkeeping: %+v", ts[2])
	}
	none := (&report{r: flocResults(t, "floc\tstatus\tfailed: exit 1\n")}).flocTargets()
	for _, tg := range none {
		if tg.met != "not measured" || tg.measured != "failed: exit 1" {
			t.Errorf("without samples: %+v", tg)
		}
	}
}

func TestMergeFloc(t *testing.T) {
	r := flocResults(t, flocRows)
	full := "# B\n\n## Idle\n\nx\n\n## Targets\n\nt\n"
	once := mergeFloc(full, r)
	if !strings.HasPrefix(once, "# B\n\n## Idle\n\nx\n\n"+flocBegin) || !strings.Contains(once, flocEnd+"\n\n## Targets\n\nt\n") {
		t.Fatalf("inserted before Targets:\n%s", once)
	}
	r["floc-meta"]["peers"] = []string{"32"}
	twice := mergeFloc(once, r)
	if strings.Count(twice, flocBegin) != 1 || !strings.Contains(twice, "`bench/flocbench`: 32 peers") || strings.Contains(twice, "64 peers") {
		t.Fatalf("replaced in place:\n%s", twice)
	}
}
