// Command ring checks that checkpoint and restart lose, repeat and
// reorder nothing. Every rank sends numbered messages to the next rank
// while the previous rank's messages are still on their way: AHEAD of
// them are in flight on every channel at every safe point, so every
// checkpoint cuts through traffic. Each rank checks that it receives 0,
// 1, 2, ... from the previous rank, across any number of restarts.
//
// Usage: ring [flags] ITERS. Rank 0 prints
//
//	ring ranks=<p> iters=<n> received=<total> state=<checksum> restarted=<bool>
//
// and a rank that sees a message out of order exits with status 3.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"time"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

func main() {
	ahead := flag.Int("ahead", 2, "messages in flight per channel")
	pace := flag.Duration("pace", 0, "pause per iteration, to stretch a run for tests")
	stateMiB := flag.Int("state-mib", 0, "MiB of extra state per rank, rewritten in part every iteration")
	saveDelay := flag.Duration("save-delay", 0, "pause while saving state, to hold a checkpoint open for tests")
	flag.Parse()
	iters, err := strconv.Atoi(flag.Arg(0))
	if flag.NArg() != 1 || err != nil || iters < 0 {
		fmt.Fprintln(os.Stderr, "usage: ring [flags] ITERS")
		os.Exit(2)
	}
	c, err := mpishim.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ring: %v\n", err)
		os.Exit(1)
	}
	r := &ring{c: c, ahead: *ahead, state: make([]byte, *stateMiB<<20)}
	if err := r.register(*saveDelay); err != nil && !errors.Is(err, mpishim.ErrNoCheckpoint) {
		fail(c, err)
	}
	if err := r.run(iters, *pace); err != nil {
		fail(c, err)
	}
	total := []int{0}
	if err := mpishim.ReduceT(c, []int{r.want}, total, mpishim.Sum, 0); err != nil {
		fail(c, err)
	}
	_, restarted := c.Restarted()
	if c.Rank() == 0 {
		fmt.Printf("ring ranks=%d iters=%d received=%d state=%08x restarted=%v\n",
			c.Size(), iters, total[0], crc32.ChecksumIEEE(r.state), restarted)
	}
	if err := c.Finalize(); err != nil {
		fail(c, err)
	}
}

type ring struct {
	c     *mpishim.Comm
	ahead int
	it    int    // next iteration
	want  int    // number of the next message expected from the previous rank
	state []byte // extra state, so checkpoints have bulk to store
}

func (r *ring) register(saveDelay time.Duration) error {
	return errors.Join(
		r.c.RegisterInt("ring.it", &r.it),
		r.c.RegisterInt("ring.want", &r.want),
		r.c.Register("ring.state", func() []byte {
			time.Sleep(saveDelay)
			return r.state
		}, func(b []byte) error {
			if len(b) != len(r.state) {
				return fmt.Errorf("saved state is %d bytes, want %d", len(b), len(r.state))
			}
			copy(r.state, b)
			return nil
		}))
}

func (r *ring) run(iters int, pace time.Duration) error {
	rank, size := r.c.Rank(), r.c.Size()
	next, prev := (rank+1)%size, (rank+size-1)%size
	send := func(k int) error {
		return mpishim.SendT(r.c, []int64{int64(k)}, next, 7)
	}
	if _, restarted := r.c.Restarted(); !restarted {
		// Once per job: a restart resumes with these still in flight.
		for k := range r.ahead {
			if err := send(k); err != nil {
				return err
			}
		}
	}
	got := []int64{0}
	for ; r.it < iters; r.it++ {
		if err := r.c.SafePoint(); err != nil {
			return err
		}
		if err := send(r.it + r.ahead); err != nil {
			return err
		}
		if _, err := mpishim.RecvT(r.c, got, prev, 7); err != nil {
			return err
		}
		if int(got[0]) != r.want {
			fmt.Fprintf(os.Stderr, "ring: rank %d: message %d from rank %d, expected %d: lost, repeated or reordered\n", rank, got[0], prev, r.want)
			os.Exit(3)
		}
		r.want++
		if len(r.state) > 0 {
			// Touch one 4 KiB page per iteration: a checkpoint differs from
			// the last in a few pages, which is what deduplication is for.
			off := (r.it * 4096) % len(r.state)
			binary.LittleEndian.PutUint64(r.state[off:], uint64(r.it)*0x9e3779b97f4a7c15)
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
	// Drain the messages still ahead, so every rank has received exactly
	// what the previous one sent.
	for range r.ahead {
		if _, err := mpishim.RecvT(r.c, got, prev, 7); err != nil {
			return err
		}
		if int(got[0]) != r.want {
			fmt.Fprintf(os.Stderr, "ring: rank %d: trailing message %d, expected %d\n", rank, got[0], r.want)
			os.Exit(3)
		}
		r.want++
	}
	return nil
}

func fail(c *mpishim.Comm, err error) {
	fmt.Fprintf(os.Stderr, "ring: rank %d: %v\n", c.Rank(), err)
	os.Exit(1)
}
