package dvm

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func testPeers(t *testing.T, n int) []peer.ID {
	var ps []peer.ID
	for i := 0; i < n; i++ {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPublicKey(pub)
		ps = append(ps, id)
	}
	return ps
}

func TestKeysAreDistinctAndStable(t *testing.T) {
	if !bytes.Equal(JobKey("a1"), JobKey("a1")) || bytes.Equal(JobKey("a1"), JobKey("a2")) {
		t.Fatal("job keys are not a function of the job id")
	}
	seen := map[string]bool{string(JobKey("j")): true}
	for r := 0; r < 1000; r++ {
		k := string(RankKey("j", r))
		if seen[k] {
			t.Fatalf("rank %d key collides", r)
		}
		seen[k] = true
	}
	// The separator keeps "j:1" rank 2 apart from "j" rank 12.
	if bytes.Equal(RankKey("j:1", 2), RankKey("j", 12)) {
		t.Fatal("rank keys are ambiguous")
	}
}

// closest must agree with kad-dht's own ordering: the owner is the first
// peer kbucket sorts by XOR distance, whatever order candidates come in.
func TestClosestMatchesKademliaOrder(t *testing.T) {
	ps := testPeers(t, 20)
	for i := 0; i < 50; i++ {
		key := RankKey("job", i)
		want := kb.SortClosestPeers(ps, kb.ConvertKey(string(key)))[0]
		rev := append([]peer.ID(nil), ps...)
		for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
			rev[a], rev[b] = rev[b], rev[a]
		}
		if got := closest(key, ps); got != want {
			t.Fatalf("key %d: closest %s, kbucket says %s", i, got, want)
		}
		if got := closest(key, rev); got != want {
			t.Fatalf("key %d: result depends on candidate order", i)
		}
	}
	if closest([]byte("k"), nil) != "" {
		t.Fatal("no candidates must give no owner")
	}
}

func TestPickHostSpreadsRanks(t *testing.T) {
	ps := testPeers(t, 4)
	cases := []struct {
		live, ranks, wantDistinct int
	}{
		{1, 4, 1}, {2, 2, 2}, {4, 4, 4}, {4, 8, 4}, {3, 2, 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d peers %d ranks", c.live, c.ranks), func(t *testing.T) {
			live := ps[:c.live]
			hosts := map[peer.ID]int{}
			for r := 0; r < c.ranks; r++ {
				hosts[pickHost(live, "job42", r)]++
			}
			if len(hosts) != c.wantDistinct {
				t.Fatalf("%d distinct hosts, want %d: %v", len(hosts), c.wantDistinct, hosts)
			}
			for _, n := range hosts {
				if n > (c.ranks+c.live-1)/c.live {
					t.Fatalf("uneven spread: %v", hosts)
				}
			}
		})
	}
	// Every owner computes the same answer from the same view, whatever
	// order (or repetition) its routing table gives.
	rev := []peer.ID{ps[3], ps[2], ps[1], ps[0], ps[2]}
	for r := 0; r < 8; r++ {
		if pickHost(ps, "j", r) != pickHost(rev, "j", r) {
			t.Fatal("placement depends on the order or duplicates of the live list")
		}
	}
}
