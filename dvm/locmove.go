package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Location objects follow the key space. Three things move them:
//   - an owner that sees a peer closer to a key than itself hands the
//     object over (a peer joined);
//   - a peer that leaves hands everything it owns to the next-closest;
//   - a host whose rank's owner is gone (crashed) registers the rank with
//     the key's new owner, which rebuilds the object from the host's copy.
// All three run in one loop per peer, woken by connection events and a
// ticker; the decisions are pure (handoff.go).

type locsReq struct {
	Locs []Location `json:"locs"`
}

// maxHandoff bounds the objects in one hand-off request.
const maxHandoff = 4096

// runLocUpkeep is the loop: every LocCheckInterval, and at once when a
// peer connects or disconnects or a ticket arrives.
func (p *Peer) runLocUpkeep() {
	n := &network.NotifyBundle{
		ConnectedF:    func(network.Network, network.Conn) { p.locs.poke() },
		DisconnectedF: func(network.Network, network.Conn) { p.locs.poke() },
	}
	p.h.Network().Notify(n)
	defer p.h.Network().StopNotify(n)
	t := time.NewTicker(p.cfg.LocCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		case <-p.locs.wake:
		}
		p.locs.expire(time.Now())
		p.keys.sweep(time.Now())
		p.handOffLocs(false)
		p.verifyOwnership()
		p.registerRanks()
	}
}

// handOffLocs gives the objects that belong elsewhere to their owners.
// Leaving, it gives away everything, bounded in time: a departure must
// not hang on an unreachable peer (hosts re-register what is lost).
func (p *Peer) handOffLocs(leaving bool) {
	held := p.locs.list()
	if len(held) == 0 {
		return
	}
	plan := planHandoff(p.h.ID(), p.livePeers(), held, leaving)
	if len(plan) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for to, ls := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(ls) > 0 {
				n := min(len(ls), maxHandoff)
				if err := p.call(ctx, to, "loc.handoff", locsReq{Locs: ls[:n]}, nil); err != nil {
					p.log.Debug("hand off location objects", "to", shortID(to), "n", n, "err", err)
					return
				}
				p.locs.moveOut(to, ls[:n])
				p.log.Debug("handed off location objects", "to", shortID(to), "n", n)
				ls = ls[n:]
			}
		}()
	}
	wg.Wait()
}

// verifyEvery is how often an owner checks each object it keeps against
// a DHT lookup. Its routing table knows the peers near its own ID, not
// every peer near every key: a joiner it has not met yet, or a gap left
// by a leaver that handed it objects from a partial view, shows only in a
// lookup. One lookup per object every few seconds costs little: a peer
// owns about (ranks in the DVM)/(peers) objects.
const verifyEvery = 5 * time.Second

// verifyOwnership hands an object to the owner a fresh lookup finds, if
// that peer is closer to the key than this one.
func (p *Peer) verifyOwnership() {
	self := p.h.ID()
	for _, l := range p.locs.dueForCheck(time.Now(), verifyEvery) {
		if l.Ticket == nil {
			continue
		}
		key := RankKey(l.Job, l.Rank)
		p.forgetOwner(key)
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		owner, err := p.ownerOf(ctx, key)
		if err == nil && owner != self && closest(key, []peer.ID{self, owner}) == owner {
			if err = p.call(ctx, owner, "loc.handoff", locsReq{Locs: []Location{l}}, nil); err == nil {
				p.locs.moveOut(owner, []Location{l})
				p.log.Debug("handed off a location object after a lookup", "job", l.Job, "rank", l.Rank, "to", shortID(owner))
			}
		}
		cancel()
	}
}

// handleLocHandoff adopts objects another owner hands over. Each must
// carry its submitter's ticket; others are skipped, not fatal to the rest.
func (p *Peer) handleLocHandoff(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req locsReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if len(req.Locs) > maxHandoff {
		return nil, fmt.Errorf("%w: %d objects in one hand-off", wire.ErrBadRequest, len(req.Locs))
	}
	return nil, p.adopting(func() error {
		for _, l := range req.Locs {
			if err := verifyTicket(l.Ticket, l); err != nil {
				p.log.Warn("refused a handed-off location object", "peer", shortID(from), "err", err)
				continue
			}
			if got, ok := p.locs.adopt(l); ok {
				p.goFunc(func() { p.tellHost(got) })
			}
		}
		return nil
	})
}

type movedReq struct {
	Job     string `json:"job"`
	Rank    int    `json:"rank"`
	Version uint64 `json:"version"`
}

// tellHost lets a rank's host know its location object is here now, so
// that it notices when this peer goes away and registers the rank anew.
func (p *Peer) tellHost(l Location) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := p.call(ctx, l.Host, "loc.moved", movedReq{Job: l.Job, Rank: l.Rank, Version: l.Version}, nil); err != nil {
		p.log.Debug("tell host of moved location object", "job", l.Job, "rank", l.Rank, "err", err)
	}
}

// handleLocMoved is the host's side: the sender now owns the rank's
// object. A newer version only: notices can cross on the way.
func (p *Peer) handleLocMoved(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req movedReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	pr := p.procs.get(req.Job, req.Rank)
	if pr == nil {
		return nil, fmt.Errorf("%w: rank %s:%d is not hosted here", wire.ErrGone, req.Job, req.Rank)
	}
	pr.mu.Lock()
	if req.Version > pr.regVer {
		pr.regAt, pr.regVer = from, req.Version
	}
	pr.mu.Unlock()
	return nil, nil
}

type registerReq struct {
	Loc Location `json:"loc"`
}

// handleLocRegister is a host registering its rank, after the ticket came
// or after the rank's owner changed. Only the host itself may.
func (p *Peer) handleLocRegister(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req registerReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	l := req.Loc
	if l.Host != from {
		return nil, fmt.Errorf("%w: a peer may register only ranks it hosts", wire.ErrDenied)
	}
	if err := verifyTicket(l.Ticket, l); err != nil {
		return nil, err
	}
	var got Location
	err := p.adopting(func() error {
		var ok bool
		if got, ok = p.locs.adopt(l); !ok {
			return fmt.Errorf("%w: job %s has ended", wire.ErrGone, l.Job)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

// registerRanks registers each rank hosted here that has a ticket with
// its key's current owner, if it is not registered there already, and
// every verifyEvery anyway: an owner that took the object over and
// crashed before telling the host leaves the host registered with a live
// peer that no longer holds it. A registration where the object is
// already held changes nothing. The local view (routing table) says when
// to look early; the DHT lookup decides where.
func (p *Peer) registerRanks() {
	live := p.livePeers()
	now := time.Now()
	for _, pr := range p.procs.jobProcs("") {
		pr.mu.Lock()
		has, regAt, due := pr.ticket != nil, pr.regAt, now.Sub(pr.regCheck) >= verifyEvery
		pr.mu.Unlock()
		if !has {
			continue
		}
		key := RankKey(pr.job, pr.rank)
		regLive := regAt == p.h.ID() || p.h.Network().Connectedness(regAt) == network.Connected
		if !due && !needsRegister(has, regAt, closest(key, live), regLive) {
			continue
		}
		if !regLive {
			p.forgetOwner(key)
		}
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		owner, err := p.ownerOf(ctx, key)
		if err == nil && !due && !needsRegister(has, regAt, owner, regLive) {
			cancel()
			continue
		}
		var got Location
		if err == nil {
			err = p.call(ctx, owner, "loc.register", registerReq{Loc: pr.location(p.h.ID())}, &got)
		}
		cancel()
		if err != nil {
			p.forgetOwner(key)
			p.log.Debug("register rank", "job", pr.job, "rank", pr.rank, "err", err)
			continue
		}
		pr.mu.Lock()
		pr.regAt, pr.regVer, pr.regCheck = owner, got.Version, now
		pr.mu.Unlock()
		p.log.Debug("registered rank", "job", pr.job, "rank", pr.rank, "owner", shortID(owner), "version", got.Version)
	}
}
