package mpishim

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A rank polls while it waits only when it would not take a core from
// the rank it waits for. LocalRanks counts the ranks this process reaches
// over local connections, but not those of other peers on the same
// machine (an embedded cluster, two peers on one desktop) nor anything
// else the machine runs. So the wait also asks the kernel: Linux's
// pressure stall information says what share of the time some runnable
// thread found no free core (/proc/pressure/cpu, "some"). Measured here:
// 5-10% while 2 ranks ping-pong (Go or C) or run heat on 2 cores, 67-70%
// with 4 heat ranks on them, whether they poll or not; heat on 4 ranks
// over 2 peers ran 1.6x slower with every rank polling.

// busySampleEvery bounds how often a waiting rank reads the pressure
// (a few µs a read); shorter windows hold too few scheduling events.
const busySampleEvery = 50 * time.Millisecond

// busyShare is the smoothed share of stalled time above which the
// machine counts as oversubscribed: well clear of both cases above.
const busyShare = 0.4

// cpuPressure smooths the stall share between samples of the kernel's
// cumulative stall time.
type cpuPressure struct {
	total  uint64 // µs stalled, at the last sample
	at     time.Time
	share  float64 // exponentially weighted, 1/4 on the newest window
	primed bool
}

// observe takes the cumulative stall time at a moment and says whether
// the machine is oversubscribed. The first sample only sets the origin.
func (q *cpuPressure) observe(total uint64, at time.Time) bool {
	if !q.primed || total < q.total || !at.After(q.at) {
		q.total, q.at, q.primed = total, at, true
		return q.share > busyShare
	}
	s := float64(total-q.total) / float64(at.Sub(q.at).Microseconds()+1)
	q.total, q.at = total, at
	q.share += (min(s, 1) - q.share) / 4
	return q.share > busyShare
}

// parseStallTotal reads the "some" line's total (µs) from
// /proc/pressure/cpu:
//
//	some avg10=2.44 avg60=10.29 avg300=24.06 total=18678327542
func parseStallTotal(b []byte) (uint64, bool) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	if !bytes.HasPrefix(line, []byte("some ")) {
		return 0, false
	}
	for _, f := range bytes.Fields(line) {
		if v, ok := bytes.CutPrefix(f, []byte("total=")); ok {
			n, err := strconv.ParseUint(string(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// machineBusy is the process's view of the machine, shared by its waits.
// Waits read the verdict with two atomic loads; the one that finds it
// stale and wins the lock takes the next sample.
var machineBusy struct {
	next atomic.Int64 // unix nanoseconds when the verdict goes stale
	busy atomic.Bool
	mu   sync.Mutex // over q and the sampling
	q    cpuPressure
}

// oversubscribed says whether threads on this machine have been waiting
// for cores, from a sample no older than busySampleEvery. Without
// pressure stall information (kernels before 4.20 or built without it)
// it says no, and LocalRanks alone decides.
func oversubscribed(now time.Time) bool {
	m := &machineBusy
	if now.UnixNano() < m.next.Load() || !m.mu.TryLock() {
		return m.busy.Load()
	}
	defer m.mu.Unlock()
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		m.next.Store(now.Add(time.Hour).UnixNano()) // not there: do not keep trying
		return false
	}
	m.next.Store(now.Add(busySampleEvery).UnixNano())
	if total, ok := parseStallTotal(b); ok {
		m.busy.Store(m.q.observe(total, now))
	}
	return m.busy.Load()
}
