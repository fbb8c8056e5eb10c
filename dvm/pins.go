package dvm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Pinning and garbage collection.
//
// A pin is held by one peer, the pinner, for a reason, and is recorded in
// its data dir (DataDir/pins.json). The pinner places a lease on each of
// the pinned file's blocks, manifest and chunks, at the peers of each
// block's window (the BlockWindow closest; a peer that does not hold the
// block ignores it), and renews the leases every PinLease/3.
// A peer's gc frees only blocks that carry no live lease, that are not a
// CID it pins itself, and that were not written within GCGrace. So a
// block that any pinned file references is safe on every peer that holds
// it, whoever pinned the file. Unpinning stops the renewals; the blocks
// become collectable when the leases run out.
//
// Leases rather than a pin record that other peers keep forever: a pin
// then never outlives its pinner by more than PinLease, and an unpin that
// cannot reach a peer holding a block needs no retry.

// pinJobPrefix marks pins that end with the process that took them: a
// running job's program and inputs. A restarted peer has no jobs running.
const pinJobPrefix = "job:"

// maxPinReason bounds a pin's reason.
const maxPinReason = 256

// Pin keeps the file cid, and every block it references, from any peer's
// gc for as long as this peer keeps the pin. reason says who holds it
// ("user", "job:ID", a checkpoint epoch); a file stays pinned while any
// reason remains. Pin returns once the leases are placed; it fails if the
// file's manifest cannot be read. The checkpoint code pins a committed
// epoch with Pin(cid, "ckpt:JOB") and drops the previous one with Unpin.
func (p *Peer) Pin(cid, reason string) error {
	id, err := ParseCID(cid)
	if err != nil {
		return err
	}
	if reason == "" || len(reason) > maxPinReason {
		return fmt.Errorf("%w: a pin needs a reason of 1 to %d bytes", wire.ErrBadRequest, maxPinReason)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Minute)
	defer cancel()
	if err := p.renewPin(ctx, id); err != nil {
		return fmt.Errorf("pin %s: %w", cid, err)
	}
	if err := p.pins.Add(id, reason); err != nil {
		return fmt.Errorf("pin %s: %w", cid, err)
	}
	p.log.Debug("pinned", "cid", cid, "reason", reason)
	return nil
}

// Unpin removes reason's pin on cid, or every pin on it if reason is
// empty. The leases are no longer renewed: once they run out (PinLease)
// gc may free the file's blocks on the peers that hold them.
func (p *Peer) Unpin(cid, reason string) error {
	id, err := ParseCID(cid)
	if err != nil {
		return err
	}
	if err := p.pins.Remove(id, reason); err != nil {
		if errors.Is(err, storage.ErrNotPinned) {
			return fmt.Errorf("%w: %s is not pinned here for %q", wire.ErrNotFound, cid, reason)
		}
		return err
	}
	if !p.pins.Has(id) {
		p.upkeep.pinMu.Lock()
		delete(p.upkeep.renewed, id)
		p.upkeep.pinMu.Unlock()
	}
	return nil
}

// Pins lists this peer's pins.
func (p *Peer) Pins() []storage.Pin { return p.pins.List() }

// renewPin leases the blocks of the file cid at the peers that should
// hold them, until PinLease from now.
func (p *Peer) renewPin(ctx context.Context, cid storage.ID) error {
	m, err := storage.ReadManifest(p.Blocks(), cid)
	if err != nil {
		return err
	}
	ids, _ := fileBlocks(cid, m)
	now := time.Now()
	until := now.Add(p.cfg.PinLease)
	// One lookup per block, a few at a time; then one message per peer.
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	byPeer := map[peer.ID][]storage.ID{}
	sem := make(chan struct{}, 8)
	for _, b := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			peers, err := p.window(ctx, b)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, q := range peers {
				byPeer[q] = append(byPeer[q], b)
			}
		}()
	}
	wg.Wait()
	ok := 0
	for q, list := range byPeer {
		if err := p.sendLeases(ctx, q, list, until); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", shortID(q), err))
			continue
		}
		ok++
	}
	if ok == 0 {
		return fmt.Errorf("dvm: no peer took the leases: %w", errors.Join(errs...))
	}
	if len(errs) > 0 {
		// Peers that missed this renewal get the next one; their blocks
		// keep the previous lease until then.
		p.log.Debug("pin renewal incomplete", "cid", cid.String(), "err", errors.Join(errs...))
	}
	p.upkeep.pinMu.Lock()
	p.upkeep.renewed[cid] = now
	p.upkeep.pinMu.Unlock()
	return nil
}

// renewPins renews the leases of every pin renewed more than a third of
// PinLease ago.
func (p *Peer) renewPins(ctx context.Context) {
	for _, id := range p.pins.IDs() {
		p.upkeep.pinMu.Lock()
		last := p.upkeep.renewed[id]
		p.upkeep.pinMu.Unlock()
		if time.Since(last) < p.cfg.PinLease/3 || ctx.Err() != nil {
			continue
		}
		if err := p.renewPin(ctx, id); err != nil {
			p.log.Warn("pin renewal failed", "cid", id.String(), "err", err)
		}
	}
}

// GCResult is what one gc freed and why it kept the rest.
type GCResult struct {
	Freed      int                      `json:"freed"`
	FreedBytes int64                    `json:"freed_bytes"`
	Kept       map[storage.GCReason]int `json:"kept"`
}

// GC frees the blocks held here that no pinned file references (see the
// comment at the top of this file for the rule).
func (p *Peer) GC() (GCResult, error) {
	res := GCResult{Kept: map[storage.GCReason]int{}}
	list, err := p.blocks.List()
	if err != nil {
		return res, fmt.Errorf("dvm: gc: %w", err)
	}
	now := time.Now()
	pol := storage.GCPolicy{Now: now, Grace: p.cfg.GCGrace, Leased: p.leases.Until, Pinned: p.pins.Has}
	for _, b := range list {
		why := pol.Decide(b)
		if why != storage.GCFree {
			res.Kept[why]++
			continue
		}
		id, _ := storage.ParseID(b.ID)
		n, err := p.blocks.Collect(id, now.Add(-p.cfg.GCGrace))
		if err != nil {
			return res, fmt.Errorf("dvm: gc: %w", err)
		}
		if n == 0 { // stored again since the listing
			res.Kept[storage.GCYoung]++
			continue
		}
		res.Freed++
		res.FreedBytes += n
	}
	p.log.Info("gc", "freed", res.Freed, "freed_bytes", res.FreedBytes, "kept", fmt.Sprint(res.Kept))
	return res, nil
}
