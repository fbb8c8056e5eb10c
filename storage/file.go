package storage

import (
	"fmt"
	"io"
)

// BlockStore is where whole files put and get their blocks: the local
// Disk now, the DHT-placed store later.
type BlockStore interface {
	Put(id ID, stored []byte) error
	Get(id ID) ([]byte, error)
}

// PutFile chunks r, stores every chunk and then the manifest, and returns
// the CID. The manifest is stored last, only once every chunk is: a put
// that fails or is interrupted half-way leaves chunks without a manifest,
// never a CID that names an incomplete file. Chunks already present are
// stored again only in name: the store keeps one copy per ID.
func PutFile(s BlockStore, r io.Reader, f Filter) (ID, *Manifest, error) {
	m, err := chunkFile(r, f, func(id ID, chunk []byte) error {
		stored, err := Encode(chunk, f)
		if err == nil {
			err = s.Put(id, stored)
		}
		return err
	})
	if err != nil {
		return ID{}, nil, err
	}
	body := m.Encode()
	cid := IDOf(body)
	stored, err := Encode(body, FilterNone)
	if err == nil {
		err = s.Put(cid, stored)
	}
	if err != nil {
		return ID{}, nil, err
	}
	return cid, m, nil
}

// CIDOf is the CID that PutFile would give r's bytes, computed without
// storing anything: how a cache checks a file it holds under its CID.
func CIDOf(r io.Reader, f Filter) (ID, *Manifest, error) {
	m, err := chunkFile(r, f, func(ID, []byte) error { return nil })
	if err != nil {
		return ID{}, nil, err
	}
	return IDOf(m.Encode()), m, nil
}

// chunkFile cuts r into chunks, calls each with every chunk and its ID,
// and returns the manifest that lists them.
func chunkFile(r io.Reader, f Filter, each func(ID, []byte) error) (*Manifest, error) {
	m := &Manifest{}
	err := Split(r, func(chunk []byte) error {
		id := IDOf(chunk)
		if err := each(id, chunk); err != nil {
			return err
		}
		m.Chunks = append(m.Chunks, ChunkRef{ID: id, Size: uint32(len(chunk)), Filter: f})
		m.Size += int64(len(chunk))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.Chunks) > maxChunks {
		return nil, fmt.Errorf("storage: file of %d chunks, limit %d", len(m.Chunks), maxChunks)
	}
	return m, nil
}

// GetFile writes the file named by cid to w, every block verified.
func GetFile(s BlockStore, cid ID, w io.Writer) (*Manifest, error) {
	m, err := ReadManifest(s, cid)
	if err != nil {
		return nil, err
	}
	return m, WriteChunks(s, cid, m, w)
}

// ReadManifest fetches and decodes the manifest named by cid, so that a
// reader knows a file's size before it fetches the file.
func ReadManifest(s BlockStore, cid ID) (*Manifest, error) {
	body, err := s.Get(cid)
	if err != nil {
		return nil, err
	}
	return DecodeManifest(body)
}

// WriteChunks writes the chunks m lists to w in order, each verified and
// checked against the size the manifest gives it.
func WriteChunks(s BlockStore, cid ID, m *Manifest, w io.Writer) error {
	for i, c := range m.Chunks {
		data, err := s.Get(c.ID)
		if err != nil {
			return fmt.Errorf("storage: chunk %d of %s: %w", i, cid, err)
		}
		if len(data) != int(c.Size) {
			return fmt.Errorf("%w: chunk %d of %s is %d bytes, manifest says %d", ErrCorrupt, i, cid, len(data), c.Size)
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

var _ BlockStore = (*Disk)(nil)
