/* ranks: 1 2 3 4 */
/* nonblock.c: Isend/Irecv/Issend/Irsend/Ibsend, the Wait and Test families,
 * Request_free, Cancel, persistent requests, MPI_REQUEST_NULL. Everything is
 * a ring (send right, receive left), so 1 rank talks to itself. */
#include "ctest.h"

static int rank, size, left, right;

#define POLL_LIMIT 20.0 /* seconds: a polling loop that takes longer fails */

static void fill(int *b, int n, int base)
{
    int i;
    for (i = 0; i < n; i++)
        b[i] = base + i;
}

static int wrong(const int *b, int n, int base)
{
    int i, bad = 0;
    for (i = 0; i < n; i++)
        bad += b[i] != base + i;
    return bad;
}

static void garble(MPI_Status *st)
{
    st->MPI_SOURCE = st->MPI_TAG = -77;
}

/* The empty status: source MPI_ANY_SOURCE, tag MPI_ANY_TAG, count 0, not
 * cancelled. */
static int is_empty(const MPI_Status *st)
{
    int count = -1, cancelled = -1;
    MPI_Get_count(st, MPI_INT, &count);
    MPI_Test_cancelled(st, &cancelled);
    return st->MPI_SOURCE == MPI_ANY_SOURCE && st->MPI_TAG == MPI_ANY_TAG &&
           count == 0 && cancelled == 0;
}

/* Ring of K messages per rank; Waitall with statuses, then with
 * MPI_STATUSES_IGNORE; single Wait. */
static void ring(void)
{
    enum { K = 4, MAX = 100 };
    int out[K][MAX], in[K][MAX], k, count, round;
    MPI_Request rq[2 * K];
    MPI_Status st[2 * K];
    for (round = 0; round < 2; round++) {
        for (k = 0; k < K; k++) {
            fill(out[k], MAX, rank * 1000 + k * 100 + round);
            MPI_Irecv(in[k], MAX, MPI_INT, left, k, MPI_COMM_WORLD, &rq[k]);
        }
        for (k = 0; k < K; k++)
            MPI_Isend(out[k], (k + 1) * 10 + rank, MPI_INT, right, k,
                      MPI_COMM_WORLD, &rq[K + k]);
        if (round == 0) {
            CHECK_MPI(MPI_Waitall(2 * K, rq, st));
            for (k = 0; k < K; k++) {
                MPI_Get_count(&st[k], MPI_INT, &count);
                CHECK(st[k].MPI_SOURCE == left && st[k].MPI_TAG == k &&
                          count == (k + 1) * 10 + left,
                      "Waitall status %d: source %d tag %d count %d", k,
                      st[k].MPI_SOURCE, st[k].MPI_TAG, count);
            }
        } else {
            CHECK_MPI(MPI_Waitall(2 * K, rq, MPI_STATUSES_IGNORE));
        }
        for (k = 0; k < 2 * K; k++)
            CHECK(rq[k] == MPI_REQUEST_NULL, "request %d not freed", k);
        for (k = 0; k < K; k++)
            CHECK(wrong(in[k], (k + 1) * 10 + left,
                        left * 1000 + k * 100 + round) == 0,
                  "round %d message %d: bad data", round, k);
    }

    MPI_Irecv(in[0], MAX, MPI_INT, left, 5, MPI_COMM_WORLD, &rq[0]);
    MPI_Isend(out[0], 3, MPI_INT, right, 5, MPI_COMM_WORLD, &rq[1]);
    CHECK_MPI(MPI_Wait(&rq[1], MPI_STATUS_IGNORE));
    garble(&st[0]);
    CHECK_MPI(MPI_Wait(&rq[0], &st[0]));
    MPI_Get_count(&st[0], MPI_INT, &count);
    CHECK(rq[0] == MPI_REQUEST_NULL && st[0].MPI_SOURCE == left &&
              st[0].MPI_TAG == 5 && count == 3,
          "Wait: source %d tag %d count %d", st[0].MPI_SOURCE, st[0].MPI_TAG,
          count);
}

/* Issend cannot complete before the receive is matched: the right neighbour
 * posts its receive only after our "go", sent after the Test. */
static void issend(void)
{
    static int out[100000], in[100000];
    static const int lens[2] = {5, 100000};
    int k, flag = -1, count;
    MPI_Request sr, gr;
    MPI_Status st;
    for (k = 0; k < 2; k++) {
        fill(out, lens[k], rank + k);
        CHECK_MPI(MPI_Issend(out, lens[k], MPI_INT, right, 1, MPI_COMM_WORLD,
                             &sr));
        CHECK_MPI(MPI_Test(&sr, &flag, MPI_STATUS_IGNORE));
        CHECK(flag == 0, "Issend of %d ints completed before a receive",
              lens[k]);
        MPI_Isend(NULL, 0, MPI_INT, right, 2, MPI_COMM_WORLD, &gr);
        MPI_Recv(NULL, 0, MPI_INT, left, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK_MPI(MPI_Recv(in, lens[k], MPI_INT, left, 1, MPI_COMM_WORLD, &st));
        CHECK_MPI(MPI_Wait(&sr, MPI_STATUS_IGNORE));
        CHECK_MPI(MPI_Wait(&gr, MPI_STATUS_IGNORE));
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == lens[k] && wrong(in, lens[k], left + k) == 0,
              "Issend %d: count %d", lens[k], count);
    }
}

/* Irsend after the receiver said its Irecv is posted; Ibsend. */
static void irsend_ibsend(void)
{
    int out[50], in[50], count, psize, bsize, dsize;
    void *buf, *back;
    MPI_Request rq[3];
    MPI_Status st[3];
    fill(out, 50, rank * 50);
    MPI_Irecv(in, 50, MPI_INT, left, 3, MPI_COMM_WORLD, &rq[0]);
    MPI_Isend(NULL, 0, MPI_INT, left, 4, MPI_COMM_WORLD, &rq[1]); /* ready */
    MPI_Recv(NULL, 0, MPI_INT, right, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK_MPI(MPI_Irsend(out, 50, MPI_INT, right, 3, MPI_COMM_WORLD, &rq[2]));
    CHECK_MPI(MPI_Waitall(3, rq, st));
    MPI_Get_count(&st[0], MPI_INT, &count);
    CHECK(count == 50 && st[0].MPI_SOURCE == left &&
              wrong(in, 50, left * 50) == 0,
          "Irsend: count %d source %d", count, st[0].MPI_SOURCE);

    MPI_Pack_size(50, MPI_INT, MPI_COMM_WORLD, &psize);
    bsize = psize + MPI_BSEND_OVERHEAD;
    buf = malloc(bsize);
    MPI_Buffer_attach(buf, bsize);
    CHECK_MPI(MPI_Ibsend(out, 50, MPI_INT, right, 6, MPI_COMM_WORLD, &rq[0]));
    CHECK_MPI(MPI_Wait(&rq[0], MPI_STATUS_IGNORE)); /* local: data copied */
    fill(out, 50, -9);
    CHECK_MPI(MPI_Recv(in, 50, MPI_INT, left, 6, MPI_COMM_WORLD, &st[0]));
    CHECK(wrong(in, 50, left * 50) == 0, "Ibsend: bad data");
    MPI_Buffer_detach(&back, &dsize);
    CHECK(back == buf && dsize == bsize, "detach %p/%d", back, dsize);
    free(buf);
}

/* Waitany: receives completed in any order, each index once; then
 * MPI_UNDEFINED and an empty status when all are MPI_REQUEST_NULL. */
static void waitany(void)
{
    enum { K = 5 };
    int out[K], in[K], seen[K] = {0}, k, idx, count;
    MPI_Request rq[K], sr[K];
    MPI_Status st;
    for (k = 0; k < K; k++)
        MPI_Irecv(&in[k], 1, MPI_INT, left, 10 + k, MPI_COMM_WORLD, &rq[k]);
    for (k = K - 1; k >= 0; k--) {
        out[k] = rank * 100 + k;
        MPI_Isend(&out[k], 1, MPI_INT, right, 10 + k, MPI_COMM_WORLD, &sr[k]);
    }
    for (k = 0; k < K; k++) {
        idx = -1;
        CHECK_MPI(MPI_Waitany(K, rq, &idx, &st));
        CHECK(idx >= 0 && idx < K, "Waitany index %d", idx);
        if (idx < 0 || idx >= K)
            continue;
        seen[idx]++;
        CHECK(rq[idx] == MPI_REQUEST_NULL, "Waitany left request %d", idx);
        CHECK(st.MPI_TAG == 10 + idx && st.MPI_SOURCE == left &&
                  in[idx] == left * 100 + idx,
              "Waitany %d: tag %d source %d value %d", idx, st.MPI_TAG,
              st.MPI_SOURCE, in[idx]);
    }
    for (k = 0; k < K; k++)
        CHECK(seen[k] == 1, "Waitany returned index %d %d times", k, seen[k]);
    garble(&st);
    CHECK_MPI(MPI_Waitany(K, rq, &idx, &st));
    CHECK(idx == MPI_UNDEFINED && is_empty(&st),
          "Waitany on null requests: index %d source %d tag %d", idx,
          st.MPI_SOURCE, st.MPI_TAG);
    CHECK_MPI(MPI_Waitany(0, rq, &idx, &st));
    CHECK(idx == MPI_UNDEFINED, "Waitany of 0 requests: index %d", idx);
    CHECK_MPI(MPI_Waitall(K, sr, MPI_STATUSES_IGNORE));
    (void)count;
}

/* Waitsome until MPI_UNDEFINED: every index exactly once, statuses in the
 * same order as the indices. */
static void waitsome(void)
{
    enum { K = 6 };
    int out[K], in[K], seen[K] = {0}, idx[K], k, j, n, calls = 0, total = 0;
    int badn = 0;
    MPI_Request rq[K], sr[K];
    MPI_Status st[K];
    for (k = 0; k < K; k++)
        MPI_Irecv(&in[k], 1, MPI_INT, left, 20 + k, MPI_COMM_WORLD, &rq[k]);
    for (k = 0; k < K; k++) {
        out[k] = rank * 10 + k;
        MPI_Isend(&out[k], 1, MPI_INT, right, 20 + k, MPI_COMM_WORLD, &sr[k]);
    }
    for (;;) {
        n = -5;
        badn += MPI_Waitsome(K, rq, &n, idx, st) != MPI_SUCCESS;
        if (n == MPI_UNDEFINED || ++calls > K)
            break;
        badn += n < 1 || n > K;
        for (j = 0; j < n && j < K; j++) {
            k = idx[j];
            CHECK(k >= 0 && k < K, "Waitsome index %d", k);
            if (k < 0 || k >= K)
                continue;
            seen[k]++;
            total++;
            CHECK(st[j].MPI_TAG == 20 + k && st[j].MPI_SOURCE == left &&
                      in[k] == left * 10 + k && rq[k] == MPI_REQUEST_NULL,
                  "Waitsome %d: tag %d source %d value %d", k, st[j].MPI_TAG,
                  st[j].MPI_SOURCE, in[k]);
        }
    }
    CHECK(badn == 0, "Waitsome: %d bad returns or outcounts", badn);
    CHECK(n == MPI_UNDEFINED && total == K, "Waitsome: %d of %d, last %d",
          total, K, n);
    for (k = 0; k < K; k++)
        CHECK(seen[k] == 1, "index %d seen %d times", k, seen[k]);
    CHECK_MPI(MPI_Waitall(K, sr, MPI_STATUSES_IGNORE));
}

/* Test, Testall, Testany, Testsome in polling loops that finish. */
static void tests(void)
{
    enum { K = 4 };
    int out[K], in[K], seen[K] = {0}, idx[K], k, j, n, flag, done;
    double t0;
    MPI_Request rq[2 * K];
    MPI_Status st[2 * K], one;

    /* Test */
    MPI_Irecv(&in[0], 1, MPI_INT, left, 30, MPI_COMM_WORLD, &rq[0]);
    out[0] = rank + 30;
    MPI_Isend(&out[0], 1, MPI_INT, right, 30, MPI_COMM_WORLD, &rq[1]);
    flag = 0;
    for (t0 = MPI_Wtime(); !flag && MPI_Wtime() - t0 < POLL_LIMIT;)
        MPI_Test(&rq[0], &flag, &one);
    CHECK(flag && rq[0] == MPI_REQUEST_NULL && one.MPI_SOURCE == left &&
              one.MPI_TAG == 30 && in[0] == left + 30,
          "Test: flag %d source %d tag %d value %d", flag, one.MPI_SOURCE,
          one.MPI_TAG, in[0]);
    MPI_Wait(&rq[1], MPI_STATUS_IGNORE);

    /* Testall: on success every status is set and every request freed */
    for (k = 0; k < K; k++) {
        out[k] = rank * 10 + k;
        MPI_Irecv(&in[k], 1, MPI_INT, left, 31 + k, MPI_COMM_WORLD, &rq[k]);
        MPI_Isend(&out[k], 1, MPI_INT, right, 31 + k, MPI_COMM_WORLD,
                  &rq[K + k]);
    }
    flag = 0;
    for (t0 = MPI_Wtime(); !flag && MPI_Wtime() - t0 < POLL_LIMIT;)
        MPI_Testall(2 * K, rq, &flag, st);
    CHECK(flag, "Testall never finished");
    for (k = 0; k < K; k++)
        CHECK(rq[k] == MPI_REQUEST_NULL && st[k].MPI_TAG == 31 + k &&
                  st[k].MPI_SOURCE == left && in[k] == left * 10 + k,
              "Testall %d: tag %d source %d value %d", k, st[k].MPI_TAG,
              st[k].MPI_SOURCE, in[k]);

    /* Testany: flag with an index until all done, then flag with
     * MPI_UNDEFINED */
    for (k = 0; k < K; k++) {
        MPI_Irecv(&in[k], 1, MPI_INT, left, 40 + k, MPI_COMM_WORLD, &rq[k]);
        MPI_Isend(&out[k], 1, MPI_INT, right, 40 + k, MPI_COMM_WORLD,
                  &rq[K + k]);
    }
    for (done = 0, t0 = MPI_Wtime();
         done < K && MPI_Wtime() - t0 < POLL_LIMIT;) {
        n = -1;
        flag = 0;
        MPI_Testany(K, rq, &n, &flag, &one);
        if (!flag)
            continue;
        CHECK(n >= 0 && n < K && one.MPI_TAG == 40 + n && in[n] == left * 10 + n,
              "Testany: index %d tag %d", n, one.MPI_TAG);
        if (n < 0 || n >= K)
            break;
        seen[n]++;
        done++;
    }
    CHECK(done == K, "Testany finished %d of %d", done, K);
    for (k = 0; k < K; k++)
        CHECK(seen[k] == 1, "Testany index %d seen %d times", k, seen[k]);
    garble(&one);
    CHECK_MPI(MPI_Testany(K, rq, &n, &flag, &one));
    CHECK(flag == 1 && n == MPI_UNDEFINED && is_empty(&one),
          "Testany on null requests: flag %d index %d", flag, n);
    MPI_Waitall(K, rq + K, MPI_STATUSES_IGNORE);

    /* Testsome until MPI_UNDEFINED */
    memset(seen, 0, sizeof seen);
    for (k = 0; k < K; k++) {
        MPI_Irecv(&in[k], 1, MPI_INT, left, 50 + k, MPI_COMM_WORLD, &rq[k]);
        MPI_Isend(&out[k], 1, MPI_INT, right, 50 + k, MPI_COMM_WORLD,
                  &rq[K + k]);
    }
    done = 0;
    for (t0 = MPI_Wtime(); MPI_Wtime() - t0 < POLL_LIMIT;) {
        MPI_Testsome(K, rq, &n, idx, st);
        if (n == MPI_UNDEFINED)
            break;
        for (j = 0; j < n; j++) {
            k = idx[j];
            CHECK(k >= 0 && k < K && st[j].MPI_TAG == 50 + k &&
                      in[k] == left * 10 + k,
                  "Testsome: index %d tag %d", k, st[j].MPI_TAG);
            if (k >= 0 && k < K)
                seen[k]++;
            done++;
        }
    }
    CHECK(n == MPI_UNDEFINED && done == K, "Testsome: %d of %d, last %d", done,
          K, n);
    for (k = 0; k < K; k++)
        CHECK(seen[k] == 1, "Testsome index %d seen %d times", k, seen[k]);
    MPI_Waitall(K, rq + K, MPI_STATUSES_IGNORE);
}

/* Request_free on an active send; Cancel of a receive nobody matches. */
static void free_cancel(void)
{
    static int out[20];
    int in[20], flag = -1, count;
    double t0;
    MPI_Request rq;
    MPI_Status st;
    fill(out, 20, rank * 20);
    MPI_Isend(out, 20, MPI_INT, right, 60, MPI_COMM_WORLD, &rq);
    CHECK_MPI(MPI_Request_free(&rq));
    CHECK(rq == MPI_REQUEST_NULL, "Request_free left the handle set");
    CHECK_MPI(MPI_Recv(in, 20, MPI_INT, left, 60, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(count == 20 && wrong(in, 20, left * 20) == 0,
          "freed send: count %d", count);

    MPI_Irecv(in, 1, MPI_INT, MPI_ANY_SOURCE, 12345, MPI_COMM_WORLD, &rq);
    CHECK_MPI(MPI_Cancel(&rq));
    CHECK_MPI(MPI_Wait(&rq, &st));
    CHECK(rq == MPI_REQUEST_NULL, "cancelled request not freed by Wait");
    CHECK_MPI(MPI_Test_cancelled(&st, &flag));
    CHECK(flag == 1, "Test_cancelled %d after Wait", flag);

    MPI_Irecv(in, 1, MPI_INT, left, 12346, MPI_COMM_WORLD, &rq);
    CHECK_MPI(MPI_Cancel(&rq));
    flag = 0;
    for (t0 = MPI_Wtime(); !flag && MPI_Wtime() - t0 < POLL_LIMIT;)
        MPI_Test(&rq, &flag, &st);
    CHECK(flag && rq == MPI_REQUEST_NULL, "Test of a cancelled receive");
    flag = -1;
    MPI_Test_cancelled(&st, &flag);
    CHECK(flag == 1, "Test_cancelled %d after Test", flag);
}

/* Persistent requests: Startall and Start over several iterations, the
 * buffer re-read at each start; Wait/Test on an inactive request give an
 * empty status and keep the handle; Request_free. */
static void persistent(void)
{
    enum { N = 30, ITERS = 5 };
    int out[N], in[N], it, count, flag;
    MPI_Request rq[2];
    MPI_Status st[2];
    CHECK_MPI(MPI_Recv_init(in, N, MPI_INT, left, 70, MPI_COMM_WORLD, &rq[0]));
    CHECK_MPI(MPI_Send_init(out, N, MPI_INT, right, 70, MPI_COMM_WORLD,
                            &rq[1]));
    garble(&st[0]);
    CHECK_MPI(MPI_Wait(&rq[0], &st[0])); /* inactive before the first start */
    CHECK(rq[0] != MPI_REQUEST_NULL && is_empty(&st[0]),
          "Wait on an inactive persistent request");
    for (it = 0; it < ITERS; it++) {
        fill(out, N, rank * 100 + it * 10);
        memset(in, 0, sizeof in);
        if (it % 2 == 0) {
            CHECK_MPI(MPI_Startall(2, rq));
            CHECK_MPI(MPI_Waitall(2, rq, st));
        } else {
            CHECK_MPI(MPI_Start(&rq[0]));
            CHECK_MPI(MPI_Start(&rq[1]));
            CHECK_MPI(MPI_Wait(&rq[1], &st[1]));
            CHECK_MPI(MPI_Wait(&rq[0], &st[0]));
        }
        MPI_Get_count(&st[0], MPI_INT, &count);
        CHECK(rq[0] != MPI_REQUEST_NULL && rq[1] != MPI_REQUEST_NULL,
              "iteration %d: persistent handle freed", it);
        CHECK(count == N && st[0].MPI_SOURCE == left && st[0].MPI_TAG == 70 &&
                  wrong(in, N, left * 100 + it * 10) == 0,
              "iteration %d: count %d source %d", it, count, st[0].MPI_SOURCE);
    }
    garble(&st[0]);
    flag = 0;
    CHECK_MPI(MPI_Test(&rq[0], &flag, &st[0]));
    CHECK(flag == 1 && rq[0] != MPI_REQUEST_NULL && is_empty(&st[0]),
          "Test on an inactive persistent request: flag %d", flag);
    CHECK_MPI(MPI_Request_free(&rq[0]));
    CHECK_MPI(MPI_Request_free(&rq[1]));
    CHECK(rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL,
          "Request_free of persistent requests");

    /* Ssend_init: each start is a synchronous send. */
    MPI_Recv_init(in, N, MPI_INT, left, 71, MPI_COMM_WORLD, &rq[0]);
    MPI_Ssend_init(out, N, MPI_INT, right, 71, MPI_COMM_WORLD, &rq[1]);
    for (it = 0; it < 3; it++) {
        fill(out, N, rank + it);
        MPI_Startall(2, rq);
        CHECK_MPI(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
        CHECK(wrong(in, N, left + it) == 0, "Ssend_init iteration %d", it);
    }
    MPI_Request_free(&rq[0]);
    MPI_Request_free(&rq[1]);
}

/* MPI_REQUEST_NULL in Wait/Test and friends; PROC_NULL requests. */
static void null_requests(void)
{
    MPI_Request rq[3] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    MPI_Status st[3];
    int flag = 0, n = -1, idx[3], v = 1, out = rank, in = -1;
    garble(&st[0]);
    CHECK_MPI(MPI_Wait(&rq[0], &st[0]));
    CHECK(rq[0] == MPI_REQUEST_NULL && is_empty(&st[0]), "Wait(NULL)");
    garble(&st[0]);
    CHECK_MPI(MPI_Test(&rq[0], &flag, &st[0]));
    CHECK(flag == 1 && is_empty(&st[0]), "Test(NULL): flag %d", flag);
    CHECK_MPI(MPI_Waitall(3, rq, st));
    CHECK_MPI(MPI_Waitall(0, rq, st));
    flag = 0;
    CHECK_MPI(MPI_Testall(3, rq, &flag, st));
    CHECK(flag == 1, "Testall on null requests: flag %d", flag);
    CHECK_MPI(MPI_Waitsome(3, rq, &n, idx, st));
    CHECK(n == MPI_UNDEFINED, "Waitsome on null requests: %d", n);
    n = -1;
    CHECK_MPI(MPI_Testsome(3, rq, &n, idx, st));
    CHECK(n == MPI_UNDEFINED, "Testsome on null requests: %d", n);

    /* a mix: the null entry gets an empty status */
    MPI_Irecv(&in, 1, MPI_INT, left, 80, MPI_COMM_WORLD, &rq[0]);
    MPI_Isend(&out, 1, MPI_INT, right, 80, MPI_COMM_WORLD, &rq[2]);
    garble(&st[1]);
    CHECK_MPI(MPI_Waitall(3, rq, st));
    CHECK(in == left && st[0].MPI_SOURCE == left && is_empty(&st[1]),
          "Waitall with a null entry: in %d", in);

    /* PROC_NULL: complete at once, receive status as for Recv */
    MPI_Isend(&v, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &rq[0]);
    MPI_Irecv(&v, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &rq[1]);
    CHECK_MPI(MPI_Waitall(2, rq, st));
    MPI_Get_count(&st[1], MPI_INT, &n);
    CHECK(n == 0 && v == 1, "Irecv(PROC_NULL): count %d buffer %d", n, v);
#ifndef CTEST_MPICH_IRECV_PROC_NULL_STATUS
    CHECK(st[1].MPI_SOURCE == MPI_PROC_NULL && st[1].MPI_TAG == MPI_ANY_TAG,
          "Irecv(PROC_NULL): source %d tag %d", st[1].MPI_SOURCE,
          st[1].MPI_TAG);
#endif
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "nonblock");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    right = (rank + 1) % size;
    left = (rank + size - 1) % size;

    ring();
    issend();
    irsend_ibsend();
    waitany();
    waitsome();
    tests();
    free_cancel();
    persistent();
    null_requests();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
