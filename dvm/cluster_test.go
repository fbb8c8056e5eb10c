package dvm

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

func buildProg(t *testing.T, pkg string) string { return testutil.BuildGo(t, pkg) }

func collect(t *testing.T, j *Job) (string, JobRecord) {
	t.Helper()
	// A deadline, not a wait: under -race on a loaded machine, hosts
	// fetching and verifying the program from the block store take a few
	// seconds more than the old private copy did.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var sb strings.Builder
	if err := j.Output(ctx, true, func(c Chunk) error { sb.Write(c.Data); return nil }); err != nil {
		t.Fatalf("output: %v", err)
	}
	rec, err := j.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sb.String(), rec
}

func TestClusterAllToAll(t *testing.T) {
	prog := buildProg(t, "./testdata/alltoall")
	ctx := context.Background()
	c, err := StartCluster(ctx, 3, t.TempDir(), testEdit(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	j, err := c.Peers[0].Submit(ctx, Spec{Program: prog, N: 4, Args: []string{"100"}})
	if err != nil {
		t.Fatal(err)
	}
	out, rec := collect(t, j)
	if rec.State != JobDone || rec.ExitCode != 0 {
		t.Fatalf("job %s exit %d: %s\n%s", rec.State, rec.ExitCode, rec.Err, out)
	}
	for r := 0; r < 4; r++ {
		if !strings.Contains(out, "rank "+string(rune('0'+r))+" of 4 ok") {
			t.Errorf("rank %d missing from output:\n%s", r, out)
		}
	}
	hosts := map[string]bool{}
	for _, r := range rec.Ranks {
		hosts[r.Host.String()] = true
	}
	if len(hosts) != 3 {
		t.Errorf("ranks spread over %d peers, want 3", len(hosts))
	}
}

// testLogger sends debug logs to the test's log, shown only on failure.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
