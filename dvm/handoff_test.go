package dvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Ownership hand-off decisions, on peer IDs whose order by distance to
// each key the test works out with the same metric.
func TestPlanHandoff(t *testing.T) {
	ids := make([]peer.ID, 6)
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("peer-%d", i))
	}
	tk := &Ticket{}
	loc := func(rank int, ticket bool) Location {
		l := Location{Job: "j", Rank: rank, Host: ids[5]}
		if ticket {
			l.Ticket = tk
		}
		return l
	}
	// For each rank, the peer nearest its key among ids[:5].
	nearest := map[int]peer.ID{}
	second := map[int]peer.ID{}
	for r := 0; r < 8; r++ {
		byD := byDistance(RankKey("j", r), ids[:5])
		nearest[r], second[r] = byD[0], byD[1]
	}
	for _, tc := range []struct {
		name    string
		self    peer.ID
		live    []peer.ID
		held    []Location
		leaving bool
		want    func(r int) peer.ID // "" = stays
	}{
		{
			name: "the owner keeps what is nearest to it",
			self: nearest[0], live: ids[:5], held: []Location{loc(0, true)},
			want: func(int) peer.ID { return "" },
		},
		{
			name: "a closer live peer takes the object",
			self: second[1], live: ids[:5], held: []Location{loc(1, true)},
			want: func(r int) peer.ID { return nearest[r] },
		},
		{
			name: "a closer peer this one has not seen does not count",
			self: second[2], live: []peer.ID{second[2]}, held: []Location{loc(2, true)},
			want: func(int) peer.ID { return "" },
		},
		{
			name: "without a ticket an object stays: the receiver could not check it",
			self: second[3], live: ids[:5], held: []Location{loc(3, false)},
			want: func(int) peer.ID { return "" },
		},
		{
			name: "leaving, everything goes to the nearest other peer",
			self: nearest[4], live: ids[:5], held: []Location{loc(4, true), loc(5, true)}, leaving: true,
			want: func(r int) peer.ID {
				if nearest[r] == nearest[4] {
					return second[r]
				}
				return nearest[r]
			},
		},
		{
			name: "leaving alone, there is nobody to take anything",
			self: ids[0], live: []peer.ID{ids[0]}, held: []Location{loc(6, true)}, leaving: true,
			want: func(int) peer.ID { return "" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := planHandoff(tc.self, tc.live, tc.held, tc.leaving)
			got := map[int]peer.ID{}
			for to, ls := range plan {
				if to == tc.self {
					t.Fatalf("planned a hand-off to itself")
				}
				for _, l := range ls {
					got[l.Rank] = to
				}
			}
			for _, l := range tc.held {
				want := tc.want(l.Rank)
				if want == tc.self {
					want = ""
				}
				if got[l.Rank] != want {
					t.Errorf("rank %d: handed to %q, want %q", l.Rank, got[l.Rank], want)
				}
			}
		})
	}
}

func TestNeedsRegister(t *testing.T) {
	a, b := peer.ID("a"), peer.ID("b")
	for _, tc := range []struct {
		ticket      bool
		regAt, own  peer.ID
		live, wantR bool
	}{
		{false, "", a, false, false}, // no ticket: nothing to prove the placement with
		{true, "", a, false, true},   // never registered
		{true, a, a, true, false},    // registered with the owner, who is there
		{true, a, a, false, true},    // the owner it registered with is gone
		{true, a, b, true, true},     // the key has a new owner
	} {
		if got := needsRegister(tc.ticket, tc.regAt, tc.own, tc.live); got != tc.wantR {
			t.Errorf("needsRegister(%v, %q, %q, %v) = %v", tc.ticket, tc.regAt, tc.own, tc.live, got)
		}
	}
}

// The location table: a move is a new version, a late or repeated copy
// changes nothing, a moved object is still found through its pointer,
// and a released job's objects and pointers are gone for good.
func TestLocTableMoves(t *testing.T) {
	tab := newLocTable()
	h, sub := peer.ID("host"), peer.ID("sub")
	l := Location{Job: "j", Rank: 0, Host: h, Submitter: sub, Version: 1}
	tab.put(l)
	got, ok := tab.adopt(Location{Job: "j", Rank: 0, Host: h, Submitter: sub, Version: 1, Ticket: &Ticket{}})
	if !ok || got.Version != 1 || got.Ticket == nil {
		t.Fatalf("re-registration by the same host: %+v %v; want version 1 with the ticket", got, ok)
	}
	tab.moveOut("next", []Location{got})
	if _, ok := tab.get("j", 0); ok {
		t.Fatal("object still held after moving out")
	}
	if m, moved, ok := tab.lookup("j", 0); !ok || !moved || m.Host != h {
		t.Fatalf("lookup after the move: %+v moved=%v ok=%v", m, moved, ok)
	}
	// It comes back (a host registers after the next owner crashed): a
	// version past every earlier one.
	back, _ := tab.adopt(Location{Job: "j", Rank: 0, Host: h, Submitter: sub, Version: 0, Ticket: &Ticket{}})
	if back.Version != 2 {
		t.Fatalf("rebuilt object has version %d, want 2", back.Version)
	}
	// A stale copy of an earlier version does not move it out.
	tab.moveOut("elsewhere", []Location{l})
	if _, ok := tab.get("j", 0); !ok {
		t.Fatal("a stale copy moved the object out")
	}
	tab.releaseJob("j", "not-the-submitter")
	if _, ok := tab.get("j", 0); !ok {
		t.Fatal("a peer other than the submitter released the job")
	}
	tab.releaseJob("j", sub)
	if _, _, ok := tab.lookup("j", 0); ok || !tab.isEnded("j") {
		t.Fatal("released job still routable")
	}
	if _, ok := tab.adopt(Location{Job: "j", Rank: 0, Host: h, Submitter: sub, Ticket: &Ticket{}}); ok {
		t.Fatal("an ended job's object was adopted again")
	}
}

// Nobody but a rank's submitter can vouch for its placement, and nobody
// but its host can register it: a peer cannot draw a rank's messages.
func TestTicketsRefuseImpostors(t *testing.T) {
	ps := mockCluster(t, 3)
	sub, host, thief := ps[0], ps[1], ps[2]
	ctx := context.Background()
	tk, err := sub.signTicket("job1", 0, host.ID())
	if err != nil {
		t.Fatal(err)
	}
	good := Location{Job: "job1", Rank: 0, Host: host.ID(), Submitter: sub.ID(), Ticket: tk}
	if err := verifyTicket(tk, good); err != nil {
		t.Fatalf("a good ticket: %v", err)
	}
	for _, tc := range []struct {
		name string
		from *Peer
		loc  Location
	}{
		{"the thief registers the rank on the host's ticket", thief, good},
		{"the thief names itself host on the host's ticket", thief, func() Location { l := good; l.Host = thief.ID(); return l }()},
		{"the thief signs its own ticket for another's job", thief, func() Location {
			l := good
			l.Host = thief.ID()
			l.Ticket, _ = thief.signTicket("job1", 0, thief.ID())
			return l
		}()},
		{"no ticket", host, func() Location { l := good; l.Ticket = nil; return l }()},
	} {
		err := tc.from.call(ctx, sub.ID(), "loc.register", registerReq{Loc: tc.loc}, nil)
		if !errors.Is(err, wire.ErrDenied) {
			t.Errorf("%s: %v, want denied", tc.name, err)
		}
	}
	if _, ok := sub.locs.get("job1", 0); ok {
		t.Fatal("a refused registration left an object behind")
	}
	var got Location
	if err := host.call(ctx, sub.ID(), "loc.register", registerReq{Loc: good}, &got); err != nil || got.Host != host.ID() {
		t.Fatalf("the host's own registration: %+v, %v", got, err)
	}
}

// A peer that has begun to leave takes no location object: one adopted
// after its hand-off listed what to give away would leave with it. The
// host or the previous owner keeps it and tries another peer.
func TestLeavingPeerAdoptsNothing(t *testing.T) {
	ps := mockCluster(t, 3)
	sub, host, leaver := ps[0], ps[1], ps[2]
	tk, err := sub.signTicket("job1", 0, host.ID())
	if err != nil {
		t.Fatal(err)
	}
	l := Location{Job: "job1", Rank: 0, Host: host.ID(), Submitter: sub.ID(), Ticket: tk}
	if err := leaver.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg, _ := json.Marshal(registerReq{Loc: l})
	if _, err := leaver.handleLocRegister(ctx, host.ID(), reg); !errors.Is(err, wire.ErrUnavailable) {
		t.Errorf("registration with a leaving peer: %v, want unavailable", err)
	}
	off, _ := json.Marshal(locsReq{Locs: []Location{l}})
	if _, err := leaver.handleLocHandoff(ctx, sub.ID(), off); !errors.Is(err, wire.ErrUnavailable) {
		t.Errorf("hand-off to a leaving peer: %v, want unavailable", err)
	}
	if n := leaver.locs.count(); n != 0 {
		t.Fatalf("the leaving peer holds %d objects", n)
	}
}
