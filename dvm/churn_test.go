package dvm

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// A 16-rank job on 64 mocknet peers whose ranks exchange numbered
// messages without pause (all-to-all and ring phases) while 16 peers
// join close to its ranks' keys, 8 leave and 4 crash (none of them hosts
// a rank). Every message arrives exactly once and in order (the program
// checks its own numbers), and afterwards every location object lives at
// its key's owner. "routed" sends every message through owners, the
// hardest case for moving objects; "floc" lets chatty pairs take
// shortcuts, which churn must not break either. Direct rank connections
// are off, so all traffic crosses the overlay.
//
// Under the race detector (make test-race) the scene is a quarter of
// that size on 24 peers, which still runs every code path concurrently;
// make test runs the full size without it as well (make test-churn).
func TestChurnMocknet(t *testing.T) {
	if testing.Short() {
		t.Skip("churn with 64 peers")
	}
	sc := churnScale{peers: 64, ranks: 16, joins: 16}
	if raceEnabled {
		sc = churnScale{peers: 24, ranks: 8, joins: 4}
	}
	for _, tc := range []struct {
		name string
		floc bool
	}{{"routed", false}, {"floc", true}} {
		t.Run(tc.name, func(t *testing.T) { churnMocknet(t, tc.floc, sc) })
	}
}

// churnScale: joins peers join, half as many leave and a quarter crash.
type churnScale struct{ peers, ranks, joins int }

func churnMocknet(t *testing.T, withFloc bool, sc churnScale) {
	// P2PDVM_CHURN_SEED replays a failed run's joins, leaves and crashes
	// (the timing of the peers' own work still differs run to run).
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("P2PDVM_CHURN_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (P2PDVM_CHURN_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	edit := func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
		c.RankDirect = false
		c.Floc.Enabled = withFloc
		// Every pair is chatty from its first round, however slowly the
		// machine runs the job, and shortcuts revalidate often, so
		// churn's version changes reach them during the test.
		c.Floc.MinMsgs = 2
		c.Floc.Refresh = 500 * time.Millisecond
	}
	prog := buildProg(t, "./testdata/churn")
	mn, peers := mockNet(t, sc.peers, edit)
	stop := filepath.Join(t.TempDir(), "stop")
	sub := peers[0]
	ctx := context.Background()
	n := sc.ranks
	j, err := sub.Submit(ctx, Spec{Program: prog, N: n, Args: []string{stop, "2", "64"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.WriteFile(stop, nil, 0o600) }()
	hosts := map[peer.ID]bool{}
	testutil.Eventually(t, 60*time.Second, "every rank running", func() bool {
		rec := j.record()
		for _, r := range rec.Ranks {
			if r.State != RankRunning {
				return false
			}
		}
		for _, r := range rec.Ranks {
			hosts[r.Host] = true
		}
		return true
	})

	live := slices.Clone(peers)
	// victim picks a peer that hosts no rank and did not submit, one that
	// owns location objects if there is one, so that a crash loses some.
	victim := func() *Peer {
		var cands, owning []*Peer
		for _, p := range live {
			if p != sub && !hosts[p.ID()] {
				cands = append(cands, p)
				if p.locs.count() > 0 {
					owning = append(owning, p)
				}
			}
		}
		if len(owning) > 0 {
			cands = owning
		}
		v := cands[rng.IntN(len(cands))]
		live = slices.DeleteFunc(live, func(p *Peer) bool { return p == v })
		return v
	}
	var lost int
	for i := 0; i < sc.joins; i++ {
		near := RankKey(j.ID(), rng.IntN(n))
		live = append(live, join(t, mn, live, near, 3, edit))
		if i%2 == 1 {
			v := victim()
			t.Logf("leave %s (%d objects)", shortID(v.ID()), v.locs.count())
			v.Close()
			cutOff(mn, v)
		}
		if i%4 == 3 {
			v := victim()
			lost += v.locs.count()
			t.Logf("crash %s (%d objects)", shortID(v.ID()), v.locs.count())
			cutOff(mn, v) // first: a crashed peer hands nothing on
			v.Close()
		}
	}
	if got, want := len(live), sc.peers+sc.joins-sc.joins/2-sc.joins/4; got != want {
		t.Fatalf("%d peers live, want %d", got, want)
	}
	ids := make([]peer.ID, len(live))
	for i, p := range live {
		ids[i] = p.ID()
	}
	byID := map[peer.ID]*Peer{}
	for _, p := range live {
		byID[p.ID()] = p
	}
	moved := 0
	misplaced := func() (bad []string) {
		moved = 0
		for r := 0; r < n; r++ {
			owner := closest(RankKey(j.ID(), r), ids)
			l, ok := byID[owner].locs.get(j.ID(), r)
			if ok {
				if l.Version > 1 {
					moved++
				}
				continue
			}
			var at []string
			for _, p := range live {
				if l, ok := p.locs.get(j.ID(), r); ok {
					at = append(at, fmt.Sprintf("%s v%d ticket=%v", shortID(p.ID()), l.Version, l.Ticket != nil))
				}
			}
			// The host's side: where it believes the rank is registered.
			host := "host unknown"
			for _, p := range live {
				if pr := p.procs.get(j.ID(), r); pr != nil {
					pr.mu.Lock()
					host = fmt.Sprintf("host %s registered it at %s v%d %v ago, ticket=%v",
						shortID(p.ID()), shortID(pr.regAt), pr.regVer, time.Since(pr.regCheck).Round(time.Millisecond), pr.ticket != nil)
					pr.mu.Unlock()
				}
			}
			bad = append(bad, fmt.Sprintf("rank %d: owner %s, held at %v; %s", r, shortID(owner), at, host))
		}
		return bad
	}
	deadline := time.Now().Add(30 * time.Second)
	for bad := misplaced(); len(bad) > 0; bad = misplaced() {
		if time.Now().After(deadline) {
			t.Fatalf("location objects not at their keys' owners:\n%s", strings.Join(bad, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := j.Output(wctx, true, func(c Chunk) error { out.Write(c.Data); return nil }); err != nil {
		t.Fatalf("output: %v", err)
	}
	rec, err := j.Wait(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != JobDone {
		t.Fatalf("job %s (exit %d): %s\n%s", rec.State, rec.ExitCode, rec.Err, out.String())
	}
	if got := strings.Count(out.String(), " ok rounds="); got != n {
		t.Fatalf("%d ranks ok, want %d:\n%s", got, n, out.String())
	}
	var tr TrafficStats
	for _, p := range live {
		s := p.Traffic()
		tr.Routed += s.Routed
		tr.Shortcut += s.Shortcut
		tr.Retries += s.Retries
		tr.Resent += s.Resent
	}
	t.Logf("%d of %d location objects moved; %d were on crashed peers; messages: %d routed, %d by shortcut, %d route retries, %d resent\n%s",
		moved, n, lost, tr.Routed, tr.Shortcut, tr.Retries, tr.Resent, firstLines(out.String(), 2))
	if moved == 0 {
		t.Fatal("no location object moved: the joins did not exercise hand-off")
	}
	if withFloc && tr.Shortcut == 0 {
		t.Fatal("no message took a shortcut")
	}
}

// cutOff removes p from the network, as a crash or a departure does. It
// unlinks p first, so nothing dials it again, then closes the
// connections from both ends: a mocknet host that was closed still
// accepts a dial. A closed Peer serves nothing on it any more (Close
// removes its handlers), but a crashed one is cut off before it closes,
// and until then it would still answer as if alive.
func cutOff(mn mocknet.Mocknet, p *Peer) {
	for _, q := range mn.Peers() {
		if q != p.ID() {
			_ = mn.UnlinkPeers(p.ID(), q)
		}
	}
	// A dial that passed its link check before the unlink may still be
	// adding its connection: sweep until no end holds one (bounded).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		left := 0
		for _, q := range mn.Peers() {
			if q == p.ID() {
				continue
			}
			left += len(mn.Net(p.ID()).ConnsToPeer(q)) + len(mn.Net(q).ConnsToPeer(p.ID()))
			_ = mn.DisconnectPeers(p.ID(), q)
			_ = mn.DisconnectPeers(q, p.ID())
		}
		if left == 0 {
			return
		}
		time.Sleep(time.Millisecond) // the far ends close asynchronously
	}
}

func firstLines(s string, k int) string {
	ls := strings.SplitN(s, "\n", k+1)
	return strings.Join(ls[:min(k, len(ls))], "\n")
}
