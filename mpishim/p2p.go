package mpishim

import (
	"errors"
	"fmt"
	"sync"

	"github.com/p2pdvm/p2pdvm/peal"
)

// Send sends buf to rank dst with tag (0 to TagUB). It returns once buf
// may be reused, which is at once: the runtime copies and buffers.
func (c *Comm) Send(buf []byte, dst, tag int) error {
	if err := c.checkPeer(dst, "destination"); err != nil {
		return err
	}
	if err := checkTag(tag); err != nil {
		return err
	}
	if err := c.pr.p.Send(c.peers()[dst], c.ctx, int32(tag), buf); err != nil {
		return fmt.Errorf("mpishim: send to rank %d tag %d: %w", dst, tag, err)
	}
	return nil
}

// Recv receives the earliest matching message from src (or AnySource)
// with tag (or AnyTag) into buf. A message longer than buf fills buf and
// fails with ErrTruncate; Status.Count is then the full length.
func (c *Comm) Recv(buf []byte, src, tag int) (Status, error) {
	return c.Irecv(buf, src, tag).Wait()
}

// Ssend is Send that returns only once the destination has matched the
// message with a receive (MPI_Ssend).
func (c *Comm) Ssend(buf []byte, dst, tag int) error {
	_, err := c.Issend(buf, dst, tag).Wait()
	return err
}

// Issend starts a synchronous send: the request completes when the
// destination's receive has matched the message. The message carries
// peal.SyncCtx; the receiver answers on the collective context with
// ackTag(tag), which no collective uses. Two synchronous sends to one
// destination with one tag are matched in the order they were sent, so
// their acknowledgements cannot be confused.
func (c *Comm) Issend(buf []byte, dst, tag int) *Request {
	if err := c.checkPeer(dst, "destination"); err != nil {
		return failed(c, err)
	}
	if err := checkTag(tag); err != nil {
		return failed(c, err)
	}
	w := c.peers()[dst]
	ack := c.pr.p.Post(w, c.ctx+1, ackTag(int32(tag)))
	if err := c.pr.p.Send(w, c.ctx|peal.SyncCtx, int32(tag), buf); err != nil {
		c.pr.p.Cancel(ack)
		return failed(c, fmt.Errorf("mpishim: ssend to rank %d tag %d: %w", dst, tag, err))
	}
	return &Request{c: c, r: ack, ack: true, src: w}
}

// ackTag maps a user tag (0 to TagUB) to a negative tag, distinct from
// AnyTag and from every collective tag.
func ackTag(tag int32) int32 { return -tag - 2 }

// Request is a pending non-blocking operation. A Request is used by one
// goroutine at a time.
type Request struct {
	mu  sync.Mutex // guards r, st and err against another wait's progress
	c   *Comm
	r   *peal.Recv // nil once complete
	ack bool       // r is a synchronous send's acknowledgement
	src int        // process rank r waits on, or AnySource
	buf []byte
	st  Status
	err error
	// bad is the error that kept the operation from starting (a bad rank
	// or tag, a send that failed); the request is then complete with it.
	bad error
}

func failed(c *Comm, err error) *Request { return &Request{c: c, err: err, bad: err} }

// StartErr reports an error that kept the operation from starting, so a
// caller can report it when the call is made rather than at completion.
func (q *Request) StartErr() error { return q.bad }

// Poll reads whatever messages the process's connections hold, without
// blocking, for callers that poll a request instead of sleeping on it
// (the C library does, because its calling threads wake up slowly).
func (c *Comm) Poll() {
	if p, ok := c.pr.p.(interface{ Poll() }); ok {
		p.Poll()
	}
}

// closed is the Done channel of requests that are already complete.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Done is closed once Wait would not block, for waiting on several
// requests at once.
func (q *Request) Done() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.r == nil {
		return closed
	}
	return q.r.Done()
}

// Cancel withdraws a receive that has not matched yet (MPI_Cancel); the
// request then completes with Status.Cancelled set. Sends have already
// left and cannot be cancelled. It reports whether it cancelled.
func (q *Request) Cancel() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.r == nil || q.ack || !q.c.pr.p.Cancel(q.r) {
		return false
	}
	q.r = nil
	q.st = Status{Source: AnySource, Tag: AnyTag, Cancelled: true}
	return true
}

// Isend starts a send. Sends are eager, so the request is already
// complete and its error is the send's.
func (c *Comm) Isend(buf []byte, dst, tag int) *Request {
	if err := c.Send(buf, dst, tag); err != nil {
		return failed(c, err)
	}
	return &Request{c: c}
}

// Irecv posts a receive into buf, which must be left alone until the
// request completes. Receives match arriving messages in the order they
// were posted.
func (c *Comm) Irecv(buf []byte, src, tag int) *Request {
	if err := c.checkSrcTag(src, tag); err != nil {
		return failed(c, err)
	}
	ws := src
	if src != AnySource {
		ws = c.peers()[src]
	}
	q := &Request{c: c, r: c.pr.p.PostInto(ws, c.ctx, int32(tag), buf), buf: buf, src: ws}
	if !q.tryComplete() { // a synchronous message already here is acknowledged now
		c.pr.pending.add(q)
	}
	return q
}

// Wait blocks until the request completes. It may be called again and
// returns the same result.
func (q *Request) Wait() (Status, error) {
	q.mu.Lock()
	r := q.r
	q.mu.Unlock()
	if r != nil {
		m, err := q.c.pr.wait(r, q.src)
		q.mu.Lock()
		if q.r != nil { // else another wait's progress completed it
			q.complete(m, err)
		}
		q.mu.Unlock()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st, q.err
}

// Test reports whether the request has completed, without blocking.
func (q *Request) Test() (Status, bool, error) {
	if !q.tryComplete() {
		return Status{}, false, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st, true, q.err
}

// complete copies a received message into the request's buffer; q.mu is
// held.
func (q *Request) complete(m peal.Message, err error) {
	q.r = nil
	if err != nil {
		q.err = fmt.Errorf("mpishim: receive: %w", err)
		return
	}
	if q.ack {
		return
	}
	if m.Ctx&peal.SyncCtx != 0 {
		if err := q.c.pr.p.Send(m.Src, q.c.ctx+1, ackTag(m.Tag), nil); err != nil {
			q.err = fmt.Errorf("mpishim: acknowledge a synchronous send: %w", err)
		}
	}
	q.st = Status{Source: q.c.peerRank(m.Src), Tag: int(m.Tag), Count: len(m.Data)}
	if len(m.Data) == 0 || len(q.buf) == 0 || &m.Data[0] != &q.buf[0] {
		copy(q.buf, m.Data) // not already received in place
	}
	if len(m.Data) > len(q.buf) {
		q.err = fmt.Errorf("%w: %d bytes from rank %d tag %d into a buffer of %d",
			ErrTruncate, len(m.Data), q.st.Source, q.st.Tag, len(q.buf))
	}
}

// Waitall waits for every request and joins their errors; each request's
// own Wait still gives its status and error afterwards.
func Waitall(reqs ...*Request) error {
	var errs []error
	for _, q := range reqs {
		if _, err := q.Wait(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Sendrecv sends sbuf to dst and receives into rbuf from src. The receive
// is posted first, so a ring of Sendrecv calls cannot deadlock.
func (c *Comm) Sendrecv(sbuf []byte, dst, stag int, rbuf []byte, src, rtag int) (Status, error) {
	q := c.Irecv(rbuf, src, rtag)
	if err := c.Send(sbuf, dst, stag); err != nil {
		return Status{}, err
	}
	return q.Wait()
}

// Probe waits for a message that Recv(src, tag) would receive and
// describes it without receiving it.
func (c *Comm) Probe(src, tag int) (Status, error) {
	st, _, err := c.probe(src, tag, true)
	return st, err
}

// Iprobe is Probe without waiting; ok reports whether there was a message.
func (c *Comm) Iprobe(src, tag int) (st Status, ok bool, err error) {
	return c.probe(src, tag, false)
}

func (c *Comm) probe(src, tag int, block bool) (Status, bool, error) {
	if err := c.checkSrcTag(src, tag); err != nil {
		return Status{}, false, err
	}
	ws := src
	if src != AnySource {
		ws = c.peers()[src]
	}
	m, ok, err := c.pr.p.Probe(ws, c.ctx, int32(tag), block)
	if err != nil {
		return Status{}, false, fmt.Errorf("mpishim: probe: %w", err)
	}
	if !ok {
		return Status{}, false, nil
	}
	return Status{Source: c.peerRank(m.Src), Tag: int(m.Tag), Count: len(m.Data)}, true, nil
}
