package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
)

// Three peers on three separate network stacks (namespaces joined by a
// bridge, each with its own address), as on three machines of a LAN: no
// loopback between them, so libp2p dials real addresses and ranks on
// different hosts connect to each other over TLS with the job's
// certificate. heat with 4 ranks over them prints the serial result, and
// its halo rows travel over those direct connections.
func TestE2ESeparateHosts(t *testing.T) {
	hosts := testutil.NetHosts(t, 3)
	heat := testutil.BuildGo(t, "../../examples/heat")
	base := t.TempDir()
	var ps []*peerProc
	for i, h := range hosts {
		boot := ""
		if i > 0 {
			boot = ps[0].Addr
		}
		p := testutil.StartPeerOn(t, h, binPath, filepath.Join(base, fmt.Sprint(i)), boot)
		if !strings.HasPrefix(p.Addr, "/ip4/"+h.IP+"/") {
			t.Fatalf("peer %d listens on %s, want %s", i, p.Addr, h.IP)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		testutil.WaitPeers(t, p, len(ps)-1)
	}
	// The control socket is a file: the CLI reaches it from any namespace.
	out, errs, code := cli(t, "submit", "--peer", ps[1].Sock, "-n", "4", heat, "2000", "256")
	if code != 0 {
		t.Fatalf("heat exit %d: %s", code, errs)
	}
	want := heatSerial4x256
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got %q, want the serial result %q", out, want)
	}
	id := testutil.OnlyJob(t, binPath, ps[1].Sock)
	st, _, _ := cli(t, "status", "--json", "--peer", ps[1].Sock, id)
	var v testutil.JobView
	if err := json.Unmarshal([]byte(st), &v); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st)
	}
	distinct := map[string]bool{}
	for _, r := range v.Ranks {
		distinct[r.Host] = true
		// Each rank sends about 2000 halo rows or more; all but the first
		// few go over direct connections, which bypass the peers.
		if n := r.Routed + r.Shortcut; n > 200 {
			t.Errorf("rank %d sent %d messages through its host: direct connections between hosts did not carry the rest", r.Rank, n)
		}
	}
	if len(distinct) != len(hosts) {
		t.Errorf("4 ranks on %d hosts, want all %d used", len(distinct), len(hosts))
	}
	noOrphans(t, ps)
}
