package dvm

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Files in the block store, as the control API and the CLI see them: put
// and pin, get, stat.

// StoreResult describes a file in the block store.
type StoreResult struct {
	CID    string `json:"cid"`
	Path   string `json:"path,omitempty"`
	Size   int64  `json:"size"`
	Chunks int    `json:"chunks"`
}

// Progress is told how many of a transfer's bytes are done. It is called
// from the transferring goroutine and must not block for long.
type Progress func(done, total int64)

// PinUser is the reason store put pins a file for, and the one store unpin
// removes unless told otherwise.
const PinUser = "user"

// StorePut stores the file at path (on this machine) in the DVM's block
// store, pins it on this peer for reason unless reason is empty, and
// returns its CID. progress, if set, follows the bytes read.
func (p *Peer) StorePut(path, reason string, progress Progress) (StoreResult, error) {
	r, err := p.putFile(path, progress)
	if err != nil || reason == "" {
		return r, err
	}
	if err := p.Pin(r.CID, reason); err != nil {
		return StoreResult{}, fmt.Errorf("store put %s: %w", path, err)
	}
	return r, nil
}

// putFile stores a file without pinning it.
func (p *Peer) putFile(path string, progress Progress) (StoreResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return StoreResult{}, fmt.Errorf("store put: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return StoreResult{}, fmt.Errorf("store put: %s is not a regular file", path)
	}
	var r io.Reader = f
	if progress != nil {
		r = &countingReader{r: f, total: info.Size(), fn: progress}
	}
	cid, m, err := storage.PutFile(p.Blocks(), r, storage.FilterNone)
	if err != nil {
		return StoreResult{}, fmt.Errorf("store put %s: %w", path, err)
	}
	return StoreResult{CID: cid.String(), Path: path, Size: m.Size, Chunks: len(m.Chunks)}, nil
}

// StoreGet writes the file named by cid to path, atomically: a failed or
// corrupt transfer leaves no partial file behind.
func (p *Peer) StoreGet(cid, path string, progress Progress) (StoreResult, error) {
	m, err := p.getFile(cid, path, 0, 0o600, progress)
	if err != nil {
		return StoreResult{}, fmt.Errorf("store get %s: %w", cid, err)
	}
	return StoreResult{CID: cid, Path: path, Size: m.Size, Chunks: len(m.Chunks)}, nil
}

// getFile fetches the file cid into path through a temporary file in the
// same directory, refusing files larger than limit (if positive) before
// fetching any chunk.
func (p *Peer) getFile(cid, path string, limit int64, mode os.FileMode, progress Progress) (*storage.Manifest, error) {
	id, err := ParseCID(cid)
	if err != nil {
		return nil, err
	}
	m, err := storage.ReadManifest(p.Blocks(), id)
	if err != nil {
		return nil, err
	}
	if limit > 0 && m.Size > limit {
		return nil, fmt.Errorf("%w: file of %d bytes, limit %d", wire.ErrBadRequest, m.Size, limit)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".p2pdvm-get-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	// The file is synced before it is renamed into place, so it is
	// written with direct I/O where the file system allows.
	dw := storage.NewStreamingDirectWriter(tmp)
	var w io.Writer = dw
	if progress != nil {
		w = &countingWriter{w: dw, total: m.Size, fn: progress}
	}
	err = storage.WriteChunks(p.Blocks(), id, m, w)
	if ferr := dw.Finish(); err == nil {
		err = ferr
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return m, err
}

type countingReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.done += int64(n)
	c.fn(c.done, c.total)
	return n, err
}

type countingWriter struct {
	w     io.Writer
	done  int64
	total int64
	fn    Progress
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.done += int64(n)
	c.fn(c.done, c.total)
	return n, err
}

// BlockStat is where one block's replicas are.
type BlockStat struct {
	ID      string   `json:"id"`
	Size    int64    `json:"size"`
	Stored  int64    `json:"stored_bytes"`
	Holders []string `json:"holders"`
	Want    int      `json:"replicas_wanted"`
}

// FileStat describes a file in the block store and its replicas.
type FileStat struct {
	StoreResult
	Stored int64       `json:"stored_bytes"` // after compression and deduplication
	Blocks []BlockStat `json:"blocks"`       // the manifest first, then each distinct chunk
}

// StoreStat reports a file's size, chunks, stored size and, for each
// block, which peers of its window hold it.
func (p *Peer) StoreStat(cid string) (FileStat, error) {
	id, err := ParseCID(cid)
	if err != nil {
		return FileStat{}, err
	}
	body, err := p.Blocks().Get(id)
	if err != nil {
		return FileStat{}, fmt.Errorf("store stat: %w", err)
	}
	m, err := storage.DecodeManifest(body)
	if err != nil {
		return FileStat{}, err
	}
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	st := FileStat{StoreResult: StoreResult{CID: cid, Size: m.Size, Chunks: len(m.Chunks)}}
	ids, sizes := fileBlocks(id, m)
	sizes[0] = int64(len(body))
	for i, bid := range ids {
		peers, err := p.window(ctx, bid)
		if err != nil {
			return FileStat{}, err
		}
		// A DVM smaller than BlockReplicas can hold only as many copies
		// as it has peers.
		bs := BlockStat{ID: bid.String(), Size: sizes[i], Want: min(p.cfg.BlockReplicas, len(peers))}
		for _, at := range peers {
			if n, err := p.hasBlock(ctx, at, bid); err == nil {
				bs.Holders = append(bs.Holders, at.String())
				bs.Stored = n
			}
		}
		st.Stored += bs.Stored
		st.Blocks = append(st.Blocks, bs)
	}
	return st, nil
}

// fileBlocks lists a file's blocks, the manifest first and then each
// distinct chunk once, in order, with their sizes (the manifest's as 0).
func fileBlocks(cid storage.ID, m *storage.Manifest) ([]storage.ID, []int64) {
	ids, sizes := []storage.ID{cid}, []int64{0}
	seen := map[storage.ID]bool{cid: true}
	for _, c := range m.Chunks {
		if !seen[c.ID] {
			seen[c.ID] = true
			ids, sizes = append(ids, c.ID), append(sizes, int64(c.Size))
		}
	}
	return ids, sizes
}

// ParseCID reads a CID as printed by store put (64 hex digits).
func ParseCID(s string) (storage.ID, error) {
	id, err := storage.ParseID(s)
	if err != nil {
		return id, fmt.Errorf("%w: %q is not a CID (64 hex digits)", wire.ErrBadRequest, s)
	}
	return id, nil
}
