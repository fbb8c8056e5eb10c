package dvm

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// The block store on the DHT (CFS-like): a block lives on the
// BlockReplicas peers closest to its ID, found with the DHT's
// closest-peers lookup. Blocks are self-certifying, so a peer verifies
// every block it stores or receives; a bad copy is never kept, never
// returned, and is replaced from a good one.

const protoBlock = protocol.ID(ProtocolPrefix + "/block/1.0.0")

// maxBlockFrame bounds a block frame: an ID and the stored form of the
// largest block, which is never more than its content plus a header.
const maxBlockFrame = 32 + storage.MaxBlock + 64

// Blocks is the DHT-placed block store of the DVM this peer belongs to.
func (p *Peer) Blocks() storage.BlockStore { return dhtStore{p} }

type dhtStore struct{ p *Peer }

// replicas returns the peers that should hold id, closest first.
func (p *Peer) replicas(ctx context.Context, id storage.ID) ([]peer.ID, error) {
	cands := []peer.ID{p.h.ID()}
	if p.dht.RoutingTable().Size() > 0 {
		found, err := p.dht.GetClosestPeers(ctx, string(id[:]))
		if err != nil && len(found) == 0 {
			return nil, fmt.Errorf("dvm: block lookup: %w", err)
		}
		cands = append(cands, found...)
	}
	cands = byDistance(id[:], cands)
	return cands[:min(len(cands), p.cfg.BlockReplicas)], nil
}

// Put stores a block on its replica peers. It succeeds when at least one
// took it; fewer than BlockReplicas copies are repaired later.
func (s dhtStore) Put(id storage.ID, stored []byte) error {
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	peers, err := s.p.replicas(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	ok := 0
	for _, to := range peers {
		if err := s.p.putBlock(ctx, to, id, stored); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", shortID(to), err))
			continue
		}
		ok++
	}
	if ok == 0 {
		return fmt.Errorf("dvm: block %s stored nowhere: %w", id, errors.Join(errs...))
	}
	return nil
}

// Get returns a block's content from the first replica that has a good
// copy; replicas found missing or bad on the way get the good copy.
func (s dhtStore) Get(id storage.ID) ([]byte, error) {
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	peers, err := s.p.replicas(ctx, id)
	if err != nil {
		return nil, err
	}
	var errs []error
	var needy []peer.ID
	for _, from := range peers {
		stored, err := s.p.getBlock(ctx, from, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", shortID(from), err))
			needy = append(needy, from)
			continue
		}
		content, err := storage.Decode(id, stored)
		if err != nil { // a peer sent bytes that are not the block
			s.p.log.Warn("bad block from peer", "peer", from, "block", id.String(), "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", shortID(from), err))
			needy = append(needy, from)
			continue
		}
		for _, to := range needy {
			if err := s.p.putBlock(ctx, to, id, stored); err != nil {
				s.p.log.Debug("block repair failed", "peer", to, "block", id.String(), "err", err)
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
	_, err := p.blockCall(ctx, to, wire.TypeBlockPut, id, stored)
	return err
}

// getBlock fetches a block's stored form from one peer.
func (p *Peer) getBlock(ctx context.Context, from peer.ID, id storage.ID) ([]byte, error) {
	if from == p.h.ID() {
		return p.blocks.GetStored(id)
	}
	return p.blockCall(ctx, from, wire.TypeBlockGet, id, nil)
}

// blockCall sends one block request, a frame of the block's ID and, for a
// put, the block itself (written after the ID, not copied behind it).
func (p *Peer) blockCall(ctx context.Context, to peer.ID, typ byte, id storage.ID, block []byte) ([]byte, error) {
	s, err := p.h.NewStream(ctx, to, protoBlock)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrUnavailable, err)
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	head := append(wire.AppendFrameHeader(nil, typ, len(id)+len(block)), id[:]...)
	_, err = s.Write(head)
	if err == nil && len(block) > 0 {
		_, err = s.Write(block)
	}
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("%w: %v", wire.ErrUnavailable, err)
	}
	_ = s.CloseWrite()
	rtyp, rbody, err := wire.NewReader(s, maxBlockFrame).Next()
	switch {
	case err != nil:
		_ = s.Reset()
		return nil, fmt.Errorf("%w: no reply: %v", wire.ErrUnavailable, err)
	case rtyp == wire.TypeBlockData && typ == wire.TypeBlockGet:
		return append([]byte(nil), rbody...), nil
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
	body, err := p.blockCall(ctx, at, wire.TypeBlockHas, id, nil)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := json.Unmarshal(body, &n); err != nil {
		return 0, fmt.Errorf("%w: has reply: %v", wire.ErrMalformed, err)
	}
	return n, nil
}

// BlockStat is where one block's replicas are.
type BlockStat struct {
	ID      string   `json:"id"`
	Size    int64    `json:"size"`
	Stored  int64    `json:"stored_bytes"`
	Holders []string `json:"holders"`
	Want    int      `json:"replicas_wanted"`
}

// FileStat describes a file in the block store and its replicas.
type FileStat struct {
	StoreResult
	Stored int64       `json:"stored_bytes"` // after compression and deduplication
	Blocks []BlockStat `json:"blocks"`       // the manifest first, then each distinct chunk
}

// StoreStat reports a file's size, chunks, stored size and, for each
// block, which of the peers that should hold it do.
func (p *Peer) StoreStat(cid string) (FileStat, error) {
	id, err := ParseCID(cid)
	if err != nil {
		return FileStat{}, err
	}
	body, err := p.Blocks().Get(id)
	if err != nil {
		return FileStat{}, fmt.Errorf("store stat: %w", err)
	}
	m, err := storage.DecodeManifest(body)
	if err != nil {
		return FileStat{}, err
	}
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	st := FileStat{StoreResult: StoreResult{CID: cid, Size: m.Size, Chunks: len(m.Chunks)}}
	seen := map[storage.ID]bool{}
	ids := []storage.ID{id}
	sizes := []int64{int64(len(body))}
	for _, c := range m.Chunks {
		if !seen[c.ID] {
			seen[c.ID] = true
			ids, sizes = append(ids, c.ID), append(sizes, int64(c.Size))
		}
	}
	for i, bid := range ids {
		peers, err := p.replicas(ctx, bid)
		if err != nil {
			return FileStat{}, err
		}
		// A DVM smaller than BlockReplicas can hold only as many copies
		// as it has peers.
		bs := BlockStat{ID: bid.String(), Size: sizes[i], Want: len(peers)}
		for _, at := range peers {
			if n, err := p.hasBlock(ctx, at, bid); err == nil {
				bs.Holders = append(bs.Holders, at.String())
				bs.Stored = n
			}
		}
		st.Stored += bs.Stored
		st.Blocks = append(st.Blocks, bs)
	}
	return st, nil
}

// serveBlock answers one block request. Everything a remote peer sends is
// checked: the frame size is capped, and a block is stored only if it
// decodes to content with the ID it claims.
func (p *Peer) serveBlock(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(rpcIdle))
	typ, body, err := wire.NewReader(s, maxBlockFrame).Next()
	if err != nil || len(body) < 32 {
		_ = s.Reset()
		return
	}
	var id storage.ID
	copy(id[:], body)
	var reply wire.Reply
	switch typ {
	case wire.TypeBlockPut:
		if err := p.blocks.Put(id, body[32:]); err != nil {
			reply = errReply(blockErr(err))
		}
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
			_ = wire.WriteFrame(s, wire.TypeBlockData, stored)
			return
		}
		reply = errReply(blockErr(err))
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

// StoreResult describes a file in the block store.
type StoreResult struct {
	CID    string `json:"cid"`
	Path   string `json:"path,omitempty"`
	Size   int64  `json:"size"`
	Chunks int    `json:"chunks"`
}

// StorePut stores the file at path (on this machine) in the DVM's block
// store and returns its CID.
func (p *Peer) StorePut(path string) (StoreResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return StoreResult{}, fmt.Errorf("store put: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return StoreResult{}, fmt.Errorf("store put: %s is not a regular file", path)
	}
	cid, m, err := storage.PutFile(p.Blocks(), f, storage.FilterNone)
	if err != nil {
		return StoreResult{}, fmt.Errorf("store put %s: %w", path, err)
	}
	return StoreResult{CID: cid.String(), Path: path, Size: m.Size, Chunks: len(m.Chunks)}, nil
}

// StoreGet writes the file named by cid to path, atomically: a failed or
// corrupt transfer leaves no partial file behind.
func (p *Peer) StoreGet(cid, path string) (StoreResult, error) {
	id, err := ParseCID(cid)
	if err != nil {
		return StoreResult{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".p2pdvm-get-*")
	if err != nil {
		return StoreResult{}, fmt.Errorf("store get: %w", err)
	}
	defer os.Remove(tmp.Name())
	m, err := storage.GetFile(p.Blocks(), id, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return StoreResult{}, fmt.Errorf("store get %s: %w", cid, err)
	}
	return StoreResult{CID: cid, Path: path, Size: m.Size, Chunks: len(m.Chunks)}, nil
}

// ParseCID reads a CID as printed by store put (64 hex digits).
func ParseCID(s string) (storage.ID, error) {
	var id storage.ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%w: %q is not a CID (64 hex digits)", wire.ErrBadRequest, s)
	}
	copy(id[:], b)
	return id, nil
}
