// Command churn is a runtime test program for peers joining, leaving and
// crashing under a running job. Its ranks exchange numbered messages
// without pause, in rounds of an all-to-all phase and a ring phase, until
// a stop file appears; every rank checks that each pair's messages arrive
// exactly once and in order, from the numbers the senders put in them.
//
// Usage: churn STOPFILE [MSGS [SIZE]]: MSGS messages per pair and phase
// (default 2) of SIZE bytes (default 64). Rank 0 looks for STOPFILE at
// the start of every round and tells the others whether to go on. Each
// rank prints "rank R of N ok rounds=K msgs=M" at the end; any loss,
// repeat or reordering exits 3.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"github.com/p2pdvm/p2pdvm/peal"
)

// Each phase has its own tag, so a fast neighbour's ring messages are not
// taken by the all-to-all's any-source receives; order is checked per
// pair and tag, which is what MPI's non-overtaking rule promises.
const (
	tagCtl  = 1
	tagA2A  = 2
	tagRing = 3
	nTags   = 4
)

type ranks struct {
	p          peal.Proc
	me, n      int
	size       int
	sent, next [nTags][]uint64 // per tag and peer: messages numbered so far, last received
	recvd      int
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: churn STOPFILE [MSGS [SIZE]]")
		os.Exit(2)
	}
	stop := os.Args[1]
	msgs, size := 2, 64
	if len(os.Args) > 2 {
		msgs, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		size, _ = strconv.Atoi(os.Args[3])
	}
	size = max(size, 16)
	p, err := peal.Connect()
	if err != nil {
		fmt.Fprintln(os.Stderr, "churn:", err)
		os.Exit(1)
	}
	r := &ranks{p: p, me: p.Rank(), n: p.Size(), size: size}
	for t := range nTags {
		r.sent[t], r.next[t] = make([]uint64, r.n), make([]uint64, r.n)
	}
	rounds := 0
	for r.goOn(stop, rounds) {
		rounds++
		for d := 0; d < r.n; d++ {
			if d != r.me {
				r.send(d, tagA2A, msgs)
			}
		}
		r.recv(peal.AnySource, tagA2A, msgs*(r.n-1))
		if r.n > 1 {
			r.send((r.me+1)%r.n, tagRing, msgs)
			r.recv((r.me+r.n-1)%r.n, tagRing, msgs)
		}
	}
	fmt.Printf("rank %d of %d ok rounds=%d msgs=%d\n", r.me, r.n, rounds, r.recvd)
	p.Close()
}

// goOn is the round's control message: rank 0 decides, the others obey.
func (r *ranks) goOn(stop string, round int) bool {
	b := make([]byte, 16)
	if r.me == 0 {
		_, err := os.Stat(stop)
		binary.LittleEndian.PutUint64(b, uint64(round))
		if err == nil {
			b[8] = 1
		}
		for d := 1; d < r.n; d++ {
			r.check(r.p.Send(d, 0, tagCtl, b))
		}
		return b[8] == 0
	}
	m, err := r.p.Post(0, 0, tagCtl).Wait()
	r.check(err)
	if got := binary.LittleEndian.Uint64(m.Data); len(m.Data) != 16 || got != uint64(round) {
		r.fail("control message for round %d in round %d", got, round)
	}
	return m.Data[8] == 0
}

func (r *ranks) send(d, tag, k int) {
	buf := make([]byte, r.size)
	for i := 0; i < k; i++ {
		r.sent[tag][d]++
		binary.LittleEndian.PutUint64(buf, uint64(r.me))
		binary.LittleEndian.PutUint64(buf[8:], r.sent[tag][d])
		r.check(r.p.Send(d, 0, int32(tag), buf))
	}
}

func (r *ranks) recv(src, tag, k int) {
	next := r.next[tag]
	for i := 0; i < k; i++ {
		m, err := r.p.Post(src, 0, int32(tag)).Wait()
		r.check(err)
		if len(m.Data) != r.size {
			r.fail("from %d: %d bytes, want %d", m.Src, len(m.Data), r.size)
		}
		from := binary.LittleEndian.Uint64(m.Data)
		seq := binary.LittleEndian.Uint64(m.Data[8:])
		if int(from) != m.Src || seq != next[m.Src]+1 {
			r.fail("from %d (says %d), tag %d: message %d after %d", m.Src, from, tag, seq, next[m.Src])
		}
		next[m.Src] = seq
		r.recvd++
	}
}

func (r *ranks) check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", r.me, err)
		os.Exit(1)
	}
}

func (r *ranks) fail(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "rank %d: "+f+"\n", append([]any{r.me}, a...)...)
	os.Exit(3)
}
