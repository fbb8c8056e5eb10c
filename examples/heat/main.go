// Command heat is the heat-flow experiment: Jacobi iteration on an N×N
// grid whose top row is held at 100 and other edges at 0, rows split in
// equal blocks over the ranks of an MPI job. Its output is bit-identical
// for any number of ranks, which makes it the check that a distributed
// run (or a restart from a checkpoint) computed what a serial run would.
//
// Usage: heat [ITERS [N]] (defaults 3000 and 1024). Rank 0 prints
//
//	heat N=<N> ranks=<p> iters=<it> residual=<r> checksum=<s> time_s=<t>
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
		fmt.Fprintf(os.Stderr, "heat: %v\n", err)
		os.Exit(1)
	}
	iters, n, err := parseArgs(os.Args[1:])
	if err != nil {
		usageExit(c, 2, err)
	}
	if n%c.Size() != 0 {
		usageExit(c, 2, fmt.Errorf("N=%d is not divisible by the number of ranks (%d)", n, c.Size()))
	}
	if err := c.Barrier(); err != nil {
		fmt.Fprintf(os.Stderr, "heat: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	t0 := mpishim.Wtime()
	res, err := solve(c, iters, n)
	if err != nil {
		fmt.Fprintf(os.Stderr, "heat: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	if c.Rank() == 0 {
		fmt.Printf("heat N=%d ranks=%d iters=%d residual=%.17g checksum=%.17g time_s=%.3f\n",
			n, c.Size(), iters, res.residual, res.checksum, mpishim.Wtime()-t0)
	}
	if err := c.Finalize(); err != nil {
		fmt.Fprintf(os.Stderr, "heat: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
}

func parseArgs(args []string) (iters, n int, err error) {
	iters, n = 3000, 1024
	if len(args) > 2 {
		return 0, 0, fmt.Errorf("usage: heat [ITERS [N]]")
	}
	for i, dst := range []*int{&iters, &n} {
		if i >= len(args) {
			break
		}
		v, err := strconv.Atoi(args[i])
		if err != nil || v < 0 || (i == 1 && v < 1) {
			return 0, 0, fmt.Errorf("usage: heat [ITERS [N]]: bad %s %q", [...]string{"ITERS", "N"}[i], args[i])
		}
		*dst = v
	}
	return iters, n, nil
}

// usageExit ends every rank after an error that every rank detects alike
// (same arguments, same size). Rank 0 reports it; the others wait in a
// barrier that rank 0 enters only after printing, because the runtime
// ends the job as soon as any rank exits non-zero and could otherwise cut
// rank 0 off before it said why.
func usageExit(c *mpishim.Comm, code int, err error) {
	if c.Rank() == 0 {
		fmt.Fprintf(os.Stderr, "heat: %v\n", err)
	}
	_ = c.Barrier()
	os.Exit(code)
}
