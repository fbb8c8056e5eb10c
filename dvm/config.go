package dvm

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/p2pdvm/p2pdvm/floc"
)

// Config is everything a peer needs to start. The zero value is not
// usable; start from DefaultConfig.
type Config struct {
	// DataDir holds the identity, the control and process sockets, cached
	// binaries, rank working directories and job logs.
	DataDir string
	// ListenAddrs are libp2p multiaddrs to listen on. Both TCP and QUIC
	// are offered by default so peers behind UDP-hostile networks still
	// connect.
	ListenAddrs []string
	// Bootstrap peers to join through (multiaddrs with /p2p/ID). There are
	// deliberately no defaults: a peer never dials anything it was not given.
	Bootstrap []string
	// BootstrapTimeout bounds joining; an unreachable bootstrap peer fails
	// within this time instead of hanging.
	BootstrapTimeout time.Duration
	// Security orders the secure channels offered: "tls" (default, faster
	// here) or "noise". Both are always available to the other side.
	Security string
	// ControlSocket enables the local control API (DataDir/ctl.sock).
	ControlSocket bool
	// RouteTimeout bounds how long a message may wait for its destination
	// rank's location object to appear (spawns race with early sends).
	RouteTimeout time.Duration
	// OwnerCacheTTL is how long a key's owner, once looked up, is reused.
	// Ownership only changes with churn, and a stale owner answers
	// not-found, which triggers a fresh lookup.
	OwnerCacheTTL time.Duration
	// RepairInterval is how often the peer checks the blocks it holds
	// against the peers now closest to them, copies them where a replica
	// is missing and hands them over when closer peers joined. Each round
	// waits the interval ±20% so that peers started together do not probe
	// in step. A minute keeps the window with fewer than BlockReplicas
	// copies short at the cost of one lookup per block per round; 0 turns
	// background repair off (RepairOnce still works).
	RepairInterval time.Duration
	// RepairBatch bounds the blocks one repair round checks; the next
	// round goes on where it stopped, so every block is checked in turn.
	RepairBatch int
	// PinLease is how long a pin's lease on a block lasts at the peers that
	// hold it; the pinning peer renews its leases after a third of that.
	// An unpin, or a pinner gone for good, lets gc free the file's blocks
	// once the leases run out, so it trades prompt freeing for fewer
	// renewals.
	PinLease time.Duration
	// GCGrace protects blocks written less than this long ago from gc: a
	// put in progress has stored chunks whose manifest is not pinned yet.
	GCGrace time.Duration
	// BlockCapacity bounds the bytes of blocks this peer stores for the
	// DHT's block store (checkpoints, programs).
	BlockCapacity int64
	// BlockReplicas is how many of the peers closest to a block's ID keep
	// a copy: 3, as in CFS and IPFS clusters, survives two losses.
	BlockReplicas int
	// BlockWindow is how many of the peers closest to a block's ID may
	// hold its BlockReplicas copies: an uploader picks the ones it has
	// sent least to lately (placement.go). Twice BlockReplicas spreads a
	// burst of uploads evenly over 20 peers; BlockReplicas itself puts
	// every block on exactly its closest peers.
	BlockWindow int
	// CkptTimeout bounds one checkpoint epoch, from the request to the
	// commit; an epoch that takes longer is aborted and the previous one
	// stays the one to restart from.
	CkptTimeout time.Duration
	// The owner of each location object pings the object's host every
	// HeartbeatInterval and reports it lost to the job's submitter after
	// HeartbeatMisses unanswered pings in a row (each may take 3/4 of the
	// interval); the submitter checks with one ping of its own (half an
	// interval). A crashed host is noticed at once, from its closed
	// connections; this catches hung hosts and silent networks: 1 s and 3
	// misses declare one dead 3.3 to 4.3 s after it stops (the SIGSTOP
	// test: 4.1-4.2 s to the restart), inside the 5 s a restart budget
	// allows, while a live host would have to miss three 750 ms deadlines
	// in a row, stalling for over 2 s, to be mistaken for dead (under the
	// bench's full load its pings took 6-7 ms at most). The submitter also
	// pings, with twice the misses, for hosts that own their own ranks'
	// objects. 0 turns heartbeats off.
	HeartbeatInterval time.Duration
	HeartbeatMisses   int
	// Floc decides which destinations get shortcuts (see package floc);
	// Floc.Enabled false routes every message through the owner of its
	// destination's location object, the baseline Floc is measured against.
	Floc floc.Config
	// RankDirect lets two ranks whose pair Floc found chatty connect to
	// each other directly (TLS with the job's certificate between
	// machines), bypassing both peers. Off, their traffic stays on the
	// peers' shortcut: benchmarks of the overlay itself turn it off.
	RankDirect bool
	// LocCheckInterval is how often a peer checks that the location
	// objects it owns still belong to it and that the ranks it hosts are
	// registered with their keys' owners. Peers joining and leaving wake
	// the check at once; the tick catches a joiner that reaches the
	// routing table after its connection event. A second keeps a moved
	// object's forwarding window short at the cost of a scan of the
	// objects held (a few per rank in the DVM).
	LocCheckInterval time.Duration
	// SandboxExec, if set, is a binary whose main calls sandbox.Main
	// first (p2pdvm is one): ranks start through it, confined by Landlock
	// to their working directory, their program, the system's directories
	// and RankRead (package internal/sandbox). Empty runs ranks
	// unconfined; a program embedding the peer must opt in, since the
	// peer re-executes that binary.
	SandboxExec string
	// RankRead are directories every rank may also read: shared input
	// data, as on a cluster's file server.
	RankRead []string
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a config for a peer keeping its state in dataDir.
func DefaultConfig(dataDir string) Config {
	return Config{
		DataDir: dataDir,
		// Port 4801 is stable so a user can tell a colleague one address.
		ListenAddrs:       []string{"/ip4/0.0.0.0/tcp/4801", "/ip4/0.0.0.0/udp/4801/quic-v1"},
		BootstrapTimeout:  10 * time.Second,
		Security:          "tls",
		ControlSocket:     true,
		RouteTimeout:      60 * time.Second,
		OwnerCacheTTL:     30 * time.Second,
		RepairInterval:    time.Minute,
		RepairBatch:       256,
		PinLease:          30 * time.Minute,
		GCGrace:           10 * time.Minute,
		BlockCapacity:     10 << 30,
		BlockReplicas:     3,
		BlockWindow:       6,
		CkptTimeout:       2 * time.Minute,
		HeartbeatInterval: time.Second,
		HeartbeatMisses:   3,
		Floc:              floc.DefaultConfig(),
		RankDirect:        true,
		LocCheckInterval:  time.Second,
	}
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("dvm: config: DataDir is empty")
	}
	if c.Security != "tls" && c.Security != "noise" {
		return fmt.Errorf("dvm: config: security %q is not tls or noise", c.Security)
	}
	if err := c.Floc.Validate(); err != nil {
		return fmt.Errorf("dvm: %w", err)
	}
	if c.BootstrapTimeout <= 0 || c.RouteTimeout <= 0 || c.CkptTimeout <= 0 || c.LocCheckInterval <= 0 {
		return errors.New("dvm: config: timeouts must be positive")
	}
	if c.HeartbeatInterval < 0 || c.HeartbeatInterval > 0 && c.HeartbeatMisses < 1 {
		return errors.New("dvm: config: HeartbeatInterval must be >= 0, and HeartbeatMisses >= 1 with it")
	}
	if c.BlockCapacity < 0 || c.BlockReplicas < 1 || c.BlockReplicas > maxChainNext+1 {
		return fmt.Errorf("dvm: config: BlockCapacity must be >= 0 and BlockReplicas 1..%d", maxChainNext+1)
	}
	if c.BlockWindow < c.BlockReplicas {
		return fmt.Errorf("dvm: config: BlockWindow %d is smaller than BlockReplicas %d", c.BlockWindow, c.BlockReplicas)
	}
	if c.RepairInterval < 0 || c.RepairBatch < 1 || c.PinLease <= 0 || c.GCGrace < 0 {
		return errors.New("dvm: config: RepairInterval and GCGrace must be >= 0, RepairBatch >= 1 and PinLease > 0")
	}
	return nil
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}
