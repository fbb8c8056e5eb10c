package dvm

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Chain replication on the network: the uploader's put, and a holder's
// store-and-forward (chain.go has the wire form, the checks and the
// choice of holders).

// chainHopTimeout bounds a holder's forward to the rest of its chain. It
// is shorter than the idle deadline of the stream it was asked on
// (rpcIdle), so the holder still answers its sender when the next
// holder hangs, and the sender learns which holders stored the block.
const chainHopTimeout = rpcIdle * 2 / 3

// Put stores a block on BlockReplicas peers of its window (pickHolders
// says which), along a chain: the uploader sends it once, to the closest
// holder, which stores it and passes it on. It returns once all of them
// (every peer, in a DVM smaller than that) hold it: a holder that is
// down or refuses is replaced by another peer of the window, and the
// rest of the chain is sent again from here, so a put acknowledges
// exactly as many copies as a put that sent every copy itself.
//
// stored must be the stored form of content that hashes to id, as
// PutFile makes it: this peer's own copy is written as it is (every read
// verifies it), while every other holder checks it before it stores or
// forwards it.
func (s dhtStore) Put(id storage.ID, stored []byte) error {
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	cands, err := s.p.candidates(ctx, id)
	if err != nil {
		return err
	}
	k := s.p.cfg.BlockReplicas
	pl := newChainPlan(s.p.load.order(id, cands, k, s.p.cfg.BlockWindow, time.Now()), k)
	for chain := pl.next(); len(chain) > 0; chain = pl.next() {
		s.p.load.add(chain, len(stored), time.Now())
		r := s.p.sendChain(ctx, id, stored, chain)
		if len(r.Failed) > 0 || len(r.Stored) == 0 {
			s.p.whole.forget() // the next placement asks the DHT
		}
		pl.record(chain, r)
	}
	if !pl.done() {
		return pl.err(id)
	}
	s.p.load.remember(id, pl.held)
	return nil
}

// sendChain stores a block along chain and says which holders stored
// it. If this peer is one of them it keeps its copy and sends the block
// to the others, wherever it stands in the chain: a holder refuses a
// list of next holders that leads back to its sender.
func (p *Peer) sendChain(ctx context.Context, id storage.ID, stored []byte, chain []peer.ID) chainResult {
	if i := slices.Index(chain, p.h.ID()); i >= 0 {
		return p.storeAndForward(ctx, id, stored, slices.Delete(slices.Clone(chain), i, i+1))
	}
	return p.forward(ctx, chain[0], chain[1:], id, stored)
}

// storeAndForward stores a checked block here and forwards it to the
// next holders at the same time: the forward does not wait for this
// peer's fsync.
func (p *Peer) storeAndForward(ctx context.Context, id storage.ID, stored []byte, next []peer.ID) chainResult {
	var down chainResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		if len(next) > 0 {
			down = p.forward(ctx, next[0], next[1:], id, stored)
		}
	}()
	err := p.blocks.PutVerified(id, stored)
	<-done
	var r chainResult
	if err != nil {
		r.Failed = append(r.Failed, chainFailure{Peer: p.h.ID(), Err: blockErr(err)})
	} else {
		r.Stored = append(r.Stored, p.h.ID())
	}
	r.Stored = append(r.Stored, down.Stored...)
	r.Failed = append(r.Failed, down.Failed...)
	return r
}

// forward sends a block to one holder with the holders after it, and
// returns what that holder says of itself and of them. A holder that
// cannot be reached, refuses or answers nonsense has failed; the ones
// after it were not reached.
func (p *Peer) forward(ctx context.Context, to peer.ID, rest []peer.ID, id storage.ID, stored []byte) chainResult {
	body, err := p.blockCall(ctx, to, wire.TypeBlockChain, appendChainHeader(nil, id, rest), stored)
	var rep chainReply
	if err == nil {
		err = json.Unmarshal(body, &rep)
	}
	if err != nil {
		p.log.Debug("block forward failed", "peer", to, "block", id.String(), "err", err)
		return chainResult{Failed: []chainFailure{{Peer: to, Err: err}}}
	}
	return rep.result(append([]peer.ID{to}, rest...))
}

// serveChain answers a forward request from a peer. The request is
// checked whole before anything happens: the list of next holders
// (checkNext) and the block against its ID. A request that fails is
// refused; nothing is stored and nothing forwarded.
func (p *Peer) serveChain(from peer.ID, body []byte) wire.Reply {
	k := p.cfg.BlockReplicas
	req, err := decodeChainReq(body, k-1)
	if err == nil {
		err = checkNext(p.h.ID(), from, req.Next, k)
	}
	if err == nil {
		if _, err = storage.Decode(req.ID, req.Stored); err != nil {
			err = blockErr(err)
		}
	}
	if err != nil {
		p.log.Debug("forward request refused", "peer", from, "err", err)
		return errReply(err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, chainHopTimeout)
	defer cancel()
	var reply wire.Reply
	reply.Body, _ = json.Marshal(p.storeAndForward(ctx, req.ID, req.Stored, req.Next).reply())
	return reply
}
