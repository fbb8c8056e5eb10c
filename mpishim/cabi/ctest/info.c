/* ranks: 1 */
/* info.c: Info_create/set/get/get_valuelen/get_nkeys/get_nthkey/delete/
 * dup/free: values replaced in place, keys kept in insertion order, a
 * truncated get, the error classes of a missing key and an over-long key. */
#include "ctest.h"

int main(int argc, char **argv)
{
    MPI_Info info, dup;
    char key[MPI_MAX_INFO_KEY + 1], val[64], big[MPI_MAX_INFO_KEY + 2];
    int flag = -1, n = -1, len = -1, rc, cls = -1;

    ctest_init(&argc, &argv, "info");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

    CHECK_MPI(MPI_Info_create(&info));
    CHECK_MPI(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 0, "new info has %d keys", n);
    CHECK_MPI(MPI_Info_set(info, "alpha", "one"));
    CHECK_MPI(MPI_Info_set(info, "beta", "two"));
    CHECK_MPI(MPI_Info_set(info, "alpha", "uno")); /* replaces, keeps place */
    CHECK_MPI(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 2, "%d keys, want 2", n);
    CHECK_MPI(MPI_Info_get_nthkey(info, 0, key));
    CHECK(strcmp(key, "alpha") == 0, "key 0 is %s", key);
    CHECK_MPI(MPI_Info_get_nthkey(info, 1, key));
    CHECK(strcmp(key, "beta") == 0, "key 1 is %s", key);

    CHECK_MPI(MPI_Info_get(info, "alpha", sizeof(val) - 1, val, &flag));
    CHECK(flag && strcmp(val, "uno") == 0, "alpha: flag %d value %s", flag, val);
    CHECK_MPI(MPI_Info_get(info, "alpha", 2, val, &flag)); /* 2 chars + NUL */
    CHECK(flag && strcmp(val, "un") == 0, "truncated get gave %s", val);
    CHECK_MPI(MPI_Info_get_valuelen(info, "beta", &len, &flag));
    CHECK(flag && len == 3, "beta: flag %d valuelen %d", flag, len);
    CHECK_MPI(MPI_Info_get(info, "gamma", sizeof(val) - 1, val, &flag));
    CHECK(flag == 0, "gamma found");

    CHECK_MPI(MPI_Info_dup(info, &dup));
    CHECK_MPI(MPI_Info_delete(info, "alpha"));
    CHECK_MPI(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 1, "%d keys after delete", n);
    CHECK_MPI(MPI_Info_get(dup, "alpha", sizeof(val) - 1, val, &flag));
    CHECK(flag && strcmp(val, "uno") == 0, "the dup lost alpha (%d %s)", flag, val);

    rc = MPI_Info_delete(info, "alpha");
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_INFO_NOKEY, "deleting a missing key: class %d", cls);
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    rc = MPI_Info_set(info, big, "v");
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_INFO_KEY, "a %d-character key: class %d", (int)strlen(big), cls);

    CHECK_MPI(MPI_Info_free(&info));
    CHECK(info == MPI_INFO_NULL, "free left %d", info);
    CHECK_MPI(MPI_Info_free(&dup));
    {
        int rc2 = ctest_finish();
        MPI_Finalize();
        return rc2;
    }
}
