package mpishim

import (
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/p2pdvm/p2pdvm/peal"
)

// A rank that sleeps until its message comes pays a thread wake-up per
// message (16 µs one way for 8 B on a loopback pair here, MPICH's 8 µs
// polling). So, as MPI libraries do, a wait first polls: the waiting
// goroutine reads the local direct connections itself (peal's Poll) for
// up to SpinFor, and only then sleeps. It polls only when the message can
// come that way (a local source whose connection is up) and only while
// this host's ranks do not outnumber its cores and the machine has no
// more runnable threads than cores (busy.go): a spinning rank would take
// the core from the one it waits for.

// DefaultSpin is how long a wait polls before it sleeps, unless the
// environment variable MPISHIM_SPIN_US says otherwise (0 never polls).
const DefaultSpin = 2 * time.Millisecond

// Spin is the polling time this process was given: MPISHIM_SPIN_US, else
// DefaultSpin.
func Spin() time.Duration {
	if v, err := strconv.Atoi(os.Getenv("MPISHIM_SPIN_US")); err == nil && v >= 0 {
		return time.Duration(v) * time.Microsecond
	}
	return DefaultSpin
}

// endpoint is what a peal.Proc offers for polling (the real one does).
type endpoint interface {
	Poll()
	Polled(src int) bool
	LocalRanks() int
	Quiet()
	Block(wait func())
	WaitReadable(d time.Duration) bool
}

// Quiet tells the endpoint that this process's threads leave for foreign
// code between calls (the C library), so its connection goroutines should
// read only while a call is under way; see peal's Quiet.
func (c *Comm) Quiet() {
	if e, ok := c.pr.p.(endpoint); ok {
		e.Quiet()
	}
}

// SetWait sets how this process waits: poll for up to spin (0: never)
// before sleeping, and, with yield, let other goroutines run now and then
// while polling. The C library turns yield off: its calling thread holds
// the only P, and yielding would hand it away at the cost of two thread
// switches.
func (c *Comm) SetWait(spin time.Duration, yield bool) { c.pr.setWait(spin, yield) }

func (pr *process) setWait(spin time.Duration, yield bool) {
	pr.spin.Store(int64(spin))
	pr.yield.Store(yield)
}

// wait completes r, a receive from process rank src (or AnySource).
func (pr *process) wait(r *peal.Recv, src int) (peal.Message, error) {
	spin, yield := time.Duration(pr.spin.Load()), pr.yield.Load()
	e, ok := pr.p.(endpoint)
	if !ok {
		return pr.sleep(r, func(f func()) { f() })
	}
	if m, done, err := r.Test(); done {
		pr.progress()
		return m, err
	}
	if spin <= 0 || !e.Polled(src) || e.LocalRanks() > runtime.NumCPU() || oversubscribed(time.Now()) {
		return pr.rest(r, src, e)
	}
	// Each poll is a system call, which costs a lot under some hypervisors
	// and slows the rank computing next door: the longer a wait lasts,
	// the further apart the polls, up to maxGap (user-space checks of r in
	// between cost nothing).
	start := time.Now()
	deadline := start.Add(spin)
	gap := time.Duration(0)
	for i := 1; ; i++ {
		e.Poll()
		pr.progress()
		if m, done, err := r.Test(); done {
			return m, err
		}
		now := time.Now()
		if now.After(deadline) {
			return pr.rest(r, src, e)
		}
		if yield && i%64 == 0 {
			runtime.Gosched()
		}
		gap = min(now.Sub(start)/8, maxGap)
		for until := now.Add(gap); time.Now().Before(until); {
			if m, done, err := r.Test(); done {
				return m, err
			}
		}
	}
}

// rest waits for r without spinning. A quiet process (the C library)
// whose message comes over a polled connection sleeps in poll(2) on
// those connections and reads them itself (see peal's WaitReadable);
// everything else sleeps until a connection goroutine delivers.
func (pr *process) rest(r *peal.Recv, src int, e endpoint) (peal.Message, error) {
	if !e.Polled(src) {
		return pr.sleep(r, e.Block)
	}
	for {
		e.Poll()
		pr.progress()
		if m, done, err := r.Test(); done {
			return m, err
		}
		// Bounded, because what completes a pending receive of another
		// source (a synchronous send's acknowledgement) may come through
		// a connection goroutine instead.
		if !e.WaitReadable(restPoll) {
			return pr.sleep(r, e.Block)
		}
	}
}

// restPoll bounds one sleep of rest.
const restPoll = 5 * time.Millisecond

// maxGap bounds the time between two polls of a long wait.
const maxGap = 20 * time.Microsecond

// Block runs wait, which blocks on requests' Done channels, with the
// endpoint's readers armed (see Quiet).
func (c *Comm) Block(wait func()) {
	if e, ok := c.pr.p.(endpoint); ok {
		e.Block(wait)
		return
	}
	wait()
}
