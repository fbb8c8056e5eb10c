package dvm

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Statements a peer signs with its identity key (job records, placement
// tickets, checkpoint grants) carry the public key too, since not every
// key type can be recovered from a peer ID; a verifier checks that the
// key is the claimed signer's and that it signed.

// selfKey is this peer's private key and its public key, marshalled.
func (p *Peer) selfKey() (crypto.PrivKey, []byte, error) {
	key := p.h.Peerstore().PrivKey(p.h.ID())
	if key == nil {
		return nil, nil, errors.New("dvm: no private key for this peer")
	}
	pub, err := crypto.MarshalPublicKey(key.GetPublic())
	if err != nil {
		return nil, nil, err
	}
	return key, pub, nil
}

// checkSigned reports whether key is signer's and signed msg with sig;
// what names the statement in the error.
func checkSigned(signer peer.ID, key, msg, sig []byte, what string) error {
	pub, err := crypto.UnmarshalPublicKey(key)
	if err != nil {
		return fmt.Errorf("%w: %s: key: %v", wire.ErrBadRequest, what, err)
	}
	if !signer.MatchesPublicKey(pub) {
		return fmt.Errorf("%w: %s is not from %s", wire.ErrDenied, what, shortID(signer))
	}
	if ok, err := pub.Verify(msg, sig); err != nil || !ok {
		return fmt.Errorf("%w: %s has a bad signature", wire.ErrDenied, what)
	}
	return nil
}
