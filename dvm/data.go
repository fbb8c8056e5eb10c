package dvm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/peal"
)

// smallCopy is the payload size below which header and payload are copied
// into one buffer so a message costs one write (one yamux frame, one TLS
// record); larger payloads are written in place.
const smallCopy = 64 << 10

// outbound carries messages from ranks on this peer to the hosts of their
// destinations: one long-lived stream per remote host, and a cache of where
// each destination rank lives.
type outbound struct {
	p       *Peer
	mu      sync.Mutex
	streams map[peer.ID]*outStream
	hosts   sync.Map // rankID -> peer.ID
}

type outStream struct {
	mu sync.Mutex
	s  network.Stream
	hb []byte
}

func newOutbound(p *Peer) *outbound {
	return &outbound{p: p, streams: map[peer.ID]*outStream{}}
}

// send delivers m from a local rank: directly when its destination's host
// is known, else routed by key through the owner of the destination's
// location object, which forwards it and answers with the location.
func (o *outbound) send(ctx context.Context, m *wire.Msg) error {
	if h, ok := o.hosts.Load(rankID{m.Job, int(m.Dst)}); ok {
		err := o.forward(h.(peer.ID), m)
		if err == nil {
			return nil
		}
		o.hosts.Delete(rankID{m.Job, int(m.Dst)})
		o.p.log.Debug("direct send failed, routing", "job", m.Job, "dst", m.Dst, "err", err)
	}
	return o.route(ctx, m)
}

func (o *outbound) route(ctx context.Context, m *wire.Msg) error {
	key := RankKey(m.Job, int(m.Dst))
	body := m.AppendFrame(nil, wire.TypeData)[wire.HeaderLen:]
	deadline := time.Now().Add(o.p.cfg.RouteTimeout)
	backoff := 5 * time.Millisecond
	for {
		owner, err := o.p.ownerOf(ctx, key)
		var loc Location
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = o.p.call(cctx, owner, "rank.route", routeReq{Msg: body}, &loc)
			cancel()
		}
		if err == nil {
			o.hosts.Store(rankID{m.Job, int(m.Dst)}, loc.Host)
			return nil
		}
		if errors.Is(err, wire.ErrGone) || o.p.procs.isKilled(m.Job) {
			// The job is over: nobody is left to receive this.
			return nil
		}
		// Not found: the spawn has not reached the owner yet, or our idea
		// of the owner is stale. Look the owner up again after a pause.
		o.p.forgetOwner(key)
		if !errors.Is(err, wire.ErrNotFound) && !errors.Is(err, wire.ErrUnavailable) || time.Now().After(deadline) {
			return fmt.Errorf("dvm: route %s:%d->%d: %w", m.Job, m.Src, m.Dst, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// forward writes m to host's stream, or hands it to the local inbound side
// when the host is this peer.
func (o *outbound) forward(host peer.ID, m *wire.Msg) error {
	if host == o.p.h.ID() {
		o.p.in.accept(m)
		return nil
	}
	for attempt := 0; ; attempt++ {
		st, err := o.stream(host)
		if err != nil {
			return err
		}
		err = st.write(m)
		if err == nil {
			return nil
		}
		o.drop(host, st)
		if attempt == 1 {
			return fmt.Errorf("%w: data stream to %s: %v", wire.ErrUnavailable, shortID(host), err)
		}
	}
}

func (o *outbound) stream(host peer.ID) (*outStream, error) {
	o.mu.Lock()
	st, ok := o.streams[host]
	if !ok {
		st = &outStream{}
		o.streams[host] = st
	}
	o.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s == nil {
		ctx, cancel := context.WithTimeout(o.p.ctx, 10*time.Second)
		s, err := o.p.h.NewStream(ctx, host, protoData)
		cancel()
		if err != nil {
			o.drop(host, st)
			return nil, fmt.Errorf("%w: open data stream to %s: %v", wire.ErrUnavailable, shortID(host), err)
		}
		st.s = s
	}
	return st, nil
}

func (st *outStream) write(m *wire.Msg) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s == nil {
		return net.ErrClosed
	}
	if len(m.Payload) < smallCopy {
		st.hb = m.AppendFrame(st.hb[:0], wire.TypeData)
		_, err := st.s.Write(st.hb)
		return err
	}
	st.hb = m.AppendHeader(st.hb[:0], wire.TypeData)
	if _, err := st.s.Write(st.hb); err != nil {
		return err
	}
	_, err := st.s.Write(m.Payload)
	return err
}

func (o *outbound) drop(host peer.ID, st *outStream) {
	o.mu.Lock()
	if o.streams[host] == st {
		delete(o.streams, host)
	}
	o.mu.Unlock()
	if st.mu.TryLock() {
		if st.s != nil {
			_ = st.s.Reset()
			st.s = nil
		}
		st.mu.Unlock()
	}
}

func (o *outbound) dropJob(job string) {
	o.hosts.Range(func(k, _ any) bool {
		if k.(rankID).job == job {
			o.hosts.Delete(k)
		}
		return true
	})
}

func (o *outbound) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for h, st := range o.streams {
		st.mu.Lock()
		if st.s != nil {
			_ = st.s.Close()
		}
		st.mu.Unlock()
		delete(o.streams, h)
	}
}

// serveData reads a remote host's data stream. Frames from a peer are
// untrusted: size-capped, decoded defensively, and a bad one ends only
// this stream.
func (p *Peer) serveData(s network.Stream) {
	from := s.Conn().RemotePeer()
	fr := wire.NewReader(s, peal.MaxFrame)
	for {
		typ, body, err := fr.Next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
				p.log.Debug("data stream ended", "peer", shortID(from), "err", err)
			}
			_ = s.Reset()
			return
		}
		if typ != wire.TypeData {
			p.log.Warn("data stream: unexpected frame", "peer", shortID(from), "type", typ)
			_ = s.Reset()
			return
		}
		m, err := wire.DecodeMsg(body)
		if err != nil {
			p.log.Warn("data stream: bad message", "peer", shortID(from), "err", err)
			_ = s.Reset()
			return
		}
		p.in.accept(&m)
	}
}

// inbound puts messages for local ranks back in per-(job, src, dst) order
// and drops duplicates, so delivery is exactly once and FIFO whether a
// message came routed, direct, or (later) retransmitted.
type inbound struct {
	p     *Peer
	mu    sync.Mutex
	pairs map[pairKey]*reorder
}

type pairKey struct {
	job      string
	src, dst uint32
}

type reorder struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]wire.Msg // owned copies of early messages
}

// maxEarly bounds the messages held for one pair while an earlier one is
// missing; a peer sending past it is misbehaving.
const maxEarly = 1 << 16

func newInbound(p *Peer) *inbound { return &inbound{p: p, pairs: map[pairKey]*reorder{}} }

// accept takes a message whose payload may alias a reused buffer.
func (in *inbound) accept(m *wire.Msg) {
	if !in.p.procs.has(m.Job, int(m.Dst)) {
		// Not hosted here (the rank ended, or a peer is guessing): keep no
		// state for it.
		in.p.log.Debug("message for a rank not hosted here", "job", m.Job, "rank", m.Dst)
		return
	}
	k := pairKey{m.Job, m.Src, m.Dst}
	in.mu.Lock()
	r, ok := in.pairs[k]
	if !ok {
		r = &reorder{next: 1}
		in.pairs[k] = r
	}
	in.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case m.Seq < r.next:
		return // duplicate
	case m.Seq > r.next:
		if len(r.pending) >= maxEarly {
			in.p.log.Warn("reorder buffer full, dropping", "job", m.Job, "src", m.Src, "dst", m.Dst)
			return
		}
		if r.pending == nil {
			r.pending = map[uint64]wire.Msg{}
		}
		c := *m
		c.Payload = append([]byte(nil), m.Payload...)
		r.pending[m.Seq] = c
		return
	}
	in.p.procs.deliver(m)
	r.next++
	for {
		nm, ok := r.pending[r.next]
		if !ok {
			return
		}
		delete(r.pending, r.next)
		in.p.procs.deliver(&nm)
		r.next++
	}
}

func (in *inbound) dropJob(job string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k := range in.pairs {
		if k.job == job {
			delete(in.pairs, k)
		}
	}
}
