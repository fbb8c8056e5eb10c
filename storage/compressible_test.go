package storage

import (
	"bytes"
	"testing"
)

// Encode compresses what zstd can shrink and stores the rest raw, and the
// sample decides the same way as compressing the whole chunk would for
// data that is uniformly compressible or not.
func TestEncodeSkipsIncompressibleChunks(t *testing.T) {
	const n = 1 << 20
	halfZero := append(make([]byte, n/2), randomBytes(3, n/2)...)
	// Random bytes with every 64 KiB repeated: long-range matches that
	// zstd finds in the whole chunk, though no small piece compresses.
	repeated := bytes.Repeat(randomBytes(4, 64<<10), n/(64<<10))
	for _, tc := range []struct {
		name    string
		content []byte
		f       Filter
		want    Codec
	}{
		{"random", randomBytes(1, n), FilterNone, CodecNone},
		{"random shuffled", randomBytes(2, n), FilterShuffle8, CodecNone},
		{"zeros", make([]byte, n), FilterNone, CodecZstd},
		{"text", bytes.Repeat([]byte("the block store keeps three copies of every chunk. "), n/50), FilterNone, CodecZstd},
		// Unshuffled float64s do not compress either (see
		// TestBlockRoundTripAndShuffle): the sample agrees.
		{"float64 grid", float64s(n / 8), FilterNone, CodecNone},
		{"float64 grid shuffled", float64s(n / 8), FilterShuffle8, CodecZstd},
		{"half zeros, half random", halfZero, FilterNone, CodecZstd},
		// The price of sampling: repeats longer than a piece, at a
		// period the pieces do not fall on, go unseen.
		{"repeated random", repeated, FilterNone, CodecNone},
		// Small blocks (manifests, tails) are always tried whole.
		{"small random", randomBytes(5, 2*sampleSize), FilterNone, CodecNone},
		{"small text", bytes.Repeat([]byte("manifest "), 100), FilterNone, CodecZstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored, err := Encode(tc.content, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := Codec(stored[1]); got != tc.want {
				t.Errorf("codec %d, want %d (%d of %d bytes)", got, tc.want, len(stored), len(tc.content))
			}
			if got, err := Decode(IDOf(tc.content), stored); err != nil || !bytes.Equal(got, tc.content) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
}

// The sample is taken from the whole chunk, first and last bytes
// included, whatever its length: a piece's worth of zeros at either end
// is seen.
func TestSampleCoversTheChunk(t *testing.T) {
	e, _ := codecs()
	for _, n := range []int{2*sampleSize + 1, 3*sampleSize + 7, MaxChunk} {
		b := randomBytes(uint64(n), n)
		if worthCompressing(e, b) {
			t.Errorf("n=%d: random bytes judged compressible", n)
		}
		clear(b[:samplePiece])
		if !worthCompressing(e, b) {
			t.Errorf("n=%d: zeros at the start not seen", n)
		}
		b = randomBytes(uint64(n), n)
		clear(b[n-samplePiece:])
		if !worthCompressing(e, b) {
			t.Errorf("n=%d: zeros at the end not seen", n)
		}
	}
}
