package dtype

import (
	"errors"
	"fmt"
)

var (
	// ErrArg marks an invalid constructor or Reduce argument.
	ErrArg = errors.New("dtype: invalid argument")
	// ErrOp marks an operation MPI does not define on a kind.
	ErrOp = errors.New("dtype: operation not defined on this kind")
	// ErrUnsupported marks long double arithmetic, which the caller has to
	// do in C because Go has no 80-bit floating point.
	ErrUnsupported = errors.New("dtype: long double arithmetic is not supported")
)

// dtError carries a precise message while still matching its sentinel with
// errors.Is, so callers map it to an MPI error class without parsing text.
type dtError struct {
	sentinel error
	msg      string
}

func (e *dtError) Error() string { return "dtype: " + e.msg }
func (e *dtError) Unwrap() error { return e.sentinel }

func errorf(sentinel error, format string, args ...any) error {
	return &dtError{sentinel, fmt.Sprintf(format, args...)}
}
