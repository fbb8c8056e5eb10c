package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Direct I/O for what the store fsyncs anyway: block files, and the files
// a get writes. Such a file's bytes go to the disk before anyone reads
// them, so copying them into the page cache first buys nothing, and on
// the virtual disks we run on it is the dearest part of a write: 1.3 s of
// system time per GB written through the page cache, 0.16 s with
// O_DIRECT, and reading a block back costs 1.6 s per GB through a cold
// page cache, 0.08 s direct. Blocks are self-certifying and read once per
// get, so nothing is lost by not caching them.
//
// O_DIRECT wants offsets, lengths and memory aligned; a file's unaligned
// tail is written and read through the page cache (the flag is switched
// off for it), and a file system that refuses O_DIRECT (tmpfs on older
// kernels, other systems) gets plain I/O throughout.

// directAlign is the alignment O_DIRECT needs; 4096 covers every usual
// logical block size.
const directAlign = 4096

// directBuf is the size of a DirectWriter's buffer.
const directBuf = 1 << 20

var directBufs = sync.Pool{New: func() any {
	return alignedBuf(make([]byte, directBuf+directAlign), directBuf)[:directBuf:directBuf]
}}

// alignedBuf returns n bytes of b, which has directAlign bytes to spare,
// whose first byte is directAlign-aligned. Its capacity runs to b's end,
// so that Recycle puts it in b's class.
func alignedBuf(b []byte, n int) []byte {
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % directAlign); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n]
}

func aligned(b []byte) bool {
	return len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%directAlign == 0
}

// DirectWriter writes a new file from its start with O_DIRECT where the
// file system allows it. Finish writes what is left; the caller then
// syncs and closes the file, and must call Finish even after an error.
// Not safe for concurrent use.
type DirectWriter struct {
	f      *os.File
	plain  bool   // no O_DIRECT from the start: Write writes through
	direct bool   // O_DIRECT is on; only writeAligned turns it off
	buf    []byte // aligned, from directBufs; nil once finished
	n      int    // bytes buffered

	// Background writing (NewStreamingDirectWriter): a full buffer goes
	// to a goroutine that writes it while Write fills the other one.
	full  chan []byte  // buffers to write, in file order
	free  chan []byte  // buffers written, to fill again
	ended chan error   // the writer goroutine's first error, once it ends
	bgErr atomic.Value // error: the first write that failed, seen by Write
}

// NewDirectWriter returns a writer to f, a file just created (empty,
// offset 0) for writing. Each Write that fills the buffer waits for the
// disk: for one block, which is written once, whole.
func NewDirectWriter(f *os.File) *DirectWriter {
	w := &DirectWriter{f: f, direct: setDirect(f, true) == nil}
	w.plain = !w.direct
	if w.direct {
		w.buf = directBufs.Get().([]byte)
	}
	return w
}

// NewStreamingDirectWriter is NewDirectWriter for a long file written in
// many pieces, like the file a get writes: full buffers are written in
// the background, so the caller fetches and checks the next piece while
// the disk takes the last one (a direct write does not return before
// the disk has the data). Errors show in a later Write or in Finish.
func NewStreamingDirectWriter(f *os.File) *DirectWriter {
	w := NewDirectWriter(f)
	if w.plain {
		return w
	}
	w.full, w.free, w.ended = make(chan []byte, 1), make(chan []byte, 1), make(chan error, 1)
	w.free <- directBufs.Get().([]byte)
	go func() {
		var err error
		for b := range w.full {
			if err == nil {
				if err = w.writeAligned(b); err != nil {
					w.bgErr.Store(err)
				}
			}
			w.free <- b
		}
		w.ended <- err
	}()
	return w
}

// Write buffers p and writes every full buffer. A caller's aligned slice
// met with an empty buffer is written straight from its memory (not in
// the background: the memory is the caller's again once Write returns).
func (w *DirectWriter) Write(p []byte) (int, error) {
	if w.plain {
		return w.f.Write(p)
	}
	if w.buf == nil {
		return 0, errors.New("storage: write after Finish")
	}
	if err, _ := w.bgErr.Load().(error); err != nil {
		return 0, err
	}
	total := len(p)
	if w.full == nil && w.n == 0 && aligned(p) && len(p) >= directAlign {
		k := len(p) &^ (directAlign - 1)
		if err := w.writeAligned(p[:k]); err != nil {
			return 0, err
		}
		p = p[k:]
	}
	for len(p) > 0 {
		c := copy(w.buf[w.n:], p)
		w.n += c
		p = p[c:]
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return total - len(p) - c, err
			}
			w.n = 0
		}
	}
	return total, nil
}

// flush writes the full buffer, or hands it to the background writer and
// takes the other buffer once that one is written.
func (w *DirectWriter) flush() error {
	if w.full == nil {
		return w.writeAligned(w.buf)
	}
	w.full <- w.buf
	w.buf = <-w.free
	return nil
}

// writeAligned writes whole aligned blocks; if the kernel refuses the
// direct write after all, the file goes on without O_DIRECT.
func (w *DirectWriter) writeAligned(p []byte) error {
	n, err := w.f.Write(p)
	if err != nil && errors.Is(err, syscall.EINVAL) && w.direct {
		w.direct = false
		if err = setDirect(w.f, false); err == nil {
			_, err = w.f.Write(p[n:])
		}
	}
	return err
}

// Finish writes what is buffered: its aligned part directly and the tail
// through the page cache. The file is complete once it returns; the
// caller still syncs it.
func (w *DirectWriter) Finish() error {
	if w.buf == nil {
		return nil
	}
	buf := w.buf[:w.n]
	defer func() {
		directBufs.Put(w.buf[:cap(w.buf)])
		w.buf = nil
	}()
	if w.full != nil {
		// Everything handed over is written (or failed) before the
		// rest: the writes go in file order.
		close(w.full)
		err := <-w.ended
		directBufs.Put(<-w.free)
		if err != nil {
			return err
		}
	}
	k := len(buf) &^ (directAlign - 1)
	if k > 0 {
		if err := w.writeAligned(buf[:k]); err != nil {
			return err
		}
	}
	if w.direct {
		if err := setDirect(w.f, false); err != nil {
			return fmt.Errorf("storage: clearing O_DIRECT: %w", err)
		}
		w.direct = false
	}
	_, err := w.f.Write(buf[k:])
	return err
}

// readFileDirect reads a whole file with O_DIRECT where it can. The
// result is the file's bytes, in memory aligned for direct I/O, from Buf:
// the caller may Recycle it.
func readFileDirect(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := int(info.Size())
	if size < directAlign || setDirect(f, true) != nil {
		b := Buf(size)
		_, err := io.ReadFull(f, b)
		return b, err
	}
	// Room to the next aligned length, so the last direct read asks for
	// whole blocks and gets the short tail.
	n := (size + directAlign - 1) &^ (directAlign - 1)
	b := alignedBuf(Buf(n+directAlign), n)
	off := 0
	for off < size {
		n, err := f.Read(b[off:])
		off += n
		switch {
		case errors.Is(err, syscall.EINVAL):
			// Refused after all: the rest through the page cache.
			if err = setDirect(f, false); err != nil {
				return nil, err
			}
		case err == io.EOF || err == nil && n == 0:
			return nil, fmt.Errorf("storage: %s: %d of %d bytes: %w", path, off, size, io.ErrUnexpectedEOF)
		case err != nil:
			return nil, err
		case off%directAlign != 0 && off < size:
			// A short read mid-file would leave the next one unaligned.
			if err = setDirect(f, false); err != nil {
				return nil, err
			}
		}
	}
	return b[:size], nil
}
