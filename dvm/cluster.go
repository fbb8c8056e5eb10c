package dvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Cluster is a set of peers in one process on loopback TCP: what `p2pdvm
// run` uses so that a new user needs nothing else running, and what tests
// use for real-host scenarios.
type Cluster struct {
	Peers []*Peer
	dir   string
	owned bool
}

// StartCluster starts k peers with data dirs under dir (a new temporary
// dir if empty), all joined through the first, and waits until every
// peer's routing table holds all the others. edit, if not nil, adjusts
// each peer's config (logger, sandbox) before it starts.
func StartCluster(ctx context.Context, k int, dir string, edit func(*Config)) (*Cluster, error) {
	if k < 1 {
		return nil, fmt.Errorf("dvm: cluster of %d peers", k)
	}
	c := &Cluster{dir: dir}
	if dir == "" {
		d, err := os.MkdirTemp("", "p2pdvm-")
		if err != nil {
			return nil, err
		}
		c.dir, c.owned = d, true
	}
	for i := 0; i < k; i++ {
		cfg := DefaultConfig(filepath.Join(c.dir, fmt.Sprintf("p%d", i)))
		cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.ControlSocket = i == 0
		if edit != nil {
			edit(&cfg)
		}
		if i > 0 {
			cfg.Bootstrap = []string{c.Peers[0].Addrs()[0].String()}
		}
		p, err := New(ctx, cfg)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Peers = append(c.Peers, p)
	}
	if err := c.waitMesh(ctx, 30*time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// waitMesh polls until every routing table holds every other peer, which
// is what makes owner lookups agree on all peers.
func (c *Cluster) waitMesh(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, p := range c.Peers {
		for _, q := range c.Peers {
			if p != q && p.h.Network().Connectedness(q.ID()) != network.Connected {
				_ = p.h.Connect(ctx, peer.AddrInfo{ID: q.ID(), Addrs: q.h.Addrs()})
			}
		}
	}
	for {
		ok := true
		for _, p := range c.Peers {
			if p.dht.RoutingTable().Size() < len(c.Peers)-1 {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("dvm: cluster peers did not find each other in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops every peer and removes the data dirs it created.
func (c *Cluster) Close() error {
	var errs []error
	for _, p := range c.Peers {
		errs = append(errs, p.Close())
	}
	if c.owned {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}
