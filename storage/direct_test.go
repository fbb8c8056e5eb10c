package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Files written through DirectWriter and read by readFileDirect come back
// byte for byte, whatever their length and wherever the caller's bytes
// sit in memory, on a disk file system (direct I/O) and on tmpfs (where
// it may be refused and plain I/O is used).
func TestDirectWriteAndRead(t *testing.T) {
	dirs := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "direct-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs = append(dirs, d)
		}
	}
	data := randomBytes(21, 3<<20+4097)
	for _, dir := range dirs {
		for _, n := range []int{0, 1, 4095, 4096, 4097, directBuf - 1, directBuf, directBuf + 13, len(data) - 1} {
			for _, off := range []int{0, 1} { // aligned and unaligned source memory
				if off > 0 && n == len(data)-1 {
					n = len(data) - off
				}
				src := alignedBuf(make([]byte, n+off+directAlign), n+off)[off:]
				copy(src, data)
				path := filepath.Join(dir, "f")
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				w := NewDirectWriter(f)
				// Aligned memory goes in one write, straight from the
				// caller's bytes; unaligned in two, through the buffer.
				cut := min(n, 777)
				if off == 0 {
					cut = 0
				}
				if _, err := w.Write(src[:cut]); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(src[cut:]); err != nil {
					t.Fatal(err)
				}
				if err := w.Finish(); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				plain, err := os.ReadFile(path)
				if err != nil || !bytes.Equal(plain, src) {
					t.Fatalf("%s: %d bytes at offset %d: written %d bytes back, %v", dir, n, off, len(plain), err)
				}
				got, err := readFileDirect(path)
				if err != nil || !bytes.Equal(got, src) {
					t.Fatalf("%s: %d bytes at offset %d: read %d bytes, %v", dir, n, off, len(got), err)
				}
			}
		}
	}
}
