package peal

import (
	"sync"
	"sync/atomic"
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

// Block runs wait (a blocking receive) with the connection goroutines
// reading, as someone must while the caller sleeps.
func (p *connProc) Block(wait func()) {
	p.arm.enter()
	defer p.arm.leave()
	wait()
}
