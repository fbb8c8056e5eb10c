package mpishim

import (
	"fmt"
	"unsafe"
)

// Elem is an element type that travels as its in-memory bytes.
type Elem interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64
}

func sizeOf[T Elem]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// AsBytes views s as bytes without copying; writes through either slice
// show in the other.
func AsBytes[T Elem](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*sizeOf[T]())
}

// fromBytes views received bytes as []T. The runtime hands over freshly
// allocated buffers, which Go aligns for any element type, so the view
// normally costs nothing; a misaligned buffer is copied rather than
// trusted.
func fromBytes[T Elem](b []byte) ([]T, error) {
	sz := sizeOf[T]()
	if len(b)%sz != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte elements", ErrCount, len(b), sz)
	}
	if len(b) == 0 {
		return nil, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(*new(T)) != 0 {
		s := make([]T, len(b)/sz)
		copy(AsBytes(s), b)
		return s, nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/sz), nil
}

// ElemCount is the number of T elements in the message st describes
// (MPI_Get_count).
func ElemCount[T Elem](st Status) int { return st.Count / sizeOf[T]() }

// SendT sends a slice of elements.
func SendT[T Elem](c *Comm, buf []T, dst, tag int) error { return c.Send(AsBytes(buf), dst, tag) }

// RecvT receives into a slice of elements.
func RecvT[T Elem](c *Comm, buf []T, src, tag int) (Status, error) {
	return c.Recv(AsBytes(buf), src, tag)
}

// IsendT starts a send of a slice of elements.
func IsendT[T Elem](c *Comm, buf []T, dst, tag int) *Request { return c.Isend(AsBytes(buf), dst, tag) }

// IrecvT posts a receive into a slice of elements.
func IrecvT[T Elem](c *Comm, buf []T, src, tag int) *Request {
	return c.Irecv(AsBytes(buf), src, tag)
}

// SendrecvT is Sendrecv on slices of elements.
func SendrecvT[T Elem](c *Comm, sbuf []T, dst, stag int, rbuf []T, src, rtag int) (Status, error) {
	return c.Sendrecv(AsBytes(sbuf), dst, stag, AsBytes(rbuf), src, rtag)
}

// BcastT broadcasts root's buf into every rank's buf.
func BcastT[T Elem](c *Comm, buf []T, root int) error { return c.Bcast(AsBytes(buf), root) }

// GatherT is Gather on slices of elements.
func GatherT[T Elem](c *Comm, send, recv []T, root int) error {
	return c.Gather(AsBytes(send), AsBytes(recv), root)
}

// ScatterT is Scatter on slices of elements.
func ScatterT[T Elem](c *Comm, send, recv []T, root int) error {
	return c.Scatter(AsBytes(send), AsBytes(recv), root)
}

// AllgatherT is Allgather on slices of elements.
func AllgatherT[T Elem](c *Comm, send, recv []T) error {
	return c.Allgather(AsBytes(send), AsBytes(recv))
}

// AlltoallT is Alltoall on slices of elements.
func AlltoallT[T Elem](c *Comm, send, recv []T) error {
	return c.Alltoall(AsBytes(send), AsBytes(recv))
}
