// Command phases is the rank program of the Floc benchmark
// (bench/flocbench): its ranks go through a unicast ring, a broadcast, a
// barrier and a sparse phase in that order, and every message carries the
// time it was sent, so that the receiver can log its one-way latency (all
// ranks of the benchmark run on one machine: their clocks agree).
//
// Usage: phases [flags] OUTDIR. Each rank writes OUTDIR/rank-R.tsv:
//
//	T	T0_UNIX_NS                       the common start
//	P	PHASE	START_NS	END_NS       this rank's phase, from T0
//	S	PHASE	RECV_NS	SRC	LAT_NS       one received message
//
// Phases:
//
//	ring     every -ring-every, each rank sends to rank+1; it receives
//	         from rank-1
//	bcast    rank 0 broadcasts every -bcast-every over a binomial tree of
//	         point-to-point sends, each hop stamped by its sender
//	barrier  dissemination barriers (round k: to rank+2^k, from rank-2^k),
//	         one after the other; rank 0's stop flag reaches every rank
//	         within one barrier
//	sparse   every rank sends one message to every other rank each
//	         -sparse-every, for a fixed number of rounds: far below Floc's
//	         threshold, so nothing is chatty
//
// Phases use their own tags, so a rank that is ahead cannot take another
// phase's messages. One goroutine keeps a receive posted for any source
// and tag and stamps each message as it arrives; the phases take their
// messages from it.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"time"

	"github.com/p2pdvm/p2pdvm/peal"
)

const (
	tagStart = iota + 1
	tagRing
	tagBcast
	tagBarrier
	tagSparse
	tagDone
	nTags
)

// phaseNames are the phases by tag, as the samples name them.
var phaseNames = [nTags]string{tagStart: "start", tagRing: "ring", tagBcast: "bcast", tagBarrier: "barrier", tagSparse: "sparse", tagDone: "done"}

// Payload layout (little endian): send time (Unix ns), round, control.
const (
	offSent  = 0
	offRound = 8
	offCtl   = 16
	minSize  = 24
)

type arrival struct {
	m    peal.Message
	recv time.Time
}

type sample struct {
	tag     int
	recv    time.Time
	src     int
	latency time.Duration
}

type rank struct {
	p     peal.Proc
	me, n int
	size  int
	in    [nTags][]chan arrival // by tag and source
	t0    time.Time             // the main goroutine's
	log   []sample              // the receiving goroutine's until it is done
	buf   []byte
}

func main() {
	ring := flag.Duration("ring", 5*time.Second, "length of the ring phase")
	ringEvery := flag.Duration("ring-every", 100*time.Millisecond, "interval between ring rounds")
	bcast := flag.Duration("bcast", 5*time.Second, "length of the broadcast phase")
	barrier := flag.Duration("barrier", 5*time.Second, "length of the barrier phase")
	sparse := flag.Duration("sparse", 5*time.Second, "length of the sparse phase")
	bcastEvery := flag.Duration("bcast-every", 100*time.Millisecond, "interval between broadcasts")
	sparseEvery := flag.Duration("sparse-every", 500*time.Millisecond, "interval between sparse rounds")
	size := flag.Int("size", 64, "bytes per message (at least 24)")
	flag.Parse()
	if flag.NArg() != 1 || !filepath.IsAbs(flag.Arg(0)) {
		fmt.Fprintln(os.Stderr, "usage: phases [flags] OUTDIR (an absolute path)")
		os.Exit(2)
	}
	p, err := peal.Connect()
	if err != nil {
		fmt.Fprintln(os.Stderr, "phases:", err)
		os.Exit(1)
	}
	r := &rank{p: p, me: p.Rank(), n: p.Size(), size: max(*size, minSize)}
	r.buf = make([]byte, r.size)
	for t := range r.in {
		r.in[t] = make([]chan arrival, r.n)
		for s := range r.in[t] {
			r.in[t][s] = make(chan arrival, 1024)
		}
	}
	done := make(chan struct{})
	go r.receive(done)

	r.start()
	var spans []string
	for _, ph := range []struct {
		tag int
		run func(end time.Time)
		d   time.Duration
	}{
		{tagRing, func(time.Time) { r.ring(*ring, *ringEvery) }, *ring},
		{tagBcast, func(end time.Time) { r.bcast(end, *bcastEvery) }, *bcast},
		{tagBarrier, r.barrier, *barrier},
		{tagSparse, func(time.Time) { r.sparse(*sparse, *sparseEvery) }, *sparse},
	} {
		from := time.Now()
		ph.run(from.Add(ph.d))
		spans = append(spans, fmt.Sprintf("P\t%s\t%d\t%d", phaseNames[ph.tag], from.Sub(r.t0).Nanoseconds(), time.Since(r.t0).Nanoseconds()))
	}
	// Everything a rank sends to another precedes its done message (FIFO
	// per pair), so once every done is in, nothing more is coming.
	for d := range r.n {
		if d != r.me {
			r.send(d, tagDone, 0, 0)
		}
	}
	<-done
	if err := r.write(flag.Arg(0), spans); err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", r.me, err)
		os.Exit(1)
	}
	fmt.Printf("rank %d of %d ok samples=%d\n", r.me, r.n, len(r.log))
	p.Close()
}

// receive stamps every message the moment its receive completes and
// hands it to the phase waiting for it, until every other rank is done.
// It alone appends to r.log until done is closed. It keeps absolute
// times: a neighbour's first ring message may come in before rank 0's
// word on the common start does.
func (r *rank) receive(done chan<- struct{}) {
	left := r.n - 1
	for left > 0 {
		m, err := r.p.Post(peal.AnySource, 0, peal.AnyTag).Wait()
		now := time.Now()
		r.check(err)
		if m.Tag <= 0 || m.Tag >= nTags || len(m.Data) < minSize {
			r.fail("message from %d with tag %d and %d bytes", m.Src, m.Tag, len(m.Data))
		}
		if m.Tag == tagDone {
			left--
			continue
		}
		if m.Tag != tagStart {
			sent := time.Unix(0, int64(binary.LittleEndian.Uint64(m.Data[offSent:])))
			r.log = append(r.log, sample{tag: int(m.Tag), recv: now, src: m.Src, latency: now.Sub(sent)})
		}
		r.in[m.Tag][m.Src] <- arrival{m: m, recv: now}
	}
	close(done)
}

func (r *rank) send(dst, tag int, round, ctl uint64) {
	binary.LittleEndian.PutUint64(r.buf[offRound:], round)
	binary.LittleEndian.PutUint64(r.buf[offCtl:], ctl)
	binary.LittleEndian.PutUint64(r.buf[offSent:], uint64(time.Now().UnixNano()))
	r.check(r.p.Send(dst, 0, int32(tag), r.buf))
}

func (r *rank) recv(src, tag int) (round, ctl uint64) {
	a := <-r.in[tag][src]
	return binary.LittleEndian.Uint64(a.m.Data[offRound:]), binary.LittleEndian.Uint64(a.m.Data[offCtl:])
}

// start: every rank sends to every other one (which also makes each host
// look up every destination's owner once, outside the timed phases);
// rank 0 then names the common start, a little ahead, and everyone waits
// for it.
func (r *rank) start() {
	for d := range r.n {
		if d != r.me {
			r.send(d, tagStart, 0, 0)
		}
	}
	for s := range r.n {
		if s != r.me {
			r.recv(s, tagStart)
		}
	}
	if r.me == 0 {
		t0 := uint64(time.Now().Add(time.Second).UnixNano())
		for d := 1; d < r.n; d++ {
			r.send(d, tagStart, 1, t0)
		}
		r.t0 = time.Unix(0, int64(t0))
	} else {
		_, t0 := r.recv(0, tagStart)
		r.t0 = time.Unix(0, int64(t0))
	}
	time.Sleep(time.Until(r.t0))
}

// ring: every `every`, each rank sends to rank+1, for a fixed number of
// rounds, then takes in what rank-1 sent it. Paced rather than in lock
// step, so every pair talks at the same rate whatever the path between
// them costs, and the rate is above Floc's threshold.
func (r *rank) ring(d, every time.Duration) {
	if r.n < 2 {
		return
	}
	rounds := max(int(d/every), 1)
	next, prev := (r.me+1)%r.n, (r.me+r.n-1)%r.n
	from := time.Now()
	for i := range rounds {
		time.Sleep(time.Until(from.Add(time.Duration(i) * every)))
		r.send(next, tagRing, uint64(i), 0)
	}
	for i := range rounds {
		if round, _ := r.recv(prev, tagRing); round != uint64(i) {
			r.fail("ring: round %d got %d", i, round)
		}
	}
}

// children and parent in the binomial tree rooted at rank 0: rank r's
// parent clears r's highest set bit; its children add each higher bit.
func children(r, n int) []int {
	var out []int
	for b := bits.Len(uint(r)); 1<<b < n; b++ {
		if c := r + 1<<b; c < n {
			out = append(out, c)
		}
	}
	return out
}

func parent(r int) int { return r &^ (1 << (bits.Len(uint(r)) - 1)) }

// bcast: rank 0 starts a broadcast every `every` until end; the last one
// carries the stop flag. Every hop is a new message stamped by the rank
// that forwards it.
func (r *rank) bcast(end time.Time, every time.Duration) {
	kids := children(r.me, r.n)
	from := time.Now()
	for i := uint64(0); ; i++ {
		var stop uint64
		if r.me == 0 {
			time.Sleep(time.Until(from.Add(time.Duration(i) * every)))
			if !time.Now().Before(end) {
				stop = 1
			}
		} else {
			var round uint64
			round, stop = r.recv(parent(r.me), tagBcast)
			if round != i {
				r.fail("bcast: round %d got %d", i, round)
			}
		}
		for _, c := range kids {
			r.send(c, tagBcast, i, stop)
		}
		if stop != 0 {
			return
		}
	}
}

// barrier: dissemination barriers until rank 0's stop flag, which it
// raises at the start of a barrier once the time is up, has reached
// everyone; after log2(n) rounds every rank has heard from every other.
func (r *rank) barrier(end time.Time) {
	for i := uint64(0); ; i++ {
		var stop uint64
		if r.me == 0 && !time.Now().Before(end) {
			stop = 1
		}
		for k := 1; k < r.n; k <<= 1 {
			r.send((r.me+k)%r.n, tagBarrier, i, stop)
			round, s := r.recv((r.me-k+r.n)%r.n, tagBarrier)
			if round != i {
				r.fail("barrier: %d got %d", i, round)
			}
			stop |= s
		}
		if stop != 0 {
			return
		}
	}
}

// sparse: a fixed number of rounds, each one message to every other
// rank, paced by this rank's clock; then every message of the phase is
// taken in.
func (r *rank) sparse(d, every time.Duration) {
	rounds := max(int(d/every), 1)
	from := time.Now()
	for i := range rounds {
		time.Sleep(time.Until(from.Add(time.Duration(i) * every)))
		for k := 1; k < r.n; k++ {
			r.send((r.me+k)%r.n, tagSparse, uint64(i), 0)
		}
	}
	for s := range r.n {
		if s == r.me {
			continue
		}
		for i := range rounds {
			if round, _ := r.recv(s, tagSparse); round != uint64(i) {
				r.fail("sparse: round %d from %d got %d", i, s, round)
			}
		}
	}
}

func (r *rank) write(dir string, spans []string) error {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("rank-%d.tsv", r.me)))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "T\t%d\n", r.t0.UnixNano())
	for _, s := range spans {
		fmt.Fprintln(w, s)
	}
	for _, s := range r.log {
		fmt.Fprintf(w, "S\t%s\t%d\t%d\t%d\n", phaseNames[s.tag], s.recv.Sub(r.t0).Nanoseconds(), s.src, s.latency.Nanoseconds())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *rank) check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", r.me, err)
		os.Exit(1)
	}
}

func (r *rank) fail(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "rank %d: "+f+"\n", append([]any{r.me}, a...)...)
	os.Exit(3)
}
