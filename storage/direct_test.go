package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Files written through DirectWriter (either kind) and read by
// readFileDirect come back byte for byte, whatever their length and
// wherever the caller's bytes sit in memory, on a disk file system
// (direct I/O) and on tmpfs (where it may be refused and plain I/O is
// used).
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
		for _, newWriter := range []func(*os.File) *DirectWriter{NewDirectWriter, NewStreamingDirectWriter} {
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
					w := newWriter(f)
					// Aligned memory goes in one write, straight from the
					// caller's bytes; unaligned in two, through the buffer;
					// and for the streaming writer also in pieces of 100003
					// bytes, as a get writes chunks.
					cut := min(n, 777)
					if off == 0 {
						cut = 0
					}
					if _, err := w.Write(src[:cut]); err != nil {
						t.Fatal(err)
					}
					for rest := src[cut:]; len(rest) > 0; {
						piece := len(rest)
						if w.full != nil {
							piece = min(piece, 100003)
						}
						if _, err := w.Write(rest[:piece]); err != nil {
							t.Fatal(err)
						}
						rest = rest[piece:]
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
}

// A write that fails in the background is reported by a later Write or
// by Finish, and Finish still ends the writer.
func TestStreamingDirectWriterReportsErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // read only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewStreamingDirectWriter(f)
	var werr error
	for i := 0; i < 4 && werr == nil; i++ {
		_, werr = w.Write(make([]byte, directBuf))
	}
	if ferr := w.Finish(); werr == nil && ferr == nil {
		t.Fatal("writes to a read-only file reported no error")
	}
}
