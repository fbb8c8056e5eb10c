package dvm

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

func holders(peers []*Peer, id storage.ID) []*Peer {
	var hs []*Peer
	for _, p := range peers {
		if p.blocks.Has(id) {
			hs = append(hs, p)
		}
	}
	return hs
}

// A file put from one peer comes back byte-identical from another; each
// block sits on BlockReplicas peers of its window; the
// file survives the loss of two of the three holders of its manifest; and
// a copy damaged on disk is never returned and is repaired by the read.
func TestBlockStoreOnTheDHT(t *testing.T) {
	peers := mockCluster(t, 8)
	r := rand.New(rand.NewPCG(9, 9))
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	cid, m, err := storage.PutFile(peers[0].Blocks(), bytes.NewReader(data), storage.FilterNone)
	if err != nil {
		t.Fatal(err)
	}
	var all []peer.ID
	for _, p := range peers {
		all = append(all, p.ID())
	}
	for _, id := range append([]storage.ID{cid}, m.Chunks[0].ID, m.Chunks[len(m.Chunks)-1].ID) {
		hs := holders(peers, id)
		window := byDistance(id[:], all)[:6]
		if len(hs) != 3 {
			t.Fatalf("block %s on %d peers, want 3", id, len(hs))
		}
		for _, h := range hs {
			if !slices.Contains(window, h.ID()) {
				t.Errorf("block %s: holder %s is not among the 6 closest peers", id, shortID(h.ID()))
			}
		}
	}
	var out bytes.Buffer
	if _, err := storage.GetFile(peers[5].Blocks(), cid, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get from another peer: %v (%d bytes)", err, out.Len())
	}

	// Damage the copy that a reader without one tries first, the
	// closest: the read still succeeds and puts a good copy back.
	first := holders(peers, m.Chunks[0].ID)
	closest := holderIDs(peers, m.Chunks[0].ID)[0]
	victim := first[slices.IndexFunc(first, func(p *Peer) bool { return p.ID() == closest })]
	path := filepath.Join(victim.cfg.DataDir, "blocks", "blocks", m.Chunks[0].ID.String()[:2], m.Chunks[0].ID.String())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The reader holds no copy: one that does reads its own first and
	// never meets the damaged one.
	var reader *Peer
	for _, p := range peers {
		if !p.blocks.Has(m.Chunks[0].ID) {
			reader = p
		}
	}
	got, err := reader.Blocks().Get(m.Chunks[0].ID)
	if err != nil || !bytes.Equal(got, data[:m.Chunks[0].Size]) {
		t.Fatalf("read past a damaged replica: %v", err)
	}
	if _, err := victim.blocks.Get(m.Chunks[0].ID); err != nil {
		t.Errorf("the damaged replica was not repaired: %v", err)
	}

	// Two of the manifest's three holders leave; the file is still there.
	gone := holders(peers, cid)[:2]
	var rest []*Peer
	for _, p := range peers {
		if p != gone[0] && p != gone[1] {
			rest = append(rest, p)
		}
	}
	gone[0].Close()
	gone[1].Close()
	out.Reset()
	if _, err := storage.GetFile(rest[0].Blocks(), cid, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("after two holders left: %v", err)
	}
}

// A peer refuses a block that does not hash to the ID it is sent under,
// and says which error it was.
func TestBlockStoreRefusesForgedBlocks(t *testing.T) {
	peers := mockCluster(t, 2)
	stored, _ := storage.Encode([]byte("the real content"), storage.FilterNone)
	forged := storage.IDOf([]byte("something else"))
	err := peers[0].putBlock(context.Background(), peers[1].ID(), forged, stored)
	if !errors.Is(err, wire.ErrBadRequest) {
		t.Fatalf("forged block: %v", err)
	}
	if peers[1].blocks.Has(forged) {
		t.Fatal("the forged block was stored")
	}
	if _, err := peers[0].getBlock(context.Background(), peers[1].ID(), forged); !errors.Is(err, wire.ErrNotFound) {
		t.Fatalf("absent block: %v", err)
	}
}
