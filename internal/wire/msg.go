package wire

import (
	"encoding/binary"
	"fmt"
)

// Message flags.
const (
	// FlagMore marks a fragment of a larger message: the receiver
	// concatenates payloads from the same source until a fragment without
	// it. Per-pair FIFO makes the fragments contiguous.
	FlagMore uint8 = 1 << 0
	// FlagMarker marks a checkpoint marker (Tag holds the epoch). It is
	// numbered like a message, so it reaches the receiver after everything
	// the sender sent before its cut and before anything it sent after.
	FlagMarker uint8 = 1 << 1
)

// MaxJobIDLen bounds the job id carried in every data frame.
const MaxJobIDLen = 64

// Msg is one rank-to-rank message (or fragment) with its routing header.
// On the local socket Job is empty (the connection identifies the job) and
// on TypeSend Src is ignored (the daemon knows who is sending).
type Msg struct {
	Job     string
	Src     uint32
	Dst     uint32
	Seq     uint64 // per (job, src, dst), starting at 1; 0 on the local socket
	Ctx     uint32 // communicator context
	Tag     int32
	Flags   uint8
	Payload []byte
}

// msgFixed is the size of the fixed part of the header after the job id.
const msgFixed = 4 + 4 + 8 + 4 + 4 + 1

// EncodedLen is the body length of m.
func (m *Msg) EncodedLen() int { return 1 + len(m.Job) + msgFixed + len(m.Payload) }

// AppendFrame appends m as a complete frame of type typ.
func (m *Msg) AppendFrame(b []byte, typ byte) []byte {
	b = AppendFrameHeader(b, typ, m.EncodedLen())
	return m.appendHeader(b, true)
}

// AppendHeader appends the frame header and message header but not the
// payload, so a writer can send a large payload without copying it.
func (m *Msg) AppendHeader(b []byte, typ byte) []byte {
	b = AppendFrameHeader(b, typ, m.EncodedLen())
	return m.appendHeader(b, false)
}

func (m *Msg) appendHeader(b []byte, withPayload bool) []byte {
	b = append(b, byte(len(m.Job)))
	b = append(b, m.Job...)
	b = binary.LittleEndian.AppendUint32(b, m.Src)
	b = binary.LittleEndian.AppendUint32(b, m.Dst)
	b = binary.LittleEndian.AppendUint64(b, m.Seq)
	b = binary.LittleEndian.AppendUint32(b, m.Ctx)
	b = binary.LittleEndian.AppendUint32(b, uint32(m.Tag))
	b = append(b, m.Flags)
	if withPayload {
		b = append(b, m.Payload...)
	}
	return b
}

// DecodeMsg parses a message body. Payload aliases body.
func DecodeMsg(body []byte) (Msg, error) {
	var m Msg
	if len(body) < 1 {
		return m, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	jl := int(body[0])
	if jl > MaxJobIDLen {
		return m, fmt.Errorf("%w: job id of %d bytes", ErrMalformed, jl)
	}
	if len(body) < 1+jl+msgFixed {
		return m, fmt.Errorf("%w: message header truncated", ErrMalformed)
	}
	m.Job = string(body[1 : 1+jl])
	p := body[1+jl:]
	m.Src = binary.LittleEndian.Uint32(p[0:])
	m.Dst = binary.LittleEndian.Uint32(p[4:])
	m.Seq = binary.LittleEndian.Uint64(p[8:])
	m.Ctx = binary.LittleEndian.Uint32(p[16:])
	m.Tag = int32(binary.LittleEndian.Uint32(p[20:]))
	m.Flags = p[24]
	m.Payload = p[msgFixed:]
	return m, nil
}
