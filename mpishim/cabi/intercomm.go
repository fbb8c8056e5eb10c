package main

/*
#include "cabi.h"
*/
import "C"

import (
	"github.com/p2pdvm/p2pdvm/mpishim"
)

// Intercommunicators (MPI-3.1 §6.6): creation, the remote group, merge.
// Point to point on them lives in mpishim, where ranks name the remote
// group; collectives on them fail in collComm.

//export MPI_Comm_test_inter
func MPI_Comm_test_inter(comm C.MPI_Comm, flag *C.int) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_test_inter", err)
	}
	*flag = cbool(co.c.IsInter())
	return C.MPI_SUCCESS
}

// interOf returns the intercommunicator behind h, or MPI_ERR_COMM.
func interOf(h C.MPI_Comm) (*commObj, error) {
	co, err := commOf(h)
	if err != nil {
		return nil, err
	}
	if !co.c.IsInter() {
		return nil, errf(C.MPI_ERR_COMM, "communicator %d is not an intercommunicator", h)
	}
	return co, nil
}

//export MPI_Comm_remote_size
func MPI_Comm_remote_size(comm C.MPI_Comm, size *C.int) C.int {
	co, err := interOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_remote_size", err)
	}
	*size = C.int(len(co.c.RemoteMembers()))
	return C.MPI_SUCCESS
}

//export MPI_Comm_remote_group
func MPI_Comm_remote_group(comm C.MPI_Comm, group *C.MPI_Group) C.int {
	co, err := interOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_remote_group", err)
	}
	*group = C.MPI_Group(state.groups.add(&groupObj{ranks: co.c.RemoteMembers()}))
	return C.MPI_SUCCESS
}

// MPI_Intercomm_create: peer and remote_leader matter only at the local
// leader, as the standard says; elsewhere peer may be anything.
//
//export MPI_Intercomm_create
func MPI_Intercomm_create(local C.MPI_Comm, localLeader C.int, peer C.MPI_Comm, remoteLeader, tag C.int, out *C.MPI_Comm) C.int {
	co, err := commOf(local)
	if err != nil {
		return ret(local, "MPI_Intercomm_create", err)
	}
	var pc *mpishim.Comm
	if int(localLeader) == co.c.Rank() {
		po, err := commOf(peer)
		if err != nil {
			return ret(local, "MPI_Intercomm_create", err)
		}
		pc = po.c
	}
	c, err := co.c.IntercommCreate(int(localLeader), pc, int(remoteLeader), int(tag))
	return newComm("MPI_Intercomm_create", local, c, err, out)
}

//export MPI_Intercomm_merge
func MPI_Intercomm_merge(comm C.MPI_Comm, high C.int, out *C.MPI_Comm) C.int {
	co, err := interOf(comm)
	if err != nil {
		return ret(comm, "MPI_Intercomm_merge", err)
	}
	c, err := co.c.Merge(high != 0)
	return newComm("MPI_Intercomm_merge", comm, c, err, out)
}

// MPI_Comm_create_group is collective over the group only (MPI-3.1
// §6.4.2); the tag separates concurrent calls from several threads, which
// mpishim's ordering already keeps apart (see CreateGroup).
//
//export MPI_Comm_create_group
func MPI_Comm_create_group(comm C.MPI_Comm, group C.MPI_Group, tag C.int, out *C.MPI_Comm) C.int {
	co, err := commOf(comm)
	if err != nil {
		return ret(comm, "MPI_Comm_create_group", err)
	}
	g := state.groups.get(int32(group))
	if g == nil {
		return ret(comm, "MPI_Comm_create_group", errf(C.MPI_ERR_GROUP, "invalid group %d", group))
	}
	if tag < 0 || tag > mpishim.TagUB {
		return ret(comm, "MPI_Comm_create_group", errf(C.MPI_ERR_TAG, "tag %d out of range", tag))
	}
	c, err := co.c.CreateGroup(g.ranks)
	return newComm("MPI_Comm_create_group", comm, c, err, out)
}
