package dvm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// The host's side of checkpoints: it passes the coordinator's requests
// to its rank processes, puts the state files they write into the block
// store, and fetches a restarted rank's state before starting it.

// restoreFile is where a restarted rank finds its state, in its working
// directory.
const restoreFile = "restore.state"

// ckptFileName is the only shape of file name a process may hand over;
// anything else (a path, "..") is refused, so a rank can only ever have
// its own working directory's files stored.
var ckptFileName = regexp.MustCompile(`^ckpt-[0-9]{1,10}\.state$`)

// fromProc handles a checkpoint frame from a rank process.
func (p *Peer) ckptFromProc(pr *proc, typ byte, body []byte) {
	switch typ {
	case wire.TypeCkptCount:
		var c wire.CkptCount
		if wire.DecodeJSON(body, &c) != nil {
			return
		}
		p.goFunc(func() { p.reportCkpt(pr, ckptReport{Epoch: c.Epoch, Count: &c.Count}) })
	case wire.TypeCkptSaved:
		var s wire.CkptSaved
		if wire.DecodeJSON(body, &s) != nil {
			s = wire.CkptSaved{Err: "malformed checkpoint report from the process"}
		}
		// Storing takes a while; the process's sends must keep flowing.
		p.goFunc(func() {
			st := p.storeCkpt(pr, s)
			p.reportCkpt(pr, ckptReport{Epoch: st.Epoch, Stored: &st})
		})
	}
}

// storeCkpt puts a rank's state file into the block store: chunked, so a
// state that changed in places shares most chunks with the previous one,
// and shuffled before zstd, since checkpoints are mostly float64 arrays.
func (p *Peer) storeCkpt(pr *proc, s wire.CkptSaved) wire.CkptStored {
	out := wire.CkptStored{Epoch: s.Epoch}
	if s.Err != "" {
		out.Err = s.Err
		return out
	}
	if !ckptFileName.MatchString(s.File) {
		out.Err = fmt.Sprintf("process named a bad checkpoint file %q", s.File)
		return out
	}
	path := filepath.Join(pr.wdir, s.File)
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		out.Err = fmt.Sprintf("open state: %v", err)
		return out
	}
	defer f.Close()
	pr.mu.Lock()
	prev := pr.ckPrev
	pr.mu.Unlock()
	cs := &countingStore{BlockStore: p.Blocks(), prev: prev}
	cid, m, err := storage.PutFile(cs, f, storage.FilterShuffle8)
	if err != nil {
		out.Err = fmt.Sprintf("store state: %v", err)
		return out
	}
	pr.rememberChunks(m)
	out.CID, out.Bytes, out.Stored, out.New = cid.String(), m.Size, cs.stored.Load(), cs.fresh.Load()
	return out
}

// countingStore measures a put: the stored size of every block, and of
// the blocks the previous epoch did not have. Those it had are not sent
// again; they are already on their replicas.
// PutFile puts several blocks at once, hence the atomics.
type countingStore struct {
	storage.BlockStore
	prev          map[storage.ID]bool // read only
	stored, fresh atomic.Int64
}

func (c *countingStore) Put(id storage.ID, stored []byte) error {
	c.stored.Add(int64(len(stored)))
	if c.prev[id] {
		return nil
	}
	c.fresh.Add(int64(len(stored)))
	return c.BlockStore.Put(id, stored)
}

// fetchRestore writes a restarted rank's state into its working
// directory and remembers its chunks for the next epoch's accounting.
func (p *Peer) fetchRestore(pr *proc, ref *restoreRef) error {
	cid, err := ParseCID(ref.CID)
	if err != nil {
		return err
	}
	path := filepath.Join(pr.wdir, restoreFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	m, err := storage.GetFile(p.Blocks(), cid, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("state of epoch %d: %w", ref.Epoch, err)
	}
	pr.rememberChunks(m)
	return nil
}

// rememberChunks keeps the chunks of the rank's latest state, which its
// next checkpoint need not store again.
func (pr *proc) rememberChunks(m *storage.Manifest) {
	chunks := make(map[storage.ID]bool, len(m.Chunks))
	for _, c := range m.Chunks {
		chunks[c.ID] = true
	}
	pr.mu.Lock()
	pr.ckPrev = chunks
	pr.mu.Unlock()
}
