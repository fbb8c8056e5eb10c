package main

import (
	"math"
	"strings"
	"testing"
)

func TestPaired(t *testing.T) {
	// Repetition 2 of row a failed (no sample), repetition 4 of b did;
	// repetitions come in rotated order, so pairing goes by number.
	in := strings.Join([]string{
		"a\trep\t1", "a\ttime_s\t11",
		"b\trep\t1", "b\ttime_s\t10",
		"b\trep\t2", "b\ttime_s\t20",
		"a\trep\t3", "a\ttime_s\t36",
		"b\trep\t3", "b\ttime_s\t30",
		"a\trep\t4", "a\ttime_s\t99",
		"a\trep\t5", "a\ttime_s\t10",
		"b\trep\t5", "b\ttime_s\t10",
		"c\ttime_s\t10",
	}, "\n") + "\n"
	r, err := read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	q := r.paired("a", "b", "time_s")
	if !q.ok || q.n != 3 || math.Abs(q.med-1.1) > 1e-12 || q.min != 1 || math.Abs(q.max-1.2) > 1e-12 {
		t.Fatalf("paired(a, b) = %+v, want 3 ratios 1.0, 1.1, 1.2", q)
	}
	if q := r.paired("c", "b", "time_s"); q.ok {
		t.Fatalf("paired(c, b) = %+v without repetition numbers, want none", q)
	}

	a, b := r.summarise("a", "time_s", "a"), r.summarise("b", "time_s", "b")
	le := func(x float64) bool { return x <= 1.1 }
	if got := cmpPaired("t", q, a, b, "s", le); got.met != "met" || !strings.HasPrefix(got.measured, "1.10× paired median over 3") {
		t.Errorf("cmpPaired = %+v, want met on the paired median 1.10×", got)
	}
	// The ratio of medians (23.5/15 = 1.57) decides only without pairs.
	if got := cmpPaired("t", r.paired("c", "b", "time_s"), a, b, "s", le); got.met != "not met" || !strings.HasPrefix(got.measured, "1.57× ratio of medians") {
		t.Errorf("cmpPaired without pairs = %+v, want not met on 1.57×", got)
	}
}
