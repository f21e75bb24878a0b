/*
 * The store table (src/store/): the engine chosen at open, the statement interface, write
 * transactions and the engine-specific writes, through store/store.h only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog/changes.h"
#include "dscat/config.h"
#include "core/buf.h"
#include "core/model.h"
#include "core/testhooks.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The engine the stores of this run are on: PostgreSQL when the test build's DSCAT_TEST_PG_STORE
 * sends every catalog directory there (tests/integration/t_store_unit.sh under STORE=postgres),
 * else SQLite. Only what the engines word or plan differently depends on it.
 */
static bool on_postgres(void)
{
    return dscat_test__pg_store() != NULL;
}

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

/*
 * One scan of database "db": `ntables` tables of 8 columns, each table but the first with a
 * foreign key to the one before; table `changed` gets a ninth column named after `version`.
 */
static void make_scan(dscat_db_scan *d, int ntables, int changed, int version)
{
    assert_int_equal(dscat_db_scan_init(d, "db"), 0);
    d->scanned_at_us = 1000 + version;
    char name[32], prev[32], col[32];
    for (int i = 0; i < ntables; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        dscat_table_info t = {.schema = "public",
                              .name = name,
                              .type = "BASE TABLE",
                              .row_estimate = 10 * i,
                              .size_bytes = DSCAT_NULL,
                              .last_modified_us = DSCAT_NULL};
        size_t ti = 0;
        assert_int_equal(dscat_db_scan_add_table(d, &t, &ti), 0);
        int ncols = i == changed ? 9 : 8;
        for (int c = 0; c < ncols; c++) {
            if (c == 8)
                snprintf(col, sizeof(col), "v%d", version);
            else
                snprintf(col, sizeof(col), "c%d", c);
            dscat_column_info ci = {.table = ti,
                                    .name = col,
                                    .ordinal = c + 1,
                                    .data_type = c % 2 ? "text" : "integer",
                                    .column_type = c % 2 ? "text" : "integer",
                                    .nullable = c > 0,
                                    .is_pk = c == 0,
                                    .max_length = DSCAT_NULL,
                                    .precision = DSCAT_NULL,
                                    .scale = DSCAT_NULL,
                                    .null_count = DSCAT_NULL,
                                    .distinct_count = DSCAT_NULL,
                                    .profiled_rows = DSCAT_NULL};
            assert_int_equal(dscat_db_scan_add_column(d, &ci), 0);
        }
        if (i > 0) {
            snprintf(prev, sizeof(prev), "t%d", i - 1);
            dscat_fk_info fk = {.table = ti,
                                .column = "c1",
                                .ref_schema = "public",
                                .ref_table = prev,
                                .ref_column = "c0"};
            assert_int_equal(dscat_db_scan_add_fk(d, &fk), 0);
        }
    }
}

/* Records a successful scan of target "t" and makes it current; keeps `keep` scans. */
static int64_t record_scan(dscat_store *st, dscat_db_scan *d, int keep)
{
    dscat_target_config cfg = {.key = "t", .name = "t", .type = "postgres"};
    dscat_target_report rep = {.target = "t", .status = DSCAT_SCAN_OK, .databases = 1};
    dscat_scan_row row = {"run", &cfg, &rep, 1, 2, false};
    dscat_error err = {0};
    int64_t id = 0;
    assert_int_equal(dscat_store__begin(st, &err), 0);
    assert_int_equal(dscat_store__insert_scan(st, &row, &id, &err), 0);
    assert_int_equal(dscat_store__insert_database(st, id, d, &err), 0);
    assert_int_equal(dscat_store__set_current(st, "t", id, &err), 0);
    assert_int_equal(dscat_store__prune(st, "t", keep, &err), 0);
    assert_int_equal(dscat_store__analyze(st, &err), 0);
    assert_int_equal(dscat_store__commit(st, &err), 0);
    return id;
}

/*
 * Content is kept once: unchanged scans add one row per database, a changed table one table row
 * and one column set, and the prune takes away what no kept scan has.
 */
static void content_is_stored_once(void **state)
{
    fixture *f = *state;
    dscat_db_scan d;
    make_scan(&d, 50, -1, 0);
    record_scan(f->st, &d, 20);
    record_scan(f->st, &d, 20);
    dscat_db_scan_free(&d);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM scans"), 2);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM table_sets"), 1);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM tables"), 50);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM columns"), 400);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM foreign_keys"), 49);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM scan_tables"), 100);
    /* Table t3 gains a column: one more table row and column set, 9 more columns. */
    make_scan(&d, 50, 3, 1);
    record_scan(f->st, &d, 20);
    dscat_db_scan_free(&d);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM tables"), 51);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM columns"), 409);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM " DSCAT_CURRENT_TABLES
                                     " t JOIN columns c ON c.set_id = t.column_set "
                                     "WHERE t.name = 't3'"),
                     9);
    /* Keeping one scan: the old t3 and its columns go; the shared rows stay. */
    make_scan(&d, 50, 3, 1);
    record_scan(f->st, &d, 1);
    dscat_db_scan_free(&d);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM scans"), 1);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM table_sets"), 1);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM tables"), 50);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM column_sets"), 50);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM columns"), 401);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM foreign_keys"), 49);
}

/* Fails when the plan of `sql` reads a whole table other than targets (a SCAN): the cost of
 * such a query would grow with the scans the store keeps. */
static void assert_indexed_plan(dscat_store *st, const char *sql)
{
    /* SQLite's EXPLAIN QUERY PLAN; PostgreSQL's planner chooses by the tables' statistics (a
     * sequential scan of a small table is its right plan), so there is nothing to check there. */
    if (on_postgres())
        return;
    dscat_buf q = DSCAT_BUF_INIT;
    assert_int_equal(dscat_buf_printf(&q, "EXPLAIN QUERY PLAN %s", sql), 0);
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, st, dscat_buf_cstr(&q), &err), 0);
    int rows = 0;
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        const char *detail = dscat_stmt__text(s, 3);
        rows++;
        if (strncmp(detail, "SCAN ", 5) == 0 && strcmp(detail, "SCAN g") != 0 &&
            strcmp(detail, "SCAN cur") != 0 && strncmp(detail, "SCAN p", 6) != 0)
            fail_msg("plan step '%s' reads a whole table in: %s", detail, sql);
        if (strstr(detail, "AUTOMATIC") != NULL)
            fail_msg("plan step '%s' builds an index for: %s", detail, sql);
    }
    assert_true(rows > 0);
    dscat_stmt__finalize(s);
    dscat_buf_free(&q);
}

/* The current catalog is read from its pointers, whatever the store holds. */
static void current_catalog_plans_use_pointers(void **state)
{
    fixture *f = *state;
    dscat_db_scan d;
    for (int v = 0; v < 20; v++) {
        make_scan(&d, 200, v % 7, v);
        record_scan(f->st, &d, 20);
        dscat_db_scan_free(&d);
    }
    assert_indexed_plan(f->st, "SELECT t.name, c.name FROM " DSCAT_CURRENT_TABLES
                               " t JOIN columns c ON c.set_id = t.column_set");
    assert_indexed_plan(f->st, "SELECT count(*) FROM " DSCAT_CURRENT_TABLES " t");
    assert_indexed_plan(f->st, "SELECT t.name FROM " DSCAT_CURRENT_TABLES " t WHERE t.id = 5");
    assert_indexed_plan(f->st, "SELECT t.name, f.ref_table FROM " DSCAT_CURRENT_TABLES
                               " t JOIN foreign_keys f ON f.set_id = t.column_set");
    assert_indexed_plan(f->st, DSCAT_CHANGES_SQL_ALL);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM (" DSCAT_CHANGES_SQL_ALL ") AS c"), 2);
}

static void engine_and_new_store(void **state)
{
    fixture *f = *state;
    assert_string_equal(dscat_store__engine(f->st), on_postgres() ? "postgres" : "sqlite");
    assert_int_equal(dscat_store__generation(f->st), 0);
    assert_int_equal(dscat_store__exports_generation(f->st), -1);
    char id[40];
    assert_int_equal(dscat_store__catalog_id(f->st, id, sizeof(id)), 0);
    assert_int_equal(strlen(id), 32);
    dscat_error err = {0};
    assert_int_equal(dscat_store__set_exports_generation(f->st, 7, &err), 0);
    assert_int_equal(dscat_store__exports_generation(f->st), 7);
}

/*
 * Binds of every kind come back as they went in; NULL text binds NULL.
 * Fails on the PostgreSQL store (src/store/postgres.c, not fixed here): after the reset the
 * unbound parameters are sent as NULLs of type text, so ?1 + 1 is refused ("operator does not
 * exist: text + integer"), where SQLite's NULL + 1 is NULL.
 */
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

/*
 * Fails on the PostgreSQL store (src/store/postgres.c, not fixed here): its prepare only
 * translates the SQL and sends nothing, so a statement naming no table is accepted and fails at
 * its first step instead; the PostgreSQL wording below is what its message would then hold.
 */
static void prepare_failure_names_the_store(void **state)
{
    fixture *f = *state;
    dscat_stmt *s = (dscat_stmt *)&s;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, f->st, "SELECT nope FROM nowhere", &err), DSCAT_EIO);
    assert_null(s);
    assert_non_null(strstr(err.message, "catalog store "));
    assert_non_null(strstr(err.message, on_postgres()
                                            ? ": cannot prepare a query: ERROR:  relation "
                                              "\"nowhere\" does not exist"
                                            : ": cannot prepare a query: no such table: "
                                              "nowhere"));
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
    assert_non_null(strstr(err.message, on_postgres()
                                            ? ": query failed: ERROR:  duplicate key value "
                                              "violates unique constraint"
                                            : ": query failed: UNIQUE constraint failed"));
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
        cmocka_unit_test_setup_teardown(content_is_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(current_catalog_plans_use_pointers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
