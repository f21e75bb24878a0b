/*
 * Unit tests of the cache's value checks (src/cache/values.c): what each native type takes as
 * is, what it rewrites (dates and timestamps into day and microsecond counts), and what needs a
 * fallback; UTF-8 validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache/types.h"
#include "core/buf.h"

#include <stdio.h>
#include <string.h>

static cache_column column(const char *duck_type)
{
    cache_column c;
    memset(&c, 0, sizeof(c));
    snprintf(c.duck_type, sizeof(c.duck_type), "%s", duck_type);
    dscat_cache_column_kind(&c);
    c.hex = strcmp(duck_type, "BLOB") == 0;
    return c;
}

/* The outcome for one value, and what DuckDB gets ("" for a misfit). */
static value_fit fit(const char *duck_type, const char *in, char *got, size_t size)
{
    cache_column c = column(duck_type);
    dscat_buf out = DSCAT_BUF_INIT;
    value_fit f = dscat_cache_value(&c, in, strlen(in), &out);
    snprintf(got, size, "%s", f == VALUE_PASS ? in : f == VALUE_OK ? dscat_buf_cstr(&out) : "");
    dscat_buf_free(&out);
    return f;
}

static void expect(const char *duck_type, const char *in, value_fit want, const char *value)
{
    char got[128];
    value_fit f = fit(duck_type, in, got, sizeof(got));
    if (f != want || (value && strcmp(got, value) != 0)) {
        print_error("%s '%s': got %d '%s', want %d '%s'\n", duck_type, in, (int)f, got, (int)want,
                    value ? value : "");
        fail();
    }
}

static void integers(void **state)
{
    (void)state;
    expect("BIGINT", "9223372036854775807", VALUE_PASS, NULL);
    expect("BIGINT", "-9223372036854775808", VALUE_PASS, NULL);
    expect("BIGINT", "9223372036854775808", VALUE_MISFIT, "");
    expect("BIGINT", "1.5", VALUE_MISFIT, ""); /* never rounded to 2 */
    expect("BIGINT", "1.0", VALUE_MISFIT, "");
    expect("BIGINT", "abc", VALUE_MISFIT, "");
    expect("BIGINT", "", VALUE_MISFIT, "");
    expect("BIGINT", " 1", VALUE_MISFIT, "");
    expect("BIGINT", "1e3", VALUE_MISFIT, "");
    expect("SMALLINT", "32767", VALUE_PASS, NULL);
    expect("SMALLINT", "32768", VALUE_MISFIT, "");
    expect("TINYINT", "-129", VALUE_MISFIT, "");
    expect("UBIGINT", "18446744073709551615", VALUE_PASS, NULL);
    expect("UBIGINT", "18446744073709551616", VALUE_MISFIT, "");
    expect("UBIGINT", "-1", VALUE_MISFIT, "");
    expect("UTINYINT", "255", VALUE_PASS, NULL);
    expect("UTINYINT", "256", VALUE_MISFIT, "");
    expect("INTEGER", "2147483648", VALUE_MISFIT, "");
}

static void decimals_and_floats(void **state)
{
    (void)state;
    expect("DECIMAL(10,2)", "12345678.99", VALUE_PASS, NULL);
    expect("DECIMAL(10,2)", "-0.01", VALUE_PASS, NULL);
    expect("DECIMAL(10,2)", "1.50", VALUE_PASS, NULL);
    expect("DECIMAL(10,2)", "1.500", VALUE_PASS, NULL); /* a zero past the scale changes nothing */
    expect("DECIMAL(10,2)", "1.505", VALUE_MISFIT, ""); /* would be rounded */
    expect("DECIMAL(10,2)", "123456789.00", VALUE_MISFIT, "");
    expect("DECIMAL(10,2)", "NaN", VALUE_MISFIT, "");
    expect("DECIMAL(10,2)", "Infinity", VALUE_MISFIT, "");
    expect("DECIMAL(38,10)", "1234567890123456789012345678.0123456789", VALUE_PASS, NULL);
    /* the DECIMALs of PostgreSQL's numeric(3,5) and numeric(5,-2), as their text path sends them */
    expect("DECIMAL(5,5)", "0.00123", VALUE_PASS, NULL);
    expect("DECIMAL(5,5)", "-0.00999", VALUE_PASS, NULL);
    expect("DECIMAL(5,5)", "1.00000", VALUE_MISFIT, "");
    expect("DECIMAL(7,0)", "-9999900", VALUE_PASS, NULL);
    expect("DECIMAL(7,0)", "12300", VALUE_PASS, NULL);
    expect("DOUBLE", "0.30000000000000004", VALUE_PASS, NULL);
    expect("DOUBLE", "NaN", VALUE_PASS, NULL);
    expect("DOUBLE", "-Infinity", VALUE_PASS, NULL);
    expect("DOUBLE", "4.9406564584124654e-324", VALUE_PASS, NULL);
    expect("DOUBLE", "1e999", VALUE_MISFIT, "");
    expect("DOUBLE", "1e-400", VALUE_MISFIT, ""); /* would be 0 */
    expect("DOUBLE", "0.0", VALUE_PASS, NULL);
    expect("FLOAT", "1e300", VALUE_MISFIT, "");
    expect("FLOAT", "1e-50", VALUE_MISFIT, "");
    expect("DOUBLE", "xyz", VALUE_MISFIT, "");
    expect("DOUBLE", "1.5abc", VALUE_MISFIT, "");
    expect("FLOAT", "3.4028235e+38", VALUE_PASS, NULL);
    expect("BOOLEAN", "t", VALUE_PASS, NULL);
    expect("BOOLEAN", "maybe", VALUE_MISFIT, "");
    expect("UUID", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", VALUE_PASS, NULL);
    expect("UUID", "a0eebc99-9c0b-4ef8-bb6d", VALUE_MISFIT, "");
}

static void dates_and_times(void **state)
{
    (void)state;
    expect("DATE", "1970-01-01", VALUE_PASS, NULL);
    expect("DATE", "2024-02-29", VALUE_PASS, NULL);
    expect("DATE", "2023-02-29", VALUE_MISFIT, "");
    expect("DATE", "0001-01-01", VALUE_PASS, NULL);
    expect("DATE", "0001-01-01 BC", VALUE_OK, "@-719528"); /* year 0, a leap year */
    expect("DATE", "0044-03-15 BC", VALUE_OK, "@-735160");
    expect("DATE", "5874897-12-31", VALUE_PASS, NULL);
    expect("DATE", "infinity", VALUE_PASS, NULL);
    expect("DATE", "-infinity", VALUE_PASS, NULL);
    expect("DATE", "0000-00-00", VALUE_MISFIT, ""); /* MySQL's zero date */
    expect("DATE", "0000-01-01", VALUE_MISFIT, "");
    expect("DATE", "2024-00-15", VALUE_MISFIT, "");
    expect("DATE", "2024-13-01", VALUE_MISFIT, "");
    expect("DATE", "24-01-01", VALUE_MISFIT, "");
    expect("TIMESTAMP", "1970-01-01 00:00:00", VALUE_PASS, NULL);
    expect("TIMESTAMP", "1970-01-01 00:00:00.5", VALUE_PASS, NULL);
    expect("TIMESTAMP", "1969-12-31 23:59:59.999999", VALUE_PASS, NULL);
    expect("TIMESTAMP", "2024-01-01T10:00:00.1234560", VALUE_PASS, NULL);
    expect("TIMESTAMP", "2024-01-01 10:00:00.1234567", VALUE_MISFIT, ""); /* 100 ns */
    expect("TIMESTAMP", "0044-03-15 12:00:00 BC", VALUE_OK, "@-63517780800000000");
    expect("TIMESTAMP", "294247-01-10 04:00:54.775806", VALUE_PASS, NULL);
    expect("TIMESTAMP", "294247-01-10 04:00:54.775807", VALUE_MISFIT, "");
    expect("TIMESTAMP", "294276-12-31 23:59:59", VALUE_MISFIT, "");
    expect("TIMESTAMP", "0000-00-00 00:00:00", VALUE_MISFIT, "");
    expect("TIMESTAMP", "2024-01-01 24:00:00", VALUE_MISFIT, "");
    expect("TIMESTAMP", "290309-12-21 00:00:00 BC", VALUE_MISFIT, ""); /* past DuckDB's start */
    expect("TIMESTAMP", "290309-12-22 00:00:00 BC", VALUE_OK, "@-9223372022400000000");
    expect("DATE", "0000-01-01 BC", VALUE_MISFIT, "");
    expect("DATE", "5881580-07-11", VALUE_MISFIT, "");
    expect("DATE", "99999999-01-01", VALUE_MISFIT, "");
    expect("TIMESTAMPTZ", "2024-06-01 12:00:00+05Z", VALUE_MISFIT, "");
    expect("TIMESTAMPTZ", "2024-06-01 12:00:00Z", VALUE_PASS, NULL);
    expect("TIMESTAMPTZ", "2024-06-01 12:00:00+02", VALUE_PASS, NULL);
    expect("TIMESTAMPTZ", "2024-06-01 12:00:00-05:30", VALUE_PASS, NULL);
    expect("TIMESTAMPTZ", "1970-01-01 00:00:00+00 BC", VALUE_OK, "@-124302816000000000");
    expect("TIME", "24:00:00", VALUE_PASS, NULL);
    expect("TIME", "23:59:59.999999", VALUE_PASS, NULL);
    expect("TIME", "10:00:00.1234560", VALUE_OK, "10:00:00.123456");
    expect("TIME", "10:00:00.1234567", VALUE_MISFIT, "");
    expect("TIME", "24:00:01", VALUE_MISFIT, "");
    expect("TIME", "838:59:59", VALUE_MISFIT, "");
}

static void text_and_bytes(void **state)
{
    (void)state;
    expect("VARCHAR", "é€😀", VALUE_PASS, NULL);
    expect("VARCHAR", "\xff\x41", VALUE_NOT_UTF8, "");
    expect("VARCHAR", "\xc0\x80", VALUE_NOT_UTF8, "");         /* overlong NUL */
    expect("VARCHAR", "\xed\xa0\x80", VALUE_NOT_UTF8, "");     /* a surrogate */
    expect("VARCHAR", "\xf4\x90\x80\x80", VALUE_NOT_UTF8, ""); /* past U+10FFFF */
    expect("VARCHAR", "\xe2\x82", VALUE_NOT_UTF8, "");         /* cut short */
    expect("JSON", "{\"a\": 1}", VALUE_PASS, NULL);
    expect("BLOB", "00ff", VALUE_PASS, NULL);
    expect("BLOB", "0ff", VALUE_BAD_HEX, "");
    expect("BLOB", "zz", VALUE_BAD_HEX, "");
    /* a text fallback column takes any UTF-8, a binary one any bytes (as hex) */
    cache_column c = column("BIGINT");
    dscat_buf out = DSCAT_BUF_INIT;
    c.storage = STORE_TEXT;
    assert_int_equal(dscat_cache_value(&c, "1.5", 3, &out), VALUE_PASS);
    assert_int_equal(dscat_cache_value(&c, "\xff", 1, &out), VALUE_NOT_UTF8);
    c.storage = STORE_BINARY;
    assert_int_equal(dscat_cache_value(&c, "\xff\x41", 2, &out), VALUE_OK);
    assert_string_equal(dscat_buf_cstr(&out), "ff41");
    /* every byte of the value, NULs included: a MariaDB geometry starts with its SRID, 0 */
    assert_int_equal(dscat_cache_value(&c, "\0\0\0\0\x01\x01\0\xff", 8, &out), VALUE_OK);
    assert_string_equal(dscat_buf_cstr(&out), "00000000010100ff");
    assert_int_equal(dscat_cache_value(&c, "", 0, &out), VALUE_OK);
    assert_int_equal(out.len, 0);
    /* text holding NUL bytes is text (UTF-8 throughout); hex and numbers stop at none */
    cache_column t = column("VARCHAR");
    assert_int_equal(dscat_cache_value(&t, "a\0b", 3, &out), VALUE_PASS);
    assert_int_equal(dscat_cache_value(&t, "a\0\xff", 3, &out), VALUE_NOT_UTF8);
    t.storage = STORE_LITERAL;
    assert_int_equal(dscat_cache_value(&t, "'1'", 3, &out), VALUE_PASS);
    cache_column h = column("BLOB");
    assert_int_equal(dscat_cache_value(&h, "00\0f", 4, &out), VALUE_BAD_HEX);
    cache_column n = column("BIGINT");
    assert_int_equal(dscat_cache_value(&n,
                                       "1\0"
                                       "2",
                                       3, &out),
                     VALUE_MISFIT);
    dscat_buf_free(&out);
    assert_true(dscat_utf8_valid("", 0));
    assert_false(dscat_utf8_valid("a\x80", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers),
        cmocka_unit_test(decimals_and_floats),
        cmocka_unit_test(dates_and_times),
        cmocka_unit_test(text_and_bytes),
    };
    return cmocka_run_group_tests_name("cache values", tests, NULL, NULL);
}
