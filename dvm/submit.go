package dvm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	idb := make([]byte, 6)
	_, _ = rand.Read(idb)
	rec := JobRecord{
		ID: hex.EncodeToString(idb), Owner: p.h.ID(), Program: filepath.Base(spec.Program),
		Args: spec.Args, N: spec.N, Submitted: time.Now().UTC(),
	}
	j, err := newJob(p, rec)
	if err != nil {
		return nil, err
	}
	j.env = spec.Env
	if j.cert, j.key, err = peal.GenerateJobCredentials(rec.ID); err != nil {
		return nil, fmt.Errorf("job credentials: %w", err)
	}
	p.jobs.add(j)
	p.goFunc(func() { p.pinWhileRunning(j, hash) })
	p.publishRecord(ctx, j.nextRevision())
	p.goFunc(func() { j.spawnAll(hash, size) })
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
	p      *Peer
	n      int
	logf   *os.File
	logDir string
	cert   []byte // shared TLS credentials of the job's ranks
	key    []byte
	env    []string
	rev    uint64 // revision of the last published record, under mu

	mu      sync.Mutex
	core    *jobCore
	hosts   map[int]peer.ID // rank -> host that streams its output
	owners  map[peer.ID]bool
	changed chan struct{} // closed and replaced on every append or state change
	done    chan struct{}
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
		p: p, n: rec.N, logf: f, logDir: dir, core: newJobCore(rec),
		hosts: map[int]peer.ID{}, owners: map[peer.ID]bool{},
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

func (j *Job) spawnAll(hash string, size int64) {
	rec := j.record()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for r := 0; r < rec.N; r++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(rank int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := j.spawn(rank, hash, size); err != nil {
				j.p.log.Warn("spawn failed", "job", rec.ID, "rank", rank, "err", err)
				j.kill(fmt.Sprintf("rank %d could not be started: %v", rank, err), 1, JobFailed)
			}
		}(r)
	}
	wg.Wait()
}

func (j *Job) spawn(rank int, hash string, size int64) error {
	rec := &j.core.rec // immutable fields only
	ctx, cancel := context.WithTimeout(j.p.ctx, 2*time.Minute)
	defer cancel()
	req := spawnReq{
		Job: rec.ID, Rank: rank, Size: rec.N, Submitter: j.p.h.ID(),
		Bin: hash, BinSize: size, Program: rec.Program, Args: rec.Args,
		Cert: j.cert, Key: j.key, Env: j.env,
	}
	key := RankKey(rec.ID, rank)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		owner, err := j.p.ownerOf(ctx, key)
		if err != nil {
			return err
		}
		var loc Location
		if err = j.p.call(ctx, owner, "rank.spawn", req, &loc); err == nil {
			j.placed(rank, loc.Host, owner)
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

func (j *Job) placed(rank int, host, owner peer.ID) {
	j.mu.Lock()
	j.core.placed(rank, host)
	j.core.rec.Ranks[rank].Host = host
	j.owners[owner] = true
	torn := j.core.failed
	was := j.core.rec.State
	j.notifyLocked()
	j.mu.Unlock()
	if torn {
		// The job was killed while this spawn was in flight.
		j.killHosts([]peer.ID{host})
	}
	if was == JobRunning {
		j.p.goFunc(func() { j.publish() })
	}
}

// claimOutput lets the first stream for a rank through and refuses others.
func (j *Job) claimOutput(rank int, from peer.ID) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, taken := j.hosts[rank]; taken {
		return false
	}
	j.hosts[rank] = from
	return true
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

func (j *Job) exit(rank int, e wire.Exit, st RankState) {
	if e.Err != "" {
		j.output(rank, wire.TypeStderr, []byte("p2pdvm: "+e.Err+"\n"))
	}
	j.mu.Lock()
	a := j.core.exited(rank, e.Code, e.Signal, st)
	j.notifyLocked()
	j.mu.Unlock()
	j.act(a)
}

func (j *Job) kill(reason string, code int, state JobState) {
	j.mu.Lock()
	a := j.core.kill(reason, code, state)
	j.notifyLocked()
	j.mu.Unlock()
	j.act(a)
}

func (j *Job) act(a action) {
	if a.killAll {
		j.mu.Lock()
		var hosts []peer.ID
		seen := map[peer.ID]bool{}
		for _, r := range j.core.rec.Ranks {
			if r.Host != "" && !seen[r.Host] {
				seen[r.Host] = true
				hosts = append(hosts, r.Host)
			}
		}
		j.mu.Unlock()
		j.killHosts(hosts)
	}
	if a.ended {
		j.finish()
	}
}

func (j *Job) killHosts(hosts []peer.ID) {
	for _, h := range hosts {
		j.p.goFunc(func() {
			ctx, cancel := context.WithTimeout(j.p.ctx, 10*time.Second)
			defer cancel()
			if err := j.p.call(ctx, h, "proc.kill", killReq{Job: j.ID()}, nil); err != nil {
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
	_ = j.logf.Close()
	close(j.done)
	j.notifyLocked()
	j.mu.Unlock()
	j.p.goFunc(func() {
		j.publish()
		ctx, cancel := context.WithTimeout(j.p.ctx, 10*time.Second)
		defer cancel()
		for o := range owners {
			_ = j.p.call(ctx, o, "rank.release", releaseReq{Job: j.ID()}, nil)
		}
	})
	j.p.out.dropJob(j.ID())
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
	j := p.jobs.get(req.Job)
	if j == nil {
		return nil, fmt.Errorf("%w: job %s", wire.ErrNotFound, req.Job)
	}
	j.mu.Lock()
	host := j.hosts[req.Rank]
	j.mu.Unlock()
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
