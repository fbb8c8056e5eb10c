package floc

import (
	"math/rand/v2"
	"testing"
)

func TestWindow(t *testing.T) {
	type step struct {
		tick       int64
		add        int64 // bytes of one message; -1: only advance
		msgs, byts int64 // totals expected after the step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"same tick accumulates", []step{{0, 10, 1, 10}, {0, 20, 2, 30}, {0, -1, 2, 30}}},
		{"within the ring", []step{{0, 10, 1, 10}, {3, 10, 2, 20}, {7, 10, 3, 30}}},
		{"oldest bucket expires", []step{{0, 10, 1, 10}, {3, 5, 2, 15}, {8, -1, 1, 5}, {10, -1, 1, 5}, {11, -1, 0, 0}}},
		{"gap of exactly the ring clears", []step{{2, 10, 1, 10}, {2, 10, 2, 20}, {10, -1, 0, 0}}},
		{"long gap clears", []step{{0, 10, 1, 10}, {5, 10, 2, 20}, {1000, 1, 1, 1}}},
		{"clock stepping back counts into newest", []step{{5, 10, 1, 10}, {2, 10, 2, 20}, {12, -1, 2, 20}, {13, -1, 0, 0}}},
		{"zero-byte messages still count", []step{{0, 0, 1, 0}, {1, 0, 2, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindow(8, 0)
			for i, s := range tc.steps {
				if s.add < 0 {
					w.advance(s.tick)
				} else {
					w.add(s.tick, s.add)
				}
				if w.msgs != s.msgs || w.bytes != s.byts {
					t.Fatalf("step %d (tick %d): msgs=%d bytes=%d, want %d %d", i, s.tick, w.msgs, w.bytes, s.msgs, s.byts)
				}
			}
		})
	}
}

// TestWindowModel checks the running totals against a recount of every
// message still inside the window, over random clocks and ring sizes.
func TestWindowModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + r.IntN(12)
		w := newWindow(n, 0)
		type msg struct{ tick, bytes int64 }
		var log []msg
		tick := int64(0)
		for range 300 {
			switch r.IntN(10) {
			case 0:
				tick += int64(r.IntN(3 * n)) // sometimes past the whole ring
			case 1, 2, 3:
				tick++
			}
			b := int64(r.IntN(1000))
			w.add(tick, b)
			log = append(log, msg{tick, b})
			var wm, wb int64
			for _, m := range log {
				if m.tick > tick-int64(n) {
					wm++
					wb += m.bytes
				}
			}
			if w.msgs != wm || w.bytes != wb {
				t.Fatalf("round %d, %d buckets, tick %d: msgs=%d bytes=%d, want %d %d", round, n, tick, w.msgs, w.bytes, wm, wb)
			}
		}
	}
}

func TestWindowChatty(t *testing.T) {
	c := Config{MinMsgs: 3, MinBytes: 100}
	for _, tc := range []struct {
		msgs, bytes int64
		want        bool
	}{
		{2, 99, false},
		{3, 0, true},
		{1, 100, true},
		{0, 0, false},
	} {
		w := window{msgs: tc.msgs, bytes: tc.bytes}
		if got := w.chatty(&c); got != tc.want {
			t.Errorf("msgs=%d bytes=%d: chatty=%v, want %v", tc.msgs, tc.bytes, got, tc.want)
		}
	}
}
