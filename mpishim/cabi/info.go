package main

/*
#include "cabi.h"
*/
import "C"

import (
	"slices"
)

// Info objects (MPI-3.1 §9): ordered (key, value) pairs of strings. The
// library takes no hints from them, which MPI allows, but they hold and
// return what a program stores, as MPI requires.

type infoEntry struct{ key, val string }

type infoObj struct{ entries []infoEntry }

func (o *infoObj) find(key string) int {
	return slices.IndexFunc(o.entries, func(e infoEntry) bool { return e.key == key })
}

func infoOf(h C.MPI_Info) (*infoObj, error) {
	o := state.infos.get(int32(h))
	if o == nil {
		return nil, errf(C.MPI_ERR_INFO, "invalid info object %d", h)
	}
	return o, nil
}

// infoKey checks a key's length: MPI_MAX_INFO_KEY characters at most,
// and not empty.
func infoKey(key C.pdvm_cstr) (string, error) {
	k := C.GoString(key)
	if len(k) == 0 || len(k) > C.MPI_MAX_INFO_KEY {
		return "", errf(C.MPI_ERR_INFO_KEY, "info key of %d characters (1 to %d allowed)", len(k), C.MPI_MAX_INFO_KEY)
	}
	return k, nil
}

//export MPI_Info_create
func MPI_Info_create(info *C.MPI_Info) C.int {
	*info = C.MPI_Info(state.infos.add(&infoObj{}))
	return C.MPI_SUCCESS
}

//export MPI_Info_set
func MPI_Info_set(info C.MPI_Info, key, val C.pdvm_cstr) C.int {
	o, err := infoOf(info)
	if err != nil {
		return ret(0, "MPI_Info_set", err)
	}
	k, err := infoKey(key)
	if err != nil {
		return ret(0, "MPI_Info_set", err)
	}
	v := C.GoString(val)
	if len(v) == 0 || len(v) > C.MPI_MAX_INFO_VAL {
		return ret(0, "MPI_Info_set", errf(C.MPI_ERR_INFO_VALUE, "info value of %d characters (1 to %d allowed)", len(v), C.MPI_MAX_INFO_VAL))
	}
	if i := o.find(k); i >= 0 {
		o.entries[i].val = v
	} else {
		o.entries = append(o.entries, infoEntry{k, v})
	}
	return C.MPI_SUCCESS
}

// MPI_Info_get copies at most valuelen characters of the value and a NUL
// after them: valuelen is one less than the space the caller has.
//
//export MPI_Info_get
func MPI_Info_get(info C.MPI_Info, key C.pdvm_cstr, valuelen C.int, val *C.char, flag *C.int) C.int {
	o, err := infoOf(info)
	if err == nil && valuelen < 0 {
		err = errf(C.MPI_ERR_ARG, "negative valuelen %d", valuelen)
	}
	var k string
	if err == nil {
		k, err = infoKey(key)
	}
	if err != nil {
		return ret(0, "MPI_Info_get", err)
	}
	i := o.find(k)
	*flag = cbool(i >= 0)
	if i >= 0 {
		putString(val, o.entries[i].val, int(valuelen)+1)
	}
	return C.MPI_SUCCESS
}

//export MPI_Info_get_valuelen
func MPI_Info_get_valuelen(info C.MPI_Info, key C.pdvm_cstr, valuelen, flag *C.int) C.int {
	o, err := infoOf(info)
	var k string
	if err == nil {
		k, err = infoKey(key)
	}
	if err != nil {
		return ret(0, "MPI_Info_get_valuelen", err)
	}
	i := o.find(k)
	*flag = cbool(i >= 0)
	if i >= 0 {
		*valuelen = C.int(len(o.entries[i].val))
	}
	return C.MPI_SUCCESS
}

//export MPI_Info_get_nkeys
func MPI_Info_get_nkeys(info C.MPI_Info, nkeys *C.int) C.int {
	o, err := infoOf(info)
	if err != nil {
		return ret(0, "MPI_Info_get_nkeys", err)
	}
	*nkeys = C.int(len(o.entries))
	return C.MPI_SUCCESS
}

// MPI_Info_get_nthkey writes the key with its NUL; the caller's buffer
// holds MPI_MAX_INFO_KEY+1 characters, which any stored key fits.
//
//export MPI_Info_get_nthkey
func MPI_Info_get_nthkey(info C.MPI_Info, n C.int, key *C.char) C.int {
	o, err := infoOf(info)
	if err != nil {
		return ret(0, "MPI_Info_get_nthkey", err)
	}
	if n < 0 || int(n) >= len(o.entries) {
		return ret(0, "MPI_Info_get_nthkey", errf(C.MPI_ERR_ARG, "key %d of an info object with %d keys", n, len(o.entries)))
	}
	putString(key, o.entries[n].key, C.MPI_MAX_INFO_KEY+1)
	return C.MPI_SUCCESS
}

//export MPI_Info_delete
func MPI_Info_delete(info C.MPI_Info, key C.pdvm_cstr) C.int {
	o, err := infoOf(info)
	var k string
	if err == nil {
		k, err = infoKey(key)
	}
	if err != nil {
		return ret(0, "MPI_Info_delete", err)
	}
	i := o.find(k)
	if i < 0 {
		return ret(0, "MPI_Info_delete", errf(C.MPI_ERR_INFO_NOKEY, "no info key %q", k))
	}
	o.entries = slices.Delete(o.entries, i, i+1)
	return C.MPI_SUCCESS
}

//export MPI_Info_dup
func MPI_Info_dup(info C.MPI_Info, out *C.MPI_Info) C.int {
	o, err := infoOf(info)
	if err != nil {
		return ret(0, "MPI_Info_dup", err)
	}
	*out = C.MPI_Info(state.infos.add(&infoObj{entries: slices.Clone(o.entries)}))
	return C.MPI_SUCCESS
}

//export MPI_Info_free
func MPI_Info_free(info *C.MPI_Info) C.int {
	if _, err := infoOf(*info); err != nil {
		return ret(0, "MPI_Info_free", err)
	}
	state.infos.del(int32(*info))
	*info = C.MPI_INFO_NULL
	return C.MPI_SUCCESS
}

// infoOK checks an info argument that may also be MPI_INFO_NULL.
func infoOK(h C.MPI_Info) error {
	if h == C.MPI_INFO_NULL {
		return nil
	}
	_, err := infoOf(h)
	return err
}
