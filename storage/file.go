package storage

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// BlockStore is where whole files put and get their blocks: the local
// Disk, or the DHT-placed store of package dvm.
//
// Put may be called concurrently and must not keep stored, nor hand it to
// anything that outlives the call: PutFile recycles the buffer (Recycle)
// once Put returns. Get's result belongs to the caller, which may recycle
// it, so Get must not return bytes it keeps.
type BlockStore interface {
	Put(id ID, stored []byte) error
	Get(id ID) ([]byte, error)
}

// InFlight is how many blocks GetFile and WriteChunks fetch ahead: a get
// is a request and a reply per block, and four in flight keep the link
// and the CPU busy through every round trip while holding at most four
// chunks (32 MiB at MaxChunk, 4 MiB typical) in memory.
const InFlight = 4

// A block put to the DHT store travels a chain of k holders, each
// storing it (fsync) and passing it on before the uploader hears back,
// so a put takes k transfers and round trips while the uploader's link
// carries it once: it takes about k times the puts in flight that gets
// need to keep the uploader's link busy. More is worse, not better:
// blocks queued on the links delay every small message behind them,
// the DHT lookups included (storebench upload, 8 uploaders on mocknet:
// 32 MB/s with 4 in flight, 37 with 6 or 8, 22-26 with 16, 16 with 32).
// PutFile keeps up to PutInFlight chunks in flight, but no more than
// PutInFlightBytes of them (one chunk always goes): 8 typical chunks,
// 4 of the largest.
const (
	PutInFlight      = 8
	PutInFlightBytes = 32 << 20
)

// putBudget bounds the chunks PutFile has in flight by count and bytes.
type putBudget struct {
	mu    sync.Mutex
	freed sync.Cond
	n     int
	bytes int
}

func (b *putBudget) acquire(size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n > 0 && (b.n >= PutInFlight || b.bytes+size > PutInFlightBytes) {
		b.freed.Wait()
	}
	b.n++
	b.bytes += size
}

func (b *putBudget) release(size int) {
	b.mu.Lock()
	b.n--
	b.bytes -= size
	b.mu.Unlock()
	b.freed.Broadcast()
}

// PutFile chunks r, stores every chunk and then the manifest, and returns
// the CID. Chunks are encoded and put by up to PutInFlight goroutines
// (and PutInFlightBytes) while the next are being cut; a chunk that occurs twice in the file is put
// once. The manifest is stored last, only once every chunk is: a put that
// fails or is interrupted half-way leaves chunks without a manifest,
// never a CID that names an incomplete file.
func PutFile(s BlockStore, r io.Reader, f Filter) (ID, *Manifest, error) {
	var (
		wg   sync.WaitGroup
		bud  putBudget
		mu   sync.Mutex
		errs []error
		seen = map[ID]bool{}
	)
	bud.freed.L = &bud.mu
	m, err := chunkFile(r, f, func(id ID, chunk []byte) error {
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed {
			return errStop
		}
		if seen[id] {
			return nil
		}
		seen[id] = true
		// The chunk is valid only during this call, so it is encoded
		// here, into the block the put then owns, rather than copied
		// for a goroutine to encode: one copy of every byte fewer, and
		// encoding loses no parallelism, as all Encode calls share one
		// zstd encoder. The block's buffer goes back to the pool once
		// it is stored (bufpool.go).
		stored, err := AppendEncoded(Buf(EncodedBound(len(chunk)))[:0], chunk, f)
		if err != nil {
			return err
		}
		bud.acquire(len(stored))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer Recycle(stored)
			defer bud.release(len(stored))
			if err := s.Put(id, stored); err != nil {
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

// CIDOf is the CID that PutFile would give r's bytes, computed without
// storing anything: how a cache checks a file it holds under its CID.
func CIDOf(r io.Reader, f Filter) (ID, *Manifest, error) {
	m, err := chunkFile(r, f, func(ID, []byte) error { return nil })
	if err != nil {
		return ID{}, nil, err
	}
	return IDOf(m.Encode()), m, nil
}

// chunkFile cuts r into chunks, calls each with every chunk and its ID,
// and returns the manifest that lists them.
func chunkFile(r io.Reader, f Filter, each func(ID, []byte) error) (*Manifest, error) {
	m := &Manifest{}
	err := Split(r, func(chunk []byte) error {
		id := IDOf(chunk)
		if err := each(id, chunk); err != nil {
			return err
		}
		m.Chunks = append(m.Chunks, ChunkRef{ID: id, Size: uint32(len(chunk)), Filter: f})
		m.Size += int64(len(chunk))
		return nil
	})
	if err != nil {
		return m, err
	}
	if len(m.Chunks) > maxChunks {
		return nil, fmt.Errorf("storage: file of %d chunks, limit %d", len(m.Chunks), maxChunks)
	}
	return m, nil
}

// GetFile writes the file named by cid to w, every block verified.
func GetFile(s BlockStore, cid ID, w io.Writer) (*Manifest, error) {
	m, err := ReadManifest(s, cid)
	if err != nil {
		return nil, err
	}
	return m, WriteChunks(s, cid, m, w)
}

// ReadManifest fetches and decodes the manifest named by cid, so that a
// reader knows a file's size before it fetches the file.
func ReadManifest(s BlockStore, cid ID) (*Manifest, error) {
	body, err := s.Get(cid)
	if err != nil {
		return nil, err
	}
	return DecodeManifest(body)
}

// WriteChunks writes the chunks m lists to w in order, each verified and
// checked against the size the manifest gives it. Up to InFlight chunks
// are fetched ahead of the one being written.
func WriteChunks(s BlockStore, cid ID, m *Manifest, w io.Writer) error {
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
			return fmt.Errorf("storage: chunk %d of %s: %w", i, cid, got.err)
		}
		if len(got.data) != int(c.Size) {
			return fmt.Errorf("%w: chunk %d of %s is %d bytes, manifest says %d", ErrCorrupt, i, cid, len(got.data), c.Size)
		}
		start(i + InFlight)
		_, err := w.Write(got.data)
		Recycle(got.data) // a Writer does not keep what it is given
		if err != nil {
			return err
		}
	}
	return nil
}

var _ BlockStore = (*Disk)(nil)
