package storage

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// What keeps a block alive, as one peer knows it. Two records, each one
// JSON file written atomically:
//
//   - PinSet: the files (by CID) this peer pinned, each with the reasons it
//     holds them for ("user", "job:ID", a checkpoint epoch...). A CID stays
//     pinned while any reason remains. The pinning peer is responsible for
//     its pins: it keeps leases on the pinned files' blocks fresh wherever
//     those blocks live.
//   - Leases: for blocks held here, the time until which some pinner said
//     the block is referenced. A block with a lease in the future is never
//     collected; a pin whose pinner stops refreshing (unpinned, or the
//     pinner left the DVM for good) lapses when its leases expire.

// ParseID reads a block ID or CID written as 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("storage: %q is not a block id (64 hex digits)", s)
	}
	copy(id[:], b)
	return id, nil
}

// ErrNotPinned is returned when removing a pin that does not exist.
var ErrNotPinned = errors.New("storage: not pinned")

// Pin is one pinned file and why.
type Pin struct {
	CID     string   `json:"cid"`
	Reasons []string `json:"reasons"`
}

// PinSet is the pins of one peer, persisted in one file.
type PinSet struct {
	path string
	mu   sync.Mutex
	pins map[ID]map[string]bool
}

// OpenPins loads (or starts) the pin set stored at path.
func OpenPins(path string) (*PinSet, error) {
	s := &PinSet{path: path, pins: map[ID]map[string]bool{}}
	var list []Pin
	if err := readJSON(path, &list); err != nil {
		return nil, fmt.Errorf("storage: pins: %w", err)
	}
	for _, p := range list {
		id, err := ParseID(p.CID)
		if err != nil {
			return nil, fmt.Errorf("storage: pins %s: %w", path, err)
		}
		s.pins[id] = map[string]bool{}
		for _, r := range p.Reasons {
			s.pins[id][r] = true
		}
	}
	return s, nil
}

// Add pins cid for reason; pinning twice for one reason is a no-op.
func (s *PinSet) Add(cid ID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pins[cid][reason] {
		return nil
	}
	if s.pins[cid] == nil {
		s.pins[cid] = map[string]bool{}
	}
	s.pins[cid][reason] = true
	return s.saveLocked()
}

// Remove drops reason's pin on cid, or every pin on cid if reason is
// empty. It returns ErrNotPinned if there was none.
func (s *PinSet) Remove(cid ID, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.pins[cid]
	switch {
	case len(rs) == 0 || reason != "" && !rs[reason]:
		return fmt.Errorf("%w: %s (reason %q)", ErrNotPinned, cid, reason)
	case reason == "":
		delete(s.pins, cid)
	default:
		delete(rs, reason)
		if len(rs) == 0 {
			delete(s.pins, cid)
		}
	}
	return s.saveLocked()
}

// DropReasons removes every pin whose reason starts with prefix: pins
// that cannot outlive this peer's process (a job's program).
func (s *PinSet) DropReasons(prefix string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for id, rs := range s.pins {
		for r := range rs {
			if strings.HasPrefix(r, prefix) {
				delete(rs, r)
				changed = true
			}
		}
		if len(rs) == 0 {
			delete(s.pins, id)
		}
	}
	if !changed {
		return nil
	}
	return s.saveLocked()
}

// Has reports whether cid is pinned for any reason.
func (s *PinSet) Has(cid ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pins[cid]) > 0
}

// IDs lists the pinned CIDs.
func (s *PinSet) IDs() []ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ID, 0, len(s.pins))
	for id := range s.pins {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// List returns every pin, by CID.
func (s *PinSet) List() []Pin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *PinSet) listLocked() []Pin {
	out := make([]Pin, 0, len(s.pins))
	for id, rs := range s.pins {
		p := Pin{CID: id.String()}
		for r := range rs {
			p.Reasons = append(p.Reasons, r)
		}
		sort.Strings(p.Reasons)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CID < out[j].CID })
	return out
}

func (s *PinSet) saveLocked() error {
	if err := writeJSON(s.path, s.listLocked()); err != nil {
		return fmt.Errorf("storage: saving pins: %w", err)
	}
	return nil
}

// Leases records, for blocks held here, until when they are referenced.
type Leases struct {
	path  string
	mu    sync.Mutex
	until map[ID]time.Time
}

// OpenLeases loads (or starts) the lease table stored at path.
func OpenLeases(path string) (*Leases, error) {
	l := &Leases{path: path, until: map[ID]time.Time{}}
	var m map[string]time.Time
	if err := readJSON(path, &m); err != nil {
		return nil, fmt.Errorf("storage: leases: %w", err)
	}
	for k, t := range m {
		id, err := ParseID(k)
		if err != nil {
			return nil, fmt.Errorf("storage: leases %s: %w", path, err)
		}
		l.until[id] = t
	}
	return l, nil
}

// Extend makes each block's lease last at least until t and persists the
// table once for the whole batch. Leases on expired entries are pruned on
// the way, so the table never outgrows the blocks it protects.
func (l *Leases) Extend(ids []ID, t time.Time, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, u := range l.until {
		if !u.After(now) {
			delete(l.until, id)
		}
	}
	for _, id := range ids {
		if t.After(l.until[id]) {
			l.until[id] = t
		}
	}
	m := make(map[string]time.Time, len(l.until))
	for id, u := range l.until {
		m[id.String()] = u
	}
	if err := writeJSON(l.path, m); err != nil {
		return fmt.Errorf("storage: saving leases: %w", err)
	}
	return nil
}

// Until is the end of a block's lease; the zero time if it has none.
func (l *Leases) Until(id ID) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until[id]
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Dir(path), path, b, 0o600)
}
