package dvm

import (
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// proc is a rank process hosted on this peer.
type proc struct {
	job       string
	rank      int
	size      int
	token     string
	submitter peer.ID
	wdir      string
	sink      outputSink // to the submitter: output, exit, checkpoint reports
	cmd       *exec.Cmd
	done      chan struct{} // closed when the process has been reaped

	mu       sync.Mutex // guards the fields below and writes to conn
	conn     net.Conn
	queued   [][]byte // frames that arrived before the process attached
	gone     bool     // detached after having attached: drop further messages
	hb       []byte
	killed   bool
	pid      int // set once started
	welcome  []byte
	ckPrev   map[storage.ID]bool // chunks of the rank's last stored state
	addrs    []string            // where the rank accepts direct connections
	ticket   *Ticket             // the submitter's placement, once received
	regAt    peer.ID             // the owner the rank is registered with
	regVer   uint64              // the location's version there
	regCheck time.Time           // when the host last registered it
	located  []bool              // destinations the process was told to dial
	ckEpoch  int                 // the latest epoch a coordinator asked for
	ckCoord  peer.ID             // and that coordinator, to report to

	viaRoute, viaShortcut atomic.Uint64 // messages sent, by path
}

// setCkptCoord records who coordinates epoch; reports go there.
func (pr *proc) setCkptCoord(epoch int, coord peer.ID) {
	pr.mu.Lock()
	if epoch >= pr.ckEpoch {
		pr.ckEpoch, pr.ckCoord = epoch, coord
	}
	pr.mu.Unlock()
}

// ckptCoord is the coordinator of epoch, if it is the latest one asked.
func (pr *proc) ckptCoord(epoch int) peer.ID {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if epoch != pr.ckEpoch {
		return ""
	}
	return pr.ckCoord
}

// markLocated reports whether dst is newly located for the process.
func (pr *proc) markLocated(dst int) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.located == nil {
		pr.located = make([]bool, pr.size)
	}
	if dst < 0 || dst >= len(pr.located) || pr.located[dst] {
		return false
	}
	pr.located[dst] = true
	return true
}

// location is the rank's location object as its host knows it.
func (pr *proc) location(self peer.ID) Location {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return Location{Job: pr.job, Rank: pr.rank, Host: self, Submitter: pr.submitter,
		Version: pr.regVer, Addrs: pr.addrs, Ticket: pr.ticket}
}

// attach binds the process's connection: welcome first, then whatever
// arrived for it while it was starting.
func (pr *proc) attach(c net.Conn) error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.conn != nil || pr.gone {
		return errAlreadyAttached
	}
	if err := wire.WriteFrame(c, wire.TypeWelcome, pr.welcome); err != nil {
		return err
	}
	for _, f := range pr.queued {
		if _, err := c.Write(f); err != nil {
			return err
		}
	}
	pr.queued = nil
	pr.conn = c
	return nil
}

func (pr *proc) detach(c net.Conn) {
	pr.mu.Lock()
	if pr.conn == c {
		pr.conn, pr.gone = nil, true
	}
	pr.mu.Unlock()
}

// deliver writes m to the process. The payload may alias a reused buffer:
// it is copied only if the process has not attached yet.
func (pr *proc) deliver(m *wire.Msg) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.gone {
		return
	}
	job := m.Job
	m.Job = "" // the connection identifies the job
	defer func() { m.Job = job }()
	if pr.conn == nil {
		pr.queued = append(pr.queued, m.AppendFrame(nil, wire.TypeDeliver))
		return
	}
	var err error
	if len(m.Payload) < smallCopy {
		pr.hb = m.AppendFrame(pr.hb[:0], wire.TypeDeliver)
		_, err = pr.conn.Write(pr.hb)
	} else {
		pr.hb = m.AppendHeader(pr.hb[:0], wire.TypeDeliver)
		bufs := net.Buffers{pr.hb, m.Payload}
		_, err = bufs.WriteTo(pr.conn)
	}
	if err != nil {
		pr.conn, pr.gone = nil, true
	}
}

// send writes a control frame to the process, or queues it until the
// process attaches.
func (pr *proc) send(typ byte, body []byte) error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.gone {
		return errors.New("the process has ended")
	}
	if pr.conn == nil {
		pr.queued = append(pr.queued, append(wire.AppendFrameHeader(nil, typ, len(body)), body...))
		return nil
	}
	if err := wire.WriteFrame(pr.conn, typ, body); err != nil {
		pr.conn, pr.gone = nil, true
		return err
	}
	return nil
}

// locate tells the process where a destination rank listens.
func (pr *proc) locate(l wire.Locate) {
	b, _ := json.Marshal(l)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.conn != nil {
		if err := wire.WriteFrame(pr.conn, wire.TypeLocate, b); err != nil {
			pr.conn, pr.gone = nil, true
		}
	}
}

// kill ends the process and everything it started (its process group).
func (pr *proc) kill() {
	pr.mu.Lock()
	pr.killed = true
	pid := pr.pid
	pr.mu.Unlock()
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// started records the pid; a kill that came before it takes effect now.
func (pr *proc) started(pid int) {
	pr.mu.Lock()
	pr.pid = pid
	killed := pr.killed
	pr.mu.Unlock()
	if killed {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// procTable indexes the processes hosted here by rank and by token.
type procTable struct {
	mu      sync.RWMutex
	killed  map[string]time.Time // jobs killed here: their sends are dropped
	byRank  map[rankID]*proc
	byTok   map[string]*proc
	running sync.WaitGroup
}

func newProcTable() *procTable {
	return &procTable{byRank: map[rankID]*proc{}, byTok: map[string]*proc{}, killed: map[string]time.Time{}}
}

func (t *procTable) isKilled(job string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, ok := t.killed[job]
	return ok
}

func (t *procTable) add(pr *proc) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := rankID{pr.job, pr.rank}
	if _, dup := t.byRank[k]; dup {
		return false
	}
	t.byRank[k] = pr
	t.byTok[pr.token] = pr
	return true
}

func (t *procTable) remove(pr *proc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byRank[rankID{pr.job, pr.rank}] == pr {
		delete(t.byRank, rankID{pr.job, pr.rank})
	}
	delete(t.byTok, pr.token)
}

func (t *procTable) get(job string, rank int) *proc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byRank[rankID{job, rank}]
}

func (t *procTable) byToken(tok string) *proc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byTok[tok]
}

// deliver hands m to its destination rank if it runs here.
func (t *procTable) deliver(m *wire.Msg) bool {
	t.mu.RLock()
	pr := t.byRank[rankID{m.Job, int(m.Dst)}]
	t.mu.RUnlock()
	if pr == nil {
		return false
	}
	pr.deliver(m)
	return true
}

func (t *procTable) jobProcs(job string) []*proc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []*proc
	for k, pr := range t.byRank {
		if job == "" || k.job == job {
			out = append(out, pr)
		}
	}
	return out
}

// hosting tells whether any rank process runs here.
func (t *procTable) hosting() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byRank) > 0
}

func (t *procTable) jobHasProcs(job string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for k := range t.byRank {
		if k.job == job {
			return true
		}
	}
	return false
}

func (t *procTable) killJob(job string) {
	if job != "" {
		t.mu.Lock()
		now := time.Now()
		for j, at := range t.killed {
			if now.Sub(at) > tombstoneTTL {
				delete(t.killed, j)
			}
		}
		t.killed[job] = now
		t.mu.Unlock()
	}
	for _, pr := range t.jobProcs(job) {
		pr.kill()
	}
}

func (t *procTable) killAll() { t.killJob("") }

func (t *procTable) count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byRank)
}

// wait blocks until every process started here has been reaped.
func (t *procTable) wait() { t.running.Wait() }
