package main

/*
#include "cabi.h"
*/
import "C"

// Setting a status (MPI-3.1 §12.3, for generalized requests and layered
// libraries). A status counts bytes; these store the byte count that makes
// MPI_Get_elements report the given number of elements.

func setElements(fn string, status *C.MPI_Status, dt C.MPI_Datatype, n int64) C.int {
	t, err := typeOf(dt)
	if err != nil {
		return ret(0, fn, err)
	}
	b, ok := t.BytesFor(n)
	if !ok {
		return ret(0, fn, errf(C.MPI_ERR_COUNT, "no byte count holds exactly %d elements of datatype %d", n, dt))
	}
	status.p2pdvm_count = C.longlong(b)
	return C.MPI_SUCCESS
}

//export MPI_Status_set_elements
func MPI_Status_set_elements(status *C.MPI_Status, dt C.MPI_Datatype, count C.int) C.int {
	return setElements("MPI_Status_set_elements", status, dt, int64(count))
}

//export MPI_Status_set_elements_x
func MPI_Status_set_elements_x(status *C.MPI_Status, dt C.MPI_Datatype, count C.MPI_Count) C.int {
	return setElements("MPI_Status_set_elements_x", status, dt, int64(count))
}

//export MPI_Status_set_cancelled
func MPI_Status_set_cancelled(status *C.MPI_Status, flag C.int) C.int {
	status.p2pdvm_cancelled = cbool(flag != 0)
	return C.MPI_SUCCESS
}
