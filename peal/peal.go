// Package peal is the Programming Environment Abstraction Layer: what a
// running process of a p2pdvm job sees. A process has a rank in a job of a
// given size and exchanges tagged messages with the other ranks; the MPI,
// BSP and PVM shims are built on this and nothing else.
//
// Two implementations exist: Connect, which talks to the process's host peer
// over the local socket named in its environment (the real runtime), and
// NewGroup, an in-memory group for testing shims without any peer.
package peal

import "errors"

// Wildcards for Post and Probe.
const (
	AnySource = -1
	AnyTag    = int32(-1)
)

// SyncCtx, set in the context of a message, asks the receiving process to
// acknowledge the message once a receive has matched it: that is how a
// synchronous send (MPI_Ssend) learns that its message was matched.
// Matching ignores the bit, so a receive posted on ctx matches messages
// sent on ctx|SyncCtx; Message.Ctx keeps it, for the receiver to see.
const SyncCtx uint32 = 1 << 31

// ErrClosed is returned by operations on a closed or failed Proc.
var ErrClosed = errors.New("peal: process endpoint closed")

// Message is a received message. Data belongs to the receiver.
type Message struct {
	Src  int
	Ctx  uint32
	Tag  int32
	Data []byte
}

// Proc is a process's view of its job.
//
// Ordering: messages from one sender to one receiver with the same context
// are received in the order they were sent (MPI's non-overtaking rule), and
// receives are matched in the order they were posted.
type Proc interface {
	Job() string
	Rank() int
	Size() int
	// Send hands data to the runtime and returns; data may be reused at
	// once (eager protocol, the runtime buffers). Safe for concurrent use,
	// although concurrent sends to one destination have no defined order.
	Send(dst int, ctx uint32, tag int32, data []byte) error
	// Post registers a receive for (src, ctx, tag); src may be AnySource
	// and tag AnyTag. It never blocks.
	Post(src int, ctx uint32, tag int32) *Recv
	// PostInto is Post with a destination: a matching message that arrives
	// after the receive is posted and fits in buf is copied straight into
	// it (Message.Data is then buf[:n]), sparing an allocation and a copy
	// on the hot path. Otherwise Data is the runtime's own buffer.
	PostInto(src int, ctx uint32, tag int32, buf []byte) *Recv
	// Probe reports the envelope of the earliest message that a receive
	// posted now would match, without receiving it. With block it waits
	// for one; otherwise ok tells whether there was one.
	Probe(src int, ctx uint32, tag int32, block bool) (env Message, ok bool, err error)
	// Cancel withdraws a posted receive that has not matched yet; it then
	// completes with ErrCancelled. It reports whether it did.
	Cancel(r *Recv) bool
	// Abort asks the runtime to end the whole job with code. It does not
	// return unless the request could not be sent.
	Abort(code int, msg string) error
	// Close releases the endpoint. Messages already handed to Send are
	// delivered by the runtime even after the process exits.
	Close() error
}

// Recv is a posted receive.
type Recv struct {
	src  int
	ctx  uint32
	tag  int32
	into []byte
	done chan struct{}
	msg  Message
	err  error
}

func (r *Recv) matches(m *Message) bool {
	return r.ctx == m.Ctx&^SyncCtx && (r.src == AnySource || r.src == m.Src) && (r.tag == AnyTag || r.tag == m.Tag)
}

// Wait blocks until the receive completes.
func (r *Recv) Wait() (Message, error) {
	<-r.done
	return r.msg, r.err
}

// Test reports whether the receive has completed, without blocking.
func (r *Recv) Test() (Message, bool, error) {
	select {
	case <-r.done:
		return r.msg, true, r.err
	default:
		return Message{}, false, nil
	}
}

// Done is closed when the receive completes; for select loops.
func (r *Recv) Done() <-chan struct{} { return r.done }
