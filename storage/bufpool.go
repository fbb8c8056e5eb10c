package storage

import (
	"math/bits"
	"sync"
)

// Buffers for blocks on the data path. On the VMs we run on, a fresh
// megabyte costs about as much as hashing it: the runtime zeroes it or
// the kernel faults its pages in (0.4-1.3 CPU-s per GB allocated, in a
// microbenchmark). So blocks are read, received and encoded into buffers
// that go back to a pool when their owner is done.
//
// The pool has a class per power of two. Buf(n) takes from the class of
// the next power of two, so any buffer there is big enough. A buffer is
// made a little larger than its class, bufSlack bytes, so that a slice of
// it that starts that far in (aligned for direct I/O, or past a block's
// header) still goes back to the same class rather than the one below.
const (
	minPooled = 64 << 10
	bufSlack  = 2 * directAlign
)

var bufPools [bits.UintSize]sync.Pool

// Buf returns a buffer of length n whose bytes are undefined. Hand it to
// Recycle once nothing refers to it any more; one that is not recycled
// is simply garbage.
func Buf(n int) []byte {
	if n < minPooled {
		return make([]byte, n)
	}
	k := getClass(n)
	if b, ok := bufPools[k].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<k+bufSlack)
}

// Recycle returns a buffer from Buf, or a slice of one, to the pool. The
// caller must not use b, nor any other slice of the same buffer, after.
// Small buffers are left to the garbage collector.
func Recycle(b []byte) {
	if cap(b) < minPooled {
		return
	}
	b = b[:0]
	bufPools[putClass(cap(b))].Put(&b)
}

// getClass is the class Buf takes n bytes from: every buffer there holds
// 1<<k >= n bytes.
func getClass(n int) int { return bits.Len(uint(n - 1)) }

// putClass is the class a buffer of capacity c goes back to: the largest
// k with 1<<k <= c.
func putClass(c int) int { return bits.Len(uint(c)) - 1 }
