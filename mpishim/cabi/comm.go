package main

/*
#include "cabi.h"
*/
import "C"

import (
	"slices"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

func newComm(fn string, comm C.MPI_Comm, c *mpishim.Comm, err error, out *C.MPI_Comm) C.int {
	if err != nil {
		*out = C.MPI_COMM_NULL
		return ret(comm, fn, err)
	}
	if c == nil {
		*out = C.MPI_COMM_NULL
		return C.MPI_SUCCESS
	}
	parent, _ := commOf(comm)
	*out = C.MPI_Comm(state.comms.add(&commObj{c: c, errh: parent.errh}))
	return C.MPI_SUCCESS
}

//export MPI_Comm_dup
func MPI_Comm_dup(comm C.MPI_Comm, out *C.MPI_Comm) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_dup", err)
	}
	c, err := co.c.Dup()
	if rc := newComm("MPI_Comm_dup", comm, c, err, out); rc != C.MPI_SUCCESS {
		return rc
	}
	if err := copyAttrs(comm, co, state.comms.get(int32(*out))); err != nil {
		return ret(comm, "MPI_Comm_dup", err)
	}
	return C.MPI_SUCCESS
}

//export MPI_Comm_split
func MPI_Comm_split(comm C.MPI_Comm, color, key C.int, out *C.MPI_Comm) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_split", err)
	}
	col := int(color)
	if color == C.MPI_UNDEFINED {
		col = mpishim.Undefined
	} else if color < 0 {
		return ret(comm, "MPI_Comm_split", errf(C.MPI_ERR_ARG, "color %d is negative and not MPI_UNDEFINED", color))
	}
	c, err := co.c.Split(col, int(key))
	return newComm("MPI_Comm_split", comm, c, err, out)
}

// MPI_Comm_create: on an intracommunicator the group's members get a
// communicator of their own; on an intercommunicator each side names a
// subgroup of its local group and the two are joined (mpishim.CreateFrom).
//
//export MPI_Comm_create
func MPI_Comm_create(comm C.MPI_Comm, group C.MPI_Group, out *C.MPI_Comm) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_create", err)
	}
	g := state.groups.get(int32(group))
	if g == nil {
		return ret(comm, "MPI_Comm_create", errf(C.MPI_ERR_GROUP, "invalid group %d", group))
	}
	members := co.c.Members()
	for _, w := range g.ranks {
		if !slices.Contains(members, w) {
			return ret(comm, "MPI_Comm_create", errf(C.MPI_ERR_GROUP, "the group has a process (world rank %d) that is not in the communicator", w))
		}
	}
	c, err := co.c.CreateFrom(g.ranks)
	return newComm("MPI_Comm_create", comm, c, err, out)
}

//export MPI_Comm_free
func MPI_Comm_free(comm *C.MPI_Comm) C.int {
	h := *comm
	if _, err := commOf(h); err != nil {
		return ret(h, "MPI_Comm_free", err)
	}
	if int32(h) < state.comms.fixed {
		return ret(h, "MPI_Comm_free", errf(C.MPI_ERR_COMM, "MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed"))
	}
	if err := deleteAllAttrs(h); err != nil {
		return ret(h, "MPI_Comm_free", err)
	}
	state.comms.del(int32(h))
	*comm = C.MPI_COMM_NULL
	return C.MPI_SUCCESS
}

//export MPI_Comm_compare
func MPI_Comm_compare(a, b C.MPI_Comm, result *C.int) C.int {
	ca, err := commOf(a)
	if err != nil {
		return ret(a, "MPI_Comm_compare", err)
	}
	cb, err := commOf(b)
	if err != nil {
		return ret(b, "MPI_Comm_compare", err)
	}
	if a == b {
		*result = C.MPI_IDENT
		return C.MPI_SUCCESS
	}
	if ca.c.IsInter() != cb.c.IsInter() {
		*result = C.MPI_UNEQUAL
		return C.MPI_SUCCESS
	}
	*result = compareRanks(ca.c.Members(), cb.c.Members())
	if r := compareRanks(ca.c.RemoteMembers(), cb.c.RemoteMembers()); r > *result {
		*result = r // an intercommunicator compares as the worse of its two groups
	}
	if *result == C.MPI_IDENT {
		*result = C.MPI_CONGRUENT
	}
	return C.MPI_SUCCESS
}

// compareRanks compares two ordered sets of processes as groups do.
func compareRanks(a, b []int) C.int {
	if slices.Equal(a, b) {
		return C.MPI_IDENT
	}
	if len(a) != len(b) {
		return C.MPI_UNEQUAL
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	if slices.Equal(sa, sb) {
		return C.MPI_SIMILAR
	}
	return C.MPI_UNEQUAL
}

//export MPI_Comm_group
func MPI_Comm_group(comm C.MPI_Comm, group *C.MPI_Group) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_group", err)
	}
	*group = C.MPI_Group(state.groups.add(&groupObj{ranks: co.c.Members()}))
	return C.MPI_SUCCESS
}

//export MPI_Comm_set_name
func MPI_Comm_set_name(comm C.MPI_Comm, name C.pdvm_cstr) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_set_name", err)
	}
	co.name = C.GoString(name)
	return C.MPI_SUCCESS
}

//export MPI_Comm_get_name
func MPI_Comm_get_name(comm C.MPI_Comm, name *C.char, resultlen *C.int) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_get_name", err)
	}
	*resultlen = C.int(putString(name, co.name, C.MPI_MAX_OBJECT_NAME))
	return C.MPI_SUCCESS
}
