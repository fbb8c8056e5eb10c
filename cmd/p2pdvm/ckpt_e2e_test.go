package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/dvm"
	"github.com/p2pdvm/p2pdvm/internal/testutil"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Checkpoint and restart end to end: real peers, real rank processes,
// kill -9 of peers that host ranks.

func submitBG(t *testing.T, args ...string) *testutil.Job {
	t.Helper()
	return testutil.SubmitBG(t, binPath, args...)
}

func jobStatus(t *testing.T, sock, id string) dvm.JobRecord {
	t.Helper()
	out, errs, code := cli(t, "status", "--json", "--peer", sock, id)
	var rec dvm.JobRecord
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil {
		t.Fatalf("status %s: exit %d: %s", id, code, errs)
	}
	return rec
}

func onlyJob(t *testing.T, sock string) string { return testutil.OnlyJob(t, binPath, sock) }

// checkpointNow takes a checkpoint with the CLI, retrying while the job's
// ranks are still starting or another epoch is under way.
func checkpointNow(t *testing.T, sock, id string) dvm.EpochInfo {
	t.Helper()
	var e dvm.EpochInfo
	var last string
	testutil.Eventually(t, 60*time.Second, "a committed checkpoint", func() bool {
		out, errs, code := cli(t, "ckpt", "--json", "--peer", sock, id)
		last = errs
		return code == 0 && json.Unmarshal([]byte(out), &e) == nil && e.Epoch > 0
	})
	if e.Epoch == 0 {
		t.Fatalf("no checkpoint: %s", last)
	}
	return e
}

// waitRun waits until run `run` of the job has every rank running.
func waitRun(t *testing.T, sock, id string, run int) dvm.JobRecord {
	t.Helper()
	var rec dvm.JobRecord
	defer func() {
		if t.Failed() {
			t.Logf("last record: %+v", rec)
		}
	}()
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("run %d with every rank running", run), func() bool {
		rec = jobStatus(t, sock, id)
		if rec.Run != run || rec.State != dvm.JobRunning {
			return false
		}
		for _, r := range rec.Ranks {
			if r.State != dvm.RankRunning {
				return false
			}
		}
		return true
	})
	return rec
}

// hostOfRanks returns a peer that hosts ranks of job id now and is not
// in skip.
func hostOfRanks(t *testing.T, ps []*peerProc, id string, skip ...*peerProc) *peerProc {
	t.Helper()
	return testutil.HostOfRanks(t, ps, testutil.Status(t, binPath, ps[0].Sock, id), skip...)
}

// blockPath is where a peer keeps a block on disk (storage.Disk).
func blockPath(p *peerProc, id string) string {
	return filepath.Join(p.Dir, "blocks", "blocks", id[:2], id)
}

// corruptFirstHolders flips a byte in the copy of each block of cid held
// by the closest of its holders that is still alive, and returns the
// copies it damaged.
func corruptFirstHolders(t *testing.T, ps []*peerProc, dead []*peerProc, cid string) []corruptCopy {
	t.Helper()
	out, errs, code := cli(t, "store", "stat", "--json", "--peer", ps[0].Sock, cid)
	var st dvm.FileStat
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("store stat %s: exit %d: %s", cid, code, errs)
	}
	byID := map[string]*peerProc{}
	for _, p := range ps {
		if !slices.Contains(dead, p) {
			byID[p.ID()] = p
		}
	}
	var files []corruptCopy
	for _, b := range st.Blocks {
		for _, h := range b.Holders {
			p := byID[h]
			if p == nil {
				continue
			}
			path := blockPath(p, b.ID)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("holder %s of block %s: %v", h, b.ID, err)
			}
			data[len(data)/2] ^= 0xff
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, corruptCopy{holder: p, cid: cid, path: path})
			break
		}
	}
	return files
}

// corruptCopy is a block copy a test damaged on its holder's disk.
type corruptCopy struct {
	holder *peerProc
	cid    string // the file the block belongs to
	path   string
}

// The seed's scenario: heat with 4 ranks over 5 peers loses a hosting
// peer to kill -9, restarts by itself from its last checkpoint, loses a
// second one (whose checkpoint blocks' first copies are corrupt on disk)
// and still prints the serial run's checksum.
func TestE2ECheckpointSurvivesKilledPeers(t *testing.T) {
	heat := testutil.BuildGo(t, "../../examples/heat")
	ps := startPeers(t, 5)
	const iters, n = "60000", "128"
	ref, errs, code := cli(t, "run", "-n", "1", "--peers", "1", heat, iters, n)
	sum := regexp.MustCompile(`checksum=\S+`).FindString(ref)
	if code != 0 || sum == "" {
		t.Fatalf("serial heat: exit %d: %s %s", code, ref, errs)
	}
	sub := submitBG(t, "--peer", ps[0].Sock, "-n", "4", "--max-restarts", "2", heat, iters, n)
	id := onlyJob(t, ps[0].Sock)
	e1 := checkpointNow(t, ps[0].Sock, id)

	// Only the owner may checkpoint or kill the job.
	for _, op := range []string{"ckpt", "kill"} {
		_, errs, code := cli(t, op, "--peer", ps[1].Sock, id)
		if code == 0 || !strings.Contains(errs, "not submitted from this peer") {
			t.Errorf("%s from a peer that is not the owner: exit %d, %q", op, code, errs)
		}
	}

	v1 := hostOfRanks(t, ps, id, ps[0])
	killed := time.Now()
	v1.Kill()
	waitRun(t, ps[0].Sock, id, 1)
	t.Logf("first restart: every rank running %v after the kill", time.Since(killed).Round(time.Millisecond))

	e2 := checkpointNow(t, ps[0].Sock, id)
	if e2.Epoch <= e1.Epoch {
		t.Fatalf("epoch after the restart %d, before %d", e2.Epoch, e1.Epoch)
	}
	v2 := hostOfRanks(t, ps, id, ps[0], v1)
	var corrupt []corruptCopy
	for _, cid := range e2.CIDs {
		corrupt = append(corrupt, corruptFirstHolders(t, ps, []*peerProc{v1, v2}, cid)...)
	}
	if len(corrupt) < len(e2.CIDs) {
		t.Fatalf("corrupted %d block copies, want at least one per rank", len(corrupt))
	}
	v2.Kill()
	waitRun(t, ps[0].Sock, id, 2)

	if code := sub.Wait(t, 4*time.Minute); code != 0 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, sub.Out.String(), sub.Err.String())
	}
	if !strings.Contains(sub.Out.String(), sum+" ") {
		t.Errorf("heat after two restarts printed\n%s\nwant the serial %s", sub.Out.String(), sum)
	}
	for _, e := range []int{e1.Epoch, e2.Epoch} {
		if !strings.Contains(sub.Err.String(), fmt.Sprintf("restarting from epoch %d after peer", e)) {
			t.Errorf("stderr does not report the restart from epoch %d:\n%s", e, sub.Err.String())
		}
	}
	// A corrupt copy is refused wherever it is read, and replaced. The
	// restart may not have met every one (a host reads its own copy
	// first, and it may hold a good one): read each through its holder.
	for _, c := range corrupt {
		dst := filepath.Join(t.TempDir(), "state")
		if _, errs, code := cli(t, "store", "get", "--peer", c.holder.Sock, c.cid, "-o", dst); code != 0 {
			t.Errorf("store get %s through the holder of a corrupt copy: exit %d: %s", c.cid, code, errs)
			continue
		}
		data, err := os.ReadFile(c.path)
		if err != nil {
			t.Errorf("corrupt block %s was not repaired: %v", filepath.Base(c.path), err)
			continue
		}
		if id := filepath.Base(c.path); !blockOK(id, data) {
			t.Errorf("block %s is still corrupt after a read through its holder", id)
		}
	}
	final := jobStatus(t, ps[0].Sock, id)
	if final.Restarts != 2 || final.State != dvm.JobDone {
		t.Errorf("final record: %d restarts, %s", final.Restarts, final.State)
	}
	testutil.Eventually(t, 10*time.Second, "every rank gone", func() bool { return len(ranksUnder(filepath.Dir(ps[0].Dir))) == 0 })
}

// A peer killed while a checkpoint is being taken: that epoch is never
// committed, the job restarts from the one before, and the ring program
// sees every message exactly once across it.
func TestE2EKillDuringCheckpoint(t *testing.T) {
	ring := testutil.BuildGo(t, "../../examples/ring")
	ps := startPeers(t, 4)
	const iters = 2500
	sub := submitBG(t, "--peer", ps[0].Sock, "-n", "3", "--max-restarts", "1", ring,
		"-pace", "2ms", "-state-mib", "1", "-save-delay", "1500ms", fmt.Sprint(iters))
	id := onlyJob(t, ps[0].Sock)
	e1 := checkpointNow(t, ps[0].Sock, id)
	victim := hostOfRanks(t, ps, id, ps[0])

	// Each rank holds its cut open for 1.5 s while it saves: the epoch is
	// still under way when the kill lands.
	ck := make(chan string, 1)
	go func() {
		_, errs, code := testutil.CLI(t, binPath, "ckpt", "--peer", ps[0].Sock, id)
		ck <- fmt.Sprintf("exit %d: %s", code, errs)
	}()
	testutil.Eventually(t, 10*time.Second, "the checkpoint to begin", func() bool {
		return jobStatus(t, ps[0].Sock, id).CkptPending > e1.Epoch
	})
	victim.Kill()
	if res := <-ck; !strings.Contains(res, "aborted") {
		t.Errorf("ckpt during which a host died: %s, want aborted", res)
	}
	if code := sub.Wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, sub.Out.String(), sub.Err.String())
	}
	want := fmt.Sprintf("ring ranks=3 iters=%d received=%d ", iters, 3*(iters+2))
	if !strings.Contains(sub.Out.String(), want) || !strings.Contains(sub.Out.String(), "restarted=true") {
		t.Errorf("ring printed\n%s\nwant %q after a restart", sub.Out.String(), want)
	}
	if !strings.Contains(sub.Err.String(), fmt.Sprintf("restarting from epoch %d after peer", e1.Epoch)) {
		t.Errorf("not restarted from epoch %d, the last committed:\n%s", e1.Epoch, sub.Err.String())
	}
	if st := jobStatus(t, ps[0].Sock, id); len(st.Epochs) != 1 {
		t.Errorf("epochs committed: %+v, want only epoch %d", st.Epochs, e1.Epoch)
	}
}

// blockOK reports whether data is a good stored copy of block id.
func blockOK(id string, data []byte) bool {
	bid, err := dvm.ParseCID(id)
	if err != nil {
		return false
	}
	_, err = storage.Decode(bid, data)
	return err == nil
}

// A host that hangs (SIGSTOP) closes no connection. The owners of its
// ranks' location objects miss its heartbeats, tell the submitter within
// 5 s, and the job restarts elsewhere.
func TestE2EHungPeerDetected(t *testing.T) {
	ring := testutil.BuildGo(t, "../../examples/ring")
	ps := startPeers(t, 4)
	const iters = 3000
	sub := submitBG(t, "--peer", ps[0].Sock, "-n", "6", "--max-restarts", "1", ring, "-pace", "2ms", fmt.Sprint(iters))
	id := onlyJob(t, ps[0].Sock)
	checkpointNow(t, ps[0].Sock, id)
	victim, watcher := watchedByAnother(t, ps)
	if err := victim.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Its ranks run on unsupervised until it dies; kill it when done.
	t.Cleanup(victim.Kill)
	stopped := time.Now()
	testutil.Eventually(t, 20*time.Second, "the hung host to be declared lost", func() bool {
		return jobStatus(t, ps[0].Sock, id).Restarts == 1
	})
	took := time.Since(stopped)
	t.Logf("hung host declared lost and the job restarted %v after SIGSTOP", took.Round(time.Millisecond))
	if took > 8*time.Second {
		t.Errorf("declaring a hung host lost took %v; heartbeats should take 3-4 s", took)
	}
	victim.Kill()
	if code := sub.Wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, sub.Out.String(), sub.Err.String())
	}
	if want := fmt.Sprintf("received=%d ", 6*(iters+2)); !strings.Contains(sub.Out.String(), want) {
		t.Errorf("ring printed %q, want %q", sub.Out.String(), want)
	}
	// The watcher found is one owner that may report; another owner of the
	// victim's objects may have been quicker, but never the submitter's
	// own fallback, which waits twice as long.
	if !strings.Contains(sub.Err.String(), "missed 3 heartbeats from owner ") {
		t.Errorf("stderr does not say that an owner (such as %s) declared the host lost:\n%s", watcher, sub.Err.String())
	}
}

// watchedByAnother picks a host of ranks, not ps[0], with a location
// object held by a peer other than itself: the host whose loss an owner,
// not the submitter's fallback, must find. It returns that host and the
// holder's short id.
func watchedByAnother(t *testing.T, ps []*peerProc) (*peerProc, string) {
	t.Helper()
	short := func(id string) string { return id[max(0, len(id)-10):] }
	for _, holder := range ps {
		out, errs, code := cli(t, "info", "--json", "--peer", holder.Sock)
		var ni dvm.NodeInfo
		if code != 0 || json.Unmarshal([]byte(out), &ni) != nil {
			t.Fatalf("info on %s: exit %d: %s", holder.Sock, code, errs)
		}
		for _, obj := range ni.Objects { // "run:rank@host vN"
			at, _, _ := strings.Cut(obj[strings.LastIndex(obj, "@")+1:], " ")
			for _, v := range ps[1:] {
				if v != holder && short(v.ID()) == at {
					return v, short(holder.ID())
				}
			}
		}
	}
	t.Skip("every host owns all its own ranks' location objects: no owner but itself to watch it")
	return nil, ""
}

// A killed job starts again by hand from its checkpoint, as a new job
// that resumes it; nothing else may restart it.
func TestE2EManualRestart(t *testing.T) {
	ring := testutil.BuildGo(t, "../../examples/ring")
	ps := startPeers(t, 2)
	const iters = 2000
	sub := submitBG(t, "--peer", ps[0].Sock, "-n", "2", ring, "-pace", "2ms", fmt.Sprint(iters))
	id := onlyJob(t, ps[0].Sock)
	e := checkpointNow(t, ps[0].Sock, id)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"restart", "--peer", ps[0].Sock, id}, "only a failed or killed job"},
		{[]string{"restart", "--peer", ps[1].Sock, id}, "only the job's owner may restart it"},
	} {
		if _, errs, code := cli(t, c.args...); code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
	if _, errs, code := cli(t, "kill", "--peer", ps[0].Sock, id); code != 0 {
		t.Fatalf("kill: %s", errs)
	}
	if code := sub.Wait(t, time.Minute); code != 137 {
		t.Fatalf("killed job's submit exit %d, want 137", code)
	}
	// The killed job's last epoch stays pinned, for the restart.
	pins, _, _ := cli(t, "store", "pins", "--peer", ps[0].Sock)
	for _, cid := range e.CIDs {
		if !strings.Contains(pins, cid+"  ckpt:"+id) {
			t.Errorf("epoch %d's state %s is not pinned for job %s:\n%s", e.Epoch, cid, id, pins)
		}
	}
	if _, errs, code := cli(t, "restart", "--peer", ps[0].Sock, "--epoch", "99", id); code == 0 || !strings.Contains(errs, "no committed epoch 99") {
		t.Errorf("restart from a missing epoch: exit %d, %q", code, errs)
	}
	out, errs, code := cli(t, "restart", "--peer", ps[0].Sock, "--epoch", fmt.Sprint(e.Epoch), id)
	want := fmt.Sprintf("ring ranks=2 iters=%d received=%d ", iters, 2*(iters+2))
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "restarted=true") || !strings.Contains(errs, "resumes "+id) {
		t.Errorf("restart: exit %d, want %q after a restart\nstdout:\n%s\nstderr:\n%s", code, want, out, errs)
	}
}
