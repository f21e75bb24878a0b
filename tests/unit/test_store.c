/*
 * The store table (src/store/): the engine chosen at open, the statement interface, write
 * transactions and the engine-specific writes, through store/store.h only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];
    dscat_store *st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dscat-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    dscat_error err = {0};
    assert_int_equal(dscat_store_open(&f->st, f->dir, DSCAT_STORE_WRITE, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dscat_store_close(f->st);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t count_of(dscat_store *st, const char *sql)
{
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, st, sql, &err), 0);
    assert_int_equal(dscat_stmt__step(s), DSCAT_STMT_ROW);
    int64_t n = dscat_stmt__int64(s, 0);
    assert_int_equal(dscat_stmt__step(s), DSCAT_STMT_DONE);
    dscat_stmt__finalize(s);
    return n;
}

static void engine_and_new_store(void **state)
{
    fixture *f = *state;
    assert_string_equal(dscat_store__engine(f->st), "sqlite");
    assert_int_equal(dscat_store__generation(f->st), 0);
    assert_int_equal(dscat_store__exports_generation(f->st), -1);
    char id[40];
    assert_int_equal(dscat_store__catalog_id(f->st, id, sizeof(id)), 0);
    assert_int_equal(strlen(id), 32);
    dscat_error err = {0};
    assert_int_equal(dscat_store__set_exports_generation(f->st, 7, &err), 0);
    assert_int_equal(dscat_store__exports_generation(f->st), 7);
}

/* Binds of every kind come back as they went in; NULL text binds NULL. */
static void statement_round_trip(void **state)
{
    fixture *f = *state;
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, f->st, "SELECT ?1, ?2, ?3, ?4, ?5, ?1 + 1", &err), 0);
    dscat_stmt__bind_int64(s, 1, INT64_C(5000000000));
    dscat_stmt__bind_double(s, 2, 2.5);
    dscat_stmt__bind_text(s, 3, "héllo");
    dscat_stmt__bind_text(s, 4, NULL);
    char gone[8] = "copied";
    dscat_stmt__bind_text_copy(s, 5, gone);
    memset(gone, 'x', sizeof(gone) - 1);
    assert_int_equal(dscat_stmt__step(s), DSCAT_STMT_ROW);
    assert_int_equal(dscat_stmt__int64(s, 0), INT64_C(5000000000));
    assert_true(dscat_stmt__double(s, 1) == 2.5);
    assert_string_equal(dscat_stmt__text(s, 2), "héllo");
    assert_int_equal(dscat_stmt__bytes(s, 2), strlen("héllo"));
    assert_true(dscat_stmt__is_null(s, 3));
    assert_null(dscat_stmt__text(s, 3));
    assert_int_equal(dscat_stmt__int(s, 3), 0);
    assert_string_equal(dscat_stmt__text(s, 4), "copied");
    assert_false(dscat_stmt__is_null(s, 5));
    assert_int_equal(dscat_stmt__int64(s, 5), INT64_C(5000000001));
    assert_int_equal(dscat_stmt__step(s), DSCAT_STMT_DONE);
    /* reset clears the bindings */
    dscat_stmt__reset(s);
    assert_int_equal(dscat_stmt__step(s), DSCAT_STMT_ROW);
    assert_true(dscat_stmt__is_null(s, 0));
    dscat_stmt__finalize(s);
    dscat_stmt__finalize(NULL);
}

static void prepare_failure_names_the_store(void **state)
{
    fixture *f = *state;
    dscat_stmt *s = (dscat_stmt *)&s;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, f->st, "SELECT nope FROM nowhere", &err), DSCAT_EIO);
    assert_null(s);
    assert_non_null(strstr(err.message, "catalog store "));
    assert_non_null(strstr(err.message, ": cannot prepare a query: no such table: nowhere"));
}

/* A failing step returns a negative code and step_error tells why. */
static void step_failure(void **state)
{
    fixture *f = *state;
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, f->st,
                                         "INSERT INTO targets(key, current_scan_id) VALUES (?1, 1)",
                                         &err),
                     0);
    dscat_stmt__bind_text(s, 1, "t");
    assert_int_equal(dscat_stmt__step(s), DSCAT_STMT_DONE);
    dscat_stmt__reset(s);
    dscat_stmt__bind_text(s, 1, "t");
    assert_true(dscat_stmt__step(s) < 0);
    assert_int_equal(dscat_store__step_error(f->st, &err), DSCAT_EIO);
    assert_non_null(strstr(err.message, ": query failed: UNIQUE constraint failed"));
    dscat_stmt__finalize(s);
}

static void write_transactions(void **state)
{
    fixture *f = *state;
    dscat_error err = {0};
    assert_int_equal(dscat_store__begin(f->st, &err), 0);
    assert_int_equal(dscat_store__set_current(f->st, "a", 1, &err), 0);
    dscat_store__rollback(f->st);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM targets"), 0);
    assert_int_equal(dscat_store__begin(f->st, &err), 0);
    assert_int_equal(dscat_store__set_current(f->st, "a", 1, &err), 0);
    assert_int_equal(dscat_store__set_current(f->st, "a", 2, &err), 0);
    /* a read inside the writer's transaction only counts */
    assert_int_equal(dscat_store__read_begin(f->st, &err), 0);
    dscat_store__read_end(f->st);
    assert_int_equal(dscat_store__commit(f->st, &err), 0);
    assert_int_equal(count_of(f->st, "SELECT current_scan_id FROM targets WHERE key = 'a'"), 2);
    dscat_store__rollback(f->st); /* nothing open: does nothing */
    char fp[64];
    assert_int_equal(dscat_store__read_begin(f->st, &err), 0);
    assert_int_equal(dscat_store__fingerprint(f->st, fp, sizeof(fp), &err), 0);
    dscat_store__read_end(f->st);
    assert_string_equal(fp, "a=2/0");
}

static void pending_deletions_keep_their_time(void **state)
{
    fixture *f = *state;
    dscat_error err = {0};
    assert_int_equal(dscat_store__schedule_deletion(f->st, "/c/v1", "2026-01-01T00:00:00Z", &err),
                     0);
    assert_int_equal(dscat_store__schedule_deletion(f->st, "/c/v1", "2027-01-01T00:00:00Z", &err),
                     0);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM pending_deletions WHERE path = '/c/v1' "
                                     "AND delete_after = '2026-01-01T00:00:00Z'"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(engine_and_new_store, setup, teardown),
        cmocka_unit_test_setup_teardown(statement_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(prepare_failure_names_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(step_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(write_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_deletions_keep_their_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
