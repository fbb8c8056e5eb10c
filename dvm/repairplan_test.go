package dvm

import (
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestRepairPlan(t *testing.T) {
	const k = 3
	self := peer.ID("self")
	a, b, c, d := peer.ID("a"), peer.ID("b"), peer.ID("c"), peer.ID("d")
	H, M, U := stateHas, stateMissing, stateUnreachable
	for _, tc := range []struct {
		name   string
		cands  []peer.ID
		state  map[peer.ID]replicaState
		probes []peer.ID // asked in this order
		copyTo []peer.ID
		drop   bool
	}{
		{"complete, self a target", []peer.ID{a, self, b, c}, map[peer.ID]replicaState{a: H, b: H},
			[]peer.ID{a, b}, nil, false},
		{"one replica lost, a closer holder copies", []peer.ID{a, self, b, c}, map[peer.ID]replicaState{a: H, b: M},
			[]peer.ID{a, b}, nil, false},
		{"one replica lost, self the closest holder", []peer.ID{a, self, b, c}, map[peer.ID]replicaState{a: M, b: H},
			[]peer.ID{a, b}, []peer.ID{a}, false},
		{"the closer holder is dead: self copies", []peer.ID{a, self, b, c}, map[peer.ID]replicaState{a: U, b: M, c: M},
			[]peer.ID{a, b, c}, []peer.ID{b, c}, false},
		{"dead peers are passed over", []peer.ID{a, b, self, c, d}, map[peer.ID]replicaState{a: U, b: U, c: M, d: H},
			[]peer.ID{a, b, c, d}, []peer.ID{c}, false},
		{"closer peers joined: the closest holder copies", []peer.ID{a, b, c, self}, map[peer.ID]replicaState{a: H, b: M, c: H},
			[]peer.ID{a, b, c}, nil, false},
		{"closer peers joined, self the only holder: copy, no drop yet", []peer.ID{a, b, c, self}, map[peer.ID]replicaState{a: M, b: M, c: M},
			[]peer.ID{a, b, c}, []peer.ID{a, b, c}, false},
		{"closer peers confirmed: drop", []peer.ID{a, b, c, self}, map[peer.ID]replicaState{a: H, b: H, c: H},
			[]peer.ID{a, b, c}, nil, true},
		{"an unasked target blocks the drop", []peer.ID{a, b, c, self}, map[peer.ID]replicaState{a: H, b: H},
			[]peer.ID{a, b, c}, nil, false},
		{"too few live peers: keep", []peer.ID{a, b, self}, map[peer.ID]replicaState{a: U, b: H},
			[]peer.ID{a, b}, nil, false},
		{"unreachable targets replaced, then drop", []peer.ID{a, b, c, d, self}, map[peer.ID]replicaState{a: H, b: U, c: H, d: H},
			[]peer.ID{a, b, c, d}, nil, true},
		{"alone", []peer.ID{self}, nil, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Probing in order reaches exactly the expected peers.
			seen := map[peer.ID]replicaState{}
			var asked []peer.ID
			for {
				q, ok := nextProbe(self, tc.cands, seen, k)
				if !ok {
					break
				}
				asked = append(asked, q)
				seen[q] = tc.state[q]
				if seen[q] == stateUnknown {
					seen[q] = stateUnreachable // the table leaves it out: no answer
				}
				if len(asked) > 10 {
					t.Fatal("probing does not end")
				}
			}
			if !slices.Equal(asked, tc.probes) {
				t.Errorf("asked %v, want %v", asked, tc.probes)
			}
			pl := planRepair(self, tc.cands, tc.state, k)
			if !slices.Equal(pl.CopyTo, tc.copyTo) || pl.Drop != tc.drop {
				t.Errorf("plan %+v, want copy to %v, drop %v", pl, tc.copyTo, tc.drop)
			}
		})
	}
}
