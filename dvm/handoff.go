package dvm

import (
	"github.com/libp2p/go-libp2p/core/peer"
)

// Pure decisions about where location objects belong; locmove.go does
// the asking and copying.

// planHandoff says which of the objects held by self belong elsewhere:
// for each, the closest of live and self to its key, grouped by that
// peer. A leaving peer passes leaving, and everything goes to the closest
// other live peer. Objects without a ticket stay: the receiver could not
// check them, and their host registers them with the new owner itself.
// Each move goes strictly closer to the key, so objects never bounce
// between two peers whose views differ.
func planHandoff(self peer.ID, live []peer.ID, held []Location, leaving bool) map[peer.ID][]Location {
	cands := make([]peer.ID, 0, len(live)+1)
	for _, q := range live {
		if q != self {
			cands = append(cands, q)
		}
	}
	if !leaving {
		cands = append(cands, self)
	}
	if len(cands) == 0 {
		return nil
	}
	out := map[peer.ID][]Location{}
	for _, l := range held {
		if l.Ticket == nil {
			continue
		}
		to := closest(RankKey(l.Job, l.Rank), cands)
		if to != self {
			out[to] = append(out[to], l)
		}
	}
	return out
}

// needsRegister says whether a host should register a rank with owner:
// it has a ticket, and the rank is not registered with owner already or
// that registration's owner is gone.
func needsRegister(hasTicket bool, regAt, owner peer.ID, regAtLive bool) bool {
	return hasTicket && (regAt != owner || !regAtLive)
}
