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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(found_by_name_and_alias),
        cmocka_unit_test(every_driver_complete),
        cmocka_unit_test(loader_asks_the_registry),
        cmocka_unit_test(cache_types_per_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
