package dvm

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

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
