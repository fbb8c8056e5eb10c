package storage

import "time"

// GCPolicy is what decides whether a block held here may be freed.
type GCPolicy struct {
	Now time.Time
	// Grace protects blocks written (or put again) less than Grace ago:
	// a put in progress has stored chunks whose manifest is not written
	// or pinned yet.
	Grace time.Duration
	// Leased returns the end of a block's lease (zero if none).
	Leased func(ID) time.Time
	// Pinned reports whether a block is a CID this peer pins itself.
	Pinned func(ID) bool
}

// GCReason says why a block is kept or freed.
type GCReason string

const (
	GCFree   GCReason = "free"   // nothing references it
	GCLeased GCReason = "leased" // a pinned file references it
	GCPinned GCReason = "pinned" // it is a file this peer pins
	GCYoung  GCReason = "young"  // written within the grace period
	GCBadID  GCReason = "bad-id" // not named like a block: left alone
)

// Decide is the garbage collector's rule for one block. It is pure, so
// that the rule is tested apart from the disk.
func (p GCPolicy) Decide(b BlockInfo) GCReason {
	id, err := ParseID(b.ID)
	switch {
	case err != nil:
		return GCBadID
	case p.Pinned != nil && p.Pinned(id):
		return GCPinned
	case p.Leased != nil && p.Leased(id).After(p.Now):
		return GCLeased
	case p.Now.Sub(b.Written) < p.Grace:
		return GCYoung
	}
	return GCFree
}
