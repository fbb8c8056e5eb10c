package storage

import (
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Most bulk data a DVM stores is either compressible all through
// (checkpoints of float grids, text, logs) or not at all (already
// compressed or encrypted files, random bytes). zstd on an incompressible
// chunk costs about 1.5 CPU-s per GB and then is thrown away, as Encode
// keeps the raw bytes when zstd does not shrink them. So Encode first
// compresses a sample: samplePieces pieces of samplePiece bytes spread
// evenly over the chunk, one input to zstd. Only if the sample shrinks
// by at least 1/sampleGain is the whole chunk compressed. The sample
// costs 1/32 of compressing the chunk.
//
// A chunk whose compressible part lies entirely between the pieces is
// stored raw: the price of the shortcut. Spreading the pieces evenly
// covers every byte plane of a shuffled (FilterShuffle8) chunk, each an
// eighth of it, at least twice.
const (
	samplePieces = 16
	samplePiece  = 2 << 10
	sampleSize   = samplePieces * samplePiece
	sampleGain   = 32
)

// sampleBufs holds the sample and zstd's output for it, so that the test
// allocates nothing per chunk.
var sampleBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 2*sampleSize+1024)
	return &b
}}

// worthCompressing reports whether zstd is likely to shrink b by more than
// the block header it costs, judging from a sample. Inputs no larger than
// two samples are always worth a try: compressing them costs little more
// than the sample would.
func worthCompressing(e *zstd.Encoder, b []byte) bool {
	if len(b) <= 2*sampleSize {
		return true
	}
	bp := sampleBufs.Get().(*[]byte)
	defer sampleBufs.Put(bp)
	sample := (*bp)[:0]
	step := (len(b) - samplePiece) / (samplePieces - 1)
	for i := range samplePieces {
		sample = append(sample, b[i*step:i*step+samplePiece]...)
	}
	out := e.EncodeAll(sample, sample[len(sample):len(sample):cap(sample)])
	return len(out) <= sampleSize-sampleSize/sampleGain
}
