package peal

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// arming decides when the goroutines of polled connections read. By
// default always. In quiet mode only while some thread is inside the
// process's calls: a C rank computes outside them, and a reader woken by
// each arriving halo would take the core the other rank computes on
// (heat on 2 ranks ran 1.7x slower so); the kernel buffers the bytes
// until the rank calls in, polls, or blocks.
type arming struct {
	quiet atomic.Bool
	mu    sync.Mutex
	cond  *sync.Cond
	busy  int
}

func (a *arming) armed() bool {
	if !a.quiet.Load() {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.busy > 0
}

// waitArmed blocks until reading is allowed; false once closed.
func (a *arming) waitArmed(closed <-chan struct{}) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.quiet.Load() && a.busy == 0 {
		select {
		case <-closed:
			return false
		default:
		}
		a.cond.Wait()
	}
	select {
	case <-closed:
		return false
	default:
		return true
	}
}

func (a *arming) enter() {
	if !a.quiet.Load() {
		return
	}
	a.mu.Lock()
	a.busy++
	if a.busy == 1 {
		a.cond.Broadcast()
	}
	a.mu.Unlock()
}

func (a *arming) leave() {
	if !a.quiet.Load() {
		return
	}
	a.mu.Lock()
	a.busy--
	a.mu.Unlock()
}

func (a *arming) wake() {
	a.mu.Lock()
	a.cond.Broadcast()
	a.mu.Unlock()
}

// Quiet switches quiet mode on: connection goroutines read only while a
// caller is blocked in Block or in a blocking Probe; Poll reads the rest
// of the time, and writes read while they wait for room (writeConn). For processes whose threads leave for foreign
// code between calls (the C library).
func (p *connProc) Quiet() { p.arm.quiet.Store(true) }

// WaitReadable blocks the calling thread in poll(2) until one of the
// polled connections has bytes to read or d has passed, and reports
// whether it waited; the caller then reads them with Poll. In quiet mode
// this is how a waiting thread sleeps when it must not spin: the kernel
// wakes it, and only it, when its message comes. Sleeping in Block
// instead costs three thread wake-ups a message (a reader's poll, the
// locked C thread, the reader's re-arming): 82 µs one way for 8 B against
// 21 µs here. Outside quiet mode the connection goroutines read the
// sockets, so it returns false at once and the caller should Block.
func (p *connProc) WaitReadable(d time.Duration) bool {
	s := p.polled.v.Load()
	if !p.arm.quiet.Load() || s == nil {
		return false
	}
	fds := make([]unix.PollFd, 0, len(*s))
	for _, pc := range *s {
		pc.mu.Lock()
		if pc.fd >= 0 && pc.err == nil {
			fds = append(fds, unix.PollFd{Fd: int32(pc.fd), Events: unix.POLLIN})
		}
		pc.mu.Unlock()
	}
	if len(fds) == 0 {
		return false
	}
	// A descriptor closed meanwhile, even one whose number was reused,
	// only ends the wait early: the caller polls and waits again.
	_, _ = unix.Poll(fds, max(1, int(d.Milliseconds())))
	return true
}

// Block runs wait (a blocking receive) with the connection goroutines
// reading, as someone must while the caller sleeps.
func (p *connProc) Block(wait func()) {
	p.arm.enter()
	defer p.arm.leave()
	wait()
}
