package peal

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Environment variables through which a host peer gives a process its
// identity. They are the whole contract between a host and a program.
const (
	EnvSock  = "P2PDVM_SOCK"  // unix socket of the host peer
	EnvToken = "P2PDVM_TOKEN" // secret that proves which (job, rank) this is
	EnvJob   = "P2PDVM_JOB"
	EnvRank  = "P2PDVM_RANK"
	EnvSize  = "P2PDVM_SIZE"
)

// FragSize is the largest payload in one frame. Larger messages travel as
// fragments so no hop ever holds more than this of one message at a time
// beyond the receiver's reassembly buffer, and frame limits stay small.
const FragSize = 1 << 20

// MaxFrame is the frame body limit on the local socket and on data streams.
const MaxFrame = FragSize + 1 + wire.MaxJobIDLen + 64

// ErrNotInJob is returned by Connect when the process was not started by a
// p2pdvm peer.
var ErrNotInJob = errors.New("peal: not started by p2pdvm (P2PDVM_SOCK is not set)")

// Connect attaches the calling process to its host peer using the
// environment the peer started it with.
func Connect() (Proc, error) {
	sock, token := os.Getenv(EnvSock), os.Getenv(EnvToken)
	if sock == "" {
		return nil, ErrNotInJob
	}
	return Dial(sock, token)
}

// connProc is the real endpoint. Messages to a rank first go through the
// host peer, which routes them by key; once the peer reports where the
// destination listens, they go over a direct TLS connection instead. The
// sender numbers each (sender, receiver) pair's messages and the receiver
// puts them back in order and drops duplicates, so delivery is exactly once
// and FIFO whichever way each message went.
type connProc struct {
	c  net.Conn // to the host peer
	w  wire.Welcome
	m  *Matcher
	wm sync.Mutex // serialises frames to the host peer
	hb []byte     // header scratch, under wm

	routes []route
	rmu    sync.Mutex // guards srcs
	srcs   []srcState

	tlsCfg *tls.Config
	ln     net.Listener
	dmu    sync.Mutex
	direct []io.Closer // accepted and dialled connections, closed by Close
	polled polledSet   // the local ones, which Poll reads
	// npolled counts the routes whose connection is polled, so that a
	// waiting caller learns "all local?" and "how many local?" without
	// scanning the routes on every receive.
	npolled atomic.Int32
	arm     arming
	ck      ckpt

	closeOnce sync.Once
	closed    chan struct{}
}

// route is the sending side of one (this rank, dst) pair.
type route struct {
	mu      sync.Mutex
	seq     uint64
	conn    net.Conn // direct connection, nil while messages go via the host
	polled  bool     // conn is a local one that Poll reads
	hb      []byte
	dialing bool
}

// srcState is the receiving side of one (src, this rank) pair.
type srcState struct {
	next    uint64
	early   map[uint64]wire.Msg
	partial []byte
	inFrag  bool
	// claim is the posted receive a fragmented message matched on its
	// first fragment; its fragments are copied straight into claim.into
	// while they fit (got bytes so far).
	claim *Recv
	got   int
	// Checkpointing: marker is the epoch of a marker received from this
	// source and not yet matched by this rank's own cut, markNext the
	// sequence number that followed it, held what arrived since.
	marker   int
	markNext uint64
	held     []wire.Msg
}

var _ Proc = (*connProc)(nil)

// Dial attaches to the host peer listening on sock and proves the identity
// given by token.
func Dial(sock, token string) (Proc, error) {
	c, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("peal: connect to host peer: %w", err)
	}
	if err := wire.WriteFrame(c, wire.TypeHello, []byte(token)); err != nil {
		c.Close()
		return nil, fmt.Errorf("peal: hello: %w", err)
	}
	fr := wire.NewReader(c, MaxFrame)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	typ, body, err := fr.Next()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("peal: waiting for welcome: %w", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if typ != wire.TypeWelcome {
		c.Close()
		return nil, fmt.Errorf("peal: host refused the process (frame type %d): %s", typ, body)
	}
	var w wire.Welcome
	if err := wire.DecodeJSON(body, &w); err != nil {
		c.Close()
		return nil, err
	}
	if w.Size <= 0 || w.Rank < 0 || w.Rank >= w.Size {
		c.Close()
		return nil, fmt.Errorf("peal: host sent rank %d of %d", w.Rank, w.Size)
	}
	p := &connProc{
		c: c, w: w, m: NewMatcher(),
		routes: make([]route, w.Size), srcs: make([]srcState, w.Size),
		closed: make(chan struct{}),
	}
	p.arm.cond = sync.NewCond(&p.arm.mu)
	p.ck.init(&p.rmu)
	for i := range p.srcs {
		p.srcs[i].next = 1
	}
	if w.Restore != "" {
		if err := p.restore(); err != nil {
			c.Close()
			return nil, err
		}
	}
	if w.ListenFD <= 0 && len(w.Cert) == 0 {
		// The host keeps this job's traffic on the peers (RankDirect off,
		// or no listener could be opened; the host logs which).
	} else if err := p.startDirect(); err != nil {
		// Direct connections are an optimisation: without them every
		// message goes through the host peer, slower but correct.
		fmt.Fprintf(os.Stderr, "peal: rank %d: direct connections disabled: %v\n", w.Rank, err)
	}
	go p.readLoop(fr)
	return p, nil
}

func (p *connProc) Job() string { return p.w.Job }
func (p *connProc) Rank() int   { return p.w.Rank }
func (p *connProc) Size() int   { return p.w.Size }

func (p *connProc) Send(dst int, ctx uint32, tag int32, data []byte) error {
	if dst < 0 || dst >= p.w.Size {
		return fmt.Errorf("peal: send to rank %d of %d", dst, p.w.Size)
	}
	if dst == p.w.Rank {
		// A send to oneself never leaves the process.
		p.m.Deliver(Message{Src: dst, Ctx: ctx, Tag: tag, Data: append([]byte(nil), data...)})
		return nil
	}
	r := &p.routes[dst]
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		chunk := data
		m := wire.Msg{Src: uint32(p.w.Rank), Dst: uint32(dst), Ctx: ctx, Tag: tag}
		if len(chunk) > FragSize {
			chunk = chunk[:FragSize]
			m.Flags = wire.FlagMore
		}
		m.Payload = chunk
		r.seq++
		m.Seq = r.seq
		if err := p.sendOne(r, &m); err != nil {
			return fmt.Errorf("peal: send to rank %d: %w", dst, err)
		}
		data = data[len(chunk):]
		if m.Flags&wire.FlagMore == 0 {
			return nil
		}
	}
}

// sendOne writes one fragment directly if it can, else through the host.
// A direct connection that fails is dropped and the fragment goes through
// the host with the same sequence number; the receiver discards whichever
// copy comes second.
func (p *connProc) sendOne(r *route, m *wire.Msg) error {
	if r.conn != nil {
		if err := writeMsg(r.conn, &r.hb, m, wire.TypeDeliver); err == nil {
			return nil
		}
		r.conn.Close()
		p.setRoute(r, nil, false)
	}
	p.wm.Lock()
	defer p.wm.Unlock()
	return writeMsg(p.c, &p.hb, m, wire.TypeSend)
}

// writeMsg writes m as one frame: small ones from one buffer (one write,
// one TLS record), large ones without copying the payload.
func writeMsg(c net.Conn, hb *[]byte, m *wire.Msg, typ byte) error {
	if len(m.Payload) < 64<<10 {
		*hb = m.AppendFrame((*hb)[:0], typ)
		_, err := c.Write(*hb)
		return err
	}
	*hb = m.AppendHeader((*hb)[:0], typ)
	if _, err := c.Write(*hb); err != nil {
		return err
	}
	_, err := c.Write(m.Payload)
	return err
}

func (p *connProc) Post(src int, ctx uint32, tag int32) *Recv { return p.m.Post(src, ctx, tag) }

func (p *connProc) PostInto(src int, ctx uint32, tag int32, buf []byte) *Recv {
	return p.m.PostInto(src, ctx, tag, buf)
}

func (p *connProc) Cancel(r *Recv) bool { return p.m.Cancel(r) }

func (p *connProc) Probe(src int, ctx uint32, tag int32, block bool) (Message, bool, error) {
	if block {
		p.arm.enter()
		defer p.arm.leave()
	} else {
		p.Poll()
	}
	return p.m.Probe(src, ctx, tag, block)
}

func (p *connProc) Abort(code int, msg string) error {
	body, _ := jsonMarshal(wire.Abort{Code: code, Msg: msg})
	p.wm.Lock()
	err := wire.WriteFrame(p.c, wire.TypeAbort, body)
	p.wm.Unlock()
	if err != nil {
		return fmt.Errorf("peal: abort: %w", err)
	}
	// The host ends the job, this process included. If it does not within
	// a grace period, leave with the code anyway: an abort must not hang.
	time.Sleep(10 * time.Second)
	os.Exit(code)
	return nil
}

func (p *connProc) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closed)
		if p.arm.cond != nil {
			p.arm.wake()
		}
		for i := range p.routes {
			r := &p.routes[i]
			r.mu.Lock()
			p.setRoute(r, nil, false)
			r.mu.Unlock()
		}
		if p.ln != nil {
			p.ln.Close()
		}
		p.dmu.Lock()
		for _, c := range p.direct {
			c.Close()
		}
		p.direct = nil
		p.dmu.Unlock()
		if p.c != nil { // nil only in tests of direct connections alone
			err = p.c.Close()
		}
		p.m.Fail(ErrClosed)
		p.ck.wakeAll()
		// Receives claimed by a message still arriving in fragments are
		// no longer in the matcher; fail them too.
		p.rmu.Lock()
		for i := range p.srcs {
			if r := p.srcs[i].claim; r != nil {
				p.srcs[i].claim = nil
				r.err = ErrClosed
				close(r.done)
			}
		}
		p.rmu.Unlock()
	})
	return err
}

// arrive takes a message from any path and delivers it in sequence order.
// The payload may alias a reader's buffer; what is kept is copied.
func (p *connProc) arrive(m *wire.Msg) {
	src := int(m.Src)
	if src < 0 || src >= len(p.srcs) || m.Seq == 0 {
		return
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	s := &p.srcs[src]
	switch {
	case m.Seq < s.next:
		return // second copy of a message resent after a broken connection
	case m.Seq > s.next:
		if s.early == nil {
			s.early = map[uint64]wire.Msg{}
		}
		c := *m
		c.Payload = append([]byte(nil), m.Payload...)
		s.early[m.Seq] = c
		return
	}
	p.takeLocked(s, m, true)
	for {
		nm, ok := s.early[s.next]
		if !ok {
			return
		}
		delete(s.early, s.next)
		p.takeLocked(s, &nm, false)
	}
}

// takeLocked accepts the next message of a pair in sequence order. A
// checkpoint marker is noted; what follows a marker is held back until
// this rank has cut too (see ckpt.go), so the cut stays consistent.
func (p *connProc) takeLocked(s *srcState, m *wire.Msg, aliased bool) {
	s.next++
	if m.Flags&wire.FlagMarker != 0 || s.marker != 0 {
		p.holdLocked(s, m, aliased)
		return
	}
	p.deliverLocked(s, m)
}

// deliverLocked reassembles fragments and hands whole messages to the
// matcher. Per-pair order makes a message's fragments consecutive.
func (p *connProc) deliverLocked(s *srcState, m *wire.Msg) {
	more := m.Flags&wire.FlagMore != 0
	if more || s.inFrag {
		if !s.inFrag {
			// First fragment: the envelope is known, so the message can be
			// matched now, as MPI matches on arrival of the envelope.
			s.claim, s.got = p.m.claim(int(m.Src), m.Ctx, m.Tag), 0
		}
		s.inFrag = more
		if s.claim != nil && s.partial == nil && s.got+len(m.Payload) <= len(s.claim.into) {
			s.got += copy(s.claim.into[s.got:], m.Payload)
		} else {
			if s.partial == nil && s.claim != nil {
				// Larger than the receive buffer: keep all of it, so the
				// receiver can report the truncation with the real count.
				s.partial = append(make([]byte, 0, 2*(s.got+len(m.Payload))), s.claim.into[:s.got]...)
			}
			s.partial = append(s.partial, m.Payload...)
		}
		if more {
			return
		}
		msg := Message{Src: int(m.Src), Ctx: m.Ctx, Tag: m.Tag, Data: s.partial}
		if s.partial == nil {
			msg.Data = s.claim.into[:s.got]
		}
		r := s.claim
		s.partial, s.claim, s.got = nil, nil, 0
		if r != nil {
			r.msg = msg
			close(r.done)
			return
		}
		p.m.Deliver(msg)
		return
	}
	p.m.DeliverCopy(int(m.Src), m.Ctx, m.Tag, m.Payload)
}

func (p *connProc) readLoop(fr *wire.Reader) {
	for {
		typ, body, err := fr.Next()
		if err != nil {
			p.m.Fail(fmt.Errorf("%w: host connection: %v", ErrClosed, err))
			return
		}
		switch typ {
		case wire.TypeDeliver:
			m, err := wire.DecodeMsg(body)
			if err != nil {
				p.m.Fail(fmt.Errorf("%w: host sent %v", ErrClosed, err))
				return
			}
			p.arrive(&m)
		case wire.TypeLocate:
			var l wire.Locate
			if wire.DecodeJSON(body, &l) == nil {
				p.locate(l)
			}
		case wire.TypeCkpt:
			var req wire.Ckpt
			if wire.DecodeJSON(body, &req) == nil {
				p.ckptRequest(req)
			}
		}
	}
}
