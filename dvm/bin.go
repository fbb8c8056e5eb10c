package dvm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Jobs' programs and input files travel through the block store. The
// submitter puts the program and each input file into the store, then a
// small bundle that lists them (name, CID, size) as one more file; spawn
// requests carry the bundle's CID where they used to carry the program's
// hash (spawnReq.Bin). A host fetches the bundle and then the files by
// CID, every block verified, into a cache in its data dir keyed by CID:
// it fetches each once for all the ranks and jobs that use it and runs
// programs from its own disk. Input files are copied, not linked, into
// each rank's working directory (a rank may write to its copy). The
// submitter pins all of them while the job runs, so a restart can fetch
// them again.

// Limits on what a bundle may ask a host to fetch.
const (
	maxBundleSize = 1 << 20
	MaxInputFiles = 64
	MaxInputSize  = 64 << 30
)

// jobBundle lists what a job's ranks need from the store.
type jobBundle struct {
	Program bundleFile   `json:"program"`
	Files   []bundleFile `json:"files,omitempty"`
}

type bundleFile struct {
	Name string `json:"name"` // base name, no directories
	CID  string `json:"cid"`
	Size int64  `json:"size"`
}

func (b *jobBundle) validate() error {
	if len(b.Files) > MaxInputFiles {
		return fmt.Errorf("%d input files, at most %d", len(b.Files), MaxInputFiles)
	}
	seen := map[string]bool{}
	for i, f := range append([]bundleFile{b.Program}, b.Files...) {
		limit := int64(MaxInputSize)
		if i == 0 {
			limit = MaxProgramSize
		}
		switch {
		case f.Name == "" || f.Name == "." || f.Name == ".." || filepath.Base(f.Name) != f.Name || len(f.Name) > 255:
			return fmt.Errorf("file name %q: want a plain file name", f.Name)
		case i > 0 && seen[f.Name]:
			return fmt.Errorf("two input files are named %q", f.Name)
		case f.Size < 0 || f.Size > limit:
			return fmt.Errorf("%s: %d bytes, limit %d", f.Name, f.Size, limit)
		}
		if _, err := ParseCID(f.CID); err != nil {
			return err
		}
		if i > 0 {
			seen[f.Name] = true
		}
	}
	return nil
}

// putJob stores a job's program and input files and the bundle that
// lists them, and returns the bundle's CID and size.
func (p *Peer) putJob(spec Spec) (string, int64, error) {
	b := jobBundle{}
	for i, path := range append([]string{spec.Program}, spec.Files...) {
		r, err := p.putFile(path, nil)
		if err != nil {
			return "", 0, err
		}
		f := bundleFile{Name: filepath.Base(path), CID: r.CID, Size: r.Size}
		if i == 0 {
			b.Program = f
		} else {
			b.Files = append(b.Files, f)
		}
	}
	if err := b.validate(); err != nil {
		return "", 0, err
	}
	body, _ := json.Marshal(b)
	cid, m, err := storage.PutFile(p.Blocks(), bytes.NewReader(body), storage.FilterNone)
	if err != nil {
		return "", 0, fmt.Errorf("store the job's file list: %w", err)
	}
	return cid.String(), m.Size, nil
}

// readBundle fetches (or finds in the cache) and checks a job's bundle.
func (p *Peer) readBundle(ctx context.Context, cid string) (*jobBundle, error) {
	path, err := p.files.ensure(ctx, p, cid, maxBundleSize)
	if err != nil {
		return nil, err
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b jobBundle
	if err := wire.DecodeJSON(body, &b); err != nil {
		return nil, fmt.Errorf("job bundle %s: %w", cid, err)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("%w: job bundle %s: %v", wire.ErrBadRequest, cid, err)
	}
	return &b, nil
}

// jobFiles makes a rank's program and input files ready on this host: it
// fetches what the cache lacks, copies the inputs into the rank's working
// directory and returns the program's path.
func (p *Peer) jobFiles(ctx context.Context, req *spawnReq) (string, error) {
	b, err := p.readBundle(ctx, req.Bin)
	if err != nil {
		return "", err
	}
	prog, err := p.files.ensure(ctx, p, b.Program.CID, MaxProgramSize)
	if err != nil {
		return "", err
	}
	if len(b.Files) == 0 {
		return prog, nil
	}
	wdir := p.rankDir(req.Job, req.Rank)
	if err := os.MkdirAll(wdir, 0o700); err != nil {
		return "", fmt.Errorf("%w: work dir: %v", wire.ErrInternal, err)
	}
	for _, f := range b.Files {
		src, err := p.files.ensure(ctx, p, f.CID, MaxInputSize)
		if err == nil {
			err = copyFile(src, filepath.Join(wdir, f.Name))
		}
		if err != nil {
			return "", fmt.Errorf("input file %s: %w", f.Name, err)
		}
	}
	return prog, nil
}

// rankDir is a rank's working directory on its host.
func (p *Peer) rankDir(job string, rank int) string {
	return filepath.Join(p.cfg.DataDir, "work", job, strconv.Itoa(rank))
}

// copyFile copies src to dst through a temporary file beside dst, so a
// retried start never sees half a file.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".in-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// pinWhileRunning pins a job's bundle, program and input files until the
// job ends. A peer that stops first leaves the pins in its data dir; its
// next start drops them (pinJobPrefix).
func (p *Peer) pinWhileRunning(j *Job, bundle string) {
	reason := pinJobPrefix + j.ID()
	cids := []string{bundle}
	if b, err := p.readBundle(p.ctx, bundle); err == nil {
		cids = append(cids, b.Program.CID)
		for _, f := range b.Files {
			cids = append(cids, f.CID)
		}
	}
	var pinned []string
	for _, c := range cids {
		if err := p.Pin(c, reason); err != nil {
			p.log.Warn("pin job file", "job", j.ID(), "cid", c, "err", err)
			continue
		}
		pinned = append(pinned, c)
	}
	select {
	case <-j.Done():
	case <-p.ctx.Done():
		return
	}
	for _, c := range pinned {
		if err := p.Unpin(c, reason); err != nil {
			p.log.Warn("unpin job file", "job", j.ID(), "cid", c, "err", err)
		}
	}
}

// fileCache keeps files from the block store by CID.
type fileCache struct {
	dir      string
	mu       sync.Mutex
	inflight map[string]*fetchCall
	verified map[string]bool
}

type fetchCall struct {
	done chan struct{}
	err  error
}

func newFileCache(dir string) *fileCache {
	return &fileCache{dir: dir, inflight: map[string]*fetchCall{}, verified: map[string]bool{}}
}

func (c *fileCache) path(cid string) string { return filepath.Join(c.dir, cid) }

// has reports whether the cache holds cid, checking the file's bytes
// against the CID the first time this process looks at it.
func (c *fileCache) has(cid string) bool {
	c.mu.Lock()
	ok := c.verified[cid]
	c.mu.Unlock()
	if ok {
		return true
	}
	f, err := os.Open(c.path(cid))
	if err != nil {
		return false
	}
	defer f.Close()
	got, _, err := storage.CIDOf(f, storage.FilterNone)
	if err != nil || got.String() != cid {
		return false
	}
	c.mu.Lock()
	c.verified[cid] = true
	c.mu.Unlock()
	return true
}

// ensure makes the file cid available here and returns its path,
// fetching it from the block store once however many ranks ask at the
// same time. A file larger than limit is refused before any chunk of it
// is fetched.
func (c *fileCache) ensure(ctx context.Context, p *Peer, cid string, limit int64) (string, error) {
	if _, err := ParseCID(cid); err != nil {
		return "", err
	}
	if c.has(cid) {
		return c.path(cid), nil
	}
	c.mu.Lock()
	call, ok := c.inflight[cid]
	if !ok {
		call = &fetchCall{done: make(chan struct{})}
		c.inflight[cid] = call
		go func() {
			call.err = c.fetch(p, cid, limit)
			c.mu.Lock()
			delete(c.inflight, cid)
			c.mu.Unlock()
			close(call.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if call.err != nil {
		return "", call.err
	}
	return c.path(cid), nil
}

func (c *fileCache) fetch(p *Peer, cid string, limit int64) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	if _, err := p.getFile(cid, c.path(cid), limit, 0o700, nil); err != nil {
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, wire.ErrNotFound) {
			return fmt.Errorf("%w: %s is not in the block store: %v", wire.ErrNotFound, cid, err)
		}
		return fmt.Errorf("fetch %s from the block store: %w", cid, err)
	}
	c.mu.Lock()
	c.verified[cid] = true
	c.mu.Unlock()
	return nil
}
