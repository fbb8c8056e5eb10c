package main

import (
	"testing"
	"time"
)

// A link books back to back: n pieces take n times one piece's time,
// whoever sends them, and an idle link gives back at most slack.
func TestWireBooksBackToBack(t *testing.T) {
	w := wire{rate: 1e6} // 1 MB/s: 1000 bytes take 1 ms
	now := time.Unix(1000, 0)
	var done time.Time
	for i := 0; i < 10; i++ {
		done = w.book(now, 1000)
	}
	if want := now.Add(10*time.Millisecond - slack); !done.Equal(want) {
		t.Fatalf("10 pieces at once end at +%v, want +%v", done.Sub(now), want.Sub(now))
	}
	later := now.Add(time.Second)
	if got := w.book(later, 1000); !got.Equal(later.Add(time.Millisecond - slack)) {
		t.Fatalf("after idling, a piece ends at +%v, want +%v", got.Sub(later), time.Millisecond-slack)
	}
}
