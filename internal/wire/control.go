package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Welcome answers a process's Hello with its identity in the job and the
// credentials its direct connections to other ranks use.
type Welcome struct {
	Job      string `json:"job"`
	Rank     int    `json:"rank"`
	Size     int    `json:"size"`
	Cert     []byte `json:"cert,omitempty"`      // the job's certificate (DER), shared by its ranks
	Key      []byte `json:"key,omitempty"`       // its private key (PKCS#8)
	ListenFD int    `json:"listen_fd,omitempty"` // inherited listening socket, 0 if none
	// Restore names a checkpoint file in the process's working directory
	// when the rank restarts from epoch Epoch; empty on a first start.
	Restore string `json:"restore,omitempty"`
	Epoch   int    `json:"epoch,omitempty"`
	// Dir is the process's working directory, where it writes checkpoint
	// files for the host to store (the program may chdir elsewhere).
	Dir string `json:"dir,omitempty"`
}

// Ckpt asks a process to take part in checkpoint Epoch. Phase "prepare"
// asks for its safe-point count (the reply is a CkptCount); phase "at"
// names the safe point At where every rank cuts; phase "abort" drops the
// epoch.
type Ckpt struct {
	Epoch int    `json:"epoch"`
	Phase string `json:"phase"`
	At    uint64 `json:"at,omitempty"`
}

// CkptCount is how many safe points a process had passed when it learnt
// of checkpoint Epoch.
type CkptCount struct {
	Epoch int    `json:"epoch"`
	Count uint64 `json:"count"`
}

// CkptSaved tells the host that a process wrote its state for Epoch to
// File (relative to its working directory), or why it could not (Err).
type CkptSaved struct {
	Epoch int    `json:"epoch"`
	File  string `json:"file,omitempty"`
	Err   string `json:"err,omitempty"`
}

// CkptStored tells the submitter that a rank's state for Epoch is in the
// block store under CID: Bytes of state, Stored after compression, New
// of those not shared with the rank's previous epoch.
type CkptStored struct {
	Epoch  int    `json:"epoch"`
	CID    string `json:"cid,omitempty"`
	Bytes  int64  `json:"bytes"`
	Stored int64  `json:"stored"`
	New    int64  `json:"new"`
	Err    string `json:"err,omitempty"`
}

// Locate tells a process where a destination rank accepts direct
// connections, once routing by key has found it.
type Locate struct {
	Dst   int      `json:"dst"`
	Addrs []string `json:"addrs"` // host:port
}

// DirectHello opens a direct rank-to-rank connection (inside TLS).
type DirectHello struct {
	Job string `json:"job"`
	Src int    `json:"src"`
}

// Abort is sent by a process that wants the whole job ended (MPI_Abort).
type Abort struct {
	Code int    `json:"code"`
	Msg  string `json:"msg,omitempty"`
}

// Exit closes a rank's output stream with how the process ended.
type Exit struct {
	Code   int    `json:"code"`             // exit status; 128+signal when killed
	Signal string `json:"signal,omitempty"` // set when a signal ended it
	Err    string `json:"err,omitempty"`    // set when it could not start at all
	// Messages the rank sent through its host, by path (routed by key, or
	// by a Floc shortcut); those on direct rank connections are not seen.
	Routed   uint64 `json:"routed,omitempty"`
	Shortcut uint64 `json:"shortcut,omitempty"`
}

// Request is the envelope of one peer-to-peer RPC.
type Request struct {
	Method string          `json:"m"`
	Body   json.RawMessage `json:"b,omitempty"`
}

// Reply is the envelope of an RPC answer. Code is empty on success.
type Reply struct {
	Code Code            `json:"c,omitempty"`
	Msg  string          `json:"e,omitempty"`
	Body json.RawMessage `json:"b,omitempty"`
}

// Code is an error class that crosses the wire; see CodeOf and Err.
type Code string

// Error codes. Peers compare codes, never error strings.
const (
	CodeNotFound    Code = "not_found"
	CodeDenied      Code = "denied"
	CodeBadRequest  Code = "bad_request"
	CodeUnavailable Code = "unavailable"
	CodeInternal    Code = "internal"
	CodeGone        Code = "gone"
)

// Sentinels that codes map to.
var (
	ErrNotFound    = errors.New("not found")
	ErrDenied      = errors.New("permission denied")
	ErrBadRequest  = errors.New("bad request")
	ErrUnavailable = errors.New("unavailable")
	ErrInternal    = errors.New("internal error")
	// ErrGone means the thing existed and has ended (a finished job).
	ErrGone = errors.New("gone")
)

var codeErr = map[Code]error{
	CodeNotFound:    ErrNotFound,
	CodeDenied:      ErrDenied,
	CodeBadRequest:  ErrBadRequest,
	CodeUnavailable: ErrUnavailable,
	CodeInternal:    ErrInternal,
	CodeGone:        ErrGone,
}

// CodeOf classifies err for the wire.
func CodeOf(err error) Code {
	for c, s := range codeErr {
		if errors.Is(err, s) {
			return c
		}
	}
	if errors.Is(err, ErrMalformed) {
		return CodeBadRequest
	}
	return CodeInternal
}

// Err turns a reply back into an error that wraps the code's sentinel, or
// nil on success.
func (r *Reply) Err() error {
	if r.Code == "" {
		return nil
	}
	s, ok := codeErr[r.Code]
	if !ok {
		s = ErrInternal
	}
	return fmt.Errorf("%w: %s", s, r.Msg)
}

// DecodeJSON decodes a JSON body into v, marking failures as malformed.
func DecodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
