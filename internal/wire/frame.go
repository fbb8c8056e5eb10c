package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types. The numbering is part of the protocol: never reuse a value.
const (
	TypeHello      byte = 1  // process -> daemon: token
	TypeWelcome    byte = 2  // daemon -> process: JSON Welcome
	TypeSend       byte = 3  // process -> daemon: Msg (Job empty, Src ignored)
	TypeDeliver    byte = 4  // daemon -> process: Msg
	TypeAbort      byte = 5  // process -> daemon: Abort
	TypeData       byte = 6  // peer -> peer data stream: Msg
	TypeLocate     byte = 7  // daemon -> process: JSON Locate, where a destination rank listens
	TypeDataAck    byte = 15 // peer -> peer, back on a data stream: frames delivered so far (8 bytes)
	TypeDataAuth   byte = 16 // peer -> peer data stream: run id and token (DataAuth), before the run's first message
	TypeDirect     byte = 8  // process -> process: JSON DirectHello, first frame of a direct connection
	TypeCkpt       byte = 9  // daemon -> process: JSON Ckpt, a checkpoint request
	TypeCkptCount  byte = 13 // process -> daemon: JSON CkptCount (the host reports it to the coordinator by RPC)
	TypeCkptSaved  byte = 14 // process -> daemon: JSON CkptSaved
	TypeStdout     byte = 10 // host -> submitter output stream: raw bytes
	TypeStderr     byte = 11 // host -> submitter output stream: raw bytes
	TypeExit       byte = 12 // host -> submitter output stream: JSON Exit
	TypeRequest    byte = 20 // peer -> peer RPC request: Request
	TypeReply      byte = 21 // peer -> peer RPC reply: JSON body
	TypeBlockPut   byte = 30 // peer -> peer: block ID (32 bytes) then the stored block
	TypeBlockGet   byte = 31 // peer -> peer: block ID (32 bytes)
	TypeBlockData  byte = 32 // peer -> peer: a stored block, the answer to TypeBlockGet
	TypeBlockHas   byte = 33 // peer -> peer: block ID; the reply's body is the stored size
	TypeLeases     byte = 34 // peer -> peer: lease end (8 bytes, Unix ns) then block IDs; the reply's body counts those held
	TypeBlockChain byte = 35 // peer -> peer: block ID, the next holders, the stored block; store and forward (dvm/chain.go)
)

// HeaderLen is the length prefix plus the type byte.
const HeaderLen = 5

var (
	// ErrMalformed marks every decoding failure of bytes from a peer or a
	// process. Callers test it with errors.Is.
	ErrMalformed = errors.New("wire: malformed frame")
	// ErrTooLarge is returned when a frame exceeds the reader's limit.
	ErrTooLarge = errors.New("wire: frame too large")
)

// AppendFrameHeader appends the 5-byte header of a frame whose body is
// bodyLen bytes long. Writers build header and body in one buffer so a
// frame costs one write.
func AppendFrameHeader(b []byte, typ byte, bodyLen int) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(bodyLen+1))
	return append(b, typ)
}

// WriteFrame writes one frame. It is not safe for concurrent use on the same
// writer; callers that share a stream hold a lock around it.
func WriteFrame(w io.Writer, typ byte, body []byte) error {
	var hdr [HeaderLen]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(len(body)+1))
	hdr[4] = typ
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if len(body) == 0 {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// Reader reads frames with a size cap. The returned body is valid until the
// next call to Next unless the caller asked for a copy with Owned.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader returns a frame reader that refuses frames whose body exceeds max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next reads the next frame. The body aliases an internal buffer that the
// next call overwrites. io.EOF is returned only at a clean frame boundary.
func (fr *Reader) Next() (typ byte, body []byte, err error) {
	n, err := readFrameLen(fr.r, fr.max)
	if err != nil {
		return 0, nil, err
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	b := fr.buf[:n]
	if err := readFrameRest(fr.r, b); err != nil {
		return 0, nil, err
	}
	// A single huge frame should not pin its buffer for the life of the stream.
	if cap(fr.buf) > 4<<20 && n < 64<<10 {
		fr.buf = nil
	}
	return b[0], b[1:], nil
}

// ReadFrame reads one frame from r into a buffer of its own, made by
// alloc (say a pool's Get) for the body's exact length, which it returns
// as body: the caller hands it back to the pool when it is done. It reads
// nothing past the frame and buffers nothing, for streams that carry one
// large frame, where a Reader's read-ahead buffer would be one more copy
// of its first bytes. On error nothing it allocated is returned.
func ReadFrame(r io.Reader, max int, alloc func(n int) []byte) (typ byte, body []byte, err error) {
	n, err := readFrameLen(r, max)
	if err != nil {
		return 0, nil, err
	}
	var t [1]byte
	if err := readFrameRest(r, t[:]); err != nil {
		return 0, nil, err
	}
	body = alloc(int(n - 1))[:n-1]
	if err := readFrameRest(r, body); err != nil {
		return 0, nil, err
	}
	return t[0], body, nil
}

// readFrameLen reads a frame's length prefix: the type byte and body that
// follow, at least the type, and at most max bytes of body.
func readFrameLen(r io.Reader, max int) (uint32, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("%w: truncated header", ErrMalformed)
		}
		return 0, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n == 0 {
		return 0, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	if int64(n-1) > int64(max) {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n-1, max)
	}
	return n, nil
}

// readFrameRest reads the rest of a frame whose length prefix was read:
// running out is a truncated frame, not a clean end.
func readFrameRest(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated body", ErrMalformed)
		}
		return err
	}
	return nil
}

// Buffered is how many bytes have been read from the underlying reader
// and not yet returned: 0 means the reader has caught up with the sender.
func (fr *Reader) Buffered() int { return fr.r.Buffered() }

// AppendAck appends a TypeDataAck frame saying n frames were delivered.
func AppendAck(b []byte, n uint64) []byte {
	b = AppendFrameHeader(b, TypeDataAck, 8)
	return binary.LittleEndian.AppendUint64(b, n)
}

// DecodeAck decodes a TypeDataAck body.
func DecodeAck(body []byte) (uint64, error) {
	if len(body) != 8 {
		return 0, fmt.Errorf("%w: ack of %d bytes", ErrMalformed, len(body))
	}
	return binary.LittleEndian.Uint64(body), nil
}

// DataAuth is a sender's proof, once per run on a data stream, that it
// holds the run's message key: Token is an HMAC under that key over the
// run id and both ends' peer IDs (computed in dvm).
type DataAuth struct {
	Job   string
	Token [32]byte
}

// AppendDataAuth appends a as a complete TypeDataAuth frame.
func AppendDataAuth(b []byte, a DataAuth) []byte {
	b = AppendFrameHeader(b, TypeDataAuth, 1+len(a.Job)+len(a.Token))
	b = append(b, byte(len(a.Job)))
	b = append(b, a.Job...)
	return append(b, a.Token[:]...)
}

// DecodeDataAuth decodes a TypeDataAuth body.
func DecodeDataAuth(body []byte) (DataAuth, error) {
	var a DataAuth
	if len(body) < 1 {
		return a, fmt.Errorf("%w: empty data auth", ErrMalformed)
	}
	n := int(body[0])
	if n == 0 || n > MaxJobIDLen || len(body) != 1+n+len(a.Token) {
		return a, fmt.Errorf("%w: data auth of %d bytes, job id %d", ErrMalformed, len(body), n)
	}
	a.Job = string(body[1 : 1+n])
	copy(a.Token[:], body[1+n:])
	return a, nil
}

// Rest returns a reader of the bytes after the last frame, for protocols
// that switch from frames to a raw byte stream.
func (fr *Reader) Rest() io.Reader { return fr.r }
