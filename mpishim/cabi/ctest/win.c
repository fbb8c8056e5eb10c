/* ranks: 1 3 */
/* win.c: windows as objects: Win_create (collective), the predefined
 * attributes (base, size, displacement unit, flavor), Win_get_group,
 * user keyvals with a delete callback that runs on delete_attr, on
 * replacement and on Win_free, Win_set_name/get_name, and
 * Alloc_mem/Free_mem for the window's memory. */
#include "ctest.h"

static int deleted;

static int del_fn(MPI_Win w, int key, void *val, void *extra)
{
    (void)w;
    (void)key;
    (void)extra;
    deleted += *(int *)val;
    return MPI_SUCCESS;
}

int main(int argc, char **argv)
{
    MPI_Win win;
    MPI_Group wg, g;
    int *mem = NULL, rank, key = MPI_KEYVAL_INVALID, flag = -1, cmp = -1, len = 0, *ip, a = 1, b = 10, c = 100;
    void *p;
    MPI_Aint *sp;
    char name[MPI_MAX_OBJECT_NAME];

    ctest_init(&argc, &argv, "win");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    CHECK_MPI(MPI_Alloc_mem(64 * sizeof(int), MPI_INFO_NULL, &mem));
    CHECK_MPI(MPI_Win_create(mem, 64 * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win));

    CHECK_MPI(MPI_Win_get_attr(win, MPI_WIN_BASE, &p, &flag));
    CHECK(flag && p == mem, "base %p, want %p", p, (void *)mem);
    CHECK_MPI(MPI_Win_get_attr(win, MPI_WIN_SIZE, &sp, &flag));
    CHECK(flag && *sp == 64 * (MPI_Aint)sizeof(int), "size %ld", (long)*sp);
    CHECK_MPI(MPI_Win_get_attr(win, MPI_WIN_DISP_UNIT, &ip, &flag));
    CHECK(flag && *ip == (int)sizeof(int), "disp unit %d", *ip);
    CHECK_MPI(MPI_Win_get_attr(win, MPI_WIN_CREATE_FLAVOR, &ip, &flag));
    CHECK(flag && *ip == MPI_WIN_FLAVOR_CREATE, "flavor %d", *ip);

    CHECK_MPI(MPI_Win_get_group(win, &g));
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Group_compare(g, wg, &cmp);
    CHECK(cmp == MPI_IDENT, "window group compares %d", cmp);
    MPI_Group_free(&g);
    MPI_Group_free(&wg);

    CHECK_MPI(MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, del_fn, &key, NULL));
    CHECK_MPI(MPI_Win_get_attr(win, key, &ip, &flag));
    CHECK(flag == 0, "unset attribute found");
    CHECK_MPI(MPI_Win_set_attr(win, key, &a));
    CHECK_MPI(MPI_Win_get_attr(win, key, &ip, &flag));
    CHECK(flag && ip == &a, "attribute %p, want %p", (void *)ip, (void *)&a);
    CHECK_MPI(MPI_Win_set_attr(win, key, &b)); /* deletes a */
    CHECK(deleted == 1, "replacing ran the callback %d", deleted);
    CHECK_MPI(MPI_Win_delete_attr(win, key)); /* deletes b */
    CHECK(deleted == 11, "delete_attr: %d", deleted);
    CHECK_MPI(MPI_Win_set_attr(win, key, &c));

    CHECK_MPI(MPI_Win_set_name(win, "my window"));
    CHECK_MPI(MPI_Win_get_name(win, name, &len));
    CHECK(strcmp(name, "my window") == 0 && len == 9, "name %s (%d)", name, len);

    CHECK_MPI(MPI_Win_free(&win)); /* deletes c */
    CHECK(win == MPI_WIN_NULL, "free left %d", win);
    CHECK(deleted == 111, "Win_free: %d", deleted);
    CHECK_MPI(MPI_Win_free_keyval(&key));
    CHECK(key == MPI_KEYVAL_INVALID, "free_keyval left %d", key);
    CHECK_MPI(MPI_Free_mem(mem));
    {
        int rc = ctest_finish();
        MPI_Finalize();
        return rc;
    }
}
