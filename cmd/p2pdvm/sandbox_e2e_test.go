package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pdvm/p2pdvm/internal/sandbox"
	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// A rank is code from another member of the DVM: it must not read its
// host peer's identity key, nor drive the peer through its control
// socket. The same program on a peer started with --sandbox=false does
// both, which shows what the sandbox and the control token stop.
func TestE2ERankCannotReachItsPeer(t *testing.T) {
	if sandbox.ABI() == 0 {
		t.Skip("this kernel has no Landlock: ranks run unconfined")
	}
	snoop := testutil.BuildGo(t, "./testdata/snoop")
	base := t.TempDir()
	run := func(name string, extra ...string) string {
		p := testutil.StartPeer(t, binPath, filepath.Join(base, name), "", extra...)
		out, errs, code := cli(t, "submit", "--peer", p.Sock, "-n", "1", snoop)
		if code != 0 {
			t.Fatalf("%s: snoop exit %d: %s", name, code, errs)
		}
		return out
	}
	out := run("confined")
	for _, want := range []string{"identity: denied", "token: denied", "control: {\"ev\":\"error\""} {
		if !strings.Contains(out, want) {
			t.Errorf("confined rank: no %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "not authorized") {
		t.Errorf("the control socket did not refuse a rank without the token:\n%s", out)
	}
	out = run("open", "--sandbox=false")
	if !strings.Contains(out, "identity: READ") || !strings.Contains(out, "token: READ") {
		t.Errorf("unconfined rank (--sandbox=false) should read the data dir:\n%s", out)
	}
}
