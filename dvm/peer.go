package dvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/p2pdvm/p2pdvm/internal/sandbox"
	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Peer is one member of the DVM.
type Peer struct {
	cfg Config
	log *slog.Logger
	h   host.Host
	dht *dht.IpfsDHT
	rpc map[string]handler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// goMu and stopping keep goFunc's wg.Add from racing Close's wg.Wait:
	// a handler still running on a closing host may try to start work.
	goMu     sync.Mutex
	stopping bool
	// leaving is set, under the write lock, before a closing peer hands
	// its location objects on; adoptions hold the read lock and refuse
	// once it is set, so none lands here after the hand-off listed what
	// to give away (it would leave with the peer).
	leaveMu sync.RWMutex
	leaving bool

	owners  ownerCache
	whole   wholeView     // the whole DVM, while a lookup can see it all
	load    sendLoad      // block bytes placed on each peer lately
	locs    *locTable     // owner role: location objects
	records *recordTable  // owner role: job records
	procs   *procTable    // host role: rank processes here
	files   *fileCache    // host role: programs and input files by CID
	blocks  *storage.Disk // this peer's share of the block store
	pins    *storage.PinSet
	leases  *storage.Leases
	upkeep  upkeep        // background repair and pin renewal
	rel     releaser      // returns memory after bursts of block traffic
	out     *outbound     // data plane: streams and location cache
	in      *inbound      // data plane: reordering per (job, src, dst)
	keys    *msgKeys      // data plane: message keys of the runs hosted here
	coords  *coordTable   // checkpoint epochs coordinated here (owner of the job key)
	jobs    *submitTable  // submitter role
	pings   pingStats     // failure detection: heartbeat round trips
	ctl     *ctlServer    // local control API, if enabled
	psock   *procListener // where rank processes attach

	lock      *os.File // held while the peer runs: one peer per data dir
	closeOnce sync.Once
	closeErr  error
}

// New starts a peer with its own libp2p host on cfg.ListenAddrs and joins
// the DVM through cfg.Bootstrap.
func New(ctx context.Context, cfg Config) (*Peer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bs, err := parseBootstrap(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("dvm: %w", err)
	}
	// Before the host: a second peer on the same data dir would otherwise
	// fail on a busy port, or worse, take over the first one's sockets.
	lock, err := openDataDir(&cfg)
	if err != nil {
		return nil, err
	}
	key, err := loadIdentity(cfg.DataDir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	h, err := newLibp2pHost(&cfg, key)
	if err != nil {
		lock.Close()
		return nil, err
	}
	p, err := newPeer(cfg, h, lock)
	if err != nil {
		return nil, err
	}
	if err := p.Join(ctx, bs); err != nil {
		p.Close()
		return nil, fmt.Errorf("dvm: join: %w", err)
	}
	return p, nil
}

// NewWithHost builds a peer on an existing libp2p host (a mocknet host in
// tests). The peer takes ownership of h and closes it.
func NewWithHost(cfg Config, h host.Host) (*Peer, error) {
	if err := cfg.Validate(); err != nil {
		h.Close()
		return nil, err
	}
	lock, err := openDataDir(&cfg)
	if err != nil {
		h.Close()
		return nil, err
	}
	return newPeer(cfg, h, lock)
}

// newPeer builds the peer; it owns h and lock, and closes both on error.
func newPeer(cfg Config, h host.Host, lock *os.File) (*Peer, error) {
	blocks, err := storage.OpenDisk(filepath.Join(cfg.DataDir, "blocks"), cfg.BlockCapacity)
	if err != nil {
		h.Close()
		lock.Close()
		return nil, err
	}
	pins, err := storage.OpenPins(filepath.Join(cfg.DataDir, "pins.json"))
	if err == nil {
		// The jobs those pins were for did not survive the last process.
		err = pins.DropReasons(pinJobPrefix)
	}
	var leases *storage.Leases
	if err == nil {
		leases, err = storage.OpenLeases(filepath.Join(cfg.DataDir, "blocks", "leases.json"))
	}
	if err != nil {
		h.Close()
		lock.Close()
		return nil, fmt.Errorf("dvm: %w", err)
	}
	d, err := newDHT(h)
	if err != nil {
		h.Close()
		lock.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{
		cfg: cfg, log: cfg.logger().With("self", shortID(h.ID())),
		h: h, dht: d, ctx: ctx, cancel: cancel, lock: lock,
		owners:  ownerCache{m: map[string]ownerEntry{}},
		locs:    newLocTable(),
		records: newRecordTable(),
		procs:   newProcTable(),
		files:   newFileCache(filepath.Join(cfg.DataDir, "files")),
		blocks:  blocks,
		pins:    pins,
		leases:  leases,
		upkeep:  upkeep{renewed: map[storage.ID]time.Time{}},
		jobs:    newSubmitTable(),
	}
	p.keys = newMsgKeys()
	p.coords = newCoordTable()
	p.out = newOutbound(p)
	p.in = newInbound(p)
	p.rpc = p.handlers()
	h.SetStreamHandler(protoRPC, p.serveRPC)
	h.SetStreamHandler(protoData, p.serveData)
	h.SetStreamHandler(protoOut, p.serveOutput)
	h.SetStreamHandler(protoBlock, p.serveBlock)
	if p.psock, err = listenProcs(p); err != nil {
		p.Close()
		return nil, err
	}
	if cfg.ControlSocket {
		if p.ctl, err = listenControl(p); err != nil {
			p.Close()
			return nil, err
		}
	}
	if cfg.RepairInterval > 0 {
		p.goFunc(p.runUpkeep)
	}
	p.goFunc(p.releaseAfterBursts)
	p.goFunc(p.runLocUpkeep)
	p.goFunc(p.runHostWatch)
	p.goFunc(p.runFlocSweep)
	switch abi := sandbox.ABI(); {
	case cfg.SandboxExec == "":
		p.log.Info("ranks run unconfined (no sandbox configured)")
	case abi == 0:
		p.log.Warn("this kernel has no Landlock: ranks run unconfined")
	default:
		p.log.Debug("ranks confined by Landlock", "abi", abi, "also_readable", cfg.RankRead)
	}
	return p, nil
}

// ID is the peer's libp2p identity.
func (p *Peer) ID() peer.ID { return p.h.ID() }

// Host exposes the libp2p host (tests connect peers through it).
func (p *Peer) Host() host.Host { return p.h }

// DHT exposes the routing table for status and tests.
func (p *Peer) DHT() *dht.IpfsDHT { return p.dht }

// Addrs returns the peer's full multiaddrs, /p2p/ID included.
func (p *Peer) Addrs() []ma.Multiaddr {
	ai := peer.AddrInfo{ID: p.h.ID(), Addrs: p.h.Addrs()}
	out, _ := peer.AddrInfoToP2pAddrs(&ai)
	return out
}

// ControlSocket is the path of the local control API.
func (p *Peer) ControlSocket() string { return filepath.Join(p.cfg.DataDir, "ctl.sock") }

// Close leaves the DVM: it kills the processes hosted here, fails the jobs
// submitted here, stops every goroutine and closes the host. It is
// idempotent.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		p.leaveMu.Lock()
		p.leaving = true
		p.leaveMu.Unlock()
		p.jobs.killAll(p, "peer shutting down")
		p.procs.killAll()
		p.handOffRecords()
		p.handOffLocs(true)
		// From here on the peer answers no one, the DHT's handlers
		// included (its Close leaves them registered). A closed host
		// refuses streams anyway, but one that keeps delivering them (a
		// host the embedder owns, mocknet's) would otherwise reach
		// handlers that answer with a dead routing table, or "unavailable"
		// for objects they no longer hold, and senders would keep coming
		// back.
		for _, proto := range p.h.Mux().Protocols() {
			p.h.RemoveStreamHandler(proto)
		}
		// Cancel first: it ends route retries and RPCs that the socket
		// servers below would otherwise wait for.
		p.cancel()
		p.procs.wait()
		if p.ctl != nil {
			errs = append(errs, p.ctl.close())
		}
		if p.psock != nil {
			errs = append(errs, p.psock.close())
		}
		p.out.close()
		errs = append(errs, p.dht.Close(), p.h.Close())
		p.goMu.Lock()
		p.stopping = true
		p.goMu.Unlock()
		p.wg.Wait()
		errs = append(errs, p.lock.Close())
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// adopting runs adopt unless the peer is leaving; see leaving.
func (p *Peer) adopting(adopt func() error) error {
	p.leaveMu.RLock()
	defer p.leaveMu.RUnlock()
	if p.leaving {
		return fmt.Errorf("%w: peer %s is leaving", wire.ErrUnavailable, shortID(p.h.ID()))
	}
	return adopt()
}

// livePeers is the peer's current view of the DVM: itself plus every
// routing-table peer it is connected to.
func (p *Peer) livePeers() []peer.ID {
	live := []peer.ID{p.h.ID()}
	for _, q := range p.dht.RoutingTable().ListPeers() {
		if p.h.Network().Connectedness(q) == network.Connected {
			live = append(live, q)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i] < live[j] })
	return live
}

type ownerEntry struct {
	id  peer.ID
	exp time.Time
}

type ownerCache struct {
	mu sync.Mutex
	m  map[string]ownerEntry
}

// ownerOf finds the peer closest to key with the DHT's closest-peers lookup,
// counting this peer too (kad-dht never returns the querier itself).
func (p *Peer) ownerOf(ctx context.Context, key []byte) (peer.ID, error) {
	k := string(key)
	p.owners.mu.Lock()
	e, ok := p.owners.m[k]
	p.owners.mu.Unlock()
	if ok && time.Now().Before(e.exp) {
		return e.id, nil
	}
	cands := []peer.ID{p.h.ID()}
	if p.dht.RoutingTable().Size() > 0 {
		found, err := p.dht.GetClosestPeers(ctx, k)
		if err != nil && len(found) == 0 {
			return "", fmt.Errorf("dvm: owner lookup: %w", err)
		}
		cands = append(cands, found...)
	}
	id := closest(key, cands)
	p.owners.mu.Lock()
	if len(p.owners.m) > 1<<16 {
		clear(p.owners.m)
	}
	p.owners.m[k] = ownerEntry{id: id, exp: time.Now().Add(p.cfg.OwnerCacheTTL)}
	p.owners.mu.Unlock()
	return id, nil
}

// forgetOwner drops a cached owner after it answered that it is not.
func (p *Peer) forgetOwner(key []byte) {
	p.owners.mu.Lock()
	delete(p.owners.m, string(key))
	p.owners.mu.Unlock()
}

// goFunc runs f in a goroutine that Close waits for. Once Close is
// waiting, f is dropped: it would run against a closed host.
func (p *Peer) goFunc(f func()) {
	p.goMu.Lock()
	defer p.goMu.Unlock()
	if p.stopping {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// openDataDir makes cfg.DataDir absolute, creates it and takes its lock.
// Absolute because processes are started in their own working dirs and
// cached program paths must still name the right files.
func openDataDir(cfg *Config) (*os.File, error) {
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("dvm: data dir: %w", err)
	}
	cfg.DataDir = abs
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("dvm: data dir: %w", err)
	}
	return lockDataDir(abs)
}

// lockDataDir takes the data dir's lock file, which the kernel releases
// when the peer's process ends however it ends.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dvm: lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("dvm: data dir %s is in use by another peer; give each peer its own --data", dir)
		}
		return nil, fmt.Errorf("dvm: lock data dir: %w", err)
	}
	return f, nil
}
