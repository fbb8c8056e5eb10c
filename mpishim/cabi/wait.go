package main

import (
	"os"
	"runtime"
	"time"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// A C thread that calls into Go runs a goroutine locked to that thread.
// When such a goroutine blocks, its thread sleeps, and waking it takes
// two thread hand-offs (the reader goroutine that delivers the message
// runs elsewhere): 70-90 µs per message on this class of VM, against 16
// µs for a Go rank. So a blocking MPI call first polls for up to spinFor,
// as MPI libraries do, with a second P so that the goroutines reading the
// sockets run meanwhile; only a longer wait puts the thread to sleep, so
// a rank blocked for long costs no CPU.
const spinFor = 2 * time.Millisecond

// extraP gives the runtime the second P the polling needs, unless the
// user chose GOMAXPROCS.
func extraP() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2)
	}
}

// await completes q, polling before it blocks.
func await(q *mpishim.Request) (mpishim.Status, error) {
	deadline := time.Now().Add(spinFor)
	for i := 0; ; i++ {
		if st, ok, err := q.Test(); ok {
			return st, err
		}
		if i%64 == 63 && time.Now().After(deadline) {
			return q.Wait()
		}
	}
}
