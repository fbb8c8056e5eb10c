/* ranks: 1 2 3 4 */
/* p2p.c: blocking point to point. Pair tests run between ranks (0,1) and
 * (2,3) (a rank without a partner sits them out); ring tests (send right,
 * receive left) and self tests run on every rank, so 1 rank tests the ring
 * with itself. Modes (Ssend/Rsend/Bsend) and Probe are in p2p_modes.c. */
#include "ctest.h"

static int rank, size, left, right, peer; /* peer: rank^1, or -1 if none */

#define BIG (1 << 20) /* ints: a 4 MiB message */

/* Send/Recv statuses: source, tag and count of a message shorter than the
 * receive buffer, in both directions. */
static void statuses(void)
{
    int buf[200], i, n, count = -1;
    MPI_Status st;
    if (peer < 0)
        return;
    if (rank % 2 == 0) {
        for (i = 0; i < 10 + rank; i++)
            buf[i] = rank * 100 + i;
        CHECK_MPI(MPI_Send(buf, 10 + rank, MPI_INT, peer, 7 + rank,
                           MPI_COMM_WORLD));
        memset(buf, 0, sizeof buf);
        CHECK_MPI(MPI_Recv(buf, 200, MPI_INT, peer, MPI_ANY_TAG,
                           MPI_COMM_WORLD, &st));
        n = 20 + peer;
        CHECK(st.MPI_SOURCE == peer && st.MPI_TAG == 30 + peer,
              "reply source %d tag %d", st.MPI_SOURCE, st.MPI_TAG);
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == n, "reply count %d, want %d", count, n);
        for (i = 0; i < n; i++)
            CHECK(buf[i] == peer * 1000 - i, "reply[%d] = %d", i, buf[i]);
    } else {
        n = 10 + peer;
        CHECK_MPI(MPI_Recv(buf, 200, MPI_INT, peer, 7 + peer, MPI_COMM_WORLD,
                           &st));
        CHECK(st.MPI_SOURCE == peer && st.MPI_TAG == 7 + peer,
              "source %d tag %d", st.MPI_SOURCE, st.MPI_TAG);
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == n, "count %d, want %d", count, n);
        for (i = 0; i < n; i++)
            CHECK(buf[i] == peer * 100 + i, "buf[%d] = %d", i, buf[i]);
        for (i = 0; i < 20 + rank; i++)
            buf[i] = rank * 1000 - i;
        CHECK_MPI(MPI_Send(buf, 20 + rank, MPI_INT, peer, 30 + rank,
                           MPI_COMM_WORLD));
    }
}

/* MPI_ANY_SOURCE + MPI_ANY_TAG: rank 0 receives one message from each other
 * rank and learns who sent it from the status. */
static void wildcards(void)
{
    int buf[4] = {0}, i, k, count;
    MPI_Status st;
    if (rank != 0) {
        int msg[3] = {rank, rank * rank, -rank};
        CHECK_MPI(MPI_Send(msg, rank % 3 + 1, MPI_INT, 0, rank * 10,
                           MPI_COMM_WORLD));
        return;
    }
    {
        int seen[4] = {0};
        for (k = 1; k < size; k++) {
            CHECK_MPI(MPI_Recv(buf, 4, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                               MPI_COMM_WORLD, &st));
            i = st.MPI_SOURCE;
            CHECK(i > 0 && i < size, "source %d", i);
            if (i <= 0 || i >= size)
                continue;
            seen[i]++;
            MPI_Get_count(&st, MPI_INT, &count);
            CHECK(st.MPI_TAG == i * 10, "tag %d from %d", st.MPI_TAG, i);
            CHECK(count == i % 3 + 1, "count %d from %d", count, i);
            CHECK(buf[0] == i, "payload %d from %d", buf[0], i);
        }
        for (i = 1; i < size; i++)
            CHECK(seen[i] == 1, "%d messages from %d", seen[i], i);
    }
}

/* MPI_PROC_NULL: sends and receives complete at once; the receive status
 * says source MPI_PROC_NULL, tag MPI_ANY_TAG, count 0; the buffer is kept. */
static void proc_null(void)
{
    int v = 5, buf = 77, count = -1, flag = 0;
    MPI_Status st;
    CHECK_MPI(MPI_Send(&v, 1, MPI_INT, MPI_PROC_NULL, 3, MPI_COMM_WORLD));
    st.MPI_SOURCE = st.MPI_TAG = -5;
    CHECK_MPI(MPI_Recv(&buf, 1, MPI_INT, MPI_PROC_NULL, 3, MPI_COMM_WORLD,
                       &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(st.MPI_SOURCE == MPI_PROC_NULL, "source %d", st.MPI_SOURCE);
    CHECK(st.MPI_TAG == MPI_ANY_TAG, "tag %d", st.MPI_TAG);
    CHECK(count == 0, "count %d", count);
    CHECK(buf == 77, "buffer changed to %d", buf);

    st.MPI_SOURCE = st.MPI_TAG = -5;
    CHECK_MPI(MPI_Sendrecv(&v, 1, MPI_INT, MPI_PROC_NULL, 1, &buf, 1, MPI_INT,
                           MPI_PROC_NULL, 1, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG &&
              count == 0 && buf == 77,
          "Sendrecv PROC_NULL: source %d tag %d count %d buf %d",
          st.MPI_SOURCE, st.MPI_TAG, count, buf);

    st.MPI_SOURCE = st.MPI_TAG = -5;
    CHECK_MPI(MPI_Probe(MPI_PROC_NULL, 4, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG &&
              count == 0,
          "Probe PROC_NULL: source %d tag %d count %d", st.MPI_SOURCE,
          st.MPI_TAG, count);
    CHECK_MPI(MPI_Iprobe(MPI_PROC_NULL, 4, MPI_COMM_WORLD, &flag, &st));
    CHECK(flag == 1 && st.MPI_SOURCE == MPI_PROC_NULL,
          "Iprobe PROC_NULL: flag %d source %d", flag, st.MPI_SOURCE);
}

/* Non-overtaking: 100 messages with one tag, sizes mixing tiny and 200 KB
 * (so eager and rendezvous paths interleave), arrive in sending order. */
static void order(void)
{
    enum { N = 100, LONG = 50000 };
    int *buf = malloc(LONG * sizeof(int)), k, i, len, count;
    MPI_Status st;
    if (peer < 0) {
        free(buf);
        return;
    }
    for (k = 0; k < N; k++) {
        len = k % 5 == 0 ? LONG : k % 3 + 1;
        if (rank % 2 == 0) {
            for (i = 0; i < len; i++)
                buf[i] = k;
            CHECK_MPI(MPI_Send(buf, len, MPI_INT, peer, 4, MPI_COMM_WORLD));
        } else {
            buf[0] = buf[len - 1] = -1;
            CHECK_MPI(MPI_Recv(buf, LONG, MPI_INT, peer, MPI_ANY_TAG,
                               MPI_COMM_WORLD, &st));
            MPI_Get_count(&st, MPI_INT, &count);
            CHECK(count == len && buf[0] == k && buf[len - 1] == k,
                  "message %d: count %d (want %d) first %d last %d", k, count,
                  len, buf[0], buf[len - 1]);
        }
    }
    free(buf);
}

/* Matching follows posting order, with wildcards. The receiver posts
 *   R0 = (peer, ANY_TAG), R1 = (peer, 2), R2 = (ANY_SOURCE, 3), R3 = (peer, ANY)
 * and the sender sends tags 2, 2, 4, 3 (payloads 1..4), so R0..R3 get 1, 2,
 * 4, 3. Run twice: receives posted before the sends, then after them. */
static void posting_order(void)
{
    static const int tags[4] = {2, 2, 4, 3}, want[4] = {1, 2, 4, 3};
    int round, i, got[4], zero = 0;
    MPI_Request rq[4];
    MPI_Status st[4];
    if (peer < 0)
        return;
    for (round = 0; round < 2; round++) {
        if (rank % 2 == 1) {
            if (round == 1) /* wait until the sender has sent */
                MPI_Recv(&zero, 1, MPI_INT, peer, 99, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
            MPI_Irecv(&got[0], 1, MPI_INT, peer, MPI_ANY_TAG, MPI_COMM_WORLD,
                      &rq[0]);
            MPI_Irecv(&got[1], 1, MPI_INT, peer, 2, MPI_COMM_WORLD, &rq[1]);
            MPI_Irecv(&got[2], 1, MPI_INT, MPI_ANY_SOURCE, 3, MPI_COMM_WORLD,
                      &rq[2]);
            MPI_Irecv(&got[3], 1, MPI_INT, peer, MPI_ANY_TAG, MPI_COMM_WORLD,
                      &rq[3]);
            if (round == 0) /* receives are posted: go */
                MPI_Send(&zero, 1, MPI_INT, peer, 98, MPI_COMM_WORLD);
            CHECK_MPI(MPI_Waitall(4, rq, st));
            for (i = 0; i < 4; i++)
                CHECK(got[i] == want[i] && st[i].MPI_TAG == tags[want[i] - 1] &&
                          st[i].MPI_SOURCE == peer,
                      "round %d: receive %d got %d tag %d, want %d", round, i,
                      got[i], st[i].MPI_TAG, want[i]);
        } else {
            int val[4] = {1, 2, 3, 4};
            if (round == 0)
                MPI_Recv(&zero, 1, MPI_INT, peer, 98, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
            for (i = 0; i < 4; i++)
                MPI_Isend(&val[i], 1, MPI_INT, peer, tags[i], MPI_COMM_WORLD,
                          &rq[i]);
            if (round == 1)
                MPI_Send(&zero, 1, MPI_INT, peer, 99, MPI_COMM_WORLD);
            CHECK_MPI(MPI_Waitall(4, rq, MPI_STATUSES_IGNORE));
        }
    }
}

/* Truncation under MPI_ERRORS_RETURN on a dup'ed communicator: Recv, Wait and
 * Waitall (MPI_ERR_IN_STATUS, per-status errors) report MPI_ERR_TRUNCATE; the
 * communicator keeps working afterwards. Ring, so it runs on 1 rank too. */
static void truncation(void)
{
    MPI_Comm c;
    MPI_Request sr[2], rr[2];
    MPI_Status st[2];
    int out[10], in[10], in2[10], i, rc, cls = -1, count = -1;
    for (i = 0; i < 10; i++)
        out[i] = rank * 10 + i;
    MPI_Comm_dup(MPI_COMM_WORLD, &c);
    CHECK_MPI(MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN));

    MPI_Isend(out, 10, MPI_INT, right, 1, c, &sr[0]);
    rc = MPI_Recv(in, 5, MPI_INT, left, 1, c, &st[0]);
    MPI_Error_class(rc, &cls);
    CHECK(rc != MPI_SUCCESS && cls == MPI_ERR_TRUNCATE,
          "Recv of 10 ints into 5: rc %d class %d", rc, cls);
    CHECK_MPI(MPI_Wait(&sr[0], MPI_STATUS_IGNORE));

    /* Errors in Wait/Waitall belong to the request's communicator (c), but
     * MPICH 4.0 raises them on MPI_COMM_WORLD: set ERRORS_RETURN on both so
     * either reading passes; it is put back to FATAL below. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Isend(out, 10, MPI_INT, right, 2, c, &sr[0]);
    MPI_Irecv(in, 9, MPI_INT, left, 2, c, &rr[0]);
    rc = MPI_Wait(&rr[0], &st[0]);
    MPI_Error_class(rc, &cls);
    CHECK(rc != MPI_SUCCESS && cls == MPI_ERR_TRUNCATE,
          "Wait on a truncated Irecv: rc %d class %d", rc, cls);
    CHECK_MPI(MPI_Wait(&sr[0], MPI_STATUS_IGNORE));

    /* tag 3: 8 ints into 5 (truncated); tag 4: 4 ints into 10 (fine) */
    MPI_Irecv(in, 5, MPI_INT, left, 3, c, &rr[0]);
    MPI_Irecv(in2, 10, MPI_INT, left, 4, c, &rr[1]);
    MPI_Isend(out, 8, MPI_INT, right, 3, c, &sr[0]);
    MPI_Isend(out, 4, MPI_INT, right, 4, c, &sr[1]);
    st[0].MPI_ERROR = st[1].MPI_ERROR = -1;
    rc = MPI_Waitall(2, rr, st);
    CHECK(rc == MPI_ERR_IN_STATUS, "Waitall rc %d, want MPI_ERR_IN_STATUS",
          rc);
    MPI_Error_class(st[0].MPI_ERROR, &cls);
    CHECK(cls == MPI_ERR_TRUNCATE, "status[0] error class %d", cls);
    /* The other request either completed (MPI_SUCCESS, handle freed) or was
     * left pending (MPI_ERR_PENDING, still active: MPICH stops at the first
     * error); both are allowed. */
    CHECK(st[1].MPI_ERROR == MPI_SUCCESS || st[1].MPI_ERROR == MPI_ERR_PENDING,
          "status[1] error %d", st[1].MPI_ERROR);
    CHECK(rr[0] == MPI_REQUEST_NULL, "failed request not freed");
    if (st[1].MPI_ERROR == MPI_ERR_PENDING) {
        CHECK(rr[1] != MPI_REQUEST_NULL, "pending request freed");
        CHECK_MPI(MPI_Wait(&rr[1], &st[1]));
    } else {
        CHECK(rr[1] == MPI_REQUEST_NULL, "completed request not freed");
    }
    MPI_Get_count(&st[1], MPI_INT, &count);
    CHECK(count == 4 && in2[3] == left * 10 + 3 && st[1].MPI_SOURCE == left,
          "status[1]: count %d source %d in2[3] %d", count, st[1].MPI_SOURCE,
          in2[3]);
    CHECK_MPI(MPI_Waitall(2, sr, MPI_STATUSES_IGNORE));
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);

    /* still usable */
    rc = MPI_Sendrecv(out, 10, MPI_INT, right, 5, in, 10, MPI_INT, left, 5, c,
                      &st[0]);
    CHECK(rc == MPI_SUCCESS && in[9] == left * 10 + 9,
          "Sendrecv after truncation: rc %d in[9] %d", rc, in[9]);
    MPI_Comm_free(&c);
}

/* Zero-length messages keep their envelope. */
static void zero_length(void)
{
    int buf[10] = {0}, count = -1;
    MPI_Status st;
    CHECK_MPI(MPI_Sendrecv(NULL, 0, MPI_INT, right, 40 + rank, buf, 10,
                           MPI_INT, left, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(count == 0 && st.MPI_SOURCE == left && st.MPI_TAG == 40 + left,
          "ring: count %d source %d tag %d", count, st.MPI_SOURCE, st.MPI_TAG);
    if (peer < 0)
        return;
    if (rank % 2 == 0) {
        CHECK_MPI(MPI_Send(NULL, 0, MPI_INT, peer, 41, MPI_COMM_WORLD));
    } else {
        CHECK_MPI(MPI_Recv(buf, 10, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                           MPI_COMM_WORLD, &st));
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == 0 && st.MPI_SOURCE == peer && st.MPI_TAG == 41,
              "pair: count %d source %d tag %d", count, st.MPI_SOURCE,
              st.MPI_TAG);
    }
}

static int bad_values(const int *b, int n, int seed)
{
    int i, bad = 0;
    for (i = 0; i < n; i++)
        bad += b[i] != seed + i * 7;
    return bad;
}

/* 4 MiB: Send/Recv between partners (both ways) and Sendrecv on the ring. */
static void big(void)
{
    int *out = malloc(BIG * sizeof(int)), *in = malloc(BIG * sizeof(int));
    int i, count = -1;
    MPI_Status st;
    for (i = 0; i < BIG; i++)
        out[i] = rank * 1000 + i * 7;
    if (peer >= 0) {
        memset(in, 0, BIG * sizeof(int));
        if (rank % 2 == 0) {
            MPI_Send(out, BIG, MPI_INT, peer, 50, MPI_COMM_WORLD);
            MPI_Recv(in, BIG, MPI_INT, peer, 51, MPI_COMM_WORLD, &st);
        } else {
            MPI_Recv(in, BIG, MPI_INT, peer, 50, MPI_COMM_WORLD, &st);
            MPI_Send(out, BIG, MPI_INT, peer, 51, MPI_COMM_WORLD);
        }
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == BIG, "pair count %d", count);
        CHECK(bad_values(in, BIG, peer * 1000) == 0, "%d wrong ints",
              bad_values(in, BIG, peer * 1000));
    }
    memset(in, 0, BIG * sizeof(int));
    CHECK_MPI(MPI_Sendrecv(out, BIG, MPI_INT, right, 52, in, BIG, MPI_INT,
                           left, 52, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(count == BIG, "ring count %d", count);
    CHECK(bad_values(in, BIG, left * 1000) == 0, "ring: %d wrong ints",
          bad_values(in, BIG, left * 1000));
    free(out);
    free(in);
}

/* Sendrecv around the ring (specific and wildcard source), and
 * Sendrecv_replace with a small and a large buffer. */
static void sendrecv(void)
{
    static int buf[100000];
    int out[40], in[50], i, count = -1, lens[2] = {50, 100000}, k;
    MPI_Status st;
    for (i = 0; i < rank * 3 + 1; i++)
        out[i] = rank + i;
    CHECK_MPI(MPI_Sendrecv(out, rank * 3 + 1, MPI_INT, right, 100 + rank, in,
                           50, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                           MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 100 + left &&
              count == left * 3 + 1,
          "source %d tag %d count %d", st.MPI_SOURCE, st.MPI_TAG, count);
    for (i = 0; i < left * 3 + 1 && i < 50; i++)
        CHECK(in[i] == left + i, "in[%d] = %d", i, in[i]);

    for (k = 0; k < 2; k++) {
        int bad = 0;
        for (i = 0; i < lens[k]; i++)
            buf[i] = rank * 100 + i;
        CHECK_MPI(MPI_Sendrecv_replace(buf, lens[k], MPI_INT, right, 8, left,
                                       8, MPI_COMM_WORLD, &st));
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 8 && count == lens[k],
              "replace %d: source %d tag %d count %d", lens[k], st.MPI_SOURCE,
              st.MPI_TAG, count);
        for (i = 0; i < lens[k]; i++)
            bad += buf[i] != left * 100 + i;
        CHECK(bad == 0, "replace %d: %d wrong ints", lens[k], bad);
    }
}

/* Get_elements and Get_count: 7 ints received as a contiguous type of 3
 * ints give count MPI_UNDEFINED and 7 elements; 6 ints give 2 and 6. */
static void elements(void)
{
    MPI_Datatype tri;
    MPI_Status st;
    int out[9], in[9], k, count, elems;
    static const int lens[2] = {7, 6}, counts[2] = {MPI_UNDEFINED, 2};
    MPI_Type_contiguous(3, MPI_INT, &tri);
    MPI_Type_commit(&tri);
    for (k = 0; k < 9; k++)
        out[k] = k;
    for (k = 0; k < 2; k++) {
        CHECK_MPI(MPI_Sendrecv(out, lens[k], MPI_INT, right, 60, in, 3, tri,
                               left, 60, MPI_COMM_WORLD, &st));
        count = elems = -2;
        MPI_Get_count(&st, tri, &count);
        MPI_Get_elements(&st, tri, &elems);
        CHECK(count == counts[k] && elems == lens[k],
              "%d ints as tri: count %d elements %d", lens[k], count, elems);
    }
    CHECK_MPI(MPI_Sendrecv(out, 5, MPI_INT, right, 61, in, 9, MPI_INT, left,
                           61, MPI_COMM_WORLD, &st));
    MPI_Get_elements(&st, MPI_INT, &elems);
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(elems == 5 && count == 5, "5 ints: elements %d count %d", elems,
          count);
    MPI_Type_free(&tri);
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "p2p");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    right = (rank + 1) % size;
    left = (rank + size - 1) % size;
    peer = (rank ^ 1) < size ? rank ^ 1 : -1;

    statuses();
    wildcards();
    proc_null();
    order();
    posting_order();
    truncation();
    zero_length();
    big();
    sendrecv();
    elements();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
