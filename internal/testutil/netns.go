package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Host is a separate network stack made by NetHosts: a network namespace
// with its own address, reached from the others over a bridge, as a
// machine on a LAN is.
type Host struct {
	NS string // namespace name, for `ip netns exec`
	IP string // its IPv4 address
}

// Exec is the command prefix that runs a program on h.
func (h Host) Exec() []string { return []string{"ip", "netns", "exec", h.NS} }

// NetHosts makes n network namespaces joined by a bridge in the test's own
// network namespace, on a private /24 that only they use, and removes
// them when the test ends. It skips the test where namespaces cannot be
// made (not root, no iproute2, a sandbox without CAP_NET_ADMIN).
func NetHosts(t *testing.T, n int) []Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces need iproute2's ip")
	}
	id := os.Getpid() % 10000
	subnet := fmt.Sprintf("10.231.%d", id%250)
	br := fmt.Sprintf("p2pbr%d", id)
	run := func(args ...string) error {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	var hosts []Host
	t.Cleanup(func() {
		for _, h := range hosts {
			_ = run("netns", "del", h.NS) // takes its veth end, and so the pair, with it
		}
		_ = run("link", "del", br)
	})
	if err := run("link", "add", br, "type", "bridge"); err != nil {
		t.Skipf("cannot make a bridge here: %v", err)
	}
	if err := run("link", "set", br, "up"); err != nil {
		t.Skipf("cannot set up a bridge here: %v", err)
	}
	for i := range n {
		h := Host{NS: fmt.Sprintf("p2pdvm-%d-%d", id, i), IP: fmt.Sprintf("%s.%d", subnet, i+1)}
		outer, inner := fmt.Sprintf("p2pv%dx%d", id, i), fmt.Sprintf("p2pv%dy%d", id, i)
		if err := run("netns", "add", h.NS); err != nil {
			t.Skipf("cannot make a network namespace here: %v", err)
		}
		hosts = append(hosts, h)
		for _, args := range [][]string{
			{"link", "add", outer, "type", "veth", "peer", "name", inner},
			{"link", "set", inner, "netns", h.NS},
			{"link", "set", outer, "master", br},
			{"link", "set", outer, "up"},
			{"-n", h.NS, "link", "set", "lo", "up"},
			{"-n", h.NS, "addr", "add", h.IP + "/24", "dev", inner},
			{"-n", h.NS, "link", "set", inner, "up"},
		} {
			// A sandbox may allow namespaces but not veths or bridges:
			// that is the environment's limit, not a failure of the code
			// under test, which has not run yet.
			if err := run(args...); err != nil {
				t.Skipf("cannot set up network namespaces here: %v", err)
			}
		}
	}
	return hosts
}
