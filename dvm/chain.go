package dvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/storage"
)

// Chain replication of a block put, the parts apart from the network:
// the forward request's wire form and its checks, and the uploader's
// choice of holders. chainput.go sends and serves.
//
// The uploader sends a block once, to the closest of its k holders,
// with the list of the holders after it. Each holder checks the block,
// stores it and forwards it once, to the next holder on the list with
// the rest of the list, and answers with the holders from itself down
// that stored it. So every copy crosses one link, and the uploader's
// uplink carries one copy instead of k.

// maxPeerIDLen bounds one peer ID in a forward request. An Ed25519
// identity is 38 bytes and an RSA one about 300; nothing longer is a
// peer this DVM runs.
const maxPeerIDLen = 512

// maxChainNext bounds the next holders a forward request can name, and
// so BlockReplicas (Config.Validate); maxChainHeader is the room their
// list takes in a block frame.
const (
	maxChainNext   = 15
	maxChainHeader = 1 + maxChainNext*(binary.MaxVarintLen16+maxPeerIDLen)
)

// chainReq is a forward request: store block ID (whose stored form is
// Stored) and pass it on to Next, in order.
type chainReq struct {
	ID     storage.ID
	Next   []peer.ID
	Stored []byte
}

// appendChainHeader appends everything of a forward request but the
// stored block, which the sender writes after it without copying.
//
//	block ID (32) | count (1) | count × (length (1 or 2, uvarint) | peer ID) | stored block
func appendChainHeader(b []byte, id storage.ID, next []peer.ID) []byte {
	b = append(b, id[:]...)
	b = append(b, byte(len(next)))
	for _, n := range next {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	return b
}

// decodeChainReq reads a forward request. It refuses more than maxNext
// next holders and IDs that are not peer IDs; Stored aliases body.
func decodeChainReq(body []byte, maxNext int) (chainReq, error) {
	var r chainReq
	if len(body) < 33 {
		return r, fmt.Errorf("%w: forward request of %d bytes", wire.ErrBadRequest, len(body))
	}
	copy(r.ID[:], body)
	n := int(body[32])
	if n > maxNext {
		return r, fmt.Errorf("%w: forward request names %d next holders, limit %d", wire.ErrBadRequest, n, maxNext)
	}
	rest := body[33:]
	for range n {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l == 0 || l > maxPeerIDLen || uint64(len(rest)-k) < l {
			return r, fmt.Errorf("%w: forward request: bad peer ID length", wire.ErrBadRequest)
		}
		id, err := peer.IDFromBytes(rest[k : k+int(l)])
		if err != nil {
			return r, fmt.Errorf("%w: forward request: %v", wire.ErrBadRequest, err)
		}
		r.Next = append(r.Next, id)
		rest = rest[k+int(l):]
	}
	r.Stored = rest
	return r, nil
}

// checkNext refuses a list of next holders that could loop or spread the
// block beyond k copies: longer than k-1, naming the receiver itself or
// the peer that sent it, or naming a peer twice. Each hop forwards the
// list minus its head, so a request that passes reaches at most k-1
// further peers, each once.
func checkNext(self, from peer.ID, next []peer.ID, k int) error {
	if len(next) > k-1 {
		return fmt.Errorf("%w: %d next holders, at most %d", wire.ErrBadRequest, len(next), k-1)
	}
	for i, n := range next {
		switch {
		case n == self:
			return fmt.Errorf("%w: next holders name the receiver", wire.ErrBadRequest)
		case n == from:
			return fmt.Errorf("%w: next holders name the sender", wire.ErrBadRequest)
		case slices.Contains(next[:i], n):
			return fmt.Errorf("%w: next holders name %s twice", wire.ErrBadRequest, shortID(n))
		}
	}
	return nil
}

// chainResult is a holder's answer: which holders, from itself down the
// chain, stored the block, and why the others did not. Holders after a
// failed one were not reached and appear in neither list.
type chainResult struct {
	Stored []peer.ID
	Failed []chainFailure
}

type chainFailure struct {
	Peer peer.ID
	Err  error
}

// chainReply is chainResult on the wire (inside a wire.Reply body).
type chainReply struct {
	Stored []string          `json:"stored"`
	Failed []chainReplyFault `json:"failed,omitempty"`
}

type chainReplyFault struct {
	Peer string `json:"peer"`
	Err  string `json:"err"`
}

func (r chainResult) reply() chainReply {
	var out chainReply
	for _, s := range r.Stored {
		out.Stored = append(out.Stored, s.String())
	}
	for _, f := range r.Failed {
		out.Failed = append(out.Failed, chainReplyFault{Peer: f.Peer.String(), Err: f.Err.Error()})
	}
	return out
}

// result turns a downstream holder's reply into a chainResult, keeping
// only peers that were sent the block (sent) and each once: a holder
// cannot credit peers outside its chain.
func (r chainReply) result(sent []peer.ID) chainResult {
	var out chainResult
	seen := map[peer.ID]bool{}
	for _, s := range r.Stored {
		if id, err := peer.Decode(s); err == nil && slices.Contains(sent, id) && !seen[id] {
			seen[id] = true
			out.Stored = append(out.Stored, id)
		}
	}
	for _, f := range r.Failed {
		if id, err := peer.Decode(f.Peer); err == nil && slices.Contains(sent, id) && !seen[id] {
			seen[id] = true
			out.Failed = append(out.Failed, chainFailure{Peer: id, Err: errors.New(f.Err)})
		}
	}
	return out
}

// chainPlan is the uploader's view of one block put: the candidates in
// the order they are to be tried (pickHolders'), which of them hold the
// block and which failed. Each round it picks the first untried
// candidates for the copies still missing; a holder that is down or
// refuses is replaced by the next one.
type chainPlan struct {
	cands  []peer.ID
	want   int
	held   []peer.ID
	failed map[peer.ID]error
}

func newChainPlan(cands []peer.ID, k int) *chainPlan {
	return &chainPlan{cands: cands, want: min(k, len(cands)), failed: map[peer.ID]error{}}
}

// next is the chain to send the block along, in the candidates' order,
// or nil when it is done: k holders hold it, or no untried candidate is
// left.
func (pl *chainPlan) next() []peer.ID {
	need := pl.want - len(pl.held)
	var out []peer.ID
	for _, c := range pl.cands {
		if len(out) == need {
			break
		}
		if _, bad := pl.failed[c]; !bad && !slices.Contains(pl.held, c) {
			out = append(out, c)
		}
	}
	return out
}

// record takes the answer to a chain sent to chain. The chain's head
// either stored the block or failed, so every round settles at least one
// candidate and the plan ends.
func (pl *chainPlan) record(chain []peer.ID, r chainResult) {
	for _, s := range r.Stored {
		if slices.Contains(chain, s) && !slices.Contains(pl.held, s) {
			pl.held = append(pl.held, s)
		}
	}
	for _, f := range r.Failed {
		if slices.Contains(chain, f.Peer) && !slices.Contains(pl.held, f.Peer) {
			pl.failed[f.Peer] = f.Err
		}
	}
	if head := chain[0]; !slices.Contains(pl.held, head) {
		if _, ok := pl.failed[head]; !ok {
			pl.failed[head] = errors.New("no answer about the chain's head")
		}
	}
}

// done reports whether k holders (or every candidate, in a DVM smaller
// than k) hold the block.
func (pl *chainPlan) done() bool { return len(pl.held) >= pl.want }

// err explains why the block is not on k holders.
func (pl *chainPlan) err(id storage.ID) error {
	var errs []error
	for _, c := range pl.cands {
		if err, ok := pl.failed[c]; ok {
			errs = append(errs, fmt.Errorf("%s: %w", shortID(c), err))
		}
	}
	return fmt.Errorf("dvm: block %s on %d of %d peers: %w", id, len(pl.held), pl.want, errors.Join(errs...))
}
