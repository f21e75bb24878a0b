#include "core/text.h"

#include "dscat/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

size_t dscat_utf8_char(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t n;
    uint32_t cp, min;
    if (u[0] < 0x80)
        return 1;
    if (u[0] >= 0xc2 && u[0] <= 0xdf)
        n = 2, cp = u[0] & 0x1fu, min = 0x80;
    else if (u[0] >= 0xe0 && u[0] <= 0xef)
        n = 3, cp = u[0] & 0x0fu, min = 0x800;
    else if (u[0] >= 0xf0 && u[0] <= 0xf4)
        n = 4, cp = u[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (u[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* The length of the UTF-8 character that starts at p, or 1 when p does not start a valid one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t n = dscat_utf8_char((const char *)p, (const char *)end);
    return n ? n : 1;
}

size_t dscat_text_prefix(const char *s, size_t len, size_t chars)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end && chars-- > 0)
        p += utf8_len(p, end);
    return (size_t)(p - (const unsigned char *)s);
}

size_t dscat_text_line_break(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t left = (size_t)(end - p);
    if (left == 0)
        return 0;
    if (u[0] == '\r')
        return left >= 2 && u[1] == '\n' ? 2 : 1;
    if (u[0] == '\n' || u[0] == '\v' || u[0] == '\f')
        return 1;
    if (left >= 2 && u[0] == 0xc2 && u[1] == 0x85)
        return 2;
    if (left >= 3 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))
        return 3;
    return 0;
}

size_t dscat_text_control(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    if (p >= end)
        return 0;
    if (u[0] < 0x20 || u[0] == 0x7f)
        return 1;
    if (end - p >= 2 && u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
        return 2;
    return 0;
}

int dscat_text_show_control(dscat_buf *b, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n == 2)
        return dscat_buf_printf(b, "\\u00%02x", u[1]);
    return dscat_buf_printf(b, "\\x%02x", u[0]);
}

/*
 * The length of the character (or stray byte) that starts at p, with *show set when it must be
 * written by dscat_text_show_control: a control character (dscat_text_control) or a byte that
 * does not start a valid UTF-8 sequence.
 */
static size_t next_char(const char *p, const char *end, bool *show)
{
    size_t n = dscat_text_control(p, end);
    if (n) {
        *show = true;
        return n;
    }
    n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
    *show = n == 1 && (unsigned char)*p >= 0x80;
    return n;
}

int dscat_text_plain(dscat_buf *b, const char *s, size_t len)
{
    const char *end = s + len, *run = s;
    while (s < end) {
        bool show;
        size_t n = next_char(s, end, &show);
        if (!show) {
            s += n;
            continue;
        }
        if (s > run && dscat_buf_put(b, run, (size_t)(s - run)))
            return DSCAT_ENOMEM;
        if (dscat_text_show_control(b, s, n))
            return DSCAT_ENOMEM;
        s += n;
        run = s;
    }
    if (s > run && dscat_buf_put(b, run, (size_t)(s - run)))
        return DSCAT_ENOMEM;
    return 0;
}

static bool ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether p starts the rest of an entity or character reference: "amp;", "#124;", "#x7C;". */
static bool starts_entity(const char *p, const char *end)
{
    if (p < end && *p == '#')
        p++;
    const char *name = p;
    while (p < end && ascii_alnum(*p))
        p++;
    return p > name && p < end && *p == ';';
}

/*
 * Whether the byte at s[i] needs a backslash. `start` is the index of the first character that
 * is not a space or tab, and `digits` the index just past the run of digits there: a block
 * marker only counts at the start ("- x", "> x", "= x", "1. x" or "1) x" right after the digits).
 * Elsewhere ">" does nothing without a "<" (always escaped), so "a -> b" stays as it is.
 */
static bool needs_backslash(const char *s, size_t len, size_t i, size_t start, size_t digits)
{
    char c = s[i];
    switch (c) {
    case '\\':
    case '|':
    case '`':
    case '*':
    case '[':
    case ']':
    case '<':
    case '#':
    case '~':
        return true;
    case '_':
        return i == 0 || i + 1 >= len || !ascii_alnum(s[i - 1]) || !ascii_alnum(s[i + 1]);
    case '&':
        return starts_entity(s + i + 1, s + len);
    case '-':
    case '+':
    case '=':
    case '>':
        return i == start;
    case '.':
    case ')':
        return i == digits && digits > start;
    default:
        return false;
    }
}

int dscat_text_md_escape(dscat_buf *b, const char *s, size_t len)
{
    size_t start = 0;
    while (start < len && (s[start] == ' ' || s[start] == '\t'))
        start++;
    size_t digits = start;
    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < len;) {
        size_t nl = dscat_text_line_break(s + i, s + len);
        bool show = false;
        size_t step = nl ? nl : next_char(s + i, s + len, &show);
        size_t ctl = show ? step : 0;
        bool esc = nl == 0 && ctl == 0 && needs_backslash(s, len, i, start, digits);
        if (nl == 0 && ctl == 0 && !esc) {
            i += step;
            run += step;
            continue;
        }
        if (run && dscat_buf_put(b, s + i - run, run))
            return DSCAT_ENOMEM;
        run = 0;
        if (nl) {
            if (dscat_buf_puts(b, "<br>"))
                return DSCAT_ENOMEM;
            i += nl;
        } else if (ctl) {
            if (dscat_text_show_control(b, s + i, ctl))
                return DSCAT_ENOMEM;
            i += ctl;
        } else {
            char pair[2] = {'\\', s[i]};
            if (dscat_buf_put(b, pair, 2))
                return DSCAT_ENOMEM;
            i++;
        }
    }
    if (run && dscat_buf_put(b, s + len - run, run))
        return DSCAT_ENOMEM;
    return 0;
}

int dscat_text_md_escapes(dscat_buf *b, const char *s)
{
    return s ? dscat_text_md_escape(b, s, strlen(s)) : 0;
}

int dscat_text_fold(dscat_buf *b, const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s, *end = p + len;
    while (p < end) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, end - p, &cp);
        if (n <= 0) { /* not UTF-8: the byte as it is */
            if (dscat_buf_putc(b, (char)tolower(*p)))
                return DSCAT_ENOMEM;
            p++;
            continue;
        }
        p += n;
        if (cp < 0x80) {
            if (dscat_buf_putc(b, (char)tolower(cp)))
                return DSCAT_ENOMEM;
            continue;
        }
        /* Full case folding of one code point: at most a few code points. */
        utf8proc_int32_t folded[8];
        int last = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(cp, folded, 8, UTF8PROC_CASEFOLD, &last);
        if (m < 0 || m > 8) {
            folded[0] = cp;
            m = 1;
        }
        for (utf8proc_ssize_t i = 0; i < m; i++) {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t k = utf8proc_encode_char(folded[i], enc);
            if (dscat_buf_put(b, enc, (size_t)k))
                return DSCAT_ENOMEM;
        }
    }
    return 0;
}

int dscat_text_qualified(dscat_buf *b, const char *const *parts, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const char *part = parts[i];
        if (part == NULL)
            continue;
        if (!first && dscat_buf_putc(b, '.'))
            return DSCAT_ENOMEM;
        first = false;
        bool quote = *part == '\0';
        for (const char *p = part; *p && !quote; p++)
            quote = *p == '.' || *p == '"' || isspace((unsigned char)*p);
        if (!quote) {
            if (dscat_buf_puts(b, part))
                return DSCAT_ENOMEM;
            continue;
        }
        if (dscat_buf_putc(b, '"'))
            return DSCAT_ENOMEM;
        for (const char *p = part; *p; p++)
            if ((*p == '"' && dscat_buf_putc(b, '"')) || dscat_buf_putc(b, *p))
                return DSCAT_ENOMEM;
        if (dscat_buf_putc(b, '"'))
            return DSCAT_ENOMEM;
    }
    return 0;
}

void dscat_text_user_name(const char *raw, char *out, size_t size)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)(raw ? raw : "");
    size_t k = 0, chars = 0;
    while (*p && chars < 64) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
        bool ok = false;
        if (n > 0) {
            utf8proc_category_t c = utf8proc_category(cp);
            ok = cp == '_' || cp == '-' || (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_NO);
        } else {
            n = 1;
        }
        size_t w = ok ? (size_t)n : 1;
        if (k + w + 1 > size)
            break;
        if (ok)
            memcpy(out + k, p, w);
        else
            out[k] = '_';
        k += w;
        chars++;
        p += n;
    }
    out[k] = '\0';
    if (k == 0)
        snprintf(out, size, "anonymous");
}

int dscat_text_to_ll(long long *out, const char *s, const char **end, long long min, long long max)
{
    if (s == NULL)
        return DSCAT_EINVALID;
    while (isspace((unsigned char)*s))
        s++;
    /* strtoll would also take "0x", leading white space after a sign and so on: ask for a
     * digit right after the optional sign. */
    const char *d = s + (*s == '-' || *s == '+');
    if (!isdigit((unsigned char)*d))
        return DSCAT_EINVALID;
    char *stop = NULL;
    errno = 0;
    long long v = strtoll(s, &stop, 10);
    if (errno == ERANGE || v < min || v > max)
        return DSCAT_EINVALID;
    if (end) {
        *end = stop;
    } else {
        while (isspace((unsigned char)*stop))
            stop++;
        if (*stop)
            return DSCAT_EINVALID;
    }
    *out = v;
    return 0;
}

long long dscat_text_ll_or(const char *s, long long min, long long max, long long fallback)
{
    long long v;
    return dscat_text_to_ll(&v, s, NULL, min, max) == 0 ? v : fallback;
}
