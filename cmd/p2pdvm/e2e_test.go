package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// These tests drive the real binary: real peer processes on loopback TCP,
// the real CLI, real rank processes.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "p2pdvm-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "p2pdvm")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build p2pdvm: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type peerProc = testutil.Peer

func startPeers(t *testing.T, k int) []*peerProc { return testutil.StartPeers(t, binPath, k) }

// startPeersArgs is startPeers with extra flags for every peer.
func startPeersArgs(t *testing.T, k int, extra ...string) []*peerProc {
	return testutil.StartPeers(t, binPath, k, extra...)
}

// cli runs the binary and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return testutil.CLI(t, binPath, args...)
}

func ranksUnder(dir string) []string { return testutil.RanksUnder(dir) }

func noOrphans(t *testing.T, ps []*peerProc) {
	t.Helper()
	dir := filepath.Dir(ps[0].Dir)
	testutil.Eventually(t, 10*time.Second, "rank processes to be gone", func() bool { return len(ranksUnder(dir)) == 0 })
}

func alltoall(t *testing.T) string { return testutil.BuildGo(t, "../../dvm/testdata/alltoall") }

func TestE2EJobLifecycle(t *testing.T) {
	prog := alltoall(t)
	ps := startPeers(t, 4)
	out, errs, code := cli(t, "submit", "--peer", ps[1].Sock, "-n", "4", "--label", prog, "50")
	if code != 0 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for r := 0; r < 4; r++ {
		if !strings.Contains(out, fmt.Sprintf("[%d] rank %d of 4 ok\n", r, r)) {
			t.Errorf("missing labelled line of rank %d:\n%s", r, out)
		}
	}
	jobs, _, _ := cli(t, "jobs", "--peer", ps[1].Sock)
	if !regexp.MustCompile(`(?m)^[0-9a-f]{12}\s+done\s+4\s+0\s`).MatchString(jobs) {
		t.Errorf("jobs does not list a done 4-rank job:\n%s", jobs)
	}
	id := strings.Fields(strings.Split(jobs, "\n")[1])[0]
	// status and logs work from a peer that did not submit the job.
	testutil.Eventually(t, 10*time.Second, "status done from another peer", func() bool {
		st, _, code := cli(t, "status", "--peer", ps[3].Sock, id)
		return code == 0 && strings.Contains(st, "done")
	})
	logs, _, code := cli(t, "logs", "--peer", ps[2].Sock, id)
	if code != 0 || strings.Count(logs, " ok\n") != 4 {
		t.Errorf("logs from another peer (exit %d):\n%s", code, logs)
	}
	noOrphans(t, ps)
}

func TestE2ERankCrash(t *testing.T) {
	prog := alltoall(t)
	ps := startPeers(t, 3)
	_, errs, code := cli(t, "submit", "--peer", ps[0].Sock, "-n", "4", prog, "1000000", "16", "2")
	if code != 7 {
		t.Fatalf("submit exit %d, want the failing rank's 7; stderr:\n%s", code, errs)
	}
	if !strings.Contains(errs, "rank 2 exited with code 7") {
		t.Errorf("stderr does not name the failing rank:\n%s", errs)
	}
	jobs, _, _ := cli(t, "jobs", "--json", "--peer", ps[0].Sock)
	var recs []struct {
		ID    string
		State string
		Ranks []struct {
			Rank  int
			State string
			Exit  int
		}
	}
	if err := json.Unmarshal([]byte(jobs), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("jobs --json: %v\n%s", err, jobs)
	}
	if recs[0].State != "failed" || recs[0].Ranks[2].State != "exited" || recs[0].Ranks[2].Exit != 7 {
		t.Errorf("record does not show rank 2 failing with 7: %+v", recs[0])
	}
	noOrphans(t, ps)
}

func TestE2EKillAndInterrupt(t *testing.T) {
	ps := startPeers(t, 2)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	// kill JOB from the submitting peer ends submit with 137.
	sub := exec.Command(binPath, "submit", "--peer", ps[0].Sock, "-n", "3", sleep, "300")
	var serr bytes.Buffer
	sub.Stderr = &serr
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	testutil.Eventually(t, 20*time.Second, "the job to run", func() bool {
		out, _, _ := cli(t, "jobs", "--peer", ps[0].Sock)
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[1] == "running" {
				id = f[0]
				return true
			}
		}
		return false
	})
	if _, errs, code := cli(t, "kill", "--peer", ps[1].Sock, id); code == 0 {
		t.Errorf("kill from a peer that did not submit the job succeeded")
	} else if !strings.Contains(errs, "no such job") {
		t.Errorf("kill from another peer: %s", errs)
	}
	if _, errs, code := cli(t, "kill", "--peer", ps[0].Sock, id); code != 0 {
		t.Fatalf("kill: %s", errs)
	}
	err = sub.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
		t.Errorf("submit after kill: %v, want exit 137; stderr %s", err, serr.String())
	}
	noOrphans(t, ps)

	// Ctrl-C on submit kills the job everywhere.
	sub = exec.Command(binPath, "submit", "--peer", ps[0].Sock, "-n", "2", sleep, "300")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "ranks to start", func() bool { return len(ranksUnder(filepath.Dir(ps[0].Dir))) == 2 })
	_ = sub.Process.Signal(os.Interrupt)
	err = sub.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("submit after Ctrl-C: %v, want exit 130", err)
	}
	noOrphans(t, ps)
}

func TestE2EBadInput(t *testing.T) {
	ps := startPeers(t, 1)
	sock := ps[0].Sock
	noexec := filepath.Join(t.TempDir(), "data.txt")
	_ = os.WriteFile(noexec, []byte("not a program"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing program", []string{"submit", "--peer", sock, "-n", "2", "./no-such-prog"}, 1, "no such file"},
		{"not executable", []string{"submit", "--peer", sock, "-n", "2", noexec}, 1, "not an executable"},
		{"zero ranks", []string{"submit", "--peer", sock, "-n", "0", "/bin/true"}, 1, "between 1 and"},
		{"absurd ranks", []string{"submit", "--peer", sock, "-n", "10000000", "/bin/true"}, 1, "between 1 and"},
		{"unknown flag", []string{"submit", "--bogus", "/bin/true"}, 2, "unknown flag"},
		{"no program", []string{"submit", "--peer", sock, "-n", "1"}, 1, "no program"},
		{"no control socket", []string{"jobs", "--peer", "/nonexistent/ctl.Sock"}, 1, "no p2pdvm peer"},
		{"malformed bootstrap", []string{"peer", "--data", t.TempDir(), "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", "not-a-multiaddr"}, 1, "bootstrap address"},
		{"bootstrap without id", []string{"peer", "--data", t.TempDir(), "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", "/ip4/127.0.0.1/tcp/1"}, 1, "/p2p/"},
		{"unreachable bootstrap", []string{"peer", "--data", t.TempDir(), "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", "/ip4/127.0.0.1/tcp/1/p2p/" + ps[0].ID()}, 1, "no bootstrap peer reachable"},
		{"data dir of a running peer", []string{"peer", "--data", ps[0].Dir, "--listen", "/ip4/127.0.0.1/tcp/0"}, 1, "in use by another peer"},
		{"bad P2PDVM_FLOC", []string{"peer", "--data", ps[0].Dir, "--floc=maybe"}, 2, "invalid argument"},
		{"unknown job", []string{"status", "--peer", sock, "ffffffffffff"}, 1, "not found"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"identity in -x", []string{"submit", "--peer", sock, "-x", "P2PDVM_RANK=0", "/bin/true"}, 1, "P2PDVM_"},
		{"bad -x name", []string{"submit", "--peer", sock, "-x", "A B=1", "/bin/true"}, 1, "NAME=VALUE"},
		{"mpicc without its library", []string{"mpicc", "-o", "x", "x.c"}, 1, "P2PDVM_MPI_HOME"},
	}
	t.Setenv("P2PDVM_MPI_HOME", t.TempDir()) // an empty tree: no mpi.h, no library
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			out, errs, code := cli(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d stderr %q, want exit %d and %q (stdout %q)", code, errs, c.code, c.want, out)
			}
			if lines := strings.Count(strings.TrimSpace(errs), "\n") + 1; lines != 1 {
				t.Errorf("error is %d lines, want one: %q", lines, errs)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v to fail", d)
			}
		})
	}
	// mpicc -show prints the compiler command, with the include directory
	// always and the library only when it links, as MPICH's mpicc does.
	home := t.TempDir()
	for _, f := range []string{"include/mpi.h", "lib/libp2pdvm_mpi.a"} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(home, f)), 0o755)
		_ = os.WriteFile(filepath.Join(home, f), nil, 0o644)
	}
	t.Setenv("P2PDVM_MPI_HOME", home)
	if out, errs, code := cli(t, "mpicc", "-show", "-O2", "-o", "ring", "ring.c"); code != 0 ||
		!strings.Contains(out, "-I"+home+"/include -O2 -o ring ring.c -L"+home+"/lib -lp2pdvm_mpi") {
		t.Errorf("mpicc -show (exit %d, %s): %q", code, errs, out)
	}
	if out, _, code := cli(t, "mpicc", "-show", "-c", "ring.c"); code != 0 || strings.Contains(out, "-lp2pdvm_mpi") {
		t.Errorf("mpicc -show -c links (exit %d): %q", code, out)
	}
	// -x passes a variable to the ranks, and only what was asked for.
	env, _ := exec.LookPath("env")
	t.Setenv("P2PDVM_TEST_SECRET", "not-for-ranks")
	if out, errs, code := cli(t, "submit", "--peer", sock, "-n", "1", "-x", "SIM_STEPS=42", env); code != 0 ||
		!strings.Contains(out, "SIM_STEPS=42\n") || strings.Contains(out, "P2PDVM_TEST_SECRET") {
		t.Errorf("rank environment (exit %d, %s):\n%s", code, errs, out)
	}
	// Nothing above disturbed the peer.
	if out, errs, code := cli(t, "submit", "--peer", sock, "-n", "2", alltoall(t), "5"); code != 0 || strings.Count(out, " ok") != 2 {
		t.Fatalf("peer unusable after bad input: exit %d %s %s", code, out, errs)
	}
}

// The seed's experiment end to end: heat with 4 ranks on 4 real peers
// prints the serial run's residual and checksum.
// heatSerial4x256 is what heat 2000 256 on 4 ranks prints before its time:
// the serial run's residual and checksum.
const heatSerial4x256 = "heat N=256 ranks=4 iters=2000 residual=0.012096012910987497 checksum=592716.52687308204 "

func TestE2EHeatSerialChecksum(t *testing.T) {
	heat := testutil.BuildGo(t, "../../examples/heat")
	ps := startPeers(t, 4)
	out, errs, code := cli(t, "submit", "--peer", ps[0].Sock, "-n", "4", heat, "2000", "256")
	if code != 0 {
		t.Fatalf("heat exit %d: %s", code, errs)
	}
	want := heatSerial4x256
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got %q, want the serial result %q", out, want)
	}
	noOrphans(t, ps)
}

// A peer that dies mid-job (kill -9) fails the job with a clear status
// instead of hanging it, and its ranks die with it (no orphans).
func TestE2EPeerDiesMidJob(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	ps := startPeers(t, 3)
	sub := exec.Command(binPath, "submit", "--peer", ps[0].Sock, "-n", "3", sleep, "300")
	var serr bytes.Buffer
	sub.Stderr = &serr
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(ps[0].Dir)
	testutil.Eventually(t, 20*time.Second, "3 ranks running", func() bool { return len(ranksUnder(base)) == 3 })
	victim := ps[2]
	if len(ranksUnder(victim.Dir)) == 0 {
		victim = ps[1] // placement is by key: pick a peer that hosts a rank
	}
	if len(ranksUnder(victim.Dir)) == 0 {
		t.Fatal("no rank on peers 1 or 2")
	}
	_ = victim.Cmd.Process.Kill()
	_ = victim.Cmd.Wait()
	done := make(chan error, 1)
	go func() { done <- sub.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = sub.Process.Kill()
		t.Fatal("submit still running 30 s after a hosting peer died")
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("submit after its host died: %v; stderr %s", err, serr.String())
	}
	if !strings.Contains(serr.String(), "lost") {
		t.Errorf("stderr does not say a rank was lost:\n%s", serr.String())
	}
	testutil.Eventually(t, 10*time.Second, "every rank gone", func() bool { return len(ranksUnder(base)) == 0 })
}

// store put on one peer, store get on another: the same bytes, found by
// the CID alone; bad CIDs and missing files fail in one line.
func TestE2EStore(t *testing.T) {
	ps := startPeersArgs(t, 3, "--gc-grace", "0s")
	dir := t.TempDir()
	in := filepath.Join(dir, "input.dat")
	data := bytes.Repeat([]byte("p2pdvm block store "), 200000) // ~3.8 MB, several chunks
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := cli(t, "store", "put", "--peer", ps[0].Sock, in)
	cid := strings.TrimSpace(out)
	if code != 0 || len(cid) != 64 || errs != "" {
		// Not a terminal: no progress bar, nothing on stderr.
		t.Fatalf("store put: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	copyPath := filepath.Join(dir, "copy.dat")
	if _, errs, code := cli(t, "store", "get", "--peer", ps[2].Sock, cid, "-o", copyPath); code != 0 {
		t.Fatalf("store get: exit %d: %s", code, errs)
	}
	if got, err := os.ReadFile(copyPath); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("store get wrote %d bytes (%v), want the %d put", len(got), err, len(data))
	}
	// With 3 peers and 3 replicas, every peer holds every block.
	var counts []int
	for _, p := range ps {
		out, _, code := cli(t, "store", "ls", "--peer", p.Sock, "--json")
		if code != 0 {
			t.Fatalf("store ls: exit %d", code)
		}
		counts = append(counts, strings.Count(out, `"id"`))
	}
	if counts[0] < 2 || counts[0] != counts[1] || counts[1] != counts[2] {
		t.Errorf("blocks per peer %v, want the same number (at least a manifest and a chunk) on each", counts)
	}
	// stat from a third peer: the manifest and the chunks, each on 3/3.
	out, errs, code = cli(t, "store", "stat", "--peer", ps[1].Sock, cid)
	if code != 0 || !strings.Contains(out, "replicas: complete") || !strings.Contains(out, "(manifest)") ||
		strings.Count(out, " 3/3 ") < 2 || !strings.Contains(out, fmt.Sprintf("size:     %d bytes", len(data))) {
		t.Errorf("store stat: exit %d, stderr %q:\n%s", code, errs, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"store", "stat", "--peer", ps[1].Sock, "xyz"}, "not a CID"},
		{[]string{"store", "get", "--peer", ps[1].Sock, "not-a-cid", "-o", filepath.Join(dir, "x")}, "not a CID"},
		{[]string{"store", "get", "--peer", ps[1].Sock, strings.Repeat("0", 64), "-o", filepath.Join(dir, "x")}, "no replica"},
		{[]string{"store", "put", "--peer", ps[1].Sock, filepath.Join(dir, "missing")}, "no such file"},
	} {
		_, errs, code := cli(t, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args[1:2], code, errs, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a failed get left a file behind")
	}

	// store put pinned the file on the putting peer; a file put with
	// --no-pin is what gc frees, on every peer, and the pinned one stays.
	pins, _, code := cli(t, "store", "pins", "--peer", ps[0].Sock)
	if code != 0 || !strings.Contains(pins, cid+"  user") {
		t.Errorf("store pins: exit %d:\n%s", code, pins)
	}
	scratch := filepath.Join(dir, "scratch.dat")
	if err := os.WriteFile(scratch, bytes.Repeat([]byte("scratch data, not pinned "), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = cli(t, "store", "put", "--no-pin", "--peer", ps[1].Sock, scratch)
	scid := strings.TrimSpace(out)
	if code != 0 || len(scid) != 64 {
		t.Fatalf("store put --no-pin: exit %d: %s", code, errs)
	}
	freed := 0
	for _, p := range ps {
		out, errs, code := cli(t, "store", "gc", "--json", "--peer", p.Sock)
		var r struct{ Freed int }
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("store gc: exit %d, %q, %s", code, out, errs)
		}
		freed += r.Freed
	}
	if freed < 3*2 { // a manifest and at least one chunk, on each of 3 peers
		t.Errorf("gc freed %d blocks, want the unpinned file's (at least 6)", freed)
	}
	if _, errs, code := cli(t, "store", "get", "--peer", ps[2].Sock, scid, "-o", filepath.Join(dir, "s")); code == 0 || !strings.Contains(errs, "no replica") {
		t.Errorf("the unpinned file is still there after gc: exit %d, %s", code, errs)
	}
	if _, errs, code := cli(t, "store", "get", "--peer", ps[1].Sock, cid, "-o", copyPath); code != 0 {
		t.Fatalf("store get of the pinned file after gc: exit %d: %s", code, errs)
	}
	if got, _ := os.ReadFile(copyPath); !bytes.Equal(got, data) {
		t.Fatal("the pinned file changed after gc")
	}
	if _, errs, code := cli(t, "store", "unpin", "--peer", ps[0].Sock, cid); code != 0 {
		t.Errorf("store unpin: exit %d: %s", code, errs)
	}
	if _, errs, code := cli(t, "store", "unpin", "--peer", ps[0].Sock, cid); code != 1 || !strings.Contains(errs, "not pinned") {
		t.Errorf("second unpin: exit %d, %q", code, errs)
	}
}

// A job's program and input files travel through the block store: the
// hosts run the program from their own file cache, keyed by CID, and
// each rank finds the input file in its working directory.
func TestE2EJobFilesFromStore(t *testing.T) {
	ps := startPeers(t, 3)
	dir := t.TempDir()
	prog := filepath.Join(dir, "show-input")
	script := "#!/bin/sh\nprintf 'input says: '\ncat params.txt\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "params.txt")
	if err := os.WriteFile(in, []byte("alpha=0.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := cli(t, "submit", "--peer", ps[0].Sock, "-n", "6", "--label", "--file", in, prog)
	if code != 0 || strings.Count(out, "] input says: alpha=0.25\n") != 6 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// Every host that ran a rank holds the program in its cache by CID;
	// none has the old private copy directory.
	hosts := 0
	for _, p := range ps {
		if _, err := os.Stat(filepath.Join(p.Dir, "bin")); err == nil {
			t.Errorf("%s has a bin directory: the program came outside the store", p.Dir)
		}
		ents, _ := os.ReadDir(filepath.Join(p.Dir, "files"))
		for _, e := range ents {
			if b, _ := os.ReadFile(filepath.Join(p.Dir, "files", e.Name())); string(b) == script && len(e.Name()) == 64 {
				hosts++
			}
		}
	}
	if hosts < 2 {
		t.Errorf("the program is cached by CID on %d peers; 6 ranks on 3 peers should use at least 2", hosts)
	}
	_, errs, code = cli(t, "submit", "--peer", ps[0].Sock, "-n", "1", "--file", filepath.Join(dir, "missing"), prog)
	if code != 1 || !strings.Contains(errs, "--file") {
		t.Errorf("a missing --file: exit %d, %q", code, errs)
	}
	noOrphans(t, ps)
}
