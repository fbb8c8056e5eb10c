package mpishim

import (
	"testing"
	"time"
)

func TestParseStallTotal(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    uint64
		okay bool
	}{
		{"some avg10=2.44 avg60=10.29 avg300=24.06 total=18678327542\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 18678327542, true},
		{"some avg10=0.00 avg60=0.00 avg300=0.00 total=0", 0, true},
		{"full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n", 0, false},
		{"some avg10=0.00 avg60=0.00 avg300=0.00 total=x", 0, false},
		{"some avg10=0.00", 0, false},
		{"", 0, false},
	} {
		n, ok := parseStallTotal([]byte(c.in))
		if n != c.n || ok != c.okay {
			t.Errorf("parseStallTotal(%q) = %d, %v; want %d, %v", c.in, n, ok, c.n, c.okay)
		}
	}
}

// The verdict follows a lasting stall share, not one busy window, and
// comes back once the load has gone.
func TestCPUPressureVerdict(t *testing.T) {
	var q cpuPressure
	at := time.Unix(1000, 0)
	var total uint64
	// feed advances 50 ms windows in which threads stalled share of the time.
	feed := func(shares ...float64) (busy bool) {
		for _, s := range shares {
			at = at.Add(50 * time.Millisecond)
			total += uint64(s * 50000)
			busy = q.observe(total, at)
		}
		return busy
	}
	if feed(0) {
		t.Fatal("the first sample, which only sets the origin, said busy")
	}
	// Two ranks on two cores: ~5%, one window with a burst of other work.
	if feed(0.05, 0.04, 0.06, 0.5, 0.05, 0.05) {
		t.Fatalf("5%% stalls with one busy window taken for oversubscribed (share %.2f)", q.share)
	}
	// Four ranks on two cores: ~70% turns polling off within a few windows...
	if !feed(0.7, 0.7, 0.7) {
		t.Fatalf("70%% stalls not taken for oversubscribed (share %.2f)", q.share)
	}
	// ...and one quiet window among them does not turn it on again.
	if !feed(0.05, 0.7) {
		t.Fatalf("one quiet window turned polling back on (share %.2f)", q.share)
	}
	// Once the other job ends, polling comes back.
	if feed(0, 0, 0, 0, 0, 0, 0, 0) {
		t.Fatalf("still oversubscribed after the load went (share %.2f)", q.share)
	}
	// A counter that went backwards (another pressure file, a reset) only
	// sets a new origin.
	before := q.share
	if q.observe(1, at.Add(time.Second)); q.share != before {
		t.Fatalf("a counter going backwards changed the share from %.2f to %.2f", before, q.share)
	}
}
