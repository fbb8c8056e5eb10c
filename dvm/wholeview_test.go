package dvm

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-kad-dht/amino"
)

// A lookup answer stands for the whole DVM only if it is shorter than a
// bucket, and only while it is fresh, the routing table keeps its size
// and no peer has failed to answer.
func TestWholeView(t *testing.T) {
	ids := testPeerIDs(t, amino.DefaultBucketSize)
	now := time.Now()
	var v wholeView
	if _, ok := v.get(now, 0); ok {
		t.Fatal("an empty view answers")
	}
	v.learn(ids, len(ids), now.Add(time.Minute))
	if _, ok := v.get(now, len(ids)); ok {
		t.Fatal("a full bucket's answer taken for the whole DVM")
	}
	few := ids[:5]
	v.learn(few, 5, now.Add(time.Minute))
	got, ok := v.get(now, 5)
	if !ok || !slices.Equal(got, few) {
		t.Fatalf("view %v %v, want %v", got, ok, few)
	}
	got[0] = ids[9] // the caller's copy: the view stays as it was
	if again, _ := v.get(now, 5); !slices.Equal(again, few) {
		t.Fatal("a caller changed the view")
	}
	if _, ok := v.get(now, 6); ok {
		t.Fatal("the view outlived a change of the routing table")
	}
	if _, ok := v.get(now.Add(time.Minute), 5); ok {
		t.Fatal("the view outlived its time")
	}
	v.forget()
	if _, ok := v.get(now, 5); ok {
		t.Fatal("a forgotten view answers")
	}
}
