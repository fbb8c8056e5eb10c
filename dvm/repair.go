package dvm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Background upkeep of the block store. Every RepairInterval a peer checks
// a batch of the blocks it holds against each one's window, the peers now
// closest to it: it copies a block into the window when fewer than k
// there hold it (a holder left or crashed), and gives up its own copy
// once it is no longer in the window (closer peers joined) or is one
// copy too many, and k there confirm theirs. Copies carry the block's
// lease, so a pinned block stays protected from gc wherever it moves. The
// same loop renews the leases of this peer's pins. The decisions are in
// repairplan.go; this file asks and copies.

// upkeep is the state of the background loop.
type upkeep struct {
	mu     sync.Mutex // one repair round at a time
	cursor string     // the next round starts after this block ID

	pinMu   sync.Mutex
	renewed map[storage.ID]time.Time // pin -> when its leases were last renewed
}

// RepairStats counts what one repair round did.
type RepairStats struct {
	Checked int `json:"checked"`
	Copied  int `json:"copied"`
	Dropped int `json:"dropped"`
	Failed  int `json:"failed"`
}

// Per-block bounds of a repair round: a block whose peers do not answer
// in time is tried again next round, it does not stall the others.
const (
	repairBlockTimeout = 30 * time.Second
	probeTimeout       = 10 * time.Second
)

// runUpkeep is the background loop; it stops with the peer.
func (p *Peer) runUpkeep() {
	for {
		d := p.cfg.RepairInterval
		d += time.Duration(rand.Int64N(int64(d)*2/5+1)) - d/5
		t := time.NewTimer(d)
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// A round whose peers are slow to answer ends before the next is
		// due to start, so rounds never pile up behind each other.
		ctx, cancel := context.WithTimeout(p.ctx, max(2*p.cfg.RepairInterval, time.Minute))
		st, err := p.RepairOnce(ctx)
		cancel()
		switch {
		case err != nil:
			p.log.Warn("repair round", "err", err)
		case st.Copied+st.Dropped+st.Failed > 0:
			p.log.Info("repair round", "checked", st.Checked, "copied", st.Copied, "dropped", st.Dropped, "failed", st.Failed)
		}
		p.renewPins(p.ctx)
	}
}

// RepairOnce runs one repair round over at most RepairBatch blocks held
// here, continuing where the previous round stopped.
func (p *Peer) RepairOnce(ctx context.Context) (RepairStats, error) {
	p.upkeep.mu.Lock()
	defer p.upkeep.mu.Unlock()
	var st RepairStats
	list, err := p.blocks.List()
	if err != nil {
		return st, fmt.Errorf("dvm: repair: %w", err)
	}
	ids := make([]string, 0, len(list))
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	sort.Strings(ids)
	start := sort.SearchStrings(ids, p.upkeep.cursor)
	if start < len(ids) && ids[start] == p.upkeep.cursor {
		start++
	}
	for i := 0; i < min(len(ids), p.cfg.RepairBatch) && ctx.Err() == nil; i++ {
		s := ids[(start+i)%len(ids)]
		p.upkeep.cursor = s
		id, err := storage.ParseID(s)
		if err != nil {
			continue // not a block file; the disk's business, not repair's
		}
		st.Checked++
		if err := p.repairBlock(ctx, id, &st); err != nil {
			st.Failed++
			p.log.Debug("repair block", "block", s, "err", err)
		}
	}
	return st, nil
}

// repairBlock keeps one block held here on k peers of its window.
func (p *Peer) repairBlock(ctx context.Context, id storage.ID, st *RepairStats) error {
	ctx, cancel := context.WithTimeout(ctx, repairBlockTimeout)
	defer cancel()
	cands, err := p.candidates(ctx, id)
	if err != nil {
		return err
	}
	self, k, w := p.h.ID(), p.cfg.BlockReplicas, p.cfg.BlockWindow
	state := map[peer.ID]replicaState{}
	for {
		q, ok := nextProbe(self, cands, state, w)
		if !ok {
			break
		}
		if state[q] = p.probe(ctx, q, id); state[q] == stateUnreachable {
			p.whole.forget()
		}
	}
	pl := planRepair(self, cands, state, k, w)
	if len(pl.CopyTo) == 0 && !pl.Drop {
		return nil
	}
	// Read and verify the copy here first: a bad copy is deleted by the
	// read and never spread.
	stored, err := p.blocks.GetStored(id)
	if err != nil {
		return err
	}
	until := p.leases.Until(id)
	leased := until.After(time.Now())
	var errs []error
	for _, to := range pl.CopyTo {
		err := p.putBlock(ctx, to, id, stored)
		if err == nil && leased {
			err = p.sendLeases(ctx, to, []storage.ID{id}, until)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("copy to %s: %w", shortID(to), err))
			continue
		}
		st.Copied++
		p.log.Debug("block copied", "block", id.String(), "peer", shortID(to))
	}
	if pl.Drop && len(errs) == 0 {
		// The lease goes to the block's other holders before this copy
		// goes: the block stays protected from their gc.
		if leased {
			for _, to := range pl.Keep {
				if err := p.sendLeases(ctx, to, []storage.ID{id}, until); err != nil {
					return fmt.Errorf("lease to %s before drop: %w", shortID(to), err)
				}
			}
		}
		if err := p.blocks.Delete(id); err != nil {
			return err
		}
		st.Dropped++
		p.log.Debug("block handed over", "block", id.String())
	}
	return errors.Join(errs...)
}

// probe asks one peer whether it holds a block.
func (p *Peer) probe(ctx context.Context, q peer.ID, id storage.ID) replicaState {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := p.hasBlock(ctx, q, id)
	switch {
	case err == nil:
		return stateHas
	case errors.Is(err, wire.ErrNotFound):
		return stateMissing
	}
	return stateUnreachable
}

// Lease messages.
const (
	// leaseBatch bounds the IDs in one lease message (128 KiB of them).
	leaseBatch = 4096
	// maxLeaseAhead bounds how far ahead a remote peer may lease a block
	// here, so that one message cannot hold another peer's disk forever.
	maxLeaseAhead = 24 * time.Hour
)

func encodeLease(until time.Time, ids []storage.ID) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+32*len(ids)), uint64(until.UnixNano()))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return b
}

func decodeLease(body []byte) (time.Time, []storage.ID, error) {
	if len(body) < 8 || (len(body)-8)%32 != 0 || (len(body)-8)/32 > leaseBatch {
		return time.Time{}, nil, fmt.Errorf("%w: lease of %d bytes", wire.ErrBadRequest, len(body))
	}
	until := time.Unix(0, int64(binary.BigEndian.Uint64(body)))
	ids := make([]storage.ID, (len(body)-8)/32)
	for i := range ids {
		copy(ids[i][:], body[8+32*i:])
	}
	return until, ids, nil
}

// acceptLeases records leases on the blocks among ids that are held here
// and returns how many those are. Leases on blocks not held are not
// kept: the table stays as small as the blocks, and a block that arrives
// later comes with its sender's lease.
func (p *Peer) acceptLeases(ids []storage.ID, until time.Time) (int, error) {
	now := time.Now()
	if until.After(now.Add(maxLeaseAhead)) {
		until = now.Add(maxLeaseAhead)
	}
	held := ids[:0:0]
	for _, id := range ids {
		if p.blocks.Has(id) {
			held = append(held, id)
		}
	}
	if len(held) == 0 {
		return 0, nil
	}
	if err := p.leases.Extend(held, until, now); err != nil {
		return 0, fmt.Errorf("%w: %v", wire.ErrInternal, err)
	}
	return len(held), nil
}

// sendLeases leases blocks until a time at one peer, this one included.
func (p *Peer) sendLeases(ctx context.Context, to peer.ID, ids []storage.ID, until time.Time) error {
	for len(ids) > 0 {
		batch := ids[:min(len(ids), leaseBatch)]
		ids = ids[len(batch):]
		var err error
		if to == p.h.ID() {
			_, err = p.acceptLeases(batch, until)
		} else {
			_, err = p.blockCall(ctx, to, wire.TypeLeases, encodeLease(until, batch))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
