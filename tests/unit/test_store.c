/*
 * The store table (src/store/): the engine chosen at open, the statement interface, write
 * transactions and the engine-specific writes, through store/store.h only. Runs on the engine
 * the test build chooses: SQLite, or PostgreSQL when DSCAT_TEST_PG_STORE names a server
 * (tests/integration/t_store_engines.sh); the few engine-specific expectations say so.
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
#include "store/store.h"

#include <stdbool.h>
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

/* The engine under test: true for PostgreSQL. */
static bool on_postgres(void)
{
    const char *u = getenv("DSCAT_TEST_PG_STORE");
    return u && *u;
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

/* Tables with the same columns share one column set, written once in one scan. */
static void identical_tables_share_a_column_set(void **state)
{
    fixture *f = *state;
    dscat_db_scan d;
    assert_int_equal(dscat_db_scan_init(&d, "db"), 0);
    char name[32];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof(name), "part_%02d", i);
        dscat_table_info t = {.schema = "public",
                              .name = name,
                              .type = "BASE TABLE",
                              .row_estimate = DSCAT_NULL,
                              .size_bytes = DSCAT_NULL,
                              .last_modified_us = DSCAT_NULL};
        size_t ti = 0;
        assert_int_equal(dscat_db_scan_add_table(&d, &t, &ti), 0);
        for (int c = 0; c < 3; c++) {
            char col[16];
            snprintf(col, sizeof(col), "c%d", c);
            dscat_column_info ci = {.table = ti,
                                    .name = col,
                                    .ordinal = c + 1,
                                    .data_type = "text",
                                    .max_length = DSCAT_NULL,
                                    .precision = DSCAT_NULL,
                                    .scale = DSCAT_NULL,
                                    .null_count = DSCAT_NULL,
                                    .distinct_count = DSCAT_NULL,
                                    .profiled_rows = DSCAT_NULL};
            assert_int_equal(dscat_db_scan_add_column(&d, &ci), 0);
        }
    }
    record_scan(f->st, &d, 20);
    dscat_db_scan_free(&d);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM tables"), 30);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM column_sets"), 1);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM columns"), 3);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM " DSCAT_CURRENT_TABLES
                                     " t JOIN columns c ON c.set_id = t.column_set"),
                     90);
}

/* Fails when the plan of `sql` reads a whole table other than targets (a SCAN): the cost of
 * such a query would grow with the scans the store keeps. */
static void assert_indexed_plan(dscat_store *st, const char *sql)
{
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

/* The current catalog is read from its pointers, whatever the store holds. The plans are
 * SQLite's (EXPLAIN QUERY PLAN); on PostgreSQL the queries run and count alike. */
static void current_catalog_plans_use_pointers(void **state)
{
    fixture *f = *state;
    bool plans = !on_postgres();
    dscat_db_scan d;
    for (int v = 0; v < 20; v++) {
        make_scan(&d, 200, v % 7, v);
        record_scan(f->st, &d, 20);
        dscat_db_scan_free(&d);
    }
    if (plans) {
        assert_indexed_plan(f->st, "SELECT t.name, c.name FROM " DSCAT_CURRENT_TABLES
                                   " t JOIN columns c ON c.set_id = t.column_set");
        assert_indexed_plan(f->st, "SELECT count(*) FROM " DSCAT_CURRENT_TABLES " t");
        assert_indexed_plan(f->st, "SELECT t.name FROM " DSCAT_CURRENT_TABLES " t WHERE t.id = 5");
        assert_indexed_plan(f->st, "SELECT t.name, f.ref_table FROM " DSCAT_CURRENT_TABLES
                                   " t JOIN foreign_keys f ON f.set_id = t.column_set");
        assert_indexed_plan(f->st, DSCAT_CHANGES_SQL_ALL);
    }
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM " DSCAT_CURRENT_TABLES
                                     " t JOIN columns c ON c.set_id = t.column_set"),
                     1601);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM (" DSCAT_CHANGES_SQL_ALL ") c"), 2);
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

/* Binds of every kind come back as they went in; NULL text binds NULL. (The casts give each
 * parameter a type on engines that want one where nothing else does.) */
static void statement_round_trip(void **state)
{
    fixture *f = *state;
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, f->st,
                                         "SELECT CAST(?1 AS BIGINT), CAST(?2 AS DOUBLE PRECISION), "
                                         "CAST(?3 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS TEXT), "
                                         "CAST(?1 AS BIGINT) + 1",
                                         &err),
                     0);
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
    if (on_postgres()) {
        /* PostgreSQL compiles a statement when it first runs it: the failure comes then */
        assert_int_equal(dscat_stmt__prepare(&s, f->st, "SELECT nope FROM nowhere", &err), 0);
        assert_true(dscat_stmt__step(s) < 0);
        assert_int_equal(dscat_store__step_error(f->st, &err), DSCAT_EIO);
        assert_non_null(strstr(err.message, "catalog store postgresql://"));
        assert_non_null(strstr(err.message, "relation \"nowhere\" does not exist"));
        dscat_stmt__finalize(s);
        return;
    }
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
    assert_non_null(strstr(err.message, on_postgres()
                                            ? ": query failed: ERROR:  duplicate key value "
                                              "violates unique constraint"
                                            : ": query failed: UNIQUE constraint failed"));
    dscat_stmt__finalize(s);
}

/* Reads 1..n through a statement (inside a read transaction, where an engine may read in
 * batches): every row once, in order. */
static void read_numbers(dscat_store *st, int64_t n)
{
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_stmt__prepare(&s, st,
                                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                         "FROM n WHERE i < ?1) SELECT i FROM n WHERE i <= ?1 "
                                         "ORDER BY i",
                                         &err),
                     0);
    dscat_stmt__bind_int64(s, 1, n);
    int64_t next = 1;
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW)
        assert_int_equal(dscat_stmt__int64(s, 0), next++);
    assert_int_equal(next, n + 1);
    dscat_stmt__finalize(s);
}

/* Long results read whole at any length (around an engine's batch sizes), and two statements
 * read interleaved, one left before its end, then the transaction goes on. */
static void long_results_and_interleaving(void **state)
{
    fixture *f = *state;
    dscat_error err = {0};
    assert_int_equal(dscat_store__read_begin(f->st, &err), 0);
    const int64_t lengths[] = {0, 1, 4095, 4096, 4097, 8192, 10000};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        read_numbers(f->st, lengths[i]);
    dscat_stmt *a = NULL;
    assert_int_equal(dscat_stmt__prepare(&a, f->st,
                                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                         "FROM n WHERE i < 9000) SELECT i FROM n ORDER BY i",
                                         &err),
                     0);
    for (int64_t k = 1; k <= 5000; k++) {
        assert_int_equal(dscat_stmt__step(a), DSCAT_STMT_ROW);
        assert_int_equal(dscat_stmt__int64(a, 0), k);
    }
    read_numbers(f->st, 5000);
    assert_int_equal(dscat_stmt__step(a), DSCAT_STMT_ROW);
    assert_int_equal(dscat_stmt__int64(a, 0), 5001);
    dscat_stmt__reset(a); /* left before its end */
    assert_int_equal(dscat_stmt__step(a), DSCAT_STMT_ROW);
    assert_int_equal(dscat_stmt__int64(a, 0), 1);
    dscat_stmt__finalize(a);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM targets"), 0);
    /* PostgreSQL reads through cursors: those done with are closed, not left open */
    if (on_postgres())
        assert_in_range(count_of(f->st, "SELECT count(*) FROM pg_cursors"), 1, 2);
    dscat_store__read_end(f->st);
    read_numbers(f->st, 4097); /* outside a transaction too */
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

/* A schedule run's claim: taken by one owner; others wait for its lease unless they found it dead;
 * only the holder records the run, or anyone once the claim is released and nothing was recorded
 * since. */
static void schedule_claims_belong_to_their_owner(void **state)
{
    fixture *f = *state;
    dscat_error err = {0};
    bool claimed = false;
    dscat_schedule_record a = {
        .kind = "schema", .target = "t", .finished_us = DSCAT_NULL, .owner = "m/1"};
    dscat_schedule_record b = a;
    b.owner = "m/2";
    assert_int_equal(dscat_store__claim_schedule_run(f->st, &a, 1000, 0, &claimed, &err), 0);
    assert_true(claimed);
    /* B: A's claim was renewed after the stale limit; then A found dead; then A's lease passed */
    assert_int_equal(dscat_store__claim_schedule_run(f->st, &b, 2000, 500, &claimed, &err), 0);
    assert_false(claimed);
    b.dead_owner = "m/9";
    assert_int_equal(dscat_store__claim_schedule_run(f->st, &b, 2000, 500, &claimed, &err), 0);
    assert_false(claimed);
    b.dead_owner = "m/1";
    assert_int_equal(dscat_store__claim_schedule_run(f->st, &b, 2000, 500, &claimed, &err), 0);
    assert_true(claimed);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM schedule_runs WHERE claimed_by = 'm/2' "
                                     "AND claimed_us = 2000 AND renewed_us = 2000"),
                     1);
    /* A, taken over, records nothing; B, the holder, records its run and drops the claim */
    a.started_us = 1100, a.finished_us = 1200, a.ok = true, a.claimed_after_us = DSCAT_NULL;
    assert_int_equal(dscat_store__put_schedule_run(f->st, &a, &err), 0);
    assert_int_equal(
        count_of(f->st, "SELECT count(*) FROM schedule_runs WHERE finished_us IS NULL"), 1);
    b.started_us = 2100, b.finished_us = 2200, b.ok = true, b.claimed_after_us = DSCAT_NULL;
    assert_int_equal(dscat_store__put_schedule_run(f->st, &b, &err), 0);
    assert_int_equal(count_of(f->st, "SELECT count(*) FROM schedule_runs WHERE finished_us = 2200 "
                                     "AND claimed_by IS NULL AND claimed_us IS NULL"),
                     1);
    /* A claim released (claimed_by NULL): the run records as usual, unless one was recorded
     * since it was claimed */
    a.finished_us = 2200;
    b.finished_us = 2200;
    assert_int_equal(dscat_store__claim_schedule_run(f->st, &a, 3000, 2500, &claimed, &err), 0);
    assert_true(claimed);
    assert_int_equal(count_of(f->st,
                              "UPDATE schedule_runs SET claimed_by = NULL, claimed_us = NULL "
                              "RETURNING 0"),
                     0);
    a.started_us = 3100, a.finished_us = 3200, a.claimed_after_us = 2100;
    assert_int_equal(dscat_store__put_schedule_run(f->st, &a, &err), 0);
    assert_int_equal(count_of(f->st, "SELECT finished_us FROM schedule_runs"), 2200);
    a.claimed_after_us = 2200;
    assert_int_equal(dscat_store__put_schedule_run(f->st, &a, &err), 0);
    assert_int_equal(count_of(f->st, "SELECT finished_us FROM schedule_runs"), 3200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(engine_and_new_store, setup, teardown),
        cmocka_unit_test_setup_teardown(statement_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(prepare_failure_names_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(step_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(write_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(long_results_and_interleaving, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_deletions_keep_their_time, setup, teardown),
        cmocka_unit_test_setup_teardown(schedule_claims_belong_to_their_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(content_is_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(identical_tables_share_a_column_set, setup, teardown),
        cmocka_unit_test_setup_teardown(current_catalog_plans_use_pointers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
