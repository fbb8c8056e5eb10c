package storage

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/restic/chunker"
)

// pol is the Rabin polynomial every peer chunks with (irreducible; see
// TestPolynomialIsIrreducible). Changing it changes every CID.
const pol = chunker.Pol(0x32e5ef7325954d)

// Chunk sizes: restic's bounds, 512 KiB to 8 MiB, 1 MiB on average.
const (
	MinChunk = chunker.MinSize
	MaxChunk = chunker.MaxSize
)

// ID names a block: the SHA-256 of its content before compression.
type ID [sha256.Size]byte

func (id ID) String() string { return fmt.Sprintf("%x", id[:]) }

// IDOf is the ID of content.
func IDOf(content []byte) ID { return sha256.Sum256(content) }

// Split cuts r into content-defined chunks and calls each with every
// chunk in order; the slice is valid only during the call.
func Split(r io.Reader, each func(chunk []byte) error) error {
	c := chunker.New(r, pol)
	buf := make([]byte, MaxChunk)
	for {
		ch, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("storage: chunking: %w", err)
		}
		if err := each(ch.Data); err != nil {
			return err
		}
	}
}
