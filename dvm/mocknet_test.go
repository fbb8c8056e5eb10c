package dvm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// mockCluster starts n peers on libp2p's in-memory network with the real
// kad-dht and waits until their routing tables are full enough that owner
// lookups agree.
func mockCluster(t *testing.T, n int) []*Peer {
	_, peers := mockNet(t, n, nil)
	return peers
}

// mockNet is mockCluster with each peer's config changed by edit; it
// also returns the network, to cut peers off it.
func mockNet(t *testing.T, n int, edit func(*Config)) (mocknet.Mocknet, []*Peer) {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	dir := t.TempDir()
	var peers []*Peer
	for i := 0; i < n; i++ {
		peers = append(peers, newMockPeer(t, mn, filepath.Join(dir, fmt.Sprint(i)), edit))
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if err := testutil.WaitTable(p.dht.RoutingTable().Size, fullTable(p, peers), 10*time.Second, 30*time.Second, refresh(p)); err != nil {
			t.Fatalf("peer %s's routing table holds %v", shortID(p.ID()), err)
		}
	}
	return mn, peers
}

// refresh asks p's DHT for the routing-table refresh it would otherwise
// run only at its next interval (see testutil.WaitTable).
func refresh(p *Peer) func() { return func() { _ = p.dht.RefreshRoutingTable() } }

// fullTable is the size of p's routing table once it knows all of peers.
func fullTable(p *Peer, peers []*Peer) int {
	ids := make([]peer.ID, len(peers))
	for i, q := range peers {
		ids[i] = q.ID()
	}
	return testutil.FullTable(p.ID(), ids)
}

func newMockPeer(t *testing.T, mn mocknet.Mocknet, dir string, edit func(*Config)) *Peer {
	t.Helper()
	h, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	return newPeerOn(t, h, dir, edit)
}

func newPeerOn(t *testing.T, h host.Host, dir string, edit func(*Config)) *Peer {
	t.Helper()
	cfg := DefaultConfig(dir)
	cfg.ControlSocket = false
	testEdit(t)(&cfg)
	if edit != nil {
		edit(&cfg)
	}
	p, err := NewWithHost(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// join adds a peer to a running mock network, linked and connected to
// the peers in live, and waits until they all know each other. Its
// identity is drawn until it ranks among the k peers closest to near, so
// that it takes over some key space for sure.
func join(t *testing.T, mn mocknet.Mocknet, live []*Peer, near []byte, k int, edit func(*Config)) *Peer {
	t.Helper()
	var ids []peer.ID
	for _, q := range live {
		ids = append(ids, q.ID())
	}
	var sk crypto.PrivKey
	for {
		var err error
		sk, _, err = crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(sk)
		if slices.Contains(byDistance(near, append(ids, id))[:k], id) {
			break
		}
	}
	h, err := mn.AddPeer(sk, ma.StringCast(fmt.Sprintf("/ip6/100::%x/tcp/4242", len(ids)+1)))
	if err != nil {
		t.Fatal(err)
	}
	p := newPeerOn(t, h, t.TempDir(), edit)
	for _, q := range live {
		if _, err := mn.LinkPeers(p.ID(), q.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := mn.ConnectPeers(p.ID(), q.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if err := testutil.WaitTable(p.dht.RoutingTable().Size, fullTable(p, append(slices.Clone(live), p)), 10*time.Second, 30*time.Second, refresh(p)); err != nil {
		var miss []string
		for _, q := range live {
			if p.dht.RoutingTable().Find(q.ID()) == "" {
				miss = append(miss, fmt.Sprintf("%s cpl=%d connected=%v", shortID(q.ID()),
					kb.CommonPrefixLen(kb.ConvertPeerID(p.ID()), kb.ConvertPeerID(q.ID())), p.h.Network().Connectedness(q.ID())))
			}
		}
		t.Fatalf("the new peer's routing table holds %v; missing %v", err, miss)
	}
	// Every live peer takes p in unless its bucket for p is full already
	// (kad-dht then keeps the peers it has, as Kademlia prefers old
	// peers); like a table, this may stay a peer or two short for a while.
	knowP := func() int {
		n := 0
		for _, q := range live {
			cpl := uint(kb.CommonPrefixLen(kb.ConvertPeerID(q.ID()), kb.ConvertPeerID(p.ID())))
			if rt := q.dht.RoutingTable(); rt.Find(p.ID()) != "" || rt.NPeersForCpl(cpl) >= 20 {
				n++
			}
		}
		return n
	}
	if err := testutil.WaitTable(knowP, len(live), 10*time.Second, 30*time.Second, func() {
		for _, q := range live {
			if q.dht.RoutingTable().Find(p.ID()) == "" {
				_ = q.dht.RefreshRoutingTable()
			}
		}
	}); err != nil {
		t.Fatalf("peers that took the new peer in: %v", err)
	}
	return p
}

// crash stops p and cuts its links, so that, as with a machine that
// crashed, nothing answers in its name any more (see cutOff).
func crash(t *testing.T, mn mocknet.Mocknet, p *Peer) {
	t.Helper()
	p.Close()
	cutOff(mn, p)
}

// A peer that has left answers nothing, even over a network that still
// delivers streams to it: mocknet keeps a closed host reachable, as a host
// the embedder owns may be. Before Close removed every handler, a departed
// owner kept answering DHT queries from its last routing table, so
// lookups kept naming it, and its RPCs kept saying "unavailable", and a
// sender retried it until the route timed out (TestChurnMocknet's rare
// lost message).
func TestClosedPeerAnswersNothing(t *testing.T) {
	mn, peers := mockNet(t, 2, nil)
	a, b := peers[0], peers[1]
	if !a.ping(b.ID(), 10*time.Second) {
		t.Fatal("a live peer did not answer a ping")
	}
	if len(b.h.Mux().Protocols()) == 0 {
		t.Fatal("a live peer serves no protocol")
	}
	b.Close()
	// The network still links them, so the dial succeeds; what must fail
	// is being served.
	if _, err := mn.ConnectPeers(a.ID(), b.ID()); err != nil {
		t.Fatalf("mocknet no longer connects to a closed host (%v): this test no longer tests anything", err)
	}
	if a.ping(b.ID(), 10*time.Second) {
		t.Error("a closed peer answered a ping")
	}
	if ps := b.h.Mux().Protocols(); len(ps) > 0 {
		t.Errorf("a closed peer still serves %v", ps)
	}
}

func TestMocknetExactlyOnceFIFO(t *testing.T) {
	prog := buildProg(t, "./testdata/alltoall")
	peers := mockCluster(t, 16)
	ctx := context.Background()
	j, err := peers[5].Submit(ctx, Spec{Program: prog, N: 8, Args: []string{"200", "64"}})
	if err != nil {
		t.Fatal(err)
	}
	out, rec := collect(t, j)
	if rec.State != JobDone {
		t.Fatalf("job %s (exit %d): %s\n%s", rec.State, rec.ExitCode, rec.Err, out)
	}
	if got := strings.Count(out, " ok\n"); got != 8 {
		t.Fatalf("%d ranks reported ok, want 8:\n%s", got, out)
	}
	// The final record reaches the owner of the job's key, and any peer
	// finds it there through the DHT.
	testutil.Eventually(t, 10*time.Second, "done record at the owner", func() bool {
		r2, err := peers[11].JobStatus(ctx, j.ID())
		return err == nil && r2.State == JobDone
	})
}

// An 8-rank MPI job over 16 mocknet peers: every collective, on the world
// and on split communicators, gives the serial answer.
func TestMocknetCollectives(t *testing.T) {
	prog := buildProg(t, "../examples/collcheck")
	peers := mockCluster(t, 16)
	j, err := peers[2].Submit(context.Background(), Spec{Program: prog, N: 8})
	if err != nil {
		t.Fatal(err)
	}
	out, rec := collect(t, j)
	if rec.State != JobDone || !strings.Contains(out, "collcheck ok ranks=8") {
		t.Fatalf("job %s (exit %d):\n%s", rec.State, rec.ExitCode, out)
	}
}

// A peer that leaves hands the job records it owns to the next owner, and
// a record cannot be forged: it carries its submitter's signature.
func TestRecordHandOffAndSignature(t *testing.T) {
	prog := buildProg(t, "./testdata/alltoall")
	peers := mockCluster(t, 8)
	ctx := context.Background()
	j, err := peers[0].Submit(ctx, Spec{Program: prog, N: 2, Args: []string{"3"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, rec := collect(t, j); rec.State != JobDone {
		t.Fatalf("job %s", rec.State)
	}
	// The owner is the peer closest to the job's key; it may be the
	// submitter itself (one run in eight with 8 peers).
	var all []peer.ID
	for _, p := range peers {
		all = append(all, p.ID())
	}
	var holder *Peer
	for _, p := range peers {
		if p.ID() == closest(JobKey(j.ID()), all) {
			holder = p
		}
	}
	testutil.Eventually(t, 10*time.Second, "the done record at the owner", func() bool {
		r, ok := holder.records.get(j.ID())
		return ok && r.State == JobDone
	})
	rec, _ := holder.records.get(j.ID())
	forged := rec
	forged.State, forged.Rev = JobFailed, rec.Rev+1
	if err := holder.records.put(forged); !errors.Is(err, wire.ErrDenied) {
		t.Fatalf("a record changed after signing was accepted: %v", err)
	}
	if err := holder.records.put(JobRecord{ID: "x", Owner: holder.ID(), N: 1}); err == nil {
		t.Fatal("an unsigned record was accepted")
	}
	holder.Close()
	// The peer that owns the key now got the record from the leaver...
	var rest []*Peer
	var ids []peer.ID
	for _, p := range peers {
		if p != holder {
			rest, ids = append(rest, p), append(ids, p.ID())
		}
	}
	next := closest(JobKey(j.ID()), ids)
	for _, p := range rest {
		if p.ID() == next {
			if r, ok := p.records.get(j.ID()); !ok || r.State != JobDone {
				t.Fatalf("the next owner %s did not receive the record", shortID(next))
			}
		}
	}
	// ...and a peer asking through the DHT finds it there.
	asker := rest[len(rest)-1]
	testutil.Eventually(t, 10*time.Second, "the record after its owner left", func() bool {
		asker.forgetOwner(JobKey(j.ID()))
		r, err := asker.JobStatus(ctx, j.ID())
		return err == nil && r.State == JobDone
	})
}

// A relative data dir (`p2pdvm peer --data d`) still runs jobs: processes
// start in their own working dirs, where the cached program's path must
// still name it.
func TestRelativeDataDir(t *testing.T) {
	prog := buildProg(t, "./testdata/alltoall")
	t.Chdir(t.TempDir())
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	a, b := newMockPeer(t, mn, "a", nil), newMockPeer(t, mn, "b", nil)
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(a.cfg.DataDir) {
		t.Errorf("data dir %q kept relative", a.cfg.DataDir)
	}
	testutil.Eventually(t, 10*time.Second, "peers in each other's tables", func() bool {
		return a.dht.RoutingTable().Size() == 1 && b.dht.RoutingTable().Size() == 1
	})
	j, err := a.Submit(context.Background(), Spec{Program: prog, N: 2, Args: []string{"10", "8"}})
	if err != nil {
		t.Fatal(err)
	}
	if out, rec := collect(t, j); rec.State != JobDone {
		t.Fatalf("job %s (exit %d): %s\n%s", rec.State, rec.ExitCode, rec.Err, out)
	}
}

// endlessJob submits from sub a 2-rank job that exchanges messages for
// longer than any test runs, and kills it when the test ends.
func endlessJob(t *testing.T, sub *Peer) *Job {
	t.Helper()
	j, err := sub.Submit(context.Background(), Spec{Program: buildProg(t, "./testdata/alltoall"), N: 2, Args: []string{"100000000"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Kill(j.ID(), "test over", 1) })
	return j
}

// status on the submitting peer shows what running ranks have sent so
// far through their hosts; the hosts tell only the submitter. RankDirect
// is off: chatty ranks would otherwise connect to each other and leave
// the hosts' counters behind.
func TestLiveRankCounts(t *testing.T) {
	_, peers := mockNet(t, 4, func(c *Config) { c.RankDirect = false })
	sub := peers[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j := endlessJob(t, sub)
	sent := func(r RankInfo) uint64 { return r.Routed + r.Shortcut }
	var first JobRecord
	testutil.Eventually(t, 20*time.Second, "both ranks running and counted", func() bool {
		rec, err := sub.JobStatus(ctx, j.ID())
		if err != nil || rec.State.Terminal() {
			t.Fatalf("status: %v, state %s", err, rec.State)
		}
		for _, r := range rec.Ranks {
			if r.State != RankRunning || sent(r) == 0 {
				return false
			}
		}
		first = rec
		return true
	})
	testutil.Eventually(t, 20*time.Second, "counts that grow", func() bool {
		rec, _ := sub.JobStatus(ctx, j.ID())
		return sent(rec.Ranks[0]) > sent(first.Ranks[0]) && sent(rec.Ranks[1]) > sent(first.Ranks[1])
	})
	var other *Peer
	for _, p := range peers[1:] {
		if p.ID() != first.Ranks[0].Host {
			other = p
			break
		}
	}
	err := other.call(ctx, first.Ranks[0].Host, "proc.stats", procStatsReq{Job: j.ID(), Ranks: []int{0}}, nil)
	if !errors.Is(err, wire.ErrDenied) {
		t.Errorf("proc.stats from a peer that did not submit: %v, want denied", err)
	}
}
