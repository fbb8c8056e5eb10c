package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// sizes and their default timed round trips, the same as
// examples/c/pingpong.c's so the Go, C and MPICH rows take alike samples:
// many for the small sizes, whose median a stray scheduling hiccup or a
// peer's leftover start-up work would otherwise move, few for the large
// ones, which take milliseconds each.
var sizes = []int{8, 1 << 10, 64 << 10, 1 << 20, 4 << 20}

func defaultIters(size int) int {
	switch {
	case size <= 1<<10:
		return 10000
	case size <= 64<<10:
		return 1000
	case size <= 1<<20:
		return 200
	}
	return 50
}

const tag = 1

// run does the measurement on ranks 0 and 1 and writes rank 0's lines to
// w; other ranks return at once. iters 0 means defaultIters.
func run(c *mpishim.Comm, w io.Writer, sizes []int, iters int) error {
	if c.Rank() > 1 {
		return nil
	}
	for _, size := range sizes {
		n := iters
		if n == 0 {
			n = defaultIters(size)
		}
		warm := max(5, n/10) // as pingpong.c
		oneWay, err := measure(c, size, warm, n)
		if err != nil {
			return fmt.Errorf("size %d: %w", size, err)
		}
		if c.Rank() == 0 {
			fmt.Fprintf(w, "pingpong size=%d latency_us=%.3f bandwidth_MBps=%.3f\n",
				size, oneWay.Seconds()*1e6, float64(size)/oneWay.Seconds()/1e6)
		}
	}
	return nil
}

// measure does warm untimed and n timed round trips and returns the
// median round trip / 2 (at rank 0; rank 1 returns 0).
func measure(c *mpishim.Comm, size, warm, n int) (time.Duration, error) {
	buf := make([]byte, size)
	rtts := make([]time.Duration, 0, n)
	for i := range warm + n {
		t0 := time.Now()
		if err := bounce(c, buf); err != nil {
			return 0, err
		}
		if i >= warm {
			rtts = append(rtts, time.Since(t0))
		}
	}
	if c.Rank() != 0 {
		return 0, nil
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2] / 2, nil
}

// bounce is one round trip: rank 0 sends and waits for the echo.
func bounce(c *mpishim.Comm, buf []byte) error {
	if c.Rank() == 0 {
		if err := c.Send(buf, 1, tag); err != nil {
			return err
		}
		_, err := c.Recv(buf, 1, tag)
		return err
	}
	if _, err := c.Recv(buf, 0, tag); err != nil {
		return err
	}
	return c.Send(buf, 0, tag)
}
