package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// Links. mocknet dials only between peers that share a link, and a link
// is an object per pair (two, in fact: LinkAll links every ordered pair,
// itself included, so N² of them). At 1,000 peers that is a million
// links that sit in memory for a DVM in which any one peer ever talks to
// a few hundred others. So the hosts here link lazily: a dial (Connect,
// NewStream) first links the pair if it has no link yet. A peer that
// never dials another never pays for the link, and a mocknet dial
// behaves exactly as with LinkAll otherwise. What LinkAll would have cost
// is measured separately (-linkall-cost) and reported.

// linker creates links on first use; one lock keeps two peers dialling
// each other at once from linking the pair twice.
type linker struct {
	mn    mocknet.Mocknet
	mu    sync.Mutex
	links atomic.Int64
}

func (l *linker) ensure(a, b peer.ID) error {
	if a == b {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.mn.LinksBetweenPeers(a, b)) > 0 {
		return nil
	}
	if _, err := l.mn.LinkPeers(a, b); err != nil {
		return fmt.Errorf("scalebench: link %s-%s: %w", a, b, err)
	}
	l.links.Add(1)
	return nil
}

// lazyHost is a mocknet host whose outgoing dials link the pair first.
// kad-dht and dvm reach other peers only through Connect and NewStream.
type lazyHost struct {
	host.Host
	l *linker
}

var _ host.Host = (*lazyHost)(nil)

func (h *lazyHost) Connect(ctx context.Context, ai peer.AddrInfo) error {
	if err := h.l.ensure(h.ID(), ai.ID); err != nil {
		return err
	}
	return h.Host.Connect(ctx, ai)
}

func (h *lazyHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	if err := h.l.ensure(h.ID(), p); err != nil {
		return nil, err
	}
	return h.Host.NewStream(ctx, p, pids...)
}

// cluster is N dvm peers on one mocknet.
type cluster struct {
	mn    mocknet.Mocknet
	l     *linker
	hosts []host.Host
	peers []*dvm.Peer
	ids   []peer.ID
	dir   string
	// connectFailures counts joins' Connects that failed (the join went
	// on through its other bootstrap peers).
	connectFailures atomic.Int64
}

// newHosts creates n bare mocknet hosts, so that their memory can be told
// apart from the peers' built on them.
func newHosts(n int, dir string) (*cluster, error) {
	mn := mocknet.New()
	c := &cluster{mn: mn, l: &linker{mn: mn}, dir: dir}
	for i := 0; i < n; i++ {
		h, err := mn.GenPeer()
		if err != nil {
			c.close()
			return nil, fmt.Errorf("scalebench: mocknet peer %d: %w", i, err)
		}
		c.hosts = append(c.hosts, h)
		c.ids = append(c.ids, h.ID())
	}
	return c, nil
}

// peerConfig is dvm's default config with what 1,000 peers in one process
// must not have, each change for a reason:
func peerConfig(dir string) dvm.Config {
	cfg := dvm.DefaultConfig(dir)
	// No control socket: nothing here talks to a peer through its CLI, and
	// 1,000 listening sockets with their accept goroutines would count as
	// per-peer memory that a real peer has exactly once.
	cfg.ControlSocket = false
	// No background repair: the bench stores no blocks until the job, and
	// 1,000 repair loops probing their (empty) block sets would add DHT
	// lookups that are not the ones being counted.
	cfg.RepairInterval = 0
	// Heartbeats stay on (the job's submitter uses them) and so does
	// everything else: the peers are the real thing, with dvm's own kad-dht
	// options (server mode, /p2pdvm prefix), which dvm does not let a
	// caller change.
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// start builds a dvm peer on every host and has each join the DVM
// through `join` peers that have already joined, the way `p2pdvm peer
// --bootstrap` does (dvm's Peer.Join), leaving the rest
// to kad-dht. Up to `parallel` peers join at once: a libp2p Connect
// waits for identify to finish on both sides, about 25 ms here once
// hundreds of peers are busy refreshing, so one at a time leaves a core
// idle; 8 at once starved identify past its 10 s on 2 cores.
func (c *cluster) start(ctx context.Context, join, parallel int, rng *rand.Rand) error {
	for i, h := range c.hosts {
		dir := filepath.Join(c.dir, fmt.Sprint(i))
		p, err := dvm.NewWithHost(peerConfig(dir), &lazyHost{Host: h, l: c.l})
		if err != nil {
			return fmt.Errorf("scalebench: peer %d: %w", i, err)
		}
		c.peers = append(c.peers, p)
	}
	var (
		mu     sync.Mutex
		joined = []int{0} // peer 0 is the DVM's first peer
		wg     sync.WaitGroup
		errs   = make([]error, len(c.peers))
		sem    = make(chan struct{}, max(parallel, 1))
	)
	// Each joining peer draws its bootstrap peers from its own stream, so
	// the choice does not depend on goroutine scheduling more than the
	// joined set itself does.
	seeds := make([]uint64, len(c.peers))
	for i := range seeds {
		seeds[i] = rng.Uint64()
	}
	for i := 1; i < len(c.peers); i++ {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		mu.Lock()
		via := append([]int(nil), joined...)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := rand.New(rand.NewPCG(seeds[i], 0))
			r.Shuffle(len(via), func(a, b int) { via[a], via[b] = via[b], via[a] })
			f, err := c.join(ctx, i, via[:min(join, len(via))])
			if err != nil {
				// Like a user whose bootstrap peers did not answer: try
				// again through others, once.
				r.Shuffle(len(via), func(a, b int) { via[a], via[b] = via[b], via[a] })
				var f2 int
				f2, err = c.join(ctx, i, via[:min(join, len(via))])
				f += f2
			}
			c.connectFailures.Add(int64(f))
			errs[i] = err
			if err == nil {
				mu.Lock()
				joined = append(joined, i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// join has peer i join through the peers at via with dvm's own Join
// (what `p2pdvm peer --bootstrap` does): one reachable bootstrap peer is
// enough. It returns how many stayed unconnected (a libp2p Connect waits
// for identify, which can exceed the join's 10 s on two cores busy with
// hundreds of refreshing peers) and an error only if none was reached.
func (c *cluster) join(ctx context.Context, i int, via []int) (int, error) {
	p := c.peers[i]
	var ais []peer.AddrInfo
	for _, j := range via {
		ais = append(ais, peer.AddrInfo{ID: c.ids[j]})
	}
	// dvm's own join, which connects to them in turn; the failed count
	// is what is left unconnected afterwards.
	err := p.Join(ctx, ais)
	failed := 0
	for _, j := range via {
		if p.Host().Network().Connectedness(c.ids[j]) != network.Connected {
			failed++
		}
	}
	if err != nil {
		return failed, fmt.Errorf("scalebench: peer %d joining: %w", i, err)
	}
	return failed, nil
}

func (c *cluster) close() {
	var wg sync.WaitGroup
	// Closing is independent per peer; a few at a time keeps it short.
	sem := make(chan struct{}, 16)
	for _, p := range c.peers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.Close()
		}()
	}
	wg.Wait()
	if len(c.peers) < len(c.hosts) {
		for _, h := range c.hosts[len(c.peers):] {
			h.Close()
		}
	}
	c.mn.Close()
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// minTable is the smallest routing table size at which a peer counts as
// bootstrapped: min(N-1, 20), 20 being kad-dht's bucket size.
func minTable(n int) int { return min(n-1, 20) }

// smallestTable is the size of the smallest routing table and how many
// peers are below want.
func (c *cluster) smallestTable(want int) (smallest, below int) {
	smallest = -1
	for _, p := range c.peers {
		s := p.DHT().RoutingTable().Size()
		if smallest < 0 || s < smallest {
			smallest = s
		}
		if s < want {
			below++
		}
	}
	return smallest, below
}

// nudge asks every peer whose routing table is below want for another
// refresh and returns how many it asked. kad-dht drops a Bootstrap that
// arrives while a refresh is running (RefreshNoWait), so a peer whose only
// refresh ran while its table held its 3 bootstrap peers can stay at a
// handful of entries until the periodic refresh 10 minutes later;
// RefreshRoutingTable queues the request instead. The count goes into the
// report: it is the number of peers that dvm's join alone left short.
func (c *cluster) nudge(want int) int {
	n := 0
	for _, p := range c.peers {
		if p.DHT().RoutingTable().Size() < want {
			_ = p.DHT().RefreshRoutingTable()
			n++
		}
	}
	return n
}

// trueOwner is the peer closest to key among all peers: what every
// owner lookup must find.
func (c *cluster) trueOwner(key []byte) peer.ID {
	return kb.SortClosestPeers(append([]peer.ID(nil), c.ids...), kb.ConvertKey(string(key)))[0]
}

// ownerFrom is dvm's ownerOf without its cache: the closest of what
// GetClosestPeers returns and the asking peer itself.
func ownerFrom(ctx context.Context, p *dvm.Peer, key []byte) (peer.ID, []peer.ID, error) {
	found, err := p.DHT().GetClosestPeers(ctx, string(key))
	if err != nil && len(found) == 0 {
		return "", nil, err
	}
	cands := append([]peer.ID{p.ID()}, found...)
	return kb.SortClosestPeers(cands, kb.ConvertKey(string(key)))[0], found, nil
}

// agree asks `askers` random peers for the owner of each of `keys` random
// keys and reports how many answers named the true owner.
func (c *cluster) agree(ctx context.Context, keys, askers int, rng *rand.Rand) (right, total int) {
	for k := 0; k < keys; k++ {
		key := randomKey(rng)
		want := c.trueOwner(key)
		for a := 0; a < askers; a++ {
			p := c.peers[rng.IntN(len(c.peers))]
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			got, _, err := ownerFrom(lctx, p, key)
			cancel()
			total++
			if err == nil && got == want {
				right++
			}
		}
	}
	return right, total
}

// randomKey is a key like dvm's location keys: 32 random bytes.
func randomKey(rng *rand.Rand) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
