package dvm

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/storage"
)

// StoreTo is a block store that keeps every block on one peer, target,
// and nowhere else: the central server that the DHT store is measured
// against (bench/storebench). It uses the same block protocol and the
// same per-block calls as the DHT store, so the two differ only in where
// blocks go. It is not meant for real data: one copy, no repair.
func (p *Peer) StoreTo(target peer.ID) storage.BlockStore {
	return centralStore{p: p, to: target}
}

type centralStore struct {
	p  *Peer
	to peer.ID
}

// Put stores a block on the target peer only.
func (s centralStore) Put(id storage.ID, stored []byte) error {
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	if err := s.p.putBlock(ctx, s.to, id, stored); err != nil {
		return fmt.Errorf("dvm: block %s on %s: %w", id, shortID(s.to), err)
	}
	return nil
}

// Get fetches a block from the target peer and verifies it.
func (s centralStore) Get(id storage.ID) ([]byte, error) {
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	stored, err := s.p.getBlock(ctx, s.to, id)
	if err != nil {
		return nil, fmt.Errorf("dvm: block %s from %s: %w", id, shortID(s.to), err)
	}
	return storage.Decode(id, stored)
}
