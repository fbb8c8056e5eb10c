package dvm

import (
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A block belongs on k peers of its window, the w closest that answer.
func TestRepairPlan(t *testing.T) {
	const k, w = 3, 4
	self := peer.ID("self")
	a, b, c, d, e := peer.ID("a"), peer.ID("b"), peer.ID("c"), peer.ID("d"), peer.ID("e")
	H, M, U := stateHas, stateMissing, stateUnreachable
	type states = map[peer.ID]replicaState
	for _, tc := range []struct {
		name   string
		cands  []peer.ID
		state  states
		probes []peer.ID // asked in this order
		copyTo []peer.ID
		drop   bool
	}{
		{"k holders in the window, self among them", []peer.ID{a, self, b, c, d}, states{a: H, b: H, c: M},
			[]peer.ID{a, b, c}, nil, false},
		{"k holders, not the k closest: nothing moves", []peer.ID{a, b, c, self, d}, states{a: M, b: H, c: H},
			[]peer.ID{a, b, c}, nil, false},
		{"one replica lost, a closer holder copies", []peer.ID{a, self, b, c, d}, states{a: H, b: M, c: M},
			[]peer.ID{a, b, c}, nil, false},
		{"one replica lost, self the closest holder: to the closest peer without it", []peer.ID{a, self, b, c, d}, states{a: M, b: H, c: M},
			[]peer.ID{a, b, c}, []peer.ID{a}, false},
		{"dead peers are passed over", []peer.ID{a, b, self, c, d, e}, states{a: U, b: U, c: M, d: H, e: M},
			[]peer.ID{a, b, c, d, e}, []peer.ID{c}, false},
		{"pushed out of the window, k confirmed inside: drop", []peer.ID{a, b, c, d, self}, states{a: H, b: M, c: H, d: H},
			[]peer.ID{a, b, c, d}, nil, true},
		{"pushed out, a closer holder copies first", []peer.ID{a, b, c, d, self}, states{a: M, b: H, c: M, d: H},
			[]peer.ID{a, b, c, d}, nil, false},
		{"pushed out, self the only holder: copy, no drop yet", []peer.ID{a, b, c, d, self}, states{a: M, b: M, c: M, d: M},
			[]peer.ID{a, b, c, d}, []peer.ID{a, b, c}, false},
		{"unasked peers confirm nothing", []peer.ID{a, b, c, d, self}, states{a: H, b: H},
			[]peer.ID{a, b, c, d}, nil, false},
		{"unreachable peers leave the window, then drop", []peer.ID{a, b, c, d, e, self}, states{a: H, b: U, c: H, d: H, e: M},
			[]peer.ID{a, b, c, d, e}, nil, true},
		{"one copy too many, self the farthest: drop", []peer.ID{a, b, c, self, d}, states{a: H, b: H, c: H},
			[]peer.ID{a, b, c}, nil, true},
		{"one copy too many, another the farthest: keep", []peer.ID{a, self, b, c, d}, states{a: H, b: H, c: H},
			[]peer.ID{a, b, c}, nil, false},
		{"too few live peers: keep", []peer.ID{a, b, self}, states{a: U, b: H},
			[]peer.ID{a, b}, nil, false},
		{"alone", []peer.ID{self}, nil, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Probing in order reaches exactly the expected peers.
			seen := map[peer.ID]replicaState{}
			var asked []peer.ID
			for {
				q, ok := nextProbe(self, tc.cands, seen, w)
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
			pl := planRepair(self, tc.cands, tc.state, k, w)
			if !slices.Equal(pl.CopyTo, tc.copyTo) || pl.Drop != tc.drop {
				t.Errorf("plan %+v, want copy to %v, drop %v", pl, tc.copyTo, tc.drop)
			}
			if pl.Drop && slices.Contains(pl.Keep, self) {
				t.Errorf("plan %+v keeps self and drops it", pl)
			}
		})
	}
}
