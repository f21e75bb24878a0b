/*
 * Filters and names: the glob matcher against fnmatch(3) in a UTF-8 locale, the literal prefix a
 * server may filter on, and qualified names joined and split back, over generated inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/glob.h"
#include "dscat/find.h"

#include <fnmatch.h>
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A small deterministic generator (xorshift64), so that a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* Appends up to max pieces drawn from pieces to a buffer the caller frees. */
static void generate(dscat_buf *b, const char *const *pieces, size_t npieces, unsigned max)
{
    unsigned len = rnd(max + 1);
    for (unsigned i = 0; i < len; i++)
        assert_int_equal(dscat_buf_puts(b, pieces[rnd((unsigned)npieces)]), 0);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Generated globs and names are sequences of symbols, each written two ways: as UTF-8 for dscat
 * and as one byte for fnmatch(3) in the "C" locale, the reference. The non-ASCII symbols' bytes
 * keep their order (code points first, then invalid bytes), so that ranges compare alike.
 */
typedef struct {
    const char *utf8, *byte;
} symbol;

static const symbol non_ascii[] = {
    {"\xc3\xa9", "\xa0"},         /* é U+00E9 */
    {"\xe6\x97\xa5", "\xb0"},     /* 日 U+65E5 */
    {"\xf0\x9f\x98\x80", "\xc0"}, /* U+1F600 */
    {"\x80", "\xe0"},             /* a stray continuation byte */
    {"\xff", "\xf0"},             /* never UTF-8 */
};
static const char *const glob_ascii[] = {
    "a",  "b", "z", "*", "?",         "[",         "]",         "!",  "^",  "-",
    "\\", ":", ".", " ", "[:alpha:]", "[:digit:]", "[:punct:]", "[=", "=]", "[.",
    ".]", "1", "_", "%", "[!",        "[^",        "*",         "?"};
static const char *const name_ascii[] = {"a", "b", "z", "]", "[", "\\", "-", "!", "1",
                                         ":", ".", " ", "_", "%", "*",  "?", "="};

/* Appends up to max symbols to u (UTF-8) and y (bytes), from ascii or non_ascii. */
static void generate2(dscat_buf *u, dscat_buf *y, const char *const *ascii_pieces, size_t nascii,
                      unsigned max)
{
    unsigned len = rnd(max + 1);
    for (unsigned i = 0; i < len; i++) {
        unsigned k = rnd((unsigned)(nascii + COUNT(non_ascii)));
        const char *a = k < nascii ? ascii_pieces[k] : non_ascii[k - nascii].utf8;
        const char *b = k < nascii ? ascii_pieces[k] : non_ascii[k - nascii].byte;
        assert_int_equal(dscat_buf_puts(u, a), 0);
        assert_int_equal(dscat_buf_puts(y, b), 0);
    }
}

static void glob_matches_as_fnmatch(void **state)
{
    (void)state;
    locale_t c = newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, "C", (locale_t)0);
    assert_non_null(c);
    int matched = 0;
    for (int i = 0; i < 50000; i++) {
        dscat_buf gu = DSCAT_BUF_INIT, gy = DSCAT_BUF_INIT, nu = DSCAT_BUF_INIT,
                  ny = DSCAT_BUF_INIT;
        generate2(&gu, &gy, glob_ascii, COUNT(glob_ascii), 6);
        if (rnd(3) == 0) { /* often the glob's own text */
            assert_int_equal(dscat_buf_puts(&nu, dscat_buf_cstr(&gu)), 0);
            assert_int_equal(dscat_buf_puts(&ny, dscat_buf_cstr(&gy)), 0);
        }
        generate2(&nu, &ny, name_ascii, COUNT(name_ascii), 4);
        locale_t old = uselocale(c);
        bool want = fnmatch(dscat_buf_cstr(&gy), dscat_buf_cstr(&ny), 0) == 0;
        uselocale(old);
        bool got = dscat_glob_match(dscat_buf_cstr(&gu), dscat_buf_cstr(&nu));
        if (want != got)
            print_error("glob '%s' on '%s': fnmatch %d, dscat %d\n", dscat_buf_cstr(&gu),
                        dscat_buf_cstr(&nu), want, got);
        assert_int_equal(want, got);
        matched += got;
        dscat_buf_free(&gu);
        dscat_buf_free(&gy);
        dscat_buf_free(&nu);
        dscat_buf_free(&ny);
    }
    freelocale(c);
    assert_true(matched > 2000);
}

static const char *const glob_pieces[] = {
    "a",         "b",         "\xc3\xa9", "\xe6\x97\xa5", "*",    "?", "[", "]",
    "!",         "^",         "-",        "\\",           ":",    ".", " ", "[:alpha:]",
    "[:digit:]", "[:space:]", "[=a=]",    "[.a.]",        "\xff", "1", "_", "%"};
static const char *const name_pieces[] = {
    "a", "b", "\xc3\xa9", "\xe6\x97\xa5", "]", "[", "\\", "-", "!", "1", ":", ".",
    " ", "_", "%",        "\xff",         "*", "?"};

/* The globs a PostgreSQL target got wrong when they were pushed down as regular expressions. */
static void globs_seen_wrong(void **state)
{
    (void)state;
    assert_true(dscat_glob_match("[[:alpha:]]*", "orders"));
    assert_false(dscat_glob_match("[[:alpha:]]*", "1orders"));
    const char *bracket = "[a\\]]*";
    assert_true(dscat_glob_match(bracket, "a1"));
    assert_true(dscat_glob_match(bracket, "]x"));
    assert_false(dscat_glob_match(bracket, "b"));
    assert_false(dscat_glob_match(bracket, "\\x"));
    assert_true(dscat_glob_match("?", "\xc3\xa9"));
    assert_true(dscat_glob_match("t?", "t\xe6\x97\xa5"));
    assert_false(dscat_glob_match("??", "\xc3\xa9"));
    assert_true(dscat_glob_match("[!a]", "\xc3\xa9"));
    assert_true(dscat_glob_match("?", "\xff")); /* not UTF-8: a character of its own */
    assert_false(dscat_glob_match("??", "\xe6\x97\xa5"));
    assert_true(dscat_glob_match("[\xc3\xa9-\xe6\x97\xa5]", "\xe4\xb8\x80")); /* U+4E00 */
    assert_false(dscat_glob_match("[\xc3\xa9-\xe6\x97\xa5]", "\xe7\x8c\xab"));
    assert_true(dscat_glob_match("*", "bad\xff\xfename"));
    assert_true(dscat_glob_match("bad*", "bad\xff\xfename"));
    assert_true(dscat_glob_match("a[", "a["));
}

/* Every name the glob matches starts with its prefix; a whole prefix is the one name matched. */
static void glob_prefix_never_loses_a_match(void **state)
{
    (void)state;
    int checked = 0;
    for (int i = 0; i < 20000; i++) {
        dscat_buf g = DSCAT_BUF_INIT, n = DSCAT_BUF_INIT, p = DSCAT_BUF_INIT;
        generate(&g, glob_pieces, COUNT(glob_pieces), 4);
        if (rnd(2))
            assert_int_equal(dscat_buf_puts(&n, dscat_buf_cstr(&g)), 0); /* often itself */
        generate(&n, name_pieces, COUNT(name_pieces), 3);
        bool whole = false;
        assert_int_equal(dscat_glob_prefix(&p, &whole, dscat_buf_cstr(&g)), 0);
        const char *gs = dscat_buf_cstr(&g), *ns = dscat_buf_cstr(&n), *ps = dscat_buf_cstr(&p);
        for (const char *c = ps; *c; c++)
            assert_true((unsigned char)*c < 0x80);
        if (dscat_glob_match(gs, ns)) {
            checked++;
            if (strncmp(ns, ps, p.len) != 0)
                print_error("glob '%s' matches '%s' outside its prefix '%s'\n", gs, ns, ps);
            assert_int_equal(strncmp(ns, ps, p.len), 0);
        }
        if (whole)
            assert_int_equal(dscat_glob_match(gs, ns), strcmp(ns, ps) == 0);
        dscat_buf_free(&g);
        dscat_buf_free(&n);
        dscat_buf_free(&p);
    }
    assert_true(checked > 1000);
    bool whole;
    dscat_buf p = DSCAT_BUF_INIT;
    assert_int_equal(dscat_glob_prefix(&p, &whole, "t\\_old\\*x"), 0);
    assert_string_equal(dscat_buf_cstr(&p), "t_old*x");
    assert_true(whole);
    dscat_buf_reset(&p);
    assert_int_equal(dscat_glob_prefix(&p, &whole, "ab\\"), 0);
    assert_string_equal(dscat_buf_cstr(&p), "ab");
    assert_false(whole);
    dscat_buf_free(&p);
}

/* Splits joined (with an optional target prefix) and checks every part comes back. */
static void expect_round_trip(const char *target, const char *const *parts, int n)
{
    char *joined = dscat_join_qualified(parts, n);
    assert_non_null(joined);
    dscat_buf name = DSCAT_BUF_INIT;
    if (target)
        assert_int_equal(dscat_buf_printf(&name, "%s:", target), 0);
    assert_int_equal(dscat_buf_puts(&name, joined), 0);
    char *back[3] = {0}, *t = NULL;
    int got = dscat_split_qualified(dscat_buf_cstr(&name), &t, back, 3);
    if (got != n)
        print_error("'%s' split into %d parts, not %d\n", dscat_buf_cstr(&name), got, n);
    assert_int_equal(got, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(back[i], parts[i]);
    if (target)
        assert_string_equal(t, target);
    else
        assert_null(t);
    for (int i = 0; i < 3; i++)
        dscat_free(back[i]);
    dscat_free(t);
    dscat_free(joined);
    dscat_buf_free(&name);
}

static void qualified_names_round_trip(void **state)
{
    (void)state;
    const char *spec[] = {"Sales", "Q1.2024", "odd\"name"};
    char *j = dscat_join_qualified(spec, 3);
    assert_string_equal(j, "Sales.\"Q1.2024\".\"odd\"\"name\"");
    dscat_free(j);
    const char *colon[] = {"db:x", "t"};
    expect_round_trip(NULL, colon, 2);
    expect_round_trip("oms", colon, 2);
    const char *empty[] = {"", "", ""};
    expect_round_trip(NULL, empty, 3);
    static const char *const pieces[] = {"a", "Z", "9",        ".", "\"",           ":",
                                         " ", "-", "\xc3\xa9", "_", "\xe6\x97\xa5", "'"};
    for (int i = 0; i < 20000; i++) {
        dscat_buf b[3] = {DSCAT_BUF_INIT, DSCAT_BUF_INIT, DSCAT_BUF_INIT};
        const char *parts[3];
        int n = 1 + (int)rnd(3);
        for (int k = 0; k < n; k++) {
            generate(&b[k], pieces, COUNT(pieces), 5);
            parts[k] = dscat_buf_cstr(&b[k]);
        }
        expect_round_trip(rnd(4) == 0 ? "tgt_1" : NULL, parts, n);
        for (int k = 0; k < 3; k++)
            dscat_buf_free(&b[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_matches_as_fnmatch),
        cmocka_unit_test(globs_seen_wrong),
        cmocka_unit_test(glob_prefix_never_loses_a_match),
        cmocka_unit_test(qualified_names_round_trip),
    };
    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
