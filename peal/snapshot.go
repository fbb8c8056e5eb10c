package peal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// snapshot is one rank's part of a checkpoint: where it cut, the
// sequence numbers of its pairs, the messages received but not yet
// matched, and the program's registered state.
type snapshot struct {
	Epoch      int
	At         uint64 // the safe point of the cut
	Rank, Size int
	Send       []uint64 // per destination: the last sequence number used
	Next       []uint64 // per source: the next sequence number expected
	Queue      []Message
	State      []namedState
}

type namedState struct {
	name string
	data []byte
}

// snapMagic starts every snapshot; its last byte is the format version.
const snapMagic = "p2pdvm-ckpt\x01"

// maxSnapRanks bounds what a decoder allocates per rank before reading.
const maxSnapRanks = 1 << 16

func (s *snapshot) encode() []byte {
	n := len(snapMagic) + 16*len(s.Send) + 64
	for _, m := range s.Queue {
		n += len(m.Data) + 24
	}
	for _, st := range s.State {
		n += len(st.name) + len(st.data) + 16
	}
	b := append(make([]byte, 0, n), snapMagic...)
	for _, v := range []uint64{uint64(s.Epoch), s.At, uint64(s.Rank), uint64(s.Size)} {
		b = binary.AppendUvarint(b, v)
	}
	for i := range s.Size {
		b = binary.AppendUvarint(b, s.Send[i])
		b = binary.AppendUvarint(b, s.Next[i])
	}
	b = binary.AppendUvarint(b, uint64(len(s.Queue)))
	for _, m := range s.Queue {
		b = binary.AppendUvarint(b, uint64(m.Src))
		b = binary.AppendUvarint(b, uint64(m.Ctx))
		b = binary.AppendUvarint(b, uint64(uint32(m.Tag)))
		b = binary.AppendUvarint(b, uint64(len(m.Data)))
		b = append(b, m.Data...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.State)))
	for _, st := range s.State {
		b = binary.AppendUvarint(b, uint64(len(st.name)))
		b = append(b, st.name...)
		b = binary.AppendUvarint(b, uint64(len(st.data)))
		b = append(b, st.data...)
	}
	return b
}

var errSnapshot = errors.New("malformed checkpoint")

// snapReader reads varints and byte strings, remembering the first error.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > limit {
		r.err = fmt.Errorf("%w: bad number at %d bytes from the end", errSnapshot, len(r.b))
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) bytes() []byte {
	n := r.uvarint(1<<63 - 1)
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: %d bytes announced, %d left", errSnapshot, n, len(r.b))
	}
	if r.err != nil {
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func decodeSnapshot(b []byte) (*snapshot, error) {
	if len(b) < len(snapMagic) || string(b[:len(snapMagic)]) != snapMagic {
		return nil, fmt.Errorf("%w: not a p2pdvm checkpoint of this version", errSnapshot)
	}
	r := &snapReader{b: b[len(snapMagic):]}
	s := &snapshot{}
	s.Epoch = int(r.uvarint(1 << 31))
	s.At = r.uvarint(1<<63 - 1)
	s.Rank = int(r.uvarint(maxSnapRanks))
	s.Size = int(r.uvarint(maxSnapRanks))
	if r.err == nil && (s.Size == 0 || s.Rank >= s.Size || s.At == 0 || s.Epoch == 0) {
		r.err = fmt.Errorf("%w: rank %d of %d, epoch %d, safe point %d", errSnapshot, s.Rank, s.Size, s.Epoch, s.At)
	}
	if r.err != nil {
		return nil, r.err
	}
	if uint64(len(r.b)) < 2*uint64(s.Size) {
		return nil, fmt.Errorf("%w: truncated sequence numbers", errSnapshot)
	}
	s.Send, s.Next = make([]uint64, s.Size), make([]uint64, s.Size)
	for i := range s.Size {
		s.Send[i] = r.uvarint(1<<64 - 1)
		s.Next[i] = r.uvarint(1<<64 - 1)
	}
	nq := r.uvarint(uint64(len(r.b)) / 5)
	for range nq {
		m := Message{Src: int(r.uvarint(uint64(s.Size - 1))), Ctx: uint32(r.uvarint(1<<32 - 1)), Tag: int32(uint32(r.uvarint(1<<32 - 1)))}
		m.Data = r.bytes()
		s.Queue = append(s.Queue, m)
	}
	ns := r.uvarint(uint64(len(r.b)) / 2)
	for range ns {
		name := r.bytes()
		s.State = append(s.State, namedState{string(name), r.bytes()})
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", errSnapshot, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}
