#include "core/text.h"

#include "dscat/common.h"

#include <stdbool.h>
#include <string.h>

/* The length of the UTF-8 sequence that starts at p, or 1 when it is not a valid one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t n = *p < 0x80             ? 1
               : (*p & 0xe0) == 0xc0 ? 2
               : (*p & 0xf0) == 0xe0 ? 3
               : (*p & 0xf8) == 0xf0 ? 4
                                     : 1;
    if ((size_t)(end - p) < n)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 1;
    return n;
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
        bool esc = nl == 0 && needs_backslash(s, len, i, start, digits);
        if (nl == 0 && !esc) {
            i++;
            run++;
            continue;
        }
        if (run && dscat_buf_put(b, s + i - run, run))
            return DSCAT_ENOMEM;
        run = 0;
        if (nl) {
            if (dscat_buf_puts(b, "<br>"))
                return DSCAT_ENOMEM;
            i += nl;
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
