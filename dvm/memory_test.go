package dvm

import (
	"testing"
	"time"
)

// Memory goes back after a burst of block traffic has been quiet for a
// while, and not while ranks run here: a job that checkpoints every few
// seconds would fault it back in at every epoch.
func TestReleaseAfterQuietBurstWhenNoRanks(t *testing.T) {
	t0 := time.Unix(1000, 0)
	burst := func(n int64, at time.Time) *releaser {
		r := &releaser{}
		r.moved.Store(n)
		r.last.Store(at.UnixNano())
		return r
	}
	for _, c := range []struct {
		name    string
		r       *releaser
		now     time.Time
		hosting bool
		want    bool
	}{
		{"quiet burst, idle peer", burst(bulkRelease, t0), t0.Add(bulkQuiet), false, true},
		{"quiet burst, ranks running", burst(bulkRelease, t0), t0.Add(bulkQuiet), true, false},
		{"ranks ended long after the burst", burst(bulkRelease, t0), t0.Add(time.Hour), false, true},
		{"burst still under way", burst(bulkRelease, t0), t0.Add(bulkQuiet - time.Millisecond), false, false},
		{"too little moved", burst(bulkRelease-1, t0), t0.Add(time.Hour), false, false},
	} {
		if got := c.r.due(c.now, c.hosting); got != c.want {
			t.Errorf("%s: due = %v, want %v", c.name, got, c.want)
		}
	}
}
