package testutil

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Peer is a real `p2pdvm peer` process started by a test.
type Peer struct {
	Cmd  *exec.Cmd
	Dir  string // its data dir
	Addr string // the multiaddr it listens on, with /p2p/ID
	Sock string // its control socket
	bin  string
}

// ID is the peer's libp2p peer ID.
func (p *Peer) ID() string { return p.Addr[strings.LastIndex(p.Addr, "/p2p/")+5:] }

// Kill ends the peer with SIGKILL, as a crash would, and reaps it.
func (p *Peer) Kill() {
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
}

// StartPeers starts k peer processes of the binary bin on loopback, each
// joining through the first, and waits until each is connected to all
// the others; extra flags go to every peer. They are stopped with SIGTERM
// when the test ends.
func StartPeers(t *testing.T, bin string, k int, extra ...string) []*Peer {
	t.Helper()
	base := t.TempDir()
	var ps []*Peer
	for i := 0; i < k; i++ {
		boot := ""
		if i > 0 {
			boot = ps[0].Addr
		}
		ps = append(ps, StartPeer(t, bin, filepath.Join(base, fmt.Sprint(i)), boot, extra...))
	}
	for _, p := range ps {
		WaitPeers(t, p, k-1)
	}
	return ps
}

// StartPeer starts one peer process with data dir dir (which may hold an
// identity.key already), joining through boot unless it is empty. It is
// stopped with SIGTERM when the test ends.
func StartPeer(t *testing.T, bin, dir, boot string, extra ...string) *Peer {
	t.Helper()
	return StartPeerOn(t, Host{IP: "127.0.0.1"}, bin, dir, boot, extra...)
}

// StartPeerOn is StartPeer on host h: in h's network namespace (none for
// loopback), listening on h's address.
func StartPeerOn(t *testing.T, h Host, bin, dir, boot string, extra ...string) *Peer {
	t.Helper()
	args := append([]string{bin, "peer", "--listen", "/ip4/" + h.IP + "/tcp/0", "--data", dir}, extra...)
	if boot != "" {
		args = append(args, "--bootstrap", boot)
	}
	if h.NS != "" {
		args = append(h.Exec(), args...)
	}
	p := &Peer{Cmd: exec.Command(args[0], args[1:]...), Dir: dir, Sock: filepath.Join(dir, "ctl.sock"), bin: bin}
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	p.Cmd.Stderr = &stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopPeer(t, p) })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if a, ok := strings.CutPrefix(line, "listening on "); ok && p.Addr == "" {
			p.Addr = a
		}
		if strings.HasPrefix(line, "control socket:") {
			break
		}
	}
	if p.Addr == "" {
		t.Fatalf("peer %s did not start: %s", dir, stderr.String())
	}
	go func() { // keep draining so the peer never blocks on stdout
		for sc.Scan() {
		}
	}()
	return p
}

// WaitPeers waits until p is connected to at least n peers.
func WaitPeers(t *testing.T, p *Peer, n int) {
	t.Helper()
	Eventually(t, 20*time.Second, "peers to connect", func() bool {
		out, _, code := CLI(t, p.bin, "peers", "--json", "--peer", p.Sock)
		var list []map[string]any
		return code == 0 && json.Unmarshal([]byte(out), &list) == nil && len(list) >= n
	})
}

// StopPeer stops a peer with SIGTERM and checks that it leaves cleanly.
func StopPeer(t *testing.T, p *Peer) {
	if p.Cmd.ProcessState != nil {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("peer %s did not leave within 10s of SIGTERM", p.Dir)
		_ = p.Cmd.Process.Kill()
		<-done
	}
	if _, err := os.Stat(p.Sock); err == nil {
		t.Errorf("peer %s left its control socket behind", p.Dir)
	}
}

// CLI runs bin with args and returns stdout, stderr and the exit code.
func CLI(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// RanksUnder lists live processes whose executable lies under dir: the
// ranks the peers with data dirs under dir are running.
func RanksUnder(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir) {
			out = append(out, e.Name()+":"+exe)
		}
	}
	return out
}

// Job is a `p2pdvm submit` running in the background.
type Job struct {
	Cmd      *exec.Cmd
	Out, Err bytes.Buffer
	done     chan error
}

// SubmitBG starts `bin submit args...`; it is killed if still running
// when the test ends.
func SubmitBG(t *testing.T, bin string, args ...string) *Job {
	t.Helper()
	j := &Job{Cmd: exec.Command(bin, append([]string{"submit"}, args...)...), done: make(chan error, 1)}
	j.Cmd.Stdout, j.Cmd.Stderr = &j.Out, &j.Err
	if err := j.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { j.done <- j.Cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-j.done:
			j.done <- err
		default:
			_ = j.Cmd.Process.Kill()
			<-j.done
		}
	})
	return j
}

// Wait returns the submit's exit code, failing the test after timeout.
func (j *Job) Wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-j.done:
		j.done <- err
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		// Stop it first: its output buffers are written until it ends.
		_ = j.Cmd.Process.Kill()
		j.done <- <-j.done
		t.Fatalf("submit still running after %v\nstdout:\n%s\nstderr:\n%s", timeout, j.Out.String(), j.Err.String())
		return -1
	}
}

// JobView is the part of `status --json` that tests look at (the full
// record is dvm.JobRecord, which this package cannot import: dvm's own
// tests import it).
type JobView struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Run   int    `json:"run"`
	Ranks []struct {
		Rank     int    `json:"rank"`
		Host     string `json:"host"`
		State    string `json:"state"`
		Routed   uint64 `json:"routed"`
		Shortcut uint64 `json:"shortcut"`
	} `json:"ranks"`
	Epochs []struct {
		Epoch int `json:"epoch"`
	} `json:"epochs"`
	Restarts    int `json:"restarts"`
	CkptPending int `json:"ckpt_pending"`
}

// Status reads a job's record through the CLI of the peer at sock.
func Status(t *testing.T, bin, sock, id string) JobView {
	t.Helper()
	out, errs, code := CLI(t, bin, "status", "--json", "--peer", sock, id)
	var v JobView
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("status %s: exit %d: %s", id, code, errs)
	}
	return v
}

// OnlyJob waits for the one job submitted from sock and returns its id.
func OnlyJob(t *testing.T, bin, sock string) string {
	t.Helper()
	var id string
	Eventually(t, 30*time.Second, "the job to be listed", func() bool {
		out, _, code := CLI(t, bin, "jobs", "--json", "--peer", sock)
		var recs []JobView
		if code != 0 || json.Unmarshal([]byte(out), &recs) != nil || len(recs) != 1 {
			return false
		}
		id = recs[0].ID
		return true
	})
	return id
}

// HostOfRanks returns a peer of ps that hosts ranks of v and is not in
// skip.
func HostOfRanks(t *testing.T, ps []*Peer, v JobView, skip ...*Peer) *Peer {
	t.Helper()
	for _, p := range ps {
		if slices.Contains(skip, p) {
			continue
		}
		for _, r := range v.Ranks {
			if r.Host == p.ID() {
				return p
			}
		}
	}
	t.Fatalf("no peer outside the %d excluded hosts a rank: %+v", len(skip), v.Ranks)
	return nil
}
