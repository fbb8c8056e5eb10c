package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

func inPlace(p unsafe.Pointer) bool { return uintptr(p) == ^uintptr(0) }

// collComm checks the communicator of a collective. Collectives on
// intercommunicators (MPI-3.1 §5.2.2) are not implemented; they fail with
// MPI_ERR_COMM saying so, rather than running an intracommunicator
// algorithm over the wrong group.
func collComm(comm C.MPI_Comm) (*mpishim.Comm, error) {
	co, err := commOf(comm)
	if err != nil {
		return nil, err
	}
	if co.c.IsInter() {
		return nil, errf(C.MPI_ERR_COMM, "collectives on an intercommunicator are not supported by p2pdvm")
	}
	return co.c, nil
}

func checkRoot(c *mpishim.Comm, root C.int) error {
	if root < 0 || int(root) >= c.Size() {
		return errf(C.MPI_ERR_ROOT, "root %d in a communicator of %d", root, c.Size())
	}
	return nil
}

//export MPI_Barrier
func MPI_Barrier(comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = c.Barrier()
	}
	return ret(comm, "MPI_Barrier", err)
}

//export MPI_Bcast
func MPI_Bcast(p unsafe.Pointer, count C.int, dt C.MPI_Datatype, root C.int, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = checkRoot(c, root)
	}
	var b buf
	if err == nil {
		b, err = newBuf(p, count, dt)
	}
	if err != nil {
		return ret(comm, "MPI_Bcast", err)
	}
	data, finish := b.landing()
	if int(root) == c.Rank() {
		data, finish = b.packed(), func(int) {}
	}
	err = c.Bcast(data, int(root))
	finish(len(data))
	return ret(comm, "MPI_Bcast", err)
}

// reduceArgs resolves the buffers of a reduction: the packed operand
// (recv's own data for MPI_IN_PLACE) and where the result lands.
func reduceArgs(sp, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, wantRecv bool) (send, recv []byte, finish func(int), f mpishim.Combine, commute bool, err error) {
	rb, err := newBuf(rp, count, dt)
	if err != nil {
		return
	}
	if f, commute, err = combiner(op, dt, rb.t); err != nil {
		return
	}
	finish = func(int) {}
	if wantRecv {
		recv, finish = rb.landing()
	}
	if inPlace(sp) {
		send = append([]byte(nil), rb.packed()...)
	} else {
		send = buf{base: sp, count: rb.count, t: rb.t}.packed()
	}
	return
}

//export MPI_Reduce
func MPI_Reduce(sp C.pdvm_cbuf, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, root C.int, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil {
		err = checkRoot(c, root)
	}
	if err != nil {
		return ret(comm, "MPI_Reduce", err)
	}
	isRoot := c.Rank() == int(root)
	if !isRoot && inPlace(unsafe.Pointer(sp)) {
		return ret(comm, "MPI_Reduce", errf(C.MPI_ERR_BUFFER, "MPI_IN_PLACE is for the root only"))
	}
	spp := unsafe.Pointer(sp)
	rpp := rp
	if !isRoot {
		rpp = spp // recv is ignored off the root; its type is the same
	}
	send, recv, finish, f, commute, err := reduceArgs(spp, rpp, count, dt, op, isRoot)
	if err != nil {
		return ret(comm, "MPI_Reduce", err)
	}
	err = c.ReduceFunc(send, recv, f, commute, int(root))
	finish(len(recv))
	return ret(comm, "MPI_Reduce", err)
}

//export MPI_Allreduce
func MPI_Allreduce(sp C.pdvm_cbuf, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Allreduce", err)
	}
	send, recv, finish, f, _, err := reduceArgs(unsafe.Pointer(sp), rp, count, dt, op, true)
	if err != nil {
		return ret(comm, "MPI_Allreduce", err)
	}
	err = c.AllreduceFunc(send, recv, f)
	finish(len(recv))
	return ret(comm, "MPI_Allreduce", err)
}

func scan(fn string, sp, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm, exclusive bool) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, fn, err)
	}
	send, recv, finish, f, commute, err := reduceArgs(sp, rp, count, dt, op, true)
	if err != nil {
		return ret(comm, fn, err)
	}
	err = c.ScanFunc(send, recv, f, commute, exclusive)
	if !exclusive || c.Rank() > 0 {
		finish(len(recv))
	}
	return ret(comm, fn, err)
}

//export MPI_Scan
func MPI_Scan(sp C.pdvm_cbuf, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm) C.int {
	return scan("MPI_Scan", unsafe.Pointer(sp), rp, count, dt, op, comm, false)
}

//export MPI_Exscan
func MPI_Exscan(sp C.pdvm_cbuf, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm) C.int {
	return scan("MPI_Exscan", unsafe.Pointer(sp), rp, count, dt, op, comm, true)
}

func reduceScatter(fn string, sp, rp unsafe.Pointer, counts []int, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err == nil && len(counts) != c.Size() {
		err = errf(C.MPI_ERR_COUNT, "%d counts for %d members", len(counts), c.Size())
	}
	total := 0
	for _, n := range counts {
		if n < 0 && err == nil {
			err = errf(C.MPI_ERR_COUNT, "negative count %d", n)
		}
		total += n
	}
	if err != nil {
		return ret(comm, fn, err)
	}
	// The whole operand is total elements; recv holds this member's part,
	// and for MPI_IN_PLACE the whole operand first.
	send, _, _, f, commute, err := reduceArgs(sp, rp, C.int(total), dt, op, false)
	if err != nil {
		return ret(comm, fn, err)
	}
	rb, _ := newBuf(rp, C.int(counts[c.Rank()]), dt)
	size := int(rb.t.Size())
	bytes := make([]int, len(counts))
	for i, n := range counts {
		bytes[i] = n * size
	}
	recv, finish := rb.landing()
	err = c.ReduceScatterFunc(send, recv, bytes, f, commute)
	finish(len(recv))
	return ret(comm, fn, err)
}

//export MPI_Reduce_scatter
func MPI_Reduce_scatter(sp C.pdvm_cbuf, rp unsafe.Pointer, counts C.pdvm_cints, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Reduce_scatter", err)
	}
	return reduceScatter("MPI_Reduce_scatter", unsafe.Pointer(sp), rp, ints(counts, C.int(c.Size())), dt, op, comm)
}

//export MPI_Reduce_scatter_block
func MPI_Reduce_scatter_block(sp C.pdvm_cbuf, rp unsafe.Pointer, count C.int, dt C.MPI_Datatype, op C.MPI_Op, comm C.MPI_Comm) C.int {
	c, err := collComm(comm)
	if err != nil {
		return ret(comm, "MPI_Reduce_scatter_block", err)
	}
	counts := make([]int, c.Size())
	for i := range counts {
		counts[i] = int(count)
	}
	return reduceScatter("MPI_Reduce_scatter_block", unsafe.Pointer(sp), rp, counts, dt, op, comm)
}
