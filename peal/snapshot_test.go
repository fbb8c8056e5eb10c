package peal

import (
	"reflect"
	"testing"
)

func sampleSnapshot() *snapshot {
	return &snapshot{Epoch: 3, At: 41, Rank: 1, Size: 3,
		Send: []uint64{7, 0, 1 << 40}, Next: []uint64{9, 1, 2},
		Queue: []Message{{Src: 0, Ctx: 4, Tag: -3, Data: []byte("held")}, {Src: 2, Ctx: 1 << 31, Tag: 7, Data: []byte{}}},
		State: []namedState{{"grid", []byte{1, 2, 3}}, {"it", nil}}}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := sampleSnapshot()
	got, err := decodeSnapshot(s.encode())
	if err != nil {
		t.Fatal(err)
	}
	// Empty and nil byte strings both come back as empty.
	s.State[1].data = []byte{}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
	}
	b := s.encode()
	for i := range b {
		if _, err := decodeSnapshot(b[:i]); err == nil {
			t.Fatalf("a snapshot cut to %d of %d bytes decoded", i, len(b))
		}
	}
}

// A checkpoint comes back from the block store verified by hash, but the
// decoder must still never crash or allocate wildly on any input.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(sampleSnapshot().encode())
	f.Add([]byte(snapMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		again, err := decodeSnapshot(s.encode())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-encoding a decoded snapshot changed it: %v", err)
		}
	})
}
