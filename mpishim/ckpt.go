package mpishim

import (
	"encoding/binary"
	"errors"

	"github.com/p2pdvm/p2pdvm/peal"
)

// Checkpoint and restart for MPI programs (see peal.Checkpointer). A
// program registers what it needs to resume, calls SafePoint at the top
// of its main loop, and learns from Restarted whether it resumed:
//
//	it := 0
//	c.Register("grid", saveGrid, restoreGrid)
//	c.RegisterInt("it", &it)
//	for ; it < iters; it++ {
//		c.SafePoint()
//		...
//	}
//
// Every rank must call SafePoint the same number of times before any
// message that another rank receives after its own safe point, as an
// iterative program does. On a restart the program runs again from its
// start up to the first safe point; whatever it does there must not
// depend on the state it restores, and all ranks must do the same.
// Outside a job with checkpoints these calls cost next to nothing.

// ErrNoCheckpoint is returned by Register when the runtime cannot
// checkpoint (the in-memory group of tests).
var ErrNoCheckpoint = errors.New("mpishim: this runtime does not checkpoint")

func (c *Comm) checkpointer() peal.Checkpointer {
	ck, _ := c.pr.p.(peal.Checkpointer)
	return ck
}

// Register names state saved at every checkpoint: save returns it, and
// restore, called at once if this process is a restart, puts it back.
func (c *Comm) Register(name string, save func() []byte, restore func([]byte) error) error {
	ck := c.checkpointer()
	if ck == nil {
		return ErrNoCheckpoint
	}
	return ck.Register(name, save, restore)
}

// RegisterBytes registers a buffer whose contents are the state.
func (c *Comm) RegisterBytes(name string, buf []byte) error {
	return c.Register(name, func() []byte { return buf }, func(b []byte) error {
		if len(b) != len(buf) {
			return errors.New("saved size differs from the buffer's")
		}
		copy(buf, b)
		return nil
	})
}

// RegisterInt registers an int, such as a loop counter.
func (c *Comm) RegisterInt(name string, v *int) error {
	return c.Register(name, func() []byte {
		return encodeInts([]int{*v})
	}, func(b []byte) error {
		x, err := decodeInts(b, 1)
		if err == nil {
			*v = x[0]
		}
		return err
	})
}

// SafePoint is where a checkpoint may cut; see the package comment above.
func (c *Comm) SafePoint() error {
	if ck := c.checkpointer(); ck != nil {
		return ck.SafePoint()
	}
	return nil
}

// Restarted reports whether this process resumed from a checkpoint, and
// from which epoch.
func (c *Comm) Restarted() (epoch int, ok bool) {
	if ck := c.checkpointer(); ck != nil {
		return ck.Restarted()
	}
	return 0, false
}

func encodeInts(v []int) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func decodeInts(b []byte, n int) ([]int, error) {
	if len(b) != 8*n {
		return nil, errors.New("saved size differs from the value's")
	}
	out := make([]int, n)
	for k := range out {
		out[k] = int(binary.LittleEndian.Uint64(b[8*k:]))
	}
	return out, nil
}
