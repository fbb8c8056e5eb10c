package dvm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/sandbox"
	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/peal"
)

// Limits on what a spawn may ask of a host.
const (
	MaxRanks       = 4096
	MaxProgramSize = 1 << 30
	maxArgBytes    = 128 << 10
)

// validateEnv accepts NAME=VALUE pairs with portable names, none of which
// may override the identity the runtime gives a rank.
func validateEnv(env []string) error {
	n := 0
	for _, kv := range env {
		n += len(kv)
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.HasPrefix(name, "P2PDVM_") || strings.IndexFunc(name, func(r rune) bool {
			return !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) >= 0 || name[0] >= '0' && name[0] <= '9' {
			return fmt.Errorf("environment entry %q: want NAME=VALUE with a name other than P2PDVM_*", kv)
		}
	}
	if n > maxArgBytes {
		return fmt.Errorf("environment too large")
	}
	return nil
}

var errAlreadyAttached = errors.New("dvm: process already attached")

// handleStart runs a rank process here. It returns once the process has
// started; its output and exit go to the submitter.
func (p *Peer) handleStart(ctx context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req spawnReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	n := 0
	for _, a := range req.Args {
		n += len(a) + 1
	}
	if n > maxArgBytes {
		return nil, fmt.Errorf("%w: arguments too long", wire.ErrBadRequest)
	}
	bin, err := p.jobFiles(ctx, &req)
	if err != nil {
		return nil, fmt.Errorf("program for job %s: %w", req.Job, err)
	}
	return p.startProc(ctx, &req, bin)
}

func (p *Peer) startProc(ctx context.Context, req *spawnReq, bin string) (*startReply, error) {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	wdir := p.rankDir(req.Job, req.Rank)
	if err := os.MkdirAll(wdir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: work dir: %v", wire.ErrInternal, err)
	}
	// The host opens the rank's listening socket and hands it over, so its
	// address is known before the process runs and can go into the
	// location object with the placement.
	var ln *os.File
	var addrs []string
	var lnErr error
	if p.cfg.RankDirect {
		ln, addrs, lnErr = p.rankListener()
	}
	if lnErr != nil {
		p.log.Warn("no direct listener for rank; its messages go through peers", "job", req.Job, "rank", req.Rank, "err", lnErr)
	}
	w := wire.Welcome{Job: req.Job, Rank: req.Rank, Size: req.Size, Dir: wdir}
	if ln != nil && len(req.Cert) > 0 {
		w.Cert, w.Key, w.ListenFD = req.Cert, req.Key, 3
	}
	pr := &proc{
		job: req.Job, rank: req.Rank, size: req.Size, token: hex.EncodeToString(tok),
		submitter: req.Submitter, done: make(chan struct{}), wdir: wdir,
	}
	if req.Restore != nil {
		if err := p.fetchRestore(pr, req.Restore); err != nil {
			return nil, fmt.Errorf("%w: restart rank %d: %v", wire.ErrUnavailable, req.Rank, err)
		}
		w.Restore, w.Epoch = restoreFile, req.Restore.Epoch
	}
	pr.welcome, _ = json.Marshal(w)
	if ln != nil {
		defer ln.Close() // the child holds its own copy
	}
	// The key first: a message may reach the rank as soon as it is added.
	p.keys.set(req.Job, req.MsgKey)
	if !p.procs.add(pr) {
		return &startReply{}, nil // a retried start: it already runs here
	}
	unstart := func() {
		p.procs.remove(pr)
		if !p.procs.jobHasProcs(req.Job) {
			p.keys.release(req.Job, time.Now())
		}
	}
	sink, err := p.openOutput(ctx, req.Submitter, req.Job, req.Rank)
	if err != nil {
		unstart()
		return nil, err
	}
	pr.sink = sink
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(bin, req.Args...)
		cmd.Args[0] = req.Program
		if p.cfg.SandboxExec != "" {
			argv := sandbox.Command(p.cfg.SandboxExec, sandbox.Policy{Work: wdir, Exec: bin, Read: p.cfg.RankRead}, bin, cmd.Args)
			cmd = exec.Command(argv[0], argv[1:]...)
		}
		cmd.Dir = wdir
		// A rank gets what it needs and no more of the peer's environment.
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + wdir,
			"TMPDIR=" + wdir,
			"LANG=C.UTF-8",
			peal.EnvSock + "=" + p.psock.path,
			peal.EnvToken + "=" + pr.token,
			peal.EnvJob + "=" + req.Job,
			peal.EnvRank + "=" + strconv.Itoa(req.Rank),
			peal.EnvSize + "=" + strconv.Itoa(req.Size),
		}
		cmd.Env = append(cmd.Env, req.Env...)
		// Own process group, so a kill reaches whatever the rank started;
		// and the rank dies with its host peer rather than run on unowned.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if w.ListenFD == 3 {
			cmd.ExtraFiles = []*os.File{ln}
		}
		return cmd
	}
	cmd, stdout, stderr, err := startRetrying(newCmd)
	if err != nil {
		unstart()
		_ = sink.exit(wire.Exit{Code: 127, Err: err.Error()})
		sink.close()
		return nil, fmt.Errorf("%w: start %s: %v", wire.ErrInternal, req.Program, err)
	}
	p.procs.running.Add(1)
	pr.cmd = cmd
	pr.started(cmd.Process.Pid)
	p.log.Debug("started rank", "job", req.Job, "rank", req.Rank, "pid", cmd.Process.Pid)
	go p.runProc(pr, sink, stdout, stderr, wdir)
	if w.ListenFD == 0 {
		addrs = nil
	}
	pr.mu.Lock()
	pr.addrs = addrs
	pr.mu.Unlock()
	return &startReply{Addrs: addrs}, nil
}

// startRetrying starts a command, retrying while exec fails with "text
// file busy": another goroutine of this process may be forking while the
// program file was still open for writing in the cache (Go issue 22315),
// and the child's copy of that descriptor lasts only until its exec.
func startRetrying(newCmd func() *exec.Cmd) (*exec.Cmd, io.Reader, io.Reader, error) {
	for attempt := 0; ; attempt++ {
		cmd := newCmd()
		stdout, err1 := cmd.StdoutPipe()
		stderr, err2 := cmd.StderrPipe()
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, nil, err
		}
		err := cmd.Start()
		if err == nil {
			return cmd, stdout, stderr, nil
		}
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 20 {
			return nil, nil, nil, err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

// runProc pumps the process's output to the submitter, reaps it, reports
// its exit and cleans up after it.
func (p *Peer) runProc(pr *proc, sink outputSink, stdout, stderr io.Reader, wdir string) {
	defer p.procs.running.Done()
	var wg sync.WaitGroup
	pump := func(fd byte, r io.Reader) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if werr := sink.write(fd, buf[:n]); werr != nil {
					// The submitter is gone: nobody owns this job any more.
					pr.kill()
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(wire.TypeStdout, stdout)
	go pump(wire.TypeStderr, stderr)
	wg.Wait()
	err := pr.cmd.Wait()
	close(pr.done)
	ex := exitOf(pr.cmd, err)
	ex.Routed, ex.Shortcut = pr.viaRoute.Load(), pr.viaShortcut.Load()
	p.procs.remove(pr)
	// The connection is left to serveProc: the process may have written
	// sends that are still in the socket buffer, and they must go out.
	pr.mu.Lock()
	pr.gone = true
	pr.mu.Unlock()
	if err := sink.exit(ex); err != nil {
		p.log.Warn("report exit", "job", pr.job, "rank", pr.rank, "err", err)
	}
	sink.close()
	_ = os.RemoveAll(wdir)
	if !p.procs.jobHasProcs(pr.job) {
		_ = os.Remove(filepath.Dir(wdir))
		p.out.dropJob(pr.job)
		p.keys.release(pr.job, time.Now())
	}
	p.log.Debug("rank ended", "job", pr.job, "rank", pr.rank, "code", ex.Code)
}

func exitOf(cmd *exec.Cmd, err error) wire.Exit {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		if err != nil {
			return wire.Exit{Code: 1, Err: err.Error()}
		}
		return wire.Exit{}
	}
	if ws.Signaled() {
		return wire.Exit{Code: 128 + int(ws.Signal()), Signal: ws.Signal().String()}
	}
	return wire.Exit{Code: ws.ExitStatus()}
}

type killReq struct {
	Job string `json:"job"`
}

// handleKill kills a job's processes here. Only the job's submitter may.
func (p *Peer) handleKill(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req killReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	prs := p.procs.jobProcs(req.Job)
	for _, pr := range prs {
		if pr.submitter != from && from != p.h.ID() {
			return nil, fmt.Errorf("%w: only the submitter of job %s may kill it", wire.ErrDenied, req.Job)
		}
	}
	if len(prs) > 0 {
		p.procs.killJob(req.Job)
	}
	return nil, nil
}
