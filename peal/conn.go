package peal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
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
	p := &connProc{c: c, w: w, m: NewMatcher(), partial: make(map[int][]byte)}
	go p.readLoop(fr)
	return p, nil
}

type connProc struct {
	c  net.Conn
	w  wire.Welcome
	m  *Matcher
	wm sync.Mutex // serialises frames on the socket
	hb []byte     // header scratch, under wm

	partial map[int][]byte // reassembly per source; reader goroutine only

	closeOnce sync.Once
}

var _ Proc = (*connProc)(nil)

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
	p.wm.Lock()
	defer p.wm.Unlock()
	for {
		m := wire.Msg{Dst: uint32(dst), Ctx: ctx, Tag: tag}
		chunk := data
		if len(chunk) > FragSize {
			chunk = chunk[:FragSize]
			m.Flags = wire.FlagMore
		}
		m.Payload = chunk
		p.hb = m.AppendHeader(p.hb[:0], wire.TypeSend)
		bufs := net.Buffers{p.hb, chunk}
		if _, err := bufs.WriteTo(p.c); err != nil {
			return fmt.Errorf("peal: send to rank %d: %w", dst, err)
		}
		data = data[len(chunk):]
		if m.Flags&wire.FlagMore == 0 {
			return nil
		}
	}
}

func (p *connProc) Post(src int, ctx uint32, tag int32) *Recv { return p.m.Post(src, ctx, tag) }

func (p *connProc) Probe(src int, ctx uint32, tag int32, block bool) (Message, bool, error) {
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
		err = p.c.Close()
		p.m.Fail(ErrClosed)
	})
	return err
}

func (p *connProc) readLoop(fr *wire.Reader) {
	for {
		typ, body, err := fr.Next()
		if err != nil {
			p.m.Fail(fmt.Errorf("%w: host connection: %v", ErrClosed, err))
			return
		}
		if typ != wire.TypeDeliver {
			continue
		}
		m, err := wire.DecodeMsg(body)
		if err != nil {
			p.m.Fail(fmt.Errorf("%w: host sent %v", ErrClosed, err))
			return
		}
		src := int(m.Src)
		if m.Flags&wire.FlagMore != 0 || p.partial[src] != nil {
			buf := append(p.partial[src], m.Payload...)
			if m.Flags&wire.FlagMore != 0 {
				p.partial[src] = buf
				continue
			}
			delete(p.partial, src)
			p.m.Deliver(Message{Src: src, Ctx: m.Ctx, Tag: m.Tag, Data: buf})
			continue
		}
		// The reader's buffer is reused; the message must own its bytes.
		p.m.Deliver(Message{Src: src, Ctx: m.Ctx, Tag: m.Tag, Data: append([]byte(nil), m.Payload...)})
	}
}
