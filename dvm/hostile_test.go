package dvm

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// A peer that sends garbage, oversized frames or forged requests must not
// crash or disturb another peer: after all of it, jobs still run.
func TestHostilePeer(t *testing.T) {
	prog := buildProg(t, "./testdata/alltoall")
	peers := mockCluster(t, 4)
	victim, evil := peers[0], peers[3]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	junk := make([]byte, 4096)
	_, _ = rand.Read(junk)
	huge := wire.AppendFrameHeader(nil, wire.TypeData, 1<<30)
	forged := func(method string, body any) []byte {
		b, _ := json.Marshal(body)
		rb, _ := json.Marshal(wire.Request{Method: method, Body: b})
		return append(wire.AppendFrameHeader(nil, wire.TypeRequest, len(rb)), rb...)
	}
	badMsg := (&wire.Msg{Job: "nope", Src: 1, Dst: 1 << 30, Seq: 1, Payload: []byte("x")}).AppendFrame(nil, wire.TypeData)
	payloads := map[string][][]byte{
		string(protoRPC): {junk, huge, forged("no.such.method", nil), forged("rank.spawn", spawnReq{Job: "x", Size: -1}),
			forged("proc.start", spawnReq{Job: "x", Rank: 0, Size: 1, Bin: strings.Repeat("0", 64), Submitter: victim.ID()}),
			forged("job.update", JobRecord{ID: "x", Owner: victim.ID(), N: 1}),
			forged("rank.route", routeReq{Msg: []byte{1, 2, 3}})},
		string(protoData): {junk, huge, badMsg},
		string(protoOut):  {junk, huge, forged("", outHello{Job: "nope"})},
		string(protoBlock): {junk, huge, wire.AppendFrameHeader(nil, wire.TypeBlockGet, 3),
			append(wire.AppendFrameHeader(nil, wire.TypeBlockPut, 32+len(junk)), append(make([]byte, 32), junk...)...),
			append(wire.AppendFrameHeader(nil, wire.TypeBlockGet, 32), []byte(strings.Repeat("/", 32))...),
			// leases: a ragged body, and a far-future lease on blocks the victim does not hold
			append(wire.AppendFrameHeader(nil, wire.TypeLeases, 9), make([]byte, 9)...),
			append(wire.AppendFrameHeader(nil, wire.TypeLeases, 8+32), append([]byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, junk[:32]...)...)},
	}
	for proto, list := range payloads {
		for _, b := range list {
			s, err := evil.h.NewStream(ctx, victim.ID(), protocol.ID(proto))
			if err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			_, _ = s.Write(b)
			_ = s.CloseWrite()
			// Whatever comes back, read it to the end: the victim must answer
			// or hang up, not hang.
			_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 1<<16)
			for {
				if _, err := s.Read(buf); err != nil {
					if strings.Contains(err.Error(), "deadline") {
						t.Errorf("%s: victim neither answered nor closed", proto)
					}
					break
				}
			}
			_ = s.Close()
		}
	}
	// The forged job.update named the victim as owner from another peer.
	if _, ok := victim.records.get("x"); ok {
		t.Error("a forged record was stored")
	}
	j, err := victim.Submit(ctx, Spec{Program: prog, N: 4, Args: []string{"20"}})
	if err != nil {
		t.Fatal(err)
	}
	if out, rec := collect(t, j); rec.State != JobDone {
		t.Fatalf("job after hostile traffic: %s\n%s", rec.State, out)
	}
}

// A peer of the DVM that is not part of a job cannot write into its
// ranks' message streams: routed messages need the job's MAC, and data
// streams the run's token. The same frames with the right token go
// through, so the refusals are the key's doing.
func TestForgedMessagesRefused(t *testing.T) {
	peers := mockCluster(t, 4)
	sub, evil := peers[0], peers[3]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j := endlessJob(t, sub)
	var host *Peer
	testutil.Eventually(t, 20*time.Second, "rank 1 running", func() bool {
		for _, r := range j.record().Ranks {
			if r.Rank == 1 && r.State == RankRunning {
				for _, p := range peers {
					if p.ID() == r.Host {
						host = p
					}
				}
			}
		}
		return host != nil
	})
	if host == evil {
		t.Skip("placement put rank 1 on the peer meant to be outside the job")
	}
	run := j.ID()
	m := wire.Msg{Job: run, Src: 0, Dst: 1, Seq: 1 << 40, Payload: []byte("forged")}
	body := m.AppendFrame(nil, wire.TypeData)[wire.HeaderLen:]
	for name, mac := range map[string][]byte{"no MAC": nil, "a random MAC": junkBytes(32)} {
		err := evil.call(ctx, host.ID(), "rank.deliver", routeReq{Msg: body, MAC: mac}, nil)
		if !errors.Is(err, wire.ErrDenied) {
			t.Errorf("rank.deliver with %s: %v, want denied", name, err)
		}
	}
	// Nor can it checkpoint the job, with no grant or with one it signed.
	own, err := evil.signGrant(run, 1, evil.ID())
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*ckptGrant{"no grant": nil, "its own grant": own} {
		err := evil.call(ctx, host.ID(), "proc.ckpt", ckptReq{Job: run, Rank: 1, Ckpt: wire.Ckpt{Epoch: 1, Phase: "prepare"}, Grant: g}, nil)
		if !errors.Is(err, wire.ErrDenied) {
			t.Errorf("proc.ckpt with %s: %v, want denied", name, err)
		}
	}
	owner, err := evil.ownerOf(ctx, RankKey(run, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := evil.call(ctx, owner, "rank.route", routeReq{Msg: body, MAC: junkBytes(32)}, nil); !errors.Is(err, wire.ErrDenied) {
		t.Errorf("rank.route through the owner with a random MAC: %v, want denied", err)
	}

	// stream writes frames on a fresh data stream and reports whether the
	// host acknowledged a message (true) or reset the stream (false).
	stream := func(frames ...[]byte) bool {
		s, err := evil.h.NewStream(ctx, host.ID(), protoData)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Reset()
		for _, f := range frames {
			if _, err := s.Write(f); err != nil {
				return false
			}
		}
		_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
		typ, _, err := wire.NewReader(s, 64).Next()
		if err != nil && strings.Contains(err.Error(), "deadline") {
			t.Fatal("the host neither acknowledged nor reset the stream")
		}
		return err == nil && typ == wire.TypeDataAck
	}
	data := m.AppendFrame(nil, wire.TypeData)
	var wrong [32]byte
	copy(wrong[:], junkBytes(32))
	if stream(data) {
		t.Error("a message without a token was acknowledged")
	}
	if stream(wire.AppendDataAuth(nil, wire.DataAuth{Job: run, Token: wrong}), data) {
		t.Error("a message after a wrong token was acknowledged")
	}
	// A token for evil's own ID made with the job's key: what a host of the
	// job would send. Only its key makes the difference.
	good := streamToken(host.keys.get(run), run, evil.ID(), host.ID())
	if !stream(wire.AppendDataAuth(nil, wire.DataAuth{Job: run, Token: good}), data) {
		t.Error("a message after the right token was not acknowledged")
	}
}

func junkBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
