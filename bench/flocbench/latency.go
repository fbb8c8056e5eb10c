package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Site latency on mocknet, done here rather than with mocknet's
// LinkOptions.Latency, which (go-libp2p v0.51.0, p2p/net/mock/
// mock_stream.go) does not model a link faithfully for this benchmark:
//
//   - Close and CloseWrite deliver whatever is buffered at once, so a
//     request written and closed, and the reply a handler writes before
//     its deferred Close, cross the link without latency: every RPC
//     (rank.route, rank.deliver) took a fraction of a millisecond on a
//     60 ms link;
//   - writes under 256 bytes are held back until the latest one's
//     arrival time, so on a stream that carries a small message more
//     often than once per latency, earlier messages wait for later ones
//     (a burst of 8-byte writes on a 35 ms link arrived after 140 ms).
//
// Instead, mocknet's links have no latency, and each host is wrapped so
// that every write, on streams it opens and on streams it accepts,
// reaches the underlying stream latency after it was made, in order;
// closing waits behind the writes before it.

// delays is the latency between any two peers, once switched on.
type delays struct {
	on  atomic.Bool
	lat func(a, b peer.ID) time.Duration
}

func (d *delays) between(a, b peer.ID) time.Duration {
	if !d.on.Load() {
		return 0
	}
	return d.lat(a, b)
}

type delayedHost struct {
	host.Host
	d *delays
}

func (h *delayedHost) wrap(s network.Stream) network.Stream {
	return &delayedStream{Stream: s, d: h.d, self: h.ID(), remote: s.Conn().RemotePeer()}
}

func (h *delayedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.wrap(s), nil
}

func (h *delayedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) { handler(h.wrap(s)) })
}

func (h *delayedHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, func(s network.Stream) { handler(h.wrap(s)) })
}

type opKind int

const (
	opWrite opKind = iota
	opCloseWrite
	opClose
)

type delayedOp struct {
	kind opKind
	data []byte
	due  time.Time
}

// delayedStream delays its writes; a goroutine, running while writes are
// pending, hands them to the underlying stream when they are due.
type delayedStream struct {
	network.Stream
	d            *delays
	self, remote peer.ID
	mu           sync.Mutex
	q            []delayedOp
	running      bool
	err          error // of an earlier delayed write
	reset        bool
}

func (s *delayedStream) Write(p []byte) (int, error) {
	lat := s.d.between(s.self, s.remote)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if lat == 0 && len(s.q) == 0 && !s.running {
		return s.Stream.Write(p)
	}
	s.push(delayedOp{kind: opWrite, data: append([]byte(nil), p...), due: time.Now().Add(lat)})
	return len(p), nil
}

// push queues op and starts the goroutine if it is not running; s.mu held.
func (s *delayedStream) push(op delayedOp) {
	s.q = append(s.q, op)
	if !s.running {
		s.running = true
		go s.drain()
	}
}

func (s *delayedStream) drain() {
	s.mu.Lock()
	for len(s.q) > 0 && !s.reset {
		op := s.q[0]
		s.mu.Unlock()
		time.Sleep(time.Until(op.due))
		var err error
		switch op.kind {
		case opWrite:
			_, err = s.Stream.Write(op.data)
		case opCloseWrite:
			err = s.Stream.CloseWrite()
		case opClose:
			err = s.Stream.Close()
		}
		s.mu.Lock()
		if len(s.q) > 0 {
			s.q = s.q[1:]
		}
		if err != nil && s.err == nil && op.kind == opWrite {
			s.err = err
		}
	}
	s.running = false
	s.mu.Unlock()
}

func (s *delayedStream) closing(kind opKind) error {
	s.mu.Lock()
	if len(s.q) == 0 && !s.running {
		s.mu.Unlock()
		if kind == opClose {
			return s.Stream.Close()
		}
		return s.Stream.CloseWrite()
	}
	// Behind the pending writes, at once after the last of them.
	s.push(delayedOp{kind: kind})
	s.mu.Unlock()
	return nil
}

func (s *delayedStream) CloseWrite() error { return s.closing(opCloseWrite) }
func (s *delayedStream) Close() error      { return s.closing(opClose) }

func (s *delayedStream) Reset() error {
	s.mu.Lock()
	s.reset, s.q = true, nil
	s.mu.Unlock()
	return s.Stream.Reset()
}

func (s *delayedStream) ResetWithError(code network.StreamErrorCode) error {
	s.mu.Lock()
	s.reset, s.q = true, nil
	s.mu.Unlock()
	return s.Stream.ResetWithError(code)
}
