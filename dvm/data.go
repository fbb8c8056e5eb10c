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
	locs    sync.Map // rankID -> Location, learned from owners
}

type outStream struct {
	mu sync.Mutex
	s  network.Stream
	hb []byte
}

func newOutbound(p *Peer) *outbound {
	return &outbound{p: p, streams: map[peer.ID]*outStream{}}
}

// send delivers m from a local rank: straight to its destination's host
// when the location is known, else routed by key through the owner of the
// destination's location object, which forwards it and answers with the
// location. It returns the location (zero if the job is over).
func (o *outbound) send(ctx context.Context, m *wire.Msg) (Location, error) {
	if v, ok := o.locs.Load(rankID{m.Job, int(m.Dst)}); ok {
		loc := v.(Location)
		err := o.forward(loc.Host, m)
		if err == nil {
			return loc, nil
		}
		o.locs.Delete(rankID{m.Job, int(m.Dst)})
		o.p.log.Debug("send to cached host failed, routing", "job", m.Job, "dst", m.Dst, "err", err)
	}
	return o.route(ctx, m)
}

func (o *outbound) route(ctx context.Context, m *wire.Msg) (Location, error) {
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
			o.locs.Store(rankID{m.Job, int(m.Dst)}, loc)
			return loc, nil
		}
		if errors.Is(err, wire.ErrGone) || o.p.procs.isKilled(m.Job) {
			// The job is over: nobody is left to receive this.
			return Location{}, nil
		}
		// Not found: the spawn has not reached the owner yet, or our idea
		// of the owner is stale. Look the owner up again after a pause.
		o.p.forgetOwner(key)
		if !errors.Is(err, wire.ErrNotFound) && !errors.Is(err, wire.ErrUnavailable) || time.Now().After(deadline) {
			return Location{}, fmt.Errorf("dvm: route %s:%d->%d: %w", m.Job, m.Src, m.Dst, err)
		}
		select {
		case <-ctx.Done():
			return Location{}, ctx.Err()
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
	o.locs.Range(func(k, _ any) bool {
		if k.(rankID).job == job {
			o.locs.Delete(k)
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

// inbound hands messages that arrived for ranks hosted here to their
// processes. Ordering and duplicate suppression happen in the receiving
// process (peal), end to end, because messages between ranks may also
// travel over direct connections that bypass the peers.
type inbound struct{ p *Peer }

func newInbound(p *Peer) *inbound { return &inbound{p: p} }

// accept takes a message whose payload may alias a reused buffer.
func (in *inbound) accept(m *wire.Msg) {
	if !in.p.procs.deliver(m) {
		// Not hosted here (the rank ended, or a peer is guessing): drop it.
		in.p.log.Debug("message for a rank not hosted here", "job", m.Job, "rank", m.Dst)
	}
}
