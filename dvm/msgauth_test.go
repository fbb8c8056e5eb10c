package dvm

import (
	"bytes"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestStreamTokenBindsRunAndEnds(t *testing.T) {
	key := bytes.Repeat([]byte{7}, msgKeyLen)
	a, b, c := peer.ID("a"), peer.ID("b"), peer.ID("c")
	base := streamToken(key, "run", a, b)
	for name, other := range map[string][32]byte{
		"another run":      streamToken(key, "run.1", a, b),
		"another sender":   streamToken(key, "run", c, b),
		"another receiver": streamToken(key, "run", a, c),
		"swapped ends":     streamToken(key, "run", b, a),
		"another key":      streamToken(bytes.Repeat([]byte{8}, msgKeyLen), "run", a, b),
	} {
		if other == base {
			t.Errorf("%s gives the same token", name)
		}
	}
	if streamToken(key, "run", a, b) != base {
		t.Error("the token is not deterministic")
	}
	if bytes.Equal(msgMAC(key, []byte("m1")), msgMAC(key, []byte("m2"))) {
		t.Error("two bodies share a MAC")
	}
}

func TestMsgKeysOutliveTheLastRankForATTL(t *testing.T) {
	k := newMsgKeys()
	now := time.Now()
	k.set("r", []byte("key"))
	k.sweep(now.Add(time.Hour))
	if k.get("r") == nil {
		t.Fatal("a key of a running rank was swept")
	}
	k.release("r", now)
	k.sweep(now.Add(msgKeyTTL - time.Second))
	if k.get("r") == nil {
		t.Fatal("the key went before its TTL: queued messages could not be routed")
	}
	k.set("r", []byte("key")) // a rank of the run started here again
	k.sweep(now.Add(msgKeyTTL + time.Second))
	if k.get("r") == nil {
		t.Fatal("a key in use again was swept")
	}
	k.release("r", now)
	k.sweep(now.Add(msgKeyTTL + time.Second))
	if k.get("r") != nil {
		t.Fatal("the key outlived its TTL")
	}
}
