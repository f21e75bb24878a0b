/*
 * Core pieces: errors, buffers, arena, string map, allocation failure injection, the scan model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/model.h"
#include "core/alloc.h"
#include "core/testhooks.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/strmap.h"
#include "core/toml.h"
#include "core/siphash.h"

#include <stdio.h>
#include <string.h>

static void error_is_one_line(void **state)
{
    (void)state;
    dscat_error err = {0};
    assert_int_equal(dscat_error_set(&err, DSCAT_EAUTH, "FATAL:  bad\nDETAIL: x\n"), DSCAT_EAUTH);
    assert_null(strchr(err.message, '\n'));
    assert_string_equal(err.message, "FATAL:  bad DETAIL: x");
    dscat_error_prefix(&err, "target %s", "pg");
    assert_string_equal(err.message, "target pg: FATAL:  bad DETAIL: x");
    assert_int_equal(err.code, DSCAT_EAUTH);
}

/*
 * An error message is always UTF-8: a driver's bytes in another encoding, an overlong form and a
 * character cut by the message's fixed size (by dscat_error_set or dscat_error_prefix) are
 * written "\xNN"; valid text, multi-byte characters included, stays as it is.
 */
static void error_is_utf8(void **state)
{
    (void)state;
    dscat_error err = {0};
    dscat_error_set(&err, DSCAT_EAUTH, "l'utilisateur \xe9tait %s", "\xc0\x80x");
    assert_string_equal(err.message, "l'utilisateur \\xe9tait \\xc0\\x80x");
    assert_true(dscat_db_scan_valid_utf8(err.message));
    dscat_error_set(&err, DSCAT_EIO, "caf\xc3\xa9 \xe6\x97\xa5");
    assert_string_equal(err.message, "caf\xc3\xa9 \xe6\x97\xa5");
    /* 510 ASCII bytes then a 3-byte character: cut after its first byte by the size */
    char longer[600];
    memset(longer, 'a', 510);
    memcpy(longer + 510, "\xe6\x97\xa5", 4);
    dscat_error_set(&err, DSCAT_EIO, "%s", longer);
    assert_true(dscat_db_scan_valid_utf8(err.message));
    assert_true(strlen(err.message) < sizeof(err.message));
    assert_int_equal(strncmp(err.message, longer, 510), 0);
    /* the prefix pushes a character across the end */
    memset(longer, 'b', 505);
    memcpy(longer + 505, "\xe6\x97\xa5", 4);
    dscat_error_set(&err, DSCAT_EIO, "%s", longer);
    dscat_error_prefix(&err, "t");
    assert_true(dscat_db_scan_valid_utf8(err.message));
}

static void buffers(void **state)
{
    (void)state;
    dscat_buf b = DSCAT_BUF_INIT;
    assert_string_equal(dscat_buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(dscat_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(b.ptr, "0,1,2,", 6), 0);
    assert_int_equal(b.len, strlen(b.ptr));
    dscat_buf_free(&b);
    dscat_buf capped;
    dscat_buf_init(&capped, 8);
    assert_int_equal(dscat_buf_puts(&capped, "12345678"), 0);
    assert_int_equal(dscat_buf_error(&capped), 0);
    assert_int_equal(dscat_buf_putc(&capped, '9'), DSCAT_ENOMEM); /* the cap holds */
    /* Sticky: the failure stays, later appends fail without writing, nothing can be used. */
    assert_int_equal(dscat_buf_error(&capped), DSCAT_ENOMEM);
    assert_int_equal(dscat_buf_puts(&capped, ""), DSCAT_ENOMEM);
    assert_int_equal(dscat_buf_printf(&capped, "%d", 1), DSCAT_ENOMEM);
    dscat_buf_reset(&capped);
    assert_int_equal(dscat_buf_putc(&capped, 'x'), DSCAT_ENOMEM); /* reset keeps the failure */
    assert_string_equal(dscat_buf_cstr(&capped), "");
    dscat_error err = {0};
    assert_int_equal(dscat_buf_check(&capped, &err, "the list"), DSCAT_ENOMEM);
    assert_string_equal(err.message, "the list is over its limit of 8 bytes");
    assert_null(dscat_buf_detach(&capped)); /* and detaching starts afresh */
    assert_int_equal(dscat_buf_puts(&capped, "ok"), 0);
    dscat_buf_free(&capped);
    /* An allocation failure in the middle is sticky too, and reported as such. */
    dscat_buf grown = DSCAT_BUF_INIT;
    assert_int_equal(dscat_buf_puts(&grown, "a"), 0);
    dscat_alloc_fail_after(0);
    assert_int_equal(dscat_buf_printf(&grown, "%0100d", 1), DSCAT_ENOMEM);
    dscat_alloc_fail_after(-1);
    assert_int_equal(dscat_buf_puts(&grown, "b"), DSCAT_ENOMEM);
    assert_int_equal(dscat_buf_check(&grown, &err, "the summary"), DSCAT_ENOMEM);
    assert_string_equal(err.message, "out of memory building the summary");
    dscat_buf_free(&grown);
    assert_int_equal(dscat_buf_error(&grown), 0); /* free makes it new */
}

static void arena(void **state)
{
    (void)state;
    dscat_arena a = DSCAT_ARENA_INIT;
    char *big = dscat_arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    for (int i = 0; i < 10000; i++) {
        char *s = dscat_arena_strdup(&a, "hello");
        assert_string_equal(s, "hello");
        assert_int_equal((uintptr_t)s % sizeof(void *), 0);
    }
    dscat_arena_free(&a);
}

static void string_map(void **state)
{
    (void)state;
    dscat_strmap m = DSCAT_STRMAP_INIT;
    char key[32];
    for (size_t i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "k%zu", i);
        assert_int_equal(dscat_strmap_put(&m, key, (size_t)n, i * 2), 0);
    }
    size_t v = 0;
    for (size_t i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "k%zu", i);
        assert_true(dscat_strmap_get(&m, key, (size_t)n, &v));
        assert_int_equal(v, i * 2);
    }
    assert_false(dscat_strmap_get(&m, "nope", 4, &v));
    assert_true(dscat_strmap_put(&m, "a\0b", 3, 1) == 0 && !dscat_strmap_get(&m, "a\0c", 3, &v));
    dscat_strmap_free(&m);
}

/* Every allocation of a TOML parse fails in turn: each is an error, none crashes or leaks. */
static void toml_survives_every_failed_allocation(void **state)
{
    (void)state;
    const char *text = "[settings]\nparallel_scans = 2\n[targets.a]\ntype = \"sqlite\"\n"
                       "path = \"/x\"\ninclude_tables = [\"a*\", 'b']\nx = {y = 1, z.w = 2}\n";
    int failures = 0;
    for (long n = 0; n < 200; n++) {
        dscat_alloc_fail_after(n);
        dscat_toml_doc *doc = NULL;
        dscat_error err = {0};
        int rc = dscat_toml_parse(&doc, text, strlen(text), &err);
        dscat_alloc_fail_after(-1);
        if (rc == 0) {
            dscat_toml_free(doc);
            break;
        }
        assert_int_equal(rc, DSCAT_ENOMEM);
        failures++;
    }
    assert_true(failures > 5);
}

static void scan_model(void **state)
{
    (void)state;
    dscat_db_scan s;
    assert_int_equal(dscat_db_scan_init(&s, "db"), 0);
    size_t idx;
    dscat_table_info t = {.schema = "s", .name = "t", .type = "BASE TABLE"};
    assert_int_equal(dscat_db_scan_add_table(&s, &t, &idx), 0);
    dscat_column_info c = {.table = idx, .name = "id", .data_type = "integer"};
    assert_int_equal(dscat_db_scan_add_column(&s, &c), 0);
    assert_int_equal(dscat_db_scan_find_table(&s, "s", "t"), 0);
    assert_int_equal(dscat_db_scan_find_table(&s, "st", ""), -1);
    dscat_db_scan_mark_pk(&s, idx, "id");
    dscat_db_scan_mark_pk(&s, idx, "missing");
    assert_true(s.columns.items[0].is_pk);
    dscat_db_scan_free(&s);
}

/* Columns sharing their type names: the names are the scan's own, kept once, never copied again. */
static void scan_model_shared_types(void **state)
{
    (void)state;
    dscat_db_scan s;
    assert_int_equal(dscat_db_scan_init(&s, "db"), 0);
    size_t idx;
    dscat_table_info t = {.schema = "s", .name = "t", .type = "BASE TABLE"};
    assert_int_equal(dscat_db_scan_add_table(&s, &t, &idx), 0);
    char type[] = "numeric";
    const char *shared = dscat_db_scan_strdup(&s, type);
    const char *full = dscat_db_scan_strdup(&s, "numeric(12,2)");
    assert_non_null(shared);
    assert_non_null(full);
    assert_null(dscat_db_scan_strdup(&s, NULL));
    type[0] = 'X'; /* the copy is the scan's */
    char name[] = "a";
    dscat_column_info c = {.table = idx, .name = name, .data_type = shared, .column_type = full};
    assert_int_equal(dscat_db_scan_add_column_shared(&s, &c), 0);
    name[0] = 'b';
    assert_int_equal(dscat_db_scan_add_column_shared(&s, &c), 0);
    assert_ptr_equal(s.columns.items[0].data_type, shared);
    assert_ptr_equal(s.columns.items[1].column_type, full);
    assert_string_equal(s.columns.items[0].data_type, "numeric");
    assert_string_equal(s.columns.items[0].name, "a"); /* other strings are copied */
    assert_string_equal(s.columns.items[1].name, "b");
    assert_int_equal(dscat_db_scan_find_column(&s, idx, "a"), 0);
    c.name = "\xff";
    assert_int_equal(dscat_db_scan_add_column_shared(&s, &c), DSCAT_EINVALID);
    /* text from a database without an encoding: its invalid bytes escaped, the rest kept */
    assert_string_equal(dscat_db_scan_strdup_escaped(&s, "caf\xe9 \xc3\xa9\xff"),
                        "caf\\xe9 \xc3\xa9\\xff");
    assert_string_equal(dscat_db_scan_strdup_escaped(&s, ""), "");
    assert_null(dscat_db_scan_strdup_escaped(&s, NULL));
    dscat_db_scan_free(&s);
}

/* Names of any length are keys like any other; a name that is not UTF-8 is refused, not cut. */
static void scan_model_long_and_invalid_names(void **state)
{
    (void)state;
    dscat_db_scan s;
    assert_int_equal(dscat_db_scan_init(&s, "db"), 0);
    char *table = dscat_calloc(3001, 1), *column = dscat_calloc(1201, 1);
    assert_non_null(table);
    assert_non_null(column);
    memset(table, 'T', 3000);
    memset(column, 'c', 1200);
    size_t idx;
    dscat_table_info t = {.schema = "main", .name = table, .type = "BASE TABLE"};
    assert_int_equal(dscat_db_scan_add_table(&s, &t, &idx), 0);
    assert_int_equal(dscat_db_scan_find_table(&s, "main", table), (long)idx);
    table[2999] = 'U'; /* differs in the last byte only */
    assert_int_equal(dscat_db_scan_find_table(&s, "main", table), -1);
    dscat_column_info c = {.table = idx, .name = column, .data_type = ""};
    assert_int_equal(dscat_db_scan_add_column(&s, &c), 0);
    dscat_column_info gen = {.table = idx, .name = "g", .data_type = "int", .generated = "STORED"};
    assert_int_equal(dscat_db_scan_add_column(&s, &gen), 0);
    assert_int_equal(dscat_db_scan_find_column(&s, idx, column), 0);
    assert_int_equal(dscat_db_scan_find_column(&s, idx, "g"), 1);
    assert_string_equal(s.columns.items[1].generated, "STORED");
    assert_string_equal(s.columns.items[0].name, column);

    /* Dropping columns rebuilds the index: a dropped name is no longer found. */
    assert_int_equal(dscat_db_scan_truncate_columns(&s, 1), 0);
    assert_int_equal(dscat_db_scan_find_column(&s, idx, "g"), -1);
    assert_int_equal(dscat_db_scan_find_column(&s, idx, column), 0);

    dscat_table_info bad = {.schema = "main", .name = "bad\xff\xfename", .type = "VIEW"};
    assert_int_equal(dscat_db_scan_add_table(&s, &bad, NULL), DSCAT_EINVALID);
    dscat_column_info overlong = {.table = idx, .name = "\xc0\xaf", .data_type = ""};
    assert_int_equal(dscat_db_scan_add_column(&s, &overlong), DSCAT_EINVALID);
    assert_true(dscat_db_scan_valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    assert_false(dscat_db_scan_valid_utf8("\xed\xa0\x80"));     /* a surrogate */
    assert_false(dscat_db_scan_valid_utf8("\xe2\x82"));         /* cut short */
    assert_false(dscat_db_scan_valid_utf8("a\xc0\x80"));        /* overlong U+0000 */
    assert_false(dscat_db_scan_valid_utf8("\xe0\x82\x9b"));     /* overlong U+009B (CSI) */
    assert_false(dscat_db_scan_valid_utf8("\xf0\x80\x80\x80")); /* overlong U+0000 */
    assert_false(dscat_db_scan_valid_utf8("\xf4\x90\x80\x80")); /* past U+10FFFF */
    assert_true(dscat_db_scan_valid_utf8("\xf4\x8f\xbf\xbf"));  /* U+10FFFF */
    assert_int_equal(dscat_db_scan_add_object_problem(&s, "main", "view", bad.name, "bad name"), 0);
    assert_string_equal(s.problems.items[0].message, "view bad\\xff\\xfename: bad name");
    assert_true(dscat_db_scan_valid_utf8(s.problems.items[0].message));
    dscat_free(table);
    dscat_free(column);
    dscat_db_scan_free(&s);
}

/* SipHash-2-4-128: the reference implementation's vectors (key 00..0f, message 00..len-1). */
static void siphash128_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[64], out[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    static const struct {
        size_t len;
        const char *hex;
    } vectors[] = {
        {0, "a3817f04ba25a8e66df67214c7550293"},
        {1, "da87c1d86b99af44347659119b22fc45"},
        {63, "5150d1772f50834a503e069a973fbd7c"},
    };
    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        dscat_siphash128(out, key, msg, vectors[v].len);
        char hex[33];
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", out[i]);
        assert_string_equal(hex, vectors[v].hex);
    }
    /* Fed in pieces of every size from 1 to 9 bytes: the same hash as at once. */
    uint8_t whole[16];
    dscat_siphash128(whole, key, msg, 63);
    for (size_t piece = 1; piece <= 9; piece++) {
        dscat_siphash h;
        dscat_siphash_init(&h, key);
        for (size_t at = 0; at < 63; at += piece)
            dscat_siphash_update(&h, msg + at, at + piece > 63 ? 63 - at : piece);
        dscat_siphash_final(&h, out);
        assert_memory_equal(out, whole, 16);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_is_one_line),
        cmocka_unit_test(error_is_utf8),
        cmocka_unit_test(buffers),
        cmocka_unit_test(arena),
        cmocka_unit_test(string_map),
        cmocka_unit_test(toml_survives_every_failed_allocation),
        cmocka_unit_test(scan_model),
        cmocka_unit_test(scan_model_long_and_invalid_names),
        cmocka_unit_test(siphash128_vectors),
        cmocka_unit_test(scan_model_shared_types),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
