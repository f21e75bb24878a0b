/*
 * Readers of the store see one snapshot: a refresh that commits (a new current scan, the old one
 * pruned) exactly between two statements of a table lookup changes nothing in its answer. The
 * commit is made from a second connection at the moment the lookup prepares its second statement
 * (the store's trace hook), so the interleaving is the same on every run. The stores are on
 * PostgreSQL when the test build's DSCAT_TEST_PG_STORE sends every catalog directory there
 * (tests/integration/t_store_unit.sh under STORE=postgres), else on SQLite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testhooks.h"
#include "dscat/find.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Two scans of target t: scan 1 has orders(id, amount), scan 2 orders(id, amount, note), each
 * with a table set, a table and a column set of its own. */
static const char *const fixture_sql =
    "INSERT INTO scans(id, run_id, target, server, source_type, started_us, finished_us, status) "
    "VALUES (1, 'r1', 't', 't', 'sqlite', 1, 2, 'ok'), (2, 'r2', 't', 't', 'sqlite', 3, 4, 'ok');"
    "INSERT INTO column_sets(id, hash) VALUES (1, x'01'), (2, x'02');"
    "INSERT INTO tables(id, hash, database, schema, name, table_type, column_set) "
    "VALUES (1, x'01', 'db', 'main', 'orders', 'BASE TABLE', 1),"
    "       (2, x'02', 'db', 'main', 'orders', 'BASE TABLE', 2);"
    "INSERT INTO table_sets(id, hash) VALUES (1, x'01'), (2, x'02');"
    "INSERT INTO table_set_members(set_id, position, table_id) VALUES (1, 1, 1), (2, 1, 2);"
    "INSERT INTO scan_databases(scan_id, database, table_set, scanned_at_us) "
    "VALUES (1, 'db', 1, 2), (2, 'db', 2, 4);"
    "INSERT INTO columns(set_id, ordinal, name, data_type, is_nullable, is_primary_key, "
    "is_foreign_key, fk_references) VALUES (1, 1, 'id', 'INTEGER', 0, 1, 0, ''),"
    "(1, 2, 'amount', 'NUMERIC', 1, 0, 0, ''), (2, 1, 'id', 'INTEGER', 0, 1, 0, ''),"
    "(2, 2, 'amount', 'NUMERIC', 1, 0, 0, ''), (2, 3, 'note', 'TEXT', 1, 0, 0, '');"
    "INSERT INTO targets(key, current_scan_id) VALUES ('t', 1);";

/* What a refresh's commit does to the store: scan 2 becomes current and scan 1 is pruned, with
 * the content only it reached (in the writer's transaction). */
static const char *const commit_sql =
    "UPDATE targets SET current_scan_id = 2; DELETE FROM scans WHERE id = 1; "
    "DELETE FROM table_sets WHERE id = 1; DELETE FROM tables WHERE id = 1; "
    "DELETE FROM column_sets WHERE id = 1;";

typedef struct fixture {
    char dir[64];        /* a temporary directory name */
    dscat_store *writer; /* the second connection */
    const char *trigger; /* the statement whose start the commit waits for */
    int commits;
} fixture;

/* The store's trace hook: a statement is prepared (before it reads). Commits once, on the
 * trigger. */
static void on_statement(const char *sql, void *payload)
{
    fixture *f = payload;
    if (f->commits == 0 && strstr(sql, f->trigger) != NULL) {
        f->commits++;
        dscat_error err = {0};
        assert_int_equal(dscat_store__begin(f->writer, &err), 0);
        assert_int_equal(dscat_store__exec(f->writer, commit_sql, &err), 0);
        assert_int_equal(dscat_store__commit(f->writer, &err), 0);
    }
}

/*
 * The fixture's SQL for the store's engine: its hashes are SQLite blob literals (x'01'), which
 * PostgreSQL writes as bytea strings ('\x01'). Caller frees.
 */
static char *fixture_for_engine(void)
{
    size_t n = strlen(fixture_sql);
    char *out = malloc(2 * n + 1), *o = out;
    assert_non_null(out);
    for (const char *p = fixture_sql; *p; p++) {
        if (dscat_test__pg_store() && p[0] == 'x' && p[1] == '\'' && p > fixture_sql &&
            p[-1] == ' ') {
            memcpy(o, "'\\x", 3);
            o += 3;
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dscat-test-snapshot-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    dscat_store *st = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_store_open(&st, f->dir, DSCAT_STORE_WRITE, &err), 0);
    char *sql = fixture_for_engine();
    assert_int_equal(dscat_store__exec(st, sql, &err), 0);
    free(sql);
    dscat_store_close(st);
    assert_int_equal(dscat_store_open(&f->writer, f->dir, DSCAT_STORE_WRITE, &err), 0);
    /* SQLite cascades the deletes from scans only when asked; PostgreSQL always does. */
    if (dscat_test__pg_store() == NULL)
        assert_int_equal(dscat_store__exec(f->writer, "PRAGMA foreign_keys = ON", &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dscat_store_close(f->writer);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* The column names of a detail, joined by commas. */
static void column_list(const dscat_table_detail *d, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < d->ncolumns; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", d->columns[i].name);
}

/* Looks up t:db.main.orders with the commit made when `trigger` starts; checks its columns. */
static void lookup_across_commit(fixture *f, const char *trigger)
{
    f->trigger = trigger;
    dscat_store *st = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_store_open(&st, f->dir, DSCAT_STORE_READ, &err), 0);
    dscat_store__trace(st, on_statement, f);
    dscat_table_detail *d = NULL;
    dscat_name_candidates cands;
    int rc = dscat_table_lookup(&d, &cands, st, f->dir, "t:db.main.orders", &err);
    assert_int_equal(f->commits, 1);
    if (rc)
        fail_msg("lookup across a commit: %s", err.message);
    char cols[128];
    column_list(d, cols, sizeof(cols));
    /* The snapshot from before the commit, whole: scan 1's row and its columns. */
    assert_string_equal(d->table_name, "orders");
    assert_string_equal(cols, "id,amount");
    dscat_table_detail_free(d);
    dscat_name_candidates_free(&cands);
    /* The next question sees the commit. */
    dscat_store__trace(st, NULL, NULL);
    assert_int_equal(dscat_table_lookup(&d, &cands, st, f->dir, "t:db.main.orders", &err), 0);
    column_list(d, cols, sizeof(cols));
    assert_string_equal(cols, "id,amount,note");
    dscat_table_detail_free(d);
    dscat_name_candidates_free(&cands);
    dscat_store_close(st);
}

/* The commit lands between finding the table's id and reading its row. */
static void commit_before_the_row(void **state)
{
    lookup_across_commit(*state, "t.row_estimate, t.size_bytes");
}

/* The commit lands between reading the row and reading its columns. */
static void commit_before_the_columns(void **state)
{
    lookup_across_commit(*state, "FROM columns WHERE set_id");
}

/* Read transactions nest, and one inside a writer's transaction leaves it open. */
static void read_transactions_nest(void **state)
{
    fixture *f = *state;
    dscat_store *st = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_store_open(&st, f->dir, DSCAT_STORE_WRITE, &err), 0);
    assert_int_equal(dscat_store__read_begin(st, &err), 0);
    assert_int_equal(dscat_store__read_begin(st, &err), 0);
    dscat_store__read_end(st);
    assert_true(dscat_store__in_transaction(st));
    dscat_store__read_end(st);
    assert_false(dscat_store__in_transaction(st));
    assert_int_equal(dscat_store__begin(st, &err), 0);
    assert_int_equal(dscat_store__read_begin(st, &err), 0);
    dscat_store__read_end(st);
    assert_true(dscat_store__in_transaction(st));
    assert_int_equal(dscat_store__commit(st, &err), 0);
    assert_false(dscat_store__in_transaction(st));
    dscat_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commit_before_the_row, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_before_the_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(read_transactions_nest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
