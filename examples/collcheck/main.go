// Command collcheck runs the mpishim conformance suite (package mpicheck:
// every collective for every root, point to point ordering and matching,
// communicator isolation) inside a real p2pdvm job, where messages take
// the runtime's paths, and checks every answer against a serial
// computation. Rank 0 prints "collcheck ok ranks=N" on success. A rank
// that sees a wrong answer prints it and aborts the job, so the run exits
// non-zero instead of hanging.
package main

import (
	"fmt"
	"os"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/mpishim/mpicheck"
)

func main() {
	c, err := mpishim.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "collcheck: %v\n", err)
		os.Exit(1)
	}
	if err := mpicheck.All(c); err != nil {
		fmt.Fprintf(os.Stderr, "collcheck: %v\n", err)
		c.Abort(1)
		os.Exit(1) // if the abort request could not be sent
	}
	if err := c.Finalize(); err != nil {
		fmt.Fprintf(os.Stderr, "collcheck: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	if c.Rank() == 0 {
		fmt.Printf("collcheck ok ranks=%d\n", c.Size())
	}
}
