/* Internal to the p2pdvm MPI library: what the Go side and cabi.c share. */
#ifndef P2PDVM_CABI_H
#define P2PDVM_CABI_H
#include "mpi.h"

/* cgo cannot spell const; exported Go functions name these typedefs so the
 * prototypes cgo writes agree with mpi.h's. */
typedef const void *pdvm_cbuf;
typedef const int *pdvm_cints;
typedef const MPI_Aint *pdvm_caints;
typedef const MPI_Datatype *pdvm_ctypes;
typedef const MPI_Status *pdvm_cstatus;
typedef const char *pdvm_cstr;
typedef int (*pdvm_ranges)[3];

/* The values behind a window's predefined attributes: MPI_Win_get_attr
 * hands out pointers to them, so they live in C memory. */
typedef struct {
	MPI_Aint size;
	int disp_unit, flavor, model;
} pdvm_win_attrs;

/* Calls into user code, made from Go. */
void pdvm_call_user_fn(MPI_User_function *f, void *in, void *inout, int len, MPI_Datatype dt);
int pdvm_call_copy_fn(MPI_Comm_copy_attr_function *f, MPI_Comm old, int key, void *extra, void *in,
                      void **out, int *flag);
int pdvm_call_delete_fn(MPI_Comm_delete_attr_function *f, MPI_Comm comm, int key, void *val, void *extra);
int pdvm_call_win_delete_fn(MPI_Win_delete_attr_function *f, MPI_Win win, int key, void *val, void *extra);
void pdvm_call_errhandler(MPI_Comm_errhandler_function *f, MPI_Comm comm, int code);

/* long double arithmetic, which Go cannot do: inout[i] = in[i] op inout[i]
 * over n packed elements (pair 1: long double then int; pair 2: long
 * double _Complex). Returns 0, or -1 for an op undefined on the type. */
int pdvm_reduce_ld(MPI_Op op, int pair, void *inout, const void *in, int n);

/* The host name for MPI_Get_processor_name. */
#endif

/* MPI_Is_thread_main: the thread that called MPI_Init. */
void pdvm_mark_main(void);
int pdvm_is_main(void);
