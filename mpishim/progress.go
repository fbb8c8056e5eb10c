package mpishim

import (
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/p2pdvm/p2pdvm/peal"
)

// A synchronous send completes when its receive has matched (MPI-3.1
// §3.4), and the receiver acknowledges it when it completes the receive.
// A receive posted with Irecv may match while its process is blocked in
// another call, say its own Ssend: if acknowledgements waited for that
// receive's Wait, two ranks that each Irecv, then Ssend, then Wait would
// wait for each other forever. So every blocking wait also progresses the
// process's pending receives: it completes those that matched, which
// sends their acknowledgements (MPI's progress rule).

// pending is the process's receives that have not completed.
type pending struct {
	mu   sync.Mutex
	reqs []*Request
	n    atomic.Int32 // len(reqs), read without the lock on every poll
}

func (p *pending) add(q *Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.reqs) >= 64 && len(p.reqs)&(len(p.reqs)-1) == 0 {
		p.reqs = pruneDone(p.reqs) // keep a Test-only program's list short
	}
	p.reqs = append(p.reqs, q)
	p.n.Store(int32(len(p.reqs)))
}

// pruneDone drops requests that are complete.
func pruneDone(reqs []*Request) []*Request {
	out := reqs[:0]
	for _, q := range reqs {
		q.mu.Lock()
		open := q.r != nil
		q.mu.Unlock()
		if open {
			out = append(out, q)
		}
	}
	clear(reqs[len(out):])
	return out
}

// progress completes the pending receives that have matched, which sends
// the acknowledgements of synchronous ones. It returns the Done channels
// of those still pending.
func (pr *process) progress() []<-chan struct{} {
	p := &pr.pending
	if p.n.Load() == 0 {
		return nil
	}
	p.mu.Lock()
	reqs := append([]*Request(nil), p.reqs...)
	p.mu.Unlock()
	var dones []<-chan struct{}
	for _, q := range reqs {
		if ok, done := q.poll(); !ok {
			dones = append(dones, done)
		}
	}
	p.mu.Lock()
	p.reqs = pruneDone(p.reqs)
	p.n.Store(int32(len(p.reqs)))
	p.mu.Unlock()
	return dones
}

// tryComplete completes q if its receive has matched; it reports whether
// q is complete.
func (q *Request) tryComplete() bool {
	ok, _ := q.poll()
	return ok
}

// poll is tryComplete that also returns, while q is open, the channel its
// receive closes on completion.
func (q *Request) poll() (bool, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.r == nil {
		return true, nil
	}
	m, ok, err := q.r.Test()
	if ok {
		q.complete(m, err)
		return true, nil
	}
	return false, q.r.Done()
}

// sleep blocks until r completes, progressing pending receives whenever
// one of them matches; block runs the blocking part (with the endpoint's
// readers armed, for a real endpoint).
func (pr *process) sleep(r *peal.Recv, block func(func())) (peal.Message, error) {
	for {
		dones := pr.progress()
		if m, done, err := r.Test(); done {
			return m, err
		}
		if len(dones) == 0 {
			var m peal.Message
			var err error
			block(func() { m, err = r.Wait() })
			return m, err
		}
		cases := make([]reflect.SelectCase, 1, len(dones)+1)
		cases[0] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.Done())}
		for _, d := range dones {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(d)})
		}
		block(func() { reflect.Select(cases) })
	}
}

// Progress completes the process's pending receives that have matched
// (acknowledging synchronous sends) and returns the Done channels of
// those still pending, for callers that wait on requests by selecting on
// their Done channels (the C library's MPI_Waitany and MPI_Test): they
// must wake on these too and call Progress again.
func (c *Comm) Progress() []<-chan struct{} { return c.pr.progress() }
