package peal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"time"
)

// GenerateJobCredentials makes the key pair a job's ranks share for their
// direct connections: an Ed25519 key and a self-signed certificate. Ranks
// accept exactly this certificate from each other, so only members of the
// job (who got it from their host peer over the encrypted control plane)
// can open a direct connection, and its traffic is encrypted.
func GenerateJobCredentials(job string) (certDER, keyDER []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		DNSNames:     []string{"p2pdvm-job-" + job},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	certDER, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err = x509.MarshalPKCS8PrivateKey(priv)
	return certDER, keyDER, err
}

var errNotJobCert = errors.New("peal: peer did not present the job's certificate")

// jobTLS builds a TLS config that presents the job certificate and accepts
// only the same certificate from the other side (certificate pinning; no
// CA is involved).
func jobTLS(certDER, keyDER []byte) (*tls.Config, error) {
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, err
	}
	pin := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 || !bytes.Equal(raw[0], certDER) {
			return errNotJobCert
		}
		return nil
	}
	return &tls.Config{
		Certificates:          []tls.Certificate{{Certificate: [][]byte{certDER}, PrivateKey: key}},
		ClientAuth:            tls.RequireAnyClientCert,
		InsecureSkipVerify:    true, // replaced by the pin below
		VerifyPeerCertificate: pin,
		MinVersion:            tls.VersionTLS13,
		// No session tickets: ranks never resume sessions, and bytes left
		// unread when a socket closes make Linux reset it, which can drop
		// what the closing side had not yet sent.
		SessionTicketsDisabled: true,
	}, nil
}
