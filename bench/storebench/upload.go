package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/p2pdvm/p2pdvm/dvm"
	"github.com/p2pdvm/p2pdvm/storage"
)

// uploadConfig is the seed experiment's setting.
type uploadConfig struct {
	Peers     int           // DVM size
	Uploaders []int         // rows: how many peers upload at once
	Size      int64         // bytes each uploader puts
	Rate      float64       // access link cap per peer and direction, bytes/s (0: none)
	Latency   time.Duration // one-way latency of every mocknet link
	Repeat    int
	Dir       string   // where the peers keep their blocks (tmpfs keeps disks out of it)
	Modes     []string // "dht", "central": the stores measured
}

// cluster is a DVM on mocknet whose peers have capped access links.
type cluster struct {
	mn    mocknet.Mocknet
	peers []*dvm.Peer
	dirs  []string
}

func startCluster(cfg uploadConfig) (*cluster, error) {
	mn := mocknet.New()
	mn.SetLinkDefaults(mocknet.LinkOptions{Latency: cfg.Latency})
	sh := newShaper(cfg.Rate)
	c := &cluster{mn: mn}
	for i := 0; i < cfg.Peers; i++ {
		h, err := mn.GenPeer()
		if err != nil {
			c.close()
			return nil, fmt.Errorf("storebench: mocknet peer: %w", err)
		}
		dir := filepath.Join(cfg.Dir, fmt.Sprint(i))
		pc := dvm.DefaultConfig(dir)
		pc.ControlSocket = false
		pc.BlockCapacity = 1 << 40 // the benchmark's tmpfs is the limit
		pc.Logger = slog.New(slog.DiscardHandler)
		p, err := dvm.NewWithHost(pc, sh.wrap(h))
		if err != nil {
			c.close()
			return nil, fmt.Errorf("storebench: peer %d: %w", i, err)
		}
		c.peers = append(c.peers, p)
		c.dirs = append(c.dirs, dir)
	}
	if err := mn.LinkAll(); err != nil {
		c.close()
		return nil, fmt.Errorf("storebench: linking: %w", err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		c.close()
		return nil, fmt.Errorf("storebench: connecting: %w", err)
	}
	// Placement needs full routing tables: with fewer peers known, the
	// closest-peers lookups of different uploaders could disagree.
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range c.peers {
		for p.DHT().RoutingTable().Size() < cfg.Peers-1 {
			if time.Now().After(deadline) {
				c.close()
				return nil, errors.New("storebench: routing tables not full after 60 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c, nil
}

func (c *cluster) close() {
	for _, p := range c.peers {
		p.Close()
	}
	c.mn.Close()
}

// clearBlocks empties every peer's block directory between rows so that
// the tmpfs holds one row at a time. The files are removed behind the
// Disk's back; its byte count goes stale, which only matters against a
// capacity the benchmark set out of reach.
func (c *cluster) clearBlocks() error {
	for _, d := range c.dirs {
		if err := os.RemoveAll(filepath.Join(d, "blocks", "blocks")); err != nil {
			return fmt.Errorf("storebench: clearing %s: %w", d, err)
		}
		if err := os.MkdirAll(filepath.Join(d, "blocks", "blocks"), 0o700); err != nil {
			return fmt.Errorf("storebench: %w", err)
		}
	}
	return nil
}

// heldBytes is how many stored bytes each peer holds.
func (c *cluster) heldBytes() []int64 {
	out := make([]int64, len(c.dirs))
	for i, d := range c.dirs {
		_ = filepath.WalkDir(filepath.Join(d, "blocks", "blocks"), func(_ string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				if info, err := e.Info(); err == nil {
					out[i] += info.Size()
				}
			}
			return nil
		})
	}
	return out
}

// randomFile is size bytes from a seeded ChaCha8 stream: incompressible,
// so zstd stores it as it is and compression cannot inflate throughput,
// and different for every upload, so no block is deduplicated away.
func randomFile(seed uint64, size int64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(s), size)
}

// uploadRow has n peers (1..n; peer 0 is the central server) put a file
// each at once and returns the wall time until the last one finished.
func (c *cluster) uploadRow(central bool, n int, size int64, seed uint64) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		up := c.peers[1+i]
		store := up.Blocks()
		if central {
			store = up.StoreTo(c.peers[0].ID())
		}
		r := randomFile(seed+uint64(i), size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, m, err := storage.PutFile(store, r, storage.FilterNone)
			if err == nil && m.Size != size {
				err = fmt.Errorf("stored %d bytes, want %d", m.Size, size)
			}
			errs[i] = err
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)
	return wall, errors.Join(errs...)
}

// runUpload runs every row Repeat times, interleaving the modes and
// sizes within a repetition so that background load hits all alike.
func runUpload(ctx context.Context, cfg uploadConfig, out *results) error {
	if cfg.Peers < 2+maxInt(cfg.Uploaders) {
		return fmt.Errorf("storebench: %d peers cannot host %d uploaders and a central peer", cfg.Peers, maxInt(cfg.Uploaders))
	}
	c, err := startCluster(cfg)
	if err != nil {
		return err
	}
	defer c.close()
	seed := uint64(time.Now().UnixNano())
	for rep := 1; rep <= cfg.Repeat; rep++ {
		for _, n := range cfg.Uploaders {
			for _, mode := range cfg.Modes {
				if err := ctx.Err(); err != nil {
					return err
				}
				seed += 1000
				wall, err := c.uploadRow(mode == "central", n, cfg.Size, seed)
				row := fmt.Sprintf("store-mocknet/%s/%d", mode, n)
				if err != nil {
					out.put(row, "status", fmt.Sprintf("failed: %v", err))
					return fmt.Errorf("storebench: %s: %w", row, err)
				}
				total := float64(n) * float64(cfg.Size)
				out.put(row, "agg_MBps", fmt.Sprintf("%.3f", total/wall.Seconds()/1e6))
				out.put(row, "wall_s", fmt.Sprintf("%.3f", wall.Seconds()))
				held := c.heldBytes()
				var sum, most int64
				holders := 0
				for _, b := range held {
					sum += b
					most = max(most, b)
					if b > 0 {
						holders++
					}
				}
				// How widely the blocks spread: stored copies per byte
				// uploaded, peers holding any, the busiest peer's share.
				out.put(row, "copies", fmt.Sprintf("%.3f", float64(sum)/total))
				out.put(row, "holders", fmt.Sprint(holders))
				out.put(row, "max_share", fmt.Sprintf("%.3f", float64(most)/float64(max(sum, 1))))
				fmt.Fprintf(os.Stderr, "storebench: rep %d %s: %.1f MB/s over %.1f s, copies %.2f on %d peers\n",
					rep, row, total/wall.Seconds()/1e6, wall.Seconds(), float64(sum)/total, holders)
				if err := c.clearBlocks(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
