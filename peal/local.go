package peal

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
)

// Between two ranks on one machine (a loopback address), traffic never
// leaves the kernel, so it is not encrypted: that is where MPI jobs move
// most of their bytes, and TLS would cost more than the copy itself. The
// connection is still authenticated: each side proves it holds the job's
// key with an HMAC challenge-response before any message is accepted.

// localMagic opens a local connection; TLS connections start with 0x16.
var localMagic = []byte("P2PD")

var errLocalAuth = errors.New("peal: local connection failed authentication")

func (p *connProc) localSecret() []byte {
	h := sha256.New()
	h.Write([]byte("p2pdvm direct local v1\x00"))
	h.Write(p.w.Key)
	return h.Sum(nil)
}

func proof(secret []byte, role byte, nc, ns []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte{role})
	m.Write(nc)
	m.Write(ns)
	return m.Sum(nil)
}

// localDial runs the client side: magic+nonce, check the server's proof,
// send ours.
func (p *connProc) localDial(c net.Conn) error {
	nc := make([]byte, 32)
	_, _ = rand.Read(nc)
	if _, err := c.Write(append(append([]byte(nil), localMagic...), nc...)); err != nil {
		return err
	}
	buf := make([]byte, 64)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	ns, sp := buf[:32], buf[32:]
	sec := p.localSecret()
	if !hmac.Equal(sp, proof(sec, 's', nc, ns)) {
		return errLocalAuth
	}
	_, err := c.Write(proof(sec, 'c', nc, ns))
	return err
}

// localAccept runs the server side of the same exchange.
func (p *connProc) localAccept(c net.Conn, r *bufio.Reader) error {
	buf := make([]byte, 4+32)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	if string(buf[:4]) != string(localMagic) {
		return errLocalAuth
	}
	nc := buf[4:]
	ns := make([]byte, 32)
	_, _ = rand.Read(ns)
	sec := p.localSecret()
	if _, err := c.Write(append(append([]byte(nil), ns...), proof(sec, 's', nc, ns)...)); err != nil {
		return err
	}
	cp := make([]byte, 32)
	if _, err := io.ReadFull(r, cp); err != nil {
		return err
	}
	if !hmac.Equal(cp, proof(sec, 'c', nc, ns)) {
		return errLocalAuth
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && isLoopbackIP(ta.IP)
}

func isLoopbackIP(ip net.IP) bool { return ip != nil && ip.IsLoopback() }

// bufConn is a connection whose first bytes were read into a buffer.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }
