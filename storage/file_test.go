package storage

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// slowStore is an in-memory BlockStore whose puts take a while, so that
// concurrent ones overlap, and which fails every put after failAfter.
// A put waits (up to a second) for a second one to start: cutting the
// next chunk is slow under the race detector, and overlap is what the
// test is about, not a race against the chunker.
type slowStore struct {
	mu         sync.Mutex
	blocks     map[ID][]byte
	puts       int
	now, most  int // puts in progress, and the most at once
	failAfter  int
	overlap    chan struct{} // closed once two puts were in progress
	overlapped bool
}

func (s *slowStore) Put(id ID, stored []byte) error {
	s.mu.Lock()
	if s.overlap == nil {
		s.overlap = make(chan struct{})
	}
	s.puts++
	n := s.puts
	s.now++
	s.most = max(s.most, s.now)
	if s.now == 2 && !s.overlapped {
		s.overlapped = true
		close(s.overlap)
	}
	overlap := s.overlap
	s.mu.Unlock()
	select {
	case <-overlap:
	case <-time.After(time.Second):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now--
	if s.failAfter > 0 && n > s.failAfter {
		return errors.New("injected failure")
	}
	s.blocks[id] = bytes.Clone(stored) // PutFile reuses stored
	return nil
}

func (s *slowStore) Get(id ID) ([]byte, error) {
	s.mu.Lock()
	b, ok := s.blocks[id]
	s.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	// The caller owns (and may recycle) what Get returns, and a raw
	// block's content is its stored bytes: decode a copy.
	return Decode(id, bytes.Clone(b))
}

func TestPutFileOverlapsPutsAndGetsInOrder(t *testing.T) {
	s := &slowStore{blocks: map[ID][]byte{}}
	data := randomBytes(11, 12<<20)
	cid, m, err := PutFile(s, bytes.NewReader(data), FilterNone)
	if err != nil {
		t.Fatal(err)
	}
	if s.most < 2 || s.most > PutInFlight {
		t.Errorf("%d puts at once, want 2..%d", s.most, PutInFlight)
	}
	var out bytes.Buffer
	if _, err := GetFile(s, cid, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get: %v, %d bytes back of %d in %d chunks", err, out.Len(), len(data), len(m.Chunks))
	}
}

func TestPutFileStoresNoManifestAfterAFailedChunk(t *testing.T) {
	s := &slowStore{blocks: map[ID][]byte{}, failAfter: 3}
	if _, _, err := PutFile(s, bytes.NewReader(randomBytes(12, 16<<20)), FilterNone); err == nil {
		t.Fatal("a put failed and PutFile did not say so")
	}
	for id, b := range s.blocks {
		c, err := Decode(id, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeManifest(c); err == nil {
			t.Fatal("a manifest was stored for a file whose chunks are not all there")
		}
	}
}

func TestPutFilePutsARepeatedChunkOnce(t *testing.T) {
	s := &slowStore{blocks: map[ID][]byte{}}
	// Zeros are cut at MaxChunk into identical chunks.
	chunk := randomBytes(13, MaxChunk)
	data := append(append(bytes.Repeat([]byte{0}, 3*MaxChunk), chunk...), chunk...)
	_, m, err := PutFile(s, bytes.NewReader(data), FilterNone)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[ID]bool{}
	for _, c := range m.Chunks {
		distinct[c.ID] = true
	}
	if len(distinct) == len(m.Chunks) {
		t.Fatal("the test file has no repeated chunk")
	}
	if s.puts != len(distinct)+1 {
		t.Errorf("%d puts for %d distinct chunks and a manifest", s.puts, len(distinct))
	}
}
