package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/dvm"
	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// Churn with real peer processes on loopback: a 4-rank job on 8 peers
// whose ranks exchange numbered messages without pause while 4 peers join
// (each with an identity drawn to own one of the job's location objects),
// 2 leave (SIGTERM) and 1 crashes (SIGKILL) — none of them hosts a rank.
// Every message goes through the peers' routing (Floc and direct rank
// connections off), so each one needs a location object where the key
// space says it is. The program checks its own message numbers; the job
// must end with every rank ok, and every object must sit at its key's
// owner among the peers left.
func TestE2EChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("real peers under churn")
	}
	flags := []string{"--floc=false", "--rank-direct=false"}
	ps := testutil.StartPeers(t, binPath, 8, flags...)
	prog := testutil.BuildGo(t, "../../dvm/testdata/churn")
	stop := filepath.Join(t.TempDir(), "stop")
	t.Cleanup(func() { _ = os.WriteFile(stop, nil, 0o600) })
	job := submitBG(t, "--peer", ps[0].Sock, "-n", "4", "--label", prog, stop, "2", "64")
	id := onlyJob(t, ps[0].Sock)
	rec := waitRun(t, ps[0].Sock, id, 0)
	hosts := map[string]bool{}
	for _, r := range rec.Ranks {
		hosts[r.Host.String()] = true
	}

	live := slices.Clone(ps)
	victim := func() *testutil.Peer {
		for i, p := range live {
			if i > 0 && !hosts[p.ID()] {
				live = slices.Delete(live, i, i+1)
				return p
			}
		}
		t.Fatal("no peer left that hosts no rank")
		return nil
	}
	dir := t.TempDir()
	joinNear := func(rank int) {
		d := filepath.Join(dir, fmt.Sprint("join", rank))
		ids := peerIDs(t, live)
		writeIdentityNear(t, d, dvm.RankKey(id, rank), ids)
		p := testutil.StartPeer(t, binPath, d, ps[0].Addr, flags...)
		testutil.WaitPeers(t, p, len(live)/2)
		live = append(live, p)
	}
	joinNear(0)
	joinNear(1)
	v := victim()
	t.Logf("leave %s", v.ID())
	testutil.StopPeer(t, v)
	joinNear(2)
	v = victim()
	t.Logf("crash %s", v.ID())
	v.Kill()
	joinNear(3)
	v = victim()
	t.Logf("leave %s", v.ID())
	testutil.StopPeer(t, v)

	// Every object at the peer now closest to its key, and nowhere else.
	ids := peerIDs(t, live)
	want := map[peer.ID]int{}
	for r := 0; r < 4; r++ {
		want[kb.SortClosestPeers(slices.Clone(ids), kb.ConvertKey(string(dvm.RankKey(id, r))))[0]]++
	}
	var seen []string
	placed := func() bool {
		seen = seen[:0]
		ok := true
		for i, p := range live {
			out, _, code := cli(t, "info", "--json", "--peer", p.Sock)
			var ni dvm.NodeInfo
			if code != 0 || json.Unmarshal([]byte(out), &ni) != nil || ni.Locs != want[ids[i]] {
				ok = false
			}
			seen = append(seen, fmt.Sprintf("%s holds %d, owns %d: %v", p.ID()[len(p.ID())-8:], ni.Locs, want[ids[i]], ni.Objects))
		}
		return ok
	}
	for deadline := time.Now().Add(30 * time.Second); !placed(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			st, _, _ := cli(t, "status", "--peer", ps[0].Sock, id)
			t.Fatalf("location objects not at their keys' owners:\n%s\njob:\n%s", strings.Join(seen, "\n"), st)
		}
	}
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := job.Wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, job.Out.String(), job.Err.String())
	}
	if got := strings.Count(job.Out.String(), " ok rounds="); got != 4 {
		t.Fatalf("%d ranks ok, want 4:\n%s", got, job.Out.String())
	}
	t.Logf("%s", firstLine(job.Out.String()))
}

func peerIDs(t *testing.T, ps []*testutil.Peer) []peer.ID {
	t.Helper()
	ids := make([]peer.ID, len(ps))
	for i, p := range ps {
		id, err := peer.Decode(p.ID())
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// writeIdentityNear gives the peer about to start in dir an identity
// closer to key than any of others, so that it takes the key over.
func writeIdentityNear(t *testing.T, dir string, key []byte, others []peer.ID) {
	t.Helper()
	for {
		sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		me, _ := peer.IDFromPrivateKey(sk)
		if kb.SortClosestPeers(append(slices.Clone(others), me), kb.ConvertKey(string(key)))[0] != me {
			continue
		}
		b, err := crypto.MarshalPrivateKey(sk)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "identity.key"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
