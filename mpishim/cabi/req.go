package main

/*
#include "cabi.h"
*/
import "C"

import (
	"reflect"
	"time"
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// request is what an MPI_Request handle names. A nil q means complete,
// or, for a persistent request, inactive until MPI_Start.
type request struct {
	comm   C.MPI_Comm
	fn     string
	q      *mpishim.Request
	finish func(n int) // moves received data into place; nil for sends
	err    error       // an error found when starting
	active bool        // started and not yet waited for
	// start restarts a persistent request; nil for the others.
	start func(r *request) error
}

func (r *request) begin() {
	r.active = true
	if r.start != nil {
		r.err = r.start(r)
	}
}

// complete waits for (block) or tests the request; ok is false only when
// it would block.
func (r *request) complete(block bool) (st mpishim.Status, ok bool, err error) {
	if !r.active {
		return emptyStatus, true, nil
	}
	if r.err != nil {
		r.active = false
		return emptyStatus, true, r.err
	}
	if r.q == nil {
		r.active = false
		if r.finish != nil { // a receive from MPI_PROC_NULL
			return procNullStatus, true, nil
		}
		return emptyStatus, true, nil
	}
	if block {
		st, err = r.q.Wait()
	} else {
		state.world.Poll() // MPI_Test is how many programs make progress
		state.world.Progress()
		if st, ok, err = r.q.Test(); !ok {
			return st, false, nil
		}
	}
	if r.finish != nil {
		r.finish(st.Count)
	} else if !st.Cancelled {
		st = emptyStatus // a send's status says nothing
	}
	r.active = false
	return st, true, err
}

func newRequest(comm C.MPI_Comm, fn string, q *mpishim.Request, finish func(int), err error, out *C.MPI_Request) C.int {
	if err != nil {
		*out = C.MPI_REQUEST_NULL
		return ret(comm, fn, err)
	}
	*out = C.MPI_Request(state.reqs.add(&request{comm: comm, fn: fn, q: q, finish: finish, active: true}))
	return C.MPI_SUCCESS
}

func isend(mode sendMode, p unsafe.Pointer, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	q, err := startSend(mode, p, count, dt, dest, tag, comm)
	return newRequest(comm, "MPI_I"+sendNames[mode][4:], q, nil, err, out)
}

//export MPI_Isend
func MPI_Isend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return isend(standard, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Issend
func MPI_Issend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return isend(synchronous, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Irsend
func MPI_Irsend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return isend(ready, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Ibsend
func MPI_Ibsend(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return isend(buffered, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Irecv
func MPI_Irecv(p unsafe.Pointer, count C.int, dt C.MPI_Datatype, src, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	q, finish, err := startRecv(p, count, dt, src, tag, comm)
	if err == nil && finish == nil {
		finish = func(int) {} // from MPI_PROC_NULL: still a receive
	}
	return newRequest(comm, "MPI_Irecv", q, finish, err, out)
}

// persistent makes an inactive request whose start runs the operation.
// The arguments are checked now, as MPI asks, by starting nothing.
// persistent makes a persistent request whose start function gets the
// buffer resolved now: the datatype is looked up once, so freeing its
// handle later leaves the request working, as MPI requires.
func persistent(fn string, comm C.MPI_Comm, p unsafe.Pointer, count C.int, dt C.MPI_Datatype, start func(r *request, b buf) error, out *C.MPI_Request) C.int {
	_, err := commOf(comm)
	var b buf
	if err == nil {
		b, err = newBuf(p, count, dt)
	}
	if err != nil {
		*out = C.MPI_REQUEST_NULL
		return ret(comm, fn, err)
	}
	*out = C.MPI_Request(state.reqs.add(&request{comm: comm, fn: fn, start: func(r *request) error { return start(r, b) }}))
	return C.MPI_SUCCESS
}

func sendInit(mode sendMode, p unsafe.Pointer, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return persistent(sendNames[mode]+"_init", comm, p, count, dt, func(r *request, b buf) (err error) {
		r.q, err = startSendBuf(mode, b, dest, tag, comm)
		return err
	}, out)
}

//export MPI_Send_init
func MPI_Send_init(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return sendInit(standard, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Ssend_init
func MPI_Ssend_init(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return sendInit(synchronous, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Rsend_init
func MPI_Rsend_init(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return sendInit(ready, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Bsend_init
func MPI_Bsend_init(p C.pdvm_cbuf, count C.int, dt C.MPI_Datatype, dest, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return sendInit(buffered, unsafe.Pointer(p), count, dt, dest, tag, comm, out)
}

//export MPI_Recv_init
func MPI_Recv_init(p unsafe.Pointer, count C.int, dt C.MPI_Datatype, src, tag C.int, comm C.MPI_Comm, out *C.MPI_Request) C.int {
	return persistent("MPI_Recv_init", comm, p, count, dt, func(r *request, b buf) (err error) {
		r.q, r.finish, err = startRecvBuf(b, src, tag, comm)
		if err == nil && r.finish == nil {
			r.finish = func(int) {}
		}
		return err
	}, out)
}

//export MPI_Start
func MPI_Start(h *C.MPI_Request) C.int {
	r := state.reqs.get(int32(*h))
	if r == nil || r.start == nil || r.active {
		return ret(0, "MPI_Start", errf(C.MPI_ERR_REQUEST, "request %d is not an inactive persistent request", *h))
	}
	r.begin()
	return C.MPI_SUCCESS
}

//export MPI_Startall
func MPI_Startall(n C.int, hs *C.MPI_Request) C.int {
	for i := range reqSlice(hs, n) {
		if rc := MPI_Start(&reqSlice(hs, n)[i]); rc != C.MPI_SUCCESS {
			return rc
		}
	}
	return C.MPI_SUCCESS
}

func reqSlice(hs *C.MPI_Request, n C.int) []C.MPI_Request {
	if n <= 0 || hs == nil {
		return nil
	}
	return unsafe.Slice(hs, int(n))
}

// finishReq waits for or tests *h; on completion it writes the status,
// frees a non-persistent request and nulls the handle. It returns the
// MPI code of the operation's own error.
func finishReq(fn string, h *C.MPI_Request, block bool, status *C.MPI_Status) (done bool, rc C.int) {
	r := state.reqs.get(int32(*h))
	if r == nil {
		if *h != C.MPI_REQUEST_NULL {
			return true, ret(0, fn, errf(C.MPI_ERR_REQUEST, "invalid request %d", *h))
		}
		setStatus(status, emptyStatus, 0)
		return true, C.MPI_SUCCESS
	}
	st, ok, err := r.complete(block)
	if !ok {
		return false, C.MPI_SUCCESS
	}
	if err != nil {
		rc = ret(r.comm, r.fn, err)
	}
	setStatus(status, st, rc)
	if r.start == nil {
		state.reqs.del(int32(*h))
		*h = C.MPI_REQUEST_NULL
	}
	return true, rc
}

//export MPI_Wait
func MPI_Wait(h *C.MPI_Request, status *C.MPI_Status) C.int {
	_, rc := finishReq("MPI_Wait", h, true, status)
	return rc
}

//export MPI_Test
func MPI_Test(h *C.MPI_Request, flag *C.int, status *C.MPI_Status) C.int {
	done, rc := finishReq("MPI_Test", h, false, status)
	*flag = cbool(done)
	return rc
}

func statusAt(ss *C.MPI_Status, i int) *C.MPI_Status {
	if ignored(ss) {
		return ss
	}
	return (*C.MPI_Status)(unsafe.Add(unsafe.Pointer(ss), uintptr(i)*unsafe.Sizeof(*ss)))
}

// allDone completes every request (block) or reports that not all are
// complete without completing any (test), as MPI_Testall must.
func allDone(fn string, n C.int, hs *C.MPI_Request, ss *C.MPI_Status, block bool) (bool, C.int) {
	reqs := reqSlice(hs, n)
	if !block {
		state.world.Poll()
		for _, h := range reqs {
			if r := state.reqs.get(int32(h)); r != nil && r.active && r.err == nil && r.q != nil {
				if _, ok, _ := r.q.Test(); !ok {
					return false, C.MPI_SUCCESS
				}
			}
		}
	}
	failed := false
	for i := range reqs {
		_, rc := finishReq(fn, &reqs[i], true, statusAt(ss, i))
		if rc != C.MPI_SUCCESS {
			failed = true
		}
	}
	if failed {
		return true, C.MPI_ERR_IN_STATUS
	}
	return true, C.MPI_SUCCESS
}

//export MPI_Waitall
func MPI_Waitall(n C.int, hs *C.MPI_Request, ss *C.MPI_Status) C.int {
	_, rc := allDone("MPI_Waitall", n, hs, ss, true)
	return rc
}

//export MPI_Testall
func MPI_Testall(n C.int, hs *C.MPI_Request, flag *C.int, ss *C.MPI_Status) C.int {
	done, rc := allDone("MPI_Testall", n, hs, ss, false)
	*flag = cbool(done)
	return rc
}

// anyDone finds a completed active request, waiting for one if block. It
// returns its index, or -1 when no request is active.
func anyDone(hs []C.MPI_Request, block bool) int {
	var cases []reflect.SelectCase
	var idx []int
	for i, h := range hs {
		r := state.reqs.get(int32(h))
		if r == nil || !r.active {
			continue
		}
		if r.err != nil || r.q == nil {
			return i
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.q.Done())})
		idx = append(idx, i)
	}
	if len(cases) == 0 {
		return -1
	}
	// Poll first, without sleeping, for up to a spin (see mpishim.SetWait).
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectDefault})
	deadline := time.Now().Add(state.spin)
	for {
		state.world.Poll()
		state.world.Progress()
		if chosen, _, _ := reflect.Select(cases); chosen < len(idx) {
			return idx[chosen]
		}
		if !block {
			return -2 // nothing complete yet
		}
		if time.Now().After(deadline) {
			break
		}
	}
	// Sleep until one of ours completes, waking also when one of the
	// process's other pending receives matches, to acknowledge it (see
	// mpishim's progress.go).
	cases = cases[:len(idx)]
	for {
		all := cases
		for _, d := range state.world.Progress() {
			all = append(all, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(d)})
		}
		var chosen int
		state.world.Block(func() { chosen, _, _ = reflect.Select(all) })
		if chosen < len(idx) {
			return idx[chosen]
		}
	}
}

func waitAny(fn string, n C.int, hs *C.MPI_Request, index *C.int, flag *C.int, status *C.MPI_Status, block bool) C.int {
	reqs := reqSlice(hs, n)
	i := anyDone(reqs, block)
	switch i {
	case -1:
		*index = C.MPI_UNDEFINED
		setStatus(status, emptyStatus, 0)
		if flag != nil {
			*flag = 1
		}
		return C.MPI_SUCCESS
	case -2:
		*flag = 0
		return C.MPI_SUCCESS
	}
	*index = C.int(i)
	if flag != nil {
		*flag = 1
	}
	_, rc := finishReq(fn, &reqs[i], true, status)
	return rc
}

//export MPI_Waitany
func MPI_Waitany(n C.int, hs *C.MPI_Request, index *C.int, status *C.MPI_Status) C.int {
	return waitAny("MPI_Waitany", n, hs, index, nil, status, true)
}

//export MPI_Testany
func MPI_Testany(n C.int, hs *C.MPI_Request, index *C.int, flag *C.int, status *C.MPI_Status) C.int {
	return waitAny("MPI_Testany", n, hs, index, flag, status, false)
}

func waitSome(fn string, n C.int, hs *C.MPI_Request, outcount *C.int, indices *C.int, ss *C.MPI_Status, block bool) C.int {
	reqs := reqSlice(hs, n)
	first := anyDone(reqs, block)
	if first == -1 {
		*outcount = C.MPI_UNDEFINED
		return C.MPI_SUCCESS
	}
	out := 0
	failed := false
	if first >= 0 {
		idx := unsafe.Slice(indices, len(reqs))
		for i := range reqs {
			r := state.reqs.get(int32(reqs[i]))
			if r == nil || !r.active {
				continue
			}
			if done, rc := finishReq(fn, &reqs[i], false, statusAt(ss, out)); done {
				idx[out] = C.int(i)
				out++
				failed = failed || rc != C.MPI_SUCCESS
			}
		}
	}
	*outcount = C.int(out)
	if failed {
		return C.MPI_ERR_IN_STATUS
	}
	return C.MPI_SUCCESS
}

//export MPI_Waitsome
func MPI_Waitsome(n C.int, hs *C.MPI_Request, outcount *C.int, indices *C.int, ss *C.MPI_Status) C.int {
	return waitSome("MPI_Waitsome", n, hs, outcount, indices, ss, true)
}

//export MPI_Testsome
func MPI_Testsome(n C.int, hs *C.MPI_Request, outcount *C.int, indices *C.int, ss *C.MPI_Status) C.int {
	return waitSome("MPI_Testsome", n, hs, outcount, indices, ss, false)
}

//export MPI_Request_free
func MPI_Request_free(h *C.MPI_Request) C.int {
	if state.reqs.get(int32(*h)) == nil {
		return ret(0, "MPI_Request_free", errf(C.MPI_ERR_REQUEST, "invalid request %d", *h))
	}
	// An active operation still completes: sends have left, and a
	// receive lands in its buffer when its message comes.
	state.reqs.del(int32(*h))
	*h = C.MPI_REQUEST_NULL
	return C.MPI_SUCCESS
}

//export MPI_Request_get_status
func MPI_Request_get_status(h C.MPI_Request, flag *C.int, status *C.MPI_Status) C.int {
	r := state.reqs.get(int32(h))
	if r == nil || !r.active || r.err != nil || r.q == nil {
		*flag = 1
		setStatus(status, emptyStatus, 0)
		return C.MPI_SUCCESS
	}
	state.world.Poll()
	st, ok, _ := r.q.Test()
	*flag = cbool(ok)
	if ok {
		setStatus(status, st, 0)
	}
	return C.MPI_SUCCESS
}

//export MPI_Cancel
func MPI_Cancel(h *C.MPI_Request) C.int {
	r := state.reqs.get(int32(*h))
	if r == nil {
		return ret(0, "MPI_Cancel", errf(C.MPI_ERR_REQUEST, "invalid request %d", *h))
	}
	if r.active && r.q != nil {
		r.q.Cancel()
	}
	return C.MPI_SUCCESS
}

//export MPI_Test_cancelled
func MPI_Test_cancelled(status C.pdvm_cstatus, flag *C.int) C.int {
	*flag = status.p2pdvm_cancelled
	return C.MPI_SUCCESS
}
