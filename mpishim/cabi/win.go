package main

/*
#include <stdlib.h>
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// Windows as objects (MPI-3.1 §11.2, §6.7.3): MPI_Win_create records the
// memory a process exposes, and windows carry a group, attributes and a
// name. The RMA operations that would act on that memory are not in the
// library, so a program that calls them fails to link.

type winObj struct {
	c     *mpishim.Comm // a duplicate of the creating communicator: the group, and Win_free's barrier
	base  unsafe.Pointer
	vals  *C.pdvm_win_attrs
	attrs map[int32]unsafe.Pointer
	name  string
}

func init() {
	state.keyvals.predefine(C.MPI_WIN_MODEL, &keyvalObj{}) // keys 8..12 are the window's
}

func winOf(h C.MPI_Win) (*winObj, error) {
	w := state.wins.get(int32(h))
	if w == nil {
		return nil, errf(C.MPI_ERR_WIN, "invalid window %d", h)
	}
	return w, nil
}

// MPI_Win_create is collective over comm: the duplicate it makes of comm
// is the agreement, and keeps the window's traffic (Win_free's barrier)
// apart from the program's.
//
//export MPI_Win_create
func MPI_Win_create(base unsafe.Pointer, size C.MPI_Aint, dispUnit C.int, info C.MPI_Info, comm C.MPI_Comm, out *C.MPI_Win) C.int {
	co, err := commOf(comm)
	switch {
	case err != nil:
	case co.c.IsInter():
		err = errf(C.MPI_ERR_COMM, "a window needs an intracommunicator")
	case size < 0:
		err = errf(C.MPI_ERR_SIZE, "negative window size %d", size)
	case dispUnit <= 0:
		err = errf(C.MPI_ERR_DISP, "displacement unit %d is not positive", dispUnit)
	default:
		err = infoOK(info)
	}
	if err != nil {
		return ret(comm, "MPI_Win_create", err)
	}
	c, err := co.c.Dup()
	if err != nil {
		return ret(comm, "MPI_Win_create", err)
	}
	vals := (*C.pdvm_win_attrs)(C.calloc(1, C.size_t(unsafe.Sizeof(C.pdvm_win_attrs{}))))
	vals.size, vals.disp_unit = size, dispUnit
	vals.flavor, vals.model = C.MPI_WIN_FLAVOR_CREATE, C.MPI_WIN_SEPARATE
	*out = C.MPI_Win(state.wins.add(&winObj{c: c, base: base, vals: vals}))
	return C.MPI_SUCCESS
}

// MPI_Win_free is collective: it returns once every member has entered
// it, after the attributes' delete callbacks ran.
//
//export MPI_Win_free
func MPI_Win_free(win *C.MPI_Win) C.int {
	w, err := winOf(*win)
	if err != nil {
		return ret(0, "MPI_Win_free", err)
	}
	for key := range w.attrs {
		if err := winDeleteAttr(*win, w, key); err != nil {
			return ret(0, "MPI_Win_free", err)
		}
	}
	if err := w.c.Barrier(); err != nil {
		return ret(0, "MPI_Win_free", err)
	}
	C.free(unsafe.Pointer(w.vals))
	state.wins.del(int32(*win))
	*win = C.MPI_WIN_NULL
	return C.MPI_SUCCESS
}

//export MPI_Win_get_group
func MPI_Win_get_group(win C.MPI_Win, group *C.MPI_Group) C.int {
	w, err := winOf(win)
	if err != nil {
		return ret(0, "MPI_Win_get_group", err)
	}
	*group = C.MPI_Group(state.groups.add(&groupObj{ranks: w.c.Members()}))
	return C.MPI_SUCCESS
}

// Window keyvals share the table of communicator keyvals; the copy
// callback is kept for symmetry but never runs, since windows cannot be
// duplicated.
//
//export MPI_Win_create_keyval
func MPI_Win_create_keyval(copyFn *C.MPI_Win_copy_attr_function, deleteFn *C.MPI_Win_delete_attr_function, key *C.int, extra unsafe.Pointer) C.int {
	*key = C.int(state.keyvals.add(&keyvalObj{copyFn: unsafe.Pointer(copyFn), deleteFn: unsafe.Pointer(deleteFn), extra: extra, win: true}))
	return C.MPI_SUCCESS
}

//export MPI_Win_free_keyval
func MPI_Win_free_keyval(key *C.int) C.int { return MPI_Comm_free_keyval(key) }

//export MPI_Win_set_attr
func MPI_Win_set_attr(win C.MPI_Win, key C.int, val unsafe.Pointer) C.int {
	w, err := winOf(win)
	if err == nil {
		_, err = keyvalFor(key, true)
	}
	if err != nil {
		return ret(0, "MPI_Win_set_attr", err)
	}
	if _, ok := w.attrs[int32(key)]; ok {
		if err := winDeleteAttr(win, w, int32(key)); err != nil {
			return ret(0, "MPI_Win_set_attr", err)
		}
	}
	if w.attrs == nil {
		w.attrs = map[int32]unsafe.Pointer{}
	}
	w.attrs[int32(key)] = val
	return C.MPI_SUCCESS
}

// MPI_Win_get_attr stores the attribute's value at *(void **)val: for
// MPI_WIN_BASE the base address itself, for the other predefined keys a
// pointer to the value (MPI-3.1 §11.2.6).
//
//export MPI_Win_get_attr
func MPI_Win_get_attr(win C.MPI_Win, key C.int, val unsafe.Pointer, flag *C.int) C.int {
	w, err := winOf(win)
	if err != nil {
		return ret(0, "MPI_Win_get_attr", err)
	}
	out := (*unsafe.Pointer)(val)
	*flag = 1
	switch key {
	case C.MPI_WIN_BASE:
		*out = w.base
		return C.MPI_SUCCESS
	case C.MPI_WIN_SIZE:
		*out = unsafe.Pointer(&w.vals.size)
		return C.MPI_SUCCESS
	case C.MPI_WIN_DISP_UNIT:
		*out = unsafe.Pointer(&w.vals.disp_unit)
		return C.MPI_SUCCESS
	case C.MPI_WIN_CREATE_FLAVOR:
		*out = unsafe.Pointer(&w.vals.flavor)
		return C.MPI_SUCCESS
	case C.MPI_WIN_MODEL:
		*out = unsafe.Pointer(&w.vals.model)
		return C.MPI_SUCCESS
	}
	*flag = 0
	if _, err := keyvalOf(key); err != nil {
		return ret(0, "MPI_Win_get_attr", err)
	}
	v, ok := w.attrs[int32(key)]
	*flag = cbool(ok)
	if ok {
		*out = v
	}
	return C.MPI_SUCCESS
}

//export MPI_Win_delete_attr
func MPI_Win_delete_attr(win C.MPI_Win, key C.int) C.int {
	w, err := winOf(win)
	if err != nil {
		return ret(0, "MPI_Win_delete_attr", err)
	}
	if _, ok := w.attrs[int32(key)]; !ok {
		return ret(0, "MPI_Win_delete_attr", errf(C.MPI_ERR_KEYVAL, "no attribute with key %d on window %d", key, win))
	}
	return ret(0, "MPI_Win_delete_attr", winDeleteAttr(win, w, int32(key)))
}

func winDeleteAttr(win C.MPI_Win, w *winObj, key int32) error {
	return dropAttr(w.attrs, key, func(fn, val, extra unsafe.Pointer) C.int {
		return C.pdvm_call_win_delete_fn((*C.MPI_Win_delete_attr_function)(fn), win, C.int(key), val, extra)
	})
}

//export MPI_Win_set_name
func MPI_Win_set_name(win C.MPI_Win, name C.pdvm_cstr) C.int {
	w, err := winOf(win)
	if err != nil {
		return ret(0, "MPI_Win_set_name", err)
	}
	w.name = C.GoString(name)
	return C.MPI_SUCCESS
}

//export MPI_Win_get_name
func MPI_Win_get_name(win C.MPI_Win, name *C.char, resultlen *C.int) C.int {
	w, err := winOf(win)
	if err != nil {
		return ret(0, "MPI_Win_get_name", err)
	}
	*resultlen = C.int(putString(name, w.name, C.MPI_MAX_OBJECT_NAME))
	return C.MPI_SUCCESS
}
