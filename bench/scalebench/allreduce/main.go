// Command allreduce is the 64-rank job of bench/scalebench: every rank
// adds (rank+1)·i into an MPI_SUM allreduce for i = 1..ITERS and keeps the
// running total of what came back. Rank 0 prints
//
//	allreduce ranks=N iters=ITERS sum=S
//
// and the bench checks S against the closed form
// ITERS(ITERS+1)/2 · N(N+1)/2. A rank whose allreduce returns anything but
// that iteration's closed form aborts the job, so a wrong answer fails the
// run instead of printing a plausible total.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

func main() {
	iters := 5
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "allreduce: bad ITERS %q\n", os.Args[1])
			os.Exit(2)
		}
		iters = n
	}
	c, err := mpishim.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "allreduce: %v\n", err)
		os.Exit(1)
	}
	n := int64(c.Size())
	var total int64
	for i := int64(1); i <= int64(iters); i++ {
		send, recv := []int64{(int64(c.Rank()) + 1) * i}, []int64{0}
		if err := mpishim.AllreduceT(c, send, recv, mpishim.Sum); err != nil {
			fmt.Fprintf(os.Stderr, "allreduce: rank %d: %v\n", c.Rank(), err)
			c.Abort(1)
			os.Exit(1)
		}
		if want := i * n * (n + 1) / 2; recv[0] != want {
			fmt.Fprintf(os.Stderr, "allreduce: rank %d, iteration %d: got %d, want %d\n", c.Rank(), i, recv[0], want)
			c.Abort(1)
			os.Exit(1)
		}
		total += recv[0]
	}
	if err := c.Finalize(); err != nil {
		fmt.Fprintf(os.Stderr, "allreduce: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	if c.Rank() == 0 {
		fmt.Printf("allreduce ranks=%d iters=%d sum=%d\n", n, iters, total)
	}
}
