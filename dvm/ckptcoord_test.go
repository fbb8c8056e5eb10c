package dvm

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// The owner of the job's key coordinates its checkpoints, and when that
// peer leaves, the key's next owner coordinates the next epoch.
func TestCkptCoordinatorFollowsTheJobKey(t *testing.T) {
	heat := buildProg(t, "../examples/heat")
	mn, peers := mockNet(t, 8, nil)
	sub := peers[0]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	byID := map[peer.ID]*Peer{}
	var ids []peer.ID
	for _, p := range peers {
		byID[p.ID()] = p
		ids = append(ids, p.ID())
	}
	// A job whose key's owner neither submitted it nor hosts a rank, so
	// that the owner can leave while the job runs on.
	var j *Job
	var owner *Peer
	for try := 0; j == nil; try++ {
		if try == 20 {
			t.Fatal("no placement left the job key's owner free in 20 jobs")
		}
		cand, err := sub.Submit(ctx, Spec{Program: heat, N: 2, Args: []string{"100000000", "64"}})
		if err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "both ranks running", func() bool {
			rec := cand.record()
			return rec.Ranks[0].State == RankRunning && rec.Ranks[1].State == RankRunning
		})
		rec := cand.record()
		o := byID[byDistance(JobKey(cand.ID()), ids)[0]]
		if o != sub && o.ID() != rec.Ranks[0].Host && o.ID() != rec.Ranks[1].Host {
			j, owner = cand, o
			break
		}
		_ = sub.Kill(cand.ID(), "placement not wanted by the test", 1)
		<-cand.Done()
	}
	defer func() { _ = sub.Kill(j.ID(), "test over", 1) }()

	first, err := j.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if got, want := p.coords.coordinated(), p == owner; got != want {
			t.Errorf("peer %s coordinated: %v, want %v (the job key's owner only)", shortID(p.ID()), got, want)
		}
	}

	owner.Close()
	cutOff(mn, owner)
	ids = slices.DeleteFunc(ids, func(id peer.ID) bool { return id == owner.ID() })
	next := byID[byDistance(JobKey(j.ID()), ids)[0]]
	var second EpochInfo
	testutil.Eventually(t, 60*time.Second, "a checkpoint after the coordinator left", func() bool {
		second, err = j.Checkpoint(ctx)
		return err == nil
	})
	if second.Epoch <= first.Epoch {
		t.Errorf("epoch %d after epoch %d", second.Epoch, first.Epoch)
	}
	if !next.coords.coordinated() {
		t.Errorf("the key's new owner %s did not coordinate the epoch after the old one left", shortID(next.ID()))
	}
	if rec := j.record(); rec.State != JobRunning || len(rec.Epochs) < 2 {
		t.Errorf("job %s with %d epochs committed, want running with 2", rec.State, len(rec.Epochs))
	}
}

func TestCkptGrantVerify(t *testing.T) {
	peers := mockCluster(t, 2)
	a, b := peers[0], peers[1]
	g, err := a.signGrant("0123456789ab", 3, b.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.verify(a.ID()); err != nil {
		t.Fatalf("a's own grant: %v", err)
	}
	if err := g.verify(b.ID()); !errors.Is(err, wire.ErrDenied) {
		t.Errorf("a's grant taken as b's: %v", err)
	}
	forged := *g
	forged.Epoch = 4
	if err := forged.verify(a.ID()); !errors.Is(err, wire.ErrDenied) {
		t.Errorf("a grant with another epoch: %v", err)
	}
	forged = *g
	forged.Coord = a.ID()
	if err := forged.verify(a.ID()); !errors.Is(err, wire.ErrDenied) {
		t.Errorf("a grant naming another coordinator: %v", err)
	}
}

// coordinated reports whether this peer has coordinated any epoch.
func (t *coordTable) coordinated() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n > 0
}
