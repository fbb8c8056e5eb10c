package dvm

import (
	"fmt"
	"slices"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// EpochInfo is a committed checkpoint of a job: every rank's state, in
// the block store under CIDs[rank].
type EpochInfo struct {
	Epoch int       `json:"epoch"`
	Time  time.Time `json:"time"`
	At    uint64    `json:"safe_point"` // the safe point every rank cut at
	// Bytes of state over all ranks; Stored after compression; New of
	// those not already stored by the ranks' previous epoch (what this
	// epoch cost the store).
	Bytes  int64    `json:"bytes"`
	Stored int64    `json:"stored"`
	New    int64    `json:"new"`
	TookMS int64    `json:"took_ms"`
	CIDs   []string `json:"cids"`
}

// ckptCore is the coordinator's state machine for one job's checkpoints
// (see peal/ckpt.go for the ranks' side). It does no I/O: the driver
// feeds it the ranks' answers and carries out the step each returns.
//
// An epoch goes: begin (the driver asks every rank for its safe-point
// count) → every count in (the cut is one past the largest, so no rank
// has passed it) → every rank's state stored → commit. Anything else —
// a rank's error, a lost rank, a timeout — aborts the epoch, and the
// last committed one stays the one to restart from.
type ckptCore struct {
	n         int
	next      int // number of the next epoch
	cur       *epochRun
	committed []EpochInfo
}

type epochRun struct {
	epoch   int
	started time.Time
	counts  map[int]uint64
	at      uint64
	stored  map[int]wire.CkptStored
}

// ckptStep is what the driver must do after an event.
type ckptStep struct {
	sendAt uint64     // tell every rank to cut at this safe point
	commit *EpochInfo // the epoch is complete: record it
	abort  string     // the epoch failed: tell the ranks, report this
}

func newCkptCore(n int) *ckptCore { return &ckptCore{n: n, next: 1} }

// begin starts a new epoch unless one is under way.
func (c *ckptCore) begin(now time.Time) (int, error) {
	if c.cur != nil {
		return 0, fmt.Errorf("checkpoint %d is still under way", c.cur.epoch)
	}
	c.cur = &epochRun{epoch: c.next, started: now, counts: map[int]uint64{}, stored: map[int]wire.CkptStored{}}
	c.next++
	return c.cur.epoch, nil
}

func (c *ckptCore) run(epoch int) *epochRun {
	if c.cur == nil || c.cur.epoch != epoch {
		return nil
	}
	return c.cur
}

func (c *ckptCore) count(epoch, rank int, n uint64) ckptStep {
	r := c.run(epoch)
	if r == nil || rank < 0 || rank >= c.n || r.at != 0 {
		return ckptStep{}
	}
	r.counts[rank] = n
	if len(r.counts) < c.n {
		return ckptStep{}
	}
	var top uint64
	for _, v := range r.counts {
		top = max(top, v)
	}
	r.at = top + 1
	return ckptStep{sendAt: r.at}
}

func (c *ckptCore) stored(epoch, rank int, s wire.CkptStored, now time.Time) ckptStep {
	r := c.run(epoch)
	if r == nil || rank < 0 || rank >= c.n {
		return ckptStep{}
	}
	if s.Err != "" || s.CID == "" {
		reason := s.Err
		if reason == "" {
			reason = "no state stored"
		}
		return c.fail(epoch, fmt.Sprintf("rank %d: %s", rank, reason))
	}
	if r.at == 0 {
		return c.fail(epoch, fmt.Sprintf("rank %d stored state before the cut was named", rank))
	}
	r.stored[rank] = s
	if len(r.stored) < c.n {
		return ckptStep{}
	}
	e := EpochInfo{Epoch: epoch, Time: now.UTC(), At: r.at, TookMS: now.Sub(r.started).Milliseconds(), CIDs: make([]string, c.n)}
	for rk, st := range r.stored {
		e.CIDs[rk] = st.CID
		e.Bytes += st.Bytes
		e.Stored += st.Stored
		e.New += st.New
	}
	c.committed = append(c.committed, e)
	c.cur = nil
	return ckptStep{commit: &e}
}

// adopt commits epoch as its coordinator, elsewhere, completed it. The
// epoch must be the one under way and name a state for every rank.
func (c *ckptCore) adopt(epoch int, e EpochInfo) ckptStep {
	if c.run(epoch) == nil {
		return ckptStep{}
	}
	have := len(e.CIDs) - len(slices.DeleteFunc(slices.Clone(e.CIDs), func(s string) bool { return s != "" }))
	if e.Epoch != epoch || len(e.CIDs) != c.n || have != c.n {
		return c.fail(epoch, fmt.Sprintf("the coordinator answered epoch %d with %d of %d states", e.Epoch, have, c.n))
	}
	c.committed = append(c.committed, e)
	c.cur = nil
	return ckptStep{commit: &e}
}

// fail aborts epoch if it is the one under way.
func (c *ckptCore) fail(epoch int, reason string) ckptStep {
	if c.run(epoch) == nil {
		return ckptStep{}
	}
	c.cur = nil
	return ckptStep{abort: fmt.Sprintf("checkpoint %d aborted: %s", epoch, reason)}
}

// last returns the latest committed epoch, if any.
func (c *ckptCore) last() (EpochInfo, bool) {
	if len(c.committed) == 0 {
		return EpochInfo{}, false
	}
	return c.committed[len(c.committed)-1], true
}

// find returns committed epoch e.
func (c *ckptCore) find(e int) (EpochInfo, bool) {
	for _, x := range c.committed {
		if x.Epoch == e {
			return x, true
		}
	}
	return EpochInfo{}, false
}
