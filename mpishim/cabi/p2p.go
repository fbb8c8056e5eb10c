package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

type sendMode int

const (
	standard sendMode = iota
	synchronous
	ready    // a ready send may be sent as a standard one
	buffered // sends are eager: the runtime buffers every message
)

var sendNames = [...]string{"MPI_Send", "MPI_Ssend", "MPI_Rsend", "MPI_Bsend"}

// srcRank translates a C source rank: MPI_ANY_SOURCE to mpishim's.
func srcRank(src C.int) int {
	if src == C.MPI_ANY_SOURCE {
		return mpishim.AnySource
	}
	return int(src)
}

// startSend starts a send and returns its request (nil: complete).
func startSend(mode sendMode, p unsafe.Pointer, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm) (*mpishim.Request, error) {
	b, err := newBuf(p, count, dt)
	if err != nil {
		return nil, err
	}
	return startSendBuf(mode, b, dest, tag, comm)
}

// startSendBuf is startSend with the datatype already resolved, as a
// persistent request keeps it: the program may free the datatype after
// MPI_Send_init and still start the request.
func startSendBuf(mode sendMode, b buf, dest, tag C.int, comm C.MPI_Comm) (*mpishim.Request, error) {
	co, err := commOf(comm)
	if err != nil {
		return nil, err
	}
	if dest == C.MPI_PROC_NULL {
		return nil, nil
	}
	if mode == buffered && b.size()+C.MPI_BSEND_OVERHEAD > state.bsendSize {
		return nil, errf(C.MPI_ERR_BUFFER, "a buffered send of %d bytes needs an attached buffer of %d bytes (MPI_Buffer_attach), not %d",
			b.size(), b.size()+C.MPI_BSEND_OVERHEAD, state.bsendSize)
	}
	if mode == synchronous {
		q := co.c.Issend(b.packed(), int(dest), int(tag))
		return q, q.StartErr()
	}
	return nil, co.c.Send(b.packed(), int(dest), int(tag))
}

func send(mode sendMode, p unsafe.Pointer, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm) C.int {
	q, err := startSend(mode, p, count, dt, dest, tag, comm)
	if err == nil && q != nil {
		_, err = q.Wait()
	}
	return ret(comm, sendNames[mode], err)
}

//export MPI_Send
func MPI_Send(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm) C.int {
	return send(standard, unsafe.Pointer(p), count, dt, dest, tag, comm)
}

//export MPI_Ssend
func MPI_Ssend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm) C.int {
	return send(synchronous, unsafe.Pointer(p), count, dt, dest, tag, comm)
}

//export MPI_Rsend
func MPI_Rsend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm) C.int {
	return send(ready, unsafe.Pointer(p), count, dt, dest, tag, comm)
}

//export MPI_Bsend
func MPI_Bsend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm) C.int {
	return send(buffered, unsafe.Pointer(p), count, dt, dest, tag, comm)
}

// startRecv posts a receive and returns its request; finish moves the
// data into place once it has arrived. A receive from MPI_PROC_NULL
// returns a nil request.
func startRecv(p unsafe.Pointer, count C.int, dt C.MPI_Datatype, src, tag C.int, comm C.MPI_Comm) (*mpishim.Request, func(int), error) {
	b, err := newBuf(p, count, dt)
	if err != nil {
		return nil, nil, err
	}
	return startRecvBuf(b, src, tag, comm)
}

// startRecvBuf is startRecv with the datatype resolved (see startSendBuf).
func startRecvBuf(b buf, src, tag C.int, comm C.MPI_Comm) (*mpishim.Request, func(int), error) {
	co, err := commOf(comm)
	if err != nil {
		return nil, nil, err
	}
	if src == C.MPI_PROC_NULL {
		return nil, nil, nil
	}
	into, finish := b.landing()
	q := co.c.Irecv(into, srcRank(src), int(tag))
	return q, finish, q.StartErr()
}

//export MPI_Recv
func MPI_Recv(p unsafe.Pointer, count C.int, dt C.MPI_Datatype, src, tag C.int, comm C.MPI_Comm, status *C.MPI_Status) C.int {
	q, finish, err := startRecv(p, count, dt, src, tag, comm)
	if err != nil {
		return ret(comm, "MPI_Recv", err)
	}
	return recvDone("MPI_Recv", comm, q, finish, status)
}

// recvDone waits for a blocking receive started by startRecv (q nil: from
// MPI_PROC_NULL), moves the data into place and fills the status.
func recvDone(fn string, comm C.MPI_Comm, q *mpishim.Request, finish func(int), status *C.MPI_Status) C.int {
	if q == nil {
		setStatus(status, procNullStatus, 0)
		return C.MPI_SUCCESS
	}
	st, err := q.Wait()
	finish(st.Count)
	rc := ret(comm, fn, err)
	setStatus(status, st, rc)
	return rc
}

var procNullStatus = mpishim.Status{Source: C.MPI_PROC_NULL, Tag: C.MPI_ANY_TAG}

// setStatus fills a C status unless the caller passed MPI_STATUS_IGNORE.
func setStatus(s *C.MPI_Status, st mpishim.Status, code C.int) {
	if ignored(s) {
		return
	}
	s.MPI_SOURCE = C.int(st.Source) // statuses made here already carry C's negative sources
	s.MPI_TAG = C.int(st.Tag)
	s.MPI_ERROR = code
	s.p2pdvm_cancelled = cbool(st.Cancelled)
	s.p2pdvm_count = C.longlong(st.Count)
}

func ignored(s *C.MPI_Status) bool { return s == nil || uintptr(unsafe.Pointer(s)) == 1 }

// emptyStatus is what waiting on a null or inactive request reports.
var emptyStatus = mpishim.Status{Source: C.MPI_ANY_SOURCE, Tag: C.MPI_ANY_TAG}

//export MPI_Sendrecv
func MPI_Sendrecv(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, dest, stag C.int,
	rp unsafe.Pointer, rcount C.int, rtype C.MPI_Datatype, src, rtag C.int, comm C.MPI_Comm, status *C.MPI_Status) C.int {
	q, finish, err := startRecv(rp, rcount, rtype, src, rtag, comm)
	if err != nil {
		return ret(comm, "MPI_Sendrecv", err)
	}
	if rc := send(standard, unsafe.Pointer(sp), scount, stype, dest, stag, comm); rc != C.MPI_SUCCESS {
		return rc
	}
	return recvDone("MPI_Sendrecv", comm, q, finish, status)
}

// MPI_Sendrecv_replace sends a packed copy of the buffer, so the receive
// may land in it at once.
//
//export MPI_Sendrecv_replace
func MPI_Sendrecv_replace(p unsafe.Pointer, count C.int, dt C.MPI_Datatype, dest, stag, src, rtag C.int, comm C.MPI_Comm, status *C.MPI_Status) C.int {
	b, err := newBuf(p, count, dt)
	if err != nil {
		return ret(comm, "MPI_Sendrecv_replace", err)
	}
	out := append([]byte(nil), b.packed()...)
	q, finish, err := startRecv(p, count, dt, src, rtag, comm)
	if err != nil {
		return ret(comm, "MPI_Sendrecv_replace", err)
	}
	co, _ := commOf(comm)
	if dest != C.MPI_PROC_NULL {
		if err := co.c.Send(out, int(dest), int(stag)); err != nil {
			return ret(comm, "MPI_Sendrecv_replace", err)
		}
	}
	return recvDone("MPI_Sendrecv_replace", comm, q, finish, status)
}

func probe(fn string, src, tag C.int, comm C.MPI_Comm, block bool, flag *C.int, status *C.MPI_Status) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, fn, err)
	}
	if src == C.MPI_PROC_NULL {
		if flag != nil {
			*flag = 1
		}
		setStatus(status, procNullStatus, 0)
		return C.MPI_SUCCESS
	}
	var st mpishim.Status
	ok := true
	if block {
		st, err = co.c.Probe(srcRank(src), int(tag))
	} else {
		st, ok, err = co.c.Iprobe(srcRank(src), int(tag))
	}
	if err != nil {
		return ret(comm, fn, err)
	}
	if flag != nil {
		*flag = cbool(ok)
	}
	if ok {
		setStatus(status, st, 0)
	}
	return C.MPI_SUCCESS
}

//export MPI_Probe
func MPI_Probe(src, tag C.int, comm C.MPI_Comm, status *C.MPI_Status) C.int {
	return probe("MPI_Probe", src, tag, comm, true, nil, status)
}

//export MPI_Iprobe
func MPI_Iprobe(src, tag C.int, comm C.MPI_Comm, flag *C.int, status *C.MPI_Status) C.int {
	return probe("MPI_Iprobe", src, tag, comm, false, flag, status)
}

//export MPI_Get_count
func MPI_Get_count(status C.pdvm_cstatus, dt C.MPI_Datatype, count *C.int) C.int {
	t, err := typeOf(dt)
	if err != nil {
		return ret(0, "MPI_Get_count", err)
	}
	n, size := int64(status.p2pdvm_count), t.Size()
	switch {
	case size == 0 && n == 0:
		*count = 0
	case size == 0 || n%size != 0:
		*count = C.MPI_UNDEFINED
	default:
		*count = C.int(n / size)
	}
	return C.MPI_SUCCESS
}

func elements(status *C.MPI_Status, dt C.MPI_Datatype) (int64, error) {
	t, err := typeOf(dt)
	if err != nil {
		return 0, err
	}
	n, exact := t.Elements(int64(status.p2pdvm_count))
	if !exact {
		return C.MPI_UNDEFINED, nil
	}
	return n, nil
}

//export MPI_Get_elements
func MPI_Get_elements(status C.pdvm_cstatus, dt C.MPI_Datatype, count *C.int) C.int {
	n, err := elements((*C.MPI_Status)(unsafe.Pointer(status)), dt)
	if err != nil {
		return ret(0, "MPI_Get_elements", err)
	}
	*count = C.int(n)
	return C.MPI_SUCCESS
}

//export MPI_Get_elements_x
func MPI_Get_elements_x(status C.pdvm_cstatus, dt C.MPI_Datatype, count *C.MPI_Count) C.int {
	n, err := elements((*C.MPI_Status)(unsafe.Pointer(status)), dt)
	if err != nil {
		return ret(0, "MPI_Get_elements_x", err)
	}
	*count = C.MPI_Count(n)
	return C.MPI_SUCCESS
}

// Buffered sends need the attached buffer only to check that a message
// would fit: every send is eager and leaves the user's memory at once.
//
//export MPI_Buffer_attach
func MPI_Buffer_attach(p unsafe.Pointer, size C.int) C.int {
	if state.bsendBuf != nil {
		return ret(0, "MPI_Buffer_attach", errf(C.MPI_ERR_BUFFER, "a buffer is already attached"))
	}
	if size < 0 {
		return ret(0, "MPI_Buffer_attach", errf(C.MPI_ERR_ARG, "negative size %d", size))
	}
	state.bsendBuf, state.bsendSize = p, int(size)
	return C.MPI_SUCCESS
}

//export MPI_Buffer_detach
func MPI_Buffer_detach(addr unsafe.Pointer, size *C.int) C.int {
	*(*unsafe.Pointer)(addr) = state.bsendBuf
	*size = C.int(state.bsendSize)
	state.bsendBuf, state.bsendSize = nil, 0
	return C.MPI_SUCCESS
}
