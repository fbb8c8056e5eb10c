package peal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Coordinated checkpoints at application safe points.
//
// A program registers the state it needs to resume and calls SafePoint
// once per iteration of its main loop. The job's coordinator asks every
// rank how many safe points it has passed (phase "prepare") and names a
// count At that none has reached yet (phase "at"): every rank cuts at its
// At-th safe point, so all cut at the same point of an iterative program.
//
// The cut is Chandy and Lamport's: at its cut a rank sends a marker to
// every other rank, in sequence with its messages. A receiver holds back
// what follows a marker until it has cut itself, so no message sent after
// a sender's cut is received before the receiver's (no orphans). A rank
// completes its cut only when it holds a marker from every rank, so every
// message sent before a sender's cut has then been received: the ones
// not yet matched are in the matcher's unexpected queue, which is saved
// with the rank's state. The channels are therefore empty at the cut and
// nothing needs replaying but the queue.
//
// Per-pair sequence numbers are saved too and continue after a restart:
// delivery stays exactly once and FIFO across it.

// Checkpointer is what a process of the real runtime offers for
// checkpoint and restart. The in-memory group does not: it has no store.
type Checkpointer interface {
	// Register names state to save at each checkpoint. save returns its
	// bytes at the cut; restore receives them, at once, when the process
	// is a restart. Register before the first safe point.
	Register(name string, save func() []byte, restore func([]byte) error) error
	// SafePoint marks a point where the registered state is complete and
	// no receive is pending. It is cheap unless a checkpoint is due.
	SafePoint() error
	// Restarted tells whether this process resumed from a checkpoint and
	// from which epoch.
	Restarted() (epoch int, ok bool)
}

var _ Checkpointer = (*connProc)(nil)

// cutTimeout bounds how long a rank waits at its cut for the other ranks'
// markers. Ranks whose safe points are not aligned (a rank that waits
// for a message another sends only after its own safe point) would
// otherwise wait for ever; the epoch fails instead and the job goes on.
var cutTimeout = 2 * time.Minute

type region struct {
	name string
	save func() []byte
}

// ckpt is a process's checkpoint state.
type ckpt struct {
	mu      sync.Mutex
	cond    *sync.Cond // on mu: At known, an abort, or close
	count   uint64     // safe points passed
	epoch   int        // checkpoint under way, 0 if none
	at      uint64     // its cut, 0 while unknown
	closed  bool
	regions []region
	saved   map[string][]byte // state of a restart, until registered
	restart int               // epoch restarted from, 0 on a first start

	// markers is signalled, on the connection's receive lock, when a
	// marker arrives, the cut times out, or the process closes.
	markers  *sync.Cond
	timedOut bool // under the receive lock
	// abandoned is the latest epoch aborted (under the receive lock): its
	// markers, even late ones, hold nothing back, and a cut of it stops.
	abandoned int
}

// errAbandoned ends a cut whose epoch the coordinator aborted.
var errAbandoned = errors.New("peal: checkpoint aborted by the coordinator")

// errNoMarker ends a cut that waited too long for the other ranks.
var errNoMarker = errors.New("peal: no checkpoint marker")

func (ck *ckpt) init(rmu *sync.Mutex) {
	ck.cond = sync.NewCond(&ck.mu)
	ck.markers = sync.NewCond(rmu)
}

func (ck *ckpt) wakeAll() {
	if ck.cond == nil {
		return // never initialised: an endpoint built by a test
	}
	ck.mu.Lock()
	ck.closed = true
	ck.cond.Broadcast()
	ck.mu.Unlock()
	ck.markers.L.Lock()
	ck.markers.Broadcast()
	ck.markers.L.Unlock()
}

func (p *connProc) Register(name string, save func() []byte, restore func([]byte) error) error {
	ck := &p.ck
	ck.mu.Lock()
	defer ck.mu.Unlock()
	for _, r := range ck.regions {
		if r.name == name {
			return fmt.Errorf("peal: checkpoint state %q registered twice", name)
		}
	}
	if ck.saved != nil {
		data, ok := ck.saved[name]
		if !ok {
			return fmt.Errorf("peal: restart from epoch %d: the checkpoint has no state %q", ck.restart, name)
		}
		delete(ck.saved, name)
		if err := restore(data); err != nil {
			return fmt.Errorf("peal: restore %q from epoch %d: %w", name, ck.restart, err)
		}
	}
	ck.regions = append(ck.regions, region{name, save})
	return nil
}

func (p *connProc) Restarted() (int, bool) {
	p.ck.mu.Lock()
	defer p.ck.mu.Unlock()
	return p.ck.restart, p.ck.restart > 0
}

func (p *connProc) SafePoint() error {
	ck := &p.ck
	ck.mu.Lock()
	ck.count++
	if ck.epoch == 0 {
		ck.mu.Unlock()
		return nil
	}
	if ck.at == 0 {
		// The coordinator has asked for our count and will name a later
		// safe point; wait here for it rather than run past it. Readers
		// stay armed so peers blocked on us keep draining.
		ck.mu.Unlock()
		p.arm.enter()
		ck.mu.Lock()
		for ck.epoch != 0 && ck.at == 0 && !ck.closed {
			ck.cond.Wait()
		}
		ck.mu.Unlock()
		p.arm.leave()
		ck.mu.Lock()
	}
	epoch, at, count := ck.epoch, ck.at, ck.count
	if epoch == 0 || count < at {
		ck.mu.Unlock()
		return nil
	}
	ck.epoch, ck.at = 0, 0
	ck.mu.Unlock()
	if count > at {
		p.reportSaved(wire.CkptSaved{Epoch: epoch, Err: fmt.Sprintf("rank %d was at safe point %d, past the cut at %d", p.w.Rank, count, at)})
		return nil
	}
	file, err := p.cut(epoch, at)
	if err != nil {
		p.reportSaved(wire.CkptSaved{Epoch: epoch, Err: err.Error()})
		if errors.Is(err, errAbandoned) || errors.Is(err, errNoMarker) {
			return nil // the epoch failed, not the program: it goes on
		}
		return err
	}
	p.reportSaved(wire.CkptSaved{Epoch: epoch, File: file})
	return nil
}

// ckptRequest handles the coordinator's messages (from the read loop).
func (p *connProc) ckptRequest(req wire.Ckpt) {
	ck := &p.ck
	switch req.Phase {
	case "prepare":
		ck.mu.Lock()
		ck.epoch, ck.at = req.Epoch, 0
		count := ck.count
		ck.mu.Unlock()
		body, _ := jsonMarshal(wire.CkptCount{Epoch: req.Epoch, Count: count})
		p.wm.Lock()
		_ = wire.WriteFrame(p.c, wire.TypeCkptCount, body)
		p.wm.Unlock()
	case "at":
		ck.mu.Lock()
		if ck.epoch == req.Epoch && req.At > 0 {
			ck.at = req.At
			ck.cond.Broadcast()
		}
		ck.mu.Unlock()
	case "abort":
		ck.mu.Lock()
		if ck.epoch == req.Epoch {
			ck.epoch, ck.at = 0, 0
			ck.cond.Broadcast()
		}
		ck.mu.Unlock()
		// Other ranks may have cut and sent markers; what they sent since
		// must not stay held for a cut that will not happen here.
		p.rmu.Lock()
		p.ck.abandoned = max(p.ck.abandoned, req.Epoch)
		p.releaseLocked(req.Epoch)
		p.ck.markers.Broadcast()
		p.rmu.Unlock()
	}
}

func (p *connProc) reportSaved(s wire.CkptSaved) {
	body, _ := jsonMarshal(s)
	p.wm.Lock()
	_ = wire.WriteFrame(p.c, wire.TypeCkptSaved, body)
	p.wm.Unlock()
}

// sendMarker sends epoch's marker to dst in sequence with the messages
// before it and returns the sequence number the next message will take.
func (p *connProc) sendMarker(dst, epoch int) (uint64, error) {
	r := &p.routes[dst]
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m := wire.Msg{Src: uint32(p.w.Rank), Dst: uint32(dst), Tag: int32(epoch), Flags: wire.FlagMarker, Seq: r.seq}
	if err := p.sendOne(r, &m); err != nil {
		return 0, fmt.Errorf("peal: checkpoint marker to rank %d: %w", dst, err)
	}
	return r.seq, nil
}

// holdLocked takes a marker, or a message that followed one.
func (p *connProc) holdLocked(s *srcState, m *wire.Msg, aliased bool) {
	if m.Flags&wire.FlagMarker != 0 && int(m.Tag) <= p.ck.abandoned {
		return // a marker of an aborted epoch: nothing to hold for
	}
	if m.Flags&wire.FlagMarker != 0 && s.marker == 0 {
		s.marker, s.markNext = int(m.Tag), s.next
		p.ck.markers.Broadcast()
		return
	}
	c := *m
	if aliased {
		c.Payload = append([]byte(nil), m.Payload...)
	}
	s.held = append(s.held, c)
}

// releaseLocked delivers what was held behind epoch's markers, up to a
// marker of a later epoch if one is among it.
func (p *connProc) releaseLocked(epoch int) {
	for i := range p.srcs {
		s := &p.srcs[i]
		if s.marker != epoch {
			continue
		}
		held := s.held
		s.marker, s.held = 0, nil
		for k := range held {
			if held[k].Flags&wire.FlagMarker != 0 {
				s.marker, s.markNext = int(held[k].Tag), held[k].Seq+1
				s.held = append(s.held, held[k+1:]...)
				break
			}
			p.deliverLocked(s, &held[k])
		}
	}
}

// cut takes this rank's part of checkpoint epoch at safe point at and
// writes it to a file in the working directory, whose name it returns.
func (p *connProc) cut(epoch int, at uint64) (string, error) {
	snap := snapshot{Epoch: epoch, At: at, Rank: p.w.Rank, Size: p.w.Size,
		Send: make([]uint64, p.w.Size), Next: make([]uint64, p.w.Size)}
	for dst := range p.w.Size {
		if dst == p.w.Rank {
			continue
		}
		seq, err := p.sendMarker(dst, epoch)
		if err != nil {
			return "", err
		}
		snap.Send[dst] = seq
	}

	p.Poll()
	t := time.AfterFunc(cutTimeout, func() {
		p.rmu.Lock()
		p.ck.timedOut = true
		p.ck.markers.Broadcast()
		p.rmu.Unlock()
	})
	defer t.Stop()
	p.arm.enter()
	p.rmu.Lock()
	missing := p.unmarkedLocked(epoch)
	for missing >= 0 && !p.ck.timedOut && !p.isClosed() && p.ck.abandoned < epoch {
		p.ck.markers.Wait()
		missing = p.unmarkedLocked(epoch)
	}
	timedOut, abandoned := p.ck.timedOut, p.ck.abandoned >= epoch
	p.ck.timedOut = false
	if missing >= 0 || abandoned {
		p.ck.abandoned = max(p.ck.abandoned, epoch)
		p.releaseLocked(epoch)
		p.rmu.Unlock()
		p.arm.leave()
		switch {
		case abandoned:
			return "", errAbandoned
		case timedOut:
			return "", fmt.Errorf("%w: checkpoint %d: none from rank %d within %v (are the ranks' safe points aligned?)", errNoMarker, epoch, missing, cutTimeout)
		}
		return "", ErrClosed
	}
	for src := range p.srcs {
		snap.Next[src] = p.srcs[src].markNext
	}
	snap.Next[p.w.Rank] = 1
	queue, pending := p.m.snapshot()
	snap.Queue = queue
	p.releaseLocked(epoch)
	p.rmu.Unlock()
	p.arm.leave()
	if pending > 0 {
		return "", fmt.Errorf("peal: checkpoint %d: %d receives still posted at the safe point; complete them first", epoch, pending)
	}

	p.ck.mu.Lock()
	for _, r := range p.ck.regions {
		snap.State = append(snap.State, namedState{r.name, r.save()})
	}
	p.ck.mu.Unlock()
	name := fmt.Sprintf("ckpt-%d.state", epoch)
	if err := writeFileAtomic(filepath.Join(p.w.Dir, name), snap.encode()); err != nil {
		return "", fmt.Errorf("peal: checkpoint %d: %w", epoch, err)
	}
	return name, nil
}

// unmarkedLocked returns a rank whose marker for epoch has not arrived,
// or -1.
func (p *connProc) unmarkedLocked(epoch int) int {
	for i := range p.srcs {
		if i != p.w.Rank && p.srcs[i].marker != epoch {
			return i
		}
	}
	return -1
}

func (p *connProc) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// restore loads the checkpoint the host named in the welcome. It runs
// before any connection is read.
func (p *connProc) restore() error {
	b, err := os.ReadFile(filepath.Join(p.w.Dir, p.w.Restore))
	if err != nil {
		return fmt.Errorf("peal: restart: %w", err)
	}
	snap, err := decodeSnapshot(b)
	if err != nil {
		return fmt.Errorf("peal: restart from %s: %w", p.w.Restore, err)
	}
	if snap.Rank != p.w.Rank || snap.Size != p.w.Size {
		return fmt.Errorf("peal: restart: checkpoint of rank %d of %d given to rank %d of %d", snap.Rank, snap.Size, p.w.Rank, p.w.Size)
	}
	for i := range p.w.Size {
		p.routes[i].seq = snap.Send[i]
		p.srcs[i].next = max(snap.Next[i], 1)
	}
	for _, m := range snap.Queue {
		p.m.Deliver(m)
	}
	p.ck.count = snap.At - 1 // the program calls the cut's safe point again
	p.ck.restart = snap.Epoch
	p.ck.saved = map[string][]byte{}
	for _, s := range snap.State {
		p.ck.saved[s.name] = s.data
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
