package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Ticket is a submitter's signed word that a rank of one of its runs is
// hosted at Host. A location object moves between owners as the key
// space changes and is rebuilt from its host after an owner crashes; the
// ticket is what lets a peer that never saw the spawn accept it, so that
// no peer can claim to host a rank and draw its messages.
type Ticket struct {
	Job  string  `json:"job"` // run id
	Rank int     `json:"rank"`
	Host peer.ID `json:"host"`
	// Key is the submitter's public key: not every key type can be
	// recovered from a peer ID.
	Key []byte `json:"key"`
	Sig []byte `json:"sig"`
}

func (t Ticket) signingBytes() []byte {
	t.Sig = nil
	b, _ := json.Marshal(t)
	return b
}

// signTicket issues a ticket for a rank this peer submitted.
func (p *Peer) signTicket(job string, rank int, host peer.ID) (*Ticket, error) {
	key, pub, err := p.selfKey()
	if err != nil {
		return nil, err
	}
	t := &Ticket{Job: job, Rank: rank, Host: host, Key: pub}
	t.Sig, err = key.Sign(t.signingBytes())
	return t, err
}

// verifyTicket checks that t vouches for l: the same rank and host, signed
// by l's submitter.
func verifyTicket(t *Ticket, l Location) error {
	if t == nil {
		return fmt.Errorf("%w: location of %s:%d has no ticket", wire.ErrDenied, l.Job, l.Rank)
	}
	if t.Job != l.Job || t.Rank != l.Rank || t.Host != l.Host {
		return fmt.Errorf("%w: ticket for %s:%d on %s does not match", wire.ErrDenied, l.Job, l.Rank, shortID(l.Host))
	}
	return checkSigned(l.Submitter, t.Key, t.signingBytes(), t.Sig, fmt.Sprintf("ticket for %s:%d", l.Job, l.Rank))
}

// sendTicket gives a placed rank's host and the owner that placed it the
// rank's ticket. The host registers the rank under it with the key's
// owner as it sees it, and again whenever that owner changes; the placing
// owner needs it to hand its object on, or it would keep an object it
// cannot move when the host's view of the owner differs from its own.
// Best effort: without a ticket the rank still runs, only its location
// object cannot follow the key space.
func (j *Job) sendTicket(rid string, rank int, host, owner peer.ID) {
	t, err := j.p.signTicket(rid, rank, host)
	if err != nil {
		j.p.log.Warn("sign ticket", "job", rid, "rank", rank, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(j.p.ctx, 10*time.Second)
	defer cancel()
	if err := j.p.call(ctx, host, "proc.ticket", t, nil); err != nil {
		j.p.log.Debug("send ticket", "job", rid, "rank", rank, "host", shortID(host), "err", err)
	}
	if err := j.p.call(ctx, owner, "loc.ticket", t, nil); err != nil {
		j.p.log.Debug("send ticket to owner", "job", rid, "rank", rank, "owner", shortID(owner), "err", err)
	}
}

// handleLocTicket is the placing owner's side: the object it made at the
// spawn gets its ticket, so it can move.
func (p *Peer) handleLocTicket(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var t Ticket
	if err := decodeBody(body, &t); err != nil {
		return nil, err
	}
	if err := p.locs.attach(&t, from); err != nil {
		return nil, err
	}
	p.locs.poke()
	return nil, nil
}

// handleTicket is the host's side: keep the ticket with the process and
// register the rank with its owner under it.
func (p *Peer) handleTicket(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var t Ticket
	if err := decodeBody(body, &t); err != nil {
		return nil, err
	}
	pr := p.procs.get(t.Job, t.Rank)
	if pr == nil {
		return nil, fmt.Errorf("%w: rank %s:%d is not hosted here", wire.ErrNotFound, t.Job, t.Rank)
	}
	if from != pr.submitter {
		return nil, fmt.Errorf("%w: ticket from a peer that did not submit the job", wire.ErrDenied)
	}
	if err := verifyTicket(&t, pr.location(p.h.ID())); err != nil {
		return nil, err
	}
	pr.mu.Lock()
	pr.ticket = &t
	pr.mu.Unlock()
	p.locs.poke()
	return nil, nil
}
