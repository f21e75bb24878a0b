/*
 * The SQLite source driver against files made here: every column as pragma table_xinfo reports
 * it (generated and hidden ones, exact ordinals), keys that cannot hold NULL, a broken view as a
 * problem naming it, and names of any length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "sources/source.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char path[64]; /* a temporary file name, not an object name */
    dscat_db_scan scan;
    dscat_error err;
    int rc;
} fixture;

/* Makes a SQLite file holding `sql`, then scans it with the driver into f->scan. */
static void scan_sql(fixture *f, const char *sql)
{
    snprintf(f->path, sizeof(f->path), "%s", "/tmp/dscat-test-sqlite-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("fixture: %s", msg);
    sqlite3_close(db);

    dscat_target_config target = {.key = "lite", .type = "sqlite", .driver = &dscat_source_sqlite};
    dscat_target_conn conn = {.path = f->path};
    dscat_settings settings = {.connect_timeout = 5};
    dscat_source *src = NULL;
    assert_int_equal(dscat_source_sqlite.connect(&src, &target, &conn, NULL, &settings, &f->err),
                     0);
    assert_int_equal(dscat_db_scan_init(&f->scan, src->database), 0);
    f->rc = dscat_source_sqlite.scan_database(src, &f->scan, &f->err);
    dscat_source_sqlite.close(src);
}

static void done(fixture *f)
{
    dscat_db_scan_free(&f->scan);
    unlink(f->path);
}

static const dscat_column_info *column(const fixture *f, const char *table, const char *name)
{
    long t = dscat_db_scan_find_table(&f->scan, "main", table);
    assert_true(t >= 0);
    long c = dscat_db_scan_find_column(&f->scan, (size_t)t, name);
    if (c < 0)
        fail_msg("column %s.%s not catalogued", table, name);
    return &f->scan.columns.items[c];
}

static size_t columns_of(const fixture *f, const char *table)
{
    long t = dscat_db_scan_find_table(&f->scan, "main", table);
    assert_true(t >= 0);
    size_t n = 0;
    for (size_t i = 0; i < f->scan.columns.count; i++)
        n += f->scan.columns.items[i].table == (size_t)t;
    return n;
}

static const char *const schema_sql =
    "CREATE TABLE gen (a INT NOT NULL, b INT GENERATED ALWAYS AS (a * 2) STORED, c TEXT,"
    "  d TEXT AS (upper(c)) VIRTUAL, e REAL DEFAULT 1.5);"
    "CREATE TABLE ipk (id INTEGER PRIMARY KEY, name TEXT);"
    "CREATE TABLE ipk_desc (id INTEGER PRIMARY KEY DESC, name TEXT);"
    "CREATE TABLE wr (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;"
    "CREATE TABLE two (x INT, y VARCHAR(20), PRIMARY KEY (x, y));"
    "CREATE VIRTUAL TABLE docs USING fts5(title, body);";

/* Every column, in declared order, with what table_xinfo says of it. */
static void columns_as_table_xinfo(void **state, bool broken)
{
    (void)state;
    fixture f = {0};
    char *sql = NULL;
    size_t len = strlen(schema_sql) + 200;
    sql = dscat_malloc(len);
    snprintf(sql, len, "%s%s", schema_sql,
             broken ? "CREATE TABLE gone (a); CREATE VIEW broken AS SELECT a FROM gone;"
                      "DROP TABLE gone;"
                    : "");
    scan_sql(&f, sql);
    dscat_free(sql);
    assert_int_equal(f.rc, 0);

    assert_int_equal(columns_of(&f, "gen"), 5);
    const char *names[] = {"a", "b", "c", "d", "e"};
    const char *gens[] = {NULL, "STORED", NULL, "VIRTUAL", NULL};
    for (int i = 0; i < 5; i++) {
        const dscat_column_info *c = column(&f, "gen", names[i]);
        assert_int_equal(c->ordinal, i + 1);
        if (gens[i])
            assert_string_equal(c->generated, gens[i]);
        else
            assert_null(c->generated);
        assert_false(c->hidden);
    }
    assert_false(column(&f, "gen", "a")->nullable);
    assert_true(column(&f, "gen", "b")->nullable);
    assert_string_equal(column(&f, "gen", "e")->default_value, "1.5");

    /* A rowid alias and WITHOUT ROWID keys cannot hold NULL; other keys of rowid tables can. */
    assert_false(column(&f, "ipk", "id")->nullable);
    assert_true(column(&f, "ipk", "id")->is_pk);
    assert_true(column(&f, "ipk_desc", "id")->nullable);
    assert_false(column(&f, "wr", "k")->nullable);
    assert_true(column(&f, "wr", "v")->nullable);
    assert_true(column(&f, "two", "x")->nullable);
    assert_string_equal(column(&f, "two", "y")->data_type, "varchar");
    assert_string_equal(column(&f, "two", "y")->column_type, "VARCHAR(20)");

    /* Hidden columns of a virtual table, after its declared ones. */
    assert_int_equal(columns_of(&f, "docs"), 4);
    assert_false(column(&f, "docs", "body")->hidden);
    assert_true(column(&f, "docs", "docs")->hidden);
    assert_true(column(&f, "docs", "rank")->hidden);
    assert_int_equal(column(&f, "docs", "rank")->ordinal, 4);

    if (broken) {
        assert_int_equal(f.scan.problems.count, 1);
        assert_non_null(strstr(f.scan.problems.items[0].message, "cannot read view broken: "));
        assert_int_equal(columns_of(&f, "broken"), 0);
    } else {
        assert_int_equal(f.scan.problems.count, 0);
    }
    done(&f);
}

static void set_based(void **state)
{
    columns_as_table_xinfo(state, false);
}

/* The per-object fallback reads the same columns as the set-based query. */
static void with_a_broken_view(void **state)
{
    columns_as_table_xinfo(state, true);
}

/* A 3,000-byte table name and a 1,200-byte column name are catalogued whole. */
static void long_names(void **state)
{
    (void)state;
    char *table = dscat_calloc(3001, 1), *col = dscat_calloc(1201, 1);
    memset(table, 'T', 3000);
    memset(col, 'c', 1200);
    size_t len = 5000;
    char *sql = dscat_malloc(len);
    snprintf(sql, len, "CREATE TABLE \"%s\" (id INTEGER PRIMARY KEY, \"%s\" TEXT NOT NULL);", table,
             col);
    fixture f = {0};
    scan_sql(&f, sql);
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.scan.tables.count, 1);
    assert_string_equal(f.scan.tables.items[0].name, table);
    const dscat_column_info *c = column(&f, table, col);
    assert_int_equal(c->ordinal, 2);
    assert_false(c->nullable);
    assert_false(column(&f, table, "id")->nullable);
    done(&f);
    dscat_free(sql);
    dscat_free(table);
    dscat_free(col);
}

/* A name that is not UTF-8 is a problem naming it (bytes escaped); the rest is catalogued. */
static void invalid_utf8_names(void **state)
{
    (void)state;
    fixture f = {0};
    scan_sql(&f, "CREATE TABLE ok (a INT);"
                 "CREATE TABLE \"bad\xff\" (a INT);"
                 "CREATE TABLE cols (x INT, \"y\xfe\" INT, z INT);");
    assert_int_equal(f.rc, 0);
    assert_int_equal(columns_of(&f, "ok"), 1);
    assert_int_equal(columns_of(&f, "cols"), 2);
    assert_int_equal(column(&f, "cols", "z")->ordinal, 3);
    assert_int_equal(f.scan.problems.count, 2);
    bool table_named = false, column_named = false;
    for (size_t i = 0; i < f.scan.problems.count; i++) {
        const char *m = f.scan.problems.items[i].message;
        table_named = table_named || strstr(m, "table main.bad\\xff: ") != NULL;
        column_named = column_named || strstr(m, "column main.cols.y\\xfe: ") != NULL;
    }
    assert_true(table_named);
    assert_true(column_named);
    done(&f);
}

/*
 * The row cursor's text of each storage class: a column read as literals keeps the class of
 * every value (1, 1.0, '1', X'31'), every length (a NUL in text), and every digit of a real; a
 * real read as plain text is written as SQLite writes a real (1.0, not 1).
 */
static void literals(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    scan_sql(&f, "CREATE TABLE c (id INTEGER PRIMARY KEY, v, r);"
                 "INSERT INTO c VALUES (1, 1, 1.0), (2, 1.0, 1e20), (3, '1', 0.30000000000000004),"
                 "  (4, x'31', -0.5), (5, 'it''s', 9e999), (6, 'a' || char(0) || 'b', NULL),"
                 "  (7, x'', NULL), (8, 1e-5, NULL), (9, 1e20, NULL), (10, NULL, NULL);");
    assert_int_equal(f.rc, 0);
    static const char *const want_v[] = {
        "1",   "1.0",     "'1'",     "X'31'", "'it''s'", "CAST(X'610062' AS TEXT)",
        "X''", "1.0e-05", "1.0e+20", NULL};
    static const char *const want_r[] = {
        "1.0", "1.0e+20", "0.30000000000000004", "-0.5", "9.0e+999", NULL, NULL, NULL, NULL, NULL};
    dscat_target_config target = {.key = "lite", .type = "sqlite", .driver = &dscat_source_sqlite};
    dscat_target_conn conn = {.path = f.path};
    dscat_settings settings = {.connect_timeout = 5};
    dscat_source *src = NULL;
    assert_int_equal(dscat_source_sqlite.connect(&src, &target, &conn, NULL, &settings, &f.err), 0);
    const dscat_cursor_column cols[] = {{"v", false, "", true}, {"r", false, "", false}};
    dscat_wire wires[2] = {DSCAT_WIRE_TEXT, DSCAT_WIRE_TEXT};
    dscat_cursor *c = NULL;
    assert_int_equal(
        dscat_source_sqlite.cursor_open_typed(&c, src, "main", "c", cols, 2, wires, &f.err), 0);
    const dscat_value *row = NULL;
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(dscat_source_sqlite.cursor_next_typed(c, &row, &f.err), 1);
        const char *const want[2] = {want_v[i], want_r[i]};
        for (int k = 0; k < 2; k++) {
            if (want[k] == NULL) {
                assert_int_equal(row[k].wire, DSCAT_WIRE_NULL);
                continue;
            }
            assert_int_equal(row[k].wire, DSCAT_WIRE_TEXT);
            assert_int_equal(row[k].len, strlen(want[k]));
            assert_memory_equal(row[k].v.p, want[k], row[k].len);
        }
    }
    assert_int_equal(dscat_source_sqlite.cursor_next_typed(c, &row, &f.err), 0);
    dscat_source_sqlite.cursor_close(c);
    dscat_source_sqlite.close(src);
    done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_based),  cmocka_unit_test(with_a_broken_view),
        cmocka_unit_test(long_names), cmocka_unit_test(invalid_utf8_names),
        cmocka_unit_test(literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
