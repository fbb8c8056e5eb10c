package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// The C tests build the library the way a user does (make lib): the
// archive, mpi.h and the p2pdvm binary in one tree, then compile every
// program in ctest/ with `p2pdvm mpicc` and run it with `p2pdvm run` at
// each rank count its first line lists.

var (
	treeOnce sync.Once
	treeDir  string
	treeErr  error
)

// tree builds bin/p2pdvm, lib/libp2pdvm_mpi.a and include/mpi.h into a
// directory shared by the tests of this run.
func tree(t *testing.T) string {
	t.Helper()
	treeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "p2pdvm-cabi-")
		if err != nil {
			treeErr = err
			return
		}
		treeDir = dir
		steps := [][]string{
			{"go", "build", "-o", filepath.Join(dir, "bin", "p2pdvm"), "../../cmd/p2pdvm"},
			{"go", "build", "-buildmode=c-archive", "-o", filepath.Join(dir, "lib", "libp2pdvm_mpi.a"), "."},
		}
		for _, s := range steps {
			if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
				treeErr = errors.New(strings.Join(s, " ") + ": " + err.Error() + "\n" + string(out))
				return
			}
		}
		h, err := os.ReadFile("mpi.h")
		if err == nil {
			err = os.MkdirAll(filepath.Join(dir, "include"), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "include", "mpi.h"), h, 0o644)
		}
		treeErr = err
	})
	if treeErr != nil {
		t.Fatalf("building the MPI tree: %v", treeErr)
	}
	return treeDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if treeDir != "" {
		os.RemoveAll(treeDir)
	}
	os.Exit(code)
}

// mpicc compiles src into dir with p2pdvm mpicc, warnings as errors.
func mpicc(t *testing.T, src, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c"))
	cmd := exec.Command(filepath.Join(tree(t), "bin", "p2pdvm"), "mpicc", "-O2", "-Wall", "-Werror", "-ffp-contract=off",
		"-o", bin, src, "-lm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("p2pdvm mpicc %s: %v\n%s", src, err, out)
	}
	return bin
}

// runJob runs prog with n ranks on an embedded DVM of two peers.
func runJob(t *testing.T, n int, prog string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	argv := append([]string{"run", "-n", strconv.Itoa(n), "--peers", "2", prog}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(tree(t), "bin", "p2pdvm"), argv...)
	// On timeout, interrupt first: p2pdvm run then kills the job and
	// removes its embedded cluster's directory, which SIGKILL would leave.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s with %d ranks did not finish in 90 s\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), n, o.String(), e.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running %s: %v", prog, err)
	}
	return o.String(), e.String(), code
}

var (
	ranksLine  = regexp.MustCompile(`/\* ranks:([ 0-9]+)\*/`)
	expectExit = regexp.MustCompile(`/\* expect-exit: (\S+) \*/`)
	expectErr  = regexp.MustCompile(`/\* expect-stderr: (.+?) \*/`)
)

func TestCPrograms(t *testing.T) {
	srcs, err := filepath.Glob("ctest/*.c")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no C tests in ctest/: %v", err)
	}
	bins := t.TempDir()
	for _, src := range srcs {
		text, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(src), ".c")
		m := ranksLine.FindSubmatch(text)
		if m == nil {
			t.Errorf("%s: no /* ranks: ... */ line", src)
			continue
		}
		t.Run(name, func(t *testing.T) {
			bin := mpicc(t, src, bins)
			for _, f := range strings.Fields(string(m[1])) {
				n, _ := strconv.Atoi(f)
				t.Run("n"+f, func(t *testing.T) {
					out, errs, code := runJob(t, n, bin)
					checkOutcome(t, name, n, string(text), out, errs, code)
				})
			}
		})
	}
}

// checkOutcome asserts what the test's header promises: by default exit 0
// and an "ok" (or "skip") line from rank 0.
func checkOutcome(t *testing.T, name string, n int, text, out, errs string, code int) {
	t.Helper()
	if m := expectExit.FindStringSubmatch(text); m != nil {
		switch {
		case m[1] == "nonzero" && code == 0:
			t.Errorf("exit 0, want non-zero\nstdout:\n%s\nstderr:\n%s", out, errs)
		case m[1] != "nonzero" && strconv.Itoa(code) != m[1]:
			t.Errorf("exit %d, want %s\nstdout:\n%s\nstderr:\n%s", code, m[1], out, errs)
		}
		if m := expectErr.FindStringSubmatch(text); m != nil && !strings.Contains(errs, m[1]) {
			t.Errorf("stderr does not mention %q:\n%s", m[1], errs)
		}
		return
	}
	okLine := "ok " + name + " ranks=" + strconv.Itoa(n) + " "
	skipLine := "skip " + name + " ranks=" + strconv.Itoa(n) + " "
	if code != 0 || !(strings.Contains(out, okLine) || strings.Contains(out, skipLine)) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// The C heat and pingpong in examples/c print what the Go versions print;
// heat's checksum is the serial one for 1, 2 and 4 ranks.
func TestCExamples(t *testing.T) {
	dir := t.TempDir()
	heat := mpicc(t, "../../examples/c/heat.c", dir)
	for _, n := range []int{1, 2, 4} {
		out, errs, code := runJob(t, n, heat, "2000", "256")
		want := "heat N=256 ranks=" + strconv.Itoa(n) + " iters=2000 residual=0.012096012910987497 checksum=592716.52687308204 "
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("heat with %d ranks: exit %d, want a line starting %q\nstdout:\n%s\nstderr:\n%s", n, code, want, out, errs)
		}
	}
	pingpong := mpicc(t, "../../examples/c/pingpong.c", dir)
	out, errs, code := runJob(t, 2, pingpong, "20")
	if code != 0 || strings.Count(out, "pingpong size=") != 5 {
		t.Errorf("pingpong: exit %d, want 5 lines\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// A C program checkpointed every 300 ms through the MPIX_ calls, with
// messages in flight at every cut, survives kill -9 of a peer that hosts
// one of its ranks: after the restart every rank has received each of
// its neighbour's messages exactly once, in order.
func TestCRingSurvivesKilledPeer(t *testing.T) {
	bin := filepath.Join(tree(t), "bin", "p2pdvm")
	ring := mpicc(t, "../../examples/c/ring.c", t.TempDir())
	ps := testutil.StartPeers(t, bin, 3)
	const iters = 30000
	sub := testutil.SubmitBG(t, bin, "--peer", ps[0].Sock, "-n", "3", "--ckpt-interval", "300ms", ring, strconv.Itoa(iters))
	id := testutil.OnlyJob(t, bin, ps[0].Sock)
	var v testutil.JobView
	ended := func(st string) bool { return st == "done" || st == "failed" || st == "killed" }
	testutil.Eventually(t, 60*time.Second, "a committed checkpoint", func() bool {
		v = testutil.Status(t, bin, ps[0].Sock, id)
		return len(v.Epochs) > 0 || ended(v.State)
	})
	if ended(v.State) {
		code := sub.Wait(t, time.Minute)
		t.Fatalf("the job ended (exit %d) before its first checkpoint: %+v\n%s", code, v, sub.Err.String())
	}
	testutil.HostOfRanks(t, ps, v, ps[0]).Kill()
	if code := sub.Wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("submit exit %d\nstdout:\n%s\nstderr:\n%s", code, sub.Out.String(), sub.Err.String())
	}
	want := "ring ranks=3 iters=" + strconv.Itoa(iters) + " received=" + strconv.Itoa(3*(iters+2)) + " restarted=1"
	if !strings.Contains(sub.Out.String(), want) || !strings.Contains(sub.Err.String(), "restarting from epoch") {
		t.Errorf("want %q after a restart\nstdout:\n%s\nstderr:\n%s", want, sub.Out.String(), sub.Err.String())
	}
}
