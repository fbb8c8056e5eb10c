package storage

import "testing"

// A buffer from Buf, or a slice of it that starts up to bufSlack bytes in
// (aligned for direct I/O, past a block header), goes back to the class
// it came from, and every buffer of that class is big enough for what is
// taken from it.
func TestRecycledBuffersKeepTheirClass(t *testing.T) {
	for _, n := range []int{minPooled, minPooled + 1, 1 << 20, 1<<20 + 1, 3<<20 + 5, MaxBlock, MaxBlock + 8<<10} {
		b := Buf(n)
		if len(b) != n {
			t.Fatalf("Buf(%d) has length %d", n, len(b))
		}
		k := getClass(n)
		if 1<<k < n {
			t.Fatalf("class %d of %d bytes is too small", k, n)
		}
		for _, skip := range []int{0, 13, directAlign - 1 + 13} {
			if got := putClass(cap(b[skip:])); got != k {
				t.Errorf("n=%d: skipping %d bytes, recycled into class %d, taken from %d", n, skip, got, k)
			}
		}
		Recycle(b)
	}
	if b := Buf(100); len(b) != 100 {
		t.Fatalf("small Buf has length %d", len(b))
	}
}
