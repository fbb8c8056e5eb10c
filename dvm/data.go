package dvm

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/floc"
	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/peal"
)

// smallCopy is the payload size below which header and payload are copied
// into one buffer so a message costs one write (one yamux frame, one TLS
// record); larger payloads are written in place.
const smallCopy = 64 << 10

// outbound carries messages from ranks on this peer to the hosts of their
// destinations: Floc's shortcuts, one long-lived acked stream per remote
// host, and the queues of routed messages (route.go).
type outbound struct {
	p       *Peer
	floc    *floc.Table
	stats   traffic
	mu      sync.Mutex
	streams map[peer.ID]*outStream
	queues  map[queueKey]*routeQueue
}

func newOutbound(p *Peer) *outbound {
	return &outbound{p: p, floc: floc.New(p.cfg.Floc, nil),
		streams: map[peer.ID]*outStream{}, queues: map[queueKey]*routeQueue{}}
}

// forward writes m to host's stream, or hands it to the local inbound side
// when the host is this peer. A message written is kept until the host
// acknowledges it; if the stream breaks first, it is routed instead.
func (o *outbound) forward(host peer.ID, m *wire.Msg) error {
	if host == o.p.h.ID() {
		o.p.in.accept(m)
		return nil
	}
	st, err := o.stream(host)
	if err != nil {
		return err
	}
	if err := st.write(m); errors.Is(err, errNoMsgKey) {
		return err // nothing was written: the stream is fine
	} else if err != nil {
		o.fail(host, st)
		return fmt.Errorf("%w: data stream to %s: %v", wire.ErrUnavailable, shortID(host), err)
	}
	return nil
}

// errNoMsgKey: no rank of the message's run is hosted here any more, so
// this peer cannot vouch for it on a stream; it is routed instead, which
// fails the same way if the key has expired.
var errNoMsgKey = errors.New("dvm: no message key for the run")

// maxUnacked bounds the bytes written to one host and not yet
// acknowledged; a sender past it waits for acks.
const maxUnacked = 16 << 20

// ackEvery is how many frames a receiver takes before it acknowledges,
// unless it has caught up with the stream first.
const ackEvery = 64

// outStream is one acked data stream to a host. Writers take wmu; the
// bookkeeping of what is unacknowledged has its own lock, mu, which is
// never held across a write: a writer blocked on a full stream must not
// stop the acks that would make room from being read.
type outStream struct {
	wmu     sync.Mutex
	hb      []byte
	authed  map[string]bool // runs whose token went out on s; under wmu
	token   func(run string) ([32]byte, bool)
	mu      sync.Mutex
	space   *sync.Cond
	s       network.Stream
	unacked []wire.Msg // written (or being written), oldest first; own their payloads
	bytes   int
	acked   uint64 // frames acknowledged so far
	dead    bool
}

func (o *outbound) stream(host peer.ID) (*outStream, error) {
	o.mu.Lock()
	st, ok := o.streams[host]
	if ok {
		o.mu.Unlock()
		return st, nil
	}
	st = &outStream{authed: map[string]bool{}, token: func(run string) ([32]byte, bool) {
		key := o.p.keys.get(run)
		if key == nil {
			return [32]byte{}, false
		}
		return streamToken(key, run, o.p.h.ID(), host), true
	}}
	st.space = sync.NewCond(&st.mu)
	o.streams[host] = st
	st.wmu.Lock() // writers wait on it until the stream is open
	o.mu.Unlock()
	defer st.wmu.Unlock()
	ctx, cancel := context.WithTimeout(o.p.ctx, 10*time.Second)
	s, err := o.p.h.NewStream(ctx, host, protoData)
	cancel()
	st.mu.Lock()
	if err != nil {
		st.dead = true
	} else {
		st.s = s
	}
	st.mu.Unlock()
	if err != nil {
		o.forgetStream(host, st)
		return nil, fmt.Errorf("%w: open data stream to %s: %v", wire.ErrUnavailable, shortID(host), err)
	}
	o.p.goFunc(func() { o.readAcks(host, st) })
	return st, nil
}

func (st *outStream) write(m *wire.Msg) error {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	// A run's first message on the stream follows the run's token, in the
	// same write when the message is small.
	st.hb = st.hb[:0]
	auth := !st.authed[m.Job]
	if auth {
		tok, ok := st.token(m.Job)
		if !ok {
			return errNoMsgKey
		}
		st.hb = wire.AppendDataAuth(st.hb, wire.DataAuth{Job: m.Job, Token: tok})
	}
	// Recorded before it is written, so that an ack can never get ahead
	// of the record, and in write order, since wmu is held.
	st.mu.Lock()
	for !st.dead && st.bytes > maxUnacked {
		st.space.Wait()
	}
	if st.dead || st.s == nil {
		st.mu.Unlock()
		return net.ErrClosed
	}
	c := *m
	c.Payload = append([]byte(nil), m.Payload...)
	st.unacked = append(st.unacked, c)
	st.bytes += len(c.Payload)
	s := st.s
	st.mu.Unlock()

	var err error
	if len(m.Payload) < smallCopy {
		st.hb = m.AppendFrame(st.hb, wire.TypeData)
		_, err = s.Write(st.hb)
	} else {
		st.hb = m.AppendHeader(st.hb, wire.TypeData)
		if _, err = s.Write(st.hb); err == nil {
			_, err = s.Write(m.Payload)
		}
	}
	if err == nil && auth {
		st.authed[m.Job] = true
	}
	if err != nil {
		// The caller routes m itself. If fail already took it along with
		// the rest, the receiver drops the second copy.
		st.mu.Lock()
		if n := len(st.unacked); n > 0 && !st.dead {
			st.bytes -= len(st.unacked[n-1].Payload)
			st.unacked = st.unacked[:n-1]
		}
		st.mu.Unlock()
	}
	return err
}

// readAcks reads the host's cumulative acknowledgements and lets go of
// what they cover. When the stream ends, whatever is unacknowledged is
// routed again.
func (o *outbound) readAcks(host peer.ID, st *outStream) {
	fr := wire.NewReader(st.s, 64)
	for {
		typ, body, err := fr.Next()
		if err == nil && typ != wire.TypeDataAck {
			err = fmt.Errorf("%w: frame type %d on a data stream's return", wire.ErrMalformed, typ)
		}
		var n uint64
		if err == nil {
			n, err = wire.DecodeAck(body)
		}
		if err == nil {
			st.mu.Lock()
			k := n - st.acked
			if n < st.acked || k > uint64(len(st.unacked)) {
				err = fmt.Errorf("%w: ack of %d frames, %d sent", wire.ErrMalformed, n, st.acked+uint64(len(st.unacked)))
			} else {
				for i := range st.unacked[:k] {
					st.bytes -= len(st.unacked[i].Payload)
					st.unacked[i] = wire.Msg{}
				}
				st.unacked, st.acked = st.unacked[k:], n
				st.space.Broadcast()
			}
			st.mu.Unlock()
		}
		if err != nil {
			if o.p.ctx.Err() == nil {
				o.p.log.Debug("data stream ended", "host", shortID(host), "err", err)
			}
			o.fail(host, st)
			return
		}
	}
}

// fail retires a broken stream and routes what it had not delivered.
func (o *outbound) fail(host peer.ID, st *outStream) {
	st.mu.Lock()
	if st.dead && st.unacked == nil {
		st.mu.Unlock()
		return
	}
	st.dead = true
	pend := st.unacked
	st.unacked, st.bytes = nil, 0
	s := st.s
	st.space.Broadcast()
	st.mu.Unlock()
	if s != nil {
		_ = s.Reset() // unblocks a writer stuck on the stream
	}
	o.forgetStream(host, st)
	if o.p.ctx.Err() != nil {
		return
	}
	for i := range pend {
		m := &pend[i]
		o.unprotect(o.floc.Invalidate(floc.Dest{Job: m.Job, Rank: int(m.Dst)}))
		o.stats.resent.Add(1)
		if err := o.enqueue(m, true); err != nil {
			return
		}
	}
}

func (o *outbound) forgetStream(host peer.ID, st *outStream) {
	o.mu.Lock()
	if o.streams[host] == st {
		delete(o.streams, host)
	}
	o.mu.Unlock()
}

// dropJob forgets what this peer knew about sending to a run that ended.
func (o *outbound) dropJob(job string) {
	o.unprotect(o.floc.DropJob(job))
	o.mu.Lock()
	for k := range o.queues {
		if k.job == job {
			delete(o.queues, k)
		}
	}
	o.mu.Unlock()
}

func (o *outbound) close() {
	o.mu.Lock()
	streams := o.streams
	o.streams = map[peer.ID]*outStream{}
	o.mu.Unlock()
	for _, st := range streams {
		st.mu.Lock()
		st.dead, st.unacked = true, nil
		s := st.s
		st.space.Broadcast()
		st.mu.Unlock()
		if s != nil {
			_ = s.Reset()
		}
	}
	// Wake senders waiting for queue space; they see the peer closing.
	o.mu.Lock()
	for _, q := range o.queues {
		q.mu.Lock()
		q.space.Broadcast()
		q.mu.Unlock()
	}
	o.mu.Unlock()
}

// serveData reads a remote host's data stream and acknowledges what it
// delivered, every ackEvery frames or whenever it has caught up. Frames
// from a peer are untrusted: size-capped, decoded defensively, and a bad
// one ends only this stream.
func (p *Peer) serveData(s network.Stream) {
	from := s.Conn().RemotePeer()
	fr := wire.NewReader(s, peal.MaxFrame)
	var n, acked uint64
	var ab []byte
	authed := map[string]bool{} // runs whose token the sender showed
	for {
		typ, body, err := fr.Next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
				p.log.Debug("data stream ended", "peer", shortID(from), "err", err)
			}
			_ = s.Reset()
			return
		}
		if typ == wire.TypeDataAuth {
			if !p.checkDataAuth(from, body, authed) {
				_ = s.Reset()
				return
			}
			continue // not a message: acks count messages only
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
		// A run hosted here takes messages only after its token. A run
		// not hosted here has nobody to deliver to: accept drops it.
		if !authed[m.Job] && p.keys.get(m.Job) != nil {
			p.log.Warn("data stream: message without the run's token", "peer", shortID(from), "job", m.Job)
			_ = s.Reset()
			return
		}
		p.in.accept(&m)
		n++
		if n-acked >= ackEvery || fr.Buffered() == 0 {
			ab = wire.AppendAck(ab[:0], n)
			if _, err := s.Write(ab); err != nil {
				_ = s.Reset()
				return
			}
			acked = n
		}
	}
}

// checkDataAuth checks a run's token on a data stream from a peer and
// records the run in authed. A token for a run with no rank here is
// ignored (its messages are dropped anyway); a wrong one ends the stream.
func (p *Peer) checkDataAuth(from peer.ID, body []byte, authed map[string]bool) bool {
	a, err := wire.DecodeDataAuth(body)
	if err != nil {
		p.log.Warn("data stream: bad token frame", "peer", shortID(from), "err", err)
		return false
	}
	key := p.keys.get(a.Job)
	if key == nil {
		return true
	}
	want := streamToken(key, a.Job, from, p.h.ID())
	if !hmac.Equal(want[:], a.Token[:]) {
		p.log.Warn("data stream: wrong token", "peer", shortID(from), "job", a.Job)
		return false
	}
	authed[a.Job] = true
	return true
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
