package dvm

import (
	"os"
	"testing"

	"github.com/p2pdvm/p2pdvm/internal/sandbox"
)

// testExe is this test binary: it is also the sandbox trampoline that
// starts every rank the tests' peers host, as p2pdvm is for real peers.
var testExe string

func TestMain(m *testing.M) {
	sandbox.Main()
	var err error
	if testExe, err = os.Executable(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// testEdit is how tests' peers differ from the defaults: logs into the
// test's output, and ranks confined as a real peer's are.
func testEdit(t *testing.T) func(*Config) {
	return func(c *Config) {
		c.Logger = testLogger(t)
		c.SandboxExec = testExe
	}
}
