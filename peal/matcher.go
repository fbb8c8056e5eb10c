package peal

import "sync"

// Matcher implements MPI matching: an arriving message completes the
// earliest posted receive it matches, else it waits in the unexpected queue;
// a new receive takes the earliest unexpected message it matches, else it is
// posted. It is safe for concurrent use.
type Matcher struct {
	mu         sync.Mutex
	unexpected []Message
	posted     []*Recv
	arrived    *sync.Cond // signalled on every arrival, for blocking Probe
	err        error
}

// NewMatcher returns an empty matcher.
func NewMatcher() *Matcher {
	m := &Matcher{}
	m.arrived = sync.NewCond(&m.mu)
	return m
}

// Deliver hands an arrived message to the matcher. It never blocks.
func (m *Matcher) Deliver(msg Message) {
	m.mu.Lock()
	for i, r := range m.posted {
		if r.matches(&msg) {
			m.posted = append(m.posted[:i], m.posted[i+1:]...)
			m.mu.Unlock()
			r.msg = msg
			close(r.done)
			return
		}
	}
	m.unexpected = append(m.unexpected, msg)
	m.arrived.Broadcast()
	m.mu.Unlock()
}

// DeliverCopy is Deliver for a payload the caller will reuse: it is copied
// into the buffer of the receive it completes when that fits, else into a
// fresh slice.
func (m *Matcher) DeliverCopy(src int, ctx uint32, tag int32, payload []byte) {
	msg := Message{Src: src, Ctx: ctx, Tag: tag}
	m.mu.Lock()
	for i, r := range m.posted {
		if r.matches(&msg) {
			m.posted = append(m.posted[:i], m.posted[i+1:]...)
			m.mu.Unlock()
			if len(payload) <= len(r.into) {
				msg.Data = r.into[:copy(r.into, payload)]
			} else {
				msg.Data = append([]byte(nil), payload...)
			}
			r.msg = msg
			close(r.done)
			return
		}
	}
	msg.Data = append([]byte(nil), payload...)
	m.unexpected = append(m.unexpected, msg)
	m.arrived.Broadcast()
	m.mu.Unlock()
}

// claim removes and returns the earliest posted receive matching the
// envelope, or nil; the caller completes it.
func (m *Matcher) claim(src int, ctx uint32, tag int32) *Recv {
	env := Message{Src: src, Ctx: ctx, Tag: tag}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range m.posted {
		if r.matches(&env) {
			m.posted = append(m.posted[:i], m.posted[i+1:]...)
			return r
		}
	}
	return nil
}

// Post registers a receive.
func (m *Matcher) Post(src int, ctx uint32, tag int32) *Recv { return m.PostInto(src, ctx, tag, nil) }

// PostInto registers a receive with a destination buffer (see Proc).
func (m *Matcher) PostInto(src int, ctx uint32, tag int32, buf []byte) *Recv {
	r := &Recv{src: src, ctx: ctx, tag: tag, into: buf, done: make(chan struct{})}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.unexpected {
		if r.matches(&m.unexpected[i]) {
			r.msg = m.unexpected[i]
			copy(m.unexpected[i:], m.unexpected[i+1:])
			m.unexpected[len(m.unexpected)-1] = Message{}
			m.unexpected = m.unexpected[:len(m.unexpected)-1]
			close(r.done)
			return r
		}
	}
	if m.err != nil {
		r.err = m.err
		close(r.done)
		return r
	}
	m.posted = append(m.posted, r)
	return r
}

// Cancel withdraws a posted receive that has not matched. It reports
// whether the receive was withdrawn (false: it had already completed).
func (m *Matcher) Cancel(r *Recv) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.posted {
		if p == r {
			m.posted = append(m.posted[:i], m.posted[i+1:]...)
			r.err = ErrCancelled
			close(r.done)
			return true
		}
	}
	return false
}

// Probe implements Proc.Probe over the unexpected queue.
func (m *Matcher) Probe(src int, ctx uint32, tag int32, block bool) (Message, bool, error) {
	probe := Recv{src: src, ctx: ctx, tag: tag}
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		for i := range m.unexpected {
			if probe.matches(&m.unexpected[i]) {
				env := m.unexpected[i]
				env.Data = env.Data[:len(env.Data):len(env.Data)]
				return env, true, nil
			}
		}
		if m.err != nil {
			return Message{}, false, m.err
		}
		if !block {
			return Message{}, false, nil
		}
		m.arrived.Wait()
	}
}

// Fail completes every posted receive with err and makes later receives
// that find no queued message fail the same way.
func (m *Matcher) Fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	posted := m.posted
	m.posted = nil
	m.arrived.Broadcast()
	m.mu.Unlock()
	for _, r := range posted {
		r.err = err
		close(r.done)
	}
}

// snapshot copies the unexpected queue, in order, and counts the posted
// receives: what a checkpoint saves and what it must find empty.
func (m *Matcher) snapshot() (queue []Message, posted int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	queue = make([]Message, len(m.unexpected))
	for i, u := range m.unexpected {
		u.Data = append([]byte(nil), u.Data...)
		queue[i] = u
	}
	return queue, len(m.posted)
}
