package dvm

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

func TestMissesDeclareAfterLimitInARow(t *testing.T) {
	m := misses{limit: 3, n: map[peer.ID]int{}}
	a, b := peer.ID("a"), peer.ID("b")
	steps := []struct {
		h    peer.ID
		ok   bool
		lost bool
	}{
		{a, false, false}, {a, false, false}, {a, true, false}, // an answer resets the count
		{a, false, false}, {b, false, false}, {a, false, false}, {a, false, true},
		{a, false, false}, // declared once, then counted afresh
	}
	for i, s := range steps {
		if got := m.answer(s.h, s.ok); got != s.lost {
			t.Fatalf("step %d (%s ok=%v): lost=%v, want %v", i, s.h, s.ok, got, s.lost)
		}
	}
	m.keep(map[peer.ID][]Location{a: nil})
	if _, ok := m.n[b]; ok {
		t.Error("a host no longer watched keeps its count")
	}
	if m.n[a] != 1 {
		t.Errorf("a watched host's count: %d, want 1", m.n[a])
	}
}

// Any peer can claim a host is lost; the submitter acts only when the host
// does not answer it either, so a lie costs one ping and no restart.
func TestLossReportNeedsConfirmation(t *testing.T) {
	peers := mockCluster(t, 3)
	sub := peers[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j := endlessJob(t, sub)
	var rec JobRecord
	testutil.Eventually(t, 20*time.Second, "both ranks running", func() bool {
		rec, _ = sub.JobStatus(ctx, j.ID())
		return rec.Ranks[0].State == RankRunning && rec.Ranks[1].State == RankRunning
	})
	host := rec.Ranks[0].Host
	liar := peers[1]
	if liar.ID() == host {
		liar = peers[2]
	}
	if host == sub.ID() {
		host = rec.Ranks[1].Host
	}
	if host == sub.ID() {
		t.Skip("both ranks run on the submitter")
	}
	if err := liar.call(ctx, sub.ID(), "host.lost", hostLostReq{Run: j.ID(), Host: host, Why: "made up"}, nil); err != nil {
		t.Fatalf("host.lost: %v", err)
	}
	// The report was handled before the call returned.
	after, err := sub.JobStatus(ctx, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if after.State != JobRunning || after.Restarts != 0 {
		t.Fatalf("after a false report: state %s, %d restarts", after.State, after.Restarts)
	}
	for _, r := range after.Ranks {
		if r.State != RankRunning {
			t.Errorf("rank %d is %s after a false report about %s", r.Rank, r.State, shortID(host))
		}
	}
}
