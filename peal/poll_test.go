package peal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// feed runs data through a framer in pieces of step bytes and returns the
// frames it cut, or the first error.
func feed(data []byte, step, max int) ([][]byte, error) {
	f := framer{max: max}
	var out [][]byte
	for len(data) > 0 {
		sp := f.space()
		n := copy(sp, data[:min(step, len(data))])
		data = data[n:]
		f.w += n
		for {
			typ, body, ok, err := f.next()
			if err != nil {
				return out, err
			}
			if !ok {
				break
			}
			out = append(out, append([]byte{typ}, body...))
		}
	}
	return out, nil
}

func TestFramerCutsFramesFromAnyPieces(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i, n := range []int{0, 1, 100, 70000, 3, 200000} {
		body := bytes.Repeat([]byte{byte(i + 1)}, n)
		stream = append(wire.AppendFrameHeader(stream, byte(i+1), n), body...)
		want = append(want, append([]byte{byte(i + 1)}, body...))
	}
	for _, step := range []int{1, 7, 4096, 1 << 20} {
		got, err := feed(stream, step, 1<<20)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(got) != len(want) {
			t.Fatalf("step %d: %d frames, want %d", step, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("step %d: frame %d differs", step, i)
			}
		}
	}
}

func TestFramerRefusesBadFrames(t *testing.T) {
	if _, err := feed([]byte{0, 0, 0, 0, 9}, 5, 100); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("empty frame: %v", err)
	}
	if _, err := feed(wire.AppendFrameHeader(nil, 4, 101), 5, 100); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversized frame: %v", err)
	}
}

// FuzzFramer feeds arbitrary bytes from a peer, in arbitrary pieces: the
// framer must never panic, never return a frame over its limit, and cut
// the same frames whatever the piece size.
func FuzzFramer(f *testing.F) {
	f.Add(wire.AppendFrameHeader(nil, 4, 3), uint8(1))
	f.Add([]byte{5, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0}, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		const limit = 1 << 12
		a, errA := feed(data, int(step)+1, limit)
		b, errB := feed(data, len(data)+1, limit)
		if (errA == nil) != (errB == nil) || len(a) != len(b) {
			t.Fatalf("piece size changed the result: %d frames (%v) vs %d (%v)", len(a), errA, len(b), errB)
		}
		for i := range a {
			if len(a[i])-1 > limit || !bytes.Equal(a[i], b[i]) {
				t.Fatalf("frame %d: %d bytes, or differs by piece size", i, len(a[i]))
			}
		}
	})
}
