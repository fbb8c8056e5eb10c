// Command p2pdvm-sandbox is the small program a p2pdvm peer starts each
// rank through, when it is installed next to p2pdvm: it confines itself
// (internal/sandbox) and execs the rank's program. p2pdvm itself can do
// the same, but its start-up (libp2p's package initialisation) costs
// about 45 ms per rank, this one's about 10 (measured with /bin/true as
// the rank).
package main

import (
	"fmt"
	"os"

	"github.com/p2pdvm/p2pdvm/internal/sandbox"
)

func main() {
	sandbox.Main()
	fmt.Fprintln(os.Stderr, "p2pdvm-sandbox: started by a p2pdvm peer to confine a rank; not for direct use")
	os.Exit(2)
}
