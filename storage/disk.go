package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrFull is returned when a block would take a peer over its capacity.
var ErrFull = errors.New("storage: store is full")

// ErrNotFound is returned for a block this peer does not hold.
var ErrNotFound = errors.New("storage: block not found")

// Disk is one peer's blocks: one file per block under dir/blocks, named
// by the block's ID. Writes are atomic (temporary file, fsync, rename,
// fsync of the directory), so a crash leaves a block whole or absent.
// Every read is checked against the ID; a block that fails is removed and
// reported, never returned.
type Disk struct {
	dir      string
	capacity int64

	mu   sync.Mutex
	used int64
}

// OpenDisk opens (creating) the block directory under dir, holding at most
// capacity bytes of stored blocks.
func OpenDisk(dir string, capacity int64) (*Disk, error) {
	d := &Disk{dir: dir, capacity: capacity}
	for _, sub := range []string{"blocks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	// Leftovers of writes a crash interrupted.
	tmps, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	for _, t := range tmps {
		os.Remove(filepath.Join(dir, "tmp", t.Name()))
	}
	err := filepath.WalkDir(filepath.Join(dir, "blocks"), func(_ string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err == nil {
			d.used += info.Size()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: scanning %s: %w", dir, err)
	}
	return d, nil
}

func (d *Disk) path(id ID) string {
	s := id.String()
	return filepath.Join(d.dir, "blocks", s[:2], s)
}

// touchIfHeld reports whether id is held, and if so makes the put a new
// reference to it: the garbage collector's grace period starts again,
// so a put in progress that shares this block with older data does not
// lose it before its manifest is written and pinned. Under mu, so
// Collect sees either the old time and frees the block first (and this
// put stores it again) or the new one.
func (d *Disk) touchIfHeld(id ID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.has(id) {
		return false
	}
	d.touchLocked(id)
	return true
}

func (d *Disk) touchLocked(id ID) {
	now := time.Now()
	_ = os.Chtimes(d.path(id), now, now)
}

// Put stores a block received in its stored form, after checking that it
// decodes to content with this ID: a peer never keeps a block it could
// not serve back correctly.
func (d *Disk) Put(id ID, stored []byte) error {
	// A block held already is not decoded again: what is on disk was
	// checked when it was written and is checked again on every read.
	if d.touchIfHeld(id) {
		return nil
	}
	if _, err := Decode(id, stored); err != nil {
		return err
	}
	return d.PutVerified(id, stored)
}

// PutVerified stores a block whose stored form the caller has checked
// against id (Decode) or made itself (Encode of content that hashes to
// id), sparing a second hash of every byte. Every read still verifies it.
func (d *Disk) PutVerified(id ID, stored []byte) error {
	d.mu.Lock()
	if d.has(id) { // stored by a concurrent put meanwhile
		d.touchLocked(id)
		d.mu.Unlock()
		return nil
	}
	if d.used+int64(len(stored)) > d.capacity {
		d.mu.Unlock()
		return fmt.Errorf("%w: %d of %d bytes used, block of %d", ErrFull, d.used, d.capacity, len(stored))
	}
	d.used += int64(len(stored))
	d.mu.Unlock()
	if err := d.write(id, stored); err != nil {
		d.mu.Lock()
		d.used -= int64(len(stored))
		d.mu.Unlock()
		return fmt.Errorf("storage: writing block %s: %w", id, err)
	}
	return nil
}

func (d *Disk) write(id ID, stored []byte) error {
	return writeAtomic(filepath.Join(d.dir, "tmp"), d.path(id), stored, 0o600)
}

// Get returns a block's content, verified. A copy that fails the check is
// deleted (so repair replaces it) and the error wraps ErrCorrupt.
func (d *Disk) Get(id ID) ([]byte, error) {
	_, content, err := d.read(id)
	return content, err
}

// GetStored returns a block in its stored form, verified, for sending to
// another peer.
func (d *Disk) GetStored(id ID) ([]byte, error) {
	stored, _, err := d.read(id)
	return stored, err
}

// Read returns a block's stored form and its content, verified once for
// both.
func (d *Disk) Read(id ID) (stored, content []byte, err error) { return d.read(id) }

// read returns a block's stored form and its content, decoded and
// checked once for both.
func (d *Disk) read(id ID) (stored, content []byte, err error) {
	stored, err = readFileDirect(d.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("storage: reading block %s: %w", id, err)
	}
	if content, err = Decode(id, stored); err != nil {
		d.Delete(id)
		return nil, nil, err
	}
	return stored, content, nil
}

// StoredSize is the size of a block's stored form, or ErrNotFound.
func (d *Disk) StoredSize(id ID) (int64, error) {
	info, err := os.Stat(d.path(id))
	if err != nil {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return info.Size(), nil
}

// Has reports whether the block is here (unverified).
func (d *Disk) Has(id ID) bool { return d.has(id) }

func (d *Disk) has(id ID) bool {
	_, err := os.Stat(d.path(id))
	return err == nil
}

// Collect deletes a block if it was last written before cutoff and
// returns the bytes freed (0 if it was kept or absent). The check and the
// removal happen under the lock Put takes, so a block stored again
// between the collector's decision and now survives.
func (d *Disk) Collect(id ID, cutoff time.Time) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	info, err := os.Stat(d.path(id))
	if errors.Is(err, fs.ErrNotExist) || err == nil && !info.ModTime().Before(cutoff) {
		return 0, nil
	}
	if err == nil {
		err = os.Remove(d.path(id))
	}
	if err != nil {
		return 0, fmt.Errorf("storage: collecting block %s: %w", id, err)
	}
	d.used -= info.Size()
	return info.Size(), nil
}

// Delete removes a block; deleting an absent block is not an error.
func (d *Disk) Delete(id ID) error {
	p := d.path(id)
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("storage: deleting block %s: %w", id, err)
	}
	d.mu.Lock()
	d.used -= info.Size()
	d.mu.Unlock()
	return nil
}

// Used is the number of bytes the stored blocks take.
func (d *Disk) Used() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}

// BlockInfo describes a block a peer holds.
type BlockInfo struct {
	ID      string    `json:"id"`
	Size    int64     `json:"stored_bytes"`
	Written time.Time `json:"written"` // last stored or re-put here
}

// List returns the blocks held here, by ID.
func (d *Disk) List() ([]BlockInfo, error) {
	var out []BlockInfo
	err := filepath.WalkDir(filepath.Join(d.dir, "blocks"), func(_ string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, BlockInfo{ID: e.Name(), Size: info.Size(), Written: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: listing blocks: %w", err)
	}
	return out, nil
}
