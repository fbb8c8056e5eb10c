package dvm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// ProtocolPrefix namespaces the DHT and every p2pdvm protocol, so a p2pdvm
// network never mixes with the public IPFS DHT.
const ProtocolPrefix = "/p2pdvm"

// loadIdentity reads the peer's Ed25519 key from dir, creating it on first
// start. The key file is private to the user.
func loadIdentity(dir string) (crypto.PrivKey, error) {
	path := filepath.Join(dir, "identity.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("dvm: identity %s: %w", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dvm: identity: %w", err)
	}
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	b, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("dvm: write identity: %w", err)
	}
	return k, nil
}

// writeFileAtomic replaces path with data: a reader sees the old file or
// the whole new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// newLibp2pHost builds the peer's host: TCP and QUIC, TLS and Noise, no
// relay, no NAT port mapping, no mDNS, and a resource manager sized for a
// DVM, whose peers hold many long-lived streams to few other peers.
func newLibp2pHost(cfg *Config, key crypto.PrivKey) (host.Host, error) {
	limits := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Streams: 1 << 16, StreamsInbound: 1 << 15, StreamsOutbound: 1 << 15,
			Conns: 4096, ConnsInbound: 2048, ConnsOutbound: 2048, FD: 4096,
			Memory: 1 << 30,
		},
		Transient: rcmgr.ResourceLimits{
			Streams: 4096, StreamsInbound: 2048, StreamsOutbound: 2048,
			Conns: 512, ConnsInbound: 256, ConnsOutbound: 256, FD: 512,
		},
		PeerDefault: rcmgr.ResourceLimits{
			Streams: 4096, StreamsInbound: 2048, StreamsOutbound: 2048,
			Conns: 16, ConnsInbound: 8, ConnsOutbound: 8,
		},
		ProtocolDefault: rcmgr.ResourceLimits{
			Streams: 1 << 15, StreamsInbound: 1 << 14, StreamsOutbound: 1 << 14,
		},
		ProtocolPeerDefault: rcmgr.ResourceLimits{
			Streams: 2048, StreamsInbound: 1024, StreamsOutbound: 1024,
		},
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.Build(rcmgr.DefaultLimits.AutoScale())))
	if err != nil {
		return nil, fmt.Errorf("dvm: resource manager: %w", err)
	}
	cm, err := connmgr.NewConnManager(256, 1024, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, err
	}
	sec := []libp2p.Option{libp2p.Security(tls.ID, tls.New), libp2p.Security(noise.ID, noise.New)}
	if cfg.Security == "noise" {
		sec[0], sec[1] = sec[1], sec[0]
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}
	opts = append(opts, sec...)
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("dvm: libp2p host: %w", err)
	}
	return h, nil
}

// newDHT starts kad-dht in server mode under the p2pdvm prefix with no
// bootstrap peers of its own: joining is done by connect().
func newDHT(h host.Host) (*dht.IpfsDHT, error) {
	d, err := dht.New(h,
		dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(ProtocolPrefix),
		dht.BootstrapPeers(),
	)
	if err != nil {
		return nil, fmt.Errorf("dvm: dht: %w", err)
	}
	return d, nil
}

// parseBootstrap turns multiaddr strings into AddrInfos with clear errors.
func parseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: needs a /p2p/PEERID part: %w", s, err)
		}
		out = append(out, *ai)
	}
	return out, nil
}

// Join connects the peer to the DVM through bootstrap peers (one that
// answers is enough) and fills its routing table. New calls it with
// Config.Bootstrap; peers built with NewWithHost (tests, benchmarks) call
// it themselves. It fails only if no bootstrap peer can be reached within
// Config.BootstrapTimeout.
func (p *Peer) Join(ctx context.Context, bs []peer.AddrInfo) error {
	if len(bs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.BootstrapTimeout)
	defer cancel()
	var errs []error
	ok := 0
	for _, ai := range bs {
		if ai.ID == p.h.ID() {
			continue
		}
		if err := p.h.Connect(ctx, ai); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ai.ID, err))
			continue
		}
		ok++
	}
	if ok == 0 && len(errs) > 0 {
		return fmt.Errorf("no bootstrap peer reachable: %w", errors.Join(errs...))
	}
	// kad-dht adds a peer to the routing table once identify says it
	// speaks the DHT protocol, a moment after the connection; a refresh
	// from an empty table finds nobody. So wait for the first entry
	// (bounded: the table also fills as peers contact this one), then
	// queue a refresh: one through Bootstrap is dropped when another is
	// running, which once left a joiner of a 1,000-peer DVM with an empty
	// table for minutes (scalebench).
	for wait := time.Millisecond; p.dht.RoutingTable().Size() == 0 && ctx.Err() == nil; wait = min(2*wait, 50*time.Millisecond) {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	_ = p.dht.RefreshRoutingTable()
	return nil
}
