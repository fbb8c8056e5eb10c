package floc

import (
	"math"
	"testing"
	"time"
)

// BenchmarkNext measures Next on the paths dvm takes for every message,
// with the real clock, since reading it is part of the cost, and once
// without it.
func BenchmarkNext(b *testing.B) {
	chatty := Dest{"job-0123456789abcdef", 3}
	b.Run("shortcut", func(b *testing.B) {
		tab := New(DefaultConfig(), nil)
		for range 8 {
			tab.Next(chatty, 1024)
		}
		if added, _ := tab.Learned(chatty, "host", 1); added == "" {
			b.Fatal("no shortcut installed")
		}
		b.ReportAllocs()
		for b.Loop() {
			tab.Next(chatty, 1024)
		}
		if s := tab.Stats(); s.ViaShortcut == 0 {
			b.Fatalf("no message went by the shortcut: %+v", s)
		}
	})
	b.Run("shortcut-fixedclock", func(b *testing.B) {
		// The policy alone: a clock that costs nothing, to tell Floc's
		// share from the clock's.
		at := time.Now()
		tab := New(DefaultConfig(), func() time.Time { return at })
		for range 8 {
			tab.Next(chatty, 1024)
		}
		tab.Learned(chatty, "host", 1)
		b.ReportAllocs()
		for b.Loop() {
			tab.Next(chatty, 1024)
		}
	})
	b.Run("routed", func(b *testing.B) {
		// Thresholds out of reach: the destination never gets chatty, so
		// every message takes the routed path and the chatty test.
		cfg := DefaultConfig()
		cfg.MinMsgs, cfg.MinBytes = math.MaxInt, math.MaxInt64
		tab := New(cfg, nil)
		tab.Next(chatty, 1024)
		b.ReportAllocs()
		for b.Loop() {
			tab.Next(chatty, 1024)
		}
	})
	b.Run("disabled", func(b *testing.B) {
		tab := New(Config{}, nil)
		b.ReportAllocs()
		for b.Loop() {
			tab.Next(chatty, 1024)
		}
	})
	b.Run("shortcut-parallel", func(b *testing.B) {
		tab := New(DefaultConfig(), nil)
		for range 8 {
			tab.Next(chatty, 1024)
		}
		tab.Learned(chatty, "host", 1)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tab.Next(chatty, 1024)
			}
		})
	})
}

// TestNextDoesNotAllocate holds the steady state to no allocation, which
// the benchmark only reports.
func TestNextDoesNotAllocate(t *testing.T) {
	now := base
	tab := New(DefaultConfig(), func() time.Time { return now })
	sc, quiet := Dest{"j", 0}, Dest{"j", 1}
	for range 8 {
		tab.Next(sc, 10)
	}
	tab.Learned(sc, "host", 1)
	tab.Next(quiet, 10)
	if n := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		tab.Next(sc, 10)
		tab.Next(quiet, 10)
	}); n != 0 {
		t.Fatalf("Next allocates %v times a message pair", n)
	}
}
