// Package testutil holds helpers shared by tests: polling with a deadline
// instead of sleeping and hoping, and building test programs.
package testutil

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Eventually polls cond every few milliseconds until it holds or the
// timeout passes, then fails the test with what.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(wait)
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// BuildGo compiles the Go package pkg (a path relative to the caller's
// package dir, or an import path) into a temp dir and returns the binary.
func BuildGo(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}
