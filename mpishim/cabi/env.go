package main

/*
#include "cabi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/peal"
)

// provided is the thread level this library gives: calls from any
// thread, one at a time.
const provided = C.MPI_THREAD_SERIALIZED

//export MPI_Init
func MPI_Init(argc *C.int, argv ***C.char) C.int {
	return initialize("MPI_Init", C.MPI_THREAD_SINGLE)
}

//export MPI_Init_thread
func MPI_Init_thread(argc *C.int, argv ***C.char, required C.int, prov *C.int) C.int {
	level := min(int(required), provided)
	if rc := initialize("MPI_Init_thread", level); rc != C.MPI_SUCCESS {
		return rc
	}
	*prov = C.int(level)
	return C.MPI_SUCCESS
}

// initialize attaches to the job. A program started outside p2pdvm runs
// as a job of one rank, as MPICH's singleton init does, so that ./prog
// works for a quick test.
func initialize(fn string, level int) C.int {
	if state.initialized || state.finalized {
		return ret(0, fn, errf(C.MPI_ERR_OTHER, "MPI is already initialized or finalized"))
	}
	world, err := mpishim.Init()
	if errors.Is(err, peal.ErrNotInJob) {
		world = mpishim.InitWith(peal.NewGroup("singleton", 1)[0])
		err = nil
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", fn, err)
		os.Exit(1)
	}
	state.world = world
	state.thread = level
	state.comms.predefine(int32(C.MPI_COMM_WORLD), &commObj{c: world, errh: C.MPI_ERRORS_ARE_FATAL, name: "MPI_COMM_WORLD"})
	state.comms.predefine(int32(C.MPI_COMM_SELF), &commObj{c: world.Self(), name: "MPI_COMM_SELF"})
	state.initialized = true
	// The calling C thread runs a goroutine locked to it; yielding would
	// hand its P away (see mpishim.SetWait). While the thread computes in
	// C, the runtime counts it as in a system call holding a P, and with
	// no other P sysmon takes that P away within 20 µs, which costs two
	// thread hand-offs on every return into Go; a second P stops that.
	// Quiet mode keeps the sockets off Go's poller so the idle P's thread
	// is not woken by every arrival.
	state.spin = mpishim.Spin()
	world.SetWait(state.spin, false)
	world.Quiet()
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2)
	}
	C.pdvm_mark_main()
	return C.MPI_SUCCESS
}

//export MPI_Initialized
func MPI_Initialized(flag *C.int) C.int {
	*flag = cbool(state.initialized)
	return C.MPI_SUCCESS
}

//export MPI_Finalized
func MPI_Finalized(flag *C.int) C.int {
	*flag = cbool(state.finalized)
	return C.MPI_SUCCESS
}

// MPI_Finalize deletes the attributes of MPI_COMM_SELF first, as MPI-2
// promises, so libraries can hook their cleanup there.
//
//export MPI_Finalize
func MPI_Finalize() C.int {
	if !state.initialized || state.finalized {
		return ret(0, "MPI_Finalize", errf(C.MPI_ERR_OTHER, "MPI is not initialized or already finalized"))
	}
	if err := deleteAllAttrs(C.MPI_COMM_SELF); err != nil {
		return ret(C.MPI_COMM_SELF, "MPI_Finalize", err)
	}
	err := state.world.Finalize()
	state.finalized = true
	return ret(0, "MPI_Finalize", err)
}

//export MPI_Abort
func MPI_Abort(comm C.MPI_Comm, code C.int) C.int {
	rank := -1
	if state.world != nil {
		rank = state.world.Rank()
	}
	msg := fmt.Sprintf("MPI_Abort(comm %d, %d) called by rank %d", comm, code, rank)
	if state.world != nil && !state.finalized {
		state.world.AbortMsg(int(code), msg)
	}
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(int(code) & 0xff)
	return C.MPI_SUCCESS
}

//export MPI_Query_thread
func MPI_Query_thread(p *C.int) C.int {
	*p = C.int(state.thread)
	return C.MPI_SUCCESS
}

//export MPI_Is_thread_main
func MPI_Is_thread_main(flag *C.int) C.int {
	*flag = C.pdvm_is_main()
	return C.MPI_SUCCESS
}

//export MPI_Get_processor_name
func MPI_Get_processor_name(name *C.char, resultlen *C.int) C.int {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	*resultlen = C.int(putString(name, host, C.MPI_MAX_PROCESSOR_NAME))
	return C.MPI_SUCCESS
}

//export MPI_Get_version
func MPI_Get_version(version, subversion *C.int) C.int {
	*version, *subversion = C.MPI_VERSION, C.MPI_SUBVERSION
	return C.MPI_SUCCESS
}

//export MPI_Get_library_version
func MPI_Get_library_version(version *C.char, resultlen *C.int) C.int {
	*resultlen = C.int(putString(version, "p2pdvm MPI (MPI 3.1, MPI-1 feature set) over the PEAL", C.MPI_MAX_LIBRARY_VERSION_STRING))
	return C.MPI_SUCCESS
}

//export MPI_Comm_rank
func MPI_Comm_rank(comm C.MPI_Comm, rank *C.int) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_rank", err)
	}
	*rank = C.int(co.c.Rank())
	return C.MPI_SUCCESS
}

//export MPI_Comm_size
func MPI_Comm_size(comm C.MPI_Comm, size *C.int) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_size", err)
	}
	*size = C.int(co.c.Size())
	return C.MPI_SUCCESS
}

func commOf(h C.MPI_Comm) (*commObj, error) {
	freshTick()
	co := state.comms.get(int32(h))
	if co == nil {
		if !state.initialized {
			return nil, errf(C.MPI_ERR_OTHER, "MPI is not initialized")
		}
		return nil, errf(C.MPI_ERR_COMM, "invalid communicator %d", h)
	}
	return co, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
