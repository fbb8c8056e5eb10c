package storage

import "testing"

// BenchmarkShuffle8 is the filter's round trip on 8 MiB of float64s, the
// bulk of a checkpoint (a before/after pair is in the commit message).
func BenchmarkShuffle8(b *testing.B) {
	data := float64s(1 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		unshuffle8(shuffle8(data))
	}
}
