package mpishim

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2pdvm/p2pdvm/peal"
)

// Wildcards, as MPI_ANY_SOURCE and MPI_ANY_TAG.
const (
	AnySource = peal.AnySource
	AnyTag    = int(peal.AnyTag)
	// TagUB is the largest tag a program may use (MPI_TAG_UB); the tags
	// below -1 acknowledge synchronous sends.
	TagUB = 1<<31 - 2
)

// Errors, after MPI's error classes; test them with errors.Is.
var (
	ErrRank     = errors.New("mpishim: invalid rank")
	ErrTag      = errors.New("mpishim: invalid tag")
	ErrTruncate = errors.New("mpishim: message truncated")
	ErrCount    = errors.New("mpishim: invalid count")
	ErrOp       = errors.New("mpishim: invalid reduction operation")
	ErrType     = errors.New("mpishim: unsupported buffer type")
	ErrInit     = errors.New("mpishim: Init called twice")
	ErrNoInit   = errors.New("mpishim: Finalize without Init")
)

// Status describes a received or probed message. Count is in bytes; use
// ElemCount for elements.
type Status struct {
	Source    int
	Tag       int
	Count     int
	Cancelled bool // the receive was withdrawn by Request.Cancel
}

// Comm is a communicator: an ordered group of processes and a private
// message space. Its methods may be called from several goroutines only
// for point to point traffic; collectives on one communicator must be
// entered in the same order by every member, one at a time.
type Comm struct {
	pr    *process
	ranks []int   // comm rank -> process (world) rank
	index []int32 // world rank -> comm rank or -1; nil when ranks is the identity
	rank  int
	ctx   uint32 // point to point context; ctx+1 carries the collectives
	// inter is set on an intercommunicator only: its remote group, which
	// point to point ranks name (see intercomm.go).
	inter *interPart
}

// process is what the communicators of one process share.
type process struct {
	p     peal.Proc
	world *Comm

	mu        sync.Mutex
	nextCtx   uint32 // lowest context id this process has not used
	finalized bool
	spin      atomic.Int64 // nanoseconds; see SetWait (read on every wait)
	yield     atomic.Bool
	pending   pending // receives not yet complete (progress.go)
}

// The world uses contexts 0 and 1, Self 2 and 3.
const selfCtx = 2

// InitWith builds the world communicator over p. Init uses it on the
// endpoint from peal.Connect; tests use it on the members of a
// peal.NewGroup, each of which gets a world of its own.
func InitWith(p peal.Proc) *Comm {
	ranks := make([]int, p.Size())
	for i := range ranks {
		ranks[i] = i
	}
	pr := &process{p: p, nextCtx: selfCtx + 2}
	pr.setWait(Spin(), true)
	pr.world = &Comm{pr: pr, ranks: ranks, rank: p.Rank(), ctx: 0}
	return pr.world
}

// The package-level world exists only so that Finalize can be called
// without a communicator, as in C; nothing else reads it.
var (
	worldMu sync.Mutex
	world   *Comm
)

// Init attaches to the peer that started this process and returns the
// world communicator. Outside a p2pdvm job it fails with an error that
// wraps peal.ErrNotInJob.
func Init() (*Comm, error) {
	worldMu.Lock()
	defer worldMu.Unlock()
	if world != nil {
		return nil, ErrInit
	}
	p, err := peal.Connect()
	if err != nil {
		return nil, fmt.Errorf("mpishim: init: %w", err)
	}
	oneCorePerRank()
	world = InitWith(p)
	return world, nil
}

// oneCorePerRank gives the Go scheduler one P unless the user chose
// otherwise (p2pdvm submit -x GOMAXPROCS=N). An MPI job runs a rank per
// core, as Open MPI binds them by default; with more Ps than that, each
// message arrival hands work to another thread (a futex wake-up: 46 µs
// one way for 8 B instead of 18 µs here), and idle Ps spinning for work
// take CPU from the rank computing beside them.
func oneCorePerRank() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// Finalize finalizes the world communicator returned by Init.
func Finalize() error {
	worldMu.Lock()
	w := world
	worldMu.Unlock()
	if w == nil {
		return ErrNoInit
	}
	return w.Finalize()
}

// Finalize ends this process's part in the job: it waits in a barrier on
// the world communicator (MPI_Finalize is collective), so no process
// closes its endpoint while another may still be sending to it, then
// closes the endpoint. Any communicator of the process may be used to
// call it; later calls do nothing.
func (c *Comm) Finalize() error {
	pr := c.pr
	pr.mu.Lock()
	done := pr.finalized
	pr.finalized = true
	pr.mu.Unlock()
	if done {
		return nil
	}
	berr := pr.world.Barrier()
	if berr != nil {
		berr = fmt.Errorf("mpishim: finalize: %w", berr)
	}
	return errors.Join(berr, pr.p.Close())
}

// Abort asks the runtime to end the whole job with code (MPI_Abort). It
// returns only if the request could not be made.
func (c *Comm) Abort(code int) error {
	return c.AbortMsg(code, fmt.Sprintf("MPI_Abort(%d) by world rank %d", code, c.ranks[c.rank]))
}

// AbortMsg is Abort with the message the runtime shows for it.
func (c *Comm) AbortMsg(code int, msg string) error { return c.pr.p.Abort(code, msg) }

// Self is the communicator of this process alone (MPI_COMM_SELF). Its
// context is reserved at Init, so making it needs no agreement.
func (c *Comm) Self() *Comm {
	me := c.pr.world.rank
	return &Comm{pr: c.pr, ranks: []int{me}, index: selfIndex(c.pr.p.Size(), me), ctx: selfCtx}
}

func selfIndex(n, me int) []int32 {
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = -1
	}
	idx[me] = 0
	return idx
}

// Members returns the world ranks of c's members in c's rank order
// (what MPI_Comm_group describes).
func (c *Comm) Members() []int { return append([]int(nil), c.ranks...) }

// Context is the id of c's message space; communicators with the same
// members compare by it (MPI_Comm_compare).
func (c *Comm) Context() uint32 { return c.ctx }

// Rank is this process's rank in c.
func (c *Comm) Rank() int { return c.rank }

// Size is the number of processes in c.
func (c *Comm) Size() int { return len(c.ranks) }

// Job is the p2pdvm job id.
func (c *Comm) Job() string { return c.pr.p.Job() }

var start = time.Now()

// Wtime is seconds since an arbitrary point in this process's past, from a
// monotonic clock (MPI_Wtime).
func Wtime() float64 { return time.Since(start).Seconds() }

// Wtick is the resolution of Wtime in seconds.
func Wtick() float64 { return 1e-9 }

func (c *Comm) checkRank(r int, what string) error {
	if r < 0 || r >= len(c.ranks) {
		return fmt.Errorf("%w: %s %d in a communicator of %d", ErrRank, what, r, len(c.ranks))
	}
	return nil
}

// checkSrcTag validates the source and tag of a receive or probe, where
// the wildcards are allowed.
func (c *Comm) checkSrcTag(src, tag int) error {
	if src != AnySource {
		if err := c.checkPeer(src, "source"); err != nil {
			return err
		}
	}
	if tag != AnyTag {
		return checkTag(tag)
	}
	return nil
}

func checkTag(tag int) error {
	if tag < 0 || tag > TagUB {
		return fmt.Errorf("%w: %d (tags run from 0 to %d)", ErrTag, tag, TagUB)
	}
	return nil
}

// commRank maps a process rank back to its rank in c.
func (c *Comm) commRank(worldRank int) int {
	if c.index == nil {
		return worldRank
	}
	return int(c.index[worldRank])
}

// newComm makes a communicator of process ranks (in comm rank order) on
// context ctx; me is this process's rank in it.
func (pr *process) newComm(ranks []int, me int, ctx uint32) *Comm {
	nc := &Comm{pr: pr, ranks: ranks, rank: me, ctx: ctx}
	identity := len(ranks) == pr.p.Size()
	for i, w := range ranks {
		identity = identity && i == w
	}
	if !identity {
		nc.index = make([]int32, pr.p.Size())
		for i := range nc.index {
			nc.index[i] = -1
		}
		for i, w := range ranks {
			nc.index[w] = int32(i)
		}
	}
	return nc
}
