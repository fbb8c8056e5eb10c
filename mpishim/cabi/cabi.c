/* The parts of the MPI library that are C by nature: variadic functions,
 * calls through user function pointers, long double arithmetic, and the
 * clock, which would cost a transition into Go on every MPI_Wtime. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cabi.h"

double MPI_Wtime(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double MPI_Wtick(void) {
	struct timespec ts;
	if (clock_getres(CLOCK_MONOTONIC, &ts) != 0 || (ts.tv_sec == 0 && ts.tv_nsec == 0))
		return 1e-9;
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int MPI_Pcontrol(const int level, ...) {
	(void)level;
	return MPI_SUCCESS;
}

int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr) {
	(void)info;
	void *p = malloc(size > 0 ? (size_t)size : 1);
	if (p == NULL)
		return MPI_ERR_NO_MEM;
	*(void **)baseptr = p;
	return MPI_SUCCESS;
}

int MPI_Free_mem(void *base) {
	free(base);
	return MPI_SUCCESS;
}

int MPI_Get_address(const void *location, MPI_Aint *address) {
	*address = (MPI_Aint)location;
	return MPI_SUCCESS;
}

MPI_Aint MPI_Aint_add(MPI_Aint base, MPI_Aint disp) { return base + disp; }
MPI_Aint MPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2) { return addr1 - addr2; }

int MPI_COMM_NULL_COPY_FN(MPI_Comm c, int k, void *x, void *in, void *out, int *flag) {
	(void)c; (void)k; (void)x; (void)in; (void)out;
	*flag = 0;
	return MPI_SUCCESS;
}

int MPI_COMM_DUP_FN(MPI_Comm c, int k, void *x, void *in, void *out, int *flag) {
	(void)c; (void)k; (void)x;
	*(void **)out = in;
	*flag = 1;
	return MPI_SUCCESS;
}

int MPI_COMM_NULL_DELETE_FN(MPI_Comm c, int k, void *v, void *x) {
	(void)c; (void)k; (void)v; (void)x;
	return MPI_SUCCESS;
}

int MPI_WIN_NULL_COPY_FN(MPI_Win w, int k, void *x, void *in, void *out, int *flag) {
	(void)w; (void)k; (void)x; (void)in; (void)out;
	*flag = 0;
	return MPI_SUCCESS;
}

int MPI_WIN_DUP_FN(MPI_Win w, int k, void *x, void *in, void *out, int *flag) {
	(void)w; (void)k; (void)x;
	*(void **)out = in;
	*flag = 1;
	return MPI_SUCCESS;
}

int MPI_WIN_NULL_DELETE_FN(MPI_Win w, int k, void *v, void *x) {
	(void)w; (void)k; (void)v; (void)x;
	return MPI_SUCCESS;
}

int pdvm_call_win_delete_fn(MPI_Win_delete_attr_function *f, MPI_Win win, int key, void *val, void *extra) {
	return f(win, key, val, extra);
}

void pdvm_call_user_fn(MPI_User_function *f, void *in, void *inout, int len, MPI_Datatype dt) {
	f(in, inout, &len, &dt);
}

int pdvm_call_copy_fn(MPI_Comm_copy_attr_function *f, MPI_Comm old, int key, void *extra, void *in,
                      void **out, int *flag) {
	return f(old, key, extra, in, (void *)out, flag);
}

int pdvm_call_delete_fn(MPI_Comm_delete_attr_function *f, MPI_Comm comm, int key, void *val, void *extra) {
	return f(comm, key, val, extra);
}

void pdvm_call_errhandler(MPI_Comm_errhandler_function *f, MPI_Comm comm, int code) {
	f(&comm, &code);
}

/* Packed layout of MPI_LONG_DOUBLE_INT: 16 bytes of long double, then the
 * int. memcpy keeps unaligned packed data safe. */
static int reduce_ldc(MPI_Op op, char *io, const char *ip, int n) {
	for (int i = 0; i < n; i++, io += sizeof(long double _Complex), ip += sizeof(long double _Complex)) {
		long double _Complex a, b;
		memcpy(&a, ip, sizeof a);
		memcpy(&b, io, sizeof b);
		switch (op) {
		case MPI_SUM: b = a + b; break;
		case MPI_PROD: b = a * b; break;
		default: return -1;
		}
		memcpy(io, &b, sizeof b);
	}
	return 0;
}

int pdvm_reduce_ld(MPI_Op op, int pair, void *inout, const void *in, int n) {
	if (pair == 2)
		return reduce_ldc(op, inout, in, n);
	size_t step = pair ? 20 : sizeof(long double);
	char *io = inout;
	const char *ip = in;
	for (int i = 0; i < n; i++, io += step, ip += step) {
		long double a, b;
		memcpy(&a, ip, sizeof a);
		memcpy(&b, io, sizeof b);
		if (pair) {
			int ia, ib;
			memcpy(&ia, ip + 16, sizeof ia);
			memcpy(&ib, io + 16, sizeof ib);
			int take;
			if (op == MPI_MAXLOC)
				take = a > b || (a == b && ia < ib);
			else if (op == MPI_MINLOC)
				take = a < b || (a == b && ia < ib);
			else
				return -1;
			if (take) {
				memcpy(io, &a, sizeof a);
				memcpy(io + 16, &ia, sizeof ia);
			}
			continue;
		}
		switch (op) {
		case MPI_SUM: b = a + b; break;
		case MPI_PROD: b = a * b; break;
		case MPI_MAX: b = a > b ? a : b; break;
		case MPI_MIN: b = a < b ? a : b; break;
		default: return -1;
		}
		memcpy(io, &b, sizeof b);
	}
	return 0;
}

#include <pthread.h>
static pthread_t main_thread;
void pdvm_mark_main(void) { main_thread = pthread_self(); }
int pdvm_is_main(void) { return pthread_equal(main_thread, pthread_self()); }
