package main

/*
#include "cabi.h"
*/
import "C"

import (
	"slices"
	"unsafe"
)

func init() {
	state.groups.predefine(int32(C.MPI_GROUP_EMPTY), &groupObj{})
}

func groupOf(h C.MPI_Group) (*groupObj, error) {
	g := state.groups.get(int32(h))
	if g == nil {
		return nil, errf(C.MPI_ERR_GROUP, "invalid group %d", h)
	}
	return g, nil
}

func newGroup(fn string, ranks []int, err error, out *C.MPI_Group) C.int {
	if err != nil {
		*out = C.MPI_GROUP_NULL
		return ret(0, fn, err)
	}
	if len(ranks) == 0 { // MPI-3.1 6.3.2: an empty result is MPI_GROUP_EMPTY
		*out = C.MPI_GROUP_EMPTY
		return C.MPI_SUCCESS
	}
	*out = C.MPI_Group(state.groups.add(&groupObj{ranks: ranks}))
	return C.MPI_SUCCESS
}

//export MPI_Group_size
func MPI_Group_size(h C.MPI_Group, size *C.int) C.int {
	g, err := groupOf(h)
	if err != nil {
		return ret(0, "MPI_Group_size", err)
	}
	*size = C.int(len(g.ranks))
	return C.MPI_SUCCESS
}

//export MPI_Group_rank
func MPI_Group_rank(h C.MPI_Group, rank *C.int) C.int {
	g, err := groupOf(h)
	if err != nil {
		return ret(0, "MPI_Group_rank", err)
	}
	*rank = C.MPI_UNDEFINED
	if i := slices.Index(g.ranks, state.world.Rank()); i >= 0 {
		*rank = C.int(i)
	}
	return C.MPI_SUCCESS
}

// pick returns the members of g at the given group ranks, which must be
// valid and distinct.
func pick(g *groupObj, ranks []int) ([]int, error) {
	seen := make(map[int]bool, len(ranks))
	out := make([]int, 0, len(ranks))
	for _, r := range ranks {
		if r < 0 || r >= len(g.ranks) {
			return nil, errf(C.MPI_ERR_RANK, "rank %d in a group of %d", r, len(g.ranks))
		}
		if seen[r] {
			return nil, errf(C.MPI_ERR_RANK, "rank %d given twice", r)
		}
		seen[r] = true
		out = append(out, g.ranks[r])
	}
	return out, nil
}

// without returns g's members except those at the given group ranks.
func without(g *groupObj, ranks []int) ([]int, error) {
	drop, err := pick(g, ranks)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, w := range g.ranks {
		if !slices.Contains(drop, w) {
			out = append(out, w)
		}
	}
	return out, nil
}

//export MPI_Group_incl
func MPI_Group_incl(h C.MPI_Group, n C.int, ranks C.pdvm_cints, out *C.MPI_Group) C.int {
	g, err := groupOf(h)
	var rs []int
	if err == nil {
		rs, err = pick(g, ints(ranks, n))
	}
	return newGroup("MPI_Group_incl", rs, err, out)
}

//export MPI_Group_excl
func MPI_Group_excl(h C.MPI_Group, n C.int, ranks C.pdvm_cints, out *C.MPI_Group) C.int {
	g, err := groupOf(h)
	var rs []int
	if err == nil {
		rs, err = without(g, ints(ranks, n))
	}
	return newGroup("MPI_Group_excl", rs, err, out)
}

// expand turns (first, last, stride) triples into group ranks.
func expand(ranges C.pdvm_ranges, n C.int, size int) ([]int, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []int
	for _, t := range unsafe.Slice(ranges, int(n)) {
		first, last, stride := int(t[0]), int(t[1]), int(t[2])
		if stride == 0 || (stride > 0 && first > last) || (stride < 0 && first < last) {
			return nil, errf(C.MPI_ERR_ARG, "range (%d, %d, %d) is empty or has stride 0", first, last, stride)
		}
		for r := first; (stride > 0 && r <= last) || (stride < 0 && r >= last); r += stride {
			if len(out) > size {
				return nil, errf(C.MPI_ERR_RANK, "ranges name more ranks than the group has")
			}
			out = append(out, r)
		}
	}
	return out, nil
}

//export MPI_Group_range_incl
func MPI_Group_range_incl(h C.MPI_Group, n C.int, ranges C.pdvm_ranges, out *C.MPI_Group) C.int {
	g, err := groupOf(h)
	var rs []int
	if err == nil {
		rs, err = expand(ranges, n, len(g.ranks))
	}
	if err == nil {
		rs, err = pick(g, rs)
	}
	return newGroup("MPI_Group_range_incl", rs, err, out)
}

//export MPI_Group_range_excl
func MPI_Group_range_excl(h C.MPI_Group, n C.int, ranges C.pdvm_ranges, out *C.MPI_Group) C.int {
	g, err := groupOf(h)
	var rs []int
	if err == nil {
		rs, err = expand(ranges, n, len(g.ranks))
	}
	if err == nil {
		rs, err = without(g, rs)
	}
	return newGroup("MPI_Group_range_excl", rs, err, out)
}

func setOp(fn string, a, b C.MPI_Group, out *C.MPI_Group, keep func(inB bool) bool, addB bool) C.int {
	ga, err := groupOf(a)
	if err != nil {
		return newGroup(fn, nil, err, out)
	}
	gb, err := groupOf(b)
	if err != nil {
		return newGroup(fn, nil, err, out)
	}
	var rs []int
	for _, w := range ga.ranks {
		if keep(slices.Contains(gb.ranks, w)) {
			rs = append(rs, w)
		}
	}
	if addB {
		for _, w := range gb.ranks {
			if !slices.Contains(ga.ranks, w) {
				rs = append(rs, w)
			}
		}
	}
	return newGroup(fn, rs, nil, out)
}

//export MPI_Group_union
func MPI_Group_union(a, b C.MPI_Group, out *C.MPI_Group) C.int {
	return setOp("MPI_Group_union", a, b, out, func(bool) bool { return true }, true)
}

//export MPI_Group_intersection
func MPI_Group_intersection(a, b C.MPI_Group, out *C.MPI_Group) C.int {
	return setOp("MPI_Group_intersection", a, b, out, func(inB bool) bool { return inB }, false)
}

//export MPI_Group_difference
func MPI_Group_difference(a, b C.MPI_Group, out *C.MPI_Group) C.int {
	return setOp("MPI_Group_difference", a, b, out, func(inB bool) bool { return !inB }, false)
}

//export MPI_Group_translate_ranks
func MPI_Group_translate_ranks(a C.MPI_Group, n C.int, ranks C.pdvm_cints, b C.MPI_Group, out *C.int) C.int {
	ga, err := groupOf(a)
	if err != nil {
		return ret(0, "MPI_Group_translate_ranks", err)
	}
	gb, err := groupOf(b)
	if err != nil {
		return ret(0, "MPI_Group_translate_ranks", err)
	}
	if n <= 0 {
		return C.MPI_SUCCESS
	}
	res := unsafe.Slice(out, int(n))
	for i, r := range ints(ranks, n) {
		switch {
		case r == C.MPI_PROC_NULL:
			res[i] = C.MPI_PROC_NULL
		case r < 0 || r >= len(ga.ranks):
			return ret(0, "MPI_Group_translate_ranks", errf(C.MPI_ERR_RANK, "rank %d in a group of %d", r, len(ga.ranks)))
		default:
			res[i] = C.MPI_UNDEFINED
			if j := slices.Index(gb.ranks, ga.ranks[r]); j >= 0 {
				res[i] = C.int(j)
			}
		}
	}
	return C.MPI_SUCCESS
}

//export MPI_Group_compare
func MPI_Group_compare(a, b C.MPI_Group, result *C.int) C.int {
	ga, err := groupOf(a)
	if err != nil {
		return ret(0, "MPI_Group_compare", err)
	}
	gb, err := groupOf(b)
	if err != nil {
		return ret(0, "MPI_Group_compare", err)
	}
	*result = compareRanks(ga.ranks, gb.ranks)
	return C.MPI_SUCCESS
}

//export MPI_Group_free
func MPI_Group_free(h *C.MPI_Group) C.int {
	if _, err := groupOf(*h); err != nil {
		return ret(0, "MPI_Group_free", err)
	}
	state.groups.del(int32(*h))
	*h = C.MPI_GROUP_NULL
	return C.MPI_SUCCESS
}
