package main

import (
	"time"
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/mpishim/dtype"
)

// table maps C handles to objects. Handle 0 is the null handle of every
// kind; predefined objects take the first slots and are never freed.
// Freed slots are reused, as MPI allows.
type table[T any] struct {
	items []*T
	free  []int32
	fixed int32 // handles below this are predefined
}

func (t *table[T]) add(v *T) int32 {
	if n := len(t.free); n > 0 {
		h := t.free[n-1]
		t.free = t.free[:n-1]
		t.items[h] = v
		return h
	}
	if len(t.items) == 0 {
		t.items = append(t.items, nil) // the null handle
	}
	t.items = append(t.items, v)
	return int32(len(t.items) - 1)
}

// predefine installs v at handle h, which must be the next free slot.
func (t *table[T]) predefine(h int32, v *T) {
	for int32(len(t.items)) <= h {
		t.items = append(t.items, nil)
	}
	t.items[h] = v
	t.fixed = max(t.fixed, h+1)
}

func (t *table[T]) get(h int32) *T {
	if h <= 0 || int(h) >= len(t.items) {
		return nil
	}
	return t.items[h]
}

func (t *table[T]) del(h int32) {
	if h >= t.fixed && t.get(h) != nil {
		t.items[h] = nil
		t.free = append(t.free, h)
	}
}

type commObj struct {
	c     *mpishim.Comm
	errh  int32 // 0: whatever MPI_COMM_WORLD has (see errhOf)
	attrs map[int32]unsafe.Pointer
	// setAt orders the attributes by when they were set: MPI_Finalize
	// deletes those of MPI_COMM_SELF last set first (MPI-3.1 8.7.1).
	setAt  map[int32]uint64
	name   string
	parent int32 // for Comm_compare: the communicator this one was duplicated from, or 0
}

// groupObj is an ordered set of world ranks.
type groupObj struct{ ranks []int }

type typeObj struct {
	t         *dtype.Type
	committed bool
	name      string
	env       *typeEnv // the constructor call; nil for predefined types
}

type opObj struct {
	builtin dtype.Op
	user    unsafe.Pointer // *C.MPI_User_function for user ops
	commute bool
}

type errhObj struct {
	fn unsafe.Pointer // *C.MPI_Comm_errhandler_function; nil for the predefined two
}

type keyvalObj struct {
	copyFn, deleteFn unsafe.Pointer
	extra            unsafe.Pointer
	win              bool // made by MPI_Win_create_keyval: its callbacks take an MPI_Win
}

// state is the library's: one MPI process per OS process.
var state struct {
	initialized, finalized bool
	thread                 int
	world                  *mpishim.Comm
	comms                  table[commObj]
	groups                 table[groupObj]
	types                  table[typeObj]
	ops                    table[opObj]
	reqs                   table[request]
	errhs                  table[errhObj]
	keyvals                table[keyvalObj]
	infos                  table[infoObj]
	wins                   table[winObj]
	spin                   time.Duration // how long a wait polls (mpishim.Spin at Init)
	bsendBuf               unsafe.Pointer
	bsendSize              int
}
