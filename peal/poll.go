package peal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Polled reading of local direct connections.
//
// A message that a goroutine reads and hands over costs a thread wake-up
// on arrival: the reader sleeps in epoll until data comes. MPI libraries
// avoid that by polling the socket from the thread that waits for the
// message, and so can a process here: Poll reads whatever its plain
// (loopback) direct connections hold, without blocking, and delivers it.
// The connection's goroutine still reads when nobody polls; both read
// through one framer under one lock, so each byte is read once and frames
// stay whole. TLS connections (other hosts) are left to their goroutines:
// polling them would mean a non-blocking TLS record reader.

// framer cuts frames out of a byte stream that arrives in pieces.
type framer struct {
	buf  []byte
	r, w int
	max  int
}

// space returns room to read into, moving unread bytes to the front and
// growing the buffer when a frame larger than it is under way.
func (f *framer) space() []byte {
	if f.r == f.w {
		f.r, f.w = 0, 0
	}
	need := 64 << 10
	if f.w-f.r >= wire.HeaderLen-1 {
		n := int(binary.LittleEndian.Uint32(f.buf[f.r:]))
		if n-1 <= f.max {
			need = max(need, 4+n)
		}
	}
	if len(f.buf)-f.r < need {
		if len(f.buf) < need {
			nb := make([]byte, need)
			f.w = copy(nb, f.buf[f.r:f.w])
			f.buf = nb
		} else {
			f.w = copy(f.buf, f.buf[f.r:f.w])
		}
		f.r = 0
	}
	if f.w == len(f.buf) { // a full small buffer holding no whole frame: grow
		nb := make([]byte, 2*len(f.buf))
		f.w = copy(nb, f.buf[f.r:f.w])
		f.r, f.buf = 0, nb
	}
	return f.buf[f.w:]
}

// next returns the next whole frame, if the bytes so far hold one. The
// body aliases the buffer until the next call to space.
func (f *framer) next() (typ byte, body []byte, ok bool, err error) {
	if f.w-f.r < wire.HeaderLen {
		return 0, nil, false, nil
	}
	n := int(binary.LittleEndian.Uint32(f.buf[f.r:]))
	switch {
	case n == 0:
		return 0, nil, false, fmt.Errorf("%w: empty frame", wire.ErrMalformed)
	case n-1 > f.max:
		return 0, nil, false, fmt.Errorf("%w: %d bytes, limit %d", wire.ErrTooLarge, n-1, f.max)
	case f.w-f.r < 4+n:
		return 0, nil, false, nil
	}
	b := f.buf[f.r+4 : f.r+4+n]
	f.r += 4 + n
	return b[0], b[1:], true, nil
}

// pollConn is one plain direct connection read by polling or by its
// goroutine, whichever comes first.
type pollConn struct {
	p    *connProc
	conn net.Conn

	mu    sync.Mutex
	fd    int  // -1 once closed: the number may then belong to another file
	own   bool // fd is this pollConn's own duplicate, off Go's poller (quiet mode)
	f     framer
	peer  int // -1 until the other side's hello names it
	err   error
	hello chan struct{} // closed when the hello has arrived
}

// drainLocked reads what the socket holds without blocking and delivers
// every whole frame. idle reports that the socket had nothing more.
func (pc *pollConn) drainLocked() (idle bool) {
	for pc.err == nil && pc.fd >= 0 {
		n, err := rawRead(pc.fd, pc.f.space())
		switch {
		case n > 0:
			pc.f.w += n
			pc.deliverLocked()
		case errors.Is(err, syscall.EAGAIN):
			return true
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			pc.err = err
		default:
			pc.err = io.EOF
		}
	}
	return false
}

func (pc *pollConn) deliverLocked() {
	for pc.err == nil {
		typ, body, ok, err := pc.f.next()
		if err != nil {
			pc.err = err
			return
		}
		if !ok {
			return
		}
		if pc.peer < 0 {
			pc.err = pc.helloLocked(typ, body)
			continue
		}
		m, err := wire.DecodeMsg(body)
		if err == nil && (typ != wire.TypeDeliver || int(m.Dst) != pc.p.w.Rank) {
			err = fmt.Errorf("%w: frame type %d for rank %d on a direct connection", wire.ErrMalformed, typ, m.Dst)
		}
		if err != nil {
			pc.err = err
			return
		}
		m.Src = uint32(pc.peer)
		pc.p.arrive(&m)
	}
}

// helloLocked checks the first frame of an accepted connection, which
// names the rank at the other end.
func (pc *pollConn) helloLocked(typ byte, body []byte) error {
	var h wire.DirectHello
	if typ != wire.TypeDirect || wire.DecodeJSON(body, &h) != nil ||
		h.Job != pc.p.w.Job || h.Src < 0 || h.Src >= pc.p.w.Size {
		return fmt.Errorf("%w: bad hello on a direct connection", wire.ErrMalformed)
	}
	pc.peer = h.Src
	close(pc.hello)
	return nil
}

// run reads the connection whenever nobody polls it, until it fails or
// closes. (Connections made in quiet mode use runQuiet instead.)
func (pc *pollConn) run() {
	defer pc.Close()
	sc, ok := pc.conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(uintptr) bool {
		pc.mu.Lock()
		defer pc.mu.Unlock()
		idle := pc.drainLocked()
		return !idle // idle: wait until readable, then call again; else it failed
	})
}

// poll reads the connection if no one else is reading it right now.
func (pc *pollConn) poll() {
	if pc.mu.TryLock() {
		pc.drainLocked()
		pc.mu.Unlock()
	}
}

// Close invalidates the descriptor before closing it, so that a poll
// never reads a file that reused its number.
func (pc *pollConn) Close() error {
	pc.mu.Lock()
	if pc.own && pc.fd >= 0 {
		syscall.Close(pc.fd)
	}
	pc.fd = -1
	pc.mu.Unlock()
	return pc.conn.Close()
}

// runQuiet is run for a connection taken off Go's poller: while reading
// is armed it waits for data in poll(2) itself, rechecking the arming
// every 10 ms; otherwise it sleeps until armed.
func (pc *pollConn) runQuiet() {
	defer pc.Close()
	for {
		// The hello is read at once whatever the arming: the accepting
		// side gives up on a connection that does not name its peer.
		hello := false
		select {
		case <-pc.hello:
			hello = true
		default:
		}
		if hello && !pc.p.arm.waitArmed(pc.p.closed) {
			return
		}
		pc.mu.Lock()
		pc.drainLocked()
		fd, failed := pc.fd, pc.err != nil || pc.fd < 0
		pc.mu.Unlock()
		if failed {
			return
		}
		if !hello || pc.p.arm.armed() {
			_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10)
		}
	}
}

// detach takes the socket off Go's network poller: it duplicates the
// descriptor and closes the original, which Go deregisters. Go's poller
// wakes a thread for every arrival on a registered socket, even when no
// goroutine waits for it; a C rank computing on the other core pays for
// each such wake-up, and a rank's polls read the data anyway.
func detach(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// writeConn is what a route writes to when its connection is polled:
// closing it (after a failed write) must invalidate the descriptor first.
type writeConn struct {
	net.Conn
	pc *pollConn
}

func (w writeConn) Close() error { return w.pc.Close() }

// tryWrite writes as much of b as the socket takes now, without telling
// the scheduler (see rawWrite), and returns how much that was, the
// descriptor, and what stopped it: EAGAIN when the socket is full.
func (pc *pollConn) tryWrite(b []byte) (n, fd int, err error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	fd = pc.fd
	for n < len(b) {
		if fd < 0 {
			return n, fd, net.ErrClosed
		}
		m, err := rawWrite(fd, b[n:])
		switch {
		case m > 0:
			n += m
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			return n, fd, err
		default:
			return n, fd, io.ErrShortWrite
		}
	}
	return n, fd, nil
}

// Write writes with non-blocking system calls. When the socket is full,
// a socket Go's poller owns is left to Go's blocking write (its goroutine
// keeps reading meanwhile); one taken off the poller (quiet mode) keeps
// reading this process's polled connections while it waits: with no
// goroutine reading, two ranks that write to each other at once would
// otherwise both wait for the other to read.
func (w writeConn) Write(b []byte) (int, error) {
	total := 0
	for {
		n, fd, err := w.pc.tryWrite(b[total:])
		total += n
		switch {
		case err == nil:
			return total, nil
		case !errors.Is(err, syscall.EAGAIN):
			return total, err
		case !w.pc.own:
			m, err := w.Conn.Write(b[total:])
			return total + m, err
		}
		w.pc.p.Poll()
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT | unix.POLLIN}}
		_, _ = unix.Poll(fds, 1) // at most 1 ms, then poll the other connections too
	}
}

// newPollConn wraps c, whose first bytes (already read while telling a
// local connection from a TLS one) are in early. It returns nil when c is
// not a socket it can poll.
func (p *connProc) newPollConn(c net.Conn, early []byte, peer int) *pollConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	fd := -1
	if rc.Control(func(x uintptr) { fd = int(x) }) != nil || fd < 0 {
		return nil
	}
	own := false
	if p.arm.quiet.Load() {
		nfd, err := detach(fd)
		if err != nil {
			return nil
		}
		c.Close() // Go deregisters and closes the original; nfd keeps the socket
		fd, own = nfd, true
	}
	pc := &pollConn{p: p, conn: c, fd: fd, own: own, peer: peer, hello: make(chan struct{}), f: framer{max: MaxFrame}}
	if peer >= 0 {
		close(pc.hello)
	}
	pc.f.w = copy(pc.f.space(), early)
	return pc
}

// startPolled makes pc readable by Poll and starts its goroutine. For an
// accepted connection it waits for the hello (bounded, like the TLS
// handshake) and returns the peer rank, or -1.
func (p *connProc) startPolled(pc *pollConn) int {
	if !p.track(pc) {
		pc.conn.Close()
		return -1
	}
	pc.mu.Lock()
	pc.deliverLocked() // frames that came with the handshake bytes
	pc.mu.Unlock()
	p.addPolled(pc)
	if pc.own {
		go pc.runQuiet()
	} else {
		go pc.run()
	}
	select {
	case <-pc.hello:
		pc.mu.Lock()
		peer := pc.peer
		pc.mu.Unlock()
		return peer
	case <-time.After(10 * time.Second):
		pc.Close()
		return -1
	}
}

// polledSet is the connections Poll reads; copy-on-write, so Poll takes
// no lock.
type polledSet struct{ v atomic.Pointer[[]*pollConn] }

func (p *connProc) addPolled(pc *pollConn) {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	old := p.polled.v.Load()
	var next []*pollConn
	if old != nil {
		next = append(next, *old...)
	}
	next = append(next, pc)
	p.polled.v.Store(&next)
}

// Poll reads and delivers what the local direct connections hold, without
// blocking. A waiting caller may call it in a loop instead of sleeping.
func (p *connProc) Poll() {
	if s := p.polled.v.Load(); s != nil {
		for _, pc := range *s {
			pc.poll()
		}
	}
}

// Polled reports whether messages from rank src (or, for AnySource, from
// every other rank) arrive over connections that Poll reads, so that a
// caller waiting for them may poll instead of sleeping. Messages still
// routed through the host peer, or over TLS from another host, arrive
// only through goroutines.
func (p *connProc) Polled(src int) bool {
	switch {
	case src == AnySource:
		return int(p.npolled.Load()) == len(p.routes)-1
	case src == p.w.Rank:
		return true
	case src < 0 || src >= len(p.routes):
		return false
	}
	r := &p.routes[src]
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.polled
}

// setRoute sets a route's connection; the caller holds r.mu.
func (p *connProc) setRoute(r *route, c net.Conn, polled bool) {
	if r.polled != polled {
		if polled {
			p.npolled.Add(1)
		} else {
			p.npolled.Add(-1)
		}
	}
	r.conn, r.polled = c, polled
}

// LocalRanks is the number of this job's ranks known to share this host:
// this one and those at the end of a local direct connection. A caller
// that polls uses it not to spin when ranks outnumber cores.
func (p *connProc) LocalRanks() int { return 1 + int(p.npolled.Load()) }

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket
// without telling the scheduler: they never block, and a P that a
// polling rank holds across many short system calls is otherwise taken
// away by sysmon now and then and handed to another thread (two futex
// wake-ups each time, on the core the other rank computes on).
func rawRead(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
