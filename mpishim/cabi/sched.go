package main

import (
	"runtime"
	"sync/atomic"
	"time"
)

// The C thread that calls in runs a goroutine that never passes through
// Go's scheduler: it comes from C, runs, and returns to C, where the
// runtime counts it as in a system call. sysmon takes the P of a
// goroutine that has run on one scheduling tick for 10 ms, even in a
// system call, and once that tick is stale it takes it again 20 µs after
// every return to C, and its own wake-ups stay at 20 µs apart: thousands
// a second, each one taking the core from a rank that computes (heat on
// 2 ranks over 2 cores lost about a fifth of its speed to them). A
// yield now and then starts a fresh tick. It costs two thread switches,
// 150-250 µs on this VM when the other core sleeps, so it is done at most
// every schedEvery: well inside the 10 ms, since sysmon notices a new tick
// only on its next wake-up (heat on 2 ranks ran 5-8% slower at 8 ms than
// at 5, and no faster at 2 or 3).

const schedEvery = 5 * time.Millisecond

var lastSched atomic.Int64 // time.Now().UnixNano() of the last yield

// freshTick yields if the calling goroutine has not been through the
// scheduler for schedEvery.
func freshTick() {
	now := time.Now().UnixNano()
	if last := lastSched.Load(); now-last < int64(schedEvery) || !lastSched.CompareAndSwap(last, now) {
		return
	}
	runtime.Gosched()
}
