package dvm

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/storage"
)

func TestPickHolders(t *testing.T) {
	a, b, c, d, e, f, g := peer.ID("a"), peer.ID("b"), peer.ID("c"), peer.ID("d"), peer.ID("e"), peer.ID("f"), peer.ID("g")
	cands := []peer.ID{a, b, c, d, e, f, g} // closest first
	for _, tc := range []struct {
		name   string
		levels []int64
		k, w   int
		want   []peer.ID
	}{
		{"idle: the k closest", []int64{0, 0, 0, 0, 0, 0, 0}, 3, 6, []peer.ID{a, b, c, d, e, f, g}},
		{"the least loaded of the window, closest first", []int64{4, 0, 2, 0, 1, 0, 0}, 3, 6, []peer.ID{b, d, f, e, c, a, g}},
		{"beyond the window never chosen first", []int64{5, 5, 5, 5, 5, 5, 0}, 3, 6, []peer.ID{a, b, c, d, e, f, g}},
		{"window of k: exactly the k closest", []int64{9, 9, 9, 0, 0, 0, 0}, 3, 3, []peer.ID{a, b, c, d, e, f, g}},
		{"fewer peers than the window", []int64{1, 0}, 3, 6, []peer.ID{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pickHolders(cands[:len(tc.levels)], tc.levels, tc.k, tc.w)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// An uploader that keeps choosing by its own load spreads a window's
// blocks evenly, and forgets its load once it has been idle a while.
func TestSendLoadSpreadsAndDecays(t *testing.T) {
	var l sendLoad
	var win []peer.ID
	for i := range 6 {
		win = append(win, peer.ID(fmt.Sprint("p", i)))
	}
	now := time.Unix(1000, 0)
	count := map[peer.ID]int{}
	for range 60 {
		chain := pickHolders(win, l.levels(win, now), 3, 6)[:3]
		l.add(chain, loadQuantum, now)
		for _, q := range chain {
			count[q]++
		}
		now = now.Add(10 * time.Millisecond)
	}
	for _, q := range win {
		if count[q] < 29 || count[q] > 31 {
			t.Errorf("%s got %d of 180 copies, want 30 each: %v", q, count[q], count)
		}
	}
	lv := l.levels(win, now.Add(10*loadHalfLife))
	if slices.Max(lv) != 0 {
		t.Errorf("levels after ten half-lives idle: %v, want all 0", lv)
	}
}

// Content put again from the same peer goes where its copies are, while
// they are all still in its window.
func TestPutAgainFindsItsCopies(t *testing.T) {
	a, b, c, d, e := peer.ID("a"), peer.ID("b"), peer.ID("c"), peer.ID("d"), peer.ID("e")
	var l sendLoad
	now := time.Unix(1000, 0)
	id := storage.IDOf([]byte("program"))
	l.add([]peer.ID{a, b}, 8*loadQuantum, now) // busy: a fresh put avoids them
	if got := l.order(id, []peer.ID{a, b, c, d, e}, 2, 4, now)[:2]; !slices.Equal(got, []peer.ID{c, d}) {
		t.Fatalf("fresh put on %v, want [c d]", got)
	}
	l.remember(id, []peer.ID{b, d})
	if got := l.order(id, []peer.ID{a, b, c, d, e}, 2, 4, now)[:2]; !slices.Equal(got, []peer.ID{b, d}) {
		t.Errorf("put again on %v, want where it is, [b d]", got)
	}
	// A newcomer x pushed d out of the window: placed afresh.
	x := peer.ID("x")
	if got := l.order(id, []peer.ID{x, a, b, c, d}, 2, 4, now)[:2]; !slices.Equal(got, []peer.ID{x, c}) {
		t.Errorf("put after d left the window on %v, want [x c]", got)
	}
}
