// Command pingpong measures point-to-point latency and bandwidth between
// ranks 0 and 1 of an MPI job; other ranks wait in Finalize. For each
// message size rank 0 prints one line,
//
//	pingpong size=8 latency_us=12.345 bandwidth_MBps=0.648
//
// where latency is the median over iterations of round trip / 2 and
// bandwidth is size / latency (1 MB = 1e6 B). The C version prints the
// same lines, and the benchmark script parses them.
//
// Usage: pingpong [ITERS] (timed round trips per size; default depends on
// the size, so a whole run takes a few seconds even on a slow network).
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

func main() {
	c, err := mpishim.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pingpong: %v\n", err)
		os.Exit(1)
	}
	iters := 0 // per-size default
	if len(os.Args) > 2 {
		fail(c, fmt.Errorf("usage: pingpong [ITERS]"))
	}
	if len(os.Args) == 2 {
		iters, err = strconv.Atoi(os.Args[1])
		if err != nil || iters < 1 {
			fail(c, fmt.Errorf("usage: pingpong [ITERS]: bad ITERS %q", os.Args[1]))
		}
	}
	if c.Size() < 2 {
		fail(c, fmt.Errorf("needs at least 2 ranks, job has %d", c.Size()))
	}
	if err := run(c, os.Stdout, sizes, iters); err != nil {
		fmt.Fprintf(os.Stderr, "pingpong: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	if err := c.Finalize(); err != nil {
		fmt.Fprintf(os.Stderr, "pingpong: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
}

// fail ends every rank after an error that every rank detects alike.
// Rank 0 reports it; the others wait in a barrier that rank 0 enters only
// after printing, because the runtime ends the job as soon as any rank
// exits non-zero and could otherwise cut rank 0 off before it said why.
func fail(c *mpishim.Comm, err error) {
	if c.Rank() == 0 {
		fmt.Fprintf(os.Stderr, "pingpong: %v\n", err)
	}
	_ = c.Barrier()
	os.Exit(2)
}
