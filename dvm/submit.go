package dvm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/peal"
)

// Spec is a job as a user submits it.
type Spec struct {
	Program string   // path of the executable on the submitting machine
	Args    []string // arguments after the program
	N       int      // number of ranks
	Files   []string // input files on the submitting machine, copied into every rank's working directory
	// Env is NAME=VALUE pairs added to every rank's environment. A host
	// does not pass its own environment on (it is not the submitter's),
	// so what a program needs must be asked for, as with Open MPI's -x.
	Env []string
	// CkptInterval, if positive, checkpoints the job this often (the
	// program must call the PEAL's safe point; see peal.Checkpointer).
	CkptInterval time.Duration
	// MaxRestarts is how many times the job restarts by itself, from its
	// last committed checkpoint (or from the start without one), after
	// a peer hosting ranks is lost.
	MaxRestarts int
}

// Errors a user can cause, tested with errors.Is.
var (
	ErrBadSpec   = errors.New("invalid job")
	ErrNoSuchJob = errors.New("no such job")
)

// Exit codes of jobs that did not end by themselves, as shells report
// signals.
const (
	ExitKilled      = 137 // p2pdvm kill, or a rank's host lost
	ExitInterrupted = 130 // Ctrl-C on submit
)

func (s *Spec) validate() error {
	if err := validateEnv(s.Env); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	if s.CkptInterval < 0 || s.MaxRestarts < 0 {
		return fmt.Errorf("%w: checkpoint interval and restarts must not be negative", ErrBadSpec)
	}
	if s.N < 1 || s.N > MaxRanks {
		return fmt.Errorf("%w: -n %d: the number of ranks must be between 1 and %d", ErrBadSpec, s.N, MaxRanks)
	}
	st, err := os.Stat(s.Program)
	if err != nil {
		return fmt.Errorf("%w: program %s: %v", ErrBadSpec, s.Program, errors.Unwrap(err))
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%w: program %s is not an executable file", ErrBadSpec, s.Program)
	}
	return nil
}

// Submit starts a job on the DVM with this peer as its submitter and owner.
// It returns once the job record exists; ranks are spawned in the
// background. Follow the job with Job.Wait and Job.Output.
func (p *Peer) Submit(ctx context.Context, spec Spec) (*Job, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	hash, size, err := p.putJob(spec) // the CID and size of the job's files in the block store
	if err != nil {
		return nil, fmt.Errorf("%w: read program: %v", ErrBadSpec, err)
	}
	rec := JobRecord{
		Program: filepath.Base(spec.Program), Args: spec.Args, N: spec.N, CkptInterval: spec.CkptInterval,
	}
	return p.startJob(ctx, rec, spec.Env, spec.MaxRestarts, hash, size, nil)
}

// startJob creates a job from the user's parts of rec and starts its
// ranks, from epoch from if it resumes another job's checkpoint.
func (p *Peer) startJob(ctx context.Context, rec JobRecord, env []string, maxRestarts int, bin string, binSize int64, from *EpochInfo) (*Job, error) {
	idb := make([]byte, 6)
	_, _ = rand.Read(idb)
	rec.ID, rec.Owner, rec.Submitted = hex.EncodeToString(idb), p.h.ID(), time.Now().UTC()
	j, err := newJob(p, rec)
	if err != nil {
		return nil, err
	}
	j.env = env
	j.core.maxRestarts = maxRestarts
	j.bin, j.binSize = bin, binSize
	if from != nil {
		// Resuming: the epoch is this job's first, and its numbering goes on.
		j.ck.committed = []EpochInfo{*from}
		j.ck.next = from.Epoch + 1
		j.core.rec.Epochs = []EpochInfo{*from}
		p.goFunc(func() { j.pinEpoch(*from) })
	}
	if j.cert, j.key, err = peal.GenerateJobCredentials(rec.ID); err != nil {
		return nil, fmt.Errorf("job credentials: %w", err)
	}
	j.msgKey = make([]byte, msgKeyLen)
	if _, err := rand.Read(j.msgKey); err != nil {
		return nil, fmt.Errorf("job message key: %w", err)
	}
	p.jobs.add(j)
	p.goFunc(func() { p.pinWhileRunning(j, bin) })
	p.publishRecord(ctx, j.nextRevision())
	p.goFunc(func() { j.spawnAll(0, from) })
	if rec.CkptInterval > 0 {
		p.goFunc(func() { j.checkpointEvery(rec.CkptInterval) })
	}
	p.goFunc(j.watchHosts)
	return j, nil
}

// Kill ends a job submitted here. Remote peers cannot reach this: a kill
// request from another peer's user is refused by handleKill.
func (p *Peer) Kill(id string, reason string, code int) error {
	j := p.jobs.get(id)
	if j == nil {
		return fmt.Errorf("%w: %s was not submitted from this peer", ErrNoSuchJob, id)
	}
	j.kill(reason, code, JobKilled)
	return nil
}

// Job is a job submitted from this peer.
type Job struct {
	p       *Peer
	n       int
	logf    *os.File
	logDir  string
	cert    []byte // shared TLS credentials of the job's ranks
	key     []byte
	msgKey  []byte // authenticates messages between the job's hosts
	env     []string
	rev     uint64 // revision of the last published record, under mu
	bin     string // the program's hash and size, for spawns and restarts
	binSize int64

	mu     sync.Mutex
	core   *jobCore
	ck     *ckptCore
	ckWait map[int]chan ckptResult // epoch -> whoever waits for it
	hosts  map[rankID]peer.ID      // (run id, rank) -> host that streams its output
	owners map[peer.ID]bool
	// checking holds the hosts whose reported loss is being confirmed.
	checking map[peer.ID]bool
	changed  chan struct{} // closed and replaced on every append or state change
	done     chan struct{}
}

func newJob(p *Peer, rec JobRecord) (*Job, error) {
	dir := filepath.Join(p.cfg.DataDir, "jobs", rec.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "output.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &Job{
		p: p, n: rec.N, logf: f, logDir: dir, core: newJobCore(rec), ck: newCkptCore(rec.N),
		ckWait: map[int]chan ckptResult{}, hosts: map[rankID]peer.ID{}, owners: map[peer.ID]bool{},
		changed: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// ID is the job's id.
func (j *Job) ID() string { return j.core.rec.ID }

// Done is closed when every rank has ended.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait blocks until the job ends or ctx is done and returns its record.
func (j *Job) Wait(ctx context.Context) (JobRecord, error) {
	select {
	case <-j.done:
		return j.record(), nil
	case <-ctx.Done():
		return j.record(), ctx.Err()
	}
}

func (j *Job) record() JobRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.recordLocked()
}

func (j *Job) recordLocked() JobRecord {
	r := j.core.rec
	r.Ranks = append([]RankInfo(nil), r.Ranks...)
	return r
}

func (j *Job) notifyLocked() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// spawnAll starts every rank of run; from, if set, is the epoch they
// resume from.
func (j *Job) spawnAll(run int, from *EpochInfo) {
	rec := j.record()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for r := 0; r < rec.N; r++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(rank int) {
			defer wg.Done()
			defer func() { <-sem }()
			var rs *restoreRef
			if from != nil {
				rs = &restoreRef{Epoch: from.Epoch, CID: from.CIDs[rank]}
			}
			if err := j.spawn(run, rank, rs); err != nil {
				j.p.log.Warn("spawn failed", "job", rec.ID, "run", run, "rank", rank, "err", err)
				if j.currentRun() == run {
					j.kill(fmt.Sprintf("rank %d could not be started: %v", rank, err), 1, JobFailed)
				}
			}
		}(r)
	}
	wg.Wait()
}

func (j *Job) spawn(run, rank int, from *restoreRef) error {
	rec := &j.core.rec // immutable fields only
	ctx, cancel := context.WithTimeout(j.p.ctx, 2*time.Minute)
	defer cancel()
	rid := runID(rec.ID, run)
	req := spawnReq{
		Job: rid, Rank: rank, Size: rec.N, Submitter: j.p.h.ID(),
		Bin: j.bin, BinSize: j.binSize, Program: rec.Program, Args: rec.Args,
		Cert: j.cert, Key: j.key, MsgKey: j.msgKey, Env: j.env, Restore: from,
		Host: pickHost(j.p.livePeers(), rid, rank),
	}
	key := RankKey(rid, rank)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		owner, err := j.p.ownerOf(ctx, key)
		if err != nil {
			return err
		}
		var loc Location
		if err = j.p.call(ctx, owner, "rank.spawn", req, &loc); err == nil {
			j.placed(run, rank, loc.Host, owner)
			return nil
		}
		lastErr = err
		j.p.forgetOwner(key)
		if !errors.Is(err, wire.ErrUnavailable) {
			break
		}
	}
	return lastErr
}

func (j *Job) placed(run, rank int, host, owner peer.ID) {
	j.mu.Lock()
	if run != j.core.rec.Run {
		// A spawn of a run that has been replaced by a restart.
		j.mu.Unlock()
		j.killHosts(runID(j.ID(), run), []peer.ID{host})
		return
	}
	j.core.placed(rank, host)
	j.core.rec.Ranks[rank].Host = host
	j.owners[owner] = true
	torn := j.core.failed
	was := j.core.rec.State
	j.notifyLocked()
	j.mu.Unlock()
	if torn {
		// The job was killed while this spawn was in flight.
		j.killHosts(runID(j.ID(), run), []peer.ID{host})
	} else {
		j.p.goFunc(func() { j.sendTicket(runID(j.ID(), run), rank, host, owner) })
	}
	if was == JobRunning {
		j.p.goFunc(func() { j.publish() })
	}
}

// claimOutput lets the first stream for a rank of a run through and
// refuses others.
func (j *Job) claimOutput(run, rank int, from peer.ID) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := rankID{runID(j.ID(), run), rank}
	if _, taken := j.hosts[k]; taken {
		return false
	}
	j.hosts[k] = from
	return true
}

func (j *Job) currentRun() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.core.rec.Run
}

func (j *Job) output(rank int, fd byte, data []byte) {
	var hdr [9]byte
	putU32(hdr[0:], uint32(rank))
	hdr[4] = fd
	putU32(hdr[5:], uint32(len(data)))
	j.mu.Lock()
	defer j.mu.Unlock()
	// One write per record keeps records whole for concurrent readers.
	buf := make([]byte, 0, len(hdr)+len(data))
	buf = append(append(buf, hdr[:]...), data...)
	if _, err := j.logf.Write(buf); err != nil {
		j.p.log.Warn("job log", "job", j.core.rec.ID, "err", err)
	}
	j.notifyLocked()
}

func (j *Job) exit(run, rank int, e wire.Exit, st RankState) {
	if j.currentRun() != run {
		return // a rank of a run that a restart replaced, ending as told
	}
	if e.Err != "" {
		j.output(rank, wire.TypeStderr, []byte("p2pdvm: "+e.Err+"\n"))
	}
	j.mu.Lock()
	if run != j.core.rec.Run { // a restart began meanwhile
		j.mu.Unlock()
		return
	}
	// Before a restart forgets them: the lost host and the run's hosts.
	lost, hosts := j.core.rec.Ranks[rank].Host, j.rankHostsLocked()
	j.core.rec.Ranks[rank].Routed, j.core.rec.Ranks[rank].Shortcut = e.Routed, e.Shortcut
	a := j.core.exited(rank, e.Code, e.Signal, st)
	j.notifyLocked()
	j.mu.Unlock()
	if a.restart {
		j.restart(run, rank, lost, hosts)
		return
	}
	j.act(a)
}

func (j *Job) kill(reason string, code int, state JobState) {
	j.mu.Lock()
	a := j.core.kill(reason, code, state)
	j.notifyLocked()
	j.mu.Unlock()
	j.act(a)
}

// rankHostsLocked lists the peers that host ranks of the current run.
func (j *Job) rankHostsLocked() []peer.ID {
	var hosts []peer.ID
	seen := map[peer.ID]bool{}
	for _, r := range j.core.rec.Ranks {
		if r.Host != "" && !seen[r.Host] {
			seen[r.Host] = true
			hosts = append(hosts, r.Host)
		}
	}
	return hosts
}

func (j *Job) act(a action) {
	if a.killAll {
		j.mu.Lock()
		hosts := j.rankHostsLocked()
		run := runID(j.ID(), j.core.rec.Run)
		j.mu.Unlock()
		j.killHosts(run, hosts)
	}
	if a.ended {
		j.finish()
	}
}

// killHosts kills the ranks of run (a run id) on hosts.
func (j *Job) killHosts(run string, hosts []peer.ID) {
	for _, h := range hosts {
		j.p.goFunc(func() {
			ctx, cancel := context.WithTimeout(j.p.ctx, 10*time.Second)
			defer cancel()
			if err := j.p.call(ctx, h, "proc.kill", killReq{Job: run}, nil); err != nil {
				j.p.log.Warn("kill ranks", "job", j.ID(), "host", shortID(h), "err", err)
			}
		})
	}
}

func (j *Job) finish() {
	j.mu.Lock()
	select {
	case <-j.done:
		j.mu.Unlock()
		return
	default:
	}
	j.core.rec.Ended = time.Now().UTC()
	owners := j.owners
	runs := j.core.rec.Run
	// A job that succeeded needs its checkpoint no more; a failed or
	// killed one keeps its last for p2pdvm restart.
	var release []EpochInfo
	if j.core.rec.State == JobDone {
		release = j.core.rec.Epochs
	}
	for e, ch := range j.ckWait {
		ch <- ckptResult{err: fmt.Errorf("job %s ended before checkpoint %d committed", j.ID(), e)}
		delete(j.ckWait, e)
	}
	_ = j.logf.Close()
	close(j.done)
	j.notifyLocked()
	j.mu.Unlock()
	j.p.goFunc(func() {
		for _, e := range release {
			j.unpinEpoch(e, nil)
		}
		j.publish()
		j.release(owners, runs)
	})
	for run := 0; run <= runs; run++ {
		j.p.out.dropJob(runID(j.ID(), run))
	}
}

// release ends the job's location objects: at the owners that placed
// its ranks and at its keys' owners now, which differ once objects have
// moved with the key space. Former owners drop their forwarding pointers
// too, and every owner keeps a tombstone so late messages are dropped.
func (j *Job) release(placedAt map[peer.ID]bool, runs int) {
	ctx, cancel := context.WithTimeout(j.p.ctx, 10*time.Second)
	defer cancel()
	n := j.core.rec.N
	for run := 0; run <= runs; run++ {
		rid := runID(j.ID(), run)
		to := maps.Clone(placedAt)
		for r := 0; r < n; r++ {
			if o, err := j.p.ownerOf(ctx, RankKey(rid, r)); err == nil {
				to[o] = true
			}
		}
		var wg sync.WaitGroup
		for o := range to {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = j.p.call(ctx, o, "rank.release", releaseReq{Job: rid}, nil)
			}()
		}
		wg.Wait()
	}
}

func (j *Job) publish() {
	ctx, cancel := context.WithTimeout(j.p.ctx, 10*time.Second)
	defer cancel()
	j.p.publishRecord(ctx, j.nextRevision())
}

// nextRevision is the record to publish, numbered after every earlier one
// so the owner keeps the latest whatever order copies arrive in.
func (j *Job) nextRevision() JobRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rev++
	j.core.rec.Rev = j.rev
	return j.recordLocked()
}

func (p *Peer) handleJobAbort(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req abortReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	j, run := p.jobs.getRun(req.Job)
	if j == nil {
		return nil, fmt.Errorf("%w: job %s", wire.ErrNotFound, req.Job)
	}
	j.mu.Lock()
	host, current := j.hosts[rankID{req.Job, req.Rank}], run == j.core.rec.Run
	j.mu.Unlock()
	if !current {
		return nil, nil // a replaced run's rank: its end changes nothing
	}
	if from != host && from != p.h.ID() {
		return nil, fmt.Errorf("%w: abort of rank %d from a peer that does not host it", wire.ErrDenied, req.Rank)
	}
	code := req.Code
	if code == 0 {
		code = 1
	}
	j.output(req.Rank, wire.TypeStderr, []byte(fmt.Sprintf("p2pdvm: rank %d aborted the job with code %d: %s\n", req.Rank, req.Code, req.Msg)))
	j.kill(fmt.Sprintf("rank %d called abort", req.Rank), code, JobFailed)
	return nil, nil
}

// submitTable holds the jobs submitted from this peer.
type submitTable struct {
	mu sync.Mutex
	m  map[string]*Job
}

func newSubmitTable() *submitTable { return &submitTable{m: map[string]*Job{}} }

func (t *submitTable) add(j *Job) {
	t.mu.Lock()
	t.m[j.ID()] = j
	t.mu.Unlock()
}

func (t *submitTable) get(id string) *Job {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// getRun finds the job of a run id and the run's number.
func (t *submitTable) getRun(rid string) (*Job, int) {
	id, run, ok := parseRunID(rid)
	if !ok {
		return nil, 0
	}
	return t.get(id), run
}

func (t *submitTable) list() []*Job {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Job, 0, len(t.m))
	for _, j := range t.m {
		out = append(out, j)
	}
	return out
}

func (t *submitTable) killAll(p *Peer, reason string) {
	for _, j := range t.list() {
		j.kill(reason, ExitKilled, JobKilled)
	}
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
