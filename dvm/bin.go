package dvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// binCache keeps programs by the hex SHA-256 of their bytes, so a host
// fetches a program once for all ranks and jobs that use it, and runs it
// from its own data dir, never from the submitter's file system.
type binCache struct {
	dir      string
	mu       sync.Mutex
	inflight map[string]*fetchCall
	verified map[string]bool
}

type fetchCall struct {
	done chan struct{}
	err  error
}

func newBinCache(dir string) *binCache {
	return &binCache{dir: dir, inflight: map[string]*fetchCall{}, verified: map[string]bool{}}
}

func (b *binCache) path(hash string) string { return filepath.Join(b.dir, hash) }

// putFile copies the program at src into the cache and returns its hash.
func (b *binCache) putFile(src string) (hash string, size int64, err error) {
	f, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return b.store(f, "", -1)
}

// store writes r into the cache atomically, checking want (if set) and
// size (if >= 0) before the file becomes visible under its hash.
func (b *binCache) store(r io.Reader, want string, size int64) (string, int64, error) {
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(b.dir, ".part-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	lim := r
	if size >= 0 {
		lim = io.LimitReader(r, size+1)
	} else {
		lim = io.LimitReader(r, MaxProgramSize+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), lim)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case n > MaxProgramSize:
		return "", 0, fmt.Errorf("program larger than %d bytes", MaxProgramSize)
	case size >= 0 && n != size:
		return "", 0, fmt.Errorf("%w: program is %d bytes, expected %d", wire.ErrMalformed, n, size)
	case want != "" && got != want:
		return "", 0, fmt.Errorf("%w: program hash %s, expected %s", wire.ErrMalformed, got[:12], want[:12])
	}
	if err := os.Chmod(tmp.Name(), 0o700); err != nil {
		return "", 0, err
	}
	if err := os.Rename(tmp.Name(), b.path(got)); err != nil {
		return "", 0, err
	}
	b.mu.Lock()
	b.verified[got] = true
	b.mu.Unlock()
	return got, n, nil
}

// has reports whether the cache holds hash, verifying the file's bytes the
// first time this process looks at it.
func (b *binCache) has(hash string) bool {
	b.mu.Lock()
	ok := b.verified[hash]
	b.mu.Unlock()
	if ok {
		return true
	}
	f, err := os.Open(b.path(hash))
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil || hex.EncodeToString(h.Sum(nil)) != hash {
		return false
	}
	b.mu.Lock()
	b.verified[hash] = true
	b.mu.Unlock()
	return true
}

// ensure makes hash available locally, fetching it from src once however
// many ranks ask at the same time.
func (b *binCache) ensure(ctx context.Context, p *Peer, hash string, size int64, src peer.ID) (string, error) {
	if b.has(hash) {
		return b.path(hash), nil
	}
	b.mu.Lock()
	c, ok := b.inflight[hash]
	if !ok {
		c = &fetchCall{done: make(chan struct{})}
		b.inflight[hash] = c
		go func() {
			c.err = b.fetch(p, hash, size, src)
			b.mu.Lock()
			delete(b.inflight, hash)
			b.mu.Unlock()
			close(c.done)
		}()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if c.err != nil {
		return "", c.err
	}
	return b.path(hash), nil
}

type binReq struct {
	Hash string `json:"hash"`
}

type binReply struct {
	Size int64 `json:"size"`
}

func (b *binCache) fetch(p *Peer, hash string, size int64, src peer.ID) error {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Minute)
	defer cancel()
	s, err := p.h.NewStream(ctx, src, protoBin)
	if err != nil {
		return fmt.Errorf("%w: fetch program from %s: %v", wire.ErrUnavailable, shortID(src), err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(5 * time.Minute))
	rb, _ := json.Marshal(binReq{Hash: hash})
	if err := wire.WriteFrame(s, wire.TypeRequest, rb); err != nil {
		return fmt.Errorf("%w: fetch program: %v", wire.ErrUnavailable, err)
	}
	_ = s.CloseWrite()
	// The reply header is one frame; the bytes follow raw, so they stream
	// straight to disk.
	fr := wire.NewReader(s, 4096)
	typ, body, err := fr.Next()
	if err != nil || typ != wire.TypeReply {
		return fmt.Errorf("%w: fetch program: bad reply: %v", wire.ErrUnavailable, err)
	}
	var rep wire.Reply
	if err := wire.DecodeJSON(body, &rep); err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("fetch program: %w", err)
	}
	var br binReply
	if err := wire.DecodeJSON(rep.Body, &br); err != nil {
		return err
	}
	if br.Size != size {
		return fmt.Errorf("%w: program size %d, expected %d", wire.ErrMalformed, br.Size, size)
	}
	_, _, err = b.store(fr.Rest(), hash, size)
	return err
}

func (p *Peer) serveBin(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(5 * time.Minute))
	typ, body, err := wire.NewReader(s, 4096).Next()
	var req binReq
	if err != nil || typ != wire.TypeRequest || wire.DecodeJSON(body, &req) != nil || len(req.Hash) != 64 {
		_ = s.Reset()
		return
	}
	reply := func(r wire.Reply) error {
		b, _ := json.Marshal(r)
		return wire.WriteFrame(s, wire.TypeReply, b)
	}
	if _, err := hex.DecodeString(req.Hash); err != nil || !p.bins.has(req.Hash) {
		_ = reply(wire.Reply{Code: wire.CodeNotFound, Msg: "no such program here"})
		return
	}
	f, err := os.Open(p.bins.path(req.Hash))
	if err != nil {
		_ = reply(errReply(err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		_ = reply(errReply(err))
		return
	}
	body, _ = json.Marshal(binReply{Size: st.Size()})
	if err := reply(wire.Reply{Body: body}); err != nil {
		return
	}
	if _, err := io.Copy(s, f); err != nil && !errors.Is(err, io.EOF) {
		p.log.Debug("serve program", "err", err)
	}
}
