// Command alltoall is a runtime test program: every rank sends numbered
// messages to every other rank and checks that each pair's messages arrive
// exactly once and in order. Usage: alltoall [MSGS [SIZE]]. Exit 3 on any
// violation. Usage alltoall MSGS SIZE R makes rank R exit with code 7 at once.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"github.com/p2pdvm/p2pdvm/peal"
)

func main() {
	p, err := peal.Connect()
	if err != nil {
		fmt.Fprintln(os.Stderr, "alltoall:", err)
		os.Exit(1)
	}
	msgs, size := 50, 16
	if len(os.Args) > 1 {
		msgs, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		size, _ = strconv.Atoi(os.Args[2])
	}
	if size < 16 {
		size = 16
	}
	if len(os.Args) > 3 && os.Args[3] == strconv.Itoa(p.Rank()) {
		fmt.Fprintf(os.Stderr, "rank %d failing on purpose\n", p.Rank())
		os.Exit(7)
	}
	me, n := p.Rank(), p.Size()
	buf := make([]byte, size)
	for i := 1; i <= msgs; i++ {
		for d := 0; d < n; d++ {
			if d == me {
				continue
			}
			binary.LittleEndian.PutUint64(buf, uint64(me))
			binary.LittleEndian.PutUint64(buf[8:], uint64(i))
			if err := p.Send(d, 0, 5, buf); err != nil {
				fmt.Fprintln(os.Stderr, "send:", err)
				os.Exit(1)
			}
		}
	}
	next := make([]uint64, n)
	for k := 0; k < msgs*(n-1); k++ {
		m, err := p.Post(peal.AnySource, 0, 5).Wait()
		if err != nil {
			fmt.Fprintln(os.Stderr, "recv:", err)
			os.Exit(1)
		}
		src := binary.LittleEndian.Uint64(m.Data)
		seq := binary.LittleEndian.Uint64(m.Data[8:])
		if int(src) != m.Src || seq != next[src]+1 || len(m.Data) != size {
			fmt.Fprintf(os.Stderr, "rank %d: from %d got seq %d after %d (len %d)\n", me, m.Src, seq, next[src], len(m.Data))
			os.Exit(3)
		}
		next[src] = seq
	}
	fmt.Printf("rank %d of %d ok\n", me, n)
	p.Close()
}
