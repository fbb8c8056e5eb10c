/* ranks: 1 2 3 4 */
/* p2p_modes.c: Ssend, Rsend, Bsend (Buffer_attach/detach, BSEND_OVERHEAD),
 * Probe and Iprobe followed by a Recv of exactly the probed message.
 * Pair tests run between ranks (0,1) and (2,3); ring tests on every rank. */
#include "ctest.h"

static int rank, size, left, right, peer; /* peer: rank^1, or -1 if none */

static int wrong(const int *b, int n, int base)
{
    int i, bad = 0;
    for (i = 0; i < n; i++)
        bad += b[i] != base + i;
    return bad;
}

static void fill(int *b, int n, int base)
{
    int i;
    for (i = 0; i < n; i++)
        b[i] = base + i;
}

/* Ssend both ways between partners, small and large. */
static void ssend(void)
{
    static int buf[100000];
    static const int lens[2] = {10, 100000};
    int k, count;
    MPI_Status st;
    if (peer < 0)
        return;
    for (k = 0; k < 2; k++) {
        if (rank % 2 == 0) {
            fill(buf, lens[k], rank * 7);
            CHECK_MPI(MPI_Ssend(buf, lens[k], MPI_INT, peer, 20 + k,
                                MPI_COMM_WORLD));
            CHECK_MPI(MPI_Recv(buf, lens[k], MPI_INT, peer, 30 + k,
                               MPI_COMM_WORLD, &st));
        } else {
            CHECK_MPI(MPI_Recv(buf, lens[k], MPI_INT, peer, 20 + k,
                               MPI_COMM_WORLD, &st));
            CHECK(wrong(buf, lens[k], peer * 7) == 0, "Ssend %d: bad data",
                  lens[k]);
            fill(buf, lens[k], rank * 7);
            CHECK_MPI(MPI_Ssend(buf, lens[k], MPI_INT, peer, 30 + k,
                                MPI_COMM_WORLD));
            continue;
        }
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == lens[k] && st.MPI_SOURCE == peer && st.MPI_TAG == 30 + k,
              "Ssend reply: count %d source %d tag %d", count, st.MPI_SOURCE,
              st.MPI_TAG);
        CHECK(wrong(buf, lens[k], peer * 7) == 0, "Ssend reply %d: bad data",
              lens[k]);
    }
}

/* Rsend: the receiver posts its Irecv, then tells the sender (zero-byte
 * message); only then does the sender Rsend. */
static void rsend(void)
{
    static int buf[100000];
    static const int lens[2] = {10, 100000};
    int k, count;
    MPI_Request rq;
    MPI_Status st;
    if (peer < 0)
        return;
    for (k = 0; k < 2; k++) {
        if (rank % 2 == 1) {
            MPI_Irecv(buf, lens[k], MPI_INT, peer, 11, MPI_COMM_WORLD, &rq);
            MPI_Send(NULL, 0, MPI_INT, peer, 12, MPI_COMM_WORLD);
            CHECK_MPI(MPI_Wait(&rq, &st));
            MPI_Get_count(&st, MPI_INT, &count);
            CHECK(count == lens[k] && st.MPI_SOURCE == peer &&
                      wrong(buf, lens[k], peer + k) == 0,
                  "Rsend %d: count %d source %d", lens[k], count,
                  st.MPI_SOURCE);
        } else {
            MPI_Recv(NULL, 0, MPI_INT, peer, 12, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            fill(buf, lens[k], rank + k);
            CHECK_MPI(MPI_Rsend(buf, lens[k], MPI_INT, peer, 11,
                                MPI_COMM_WORLD));
        }
    }
}

/* Bsend around the ring: the attached buffer holds three messages; the user
 * buffer is overwritten right after each Bsend (buffered semantics); detach
 * gives back the same buffer and size. Also Bsend to MPI_PROC_NULL. */
static void bsend(void)
{
    enum { N = 100, MSGS = 3 };
    int out[N], in[N], k, packsize = 0, bufsize, count;
    void *buf, *back = NULL;
    int backsize = -1;
    MPI_Status st;
    MPI_Pack_size(N, MPI_INT, MPI_COMM_WORLD, &packsize);
    CHECK(packsize >= N * (int)sizeof(int), "Pack_size %d", packsize);
    CHECK(MPI_BSEND_OVERHEAD >= 0, "MPI_BSEND_OVERHEAD %d", MPI_BSEND_OVERHEAD);
    bufsize = MSGS * (packsize + MPI_BSEND_OVERHEAD);
    buf = malloc(bufsize);
    CHECK_MPI(MPI_Buffer_attach(buf, bufsize));
    for (k = 0; k < MSGS; k++) {
        fill(out, N, rank * 1000 + k * 100);
        CHECK_MPI(MPI_Bsend(out, N, MPI_INT, right, 70 + k, MPI_COMM_WORLD));
        fill(out, N, -1); /* the message was copied out */
    }
    CHECK_MPI(MPI_Bsend(out, N, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD));
    for (k = MSGS - 1; k >= 0; k--) { /* receive in reverse tag order */
        CHECK_MPI(MPI_Recv(in, N, MPI_INT, left, 70 + k, MPI_COMM_WORLD, &st));
        MPI_Get_count(&st, MPI_INT, &count);
        CHECK(count == N && st.MPI_TAG == 70 + k &&
                  wrong(in, N, left * 1000 + k * 100) == 0,
              "Bsend %d: count %d tag %d in[0] %d", k, count, st.MPI_TAG,
              in[0]);
    }
    CHECK_MPI(MPI_Buffer_detach(&back, &backsize));
    CHECK(back == buf && backsize == bufsize, "detach gave %p/%d, want %p/%d",
          back, backsize, buf, bufsize);
    free(buf);

    /* The buffer can be attached again and reused. */
    buf = malloc(bufsize);
    CHECK_MPI(MPI_Buffer_attach(buf, bufsize));
    fill(out, N, rank);
    CHECK_MPI(MPI_Bsend(out, N, MPI_INT, right, 79, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Recv(in, N, MPI_INT, left, 79, MPI_COMM_WORLD, &st));
    CHECK(wrong(in, N, left) == 0, "second attach: bad data");
    CHECK_MPI(MPI_Buffer_detach(&back, &backsize));
    CHECK(back == buf && backsize == bufsize, "second detach %p/%d", back,
          backsize);
    free(buf);
}

/* Probe/Recv: every rank but 0 sends rank 0 one message of its own length
 * and tag; rank 0 probes with wildcards, allocates exactly the probed count
 * and receives that message by its source and tag. Probe twice gives the
 * same message (it is not consumed). */
static void probe(void)
{
    int k, count, count2, *buf;
    MPI_Status st, st2;
    if (rank != 0) {
        int len = rank * 1000 + 1;
        buf = malloc(len * sizeof(int));
        fill(buf, len, rank);
        CHECK_MPI(MPI_Send(buf, len, MPI_INT, 0, 80 + rank, MPI_COMM_WORLD));
        free(buf);
        /* Until rank 0 has them all, no rank may start the next phase: its
         * ring message to rank 0 would match rank 0's wildcard Probe. */
        MPI_Barrier(MPI_COMM_WORLD);
        return;
    }
    for (k = 1; k < size; k++) {
        int src, tag;
        CHECK_MPI(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
        CHECK_MPI(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st2));
        src = st.MPI_SOURCE;
        tag = st.MPI_TAG;
        MPI_Get_count(&st, MPI_INT, &count);
        MPI_Get_count(&st2, MPI_INT, &count2);
        CHECK(st2.MPI_SOURCE == src && st2.MPI_TAG == tag && count2 == count,
              "second Probe: %d/%d/%d, first %d/%d/%d", st2.MPI_SOURCE,
              st2.MPI_TAG, count2, src, tag, count);
        CHECK(src > 0 && src < size && tag == 80 + src &&
                  count == src * 1000 + 1,
              "Probe: source %d tag %d count %d", src, tag, count);
        if (src <= 0 || src >= size || count < 0)
            continue;
        buf = malloc(count * sizeof(int));
        CHECK_MPI(MPI_Recv(buf, count, MPI_INT, src, tag, MPI_COMM_WORLD,
                           &st2));
        MPI_Get_count(&st2, MPI_INT, &count2);
        CHECK(count2 == count && st2.MPI_SOURCE == src && st2.MPI_TAG == tag &&
                  wrong(buf, count, src) == 0,
              "Recv after Probe: count %d source %d tag %d", count2,
              st2.MPI_SOURCE, st2.MPI_TAG);
        free(buf);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Iprobe: poll for the ring message from the left; a tag nobody sends is
 * never found. */
static void iprobe(void)
{
    int out[64], in[64], flag = 0, count = -1, len = (rank + 1) * 7;
    double t0 = MPI_Wtime();
    MPI_Request rq;
    MPI_Status st;
    fill(out, len, rank * 3);
    MPI_Isend(out, len, MPI_INT, right, 90, MPI_COMM_WORLD, &rq);
    while (!flag && MPI_Wtime() - t0 < 20.0)
        MPI_Iprobe(left, 90, MPI_COMM_WORLD, &flag, &st);
    CHECK(flag, "Iprobe never found the message");
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 90 &&
              count == (left + 1) * 7,
          "Iprobe: source %d tag %d count %d", st.MPI_SOURCE, st.MPI_TAG,
          count);
    CHECK_MPI(MPI_Recv(in, 64, MPI_INT, left, 90, MPI_COMM_WORLD, &st));
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(count == (left + 1) * 7 && wrong(in, count, left * 3) == 0,
          "Recv after Iprobe: count %d", count);
    CHECK_MPI(MPI_Wait(&rq, MPI_STATUS_IGNORE));

    flag = 1;
    CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, 12345, MPI_COMM_WORLD, &flag, &st));
    CHECK(flag == 0, "Iprobe found a message nobody sent");
}

int main(int argc, char **argv)
{
    ctest_init(&argc, &argv, "p2p_modes");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    right = (rank + 1) % size;
    left = (rank + size - 1) % size;
    peer = (rank ^ 1) < size ? rank ^ 1 : -1;

    ssend();
    rsend();
    bsend();
    probe();
    iprobe();

    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
