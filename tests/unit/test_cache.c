/*
 * The data cache's times of pending deletions (src/cache/cache.c): delete_after is written in
 * whole seconds, rounded up so that no version is deleted before its grace has passed, and the
 * rows written before in the same form still read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/duck.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* delete_after is never before now + the grace, and never a second or more after it. */
static void test_delete_after_never_early(void **state)
{
    (void)state;
    const int64_t grace = 3;
    for (int i = 0; i < 200; i++) {
        char when[40];
        int64_t before = dscat_now_us();
        dscat_cache__iso_after(grace, when, sizeof(when));
        int64_t after = dscat_now_us(), due = 0;
        assert_true(dscat_cache__parse_iso(when, &due));
        assert_true(due >= before + grace * 1000000);
        assert_true(due < after + grace * 1000000 + 1000000);
        assert_int_equal(due % 1000000, 0);
        assert_int_equal(strlen(when), strlen("2026-01-01T00:00:00Z"));
        if (i % 20 == 0) { /* over more than one fraction of a second */
            struct timespec nap = {0, 37 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
    }
}

/* No grace (a retry, deletion_grace_seconds = 0) is due at once, not at the next second. */
static void test_no_grace_due_now(void **state)
{
    (void)state;
    char when[40];
    dscat_cache__iso_after(0, when, sizeof(when));
    int64_t now = dscat_now_us(), due = 0;
    assert_true(dscat_cache__parse_iso(when, &due));
    assert_true(due <= now);
}

/* The form of the rows already in stores (and of the tests' own inserts) still reads. */
static void test_delete_after_old_rows(void **state)
{
    (void)state;
    int64_t us = 0;
    assert_true(dscat_cache__parse_iso("2026-01-01T00:00:00Z", &us));
    assert_int_equal(us, (int64_t)1767225600 * 1000000);
    assert_true(dscat_cache__parse_iso("2000-01-01T00:00:00Z", &us));
    assert_int_equal(us, (int64_t)946684800 * 1000000);
    assert_false(dscat_cache__parse_iso("not a time", &us));
    assert_false(dscat_cache__parse_iso("2026-01-01T00:00:00", &us));
    assert_false(dscat_cache__parse_iso("2026-01-01T00:00:00Z trailing", &us));
}

/* DuckDB's rule: ASCII case only. */
static void test_same_name(void **state)
{
    (void)state;
    assert_true(dscat_cache__same_name("CaseT", "caset"));
    assert_false(dscat_cache__same_name("caset", "caset2"));
    assert_false(dscat_cache__same_name("\xc3\x89"
                                        "a",
                                        "\xc3\xa9"
                                        "a")); /* \u00c9a, \u00e9a */
    const char *a[] = {"id", "ID", "x"}, *b[] = {"id", "id_1"};
    assert_true(dscat_cache__names_collide(a, 3));
    assert_false(dscat_cache__names_collide(b, 2));
}

/* Columns DuckDB confuses get "<name>~<position>"; the others keep their names. */
static void test_query_columns(void **state)
{
    (void)state;
    const char *in[] = {"id", "ID", "Id", "id_1", "ID~2", "x"};
    char **out = dscat_cache__query_columns(in, 6);
    assert_non_null(out);
    assert_string_equal(out[0], "id~1");
    assert_string_equal(out[1], "ID~2~2"); /* "ID~2" is another column's name */
    assert_string_equal(out[2], "Id~3");
    assert_string_equal(out[3], "id_1");
    assert_string_equal(out[4], "ID~2");
    assert_string_equal(out[5], "x");
    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++)
            assert_false(dscat_cache__same_name(out[i], out[j]));
    dscat_cache__free_names(out, 6);
}

/* The footer of a file DuckDB wrote gets the exact names back; the values stay where they were. */
static void test_parquet_rename(void **state)
{
    (void)state;
    dscat_error err = {0};
    dscat_duck *duck = NULL;
    char path[] = "/tmp/dscat-test-names-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(dscat_duck_load(&err), 0);
    assert_int_equal(dscat_duck_open(&duck, &err), 0);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "COPY (SELECT i AS \"id\", i::VARCHAR AS \"ID\", i * 1.5 AS \"Id\", -i AS id_1 "
             "FROM range(200000) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 50000)",
             path);
    assert_int_equal(dscat_duck_exec(duck, sql, &err), 0);
    const char *names[] = {"id", "ID", "Id", "id_1"};
    assert_int_equal(dscat_cache__parquet_rename(path, names, 4, &err), 0);
    duckdb_result res;
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(name, ',' ORDER BY rowid) FROM (SELECT name, row_number() OVER () "
             "AS rowid FROM parquet_schema('%s'))",
             path);
    assert_int_equal(duckdb_query(dscat_duck_connection(duck), sql, &res), DuckDBSuccess);
    char *v = duckdb_value_varchar(&res, 0, 0);
    assert_string_equal(v, "duckdb_schema,id,ID,Id,id_1");
    duckdb_free(v);
    duckdb_destroy_result(&res);
    snprintf(sql, sizeof(sql),
             "SELECT count(*), sum(#1), sum(#2::BIGINT), sum(#3), sum(#4) FROM read_parquet('%s')",
             path);
    assert_int_equal(duckdb_query(dscat_duck_connection(duck), sql, &res), DuckDBSuccess);
    assert_int_equal(duckdb_value_int64(&res, 0, 0), 200000);
    assert_int_equal(duckdb_value_int64(&res, 1, 0), 19999900000LL);
    assert_int_equal(duckdb_value_int64(&res, 2, 0), 19999900000LL);
    assert_int_equal(duckdb_value_int64(&res, 4, 0), -19999900000LL);
    duckdb_destroy_result(&res);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(DISTINCT path_in_schema, ',' ORDER BY path_in_schema) "
             "FROM parquet_metadata('%s')",
             path);
    assert_int_equal(duckdb_query(dscat_duck_connection(duck), sql, &res), DuckDBSuccess);
    v = duckdb_value_varchar(&res, 0, 0);
    assert_string_equal(v, "ID,Id,id,id_1");
    duckdb_free(v);
    duckdb_destroy_result(&res);
    /* a footer garbled byte by byte is refused or copied, never read past its end */
    FILE *g = fopen(path, "rb");
    assert_non_null(g);
    fseek(g, 0, SEEK_END);
    long size = ftell(g);
    unsigned char *orig = malloc((size_t)size);
    fseek(g, 0, SEEK_SET);
    assert_int_equal(fread(orig, 1, (size_t)size, g), (size_t)size);
    fclose(g);
    uint32_t flen = (uint32_t)orig[size - 8] | (uint32_t)orig[size - 7] << 8 |
                    (uint32_t)orig[size - 6] << 16 | (uint32_t)orig[size - 5] << 24;
    srand(7);
    for (int round = 0; round < 300; round++) {
        unsigned char *copy = malloc((size_t)size);
        memcpy(copy, orig, (size_t)size);
        for (int k = 0; k < 1 + round % 8; k++)
            copy[size - 8 - 1 - (long)((uint32_t)rand() % flen)] = (unsigned char)rand();
        g = fopen(path, "wb");
        fwrite(copy, 1, (size_t)size, g);
        fclose(g);
        int grc = dscat_cache__parquet_rename(path, names, 4, &err);
        assert_true(grc == 0 || grc == DSCAT_EIO);
        free(copy);
    }
    free(orig);
    /* a file that is not Parquet is refused, never half rewritten */
    FILE *f = fopen(path, "w");
    fputs("not parquet", f);
    fclose(f);
    assert_int_equal(dscat_cache__parquet_rename(path, names, 4, &err), DSCAT_EIO);
    dscat_duck_close(duck);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_after_never_early),
        cmocka_unit_test(test_no_grace_due_now),
        cmocka_unit_test(test_delete_after_old_rows),
        cmocka_unit_test(test_same_name),
        cmocka_unit_test(test_query_columns),
        cmocka_unit_test(test_parquet_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
