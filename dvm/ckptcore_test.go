package dvm

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// The coordinator's protocol, step by step: counts in, cut named, states
// stored, commit; and every way an epoch can fail.
func TestCkptCoreEpochs(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// complete is epoch e as a coordinator reports it, the same as the
	// first case's commit.
	complete := func(e int) EpochInfo {
		return EpochInfo{Epoch: e, At: 10, TookMS: 1000, Bytes: 300, Stored: 120, New: 30, CIDs: []string{"a", "b", "c"}}
	}
	stored := func(e int, cid string) wire.CkptStored {
		return wire.CkptStored{Epoch: e, CID: cid, Bytes: 100, Stored: 40, New: 10}
	}
	type ev struct {
		kind  string // count, stored, fail, adopt
		epoch int
		rank  int
		n     uint64
		s     wire.CkptStored
		e     EpochInfo // adopt: what the coordinator answered
		// what the step must be
		at     uint64
		commit bool
		abort  string
	}
	cases := []struct {
		name   string
		events []ev
		last   int // the last committed epoch afterwards (0: none)
	}{
		{"the cut is one past the furthest rank, then commit", []ev{
			{kind: "count", epoch: 1, rank: 0, n: 7},
			{kind: "count", epoch: 1, rank: 2, n: 9},
			{kind: "count", epoch: 1, rank: 1, n: 8, at: 10},
			{kind: "stored", epoch: 1, rank: 1, s: stored(1, "b")},
			{kind: "stored", epoch: 1, rank: 0, s: stored(1, "a")},
			{kind: "stored", epoch: 1, rank: 2, s: stored(1, "c"), commit: true},
		}, 1},
		{"a repeated count changes nothing once the cut is named", []ev{
			{kind: "count", epoch: 1, rank: 0, n: 1},
			{kind: "count", epoch: 1, rank: 1, n: 1},
			{kind: "count", epoch: 1, rank: 2, n: 3, at: 4},
			{kind: "count", epoch: 1, rank: 2, n: 50},
		}, 0},
		{"a rank's error aborts, and later reports are ignored", []ev{
			{kind: "count", epoch: 1, rank: 0, n: 1},
			{kind: "count", epoch: 1, rank: 1, n: 1},
			{kind: "count", epoch: 1, rank: 2, n: 1, at: 2},
			{kind: "stored", epoch: 1, rank: 0, s: stored(1, "a")},
			{kind: "stored", epoch: 1, rank: 1, s: wire.CkptStored{Epoch: 1, Err: "disk full"}, abort: "rank 1: disk full"},
			{kind: "stored", epoch: 1, rank: 2, s: stored(1, "c")},
		}, 0},
		{"state before the cut is named is a protocol error", []ev{
			{kind: "stored", epoch: 1, rank: 0, s: stored(1, "a"), abort: "before the cut"},
		}, 0},
		{"a timeout or lost rank aborts; reports of an old epoch are ignored", []ev{
			{kind: "count", epoch: 1, rank: 0, n: 1},
			{kind: "fail", epoch: 1, abort: "timed out"},
			{kind: "count", epoch: 1, rank: 1, n: 1},
			{kind: "fail", epoch: 1},
		}, 0},
		{"the submitter commits what the coordinator completed", []ev{
			{kind: "adopt", epoch: 1, e: complete(1), commit: true},
		}, 1},
		{"an answer that misses a rank's state aborts", []ev{
			{kind: "adopt", epoch: 1, e: EpochInfo{Epoch: 1, CIDs: []string{"a", "", "c"}}, abort: "2 of 3 states"},
		}, 0},
		{"an answer for another epoch aborts", []ev{
			{kind: "adopt", epoch: 1, e: complete(2), abort: "epoch 2"},
		}, 0},
		{"an answer after the epoch failed changes nothing", []ev{
			{kind: "fail", epoch: 1, abort: "timed out"},
			{kind: "adopt", epoch: 1, e: complete(1)},
		}, 0},
		{"reports for another epoch or rank do not count", []ev{
			{kind: "count", epoch: 2, rank: 0, n: 1},
			{kind: "count", epoch: 1, rank: 7, n: 1},
			{kind: "count", epoch: 1, rank: -1, n: 1},
			{kind: "count", epoch: 1, rank: 0, n: 1},
			{kind: "count", epoch: 1, rank: 1, n: 1},
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCkptCore(3)
			e, err := c.begin(t0)
			if err != nil || e != 1 {
				t.Fatalf("begin: %d %v", e, err)
			}
			if _, err := c.begin(t0); err == nil {
				t.Fatal("a second epoch began while one is under way")
			}
			for i, x := range tc.events {
				var st ckptStep
				switch x.kind {
				case "count":
					st = c.count(x.epoch, x.rank, x.n)
				case "stored":
					st = c.stored(x.epoch, x.rank, x.s, t0.Add(time.Second))
				case "fail":
					st = c.fail(x.epoch, "timed out")
				case "adopt":
					st = c.adopt(x.epoch, x.e)
				}
				if st.sendAt != x.at || (st.commit != nil) != x.commit || (x.abort == "") != (st.abort == "") ||
					!strings.Contains(st.abort, x.abort) {
					t.Fatalf("event %d (%+v): step %+v", i, x, st)
				}
			}
			last, ok := c.last()
			if tc.last == 0 && ok || tc.last != 0 && last.Epoch != tc.last {
				t.Fatalf("last committed: %+v %v, want epoch %d", last, ok, tc.last)
			}
			if ok {
				if strings.Join(last.CIDs, ",") != "a,b,c" || last.Bytes != 300 || last.Stored != 120 || last.New != 30 || last.At != 10 || last.TookMS != 1000 {
					t.Fatalf("committed epoch: %+v", last)
				}
			}
			// Whatever happened, the next epoch can begin and is numbered after.
			if c.cur == nil {
				if e, err := c.begin(t0); err != nil || e != 2 {
					t.Fatalf("next begin: %d %v", e, err)
				}
			}
		})
	}
}

func TestRunIDs(t *testing.T) {
	for _, tc := range []struct {
		id   string
		job  string
		run  int
		okay bool
	}{
		{"3f9a1c0be2d4", "3f9a1c0be2d4", 0, true},
		{"3f9a1c0be2d4.2", "3f9a1c0be2d4", 2, true},
		{"3f9a1c0be2d4.0", "", 0, false},
		{"3f9a1c0be2d4.x", "", 0, false},
		{".1", "", 0, false},
		{"", "", 0, false},
	} {
		job, run, ok := parseRunID(tc.id)
		if ok != tc.okay || ok && (job != tc.job || run != tc.run) {
			t.Errorf("parseRunID(%q) = %q %d %v", tc.id, job, run, ok)
		}
		if ok && runID(job, run) != tc.id {
			t.Errorf("runID(%q, %d) = %q", job, run, runID(job, run))
		}
	}
}

func TestHeartbeatMisses(t *testing.T) {
	m := &misses{limit: 3, n: map[peer.ID]int{}}
	seq := []struct {
		ok, lost bool
	}{{false, false}, {false, false}, {true, false}, {false, false}, {false, false}, {false, true}, {false, false}}
	for i, s := range seq {
		if got := m.answer("h", s.ok); got != s.lost {
			t.Fatalf("answer %d (ok=%v): lost=%v, want %v", i, s.ok, got, s.lost)
		}
	}
	if m.answer("other", false) {
		t.Fatal("one miss of another host declared it lost")
	}
}
