package dvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

func testPeerIDs(t testing.TB, n int) []peer.ID {
	t.Helper()
	var out []peer.ID
	for i := range n {
		// Identity multihashes: valid peer IDs without key generation.
		id, err := peer.IDFromBytes(append([]byte{0x00, 8}, []byte(fmt.Sprintf("peer%04d", i))...))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func TestChainReqCodec(t *testing.T) {
	ids := testPeerIDs(t, 4)
	id := storage.IDOf([]byte("x"))
	stored := []byte("stored form")
	enc := func(next []peer.ID) []byte { return append(appendChainHeader(nil, id, next), stored...) }
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"no next", enc(nil), true},
		{"two next", enc(ids[:2]), true},
		{"three next", enc(ids[:3]), false},
		{"short", enc(nil)[:32], false},
		{"length past the end", append(id[:], 1, 40, 0x00), false},
		{"zero length", append(id[:], 1, 0), false},
		{"not a peer ID", append(id[:], 1, 3, 0xff, 0xff, 0xff), false},
		{"overlong varint", append(id[:], 1, 0xff, 0xff, 0xff, 0xff, 0x01), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeChainReq(tc.body, 2)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, wire.ErrBadRequest) {
					t.Errorf("error %v is not ErrBadRequest", err)
				}
				return
			}
			if r.ID != id || !bytes.Equal(r.Stored, stored) {
				t.Errorf("decoded %x %q", r.ID, r.Stored)
			}
			if again := append(appendChainHeader(nil, r.ID, r.Next), r.Stored...); !bytes.Equal(again, tc.body) {
				t.Errorf("re-encoding differs")
			}
		})
	}
}

func TestCheckNext(t *testing.T) {
	p := testPeerIDs(t, 5)
	self, from := p[0], p[1]
	for _, tc := range []struct {
		name string
		next []peer.ID
		ok   bool
	}{
		{"empty", nil, true},
		{"two others", []peer.ID{p[2], p[3]}, true},
		{"too many", []peer.ID{p[2], p[3], p[4]}, false},
		{"itself", []peer.ID{p[2], self}, false},
		{"back to the sender", []peer.ID{from}, false},
		{"twice", []peer.ID{p[2], p[2]}, false},
	} {
		if err := checkNext(self, from, tc.next, 3); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// The plan replaces a failed holder with the next-closest candidate and
// sends again only to the holders that are missing.
func TestChainPlan(t *testing.T) {
	c := testPeerIDs(t, 6)
	pl := newChainPlan(c, 3)
	chain := pl.next()
	if !slices.Equal(chain, c[:3]) {
		t.Fatalf("first chain %v", chain)
	}
	// c1 refused: c0 stored, c2 never reached.
	pl.record(chain, chainResult{Stored: c[:1], Failed: []chainFailure{{c[1], errors.New("full")}}})
	if chain = pl.next(); !slices.Equal(chain, []peer.ID{c[2], c[3]}) {
		t.Fatalf("second chain %v", chain)
	}
	// The head does not answer at all: it counts as failed, and a reply
	// that credits a peer outside the chain is ignored.
	pl.record(chain, chainResult{Stored: []peer.ID{c[5]}})
	if chain = pl.next(); !slices.Equal(chain, []peer.ID{c[3], c[4]}) {
		t.Fatalf("third chain %v", chain)
	}
	pl.record(chain, chainResult{Stored: chain})
	if !pl.done() || pl.next() != nil {
		t.Fatalf("not done: held %v", pl.held)
	}
	// Candidates run out: not done, and the error names the failures.
	pl = newChainPlan(c[:2], 3)
	pl.record(pl.next(), chainResult{Stored: c[:1], Failed: []chainFailure{{c[1], errors.New("full")}}})
	if pl.done() || pl.next() != nil || pl.err(storage.ID{}) == nil {
		t.Fatal("a plan out of candidates claims success")
	}
}

func FuzzDecodeChainReq(f *testing.F) {
	ids := testPeerIDs(f, 3)
	id := storage.IDOf([]byte("x"))
	f.Add(append(appendChainHeader(nil, id, ids[:2]), "block"...))
	f.Add(append(appendChainHeader(nil, id, nil), "block"...))
	f.Add(append(id[:], 1, 0xff, 0xff, 0x03))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeChainReq(body, 2)
		if err != nil {
			return
		}
		if len(r.Next) > 2 {
			t.Fatalf("%d next holders passed a limit of 2", len(r.Next))
		}
		if again := append(appendChainHeader(nil, r.ID, r.Next), r.Stored...); !bytes.Equal(again, body) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// blockNear finds a block (by trying contents) whose closest peers, in
// order, satisfy ok.
func blockNear(t *testing.T, peers []*Peer, ok func(closest []peer.ID) bool) ([]byte, storage.ID) {
	t.Helper()
	var all []peer.ID
	for _, p := range peers {
		all = append(all, p.ID())
	}
	for i := range 10000 {
		content := randomData(uint64(i), 64<<10)
		id := storage.IDOf(content)
		if ok(byDistance(id[:], all)) {
			return content, id
		}
	}
	t.Fatal("no block with the wanted placement")
	return nil, storage.ID{}
}

// checkReplicas fails unless exactly the peers want hold id, each a copy
// that reads back verified.
func checkReplicas(t *testing.T, peers []*Peer, id storage.ID, want []peer.ID) {
	t.Helper()
	got := holderIDs(peers, id)
	if !slices.Equal(got, byDistance(id[:], want)) {
		t.Fatalf("block held by %v, want %v", got, want)
	}
	for _, p := range holders(peers, id) {
		if _, err := p.blocks.Get(id); err != nil {
			t.Fatalf("replica on %s: %v", shortID(p.ID()), err)
		}
	}
}

// A put sends one copy from the uploader and leaves exactly k verified
// replicas on the k closest peers, when the window is k (placement by
// load is TestPickHolders' and TestStoreOn20Peers').
func TestChainPutKReplicas(t *testing.T) {
	_, peers := mockNet(t, 8, func(c *Config) { c.BlockWindow = c.BlockReplicas })
	up := peers[0]
	content, id := blockNear(t, peers, func(c []peer.ID) bool { return !slices.Contains(c[:3], up.ID()) })
	stored, err := storage.Encode(content, storage.FilterNone)
	if err != nil {
		t.Fatal(err)
	}
	before := up.rel.moved.Load()
	if err := up.Blocks().Put(id, stored); err != nil {
		t.Fatal(err)
	}
	checkReplicas(t, peers, id, closestLive(peers, id, 3))
	if sent := up.rel.moved.Load() - before; sent > int64(len(stored))*3/2 {
		t.Errorf("the uploader moved %d bytes for a block of %d: more than one copy", sent, len(stored))
	}
	// The largest block, incompressible, fits a forward request that
	// names two next holders.
	content = randomData(3, storage.MaxBlock)
	id = storage.IDOf(content)
	stored, _ = storage.Encode(content, storage.FilterNone)
	far := peers[slices.IndexFunc(peers, func(p *Peer) bool { return !slices.Contains(closestLive(peers, id, 3), p.ID()) })]
	if err := far.Blocks().Put(id, stored); err != nil {
		t.Fatalf("largest block: %v", err)
	}
	checkReplicas(t, peers, id, closestLive(peers, id, 3))
	// The uploader among the holders, wherever it stands, keeps its own
	// copy and sends the block to the other two.
	for pos := range 3 {
		content = randomData(uint64(1000+pos), 64<<10)
		id = storage.IDOf(content)
		up = peers[slices.IndexFunc(peers, func(p *Peer) bool { return p.ID() == closestLive(peers, id, 3)[pos] })]
		stored, _ = storage.Encode(content, storage.FilterNone)
		if err := up.Blocks().Put(id, stored); err != nil {
			t.Fatalf("uploader at %d: %v", pos, err)
		}
		checkReplicas(t, peers, id, closestLive(peers, id, 3))
	}
}

// A holder in the chain that is down (it does not answer the block
// protocol) or refuses (its disk is full) is replaced by the next-closest
// peer, at the head of the chain or in it.
func TestChainPutPastBadHolders(t *testing.T) {
	const capacity = 64 << 10
	_, peers := mockNet(t, 8, func(c *Config) { c.BlockCapacity = capacity })
	for _, mode := range []string{"down", "full"} {
		for pos := range 3 {
			t.Run(fmt.Sprintf("%s at %d", mode, pos), func(t *testing.T) {
				content := randomData(uint64(100+10*pos+len(mode)), 16<<10)
				id := storage.IDOf(content)
				closest := closestLive(peers, id, 4)
				bad := peers[slices.IndexFunc(peers, func(p *Peer) bool { return p.ID() == closest[pos] })]
				switch mode {
				case "down":
					bad.h.RemoveStreamHandler(protoBlock)
					defer bad.h.SetStreamHandler(protoBlock, bad.serveBlock)
				case "full":
					// Fill it to 8 KiB short of its capacity: no room for the block.
					filler := randomData(1, int(capacity-8<<10-bad.blocks.Used()))
					fid := storage.IDOf(filler)
					fs, _ := storage.Encode(filler, storage.FilterNone)
					if err := bad.blocks.Put(fid, fs); err != nil {
						t.Fatal(err)
					}
					defer bad.blocks.Delete(fid)
				}
				// The uploader is no holder, so that every copy travels.
				up := peers[slices.IndexFunc(peers, func(p *Peer) bool { return !slices.Contains(closest, p.ID()) })]
				stored, _ := storage.Encode(content, storage.FilterNone)
				if err := up.Blocks().Put(id, stored); err != nil {
					t.Fatal(err)
				}
				checkReplicas(t, peers, id, closestLive(live(peers, bad), id, 3))
			})
		}
	}
}

// A forged forward request is refused whole: nothing is stored at the
// receiver and nothing is forwarded to the peers it names.
func TestChainRefusesForgedRequests(t *testing.T) {
	peers := mockCluster(t, 6)
	from, to := peers[0], peers[1]
	content := randomData(7, 10000)
	id := storage.IDOf(content)
	stored, _ := storage.Encode(content, storage.FilterNone)
	ids := func(ps ...*Peer) []peer.ID {
		var out []peer.ID
		for _, p := range ps {
			out = append(out, p.ID())
		}
		return out
	}
	wrong := storage.IDOf([]byte("another block"))
	for _, tc := range []struct {
		name string
		id   storage.ID
		next []peer.ID
	}{
		{"too many next holders", id, ids(peers[2], peers[3], peers[4])},
		{"a loop back to the sender", id, ids(peers[2], from)},
		{"the receiver itself", id, ids(to, peers[2])},
		{"a holder twice", id, ids(peers[2], peers[2])},
		{"a wrong hash", wrong, ids(peers[2], peers[3])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := from.blockCall(context.Background(), to.ID(), wire.TypeBlockChain, appendChainHeader(nil, tc.id, tc.next), stored)
			if !errors.Is(err, wire.ErrBadRequest) {
				t.Fatalf("forged request: %v", err)
			}
			if hs := holders(peers, tc.id); len(hs) > 0 {
				t.Fatalf("stored anyway, on %d peers", len(hs))
			}
		})
	}
	// The same block with a fair request goes through, to the receiver
	// and the two it names.
	if _, err := from.blockCall(context.Background(), to.ID(), wire.TypeBlockChain, appendChainHeader(nil, id, ids(peers[2], peers[3])), stored); err != nil {
		t.Fatal(err)
	}
	checkReplicas(t, peers, id, ids(to, peers[2], peers[3]))
}
