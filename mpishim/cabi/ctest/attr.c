/* ranks: 1 2 3 4 */
/* attr.c: communicator attributes. Comm_create_keyval with copy and delete
 * callbacks (copy runs on Comm_dup; delete runs on Comm_free, on
 * Comm_delete_attr and when a value is replaced; extra_state is passed
 * through), set/get/delete_attr, a copy callback declining to copy,
 * MPI_COMM_NULL_COPY_FN, MPI_COMM_DUP_FN, Comm_free_keyval (also while the
 * key is still attached), and attributes on MPI_COMM_SELF deleted at the
 * start of MPI_Finalize, the last set first (MPI-3.1 8.7.1). */
#include "ctest.h"
#include <stdint.h>

static int marker;           /* its address is the extra_state */
static int copies, deletes;  /* callback calls */
static intptr_t last_deleted; /* value given to the last delete */
static int bad_extra;        /* a callback got the wrong extra_state */
static int self_deleted;     /* MPI_COMM_SELF attributes deleted */
static intptr_t self_order[3]; /* their values, in the order deleted */

#define VAL(p) ((intptr_t)(p))
#define PTR(v) ((void *)(intptr_t)(v))

static int copy_plus1(MPI_Comm old, int key, void *extra, void *in, void *out,
                      int *flag)
{
    (void)old;
    (void)key;
    if (extra != &marker)
        bad_extra++;
    copies++;
    *(void **)out = PTR(VAL(in) + 1);
    *flag = 1;
    return MPI_SUCCESS;
}

static int copy_none(MPI_Comm old, int key, void *extra, void *in, void *out,
                     int *flag)
{
    (void)old, (void)key, (void)extra, (void)in, (void)out;
    copies++;
    *flag = 0;
    return MPI_SUCCESS;
}

static int del(MPI_Comm comm, int key, void *val, void *extra)
{
    (void)comm;
    (void)key;
    if (extra != &marker)
        bad_extra++;
    deletes++;
    last_deleted = VAL(val);
    return MPI_SUCCESS;
}

static int del_self(MPI_Comm comm, int key, void *val, void *extra)
{
    int fin = 1;
    (void)key, (void)extra;
    MPI_Finalized(&fin); /* MPI is still usable here */
    if (comm == MPI_COMM_SELF && !fin && self_deleted < 3)
        self_order[self_deleted++] = VAL(val);
    return MPI_SUCCESS;
}

/* get key on c: returns the value, or -1 when not set */
static intptr_t get(MPI_Comm c, int key)
{
    void *v = NULL;
    int flag = -1;
    CHECK_MPI(MPI_Comm_get_attr(c, key, &v, &flag));
    return flag ? VAL(v) : -1;
}

int main(int argc, char **argv)
{
    MPI_Comm base, d, d2;
    int key, key_none, key_null, key_dup, key_late;
    int x = 5;

    ctest_init(&argc, &argv, "attr");
    MPI_Comm_dup(MPI_COMM_WORLD, &base);

    CHECK_MPI(MPI_Comm_create_keyval(copy_plus1, del, &key, &marker));
    CHECK(get(base, key) == -1, "attribute set before Comm_set_attr");
    CHECK_MPI(MPI_Comm_set_attr(base, key, PTR(42)));
    CHECK(get(base, key) == 42, "get gave %ld", (long)get(base, key));

    CHECK_MPI(MPI_Comm_dup(base, &d)); /* copy callback: 42 -> 43 */
    CHECK(copies == 1 && deletes == 0, "after dup: %d copies %d deletes",
          copies, deletes);
    CHECK(get(d, key) == 43 && get(base, key) == 42, "dup: %ld, base %ld",
          (long)get(d, key), (long)get(base, key));

    CHECK_MPI(MPI_Comm_set_attr(base, key, PTR(50))); /* replaces 42 */
    CHECK(deletes == 1 && last_deleted == 42,
          "replacing: %d deletes, last %ld", deletes, (long)last_deleted);
    CHECK(get(base, key) == 50, "after replacing: %ld", (long)get(base, key));

    CHECK_MPI(MPI_Comm_free(&d)); /* deletes 43 */
    CHECK(deletes == 2 && last_deleted == 43, "Comm_free: %d deletes, last %ld",
          deletes, (long)last_deleted);

    CHECK_MPI(MPI_Comm_delete_attr(base, key)); /* deletes 50 */
    CHECK(deletes == 3 && last_deleted == 50,
          "Comm_delete_attr: %d deletes, last %ld", deletes,
          (long)last_deleted);
    CHECK(get(base, key) == -1, "attribute still there after delete");

    /* a copy callback that declines: the dup has no attribute */
    CHECK_MPI(MPI_Comm_create_keyval(copy_none, MPI_COMM_NULL_DELETE_FN,
                                     &key_none, NULL));
    MPI_Comm_set_attr(base, key_none, PTR(9));
    copies = 0;
    MPI_Comm_dup(base, &d);
    CHECK(copies == 1 && get(d, key_none) == -1, "declined copy: %d calls, %ld",
          copies, (long)get(d, key_none));
    MPI_Comm_free(&d);

    /* predefined callbacks: NULL_COPY does not copy, DUP_FN copies as is */
    CHECK_MPI(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN,
                                     MPI_COMM_NULL_DELETE_FN, &key_null, NULL));
    CHECK_MPI(MPI_Comm_create_keyval(MPI_COMM_DUP_FN, MPI_COMM_NULL_DELETE_FN,
                                     &key_dup, NULL));
    MPI_Comm_set_attr(base, key_null, PTR(11));
    MPI_Comm_set_attr(base, key_dup, &x);
    MPI_Comm_dup(base, &d);
    CHECK(get(d, key_null) == -1, "MPI_COMM_NULL_COPY_FN copied");
    CHECK(get(d, key_dup) == VAL(&x), "MPI_COMM_DUP_FN gave %ld",
          (long)get(d, key_dup));
    MPI_Comm_dup(d, &d2); /* copies of copies */
    CHECK(get(d2, key_dup) == VAL(&x), "MPI_COMM_DUP_FN on a dup's dup");
    MPI_Comm_free(&d2);
    MPI_Comm_free(&d);

    /* Comm_free_keyval: the handle becomes MPI_KEYVAL_INVALID, attributes
     * already attached stay and are deleted with their communicator */
    CHECK_MPI(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, del, &key_late,
                                     &marker));
    MPI_Comm_dup(base, &d);
    MPI_Comm_set_attr(d, key_late, PTR(60));
    CHECK_MPI(MPI_Comm_free_keyval(&key_late));
    CHECK(key_late == MPI_KEYVAL_INVALID, "Comm_free_keyval left the handle");
    deletes = 0;
    CHECK_MPI(MPI_Comm_free(&d));
    CHECK(deletes == 1 && last_deleted == 60,
          "freed key's attribute at Comm_free: %d deletes, last %ld", deletes,
          (long)last_deleted);

    CHECK_MPI(MPI_Comm_free_keyval(&key));
    CHECK_MPI(MPI_Comm_free_keyval(&key_none));
    CHECK_MPI(MPI_Comm_free_keyval(&key_null));
    CHECK_MPI(MPI_Comm_free_keyval(&key_dup));
    CHECK(key == MPI_KEYVAL_INVALID && key_dup == MPI_KEYVAL_INVALID,
          "Comm_free_keyval left handles set");
    CHECK(bad_extra == 0, "%d callbacks got the wrong extra_state", bad_extra);
    MPI_Comm_free(&base);

    /* deleted at the start of MPI_Finalize, checked after it */
    {
        int k[3], i;
        for (i = 0; i < 3; i++)
            CHECK_MPI(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, del_self, &k[i], NULL));
        /* set in the order 1, 0, 2 of creation: deleted 2, 0, 1 */
        CHECK_MPI(MPI_Comm_set_attr(MPI_COMM_SELF, k[1], PTR(77)));
        CHECK_MPI(MPI_Comm_set_attr(MPI_COMM_SELF, k[0], PTR(78)));
        CHECK_MPI(MPI_Comm_set_attr(MPI_COMM_SELF, k[2], PTR(79)));
    }

    {
        int rc = ctest_finish();
        MPI_Finalize();
        if (self_deleted != 3 || self_order[0] != 79 || self_order[1] != 78 || self_order[2] != 77) {
            fprintf(stderr, "attr: MPI_Finalize deleted %d MPI_COMM_SELF attributes, "
                    "%ld %ld %ld; want 79 78 77\n", self_deleted, (long)self_order[0],
                    (long)self_order[1], (long)self_order[2]);
            rc = 1;
        }
        return rc;
    }
}
