package storage

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// BlockStore is where whole files put and get their blocks: the local
// Disk now, the DHT-placed store later. PutFile and GetFile call Put and
// Get from several goroutines at once.
type BlockStore interface {
	Put(id ID, stored []byte) error
	Get(id ID) ([]byte, error)
}

// InFlight is how many blocks PutFile and GetFile move at once. A block
// put to the DHT store is a closest-peers lookup and then a write to
// each replica, which fsyncs; one at a time, the sender's link and CPU
// idle through every round trip and fsync. Four in flight keep them busy
// while holding at most four chunks (32 MiB at MaxChunk, 4 MiB typical)
// in memory.
const InFlight = 4

// PutFile chunks r, stores every chunk and then the manifest, and returns
// the CID. Chunks are hashed, encoded and put by up to InFlight
// goroutines while the next are being cut; a chunk that occurs twice in
// the file is put once. The manifest is put only after every chunk is
// stored, so a CID is never returned (nor stored) for a file whose
// chunks are not all there.
func PutFile(s BlockStore, r io.Reader, f Filter) (ID, *Manifest, error) {
	m := &Manifest{}
	var (
		wg   sync.WaitGroup
		slot = make(chan struct{}, InFlight)
		mu   sync.Mutex
		errs []error
		seen = map[ID]bool{}
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(errs) > 0
	}
	err := Split(r, func(chunk []byte) error {
		if failed() {
			return errStop
		}
		id := IDOf(chunk)
		m.Chunks = append(m.Chunks, ChunkRef{ID: id, Size: uint32(len(chunk)), Filter: f})
		m.Size += int64(len(chunk))
		if seen[id] {
			return nil
		}
		seen[id] = true
		// The chunk is valid only during this call; the goroutine
		// gets its own copy to encode.
		own := append([]byte(nil), chunk...)
		slot <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slot }()
			stored, err := Encode(own, f)
			if err == nil {
				err = s.Put(id, stored)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
		return nil
	})
	wg.Wait()
	if errors.Is(err, errStop) {
		err = nil
	}
	if err = errors.Join(append([]error{err}, errs...)...); err != nil {
		return ID{}, nil, err
	}
	if len(m.Chunks) > maxChunks {
		return ID{}, nil, fmt.Errorf("storage: file of %d chunks, limit %d", len(m.Chunks), maxChunks)
	}
	body := m.Encode()
	cid := IDOf(body)
	stored, err := Encode(body, FilterNone)
	if err == nil {
		err = s.Put(cid, stored)
	}
	if err != nil {
		return ID{}, nil, err
	}
	return cid, m, nil
}

// errStop ends Split early after a put failed; the put's error is the one
// reported.
var errStop = errors.New("storage: stopped")

// GetFile writes the file named by cid to w, every block verified. Up to
// InFlight chunks are fetched ahead of the one being written.
func GetFile(s BlockStore, cid ID, w io.Writer) (*Manifest, error) {
	body, err := s.Get(cid)
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(body)
	if err != nil {
		return nil, err
	}
	type fetched struct {
		data []byte
		err  error
	}
	var wg sync.WaitGroup
	// Fetches that are started are waited for, even when the file fails
	// half-way: no goroutine outlives the call.
	defer wg.Wait()
	ahead := make([]chan fetched, len(m.Chunks))
	start := func(i int) {
		if i >= len(m.Chunks) {
			return
		}
		ahead[i] = make(chan fetched, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := s.Get(m.Chunks[i].ID)
			ahead[i] <- fetched{data, err}
		}()
	}
	for i := 0; i < InFlight; i++ {
		start(i)
	}
	for i, c := range m.Chunks {
		got := <-ahead[i]
		ahead[i] = nil
		if got.err != nil {
			return nil, fmt.Errorf("storage: chunk %d of %s: %w", i, cid, got.err)
		}
		if len(got.data) != int(c.Size) {
			return nil, fmt.Errorf("%w: chunk %d of %s is %d bytes, manifest says %d", ErrCorrupt, i, cid, len(got.data), c.Size)
		}
		start(i + InFlight)
		if _, err := w.Write(got.data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var _ BlockStore = (*Disk)(nil)
