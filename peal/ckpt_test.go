package peal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// miniHost plays the host peer for n processes of one job in this test
// process: it welcomes them over a unix socket, carries their messages
// (every message takes the routed path) and plays the coordinator's part
// in checkpoints.
type miniHost struct {
	t      *testing.T
	n      int
	ln     net.Listener
	sock   string
	dirs   []string
	mu     sync.Mutex
	conns  []net.Conn
	queued [][][]byte // per destination, frames before it attached
	counts chan wire.CkptCount
	saved  chan savedAt
	wg     sync.WaitGroup
}

type savedAt struct {
	rank int
	s    wire.CkptSaved
}

// newMiniHost starts a host; restore[r], if given, is the checkpoint
// file rank r resumes from (copied into its directory).
func newMiniHost(t *testing.T, n int, restore []string) *miniHost {
	base := t.TempDir()
	h := &miniHost{t: t, n: n, sock: filepath.Join(base, "h.sock"), conns: make([]net.Conn, n),
		queued: make([][][]byte, n), counts: make(chan wire.CkptCount, 16*n), saved: make(chan savedAt, 4*n)}
	ln, err := net.Listen("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	h.ln = ln
	for r := range n {
		d := filepath.Join(base, fmt.Sprint(r))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		h.dirs = append(h.dirs, d)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				h.serve(c, restore)
			}()
		}
	}()
	t.Cleanup(h.close)
	return h
}

func (h *miniHost) close() {
	h.ln.Close()
	h.mu.Lock()
	for _, c := range h.conns {
		if c != nil {
			c.Close()
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *miniHost) serve(c net.Conn, restore []string) {
	defer c.Close()
	fr := wire.NewReader(c, MaxFrame)
	typ, body, err := fr.Next()
	if err != nil || typ != wire.TypeHello {
		return
	}
	var rank int
	if _, err := fmt.Sscanf(string(body), "rank-%d", &rank); err != nil || rank < 0 || rank >= h.n {
		return
	}
	w := wire.Welcome{Job: "j", Rank: rank, Size: h.n, Dir: h.dirs[rank]}
	if restore != nil {
		data, err := os.ReadFile(restore[rank])
		if err != nil {
			h.t.Error(err)
			return
		}
		if err := os.WriteFile(filepath.Join(h.dirs[rank], "restore.state"), data, 0o600); err != nil {
			h.t.Error(err)
			return
		}
		w.Restore, w.Epoch = "restore.state", 1
	}
	b, _ := jsonMarshal(w)
	h.mu.Lock()
	if err := wire.WriteFrame(c, wire.TypeWelcome, b); err != nil {
		h.mu.Unlock()
		return
	}
	for _, f := range h.queued[rank] {
		_, _ = c.Write(f)
	}
	h.queued[rank], h.conns[rank] = nil, c
	h.mu.Unlock()
	for {
		typ, body, err := fr.Next()
		if err != nil {
			return
		}
		switch typ {
		case wire.TypeSend:
			m, err := wire.DecodeMsg(body)
			if err != nil || int(m.Dst) >= h.n {
				h.t.Errorf("bad message from rank %d: %v", rank, err)
				return
			}
			m.Src = uint32(rank)
			h.write(int(m.Dst), m.AppendFrame(nil, wire.TypeDeliver))
		case wire.TypeCkptCount:
			var cc wire.CkptCount
			_ = wire.DecodeJSON(body, &cc)
			h.counts <- cc
		case wire.TypeCkptSaved:
			var s wire.CkptSaved
			_ = wire.DecodeJSON(body, &s)
			h.saved <- savedAt{rank, s}
		}
	}
}

func (h *miniHost) write(rank int, frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.conns[rank]; c != nil {
		_, _ = c.Write(frame)
		return
	}
	h.queued[rank] = append(h.queued[rank], frame)
}

func (h *miniHost) request(c wire.Ckpt) {
	b, _ := jsonMarshal(c)
	for r := range h.n {
		h.write(r, append(wire.AppendFrameHeader(nil, wire.TypeCkpt, len(b)), b...))
	}
}

// checkpoint runs one epoch as the coordinator does and returns each
// rank's state file.
func (h *miniHost) checkpoint(epoch int) []string {
	h.t.Helper()
	h.request(wire.Ckpt{Epoch: epoch, Phase: "prepare"})
	var top uint64
	for range h.n {
		select {
		case c := <-h.counts:
			top = max(top, c.Count)
		case <-time.After(20 * time.Second):
			h.t.Fatal("no safe-point count from every rank")
		}
	}
	h.request(wire.Ckpt{Epoch: epoch, Phase: "at", At: top + 1})
	files := make([]string, h.n)
	for range h.n {
		select {
		case s := <-h.saved:
			if s.s.Err != "" || s.s.Epoch != epoch {
				h.t.Fatalf("rank %d: checkpoint %d: %+v", s.rank, epoch, s.s)
			}
			files[s.rank] = filepath.Join(h.dirs[s.rank], s.s.File)
		case <-time.After(20 * time.Second):
			h.t.Fatal("not every rank saved its state")
		}
	}
	return files
}

// ringRank is a program that always has messages on the wire: each rank
// sends a numbered message to the next rank every iteration while the
// two before it are still unreceived, and checks that what it receives
// from the previous rank is numbered 0, 1, 2, ... without gap or repeat.
// It returns how many it received.
func ringRank(p Proc, iters int, progress func(it int)) (int, error) {
	ck := p.(Checkpointer)
	r, n := p.Rank(), p.Size()
	next, prev := (r+1)%n, (r+n-1)%n
	const ahead = 2
	it, want := 0, 0
	if err := ck.Register("it", func() []byte { return binary.AppendUvarint(nil, uint64(it)) }, func(b []byte) error {
		v, _ := binary.Uvarint(b)
		it = int(v)
		return nil
	}); err != nil {
		return 0, err
	}
	if err := ck.Register("want", func() []byte { return binary.AppendUvarint(nil, uint64(want)) }, func(b []byte) error {
		v, _ := binary.Uvarint(b)
		want = int(v)
		return nil
	}); err != nil {
		return 0, err
	}
	send := func(k int) error { return p.Send(next, 0, 5, binary.AppendUvarint(nil, uint64(k))) }
	if _, restarted := ck.Restarted(); !restarted {
		// Priming happens once: a restart resumes with these in flight.
		for k := range ahead {
			if err := send(k); err != nil {
				return 0, err
			}
		}
	}
	for ; it < iters; it++ {
		if err := ck.SafePoint(); err != nil {
			return want, err
		}
		if progress != nil {
			progress(it)
		}
		if err := send(it + ahead); err != nil {
			return want, err
		}
		m, err := p.Post(prev, 0, 5).Wait()
		if err != nil {
			return want, err
		}
		if v, _ := binary.Uvarint(m.Data); int(v) != want {
			return want, fmt.Errorf("rank %d: got message %d from rank %d, want %d", r, v, prev, want)
		}
		want++
	}
	return want, nil
}

func dialRanks(t *testing.T, h *miniHost) []Proc {
	ps := make([]Proc, h.n)
	for r := range h.n {
		p, err := Dial(h.sock, fmt.Sprintf("rank-%d", r))
		if err != nil {
			t.Fatal(err)
		}
		ps[r] = p
	}
	return ps
}

// A checkpoint taken while every channel has messages in flight, and a
// restart from it after the first run is cut off: every message arrives
// exactly once and in order, across the restart.
func TestCheckpointRestartRing(t *testing.T) {
	const n, iters, cutAt = 3, 3000, 1000
	h := newMiniHost(t, n, nil)
	ps := dialRanks(t, h)
	// Rank 0 stops at iteration cutAt+200 until the checkpoint is taken,
	// which bounds where the others can be: this is the "failure" point.
	gate := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for r, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[r] = ringRank(p, iters, func(it int) {
				if r == 0 && it == cutAt+200 {
					<-gate
				}
			})
		}()
	}
	files := h.checkpoint(1)
	close(gate)
	// The first run is lost before it ends: close every endpoint.
	for _, p := range ps {
		p.Close()
	}
	h.close()
	wg.Wait()
	for r, err := range errs {
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Logf("rank %d of the first run ended with %v", r, err)
		}
	}

	h2 := newMiniHost(t, n, files)
	ps2 := dialRanks(t, h2)
	got := make([]int, n)
	for r, p := range ps2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[r], errs[r] = ringRank(p, iters, nil)
		}()
	}
	wg.Wait()
	for r := range n {
		if errs[r] != nil || got[r] != iters {
			t.Errorf("rank %d after restart: received %d of %d, %v", r, got[r], iters, errs[r])
		}
		if e, ok := ps2[r].(Checkpointer).Restarted(); !ok || e != 1 {
			t.Errorf("rank %d: Restarted() = %d, %v", r, e, ok)
		}
		ps2[r].Close()
	}
}

// Aborting an epoch after some ranks have cut releases what they sent
// since, so the job goes on (a rank that never reaches the cut would
// otherwise wait for ever on held messages).
func TestCheckpointAbortReleasesHeld(t *testing.T) {
	const n, iters = 2, 400
	h := newMiniHost(t, n, nil)
	ps := dialRanks(t, h)
	var wg sync.WaitGroup
	errs := make([]error, n)
	got := make([]int, n)
	h.request(wire.Ckpt{Epoch: 1, Phase: "prepare"})
	// Only rank 0 learns where to cut: it cuts at its first safe point
	// and then waits for a marker from rank 1, which waits at its own
	// first safe point to learn the cut.
	for range n {
		<-h.counts
	}
	for r, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[r], errs[r] = ringRank(p, iters, nil)
		}()
	}
	b, _ := jsonMarshal(wire.Ckpt{Epoch: 1, Phase: "at", At: 1})
	h.write(0, append(wire.AppendFrameHeader(nil, wire.TypeCkpt, len(b)), b...))
	select {
	case s := <-h.saved:
		t.Fatalf("rank %d saved without every marker: %+v", s.rank, s.s)
	case <-time.After(200 * time.Millisecond):
	}
	h.request(wire.Ckpt{Epoch: 1, Phase: "abort"})
	select {
	case s := <-h.saved:
		if s.rank != 0 || s.s.Err == "" {
			t.Fatalf("after the abort: %+v from rank %d, want rank 0's error", s.s, s.rank)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("rank 0 did not give up its cut after the abort")
	}
	wg.Wait()
	for r := range n {
		if errs[r] != nil || got[r] != iters {
			t.Errorf("rank %d: received %d of %d, %v", r, got[r], iters, errs[r])
		}
		ps[r].Close()
	}
}
