package main

/*
#include <stdlib.h>
#include "cabi.h"
*/
import "C"

import (
	"cmp"
	"maps"
	"slices"
	"unsafe"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// predefinedAttrs are the values behind the predefined attribute keys, in
// C memory because MPI_Comm_get_attr hands out a pointer to them.
var predefinedAttrs *[8]C.int

func init() {
	state.keyvals.predefine(C.MPI_APPNUM, &keyvalObj{}) // keys 1..7 are predefined
	predefinedAttrs = (*[8]C.int)(C.calloc(8, C.size_t(unsafe.Sizeof(C.int(0)))))
	predefinedAttrs[C.MPI_TAG_UB] = mpishim.TagUB
	predefinedAttrs[C.MPI_HOST] = C.MPI_PROC_NULL
	predefinedAttrs[C.MPI_IO] = C.MPI_ANY_SOURCE // every process can do I/O
	predefinedAttrs[C.MPI_WTIME_IS_GLOBAL] = 0
	predefinedAttrs[C.MPI_APPNUM] = 0
	predefinedAttrs[C.MPI_LASTUSEDCODE] = C.MPI_ERR_LASTCODE // grows with MPI_Add_error_code
}

func keyvalOf(key C.int) (*keyvalObj, error) {
	kv := state.keyvals.get(int32(key))
	if kv == nil || int32(key) < state.keyvals.fixed {
		return nil, errf(C.MPI_ERR_KEYVAL, "invalid attribute key %d", key)
	}
	return kv, nil
}

// keyvalFor is keyvalOf for setting an attribute on a window (win) or a
// communicator: a key made for the other kind would get callbacks that
// take the wrong handle.
func keyvalFor(key C.int, win bool) (*keyvalObj, error) {
	kv, err := keyvalOf(key)
	if err == nil && kv.win != win {
		err = errf(C.MPI_ERR_KEYVAL, "attribute key %d was made for another kind of object", key)
	}
	return kv, err
}

//export MPI_Comm_create_keyval
func MPI_Comm_create_keyval(copyFn *C.MPI_Comm_copy_attr_function, deleteFn *C.MPI_Comm_delete_attr_function, key *C.int, extra unsafe.Pointer) C.int {
	*key = C.int(state.keyvals.add(&keyvalObj{copyFn: unsafe.Pointer(copyFn), deleteFn: unsafe.Pointer(deleteFn), extra: extra}))
	return C.MPI_SUCCESS
}

//export MPI_Keyval_create
func MPI_Keyval_create(copyFn *C.MPI_Comm_copy_attr_function, deleteFn *C.MPI_Comm_delete_attr_function, key *C.int, extra unsafe.Pointer) C.int {
	return MPI_Comm_create_keyval(copyFn, deleteFn, key, extra)
}

// MPI_Comm_free_keyval invalidates the caller's handle. Attributes still
// set with the key keep their callbacks, as MPI requires, so the table
// entry stays until no communicator carries one.
//
//export MPI_Comm_free_keyval
func MPI_Comm_free_keyval(key *C.int) C.int {
	if _, err := keyvalOf(*key); err != nil {
		return ret(0, "MPI_Comm_free_keyval", err)
	}
	if !keyInUse(int32(*key)) {
		state.keyvals.del(int32(*key))
	}
	*key = C.MPI_KEYVAL_INVALID
	return C.MPI_SUCCESS
}

//export MPI_Keyval_free
func MPI_Keyval_free(key *C.int) C.int { return MPI_Comm_free_keyval(key) }

func keyInUse(key int32) bool {
	for _, co := range state.comms.items {
		if co != nil {
			if _, ok := co.attrs[key]; ok {
				return true
			}
		}
	}
	for _, w := range state.wins.items {
		if w != nil {
			if _, ok := w.attrs[key]; ok {
				return true
			}
		}
	}
	return false
}

//export MPI_Comm_set_attr
func MPI_Comm_set_attr(comm C.MPI_Comm, key C.int, val unsafe.Pointer) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_set_attr", err)
	}
	if _, err := keyvalFor(key, false); err != nil {
		return ret(comm, "MPI_Comm_set_attr", err)
	}
	if _, ok := co.attrs[int32(key)]; ok {
		if err := deleteAttr(comm, co, int32(key)); err != nil {
			return ret(comm, "MPI_Comm_set_attr", err)
		}
	}
	co.setAttr(int32(key), val)
	return C.MPI_SUCCESS
}

//export MPI_Attr_put
func MPI_Attr_put(comm C.MPI_Comm, key C.int, val unsafe.Pointer) C.int {
	return MPI_Comm_set_attr(comm, key, val)
}

// MPI_Comm_get_attr stores the attribute's value, a pointer, at
// *(void **)val.
//
//export MPI_Comm_get_attr
func MPI_Comm_get_attr(comm C.MPI_Comm, key C.int, val unsafe.Pointer, flag *C.int) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_get_attr", err)
	}
	out := (*unsafe.Pointer)(val)
	switch key {
	case C.MPI_TAG_UB, C.MPI_HOST, C.MPI_IO, C.MPI_WTIME_IS_GLOBAL, C.MPI_APPNUM, C.MPI_LASTUSEDCODE:
		*out, *flag = unsafe.Pointer(&predefinedAttrs[key]), 1
		return C.MPI_SUCCESS
	case C.MPI_UNIVERSE_SIZE:
		*flag = 0
		return C.MPI_SUCCESS
	}
	if state.keyvals.get(int32(key)) == nil {
		return ret(comm, "MPI_Comm_get_attr", errf(C.MPI_ERR_KEYVAL, "invalid attribute key %d", key))
	}
	v, ok := co.attrs[int32(key)]
	*flag = cbool(ok)
	if ok {
		*out = v
	}
	return C.MPI_SUCCESS
}

//export MPI_Attr_get
func MPI_Attr_get(comm C.MPI_Comm, key C.int, val unsafe.Pointer, flag *C.int) C.int {
	return MPI_Comm_get_attr(comm, key, val, flag)
}

//export MPI_Comm_delete_attr
func MPI_Comm_delete_attr(comm C.MPI_Comm, key C.int) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_delete_attr", err)
	}
	if _, ok := co.attrs[int32(key)]; !ok {
		return ret(comm, "MPI_Comm_delete_attr", errf(C.MPI_ERR_KEYVAL, "no attribute with key %d on communicator %d", key, comm))
	}
	return ret(comm, "MPI_Comm_delete_attr", deleteAttr(comm, co, int32(key)))
}

//export MPI_Attr_delete
func MPI_Attr_delete(comm C.MPI_Comm, key C.int) C.int { return MPI_Comm_delete_attr(comm, key) }

// deleteAttr runs the key's delete callback and removes the attribute; a
// callback that fails leaves it in place, as MPI says.
func deleteAttr(comm C.MPI_Comm, co *commObj, key int32) error {
	return dropAttr(co.attrs, key, func(fn, val, extra unsafe.Pointer) C.int {
		return C.pdvm_call_delete_fn((*C.MPI_Comm_delete_attr_function)(fn), comm, C.int(key), val, extra)
	})
}

// dropAttr removes attribute key from attrs after its keyval's delete
// callback, made by call (which knows the object's kind), succeeded.
func dropAttr(attrs map[int32]unsafe.Pointer, key int32, call func(fn, val, extra unsafe.Pointer) C.int) error {
	kv := state.keyvals.get(key)
	if kv != nil && kv.deleteFn != nil {
		if rc := call(kv.deleteFn, attrs[key], kv.extra); rc != C.MPI_SUCCESS {
			return errf(int(rc)&(1<<classBits-1), "the delete callback of key %d failed with %d", key, rc)
		}
	}
	delete(attrs, key)
	return nil
}

// attrSeq counts attribute settings, for commObj.setAt.
var attrSeq uint64

func (co *commObj) setAttr(key int32, val unsafe.Pointer) {
	if co.attrs == nil {
		co.attrs, co.setAt = map[int32]unsafe.Pointer{}, map[int32]uint64{}
	}
	attrSeq++
	co.attrs[key], co.setAt[key] = val, attrSeq
}

// deleteAllAttrs deletes comm's attributes, the last set first.
func deleteAllAttrs(comm C.MPI_Comm) error {
	co := state.comms.get(int32(comm))
	if co == nil {
		return nil
	}
	keys := slices.Collect(maps.Keys(co.attrs))
	slices.SortFunc(keys, func(a, b int32) int { return cmp.Compare(co.setAt[b], co.setAt[a]) })
	for _, key := range keys {
		if err := deleteAttr(comm, co, key); err != nil {
			return err
		}
	}
	return nil
}

// copyAttrs runs the copy callbacks of old's attributes for its
// duplicate (MPI_Comm_dup).
func copyAttrs(old C.MPI_Comm, from, to *commObj) error {
	for key, v := range from.attrs {
		kv := state.keyvals.get(key)
		if kv == nil || kv.copyFn == nil {
			continue
		}
		var out unsafe.Pointer
		var flag C.int
		rc := C.pdvm_call_copy_fn((*C.MPI_Comm_copy_attr_function)(kv.copyFn), old, C.int(key), kv.extra, v, &out, &flag)
		if rc != C.MPI_SUCCESS {
			return errf(int(rc)&(1<<classBits-1), "the copy callback of key %d failed with %d", key, rc)
		}
		if flag != 0 {
			to.setAttr(key, out)
		}
	}
	return nil
}

func init() {
	state.errhs.predefine(int32(C.MPI_ERRORS_ARE_FATAL), &errhObj{})
	state.errhs.predefine(int32(C.MPI_ERRORS_RETURN), &errhObj{})
}

//export MPI_Comm_create_errhandler
func MPI_Comm_create_errhandler(fn *C.MPI_Comm_errhandler_function, eh *C.MPI_Errhandler) C.int {
	if fn == nil {
		return ret(0, "MPI_Comm_create_errhandler", errf(C.MPI_ERR_ARG, "null function"))
	}
	*eh = C.MPI_Errhandler(state.errhs.add(&errhObj{fn: unsafe.Pointer(fn)}))
	return C.MPI_SUCCESS
}

//export MPI_Comm_set_errhandler
func MPI_Comm_set_errhandler(comm C.MPI_Comm, eh C.MPI_Errhandler) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_set_errhandler", err)
	}
	if state.errhs.get(int32(eh)) == nil {
		return ret(comm, "MPI_Comm_set_errhandler", errf(C.MPI_ERR_ARG, "invalid error handler %d", eh))
	}
	co.errh = int32(eh)
	return C.MPI_SUCCESS
}

//export MPI_Errhandler_set
func MPI_Errhandler_set(comm C.MPI_Comm, eh C.MPI_Errhandler) C.int {
	return MPI_Comm_set_errhandler(comm, eh)
}

//export MPI_Comm_get_errhandler
func MPI_Comm_get_errhandler(comm C.MPI_Comm, eh *C.MPI_Errhandler) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_get_errhandler", err)
	}
	*eh = C.MPI_Errhandler(errhOf(co))
	return C.MPI_SUCCESS
}

//export MPI_Errhandler_get
func MPI_Errhandler_get(comm C.MPI_Comm, eh *C.MPI_Errhandler) C.int {
	return MPI_Comm_get_errhandler(comm, eh)
}

//export MPI_Errhandler_free
func MPI_Errhandler_free(eh *C.MPI_Errhandler) C.int {
	if state.errhs.get(int32(*eh)) == nil {
		return ret(0, "MPI_Errhandler_free", errf(C.MPI_ERR_ARG, "invalid error handler %d", *eh))
	}
	// A communicator still using it keeps working: only the handle goes.
	inUse := false
	for _, co := range state.comms.items {
		inUse = inUse || (co != nil && errhOf(co) == int32(*eh))
	}
	if !inUse {
		state.errhs.del(int32(*eh))
	}
	*eh = C.MPI_ERRHANDLER_NULL
	return C.MPI_SUCCESS
}

//export MPI_Comm_call_errhandler
func MPI_Comm_call_errhandler(comm C.MPI_Comm, code C.int) C.int {
	if _, err := commOf(comm); err != nil {
		return ret(comm, "MPI_Comm_call_errhandler", err)
	}
	invoke(comm, code, "MPI_Comm_call_errhandler: "+codeString(int(code)))
	return C.MPI_SUCCESS
}
