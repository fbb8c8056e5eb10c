package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// failingStore accepts n puts and fails every later one, as a put whose
// peer or network goes away half-way.
// PutFile puts several blocks at once, hence the atomic count.
type failingStore struct {
	*Disk
	left atomic.Int64
}

func (s *failingStore) Put(id ID, stored []byte) error {
	if s.left.Add(-1) < 0 {
		return errors.New("interrupted")
	}
	return s.Disk.Put(id, stored)
}

// A put interrupted half-way leaves chunks but no manifest: nothing under
// the file's CID, so no CID looks complete.
func TestInterruptedPutLeavesNoManifest(t *testing.T) {
	d, err := OpenDisk(t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(11, 6<<20)
	cid, m, err := CIDOf(bytes.NewReader(data), FilterNone)
	if err != nil || len(m.Chunks) < 3 {
		t.Fatalf("%v, %d chunks", err, len(m.Chunks))
	}
	for _, n := range []int{0, len(m.Chunks) / 2, len(m.Chunks)} {
		fs := &failingStore{Disk: d}
		fs.left.Store(int64(n))
		if _, _, err := PutFile(fs, bytes.NewReader(data), FilterNone); err == nil {
			t.Fatalf("put with %d of %d chunk puts allowed succeeded", n, len(m.Chunks))
		}
		if d.Has(cid) {
			t.Fatalf("after an interrupted put (%d chunks stored) the manifest exists", n)
		}
	}
	// The CID computed without storing is the CID a whole put gives.
	got, _, err := PutFile(d, bytes.NewReader(data), FilterNone)
	if err != nil || got != cid || !d.Has(cid) {
		t.Fatalf("put: %v, cid %s, want %s", err, got, cid)
	}
}

func TestPinsAndLeasesPersist(t *testing.T) {
	dir := t.TempDir()
	a, b := IDOf([]byte("a")), IDOf([]byte("b"))
	ps, err := OpenPins(filepath.Join(dir, "pins.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []error{ps.Add(a, "user"), ps.Add(a, "job:1"), ps.Add(b, "job:2"), ps.Add(a, "user")} {
		if step != nil {
			t.Fatal(step)
		}
	}
	if err := ps.Remove(a, "user"); err != nil || !ps.Has(a) {
		t.Fatalf("removing one of two reasons: %v, pinned %v", err, ps.Has(a))
	}
	if err := ps.Remove(b, "user"); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("removing a reason that is not there: %v", err)
	}
	ps2, err := OpenPins(filepath.Join(dir, "pins.json"))
	if err != nil || len(ps2.List()) != 2 || ps2.List()[0].CID == "" {
		t.Fatalf("reopened: %+v, %v", ps2.List(), err)
	}
	if err := ps2.DropReasons("job:"); err != nil || ps2.Has(a) || ps2.Has(b) {
		t.Fatalf("job pins survive a restart: %+v %v", ps2.List(), err)
	}

	now := time.Now()
	ls, err := OpenLeases(filepath.Join(dir, "leases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.Extend([]ID{a, b}, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if err := ls.Extend([]ID{a}, now.Add(time.Minute), now); err != nil || !ls.Until(a).Equal(now.Add(time.Hour)) {
		t.Fatalf("a shorter lease shortened a longer one: %v %v", ls.Until(a), err)
	}
	ls2, err := OpenLeases(filepath.Join(dir, "leases.json"))
	if err != nil || !ls2.Until(b).Equal(now.Add(time.Hour)) {
		t.Fatalf("reopened lease %v, %v", ls2.Until(b), err)
	}
	// Expired leases are pruned at the next extension.
	if err := ls2.Extend(nil, time.Time{}, now.Add(2*time.Hour)); err != nil || !ls2.Until(a).IsZero() {
		t.Fatalf("expired lease kept: %v %v", ls2.Until(a), err)
	}
}

func TestGCDecide(t *testing.T) {
	now := time.Now()
	pinned, leased, free, young := IDOf([]byte("p")), IDOf([]byte("l")), IDOf([]byte("f")), IDOf([]byte("y"))
	expired := IDOf([]byte("e"))
	pol := GCPolicy{
		Now: now, Grace: 10 * time.Minute,
		Pinned: func(id ID) bool { return id == pinned },
		Leased: func(id ID) time.Time {
			switch id {
			case leased:
				return now.Add(time.Second)
			case expired:
				return now.Add(-time.Second)
			}
			return time.Time{}
		},
	}
	old := now.Add(-time.Hour)
	for _, c := range []struct {
		b    BlockInfo
		want GCReason
	}{
		{BlockInfo{ID: pinned.String(), Written: old}, GCPinned},
		{BlockInfo{ID: leased.String(), Written: old}, GCLeased},
		{BlockInfo{ID: expired.String(), Written: old}, GCFree},
		{BlockInfo{ID: free.String(), Written: old}, GCFree},
		{BlockInfo{ID: young.String(), Written: now.Add(-time.Minute)}, GCYoung},
		{BlockInfo{ID: young.String(), Written: now.Add(-10 * time.Minute)}, GCFree},
		{BlockInfo{ID: "not-a-block", Written: old}, GCBadID},
	} {
		if got := pol.Decide(c.b); got != c.want {
			t.Errorf("%s written %v ago: %s, want %s", c.b.ID, now.Sub(c.b.Written), got, c.want)
		}
	}
}

// Storing a block already held restarts its grace period.
func TestPutAgainRefreshesWriteTime(t *testing.T) {
	d, _ := OpenDisk(t.TempDir(), 1<<20)
	c := []byte("shared chunk")
	s, _ := Encode(c, FilterNone)
	if err := d.Put(IDOf(c), s); err != nil {
		t.Fatal(err)
	}
	list, _ := d.List()
	first := list[0].Written
	past := first.Add(-time.Hour)
	if err := os.Chtimes(d.path(IDOf(c)), past, past); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(IDOf(c), s); err != nil {
		t.Fatal(err)
	}
	list, _ = d.List()
	if !list[0].Written.After(past.Add(30 * time.Minute)) {
		t.Fatalf("write time %v after a second put, was set to %v", list[0].Written, past)
	}
}
