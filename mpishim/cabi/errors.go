package main

/*
#include "cabi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/mpishim/dtype"
	"github.com/p2pdvm/p2pdvm/peal"
)

// mpiError is an error with its MPI error class.
type mpiError struct {
	class int
	msg   string
}

func (e *mpiError) Error() string { return e.msg }

func errf(class int, format string, args ...any) error {
	return &mpiError{class: class, msg: fmt.Sprintf(format, args...)}
}

// classOf finds the MPI error class of err.
func classOf(err error) int {
	var me *mpiError
	switch {
	case errors.As(err, &me):
		return me.class
	case errors.Is(err, mpishim.ErrInter):
		return C.MPI_ERR_COMM
	case errors.Is(err, mpishim.ErrRank):
		return C.MPI_ERR_RANK
	case errors.Is(err, mpishim.ErrTag):
		return C.MPI_ERR_TAG
	case errors.Is(err, mpishim.ErrTruncate):
		return C.MPI_ERR_TRUNCATE
	case errors.Is(err, mpishim.ErrCount):
		return C.MPI_ERR_COUNT
	case errors.Is(err, mpishim.ErrOp), errors.Is(err, dtype.ErrOp):
		return C.MPI_ERR_OP
	case errors.Is(err, mpishim.ErrType), errors.Is(err, dtype.ErrUnsupported):
		return C.MPI_ERR_TYPE
	case errors.Is(err, dtype.ErrArg):
		return C.MPI_ERR_ARG
	case errors.Is(err, peal.ErrClosed):
		return C.MPI_ERR_OTHER
	}
	return C.MPI_ERR_OTHER
}

var classNames = map[int]string{
	C.MPI_SUCCESS:                   "no error",
	C.MPI_ERR_BUFFER:                "invalid buffer pointer",
	C.MPI_ERR_COUNT:                 "invalid count argument",
	C.MPI_ERR_TYPE:                  "invalid datatype",
	C.MPI_ERR_TAG:                   "invalid tag argument",
	C.MPI_ERR_COMM:                  "invalid communicator",
	C.MPI_ERR_RANK:                  "invalid rank",
	C.MPI_ERR_REQUEST:               "invalid request handle",
	C.MPI_ERR_ROOT:                  "invalid root",
	C.MPI_ERR_GROUP:                 "invalid group",
	C.MPI_ERR_OP:                    "invalid reduction operation",
	C.MPI_ERR_TOPOLOGY:              "invalid topology",
	C.MPI_ERR_DIMS:                  "invalid dimension argument",
	C.MPI_ERR_ARG:                   "invalid argument",
	C.MPI_ERR_UNKNOWN:               "unknown error",
	C.MPI_ERR_TRUNCATE:              "message truncated on receive",
	C.MPI_ERR_OTHER:                 "other error",
	C.MPI_ERR_INTERN:                "internal error",
	C.MPI_ERR_IN_STATUS:             "error code is in the status",
	C.MPI_ERR_PENDING:               "pending request",
	C.MPI_ERR_KEYVAL:                "invalid attribute key",
	C.MPI_ERR_NO_MEM:                "out of memory",
	C.MPI_ERR_UNSUPPORTED_OPERATION: "unsupported operation",
	C.MPI_ERR_INFO:                  "invalid info object",
	C.MPI_ERR_INFO_KEY:              "invalid info key",
	C.MPI_ERR_INFO_VALUE:            "invalid info value",
	C.MPI_ERR_INFO_NOKEY:            "no such info key",
	C.MPI_ERR_WIN:                   "invalid window",
	C.MPI_ERR_SIZE:                  "invalid window size",
	C.MPI_ERR_DISP:                  "invalid displacement unit",
	C.MPI_ERR_BASE:                  "invalid base address",
}

// Error codes are the class in the low 6 bits and, above them, the slot
// of a ring that keeps the full message of recent errors, so that
// MPI_Error_string can say what went wrong and not just its class.
const (
	classBits = 6
	ringSize  = 256
)

var ring struct {
	next int
	msgs [ringSize]struct {
		code int
		msg  string
	}
}

func newCode(class int, msg string) int {
	ring.next++
	slot := ring.next
	code := class | slot<<classBits
	if code > C.MPI_ERR_LASTCODE {
		ring.next, slot = 1, 1
		code = class | slot<<classBits
	}
	e := &ring.msgs[slot%ringSize]
	e.code, e.msg = code, msg
	return code
}

func codeString(code int) string {
	if isAdded(code) {
		return added.strings[code] // "" until MPI_Add_error_string, as MPI says
	}
	if code>>classBits != 0 {
		if e := ring.msgs[(code>>classBits)%ringSize]; e.code == code {
			return e.msg
		}
	}
	if s, ok := classNames[code&(1<<classBits-1)]; ok {
		return s
	}
	return fmt.Sprintf("unknown error code %d", code)
}

// ret finishes an MPI call: nil becomes MPI_SUCCESS; an error goes to the
// error handler of comm (or of MPI_COMM_WORLD when the call has none or
// comm is not valid), which aborts the job, returns the code, or calls
// the user's handler first.
func ret(comm C.MPI_Comm, fn string, err error) C.int {
	if err == nil {
		return C.MPI_SUCCESS
	}
	class := classOf(err)
	msg := fmt.Sprintf("%s: %v", fn, err)
	code := newCode(class, msg)
	invoke(comm, C.int(code), msg)
	return C.int(code)
}

// invoke runs the error handler of comm (or of MPI_COMM_WORLD when comm is
// not valid) for code: abort the job, return, or call the user's handler.
func invoke(comm C.MPI_Comm, code C.int, msg string) {
	co := state.comms.get(int32(comm))
	if co == nil {
		comm, co = C.MPI_COMM_WORLD, state.comms.get(int32(C.MPI_COMM_WORLD))
	}
	switch eh := errhOf(co); eh {
	case C.MPI_ERRORS_RETURN:
	case C.MPI_ERRORS_ARE_FATAL:
		fatal(msg, int(code)&(1<<classBits-1))
	default:
		if e := state.errhs.get(eh); e != nil && e.fn != nil {
			C.pdvm_call_errhandler((*C.MPI_Comm_errhandler_function)(e.fn), comm, code)
		}
	}
}

// errhOf is the error handler in force on co. MPI_COMM_SELF, and what is
// derived from it, follows MPI_COMM_WORLD's handler until one is set on it,
// as in MPICH: programs that set MPI_ERRORS_RETURN on the world expect
// their errors on MPI_COMM_SELF returned too.
func errhOf(co *commObj) int32 {
	if co != nil && co.errh != 0 {
		return co.errh
	}
	if w := state.comms.get(int32(C.MPI_COMM_WORLD)); w != nil && w != co {
		return errhOf(w)
	}
	return C.MPI_ERRORS_ARE_FATAL
}

// fatal ends the whole job, as MPI_ERRORS_ARE_FATAL asks, after saying
// which call failed on which rank and why.
func fatal(msg string, class int) {
	rank := -1
	if state.world != nil {
		rank = state.world.Rank()
	}
	text := fmt.Sprintf("MPI error on rank %d: %s (%s)", rank, msg, classNames[class])
	fmt.Fprintln(os.Stderr, text)
	if state.world != nil && state.initialized && !state.finalized {
		state.world.AbortMsg(1, text)
	}
	os.Exit(1)
}

//export MPI_Error_class
func MPI_Error_class(code C.int, class *C.int) C.int {
	if code < 0 || (code > C.MPI_ERR_LASTCODE && !isAdded(int(code))) {
		return ret(0, "MPI_Error_class", errf(C.MPI_ERR_ARG, "%d is not an error code", code))
	}
	*class = code & (1<<classBits - 1)
	return C.MPI_SUCCESS
}

//export MPI_Error_string
func MPI_Error_string(code C.int, str *C.char, resultlen *C.int) C.int {
	s := codeString(int(code))
	*resultlen = C.int(putString(str, s, C.MPI_MAX_ERROR_STRING))
	return C.MPI_SUCCESS
}

// putString copies s into a C buffer of size bytes, NUL-terminated, and
// returns the length written without the NUL.
func putString(dst *C.char, s string, size int) int {
	if len(s) > size-1 {
		s = s[:size-1]
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(dst)), size)
	n := copy(b, s)
	b[n] = 0
	return n
}
