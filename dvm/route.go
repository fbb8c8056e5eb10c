package dvm

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/floc"
	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// A rank's message leaves its host one of three ways:
//   - local: the destination runs here (0 peer hops);
//   - by a Floc shortcut: straight to the destination's host on an acked
//     data stream (1 hop);
//   - routed by key: to the owner of the destination's location object,
//     which delivers it to the host and answers with the location (2 hops,
//     1 when the owner is one of the two hosts). The call returns only
//     once the host has the message, so a routed message is acknowledged
//     end to end and retried until it is; the receiving rank drops the
//     copies a retry may make (per-pair sequence numbers).
// Routed messages wait in a queue per (job, src, dst), drained by one
// goroutine at a time, so a slow route to one rank does not hold up the
// others and the sending rank does not wait for each round trip.

// Queue bounds: past them the sending rank waits (its socket fills).
const (
	maxQueueMsgs  = 4096
	maxQueueBytes = 16 << 20
)

type queueKey struct {
	job      string
	src, dst int
}

type routeQueue struct {
	mu      sync.Mutex
	space   *sync.Cond
	msgs    []queued
	bytes   int
	running bool
}

type queued struct {
	m    wire.Msg // owns its payload
	want bool     // Floc asked for the location this reply carries
}

// routeReply is the owner's answer: where the rank lives, and how many
// hops the owner's part of the delivery took.
type routeReply struct {
	Location
	Hops  int  `json:"hops"`
	Moved bool `json:"moved,omitempty"` // served from a forwarding pointer
}

// send takes one message from a local rank. Its payload aliases the
// reader's buffer: what is kept is copied.
func (o *outbound) send(pr *proc, m *wire.Msg) error {
	if o.p.procs.deliver(m) {
		o.stats.local.Add(1)
		return nil
	}
	d := floc.Dest{Job: m.Job, Rank: int(m.Dst)}
	sc, ok, want := o.floc.Next(d, len(m.Payload))
	if ok {
		err := o.forward(sc.Host, m)
		if err == nil {
			o.stats.shortcut.Add(1)
			o.stats.hops.Add(1)
			pr.viaShortcut.Add(1)
			return nil
		}
		o.p.log.Debug("shortcut failed, routing", "job", m.Job, "dst", m.Dst, "host", shortID(sc.Host), "err", err)
		o.unprotect(o.floc.Invalidate(d))
		want = true
	}
	return o.enqueue(m, want)
}

// enqueue copies m into its queue and starts the queue's goroutine.
func (o *outbound) enqueue(m *wire.Msg, want bool) error {
	k := queueKey{m.Job, int(m.Src), int(m.Dst)}
	o.mu.Lock()
	q, ok := o.queues[k]
	if !ok {
		q = &routeQueue{}
		q.space = sync.NewCond(&q.mu)
		o.queues[k] = q
	}
	o.mu.Unlock()
	c := *m
	c.Payload = append([]byte(nil), m.Payload...)
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.msgs) >= maxQueueMsgs || q.bytes+len(c.Payload) > maxQueueBytes && len(q.msgs) > 0 {
		if o.p.ctx.Err() != nil {
			return o.p.ctx.Err()
		}
		q.space.Wait()
	}
	q.msgs = append(q.msgs, queued{m: c, want: want})
	q.bytes += len(c.Payload)
	if !q.running {
		q.running = true
		o.p.goFunc(func() { o.drain(k, q) })
	}
	return nil
}

// drain routes a queue's messages in order until it is empty.
func (o *outbound) drain(k queueKey, q *routeQueue) {
	for {
		q.mu.Lock()
		if len(q.msgs) == 0 || o.p.ctx.Err() != nil {
			q.running = false
			q.msgs, q.bytes = nil, 0
			q.space.Broadcast()
			q.mu.Unlock()
			return
		}
		it := q.msgs[0]
		q.mu.Unlock()

		// A shortcut installed while this message waited carries it now:
		// routing the backlog one round trip at a time would hold up
		// everything sent after it, which the receiver delivers in order.
		// Only a message sent routed to revalidate a stale shortcut still
		// goes through the owner.
		d := floc.Dest{Job: k.job, Rank: k.dst}
		if sc, ok := o.floc.Peek(d); ok && !(it.want && o.dueRefresh(sc)) && o.forward(sc.Host, &it.m) == nil {
			o.stats.shortcut.Add(1)
			o.stats.hops.Add(1)
			o.popQueued(q, &it, nil)
			if pr := o.p.procs.get(k.job, k.src); pr != nil {
				pr.viaShortcut.Add(1)
			}
			continue
		}
		rep, err := o.route(o.p.ctx, &it.m)

		o.popQueued(q, &it, err)
		if err != nil {
			if o.p.ctx.Err() != nil {
				return // the peer is closing: nothing is lost that anyone waits for
			}
			o.p.log.Error("message lost", "job", k.job, "rank", k.src, "dst", k.dst, "err", err)
			if pr := o.p.procs.get(k.job, k.src); pr != nil {
				o.p.abortJob(pr, 1, fmt.Sprintf("rank %d could not send to rank %d: %v", k.src, k.dst, err))
			}
			continue
		}
		if rep.Host == "" {
			continue // the job is over
		}
		o.stats.routed.Add(1)
		o.stats.hops.Add(uint64(rep.Hops))
		pr := o.p.procs.get(k.job, k.src)
		if pr != nil {
			pr.viaRoute.Add(1)
		}
		o.learned(pr, d, rep.Location)
	}
}

// dueRefresh says whether sc is old enough that Floc wants it revalidated.
func (o *outbound) dueRefresh(sc floc.Shortcut) bool {
	r := o.p.cfg.Floc.Refresh
	return r > 0 && time.Since(sc.Validated) >= r
}

// popQueued removes the message drain just sent from the head of q; after
// an error it drops the rest too (the job is being aborted).
func (o *outbound) popQueued(q *routeQueue, it *queued, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs[0] = queued{}
	q.msgs = q.msgs[1:]
	q.bytes -= len(it.m.Payload)
	if err != nil {
		q.msgs, q.bytes = nil, 0
	}
	q.space.Broadcast()
}

// learned gives Floc the location a routed reply carried. Once the
// destination has a shortcut, the sending rank also learns where the
// destination listens, so it can connect to it directly.
func (o *outbound) learned(pr *proc, d floc.Dest, loc Location) {
	added, removed := o.floc.Learned(d, loc.Host, loc.Version)
	if added != "" && added != o.p.h.ID() {
		o.p.h.ConnManager().Protect(added, flocTag)
	}
	o.unprotect(removed)
	if pr == nil || len(loc.Addrs) == 0 {
		return
	}
	if _, ok := o.floc.Peek(d); !ok {
		return
	}
	if pr.markLocated(d.Rank) {
		pr.locate(wire.Locate{Dst: d.Rank, Addrs: loc.Addrs})
	}
}

const flocTag = "p2pdvm-floc"

func (o *outbound) unprotect(hosts []peer.ID) {
	for _, h := range hosts {
		o.p.h.ConnManager().Unprotect(h, flocTag)
	}
}

// route delivers m through the owner of its destination's key, retrying
// while the owner is being looked up again or the object is on its way
// to a new owner. It returns the owner's reply with Hops counted from
// this peer; a zero reply means the job is over and nobody is left to
// receive m.
func (o *outbound) route(ctx context.Context, m *wire.Msg) (routeReply, error) {
	key := RankKey(m.Job, int(m.Dst))
	mk := o.p.keys.get(m.Job)
	if mk == nil {
		return routeReply{}, fmt.Errorf("dvm: route %s:%d->%d: no message key: no rank of the run is hosted here", m.Job, m.Src, m.Dst)
	}
	body := m.AppendFrame(nil, wire.TypeData)[wire.HeaderLen:]
	req := routeReq{Msg: body, MAC: msgMAC(mk, body)}
	start := time.Now()
	deadline := start.Add(o.p.cfg.RouteTimeout)
	backoff := 5 * time.Millisecond
	var tries routeTries
	for {
		owner, err := o.p.ownerOf(ctx, key)
		var rep routeReply
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = o.p.call(cctx, owner, "rank.route", req, &rep)
			cancel()
		}
		if err == nil {
			if owner != o.p.h.ID() {
				rep.Hops++
			}
			if rep.Moved {
				// Our owner is out of date; the next message looks it up.
				o.p.forgetOwner(key)
			}
			return rep, nil
		}
		if errors.Is(err, wire.ErrGone) || o.p.procs.isKilled(m.Job) {
			return routeReply{}, nil
		}
		// Not found: the spawn has not reached the owner yet, or the owner
		// changed and the object is still on its way. Unavailable: the
		// owner left or crashed, or the host did not take the message.
		// Look the owner up again after a pause; the receiver drops any
		// copy a retry makes.
		o.p.forgetOwner(key)
		o.stats.retries.Add(1)
		tries.note(owner, err)
		if !errors.Is(err, wire.ErrNotFound) && !errors.Is(err, wire.ErrUnavailable) || time.Now().After(deadline) {
			return routeReply{}, fmt.Errorf("dvm: route %s:%d->%d: %w (%s in %v)", m.Job, m.Src, m.Dst, err, &tries, time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return routeReply{}, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// routeTries sums up a message's failed attempts by owner and error
// kind, for the error that reports it lost: which peers the sender
// believed owned the key, and what each said.
type routeTries struct {
	n     int
	order []string
	count map[string]int
}

func (t *routeTries) note(owner peer.ID, err error) {
	kind := "other"
	switch {
	case errors.Is(err, wire.ErrNotFound):
		kind = "not found"
	case errors.Is(err, wire.ErrUnavailable):
		kind = "unavailable"
	}
	k := shortID(owner) + " " + kind
	if owner == "" {
		k = "no owner: " + kind
	}
	if t.count == nil {
		t.count = map[string]int{}
	}
	if t.count[k] == 0 {
		t.order = append(t.order, k)
	}
	t.count[k]++
	t.n++
}

func (t *routeTries) String() string {
	parts := make([]string, len(t.order))
	for i, k := range t.order {
		parts[i] = fmt.Sprintf("%s x%d", k, t.count[k])
	}
	return fmt.Sprintf("%d tries: %s", t.n, strings.Join(parts, ", "))
}

type routeReq struct {
	Msg []byte `json:"msg"` // a wire.Msg body
	MAC []byte `json:"mac"` // msgMAC of Msg under the job's message key
}

// decodeRouted reads a routeReq and the message in it, from a peer.
func decodeRouted(body json.RawMessage) (routeReq, wire.Msg, error) {
	var req routeReq
	if err := decodeBody(body, &req); err != nil {
		return req, wire.Msg{}, err
	}
	m, err := wire.DecodeMsg(req.Msg)
	if err != nil {
		return req, m, fmt.Errorf("%w: %v", wire.ErrBadRequest, err)
	}
	return req, m, nil
}

// handleRoute is the owner's side of routing by key: deliver the message
// to the rank's host, then tell the sender where the rank lives.
func (p *Peer) handleRoute(ctx context.Context, _ peer.ID, body json.RawMessage) (any, error) {
	req, m, err := decodeRouted(body)
	if err != nil {
		return nil, err
	}
	loc, moved, ok := p.locs.lookup(m.Job, int(m.Dst))
	if !ok && p.locs.isEnded(m.Job) {
		return nil, fmt.Errorf("%w: job %s has ended", wire.ErrGone, m.Job)
	}
	if !ok {
		return nil, fmt.Errorf("%w: no location object for %s:%d here", wire.ErrNotFound, m.Job, m.Dst)
	}
	rep := routeReply{Location: loc, Moved: moved}
	rep.Ticket = nil // the sender has no use for it
	if loc.Host == p.h.ID() {
		if err := p.deliverRouted(req, &m); err != nil {
			return nil, err
		}
	} else {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := p.call(cctx, loc.Host, "rank.deliver", req, nil)
		cancel()
		if err != nil {
			return nil, err
		}
		rep.Hops = 1
	}
	p.out.stats.forwarded.Add(1)
	return rep, nil
}

// handleDeliver is the host's side of a routed message: it answers once
// the rank's process has the message (or is gone for good).
func (p *Peer) handleDeliver(_ context.Context, _ peer.ID, body json.RawMessage) (any, error) {
	req, m, err := decodeRouted(body)
	if err != nil {
		return nil, err
	}
	return nil, p.deliverRouted(req, &m)
}

// deliverRouted delivers a routed message once its MAC shows that a host
// of the job sent it.
func (p *Peer) deliverRouted(req routeReq, m *wire.Msg) error {
	key := p.keys.get(m.Job)
	if key == nil {
		return fmt.Errorf("%w: rank %s:%d is not running here", wire.ErrGone, m.Job, m.Dst)
	}
	if !hmac.Equal(msgMAC(key, req.Msg), req.MAC) {
		p.log.Warn("routed message with a bad MAC", "job", m.Job, "rank", m.Dst)
		return fmt.Errorf("%w: message for %s:%d is not from a host of the job", wire.ErrDenied, m.Job, m.Dst)
	}
	return p.deliverHere(m)
}

func (p *Peer) deliverHere(m *wire.Msg) error {
	if p.procs.deliver(m) {
		return nil
	}
	// The rank ended (or the job did): a message for it has nobody to go
	// to, and the sender must not retry.
	return fmt.Errorf("%w: rank %s:%d is not running here", wire.ErrGone, m.Job, m.Dst)
}
