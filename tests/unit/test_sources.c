/*
 * The engine registry: engines found by name and alias, listed in a fixed order whose first is
 * the default, every driver of the table version this build expects and complete; the loader's
 * messages built from it; each engine's cache type mapping through the generic entry point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache/types.h"
#include "core/alloc.h"
#include "dscat/config.h"
#include "sources/mysql_sql.h"
#include "sources/source.h"

#include <stdio.h>
#include <string.h>

static void found_by_name_and_alias(void **state)
{
    (void)state;
    static const char *const names[][2] = {
        {"sqlserver", "sqlserver"}, {"mssql", "sqlserver"}, {"postgres", "postgres"},
        {"postgresql", "postgres"}, {"mysql", "mysql"},     {"mariadb", "mysql"},
        {"sqlite", "sqlite"},       {"duckdb", "duckdb"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const dscat_source_driver *d = dscat_source_find(names[i][0]);
        assert_non_null(d);
        assert_string_equal(d->name, names[i][1]);
    }
    assert_null(dscat_source_find("oracle"));
    assert_null(dscat_source_find("Postgres")); /* names are exact */
    assert_null(dscat_source_find(""));
}

static void every_driver_complete(void **state)
{
    (void)state;
    assert_true(dscat_source_count() >= 5);
    assert_string_equal(dscat_source_at(0)->name, "sqlserver"); /* the default type */
    for (size_t i = 0; i < dscat_source_count(); i++) {
        const dscat_source_driver *d = dscat_source_at(i);
        assert_int_equal(d->version, DSCAT_SOURCE_DRIVER_VERSION);
        assert_ptr_equal(dscat_source_find(d->name), d);
        assert_non_null(d->keys);
        assert_non_null(d->check_target);
        assert_non_null(d->resolve);
        assert_non_null(d->cache_type);
        assert_non_null(d->help);
        assert_non_null(d->connect);
        assert_non_null(d->list_databases);
        assert_non_null(d->scan_database);
        assert_non_null(d->profile_table);
        assert_non_null(d->cursor_open);
        assert_non_null(d->cursor_next);
        assert_non_null(d->cursor_close);
        assert_non_null(d->close);
    }
}

/* Parses one targets.toml text; returns the error message ("" on success). */
static const char *parse(const char *text, dscat_config **cfg, dscat_error *err)
{
    *cfg = NULL;
    memset(err, 0, sizeof(*err));
    dscat_config_parse(cfg, "/tmp/dscat-test-home", "targets.toml", text, strlen(text), err);
    return err->message;
}

static void loader_asks_the_registry(void **state)
{
    (void)state;
    dscat_config *cfg = NULL;
    dscat_error err;
    assert_string_equal(parse("[targets.a]\ntype = \"oracle\"\n", &cfg, &err),
                        "targets.toml: line 2: key 'type' has unknown value 'oracle' (sqlserver, "
                        "postgres, mysql, sqlite or duckdb)");
    assert_null(cfg);
    assert_string_equal(parse("[targets.a]\ntype = \"duckdb\"\nport = 1\n", &cfg, &err),
                        "targets.toml: line 3: key 'port' in [targets.a] does not apply to duckdb "
                        "targets");
    assert_string_equal(parse("[targets.a]\ntype = \"duckdb\"\n", &cfg, &err),
                        "targets.toml: line 1: target 'a' needs 'path' or 'path_env'");
    assert_string_equal(parse("[targets.a]\ntype = \"mariadb\"\nhost = \"h\"\n", &cfg, &err), "");
    assert_non_null(cfg);
    assert_string_equal(cfg->targets[0].type, "mysql");
    assert_ptr_equal(cfg->targets[0].driver, dscat_source_find("mysql"));
    dscat_config_free(cfg);
    assert_string_equal(
        parse("[targets.a]\ntype = \"duckdb\"\npath = \"/d/lake.duckdb\"\n", &cfg, &err), "");
    dscat_target_conn conn;
    assert_int_equal(dscat_target_resolve(&conn, &cfg->targets[0], &err), 0);
    assert_string_equal(conn.path, "/d/lake.duckdb");
    assert_null(conn.host);
    dscat_target_conn_free(&conn);
    char buf[64];
    assert_string_equal(cfg->targets[0].driver->config_database(&cfg->targets[0], buf, sizeof(buf)),
                        "lake");
    dscat_config_free(cfg);
}

/* The cache type of data_type on engine name ("BLOB+hex" for a hex-read BLOB). */
static const char *mapped(const char *engine, const char *data_type, const char *column_type,
                          int precision, int scale)
{
    static char out[64];
    cache_column c;
    memset(&c, 0, sizeof(c));
    dscat_cache_map_type(&c, dscat_source_find(engine), data_type, column_type, precision, scale);
    snprintf(out, sizeof(out), "%s%s", c.duck_type, c.hex ? "+hex" : "");
    return out;
}

static void cache_types_per_engine(void **state)
{
    (void)state;
    assert_string_equal(mapped("postgres", "numeric", NULL, 10, 2), "DECIMAL(10,2)");
    assert_string_equal(mapped("postgres", "numeric", NULL, -1, -1), "VARCHAR");
    assert_string_equal(mapped("postgres", "bytea", NULL, -1, -1), "BLOB+hex");
    assert_string_equal(mapped("postgres", "interval", NULL, -1, -1), "VARCHAR");
    assert_string_equal(mapped("mysql", "int", "int(10) unsigned", -1, -1), "UINTEGER");
    assert_string_equal(mapped("mysql", "bit", "bit(3)", -1, -1), "BLOB+hex");
    assert_string_equal(mapped("sqlserver", "rowversion", NULL, -1, -1), "BLOB+hex");
    assert_string_equal(mapped("sqlserver", "money", NULL, -1, -1), "DECIMAL(19,4)");
    assert_string_equal(mapped("sqlite", "", "VARCHAR(20)", -1, -1), "VARCHAR");
    assert_string_equal(mapped("sqlite", "blob", "BLOB", -1, -1), "BLOB+hex");
    assert_string_equal(mapped("sqlite", "integer", "INTEGER", -1, -1), "BIGINT");
    assert_string_equal(mapped("duckdb", "DECIMAL(18,4)", "DECIMAL(18,4)", 18, 4), "DECIMAL(18,4)");
    assert_string_equal(mapped("duckdb", "TIMESTAMP WITH TIME ZONE", NULL, -1, -1), "TIMESTAMPTZ");
    assert_string_equal(mapped("duckdb", "BLOB", NULL, -1, -1), "BLOB+hex");
    assert_string_equal(mapped("duckdb", "HUGEINT", NULL, -1, -1), "VARCHAR");
    assert_string_equal(mapped("duckdb", "INTEGER[]", NULL, -1, -1), "VARCHAR");
    assert_string_equal(mapped("duckdb", "DECIMAL(18,4) x", NULL, -1, -1), "VARCHAR");
}

/*
 * PostgreSQL 15 allows numeric scales outside 0..precision (numeric(3,5), numeric(5,-2)) and
 * precisions past DuckDB's 38: every typmod maps to a DECIMAL DuckDB accepts (0 <= scale <=
 * width <= 38) that holds each value of the column exactly (as many integer digits, at least its
 * fraction digits), or to VARCHAR (its exact text). A scale of -1 with a precision is a scale.
 */
static void pg_numeric_typmods(void **state)
{
    (void)state;
    assert_string_equal(mapped("postgres", "numeric", NULL, 3, 5), "DECIMAL(5,5)");
    assert_string_equal(mapped("postgres", "numeric", NULL, 5, -2), "DECIMAL(7,0)");
    assert_string_equal(mapped("postgres", "numeric", NULL, 5, -1), "DECIMAL(6,0)");
    assert_string_equal(mapped("postgres", "numeric", NULL, 38, 38), "DECIMAL(38,38)");
    assert_string_equal(mapped("postgres", "numeric", NULL, 1, 38), "DECIMAL(38,38)");
    assert_string_equal(mapped("postgres", "numeric", NULL, 1, 39), "VARCHAR");
    assert_string_equal(mapped("postgres", "numeric", NULL, 37, -1), "DECIMAL(38,0)");
    assert_string_equal(mapped("postgres", "numeric", NULL, 38, -1), "VARCHAR");
    assert_string_equal(mapped("postgres", "numeric", NULL, 39, 2), "VARCHAR");
    assert_string_equal(mapped("postgres", "numeric", NULL, 1000, 1000), "VARCHAR");
    assert_string_equal(mapped("postgres", "numeric", NULL, 1, -1000), "VARCHAR");
    assert_string_equal(mapped("postgres", "numeric", NULL, 2046, 2046), "VARCHAR");
    for (int p = 1; p <= 60; p++)
        for (int s = -60; s <= 60; s++) {
            const char *t = mapped("postgres", "numeric", NULL, p, s);
            int w, d;
            if (strcmp(t, "VARCHAR") == 0) {
                assert_true((s < 0 ? p - s : s > p ? s : p) > 38);
                continue;
            }
            assert_int_equal(sscanf(t, "DECIMAL(%d,%d)", &w, &d), 2);
            assert_true(w >= 1 && w <= 38 && d >= 0 && d <= w);
            assert_true(d >= s);         /* every fraction digit */
            assert_true(w - d >= p - s); /* every integer digit */
        }
    /* the other typmods shape no cache type */
    assert_string_equal(mapped("postgres", "timestamp without time zone", NULL, -1, -1),
                        "TIMESTAMP");
    assert_string_equal(mapped("postgres", "time without time zone", NULL, -1, -1), "TIME");
    assert_string_equal(mapped("postgres", "character varying", NULL, -1, -1), "VARCHAR");
    assert_string_equal(mapped("postgres", "bit", NULL, -1, -1), "VARCHAR");
    assert_string_equal(mapped("postgres", "bit varying", NULL, -1, -1), "VARCHAR");
}

static int quote_plain(dscat_buf *b, const char *name, void *payload)
{
    (void)payload;
    return dscat_buf_printf(b, "\"%s\"", name);
}

static bool any_type(const char *data_type)
{
    (void)data_type;
    return true;
}

/* A column marked no_distinct (a type without equality: xml, json, point) has its null count
 * profiled and NULL for its distinct count; an unprofileable one is left out. */
static void profile_without_distinct(void **state)
{
    (void)state;
    dscat_db_scan scan;
    assert_int_equal(dscat_db_scan_init(&scan, "db"), 0);
    dscat_table_info t = {.schema = "s", .name = "t", .type = "BASE TABLE"};
    size_t ti;
    assert_int_equal(dscat_db_scan_add_table(&scan, &t, &ti), 0);
    const char *names[] = {"id", "doc", "secret"};
    for (int i = 0; i < 3; i++) {
        dscat_column_info c = {.table = ti,
                               .name = names[i],
                               .ordinal = i + 1,
                               .data_type = "x",
                               .no_distinct = i == 1,
                               .unprofileable = i == 2};
        assert_int_equal(dscat_db_scan_add_column(&scan, &c), 0);
    }
    dscat_profile_dialect d = {quote_plain, false, any_type, NULL, 1664, NULL};
    size_t cols[] = {0, 1, 2}, prof[3];
    size_t n = dscat_profile_columns(&d, &scan, cols, 3, prof);
    assert_int_equal(n, 2);
    dscat_buf sql = DSCAT_BUF_INIT;
    assert_int_equal(dscat_profile_sql(&sql, &d, NULL, &scan, ti, cols, 3, prof, n, 10), 0);
    assert_string_equal(dscat_buf_cstr(&sql),
                        "SELECT count(*), count(*) - count(\"id\"), count(DISTINCT \"id\"), "
                        "count(*) - count(\"doc\"), NULL FROM (SELECT \"id\", \"doc\" FROM "
                        "\"s\".\"t\" LIMIT 10) AS sample");
    dscat_buf_free(&sql);
    dscat_db_scan_free(&scan);
}

/* One engine's predicate for a key, or "refused" / "error". */
static void predicate(char *out, size_t size, const char *engine, const char *column,
                      const char *data_type, dscat_key_type type, const char *value)
{
    const dscat_source_driver *d = dscat_source_find(engine);
    assert_non_null(d);
    assert_non_null(d->key_predicate);
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_key_bound k = {column, data_type, type, value};
    int rc = d->key_predicate(&b, &k);
    snprintf(out, size, "%s",
             rc == DSCAT_EINVALID ? "refused"
             : rc                 ? "error"
             : b.len              ? dscat_buf_cstr(&b)
                                  : "");
    dscat_buf_free(&b);
}

/* Append refreshes: each engine's "key > literal", its quoting, and what it refuses. */
static void key_predicates(void **state)
{
    (void)state;
    static const struct {
        const char *engine, *column, *type;
        dscat_key_type key;
        const char *value, *want;
    } cases[] = {
        {"postgres", "id", "bigint", DSCAT_KEY_INTEGER, "42", "\"id\" > 42"},
        {"postgres", "we\"ird key's", "integer", DSCAT_KEY_INTEGER, "-7",
         "\"we\"\"ird key's\" > -7"},
        {"postgres", "n", "numeric", DSCAT_KEY_DECIMAL, "12.50", "\"n\" > 12.50"},
        {"postgres", "d", "date", DSCAT_KEY_DATE, "2024-01-31", "\"d\" > DATE '2024-01-31'"},
        {"postgres", "t", "timestamp without time zone", DSCAT_KEY_TIMESTAMP,
         "2024-01-31 10:00:00.123456", "\"t\" > TIMESTAMP '2024-01-31 10:00:00.123456'"},
        {"postgres", "tz", "timestamp with time zone", DSCAT_KEY_TIMESTAMPTZ, "2024-01-31 10:00:00",
         "\"tz\" > TIMESTAMPTZ '2024-01-31 10:00:00+00'"},
        {"postgres", "tz", "timestamp with time zone", DSCAT_KEY_TIMESTAMPTZ, "infinity",
         "\"tz\" > TIMESTAMPTZ 'infinity'"},
        {"postgres", "s", "text", DSCAT_KEY_TEXT, "it's a \\ back",
         "\"s\" > E'it''s a \\\\ back' COLLATE \"C\""},
        {"postgres", "s", "character", DSCAT_KEY_TEXT, "x", "refused"},
        {"postgres", "s", "text", DSCAT_KEY_TEXT, NULL, ""},
        {"postgres", "s", "character", DSCAT_KEY_TEXT, NULL, "refused"},
        {"postgres", "id", "bigint", DSCAT_KEY_INTEGER, "1; DROP TABLE x", "refused"},
        {"postgres", "d", "date", DSCAT_KEY_DATE, "2024-01-31' OR '1", "refused"},
        {"postgres", "n", "numeric", DSCAT_KEY_DECIMAL, "1e5", "refused"},
        {"mysql", "i`d", "int", DSCAT_KEY_INTEGER, "42", "`i``d` > 42"},
        {"mysql", "dt", "datetime", DSCAT_KEY_TIMESTAMP, "2024-01-31 10:00:00.000001",
         "`dt` > TIMESTAMP '2024-01-31 10:00:00.000001'"},
        {"mysql", "tz", "timestamp", DSCAT_KEY_TIMESTAMPTZ, "2024-01-31 10:00:00",
         "`tz` > TIMESTAMP '2024-01-31 10:00:00'"},
        {"mysql", "d", "date", DSCAT_KEY_DATE, "2024-01-31", "`d` > DATE '2024-01-31'"},
        {"mysql", "s", "varchar", DSCAT_KEY_TEXT, "a'\\",
         "CAST(CONVERT(`s` USING utf8mb4) AS BINARY) > X'61275C'"},
        {"mysql", "tz", "timestamp", DSCAT_KEY_TIMESTAMPTZ, "infinity", "refused"},
        {"mysql", "e", "enum", DSCAT_KEY_TEXT, NULL, "refused"},
        {"sqlite", "id", "INTEGER", DSCAT_KEY_INTEGER, "42", "\"id\" > 42"},
        {"sqlite", "ts", "TIMESTAMP", DSCAT_KEY_TEXT, "2024-01-31 10:00:00",
         "\"ts\" > '2024-01-31 10:00:00' COLLATE BINARY"},
        {"sqlite", "s", "TEXT", DSCAT_KEY_TEXT, "it's", "\"s\" > 'it''s' COLLATE BINARY"},
        {"sqlserver", "i]d", "int", DSCAT_KEY_INTEGER, "42", "[i]]d] > 42"},
        {"sqlserver", "dt", "datetime", DSCAT_KEY_TIMESTAMP, "2024-01-31 10:00:00.003",
         "[dt] > CAST(CAST(N'2024-01-31 10:00:00.003' AS datetime2(7)) AS datetime)"},
        {"sqlserver", "o", "datetimeoffset", DSCAT_KEY_TIMESTAMPTZ, "2024-01-31 10:00:00",
         "[o] > CAST(N'2024-01-31 10:00:00 +00:00' AS datetimeoffset(7))"},
        {"sqlserver", "d", "date", DSCAT_KEY_DATE, "2024-01-31",
         "[d] > CAST(N'2024-01-31' AS date)"},
        {"sqlserver", "s", "nvarchar", DSCAT_KEY_TEXT, "it's",
         "[s] > N'it''s' COLLATE Latin1_General_BIN2"},
        {"sqlserver", "x", "xml", DSCAT_KEY_TEXT, NULL, "refused"},
        {"duckdb", "id", "BIGINT", DSCAT_KEY_INTEGER, "42", "\"id\" > 42"},
        {"duckdb", "t", "TIMESTAMP", DSCAT_KEY_TIMESTAMP, "2024-01-31 10:00:00",
         "\"t\" > CAST('2024-01-31 10:00:00' AS TIMESTAMP)"},
        {"duckdb", "s", "VARCHAR", DSCAT_KEY_TEXT, "it's", "\"s\" > 'it''s'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[256];
        predicate(got, sizeof(got), cases[i].engine, cases[i].column, cases[i].type, cases[i].key,
                  cases[i].value);
        if (strcmp(got, cases[i].want) != 0)
            print_error("case %zu (%s): %s\n", i, cases[i].engine, got);
        assert_string_equal(got, cases[i].want);
    }
    assert_true(dscat_key_value_ok(DSCAT_KEY_TIMESTAMP, "294247-01-10 04:00:54.775806"));
    assert_false(dscat_key_value_ok(DSCAT_KEY_TIMESTAMP, "2024-01-31T10:00:00"));
    assert_false(dscat_key_value_ok(DSCAT_KEY_DATE, "0044-03-15 (BC)"));
    assert_false(dscat_key_value_ok(DSCAT_KEY_INTEGER, ""));
}

/*
 * MySQL / MariaDB generated columns from information_schema.COLUMNS.EXTRA: STORED and VIRTUAL
 * GENERATED (both servers), PERSISTENT GENERATED (MariaDB's word for STORED), with other words
 * beside them; MySQL's DEFAULT_GENERATED (an expression default) and the other marks are not.
 */
static void mysql_generated_columns(void **state)
{
    (void)state;
    static const struct {
        const char *extra, *want;
    } cases[] = {
        {"STORED GENERATED", "STORED"},
        {"VIRTUAL GENERATED", "VIRTUAL"},
        {"PERSISTENT GENERATED", "STORED"},
        {"stored generated", "STORED"},
        {"VIRTUAL GENERATED INVISIBLE", "VIRTUAL"},
        {"VIRTUAL GENERATED, INVISIBLE", "VIRTUAL"}, /* MariaDB 10.11 */
        {"STORED GENERATED,INVISIBLE", "STORED"},
        {"INVISIBLE STORED GENERATED", "STORED"},
        {"DEFAULT_GENERATED", NULL},
        {"DEFAULT_GENERATED on update CURRENT_TIMESTAMP", NULL},
        {"on update current_timestamp()", NULL},
        {"auto_increment", NULL},
        {"INVISIBLE", NULL},
        {"", NULL},
        {"XSTORED GENERATED", NULL},
        {"STORED GENERATEDX", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = dscat_mysql__generated(cases[i].extra);
        if (cases[i].want == NULL) {
            if (got)
                print_error("case %zu (%s): %s\n", i, cases[i].extra, got);
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i].want);
        }
    }
    assert_null(dscat_mysql__generated(NULL));
}

/* A fake server for mysql_session: loses the connection on the statement `lost` exactly, and
 * refuses any other SET naming one of `refuse`. */
typedef struct fake_server {
    const char *refuse[3];
    const char *lost;
    char ran[8][128];
    size_t n;
} fake_server;

static int fake_exec(const char *sql, void *payload)
{
    fake_server *f = payload;
    assert_true(f->n < 8);
    snprintf(f->ran[f->n++], sizeof(f->ran[0]), "%s", sql);
    if (f->lost && strcmp(sql, f->lost) == 0)
        return DSCAT_ECONNECT;
    for (size_t i = 0; i < 3; i++)
        if (f->refuse[i] && strstr(sql, f->refuse[i]))
            return 1193; /* ER_UNKNOWN_SYSTEM_VARIABLE */
    return 0;
}

/*
 * The session of a MySQL / MariaDB catalog connection: one SET on a server that takes it (the
 * scan's statement count stays flat); when the server or a proxy refuses a variable, each alone,
 * a refused optional one skipped and a refused time_zone (essential: the catalog's times are UTC)
 * an error naming it; a lost connection stops at once.
 */
static void mysql_session(void **state)
{
    (void)state;
    dscat_mysql_setting st[DSCAT_MYSQL_SETTINGS];
    size_t n = dscat_mysql__session_settings(st, "10.11.19-MariaDB-0+deb12u1", 101119, 30);
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_mysql__set_sql(&b, st, n), 0);
    assert_string_equal(dscat_buf_cstr(&b), "SET time_zone = '+00:00', max_statement_time = 30");
    assert_true(st[0].essential);
    assert_false(st[1].essential);
    n = dscat_mysql__session_settings(st, "8.0.36", 80036, 30);
    dscat_buf_reset(&b);
    assert_int_equal(dscat_mysql__set_sql(&b, st, n), 0);
    assert_string_equal(dscat_buf_cstr(&b),
                        "SET time_zone = '+00:00', information_schema_stats_expiry = 0");
    n = dscat_mysql__session_settings(st, "5.7.44-log", 50744, 0);
    assert_int_equal(n, 1);
    n = dscat_mysql__session_settings(st, "5.5.5-10.6.12-MariaDB", 100612, 0);
    dscat_buf_reset(&b);
    assert_int_equal(dscat_mysql__set_sql(&b, st, n), 0);
    assert_string_equal(dscat_buf_cstr(&b), "SET time_zone = '+00:00', max_statement_time = 0");
    dscat_buf_free(&b);

    /* A server that takes it: one statement. */
    n = dscat_mysql__session_settings(st, "10.11.19-MariaDB", 101119, 30);
    size_t refused = 99;
    fake_server ok = {{NULL}, NULL, {{0}}, 0};
    assert_int_equal(dscat_mysql__prepare_session(st, n, fake_exec, &ok, &refused), 0);
    assert_int_equal(ok.n, 1);

    /* An unknown optional variable (a proxy, an old server): each alone, time_zone set. */
    fake_server old = {{"max_statement_time"}, NULL, {{0}}, 0};
    assert_int_equal(dscat_mysql__prepare_session(st, n, fake_exec, &old, &refused), 0);
    assert_int_equal(old.n, 3);
    assert_string_equal(old.ran[1], "SET time_zone = '+00:00'");
    assert_string_equal(old.ran[2], "SET max_statement_time = 30");

    /* time_zone refused: an error naming it, whether alone or with others. */
    fake_server tz = {{"time_zone"}, NULL, {{0}}, 0};
    assert_int_equal(dscat_mysql__prepare_session(st, n, fake_exec, &tz, &refused), 1193);
    assert_int_equal(refused, 0);
    assert_string_equal(st[refused].name, "time_zone");
    fake_server tz1 = {{"time_zone"}, NULL, {{0}}, 0};
    refused = 99;
    assert_int_equal(dscat_mysql__prepare_session(st, 1, fake_exec, &tz1, &refused), 1193);
    assert_int_equal(refused, 0);
    assert_int_equal(tz1.n, 1);

    /* A lost connection is passed on at once. */
    fake_server lost = {{NULL}, "SET time_zone = '+00:00', max_statement_time = 30", {{0}}, 0};
    assert_int_equal(dscat_mysql__prepare_session(st, n, fake_exec, &lost, &refused),
                     DSCAT_ECONNECT);
    assert_int_equal(lost.n, 1);
    fake_server lost2 = {{"max_statement_time"}, "SET time_zone = '+00:00'", {{0}}, 0};
    assert_int_equal(dscat_mysql__prepare_session(st, n, fake_exec, &lost2, &refused),
                     DSCAT_ECONNECT);
    assert_int_equal(lost2.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(found_by_name_and_alias),
        cmocka_unit_test(every_driver_complete),
        cmocka_unit_test(loader_asks_the_registry),
        cmocka_unit_test(cache_types_per_engine),
        cmocka_unit_test(key_predicates),
        cmocka_unit_test(mysql_generated_columns),
        cmocka_unit_test(mysql_session),
        cmocka_unit_test(pg_numeric_typmods),
        cmocka_unit_test(profile_without_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
