/* ranks: 1 2 */
/* adderr.c: Add_error_class/code/string: added classes are their own
 * class, codes report their class, strings come back, an added code can
 * go through a user error handler; MPI_LASTUSEDCODE covers the codes;
 * predefined classes keep their strings (Add_error_string refuses). */
#include "ctest.h"

static int seen;

static void handler(MPI_Comm *comm, int *code, ...)
{
    (void)comm;
    seen = *code;
}

int main(int argc, char **argv)
{
    int cls[3], code[3][2], i, j, out = -1, len = 0, flag = 0, *last = NULL, rc;
    char want[64], got[MPI_MAX_ERROR_STRING];
    MPI_Errhandler eh;

    ctest_init(&argc, &argv, "adderr");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (i = 0; i < 3; i++) {
        CHECK_MPI(MPI_Add_error_class(&cls[i]));
        snprintf(want, sizeof(want), "class %d", i);
        CHECK_MPI(MPI_Add_error_string(cls[i], want));
        for (j = 0; j < 2; j++) {
            CHECK_MPI(MPI_Add_error_code(cls[i], &code[i][j]));
            snprintf(want, sizeof(want), "code %d of class %d", j, i);
            CHECK_MPI(MPI_Add_error_string(code[i][j], want));
        }
    }
    CHECK(cls[0] > MPI_ERR_INFO && cls[1] == cls[0] + 1, "classes %d %d", cls[0], cls[1]);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag);
    CHECK(flag && *last >= MPI_ERR_LASTCODE, "MPI_LASTUSEDCODE %d", flag ? *last : -1);
    for (i = 0; i < 3; i++) {
        MPI_Error_class(cls[i], &out);
        CHECK(out == cls[i], "class of class %d is %d", cls[i], out);
        MPI_Error_string(cls[i], got, &len);
        snprintf(want, sizeof(want), "class %d", i);
        CHECK(strcmp(got, want) == 0, "class string %s", got);
        for (j = 0; j < 2; j++) {
            MPI_Error_class(code[i][j], &out);
            CHECK(out == cls[i], "class of code %d is %d, want %d", code[i][j], out, cls[i]);
            CHECK(flag && code[i][j] <= *last, "code %d above MPI_LASTUSEDCODE %d", code[i][j], *last);
            MPI_Error_string(code[i][j], got, &len);
            snprintf(want, sizeof(want), "code %d of class %d", j, i);
            CHECK(strcmp(got, want) == 0 && len == (int)strlen(want), "code string %s", got);
        }
    }
    rc = MPI_Add_error_string(MPI_ERR_TAG, "mine");
    MPI_Error_class(rc, &out);
    CHECK(out == MPI_ERR_ARG, "Add_error_string on a predefined class: %d", out);

    MPI_Comm_create_errhandler(handler, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh);
    CHECK_MPI(MPI_Comm_call_errhandler(MPI_COMM_WORLD, code[2][1]));
    CHECK(seen == code[2][1], "the handler saw %d, want %d", seen, code[2][1]);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&eh);
    {
        int rc2 = ctest_finish();
        MPI_Finalize();
        return rc2;
    }
}
