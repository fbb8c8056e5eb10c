package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A block on disk and on the wire is a small header and a payload:
//
//	version (1) | codec (1) | filter (1) | raw length (uvarint) | payload
//
// The codec and the filter are recorded per block, so either can change
// without breaking data already stored.

const blockVersion = 1

// Codec is how a block's payload is compressed.
type Codec byte

const (
	CodecNone Codec = 0
	CodecZstd Codec = 1
)

// Filter is a reversible transform applied before compression.
type Filter byte

const (
	FilterNone Filter = 0
	// FilterShuffle8 regroups the bytes of 8-byte words by their position
	// in the word (all first bytes, then all second bytes, ...). Arrays of
	// float64 compress poorly as they are and much better shuffled,
	// because neighbouring values share exponent and high mantissa bytes.
	FilterShuffle8 Filter = 1
)

// MaxBlock bounds a block's raw content: the largest chunk, or a manifest
// of a file of about 4 TiB.
const MaxBlock = MaxChunk + 64

// ErrCorrupt marks a block whose bytes do not decode or do not match the
// ID they are stored under. Callers test it with errors.Is.
var ErrCorrupt = errors.New("storage: corrupt block")

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	dec     *zstd.Decoder
)

func codecs() (*zstd.Encoder, *zstd.Decoder) {
	encOnce.Do(func() {
		enc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(2*MaxBlock))
	})
	return enc, dec
}

// Encode makes the stored form of content: filtered, then compressed
// with zstd unless a sample says it would not help (compressible.go) or
// the result is no smaller.
func Encode(content []byte, f Filter) ([]byte, error) {
	if len(content) > MaxBlock {
		return nil, fmt.Errorf("storage: block of %d bytes, limit %d", len(content), MaxBlock)
	}
	return AppendEncoded(make([]byte, 0, EncodedBound(len(content))), content, f)
}

// EncodedBound is the most bytes the stored form of n bytes of content
// takes: zstd's worst case, or the raw bytes, and the header.
func EncodedBound(n int) int {
	e, _ := codecs()
	return max(e.MaxEncodedSize(n), n) + 3 + binary.MaxVarintLen64
}

// AppendEncoded appends the stored form of content (as Encode makes it) to
// dst. With EncodedBound(len(content)) bytes free in dst it allocates
// nothing but FilterShuffle8's copy, so a caller that puts many blocks
// can take dst from a pool (Buf).
func AppendEncoded(dst, content []byte, f Filter) ([]byte, error) {
	if len(content) > MaxBlock {
		return nil, fmt.Errorf("storage: block of %d bytes, limit %d", len(content), MaxBlock)
	}
	if f != FilterNone && f != FilterShuffle8 {
		return nil, fmt.Errorf("storage: unknown filter %d", f)
	}
	filtered := content
	if f == FilterShuffle8 {
		filtered = shuffle8(content)
		defer Recycle(filtered)
	}
	e, _ := codecs()
	start := len(dst)
	out := binary.AppendUvarint(append(dst, blockVersion, byte(CodecZstd), byte(f)), uint64(len(content)))
	hdr := len(out)
	if worthCompressing(e, filtered) {
		out = e.EncodeAll(filtered, out)
		if len(out)-hdr < len(filtered) {
			return out, nil
		}
	}
	out = append(out[:hdr], filtered...)
	out[start+1] = byte(CodecNone)
	return out, nil
}

// Decode returns the content of a stored block and checks it against id.
// The content may share memory with stored (a block stored without
// compression or filter is its own content after the header): copying it
// would cost as much as the hash.
func Decode(id ID, stored []byte) ([]byte, error) {
	content, err := decode(stored)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrCorrupt, id, err)
	}
	if IDOf(content) != id {
		return nil, fmt.Errorf("%w %s: content hashes to %s", ErrCorrupt, id, IDOf(content))
	}
	return content, nil
}

func decode(stored []byte) ([]byte, error) {
	if len(stored) < 4 || stored[0] != blockVersion {
		return nil, errors.New("bad header")
	}
	codec, f := Codec(stored[1]), Filter(stored[2])
	n, k := binary.Uvarint(stored[3:])
	if k <= 0 || n > MaxBlock {
		return nil, fmt.Errorf("bad length %d", n)
	}
	payload := stored[3+k:]
	var raw []byte
	switch codec {
	case CodecNone:
		raw = payload
	case CodecZstd:
		_, d := codecs()
		var err error
		if raw, err = d.DecodeAll(payload, Buf(int(n))[:0]); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown codec %d", codec)
	}
	if uint64(len(raw)) != n {
		return nil, fmt.Errorf("%d bytes, header says %d", len(raw), n)
	}
	switch f {
	case FilterNone:
		return raw, nil
	case FilterShuffle8:
		content := unshuffle8(raw)
		if codec != CodecNone {
			Recycle(raw) // decoded into a buffer of its own
		}
		return content, nil
	}
	return nil, fmt.Errorf("unknown filter %d", f)
}

// shuffle8 transposes the whole 8-byte words of b; a tail shorter than a
// word stays as it is.
func shuffle8(b []byte) []byte {
	out := Buf(len(b))
	words := len(b) / 8
	p := planes(out, words)
	// One 8-byte load per word and a store to each plane: about three
	// times faster than a byte loop that indexes both sides.
	for i := range words {
		v := binary.LittleEndian.Uint64(b[i*8:])
		p[0][i], p[1][i], p[2][i], p[3][i] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		p[4][i], p[5][i], p[6][i], p[7][i] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
	}
	copy(out[words*8:], b[words*8:])
	return out
}

func unshuffle8(b []byte) []byte {
	out := Buf(len(b))
	words := len(b) / 8
	p := planes(b, words)
	for i := range words {
		v := uint64(p[0][i]) | uint64(p[1][i])<<8 | uint64(p[2][i])<<16 | uint64(p[3][i])<<24 |
			uint64(p[4][i])<<32 | uint64(p[5][i])<<40 | uint64(p[6][i])<<48 | uint64(p[7][i])<<56
		binary.LittleEndian.PutUint64(out[i*8:], v)
	}
	copy(out[words*8:], b[words*8:])
	return out
}

// planes cuts the first 8*words bytes of b into the 8 byte planes of the
// shuffled layout, each exactly words long.
func planes(b []byte, words int) (p [8][]byte) {
	for k := range p {
		p[k] = b[k*words : (k+1)*words : (k+1)*words]
	}
	return p
}
