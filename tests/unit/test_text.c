/*
 * Text helpers: UTF-8 cuts, line breaks and the Markdown escape of names and comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/testhooks.h"
#include "core/buf.h"
#include "core/text.h"
#include "dscat/common.h"

#include <stdbool.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

/* The escape of s as a string the test frees. */
static char *md(const char *s, size_t len)
{
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_text_md_escape(&b, s, len), 0);
    return dscat_buf_detach(&b);
}

static void expect_md(const char *in, const char *want)
{
    char *got = md(in, strlen(in));
    assert_string_equal(got, want);
    dscat_free(got);
}

/*
 * Reads escaped text back: "\X" is X, "\xNN" the byte NN, "\u00NN" the C1 control U+00NN,
 * "<br>" a line feed. Fails on a bare "\" at the end.
 */
static char *unescape(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *out = malloc(n + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(s + i, "\\x", 2) == 0) {
            out[k++] = (char)strtol((char[]){s[i + 2], s[i + 3], '\0'}, NULL, 16);
            i += 3;
        } else if (strncmp(s + i, "\\u00", 4) == 0) {
            out[k++] = (char)0xc2;
            out[k++] = (char)strtol((char[]){s[i + 4], s[i + 5], '\0'}, NULL, 16);
            i += 5;
        } else if (s[i] == '\\') {
            assert_true(i + 1 < n);
            assert_true(strchr("\\|`*_[]<>#~&-+=.)", s[i + 1]) != NULL);
            out[k++] = s[++i];
        } else if (strncmp(s + i, "<br>", 4) == 0) {
            out[k++] = '\n';
            i += 3;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

/* s with every line break (CR LF, CR, LF, VT, FF, NEL, LS, PS) as one line feed. */
static char *breaks_as_lf(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t k = 0;
    assert_non_null(out);
    for (size_t i = 0; i < len;) {
        size_t nl = dscat_text_line_break(s + i, s + len);
        if (nl) {
            out[k++] = '\n';
            i += nl;
        } else {
            out[k++] = s[i++];
        }
    }
    out[k] = '\0';
    return out;
}

/* No "|" without a backslash before it, no raw line break, no "<" but the "<br>" we write. */
static void assert_safe_cell(const char *e)
{
    for (size_t i = 0; e[i]; i++) {
        if (e[i] == '\\') {
            i++;
            continue;
        }
        assert_true(e[i] != '|' && e[i] != '\n' && e[i] != '\r' && e[i] != '\v' && e[i] != '\f');
        if (e[i] == '<')
            assert_int_equal(strncmp(e + i, "<br>", 4), 0);
    }
    assert_null(strstr(e, "\xe2\x80\xa8"));
    assert_null(strstr(e, "\xc2\x85"));
    for (const char *p = e; *p; p++)
        assert_int_equal(dscat_text_control(p, p + strlen(p)), 0);
}

static void md_pipes_and_breaks(void **state)
{
    (void)state;
    expect_md("a|b", "a\\|b");
    expect_md("||", "\\|\\|");
    expect_md("a\nb", "a<br>b");
    expect_md("a\r\nb", "a<br>b");
    expect_md("a\rb\n\nc", "a<br>b<br><br>c");
    expect_md("a\vb\fc", "a<br>b<br>c");
    expect_md("a\xe2\x80\xa8z\xe2\x80\xa9y\xc2\x85x", "a<br>z<br>y<br>x");
    expect_md("back\\slash\\", "back\\\\slash\\\\");
    expect_md("\\|", "\\\\\\|");
    expect_md("", "");
    expect_md("plain text, é 日本 ok", "plain text, é 日本 ok");
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_text_md_escapes(&b, NULL), 0);
    assert_int_equal(b.len, 0);
    dscat_buf_free(&b);
}

static void md_inline_markup(void **state)
{
    (void)state;
    expect_md("**bold**", "\\*\\*bold\\*\\*");
    expect_md("`code`", "\\`code\\`");
    expect_md("```", "\\`\\`\\`");
    expect_md("[a](b)", "\\[a\\](b)");
    expect_md("![img](x.png)", "!\\[img\\](x.png)");
    expect_md("<b>x</b>", "\\<b>x\\</b>");
    expect_md("<http://x>", "\\<http://x>");
    expect_md("int -> bigint", "int -> bigint");
    expect_md("~~gone~~", "\\~\\~gone\\~\\~");
    expect_md("a # b", "a \\# b");
    expect_md("R&D", "R&D");
    expect_md("&amp; &#124; &#x7C; & x &y", "\\&amp; \\&\\#124; \\&\\#x7C; & x &y");
    /* "_" between letters or digits is never emphasis and stays readable. */
    expect_md("order_id", "order_id");
    expect_md("a_1_b", "a_1_b");
    expect_md("_private_", "\\_private\\_");
    expect_md("a__b", "a\\_\\_b");
    expect_md("x _y_ z", "x \\_y\\_ z");
    expect_md("tail_", "tail\\_");
    expect_md("é_x", "é\\_x");
}

static void md_leading_blocks(void **state)
{
    (void)state;
    expect_md("# heading", "\\# heading");
    expect_md("### h", "\\#\\#\\# h");
    expect_md("- item", "\\- item");
    expect_md("+ item", "\\+ item");
    expect_md("* item", "\\* item");
    expect_md("> quote", "\\> quote");
    expect_md("1. first", "1\\. first");
    expect_md("12) twelfth", "12\\) twelfth");
    expect_md("===", "\\===");
    expect_md("---", "\\---");
    expect_md("___", "\\_\\_\\_");
    expect_md("  - indented", "  \\- indented");
    expect_md("\t1. tab", "\\x091\\. tab"); /* a tab is shown, the marker still escaped */
    /* Only at the start: inside the text these are plain. */
    expect_md("a - b + c = d > e", "a - b + c = d > e");
    expect_md(">>", "\\>>");
    expect_md("v1.2.3", "v1.2.3");
    expect_md("2024.01 (x)", "2024\\.01 (x)");
    expect_md("1x. y", "1x. y");
    expect_md(".5", ".5");
}

/* A byte pattern that cycles through every character the escape treats specially. */
static void md_round_trip(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "|",       "\n",   "\r\n",     "\r",   "\\",       "`", "*",  "_",
        "[",       "]",    "<",        ">",    "#",        "~", "&",  "&#1;",
        "- ",      "+ ",   "= ",       "1.",   "2) ",      "a", "b_", "_c",
        " ",       "\t",   "é",        "日",   "\xc2\x85", ".", ")",  "\xe2\x80\xa8",
        "\033[2J", "\x7f", "\xc2\x9b", "\x01", "\\x1b"};
    size_t nparts = sizeof(parts) / sizeof(parts[0]);
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        char in[256];
        size_t len = 0;
        int n = 1 + (int)(seed % 12);
        for (int k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = parts[(seed >> 16) % nparts];
            memcpy(in + len, p, strlen(p));
            len += strlen(p);
        }
        in[len] = '\0';
        char *e = md(in, len);
        assert_safe_cell(e);
        char *back = unescape(e), *want = breaks_as_lf(in, len);
        assert_string_equal(back, want);
        free(back);
        free(want);
        dscat_free(e);
    }
}

/* Control characters are shown, never written raw; so is a byte that is not UTF-8. */
static void md_controls_visible(void **state)
{
    (void)state;
    expect_md("c\033[31mred", "c\\x1b\\[31mred");
    expect_md("a\tb", "a\\x09b");
    expect_md("del\x7f", "del\\x7f");
    expect_md("csi\xc2\x9b"
              "2J",
              "csi\\u009b2J");
    expect_md("bad\xff", "bad\\xff");
    expect_md("\\x1b", "\\\\x1b");           /* the text "\x1b" itself stays distinct */
    expect_md("é\xc2\xa0ok", "é\xc2\xa0ok"); /* U+00A0 is no control */
}

/* dscat_text_plain: every control visible, line breaks and tabs included; the rest as it is. */
static void plain_controls_visible(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"c\033[31mred", "c\\x1b[31mred"},
        {"line\none\r\n", "line\\x0aone\\x0d\\x0a"},
        {"tab\there", "tab\\x09here"},
        {"\x7f\xc2\x85\xc2\x9f\xc2\xa0", "\\x7f\\u0085\\u009f\xc2\xa0"},
        {"bad \xc2 \x9b", "bad \\xc2 \\x9b"},
        {"a|b *c* é 日本", "a|b *c* é 日本"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dscat_buf b = DSCAT_BUF_INIT;
        assert_int_equal(dscat_text_plain(&b, cases[i].in, strlen(cases[i].in)), 0);
        assert_string_equal(dscat_buf_cstr(&b), cases[i].want);
        dscat_buf_free(&b);
    }
    /* A NUL inside the length is shown too. */
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_text_plain(&b, "a\0b", 3), 0);
    assert_string_equal(dscat_buf_cstr(&b), "a\\x00b");
    dscat_buf_free(&b);
}

/*
 * Bytes that are not well-formed UTF-8 are shown as "\xNN", one per byte, in every human-readable
 * escape: overlong forms (one of them an encoded CSI, U+009B), surrogates, code points past
 * U+10FFFF, lead bytes that never start a character, stray and missing continuation bytes. The
 * characters just inside each bound are shown as they are.
 */
static void invalid_utf8_shown(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } bad[] = {
        {"\xc0\x80", "\\xc0\\x80"},                            /* overlong U+0000 */
        {"\xc1\xbf", "\\xc1\\xbf"},                            /* overlong U+007F */
        {"\xe0\x80\x80", "\\xe0\\x80\\x80"},                   /* overlong U+0000 */
        {"\xe0\x82\x9b", "\\xe0\\x82\\x9b"},                   /* overlong U+009B (CSI) */
        {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},                   /* overlong U+07FF */
        {"\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80"},          /* overlong U+0000 */
        {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"},          /* overlong U+FFFF */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                   /* surrogate U+D800 */
        {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},                   /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},          /* U+110000 */
        {"\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf"},          /* U+1FFFFF */
        {"\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"}, /* five bytes */
        {"\xfe\xff", "\\xfe\\xff"},
        {"\x80", "\\x80"},            /* a stray continuation byte */
        {"\xe6\x97x", "\\xe6\\x97x"}, /* cut short */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = strlen(bad[i].in);
        assert_int_equal(dscat_utf8_char(bad[i].in, bad[i].in + len), 0);
        dscat_buf b = DSCAT_BUF_INIT;
        assert_int_equal(dscat_text_plain(&b, bad[i].in, len), 0);
        assert_string_equal(dscat_buf_cstr(&b), bad[i].want);
        dscat_buf_free(&b);
        char *e = md(bad[i].in, len);
        assert_string_equal(e, bad[i].want);
        dscat_free(e);
        /* Each such byte counts as one character: a cut never keeps half a bad sequence whole. */
        assert_int_equal(dscat_text_prefix(bad[i].in, len, 1), 1);
    }
    static const char *const good[] = {
        "\xc2\xa0",         /* U+00A0, the first after the C1 controls */
        "\xdf\xbf",         /* U+07FF */
        "\xe0\xa0\x80",     /* U+0800 */
        "\xed\x9f\xbf",     /* U+D7FF */
        "\xee\x80\x80",     /* U+E000 */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xf0\x90\x80\x80", /* U+10000 */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t len = strlen(good[i]);
        assert_int_equal(dscat_utf8_char(good[i], good[i] + len), len);
        dscat_buf b = DSCAT_BUF_INIT;
        assert_int_equal(dscat_text_plain(&b, good[i], len), 0);
        assert_string_equal(dscat_buf_cstr(&b), good[i]);
        dscat_buf_free(&b);
        assert_int_equal(dscat_text_prefix(good[i], len, 1), len);
    }
}

static void md_out_of_memory(void **state)
{
    (void)state;
    const char *in = "a|b\nc**d**";
    for (long n = 0; n < 8; n++) {
        dscat_buf b = DSCAT_BUF_INIT;
        dscat_alloc_fail_after(n);
        int rc = dscat_text_md_escapes(&b, in);
        dscat_alloc_fail_after(-1);
        assert_true(rc == 0 || rc == DSCAT_ENOMEM);
        if (rc == 0)
            assert_string_equal(dscat_buf_cstr(&b), "a\\|b<br>c\\*\\*d\\*\\*");
        dscat_buf_free(&b);
    }
    dscat_buf capped = DSCAT_BUF_INIT;
    capped.max = 4;
    assert_int_equal(dscat_text_md_escapes(&capped, "a|b|c"), DSCAT_ENOMEM);
    dscat_buf_free(&capped);
}

static void prefix_never_splits_a_character(void **state)
{
    (void)state;
    const char *s = "aé日\xf0\x9f\x98\x80z";
    size_t len = strlen(s);
    assert_int_equal(dscat_text_prefix(s, len, 0), 0);
    assert_int_equal(dscat_text_prefix(s, len, 1), 1);
    assert_int_equal(dscat_text_prefix(s, len, 2), 3);
    assert_int_equal(dscat_text_prefix(s, len, 3), 6);
    assert_int_equal(dscat_text_prefix(s, len, 4), 10);
    assert_int_equal(dscat_text_prefix(s, len, 5), len);
    assert_int_equal(dscat_text_prefix(s, len, 99), len);
    /* Invalid and truncated sequences count one byte each. */
    assert_int_equal(dscat_text_prefix("\xff\xfe", 2, 1), 1);
    assert_int_equal(dscat_text_prefix("\xe6\x97", 2, 1), 1);
    assert_int_equal(dscat_text_prefix("\xe6\x97", 2, 2), 2);
    /* A cut then an escape: the escape is always whole. */
    char *e = md("ab|", dscat_text_prefix("ab|", 3, 3));
    assert_string_equal(e, "ab\\|");
    dscat_free(e);
}

static void line_breaks(void **state)
{
    (void)state;
    const char *s = "\r\n";
    assert_int_equal(dscat_text_line_break(s, s + 2), 2);
    assert_int_equal(dscat_text_line_break(s, s + 1), 1);
    assert_int_equal(dscat_text_line_break(s, s), 0);
    s = "\xe2\x80\xa8";
    assert_int_equal(dscat_text_line_break(s, s + 3), 3);
    assert_int_equal(dscat_text_line_break(s, s + 2), 0);
    s = "\xe2\x80\xa7"; /* U+2027, not a break */
    assert_int_equal(dscat_text_line_break(s, s + 3), 0);
    s = "x";
    assert_int_equal(dscat_text_line_break(s, s + 1), 0);
}

static char *fold(const char *s)
{
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_text_fold(&b, s, strlen(s)), 0);
    return dscat_buf_detach(&b);
}

/* find matches case-insensitively for all of Unicode: both sides fold alike. */
static void unicode_find_case_folding(void **state)
{
    (void)state;
    char *a = fold("ÜNÏCØDÉ"), *b = fold("ünïcødé"), *c = fold("STRASSE"), *d = fold("Straße");
    assert_string_equal(a, b);
    assert_string_equal(c, d);
    assert_string_equal(c, "strasse");
    char *e = fold("ΣΊΣΥΦΟΣ"), *f = fold("σίσυφος"),
         *g = fold("ab\xff"
                   "CD");
    assert_string_equal(e, f);
    assert_string_equal(g, "ab\xff"
                           "cd"); /* not UTF-8: kept, ASCII lower-cased */
    char *ps[] = {a, b, c, d, e, f, g};
    for (size_t i = 0; i < 7; i++)
        dscat_free(ps[i]);
}

static char *qualified(const char *const *parts, size_t n)
{
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_text_qualified(&b, parts, n), 0);
    return dscat_buf_detach(&b);
}

/* One naming rule: parts with a dot, a quote or white space (or empty) are quoted. */
static void naming_rule_qualified(void **state)
{
    (void)state;
    const char *plain[] = {"Sales", "dbo", "Orders"};
    const char *odd[] = {"Sales", "Q1.2024", "my orders", "say \"hi\"", ""};
    const char *holes[] = {"db", NULL, "t"};
    char *a = qualified(plain, 3), *b = qualified(odd, 5), *c = qualified(holes, 3);
    assert_string_equal(a, "Sales.dbo.Orders");
    assert_string_equal(b, "Sales.\"Q1.2024\".\"my orders\".\"say \"\"hi\"\"\".\"\"");
    assert_string_equal(c, "db.t");
    dscat_free(a);
    dscat_free(b);
    dscat_free(c);
}

/* Annotation user names are sanitised per Unicode character, not per byte. */
static void unicode_user_names(void **state)
{
    (void)state;
    char out[250];
    dscat_text_user_name("José", out, sizeof(out));
    assert_string_equal(out, "José");
    dscat_text_user_name("a/b c.d", out, sizeof(out));
    assert_string_equal(out, "a_b_c_d");
    dscat_text_user_name("日本-語_1", out, sizeof(out));
    assert_string_equal(out, "日本-語_1");
    dscat_text_user_name("x\xff", out, sizeof(out));
    assert_string_equal(out, "x_");
    dscat_text_user_name("", out, sizeof(out));
    assert_string_equal(out, "anonymous");
    char long_name[300];
    for (int i = 0; i < 70; i++)
        memcpy(long_name + 2 * i, "é", 2);
    long_name[140] = '\0';
    dscat_text_user_name(long_name, out, sizeof(out));
    assert_int_equal(strlen(out), 128); /* 64 characters of 2 bytes */
    char small[6];
    dscat_text_user_name("éééé", small, sizeof(small));
    assert_string_equal(small, "éé"); /* never a split character */
}

/* dscat_text_to_ll, the checked replacement of atoi: junk, overflow and range are refused. */
static void whole_numbers(void **state)
{
    (void)state;
    long long v = 42;
    const char *end = NULL;
    assert_int_equal(dscat_text_to_ll(&v, " -17\n", NULL, -100, 100), 0);
    assert_int_equal(v, -17);
    const char *bad[] = {"", " ", "12x", "x12", "0x10", "- 1", "1 2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 42;
        assert_int_equal(dscat_text_to_ll(&v, bad[i], NULL, LLONG_MIN, LLONG_MAX), DSCAT_EINVALID);
        assert_int_equal(v, 42); /* left alone */
    }
    assert_int_equal(dscat_text_to_ll(&v, NULL, NULL, 0, 1), DSCAT_EINVALID);
    assert_int_equal(dscat_text_to_ll(&v, "101", NULL, 0, 100), DSCAT_EINVALID);
    assert_int_equal(dscat_text_to_ll(&v, "200 OK", &end, 100, 999), 0);
    assert_int_equal(v, 200);
    assert_string_equal(end, " OK");
    assert_int_equal(dscat_text_ll_or("7", 0, 10, -1), 7);
    assert_int_equal(dscat_text_ll_or("70", 0, 10, -1), -1);
    assert_int_equal(dscat_text_ll_or(NULL, 0, 10, -1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_numbers),         cmocka_unit_test(md_pipes_and_breaks),
        cmocka_unit_test(md_inline_markup),      cmocka_unit_test(md_leading_blocks),
        cmocka_unit_test(md_round_trip),         cmocka_unit_test(md_out_of_memory),
        cmocka_unit_test(md_controls_visible),   cmocka_unit_test(plain_controls_visible),
        cmocka_unit_test(invalid_utf8_shown),    cmocka_unit_test(prefix_never_splits_a_character),
        cmocka_unit_test(line_breaks),           cmocka_unit_test(unicode_find_case_folding),
        cmocka_unit_test(naming_rule_qualified), cmocka_unit_test(unicode_user_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
