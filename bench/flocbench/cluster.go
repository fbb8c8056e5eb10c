package main

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"time"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/p2pdvm/p2pdvm/dvm"
	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// siteLatency is the one-way latency between sites, a fixed matrix so
// that every run sees the same geography: 1 ms within a site, 20 to 60 ms
// between sites.
var siteLatency = [4][4]time.Duration{
	{1 * time.Millisecond, 20 * time.Millisecond, 35 * time.Millisecond, 60 * time.Millisecond},
	{20 * time.Millisecond, 1 * time.Millisecond, 25 * time.Millisecond, 45 * time.Millisecond},
	{35 * time.Millisecond, 25 * time.Millisecond, 1 * time.Millisecond, 30 * time.Millisecond},
	{60 * time.Millisecond, 45 * time.Millisecond, 30 * time.Millisecond, 1 * time.Millisecond},
}

// cluster is a DVM on mocknet whose peers sit in sites: peer i is in
// site i*len(siteLatency)/len(peers).
type cluster struct {
	mn    mocknet.Mocknet
	peers []*dvm.Peer
	site  map[peer.ID]int
	delay *delays // off until the bench switches site latency on
}

// seededReader is a deterministic byte stream for key generation, so
// that both runs (Floc on and off) have the same peer IDs in the same
// sites.
type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func startCluster(n int, seed uint64, dir string, edit func(*dvm.Config), log *slog.Logger) (*cluster, error) {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	keys := seededReader{rand.NewChaCha8(s)}
	mn := mocknet.New()
	c := &cluster{mn: mn, site: map[peer.ID]int{}}
	d := &delays{lat: c.latency}
	c.delay = d
	for i := range n {
		sk, _, err := crypto.GenerateEd25519Key(keys)
		if err != nil {
			c.close()
			return nil, err
		}
		h, err := mn.AddPeer(sk, ma.StringCast(fmt.Sprintf("/ip4/10.%d.0.%d/tcp/4001", i/250, i%250+1)))
		if err != nil {
			c.close()
			return nil, fmt.Errorf("flocbench: mocknet peer: %w", err)
		}
		cfg := dvm.DefaultConfig(filepath.Join(dir, fmt.Sprint(i)))
		cfg.ControlSocket = false
		cfg.Logger = log
		cfg.RepairInterval = 0 // no background block traffic in the measurement
		edit(&cfg)
		p, err := dvm.NewWithHost(cfg, &delayedHost{Host: h, d: d})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("flocbench: peer %d's routing table holds %w", i, err)
		}
		c.peers = append(c.peers, p)
		c.site[p.ID()] = i * len(siteLatency) / n
	}
	// One link per pair, without latency of its own (see latency.go).
	for i, a := range c.peers {
		for _, b := range c.peers[i+1:] {
			if _, err := mn.LinkPeers(a.ID(), b.ID()); err != nil {
				c.close()
				return nil, fmt.Errorf("flocbench: linking: %w", err)
			}
		}
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		c.close()
		return nil, fmt.Errorf("flocbench: connecting: %w", err)
	}
	ids := make([]peer.ID, len(c.peers))
	for i, p := range c.peers {
		ids[i] = p.ID()
	}
	for i, p := range c.peers {
		if err := testutil.WaitTable(p.DHT().RoutingTable().Size, testutil.FullTable(p.ID(), ids), 20*time.Second, 90*time.Second, func() { _ = p.DHT().RefreshRoutingTable() }); err != nil {
			c.close()
			return nil, fmt.Errorf("flocbench: peer %d's routing table holds %w", i, err)
		}
	}
	return c, nil
}

// latency is the configured one-way latency between two peers; 0 from a
// peer to itself.
func (c *cluster) latency(a, b peer.ID) time.Duration {
	if a == b {
		return 0
	}
	return siteLatency[c.site[a]][c.site[b]]
}

// owner is the peer closest to key among all peers: the owner of a
// location object on a stable DVM.
func (c *cluster) owner(key []byte) peer.ID {
	ids := make([]peer.ID, len(c.peers))
	for i, p := range c.peers {
		ids[i] = p.ID()
	}
	return kb.SortClosestPeers(ids, kb.ConvertKey(string(key)))[0]
}

// traffic sums every peer's data-plane counters.
func (c *cluster) traffic() trafficSample {
	var s trafficSample
	for _, p := range c.peers {
		t := p.Traffic()
		s.Local += t.Local
		s.Shortcut += t.Shortcut
		s.Routed += t.Routed
		s.Hops += t.Hops
	}
	return s
}

func (c *cluster) close() {
	for _, p := range c.peers {
		p.Close()
	}
	c.mn.Close()
}

var _ io.Reader = seededReader{}
