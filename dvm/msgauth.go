package dvm

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Messages between hosts are authenticated with a key per job that the
// submitter draws and sends, with the spawn, to the peers on the job's
// control path (owners that place its ranks, and hosts). libp2p already
// tells a receiver which peer sent a stream; the key says that this peer
// belongs to the job. Without it any peer of the DVM could write into a
// running rank's message stream.
//
//   - A routed message carries an HMAC of its encoded body: owners
//     forward it untouched and need no key, and the destination's host
//     checks it, so a forwarding owner can neither forge nor alter it.
//   - A data stream (Floc shortcut) carries one token per run, before the
//     run's first message: an HMAC over the run id and both ends' peer
//     IDs, so it proves the key once and cannot be replayed by another
//     peer or towards another host. After it, the stream's own
//     authentication covers every message.

const msgKeyLen = 32

// msgMAC is the tag a routed message's body carries.
func msgMAC(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("p2pdvm/msg/v1\x00"))
	h.Write(body)
	return h.Sum(nil)
}

// streamToken is what a sender shows, once per run, on its data stream to
// a host.
func streamToken(key []byte, run string, from, to peer.ID) [32]byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("p2pdvm/stream/v1\x00"))
	h.Write([]byte(run))
	h.Write([]byte{0})
	h.Write([]byte(from))
	h.Write([]byte{0})
	h.Write([]byte(to))
	var t [32]byte
	h.Sum(t[:0])
	return t
}

// msgKeyTTL is how long a host keeps a job's key after its last rank here
// ended: messages that rank sent may still sit in a routing queue or on a
// broken stream, to be routed again, and they need the key to go out.
const msgKeyTTL = 10 * time.Minute

// msgKeys holds the message keys of the runs hosted here.
type msgKeys struct {
	mu  sync.RWMutex
	m   map[string][]byte
	exp map[string]time.Time // runs with no rank left here: when to forget
}

func newMsgKeys() *msgKeys {
	return &msgKeys{m: map[string][]byte{}, exp: map[string]time.Time{}}
}

func (k *msgKeys) set(run string, key []byte) {
	k.mu.Lock()
	k.m[run] = key
	delete(k.exp, run)
	k.mu.Unlock()
}

func (k *msgKeys) get(run string) []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.m[run]
}

// release starts the key's TTL: the last rank of run here ended.
func (k *msgKeys) release(run string, now time.Time) {
	k.mu.Lock()
	if _, ok := k.m[run]; ok {
		k.exp[run] = now.Add(msgKeyTTL)
	}
	k.mu.Unlock()
}

// sweep forgets the keys whose TTL has passed.
func (k *msgKeys) sweep(now time.Time) {
	k.mu.Lock()
	for run, t := range k.exp {
		if now.After(t) {
			delete(k.m, run)
			delete(k.exp, run)
		}
	}
	k.mu.Unlock()
}
