package peal

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// startDirect accepts direct connections on the listening socket the host
// peer handed over (its address is in the location object other ranks get).
func (p *connProc) startDirect() error {
	if p.w.ListenFD <= 0 || len(p.w.Cert) == 0 {
		return fmt.Errorf("host gave no listener or credentials")
	}
	cfg, err := jobTLS(p.w.Cert, p.w.Key)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(p.w.ListenFD), "p2pdvm-listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("inherited listener: %w", err)
	}
	p.tlsCfg = cfg
	p.serveListener(ln)
	return nil
}

func (p *connProc) serveListener(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serveDirect(c)
		}
	}()
}

func (p *connProc) track(c io.Closer) bool {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	select {
	case <-p.closed:
		return false
	default:
	}
	p.direct = append(p.direct, c)
	return true
}

// serveDirect reads one direct connection from another rank of the job.
// The handshake (TLS, or the local one on loopback) proves the other side
// holds the job's key; the source rank it names is then the one every
// frame is attributed to.
func (p *connProc) serveDirect(raw net.Conn) {
	polled := false // then the pollConn owns raw
	defer func() {
		if !polled {
			raw.Close()
		}
	}()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(raw, 64<<10)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	var c net.Conn
	if first[0] == localMagic[0] && isLoopback(raw.RemoteAddr()) {
		if err := p.localAccept(raw, br); err != nil {
			return
		}
		early, _ := br.Peek(br.Buffered())
		if pc := p.newPollConn(raw, early, -1); pc != nil {
			polled = true
			_ = raw.SetDeadline(time.Time{})
			if peer := p.startPolled(pc); peer >= 0 {
				p.adopt(peer, writeConn{raw, pc}, true)
			}
			return
		}
		c = &bufConn{Conn: raw, r: br}
	} else {
		c = tls.Server(&bufConn{Conn: raw, r: br}, p.tlsCfg)
	}
	defer c.Close()
	if !p.track(c) {
		return
	}
	fr := wire.NewReader(c, MaxFrame)
	typ, body, err := fr.Next()
	var h wire.DirectHello
	if err != nil || typ != wire.TypeDirect || wire.DecodeJSON(body, &h) != nil ||
		h.Job != p.w.Job || h.Src < 0 || h.Src >= p.w.Size {
		return
	}
	_ = c.SetDeadline(time.Time{})
	// One connection carries both directions of the pair, as in MPICH:
	// with a connection per direction every ACK is a bare, delayed one,
	// and on loopback that stalled each 8 KiB halo row by ~1.5 ms.
	go p.adopt(h.Src, c, false)
	p.readDirect(fr, h.Src)
}

// adopt makes c the route to peer unless one exists already (both sides
// may dial at once; either connection is fine, the receiver orders by
// sequence number).
func (p *connProc) adopt(peer int, c net.Conn, polled bool) {
	r := &p.routes[peer]
	r.mu.Lock()
	if r.conn == nil {
		p.setRoute(r, c, polled)
	}
	r.mu.Unlock()
}

// readDirect delivers the messages peer sends on one direct connection.
func (p *connProc) readDirect(fr *wire.Reader, peer int) {
	for {
		typ, body, err := fr.Next()
		if err != nil || typ != wire.TypeDeliver {
			return
		}
		m, err := wire.DecodeMsg(body)
		if err != nil || int(m.Dst) != p.w.Rank {
			return
		}
		m.Src = uint32(peer)
		p.arrive(&m)
	}
}

// locate starts connecting to dst directly, in the background; until that
// succeeds, messages keep going through the host peer. It is called from
// the read loop, which must never wait for a sender: a sender may be
// blocked writing to the host peer, which may be blocked writing to us.
func (p *connProc) locate(l wire.Locate) {
	if p.tlsCfg == nil || l.Dst < 0 || l.Dst >= p.w.Size || l.Dst == p.w.Rank {
		return
	}
	r := &p.routes[l.Dst]
	go func() {
		r.mu.Lock()
		busy := r.conn != nil || r.dialing
		if !busy {
			r.dialing = true
		}
		r.mu.Unlock()
		if busy {
			return
		}
		c, polled := p.dial(l.Addrs, l.Dst)
		r.mu.Lock()
		r.dialing = false
		if c != nil && r.conn == nil {
			p.setRoute(r, c, polled)
		}
		r.mu.Unlock()
	}()
}

// dial connects to peer at one of addrs and starts reading what peer sends
// back on the same connection; polled tells whether Poll reads it.
func (p *connProc) dial(addrs []string, peer int) (c net.Conn, polled bool) {
	hello, _ := json.Marshal(wire.DirectHello{Job: p.w.Job, Src: p.w.Rank})
	for _, a := range addrs {
		d := &net.Dialer{Timeout: 5 * time.Second}
		var c net.Conn
		var err error
		if host, _, _ := net.SplitHostPort(a); isLoopbackIP(net.ParseIP(host)) {
			c, err = d.Dial("tcp", a)
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if err = p.localDial(c); err != nil {
					c.Close()
				}
				_ = c.SetDeadline(time.Time{})
			}
		} else {
			c, err = tls.DialWithDialer(d, "tcp", a, p.tlsCfg)
		}
		if err != nil {
			continue
		}
		if err := wire.WriteFrame(c, wire.TypeDirect, hello); err != nil {
			c.Close()
			continue
		}
		if _, isTLS := c.(*tls.Conn); !isTLS {
			if pc := p.newPollConn(c, nil, peer); pc != nil {
				if p.startPolled(pc) < 0 {
					return nil, false
				}
				return writeConn{c, pc}, true
			}
		}
		if !p.track(c) {
			c.Close()
			return nil, false
		}
		go func() {
			defer c.Close()
			p.readDirect(wire.NewReader(c, MaxFrame), peer)
		}()
		return c, false
	}
	return nil, false
}
