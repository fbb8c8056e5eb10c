package main

/*
#include "cabi.h"
*/
import "C"

// Error classes, codes and strings a program adds (MPI-3.1 §8.5). An
// error code keeps its class in its low 6 bits, so added classes take
// the values from lastClass+1 to 63. Added codes sit above
// MPI_ERR_LASTCODE, where the codes the library makes never reach, which
// is also what the MPI_LASTUSEDCODE attribute must allow.
const (
	lastClass = C.MPI_ERR_BASE // the highest predefined class
	userCode  = C.MPI_ERR_LASTCODE + 1
)

var added struct {
	classes int            // added classes so far
	codes   int            // added codes so far
	strings map[int]string // for added classes and codes
}

// validClass reports whether class is predefined or was added.
func validClass(class int) bool {
	return class >= 0 && class <= lastClass+added.classes
}

// isAdded reports whether code is an added class or code.
func isAdded(code int) bool {
	return (code > lastClass && code <= lastClass+added.classes) ||
		(code >= userCode && code < userCode+(added.codes+1)<<classBits && validClass(code&(1<<classBits-1)))
}

func setLastUsed(code int) {
	predefinedAttrs[C.MPI_LASTUSEDCODE] = C.int(max(int(predefinedAttrs[C.MPI_LASTUSEDCODE]), code))
}

//export MPI_Add_error_class
func MPI_Add_error_class(class *C.int) C.int {
	if lastClass+added.classes+1 >= 1<<classBits {
		return ret(0, "MPI_Add_error_class", errf(C.MPI_ERR_OTHER, "no room for another error class (%d added)", added.classes))
	}
	added.classes++
	*class = C.int(lastClass + added.classes)
	return C.MPI_SUCCESS
}

//export MPI_Add_error_code
func MPI_Add_error_code(class C.int, code *C.int) C.int {
	if !validClass(int(class)) {
		return ret(0, "MPI_Add_error_code", errf(C.MPI_ERR_ARG, "%d is not an error class", class))
	}
	if userCode+(added.codes+2)<<classBits > 1<<31-1 {
		return ret(0, "MPI_Add_error_code", errf(C.MPI_ERR_OTHER, "no room for another error code"))
	}
	added.codes++
	c := userCode + added.codes<<classBits | int(class)
	setLastUsed(c)
	*code = C.int(c)
	return C.MPI_SUCCESS
}

// MPI_Add_error_string sets the text MPI_Error_string gives for an added
// class or code; predefined ones keep theirs.
//
//export MPI_Add_error_string
func MPI_Add_error_string(code C.int, s C.pdvm_cstr) C.int {
	if !isAdded(int(code)) {
		return ret(0, "MPI_Add_error_string", errf(C.MPI_ERR_ARG, "%d is not an added error class or code", code))
	}
	str := C.GoString(s)
	if len(str) >= C.MPI_MAX_ERROR_STRING {
		return ret(0, "MPI_Add_error_string", errf(C.MPI_ERR_ARG, "an error string of %d characters (at most %d)", len(str), C.MPI_MAX_ERROR_STRING-1))
	}
	if added.strings == nil {
		added.strings = map[int]string{}
	}
	added.strings[int(code)] = str
	return C.MPI_SUCCESS
}
