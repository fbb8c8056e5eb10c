package dvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// The block store on the DHT (CFS-like): a block lives on BlockReplicas
// of the BlockWindow peers closest to its ID (its window), found with the
// DHT's closest-peers lookup; placement.go says which. Blocks are
// self-certifying, so a peer verifies every block it stores or receives;
// a bad copy is never kept, never returned, and is replaced from a good
// one.

const protoBlock = protocol.ID(ProtocolPrefix + "/block/1.0.0")

// maxBlockFrame bounds a block frame: an ID, the list of next holders of
// a forward request, and the stored form of the largest block, which is
// never more than its content plus a header.
const maxBlockFrame = 32 + maxChainHeader + storage.MaxBlock + 64

// Blocks is the DHT-placed block store of the DVM this peer belongs to.
func (p *Peer) Blocks() storage.BlockStore { return dhtStore{p} }

type dhtStore struct{ p *Peer }

// window returns the peers that may hold id, closest first.
func (p *Peer) window(ctx context.Context, id storage.ID) ([]peer.ID, error) {
	cands, err := p.candidates(ctx, id)
	if err != nil {
		return nil, err
	}
	return cands[:min(len(cands), p.cfg.BlockWindow)], nil
}

// candidates returns the peers closest to id that the DHT's lookup finds,
// this peer included, closest first: more than BlockWindow, so that
// puts and repair can pass over peers that no longer answer.
//
// In a DVM small enough that a lookup reaches every peer, the last
// lookup's answer stands in for this one (wholeView).
func (p *Peer) candidates(ctx context.Context, id storage.ID) ([]peer.ID, error) {
	table := p.dht.RoutingTable().Size()
	if all, ok := p.whole.get(time.Now(), table); ok {
		return byDistance(id[:], append(all, p.h.ID())), nil
	}
	cands := []peer.ID{p.h.ID()}
	if table > 0 {
		found, err := p.dht.GetClosestPeers(ctx, string(id[:]))
		if err != nil && len(found) == 0 {
			return nil, fmt.Errorf("dvm: block lookup: %w", err)
		}
		if err == nil {
			p.whole.learn(found, table, time.Now().Add(p.cfg.OwnerCacheTTL))
		}
		cands = append(cands, found...)
	}
	return byDistance(id[:], cands), nil
}

// Get returns a block's content from the closest peer of its window
// that has a good copy; a peer found with a bad copy on the way gets the
// good one. A peer that lacks the block is not given one: it need not
// hold it (the copies are on k of the window), and repair keeps the
// count at k.
//
// It asks the peers its own routing table places closest to the block
// first, without a network lookup: in a DVM of up to a few hundred peers
// the table holds them all, and a block is self-certifying, so whoever
// serves it cannot mislead the reader. Only if none of them has it does
// it ask the DHT which peers are closest, and then asks all it finds: a
// put that had to pass over failed holders may have gone beyond the
// window, until repair brings the block back into it.
//
// A copy held here is read first, whatever its place in the window: it
// costs no network transfer and one hash, and a bad one is deleted by
// the read, so the peers asked next put a good one back.
func (s dhtStore) Get(id storage.ID) ([]byte, error) {
	// A copy here found bad was deleted by the read: this peer held the
	// block, so it gets the good copy back like any other bad holder.
	var bad []peer.ID
	if s.p.blocks.Has(id) {
		_, content, err := s.p.blocks.Read(id)
		if err == nil {
			return content, nil
		}
		if errors.Is(err, storage.ErrCorrupt) {
			bad = append(bad, s.p.h.ID())
		}
	}
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	known := s.p.nearestKnown(id)
	content, err := s.p.getFrom(ctx, id, known, bad)
	if err == nil {
		return content, nil
	}
	peers, lerr := s.p.candidates(ctx, id)
	if lerr != nil {
		return nil, errors.Join(err, lerr)
	}
	if slices.Equal(peers, known) {
		return nil, err
	}
	return s.p.getFrom(ctx, id, peers, bad)
}

// nearestKnown is the BlockWindow peers closest to id among this peer
// and its routing table.
func (p *Peer) nearestKnown(id storage.ID) []peer.ID {
	cands := append(p.dht.RoutingTable().NearestPeers(kb.ConvertKey(string(id[:])), p.cfg.BlockWindow), p.h.ID())
	cands = byDistance(id[:], cands)
	return cands[:min(len(cands), p.cfg.BlockWindow)]
}

// getFrom reads a block from the first of peers with a good copy and
// gives that copy to the peers before it whose copy was bad, and to bad.
func (p *Peer) getFrom(ctx context.Context, id storage.ID, peers, bad []peer.ID) ([]byte, error) {
	var errs []error
	bad = slices.Clone(bad)
	for _, from := range peers {
		var stored, content []byte
		var err error
		if from == p.h.ID() {
			// Verified by the read: no second hash.
			stored, content, err = p.blocks.Read(id)
		} else if stored, err = p.getBlock(ctx, from, id); err == nil {
			content, err = storage.Decode(id, stored)
			if err != nil { // a peer sent bytes that are not the block
				p.log.Warn("bad block from peer", "peer", from, "block", id.String(), "err", err)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", shortID(from), err))
			// A peer's own read found its copy corrupt (its error comes
			// back as a bad request), or it sent a corrupt one.
			if (errors.Is(err, storage.ErrCorrupt) || errors.Is(err, wire.ErrBadRequest)) && !slices.Contains(bad, from) {
				bad = append(bad, from)
			}
			continue
		}
		for _, to := range bad {
			if err := p.putBlock(ctx, to, id, stored); err != nil {
				p.log.Debug("block repair failed", "peer", to, "block", id.String(), "err", err)
			}
		}
		return content, nil
	}
	return nil, fmt.Errorf("dvm: block %s: no replica has it: %w", id, errors.Join(errs...))
}

// putBlock stores a block on one peer; this peer stores it directly.
func (p *Peer) putBlock(ctx context.Context, to peer.ID, id storage.ID, stored []byte) error {
	if to == p.h.ID() {
		return p.blocks.Put(id, stored)
	}
	_, err := p.blockCall(ctx, to, wire.TypeBlockPut, id[:], stored)
	return err
}

// getBlock fetches a block's stored form from one peer.
func (p *Peer) getBlock(ctx context.Context, from peer.ID, id storage.ID) ([]byte, error) {
	if from == p.h.ID() {
		return p.blocks.GetStored(id)
	}
	return p.blockCall(ctx, from, wire.TypeBlockGet, id[:])
}

// blockCall sends one block request, a frame whose body is parts in
// order: the block's ID and, for a put, the block itself, written after
// the ID rather than copied behind it.
func (p *Peer) blockCall(ctx context.Context, to peer.ID, typ byte, parts ...[]byte) ([]byte, error) {
	s, err := p.h.NewStream(ctx, to, protoBlock)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrUnavailable, err)
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	p.noteBulk(n)
	_, err = s.Write(wire.AppendFrameHeader(nil, typ, n))
	for _, b := range parts {
		if err == nil && len(b) > 0 {
			_, err = s.Write(b)
		}
	}
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("%w: %v", wire.ErrUnavailable, err)
	}
	_ = s.CloseWrite()
	// The reply's buffer is the caller's, who may recycle it: no copy.
	rtyp, rbody, err := wire.ReadFrame(s, maxBlockFrame, storage.Buf)
	switch {
	case err != nil:
		_ = s.Reset()
		return nil, fmt.Errorf("%w: no reply: %v", wire.ErrUnavailable, err)
	case rtyp == wire.TypeBlockData && typ == wire.TypeBlockGet:
		p.noteBulk(len(rbody))
		return rbody, nil
	case rtyp != wire.TypeReply:
		return nil, fmt.Errorf("%w: block reply frame type %d", wire.ErrMalformed, rtyp)
	}
	var reply wire.Reply
	if err := wire.DecodeJSON(rbody, &reply); err != nil {
		return nil, err
	}
	return reply.Body, reply.Err()
}

// hasBlock asks one peer for the stored size of a block it holds.
func (p *Peer) hasBlock(ctx context.Context, at peer.ID, id storage.ID) (int64, error) {
	if at == p.h.ID() {
		return p.blocks.StoredSize(id)
	}
	body, err := p.blockCall(ctx, at, wire.TypeBlockHas, id[:])
	if err != nil {
		return 0, err
	}
	var n int64
	if err := json.Unmarshal(body, &n); err != nil {
		return 0, fmt.Errorf("%w: has reply: %v", wire.ErrMalformed, err)
	}
	return n, nil
}

// serveBlock answers one block request. Everything a remote peer sends is
// checked: the frame size is capped, and a block is stored only if it
// decodes to content with the ID it claims.
func (p *Peer) serveBlock(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(rpcIdle))
	// A block put arrives in a buffer from the block pool, recycled once
	// it is stored: every handler below is done with the body when it
	// returns.
	typ, body, err := wire.ReadFrame(s, maxBlockFrame, storage.Buf)
	if err != nil {
		_ = s.Reset()
		return
	}
	defer storage.Recycle(body)
	if len(body) < 32 && typ != wire.TypeLeases {
		_ = s.Reset()
		return
	}
	var id storage.ID
	copy(id[:], body)
	var reply wire.Reply
	switch typ {
	case wire.TypeBlockPut:
		p.noteBulk(len(body))
		if err := p.blocks.Put(id, body[32:]); err != nil {
			reply = errReply(blockErr(err))
		}
	case wire.TypeBlockChain:
		p.noteBulk(len(body))
		reply = p.serveChain(s.Conn().RemotePeer(), body)
	case wire.TypeBlockHas:
		n, err := p.blocks.StoredSize(id)
		if err != nil {
			reply = errReply(blockErr(err))
		} else {
			reply.Body, _ = json.Marshal(n)
		}
	case wire.TypeBlockGet:
		stored, err := p.blocks.GetStored(id)
		if err == nil {
			p.noteBulk(len(stored))
			_ = wire.WriteFrame(s, wire.TypeBlockData, stored)
			storage.Recycle(stored) // a Writer does not keep what it is given
			return
		}
		reply = errReply(blockErr(err))
	case wire.TypeLeases:
		until, ids, err := decodeLease(body)
		if err == nil {
			var n int
			n, err = p.acceptLeases(ids, until)
			reply.Body, _ = json.Marshal(n)
		}
		if err != nil {
			reply = errReply(err)
		}
	default:
		reply = errReply(fmt.Errorf("%w: block frame type %d", wire.ErrBadRequest, typ))
	}
	out, _ := json.Marshal(reply)
	_ = wire.WriteFrame(s, wire.TypeReply, out)
}

// blockErr gives storage errors their wire codes.
func blockErr(err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%w: %v", wire.ErrNotFound, err)
	case errors.Is(err, storage.ErrFull):
		return fmt.Errorf("%w: %v", wire.ErrUnavailable, err)
	case errors.Is(err, storage.ErrCorrupt):
		return fmt.Errorf("%w: %v", wire.ErrBadRequest, err)
	}
	return err
}
