package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestPolynomialIsIrreducible(t *testing.T) {
	if !pol.Irreducible() {
		t.Fatal("the chunking polynomial must be irreducible")
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func chunksOf(t *testing.T, data []byte) []ID {
	t.Helper()
	var ids []ID
	if err := Split(bytes.NewReader(data), func(c []byte) error {
		if len(c) > MaxChunk {
			t.Fatalf("chunk of %d bytes", len(c))
		}
		ids = append(ids, IDOf(c))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// Chunking is deterministic, and an insertion near the start of a file
// leaves most of its chunks unchanged: what makes successive checkpoints
// cheap to store.
func TestChunkingIsDeterministicAndShiftResistant(t *testing.T) {
	data := randomBytes(1, 24<<20)
	a, b := chunksOf(t, data), chunksOf(t, data)
	if len(a) < 10 || !equalIDs(a, b) {
		t.Fatalf("%d chunks, or two runs differ", len(a))
	}
	edited := append(append(append([]byte(nil), data[:1000]...), []byte("a few inserted bytes")...), data[1000:]...)
	c := chunksOf(t, edited)
	shared := 0
	seen := map[ID]bool{}
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range c {
		if seen[id] {
			shared++
		}
	}
	if shared < len(a)-2 {
		t.Errorf("after a 20-byte insertion only %d of %d chunks are shared", shared, len(a))
	}
}

func equalIDs(a, b []ID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func float64s(n int) []byte {
	b := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		v := 100 * math.Exp(-float64(i)/5000) * math.Sin(float64(i)/37)
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

// Blocks round-trip under every filter, including lengths that are not a
// whole number of words; shuffling makes float64 data compress better.
func TestBlockRoundTripAndShuffle(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1000, 100003} {
		for _, f := range []Filter{FilterNone, FilterShuffle8} {
			content := randomBytes(uint64(n), n)
			stored, err := Encode(content, f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(IDOf(content), stored)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("n=%d filter=%d: %v", n, f, err)
			}
		}
	}
	grid := float64s(1 << 16)
	plain, _ := Encode(grid, FilterNone)
	shuffled, _ := Encode(grid, FilterShuffle8)
	if len(shuffled) >= len(plain) {
		t.Errorf("shuffled float64 block is %d bytes, unshuffled %d", len(shuffled), len(plain))
	}
	t.Logf("512 KiB of float64: %d bytes plain zstd, %d shuffled", len(plain), len(shuffled))
}

// A block whose bytes changed is refused, whatever changed.
func TestCorruptBlocksAreRefused(t *testing.T) {
	content := float64s(4096)
	id := IDOf(content)
	stored, _ := Encode(content, FilterShuffle8)
	for i := 0; i < len(stored); i += len(stored) / 50 {
		bad := append([]byte(nil), stored...)
		bad[i] ^= 0x40
		if _, err := Decode(id, bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipping byte %d: %v", i, err)
		}
	}
	if _, err := Decode(IDOf([]byte("other")), stored); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a block stored under the wrong ID: %v", err)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := &Manifest{Size: 3 + 1<<20, Chunks: []ChunkRef{
		{ID: IDOf([]byte("a")), Size: 1 << 20, Filter: FilterShuffle8},
		{ID: IDOf([]byte("b")), Size: 3},
	}}
	got, err := DecodeManifest(m.Encode())
	if err != nil || got.Size != m.Size || len(got.Chunks) != 2 || got.Chunks[0] != m.Chunks[0] || got.Chunks[1] != m.Chunks[1] {
		t.Fatalf("%+v, %v", got, err)
	}
	// A size written with a redundant varint byte is another encoding of
	// the same manifest, which would give it a second CID.
	padded := append([]byte("P2DM\x01\x80\x00"), 0)
	if _, err := DecodeManifest(padded); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("non-minimal varint accepted: %v", err)
	}
	m.Size++ // chunks no longer add up
	if _, err := DecodeManifest(m.Encode()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("inconsistent manifest: %v", err)
	}
}

// FuzzDecodeManifest: bytes from another peer never crash the decoder,
// and whatever it accepts encodes back to the same bytes.
func FuzzDecodeManifest(f *testing.F) {
	f.Add((&Manifest{Size: 5, Chunks: []ChunkRef{{Size: 5}}}).Encode())
	f.Add([]byte("P2DM\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatalf("accepted bytes do not round-trip")
		}
	})
}

// FuzzDecodeBlock: a stored block from another peer never crashes the
// decoder and is never accepted under an ID its content does not have.
func FuzzDecodeBlock(f *testing.F) {
	good, _ := Encode([]byte("hello, blocks"), FilterShuffle8)
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		content, err := Decode(IDOf([]byte("hello, blocks")), b)
		if err == nil && string(content) != "hello, blocks" {
			t.Fatalf("accepted %q under the wrong ID", content)
		}
	})
}

func TestDiskStoreFiles(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDisk(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	data := append(randomBytes(7, 5<<20), float64s(1<<18)...)
	cid, m, err := PutFile(d, bytes.NewReader(data), FilterNone)
	if err != nil || m.Size != int64(len(data)) {
		t.Fatalf("put: %v (size %v)", err, m)
	}
	var out bytes.Buffer
	if _, err := GetFile(d, cid, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get: %v, %d bytes back", err, out.Len())
	}
	used := d.Used()
	if _, _, err := PutFile(d, bytes.NewReader(data), FilterNone); err != nil || d.Used() != used {
		t.Errorf("storing the same file again took %d more bytes (%v)", d.Used()-used, err)
	}
	// Reopening counts what is there.
	d2, err := OpenDisk(dir, 64<<20)
	if err != nil || d2.Used() != used {
		t.Fatalf("reopened: used %d, want %d (%v)", d2.Used(), used, err)
	}
	// A block damaged on disk is reported, removed, and never returned.
	victim := m.Chunks[1].ID
	p := d.path(victim)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o600)
	if _, err := GetFile(d, cid, &bytes.Buffer{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged chunk: %v", err)
	}
	if d.Has(victim) {
		t.Error("the damaged copy is still there")
	}
	if _, err := d.Get(victim); !errors.Is(err, ErrNotFound) {
		t.Errorf("after removal: %v", err)
	}
}

func TestDiskRefusesBadAndOversizedBlocks(t *testing.T) {
	dir := t.TempDir()
	d, _ := OpenDisk(dir, 1000)
	content := randomBytes(3, 4000)
	stored, _ := Encode(content, FilterNone)
	if err := d.Put(IDOf(content), stored); !errors.Is(err, ErrFull) {
		t.Fatalf("over capacity: %v", err)
	}
	small := []byte("small")
	s, _ := Encode(small, FilterNone)
	if err := d.Put(IDOf([]byte("not this")), s); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("block under a wrong ID: %v", err)
	}
	if err := d.Put(IDOf(small), s); err != nil {
		t.Fatal(err)
	}
	// A write a crash interrupted leaves a temporary file; opening the
	// store again removes it and does not count it.
	os.WriteFile(filepath.Join(dir, "tmp", "block-123"), []byte("half"), 0o600)
	d2, err := OpenDisk(dir, 1000)
	if err != nil || d2.Used() != int64(len(s)) {
		t.Fatalf("used %d, want %d (%v)", d2.Used(), len(s), err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("%d temporary files left", len(left))
	}
}
