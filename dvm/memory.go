package dvm

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Giving memory back after bulk transfers. Moving a program or a
// checkpoint through the block store allocates buffers of up to a chunk
// (8 MiB) per block in flight; the garbage raises the heap goal, and an
// idle peer runs no collection that would lower it again for minutes
// (Go forces one every two). A peer on a desktop spends most of its life
// idle, so once a burst of block traffic is over it collects and returns
// the memory at once: a submitter at 92 MiB RSS after six jobs of an
// 8 MiB program was back at 39 MiB two seconds later.
//
// A peer that hosts ranks is not idle: it waits until they have ended.
// Returning memory between the epochs of a job that checkpoints every
// few seconds faulted the block buffers back in at every epoch, page by
// page (heat on 2 ranks, 8 MiB of state an epoch: the two peers spent
// 0.43 CPU-s an epoch, much of it in page faults, on the cores the ranks
// computed on).

// Thresholds: a burst counts when it moved at least bulkRelease bytes,
// and is over after bulkQuiet without block traffic.
const (
	bulkRelease = 16 << 20
	bulkQuiet   = 2 * time.Second
)

type releaser struct {
	moved atomic.Int64 // bytes of blocks since the last release
	last  atomic.Int64 // unix nanoseconds of the latest block
}

// due says whether a burst is over and the peer idle enough that its
// memory should go back now.
func (r *releaser) due(now time.Time, hosting bool) bool {
	return r.moved.Load() >= bulkRelease && now.Sub(time.Unix(0, r.last.Load())) >= bulkQuiet && !hosting
}

// noteBulk records n bytes of blocks sent, received or stored.
func (p *Peer) noteBulk(n int) {
	p.rel.moved.Add(int64(n))
	p.rel.last.Store(time.Now().UnixNano())
}

// releaseAfterBursts returns memory to the OS after each burst of block
// traffic, until the peer closes.
func (p *Peer) releaseAfterBursts() {
	t := time.NewTicker(bulkQuiet / 2)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		if p.rel.due(time.Now(), p.procs.hosting()) {
			p.rel.moved.Store(0)
			// Twice: the block buffers pooled in storage outlive one
			// collection in sync.Pool's victim cache and go in the second
			// (an idle submitter kept 10 MiB more after one).
			debug.FreeOSMemory()
			debug.FreeOSMemory()
		}
	}
}
