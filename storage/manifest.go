package storage

import (
	"encoding/binary"
	"fmt"
)

// Manifest lists a file's chunks in order. Its encoded form is a block
// like any other; its ID is the file's CID.
type Manifest struct {
	Size   int64
	Chunks []ChunkRef
}

// ChunkRef names one chunk of a file.
type ChunkRef struct {
	ID     ID
	Size   uint32
	Filter Filter
}

var manifestMagic = []byte("P2DM\x01")

// maxChunks bounds a manifest so that it fits in one block.
const maxChunks = MaxBlock / (len(ID{}) + 6)

// Encode returns the manifest's bytes: magic and version, the file size,
// the chunk count, then each chunk's ID, size and filter.
func (m *Manifest) Encode() []byte {
	b := append([]byte(nil), manifestMagic...)
	b = binary.AppendUvarint(b, uint64(m.Size))
	b = binary.AppendUvarint(b, uint64(len(m.Chunks)))
	for _, c := range m.Chunks {
		b = append(b, c.ID[:]...)
		b = binary.AppendUvarint(b, uint64(c.Size))
		b = append(b, byte(c.Filter))
	}
	return b
}

// DecodeManifest parses bytes from a block that claims to be a manifest.
// It never trusts a count or size it has not checked against the bytes.
func DecodeManifest(b []byte) (*Manifest, error) {
	bad := func(why string) (*Manifest, error) {
		return nil, fmt.Errorf("%w: manifest: %s", ErrCorrupt, why)
	}
	if len(b) < len(manifestMagic) || string(b[:len(manifestMagic)]) != string(manifestMagic) {
		return bad("not a manifest")
	}
	b = b[len(manifestMagic):]
	size, k := uvarint(b)
	if k <= 0 || size > 1<<62 {
		return bad("bad size")
	}
	b = b[k:]
	n, k := uvarint(b)
	if k <= 0 || n > uint64(maxChunks) || n > uint64(len(b)) {
		return bad("bad chunk count")
	}
	b = b[k:]
	m := &Manifest{Size: int64(size), Chunks: make([]ChunkRef, 0, n)}
	var sum uint64
	for i := uint64(0); i < n; i++ {
		var c ChunkRef
		if len(b) < len(c.ID) {
			return bad("truncated")
		}
		copy(c.ID[:], b)
		b = b[len(c.ID):]
		sz, k := uvarint(b)
		if k <= 0 || sz == 0 || sz > MaxChunk || len(b) < k+1 {
			return bad(fmt.Sprintf("chunk %d: bad size", i))
		}
		c.Size, c.Filter = uint32(sz), Filter(b[k])
		if c.Filter != FilterNone && c.Filter != FilterShuffle8 {
			return bad(fmt.Sprintf("chunk %d: unknown filter %d", i, c.Filter))
		}
		b = b[k+1:]
		sum += sz
		m.Chunks = append(m.Chunks, c)
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	if sum != size {
		return bad(fmt.Sprintf("chunks add up to %d bytes, file is %d", sum, size))
	}
	return m, nil
}

// uvarint is binary.Uvarint that also refuses non-minimal encodings, so
// that one manifest has exactly one encoding and so one CID.
func uvarint(b []byte) (uint64, int) {
	v, k := binary.Uvarint(b)
	if k > 0 && len(binary.AppendUvarint(nil, v)) != k {
		return 0, -1
	}
	return v, k
}
