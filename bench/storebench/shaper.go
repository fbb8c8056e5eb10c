package main

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Per-peer access links on mocknet.
//
// mocknet's LinkOptions.Bandwidth (go-libp2p v0.51.0, p2p/net/mock) is a
// token bucket per link, and a link joins one pair of peers: a central
// peer with eight uploaders would have eight links of the cap each, so
// eight times the cap of one uploader. The seed experiment caps each
// peer's access link instead. We emulate that here: every peer has an
// uplink and a downlink of the cap, and every byte a stream writes from
// A to B occupies A's uplink and B's downlink. A write is cut into
// pieces; each piece is booked on both links (each a FIFO virtual clock)
// and the write waits until the later of the two bookings has passed, as
// through a switch that buffers between the two links. mocknet's own
// link latency then delays the piece further.

// piece is the unit booked on the links. Small pieces share a link
// fairly between concurrent streams; large ones keep timer overshoot a
// small fraction of each wait (128 KiB is 10 ms at 100 Mbit/s).
const piece = 128 << 10

// slack is the credit an idle link may have: it absorbs the lateness of
// wake-ups, which would otherwise waste link time for good. On a loaded
// 2-core machine a sleeping writer can wake 10 ms late; 20 ms of credit
// is 250 KB at 100 Mbit/s, nothing next to a 64 MiB upload.
const slack = 20 * time.Millisecond

// wire is one direction of a peer's access link.
type wire struct {
	mu   sync.Mutex
	rate float64 // bytes per second
	next time.Time
}

// book reserves the link for n bytes and returns when they are through.
func (w *wire) book(now time.Time, n int) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if early := now.Add(-slack); w.next.Before(early) {
		w.next = early
	}
	w.next = w.next.Add(time.Duration(float64(n) / w.rate * float64(time.Second)))
	return w.next
}

type access struct{ up, down wire }

// shaper holds every peer's access link.
type shaper struct {
	rate float64
	mu   sync.Mutex
	link map[peer.ID]*access
}

func newShaper(bytesPerSec float64) *shaper {
	return &shaper{rate: bytesPerSec, link: map[peer.ID]*access{}}
}

func (sh *shaper) of(p peer.ID) *access {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a := sh.link[p]
	if a == nil {
		a = &access{up: wire{rate: sh.rate}, down: wire{rate: sh.rate}}
		sh.link[p] = a
	}
	return a
}

// wrap makes a host whose streams, outbound and inbound, write through
// the shaper. The DHT and the block protocol both take their streams
// from the host they are given, so both are shaped.
func (sh *shaper) wrap(h host.Host) host.Host {
	if sh == nil || sh.rate <= 0 {
		return h
	}
	return &shapedHost{Host: h, sh: sh}
}

type shapedHost struct {
	host.Host
	sh *shaper
}

func (h *shapedHost) stream(s network.Stream) network.Stream {
	return &shapedStream{Stream: s, from: h.sh.of(h.ID()), to: h.sh.of(s.Conn().RemotePeer())}
}

func (h *shapedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.stream(s), nil
}

func (h *shapedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) { handler(h.stream(s)) })
}

func (h *shapedHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, func(s network.Stream) { handler(h.stream(s)) })
}

type shapedStream struct {
	network.Stream
	from, to *access
}

// Write sends p piece by piece, each after both links have carried it.
func (s *shapedStream) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := min(len(p)-done, piece)
		now := time.Now()
		t := s.from.up.book(now, n)
		if d := s.to.down.book(now, n); d.After(t) {
			t = d
		}
		if wait := time.Until(t); wait > 0 {
			time.Sleep(wait)
		}
		k, err := s.Stream.Write(p[done : done+n])
		done += k
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
