/* ranks: 1 2 3 4 */
/* errh.c: error handlers and classes. Comm_get/set_errhandler (predefined
 * handlers, inheritance by Comm_dup); under MPI_ERRORS_RETURN erroneous
 * calls return the right class (rank, tag, count, communicator, root,
 * datatype, op); Error_class, Error_string (length, bound); a user handler
 * from Comm_create_errhandler that is invoked with the right communicator and
 * code, keeps working after Errhandler_free, and is inherited; and
 * Comm_call_errhandler. Every erroneous call is made by every rank alike, so
 * collectives fail everywhere without communicating. */
#include "ctest.h"

static int rank, size;
static int calls, last_code;
static MPI_Comm last_comm = MPI_COMM_NULL;

static void handler(MPI_Comm *comm, int *code, ...)
{
    calls++;
    last_code = *code;
    last_comm = *comm;
}

static int class_of(int code)
{
    int c = -1;
    MPI_Error_class(code, &c);
    return c;
}

/* rc is an error of class want, with a proper error string */
#define EXPECT_CLASS(rc, want, what)                                          \
    do {                                                                      \
        int rc_ = (rc), cls_ = class_of(rc_);                                 \
        CHECK(rc_ != MPI_SUCCESS && cls_ == (want),                           \
              "%s: returned %d, class %d, want class %d (%s)", what, rc_,      \
              cls_, want, #want);                                             \
        check_string(rc_, what);                                              \
    } while (0)

static void check_string(int code, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = -1;
    memset(s, 'x', sizeof s);
    CHECK_MPI(MPI_Error_string(code, s, &len));
    CHECK(len > 0 && len < MPI_MAX_ERROR_STRING, "%s: string length %d", what,
          len);
    if (len > 0 && len < MPI_MAX_ERROR_STRING)
        CHECK((int)strlen(s) == len, "%s: strlen %d, resultlen %d", what,
              (int)strlen(s), len);
}

/* An erroneous receive as Irecv: should the error go undetected, the
 * request is cancelled instead of the test hanging in a Recv. */
static int irecv(int *buf, int count, int src, int tag, MPI_Comm c)
{
    MPI_Request rq = MPI_REQUEST_NULL;
    int rc = MPI_Irecv(buf, count, MPI_INT, src, tag, c, &rq);
    if (rc == MPI_SUCCESS && rq != MPI_REQUEST_NULL) {
        MPI_Cancel(&rq);
        MPI_Wait(&rq, MPI_STATUS_IGNORE);
    }
    return rc;
}

static void handlers(void)
{
    MPI_Errhandler eh = MPI_ERRHANDLER_NULL;
    MPI_Comm d;
    CHECK_MPI(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh));
    CHECK(eh == MPI_ERRORS_ARE_FATAL, "world's default handler");
    CHECK_MPI(MPI_Errhandler_free(&eh));
    CHECK(eh == MPI_ERRHANDLER_NULL, "Errhandler_free left the handle set");

    CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh);
    CHECK(eh == MPI_ERRORS_RETURN, "world's handler after set");
    MPI_Errhandler_free(&eh);

    MPI_Comm_dup(MPI_COMM_WORLD, &d); /* inherits ERRORS_RETURN */
    MPI_Comm_get_errhandler(d, &eh);
    CHECK(eh == MPI_ERRORS_RETURN, "dup did not inherit the handler");
    MPI_Errhandler_free(&eh);
    MPI_Comm_free(&d);
}

static void classes(void)
{
    int v = 1, w = 0, *ub = NULL, flag = 0;
    MPI_Comm c = MPI_COMM_WORLD;
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, size, 0, c), MPI_ERR_RANK,
                 "Send to rank size");
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, -17, 0, c), MPI_ERR_RANK,
                 "Send to rank -17");
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, MPI_ANY_SOURCE, 0, c), MPI_ERR_RANK,
                 "Send to MPI_ANY_SOURCE");
    EXPECT_CLASS(irecv(&v, 1, size + 2, 0, c), MPI_ERR_RANK,
                 "Irecv from rank size+2");
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, 0, -3, MPI_COMM_SELF), MPI_ERR_TAG,
                 "Send with tag -3");
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_SELF),
                 MPI_ERR_TAG, "Send with MPI_ANY_TAG");
    EXPECT_CLASS(irecv(&v, 1, 0, -7, MPI_COMM_SELF), MPI_ERR_TAG,
                 "Irecv with tag -7");
    MPI_Comm_get_attr(c, MPI_TAG_UB, &ub, &flag);
    if (flag && *ub < 2147483647)
        EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, 0, *ub + 1, MPI_COMM_SELF),
                     MPI_ERR_TAG, "Send with tag MPI_TAG_UB+1");
    EXPECT_CLASS(MPI_Send(&v, -1, MPI_INT, 0, 0, MPI_COMM_SELF), MPI_ERR_COUNT,
                 "Send with count -1");
    EXPECT_CLASS(irecv(&v, -2, 0, 0, MPI_COMM_SELF), MPI_ERR_COUNT,
                 "Irecv with count -2");
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_INT, 0, 0, MPI_COMM_NULL), MPI_ERR_COMM,
                 "Send on MPI_COMM_NULL");
    EXPECT_CLASS(MPI_Barrier(MPI_COMM_NULL), MPI_ERR_COMM,
                 "Barrier on MPI_COMM_NULL");
    EXPECT_CLASS(MPI_Bcast(&v, 1, MPI_INT, size, c), MPI_ERR_ROOT,
                 "Bcast with root size");
    EXPECT_CLASS(MPI_Reduce(&v, &w, 1, MPI_INT, MPI_SUM, -17, c), MPI_ERR_ROOT,
                 "Reduce with root -17");
    EXPECT_CLASS(MPI_Send(&v, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_SELF),
                 MPI_ERR_TYPE, "Send of MPI_DATATYPE_NULL");
    EXPECT_CLASS(MPI_Bcast(&v, 1, MPI_DATATYPE_NULL, 0, c), MPI_ERR_TYPE,
                 "Bcast of MPI_DATATYPE_NULL");
    EXPECT_CLASS(MPI_Allreduce(&v, &w, 1, MPI_INT, MPI_OP_NULL, c), MPI_ERR_OP,
                 "Allreduce with MPI_OP_NULL");
    EXPECT_CLASS(MPI_Reduce(&v, &w, 1, MPI_INT, MPI_OP_NULL, 0, c), MPI_ERR_OP,
                 "Reduce with MPI_OP_NULL");

    /* after all that, the communicator still works */
    v = rank;
    CHECK_MPI(MPI_Allreduce(&v, &w, 1, MPI_INT, MPI_SUM, c));
    CHECK(w == size * (size - 1) / 2, "Allreduce after errors: %d", w);
}

static void strings_and_codes(void)
{
    static const int cls[] = {
        MPI_ERR_BUFFER, MPI_ERR_COUNT, MPI_ERR_TYPE, MPI_ERR_TAG,
        MPI_ERR_COMM, MPI_ERR_RANK, MPI_ERR_REQUEST, MPI_ERR_ROOT,
        MPI_ERR_GROUP, MPI_ERR_OP, MPI_ERR_TOPOLOGY, MPI_ERR_DIMS,
        MPI_ERR_ARG, MPI_ERR_UNKNOWN, MPI_ERR_TRUNCATE, MPI_ERR_OTHER,
        MPI_ERR_INTERN, MPI_ERR_IN_STATUS, MPI_ERR_PENDING, MPI_ERR_KEYVAL};
    int n = sizeof cls / sizeof cls[0], i, j, dups = 0, out = 0;
    CHECK(MPI_SUCCESS == 0, "MPI_SUCCESS is %d", MPI_SUCCESS);
    check_string(MPI_SUCCESS, "MPI_SUCCESS");
    CHECK(class_of(MPI_SUCCESS) == MPI_SUCCESS, "class of MPI_SUCCESS");
    for (i = 0; i < n; i++) {
        out += cls[i] <= MPI_SUCCESS || cls[i] > MPI_ERR_LASTCODE;
        for (j = 0; j < i; j++)
            dups += cls[i] == cls[j];
        CHECK(class_of(cls[i]) == cls[i], "class of class %d is %d", cls[i],
              class_of(cls[i]));
        check_string(cls[i], "an error class");
    }
    CHECK(out == 0 && dups == 0, "%d classes out of (0, MPI_ERR_LASTCODE], "
          "%d duplicates", out, dups);
}

static void user_handler(void)
{
    MPI_Errhandler eh, got;
    MPI_Comm d, d2;
    int v = 1, rc;
    CHECK_MPI(MPI_Comm_create_errhandler(handler, &eh));
    MPI_Comm_dup(MPI_COMM_WORLD, &d);
    CHECK_MPI(MPI_Comm_set_errhandler(d, eh));
    MPI_Comm_get_errhandler(d, &got);
    CHECK(got == eh, "Comm_get_errhandler gave another handler");
    MPI_Errhandler_free(&got);

    rc = MPI_Send(&v, 1, MPI_INT, size, 0, d);
    CHECK(calls == 1 && class_of(last_code) == MPI_ERR_RANK && last_comm == d,
          "user handler: %d calls, class %d, comm ok %d", calls,
          class_of(last_code), last_comm == d);
    CHECK(class_of(rc) == MPI_ERR_RANK, "call returned class %d after the "
          "handler", class_of(rc));

    /* freed while attached: still invoked */
    CHECK_MPI(MPI_Errhandler_free(&eh));
    CHECK(eh == MPI_ERRHANDLER_NULL, "Errhandler_free left the handle set");
    rc = irecv(&v, 1, 0, -9, d);
    CHECK(calls == 2 && class_of(last_code) == MPI_ERR_TAG &&
              class_of(rc) == MPI_ERR_TAG,
          "after Errhandler_free: %d calls, class %d", calls,
          class_of(last_code));

    CHECK_MPI(MPI_Comm_call_errhandler(d, MPI_ERR_OTHER));
    CHECK(calls == 3 && last_code == MPI_ERR_OTHER && last_comm == d,
          "Comm_call_errhandler: %d calls, code %d", calls, last_code);

    /* inherited by a dup, and called with the dup */
    MPI_Comm_dup(d, &d2);
    rc = MPI_Bcast(&v, 1, MPI_INT, -17, d2);
    CHECK(calls == 4 && class_of(last_code) == MPI_ERR_ROOT && last_comm == d2,
          "dup's inherited handler: %d calls, class %d", calls,
          class_of(last_code));
    MPI_Comm_free(&d2);
    MPI_Comm_free(&d);
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "errh");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    handlers();
    classes();
    strings_and_codes();
    user_handler();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
