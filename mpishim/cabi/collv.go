package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim/dtype"
)

// vbuf is a buffer of per-member blocks, as the v- and w-collectives
// describe them: block i is counts[i] elements of types[i] at displs[i]
// bytes from base. It travels packed, blocks concatenated in member order.
type vbuf struct {
	base   unsafe.Pointer
	counts []int
	displs []int64
	types  []*dtype.Type
}

// newVbuf builds a vbuf of n blocks of one datatype, displacements in
// multiples of its extent (the v-collectives).
func newVbuf(base unsafe.Pointer, n int, counts, displs *C.int, dt C.MPI_Datatype) (vbuf, error) {
	t, err := typeOf(dt)
	if err != nil {
		return vbuf{}, err
	}
	v := vbuf{base: base, counts: ints(counts, C.int(n)), types: make([]*dtype.Type, n), displs: make([]int64, n)}
	d := ints(displs, C.int(n))
	if len(v.counts) != n || len(d) != n {
		return vbuf{}, errf(C.MPI_ERR_ARG, "null counts or displacements")
	}
	for i := range v.types {
		v.types[i] = t
		v.displs[i] = int64(d[i]) * t.Extent()
	}
	return v, v.check()
}

func (v vbuf) check() error {
	for i, n := range v.counts {
		if n < 0 {
			return errf(C.MPI_ERR_COUNT, "negative count %d for member %d", n, i)
		}
	}
	return nil
}

func (v vbuf) block(i int) buf {
	return buf{base: unsafe.Add(v.base, v.displs[i]), count: v.counts[i], t: v.types[i]}
}

// layout returns the packed size of each block and its offset.
func (v vbuf) layout() (counts, displs []int, total int) {
	counts, displs = make([]int, len(v.counts)), make([]int, len(v.counts))
	for i := range v.counts {
		counts[i] = v.block(i).size()
		displs[i] = total
		total += counts[i]
	}
	return counts, displs, total
}

func (v vbuf) pack() (data []byte, counts, displs []int) {
	counts, displs, total := v.layout()
	data = make([]byte, total)
	for i := range v.counts {
		if b := v.block(i); counts[i] > 0 {
			b.t.Pack(data[displs[i]:displs[i]+counts[i]], b.base, b.count)
		}
	}
	return data, counts, displs
}

// landing returns a packed buffer to receive the blocks into and the
// function that unpacks them into place.
func (v vbuf) landing() (data []byte, counts, displs []int, finish func()) {
	counts, displs, total := v.layout()
	data = make([]byte, total)
	return data, counts, displs, func() {
		for i := range v.counts {
			if b := v.block(i); counts[i] > 0 {
				b.t.Unpack(data[displs[i]:displs[i]+counts[i]], b.base, b.count)
			}
		}
	}
}

// ownBlock is block i of count elements of dt at base, for MPI_IN_PLACE
// in the uniform collectives.
func ownBlock(base unsafe.Pointer, i int, count C.int, dt C.MPI_Datatype) ([]byte, error) {
	b, err := newBuf(base, count, dt)
	if err != nil {
		return nil, err
	}
	b.base = unsafe.Add(base, int64(i)*int64(count)*b.t.Extent())
	return append([]byte(nil), b.packed()...), nil
}

// sendData is a collective's send operand; inPlaceBlock supplies it for
// MPI_IN_PLACE.
func sendData(sp unsafe.Pointer, count C.int, dt C.MPI_Datatype, inPlaceBlock func() ([]byte, error)) ([]byte, error) {
	if inPlace(sp) {
		return inPlaceBlock()
	}
	b, err := newBuf(sp, count, dt)
	if err != nil {
		return nil, err
	}
	return b.packed(), nil
}

//export MPI_Gather
func MPI_Gather(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, rp unsafe.Pointer, rcount C.int, rtype C.MPI_Datatype, root C.int, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = checkRoot(c, root)
	}
	if err != nil {
		return ret(comm, "MPI_Gather", err)
	}
	isRoot := c.Rank() == int(root)
	send, err := sendData(unsafe.Pointer(sp), scount, stype, func() ([]byte, error) {
		return ownBlock(rp, int(root), rcount, rtype)
	})
	if err != nil || !isRoot {
		if err == nil {
			err = c.Gather(send, nil, int(root))
		}
		return ret(comm, "MPI_Gather", err)
	}
	rb, err := newBuf(rp, rcount*C.int(c.Size()), rtype)
	if err == nil && len(send) != int(rcount)*int(rb.t.Size()) {
		err = errf(C.MPI_ERR_TRUNCATE, "root sends %d bytes but receives %d per member", len(send), int(rcount)*int(rb.t.Size()))
	}
	if err != nil {
		return ret(comm, "MPI_Gather", err)
	}
	recv, finish := rb.landing()
	err = c.Gather(send, recv, int(root))
	finish(len(recv))
	return ret(comm, "MPI_Gather", err)
}

//export MPI_Gatherv
func MPI_Gatherv(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, rp unsafe.Pointer, rcounts, displs C.pdvm_cints, rtype C.MPI_Datatype, root C.int, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = checkRoot(c, root)
	}
	if err != nil {
		return ret(comm, "MPI_Gatherv", err)
	}
	if c.Rank() != int(root) {
		send, err := sendData(unsafe.Pointer(sp), scount, stype, nil)
		if err == nil {
			err = c.Gatherv(send, nil, nil, nil, int(root))
		}
		return ret(comm, "MPI_Gatherv", err)
	}
	v, err := newVbuf(rp, c.Size(), rcounts, displs, rtype)
	var send []byte
	if err == nil {
		send, err = sendData(unsafe.Pointer(sp), scount, stype, func() ([]byte, error) {
			return append([]byte(nil), v.block(int(root)).packed()...), nil
		})
	}
	if err != nil {
		return ret(comm, "MPI_Gatherv", err)
	}
	recv, counts, ds, finish := v.landing()
	err = c.Gatherv(send, recv, counts, ds, int(root))
	finish()
	return ret(comm, "MPI_Gatherv", err)
}

//export MPI_Scatter
func MPI_Scatter(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, rp unsafe.Pointer, rcount C.int, rtype C.MPI_Datatype, root C.int, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = checkRoot(c, root)
	}
	if err != nil {
		return ret(comm, "MPI_Scatter", err)
	}
	var send []byte
	if c.Rank() == int(root) {
		sb, err := newBuf(unsafe.Pointer(sp), scount*C.int(c.Size()), stype)
		if err != nil {
			return ret(comm, "MPI_Scatter", err)
		}
		send = sb.packed()
		if inPlace(rp) { // root's block stays where it is
			err = c.Scatter(send, make([]byte, len(send)/c.Size()), int(root))
			return ret(comm, "MPI_Scatter", err)
		}
	}
	rb, err := newBuf(rp, rcount, rtype)
	if err != nil {
		return ret(comm, "MPI_Scatter", err)
	}
	recv, finish := rb.landing()
	err = c.Scatter(send, recv, int(root))
	finish(len(recv))
	return ret(comm, "MPI_Scatter", err)
}

//export MPI_Scatterv
func MPI_Scatterv(sp C.pdvm_cbuf, scounts, displs C.pdvm_cints, stype C.MPI_Datatype, rp unsafe.Pointer, rcount C.int, rtype C.MPI_Datatype, root C.int, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = checkRoot(c, root)
	}
	if err != nil {
		return ret(comm, "MPI_Scatterv", err)
	}
	var send []byte
	var counts, ds []int
	if c.Rank() == int(root) {
		v, err := newVbuf(unsafe.Pointer(sp), c.Size(), scounts, displs, stype)
		if err != nil {
			return ret(comm, "MPI_Scatterv", err)
		}
		send, counts, ds = v.pack()
		if inPlace(rp) {
			err = c.Scatterv(send, counts, ds, make([]byte, counts[root]), int(root))
			return ret(comm, "MPI_Scatterv", err)
		}
	}
	rb, err := newBuf(rp, rcount, rtype)
	if err != nil {
		return ret(comm, "MPI_Scatterv", err)
	}
	recv, finish := rb.landing()
	err = c.Scatterv(send, counts, ds, recv, int(root))
	finish(len(recv))
	return ret(comm, "MPI_Scatterv", err)
}

//export MPI_Allgather
func MPI_Allgather(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, rp unsafe.Pointer, rcount C.int, rtype C.MPI_Datatype, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Allgather", err)
	}
	send, err := sendData(unsafe.Pointer(sp), scount, stype, func() ([]byte, error) {
		return ownBlock(rp, c.Rank(), rcount, rtype)
	})
	var rb buf
	if err == nil {
		rb, err = newBuf(rp, rcount*C.int(c.Size()), rtype)
	}
	if err == nil && len(send) != int(rcount)*int(rb.t.Size()) {
		err = errf(C.MPI_ERR_TRUNCATE, "sends %d bytes but receives %d per member", len(send), int(rcount)*int(rb.t.Size()))
	}
	if err != nil {
		return ret(comm, "MPI_Allgather", err)
	}
	recv, finish := rb.landing()
	err = c.Allgather(send, recv)
	finish(len(recv))
	return ret(comm, "MPI_Allgather", err)
}

//export MPI_Allgatherv
func MPI_Allgatherv(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, rp unsafe.Pointer, rcounts, displs C.pdvm_cints, rtype C.MPI_Datatype, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Allgatherv", err)
	}
	v, err := newVbuf(rp, c.Size(), rcounts, displs, rtype)
	var send []byte
	if err == nil {
		send, err = sendData(unsafe.Pointer(sp), scount, stype, func() ([]byte, error) {
			return append([]byte(nil), v.block(c.Rank()).packed()...), nil
		})
	}
	if err != nil {
		return ret(comm, "MPI_Allgatherv", err)
	}
	recv, counts, ds, finish := v.landing()
	err = c.Allgatherv(send, recv, counts, ds)
	finish()
	return ret(comm, "MPI_Allgatherv", err)
}

//export MPI_Alltoall
func MPI_Alltoall(sp C.pdvm_cbuf, scount C.int, stype C.MPI_Datatype, rp unsafe.Pointer, rcount C.int, rtype C.MPI_Datatype, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Alltoall", err)
	}
	n := C.int(c.Size())
	rb, err := newBuf(rp, rcount*n, rtype)
	var send []byte
	if err == nil {
		send, err = sendData(unsafe.Pointer(sp), scount*n, stype, func() ([]byte, error) {
			return append([]byte(nil), rb.packed()...), nil
		})
	}
	if err == nil && len(send) != rb.size() {
		err = errf(C.MPI_ERR_TRUNCATE, "sends %d bytes but receives %d", len(send), rb.size())
	}
	if err != nil {
		return ret(comm, "MPI_Alltoall", err)
	}
	recv, finish := rb.landing()
	err = c.Alltoall(send, recv)
	finish(len(recv))
	return ret(comm, "MPI_Alltoall", err)
}

func alltoallv(fn string, c C.MPI_Comm, sv, rv vbuf, sendInPlace bool) C.int {
	co, _ := commOf(c)
	var send []byte
	var sc, sd []int
	if sendInPlace {
		send, sc, sd = rv.pack()
	} else {
		send, sc, sd = sv.pack()
	}
	recv, rc, rd, finish := rv.landing()
	err := co.c.Alltoallv(send, sc, sd, recv, rc, rd)
	finish()
	return ret(c, fn, err)
}

//export MPI_Alltoallv
func MPI_Alltoallv(sp C.pdvm_cbuf, scounts, sdispls C.pdvm_cints, stype C.MPI_Datatype, rp unsafe.Pointer, rcounts, rdispls C.pdvm_cints, rtype C.MPI_Datatype, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Alltoallv", err)
	}
	rv, err := newVbuf(rp, c.Size(), rcounts, rdispls, rtype)
	var sv vbuf
	if err == nil && !inPlace(unsafe.Pointer(sp)) {
		sv, err = newVbuf(unsafe.Pointer(sp), c.Size(), scounts, sdispls, stype)
	}
	if err != nil {
		return ret(comm, "MPI_Alltoallv", err)
	}
	return alltoallv("MPI_Alltoallv", comm, sv, rv, inPlace(unsafe.Pointer(sp)))
}

// newWbuf builds the vbuf of MPI_Alltoallw: a datatype per member and
// displacements in bytes.
func newWbuf(base unsafe.Pointer, n int, counts, displs *C.int, types *C.MPI_Datatype) (vbuf, error) {
	v := vbuf{base: base, counts: ints(counts, C.int(n)), types: make([]*dtype.Type, n), displs: make([]int64, n)}
	d := ints(displs, C.int(n))
	if len(v.counts) != n || len(d) != n || types == nil {
		return vbuf{}, errf(C.MPI_ERR_ARG, "null counts, displacements or types")
	}
	for i, h := range unsafe.Slice(types, n) {
		t, err := typeOf(h)
		if err != nil {
			return vbuf{}, err
		}
		v.types[i], v.displs[i] = t, int64(d[i])
	}
	return v, v.check()
}

//export MPI_Alltoallw
func MPI_Alltoallw(sp C.pdvm_cbuf, scounts, sdispls C.pdvm_cints, stypes C.pdvm_ctypes, rp unsafe.Pointer, rcounts, rdispls C.pdvm_cints, rtypes C.pdvm_ctypes, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Alltoallw", err)
	}
	rv, err := newWbuf(rp, c.Size(), rcounts, rdispls, rtypes)
	var sv vbuf
	if err == nil && !inPlace(unsafe.Pointer(sp)) {
		sv, err = newWbuf(unsafe.Pointer(sp), c.Size(), scounts, sdispls, stypes)
	}
	if err != nil {
		return ret(comm, "MPI_Alltoallw", err)
	}
	return alltoallv("MPI_Alltoallw", comm, sv, rv, inPlace(unsafe.Pointer(sp)))
}
