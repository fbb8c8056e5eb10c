// Command initfin calls Init then Finalize and nothing else; the startup
// benchmark times it to measure what a job costs before any user work.
package main

import (
	"fmt"
	"os"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

func main() {
	c, err := mpishim.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "initfin: %v\n", err)
		os.Exit(1)
	}
	if err := c.Finalize(); err != nil {
		fmt.Fprintf(os.Stderr, "initfin: %v\n", err)
		os.Exit(1)
	}
}
