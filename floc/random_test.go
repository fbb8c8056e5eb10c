package floc

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestRandomOps drives small Tables with random operations and checks the
// invariants after each, and that the hosts reported added and removed
// always tell the caller exactly which connections to keep protected.
func TestRandomOps(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 7))
		cfg := DefaultConfig()
		cfg.MinMsgs = 1 + r.IntN(4)
		cfg.MaxShortcuts = 1 + r.IntN(4)
		cfg.MaxTracked = cfg.MaxShortcuts + 1 + r.IntN(4)
		cfg.Refresh = time.Duration(r.IntN(3)) * time.Second
		cfg.Quiet = time.Duration(1+r.IntN(3)) * time.Second
		now := base
		tab := New(cfg, func() time.Time { return now })
		protected := map[peer.ID]bool{}
		apply := func(added peer.ID, removed []peer.ID) {
			if added != "" {
				if protected[added] {
					t.Fatalf("seed %d: %s added twice", seed, added)
				}
				protected[added] = true
			}
			for _, h := range removed {
				if !protected[h] {
					t.Fatalf("seed %d: %s removed while not protected", seed, h)
				}
				delete(protected, h)
			}
		}
		dest := func() Dest { return Dest{fmt.Sprint("j", r.IntN(2)), r.IntN(5)} }
		host := func() peer.ID { return peer.ID(fmt.Sprint("H", r.IntN(3))) }
		for step := range 2000 {
			switch k := r.IntN(100); {
			case k < 50:
				d := dest()
				_, _, want := tab.Next(d, r.IntN(1000))
				if want {
					apply(tab.Learned(d, host(), uint64(1+r.IntN(3))))
				}
			case k < 60:
				apply(tab.Learned(dest(), host(), uint64(1+r.IntN(3))))
			case k < 70:
				apply("", tab.Invalidate(dest()))
			case k < 72:
				apply("", tab.DropJob(fmt.Sprint("j", r.IntN(2))))
			case k < 80:
				apply("", tab.Sweep())
			default:
				now = now.Add(time.Duration(r.IntN(400)) * time.Millisecond)
			}
			if err := tab.check(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			tab.mu.Lock()
			for h := range protected {
				if tab.hosts[h] == 0 {
					t.Fatalf("seed %d step %d: %s protected without a shortcut", seed, step, h)
				}
			}
			if len(protected) != len(tab.hosts) {
				t.Fatalf("seed %d step %d: %d protected, %d hosts with shortcuts", seed, step, len(protected), len(tab.hosts))
			}
			tab.mu.Unlock()
		}
	}
}

// TestConcurrent is for the race detector: every method at once.
func TestConcurrent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinMsgs = 2
	tab := New(cfg, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				d := Dest{"j", (g + i) % 16}
				if _, _, want := tab.Next(d, 100); want {
					tab.Learned(d, peer.ID(fmt.Sprint("H", i%4)), 1)
				}
				switch i % 200 {
				case 50:
					tab.Invalidate(d)
				case 100:
					tab.Sweep()
				case 150:
					_ = tab.Shortcuts()
					_ = tab.Stats()
				case 199:
					tab.DropJob("j")
				}
			}
		})
	}
	wg.Wait()
	if err := tab.check(); err != nil {
		t.Fatal(err)
	}
	s := tab.Stats()
	if s.ViaShortcut+s.Routed != 8*2000 {
		t.Fatalf("%d via shortcut + %d routed, want %d messages", s.ViaShortcut, s.Routed, 8*2000)
	}
}
