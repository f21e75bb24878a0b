/*
 * TOML 1.0 reader: a recursive-descent parser over the whole text, building a tree in an arena.
 *
 * Table definition rules (the subtle part of TOML) are kept with four flags per table:
 * EXPLICIT (named by a [header]), DOTTED (created by a dotted key), SEALED (an inline table,
 * complete once written) and, on arrays, AOT (created by [[header]], so it may be appended to).
 */
#include "core/toml.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { F_EXPLICIT = 1, F_DOTTED = 2, F_SEALED = 4, F_AOT = 8 };

/* Nesting limit for arrays and inline tables, so hostile input cannot exhaust the stack. */
#define MAX_DEPTH 128

typedef struct parser {
    const char *s;
    size_t len;
    size_t pos;
    int line;
    int depth;
    dscat_arena *arena;
    dscat_error *err;
    dscat_toml_value *root;
    dscat_toml_value *current;
} parser;

typedef struct key_part {
    const char *ptr;
    size_t len;
} key_part;

#define MAX_KEY_PARTS 64

static int fail(parser *p, const char *what)
{
    /* At the end of a text that ends with a newline, the problem is on the last line. */
    int line = p->line;
    if (p->pos >= p->len && line > 1 && p->len > 0 && p->s[p->len - 1] == '\n')
        line--;
    return dscat_error_set(p->err, DSCAT_EINVALID, "line %d: %s", line, what);
}

static int nomem(parser *p)
{
    return dscat_error_set(p->err, DSCAT_ENOMEM, "line %d: out of memory", p->line);
}

static int peek(const parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const parser *p, size_t ahead)
{
    return p->pos + ahead < p->len ? (unsigned char)p->s[p->pos + ahead] : -1;
}

static bool starts(const parser *p, const char *lit)
{
    size_t n = strlen(lit);
    return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

static void skip_ws(parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        p->pos++;
}

/* Consumes a newline (LF or CRLF) and returns 1, or returns 0 when there is none here. */
static int eat_newline(parser *p)
{
    if (peek(p) == '\n') {
        p->pos++;
        p->line++;
        return 1;
    }
    if (peek(p) == '\r' && peek_at(p, 1) == '\n') {
        p->pos += 2;
        p->line++;
        return 1;
    }
    return 0;
}

/* A control character that TOML never allows outside of escapes (tab is allowed). */
static bool is_bad_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* Skips a comment if one starts here: "#" up to (not including) the end of the line. */
static int skip_comment(parser *p)
{
    if (peek(p) != '#')
        return 0;
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c < 0 || c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
            return 0;
        if (is_bad_control(c))
            return fail(p, "control character in comment");
        p->pos++;
    }
}

/* Skips white space, comments and newlines (inside arrays). */
static int skip_ws_nl(parser *p)
{
    for (;;) {
        skip_ws(p);
        int rc = skip_comment(p);
        if (rc)
            return rc;
        if (!eat_newline(p))
            return 0;
    }
}

/* After a key/value pair or a header: white space, an optional comment, then the line's end. */
static int expect_line_end(parser *p)
{
    skip_ws(p);
    int rc = skip_comment(p);
    if (rc)
        return rc;
    if (p->pos >= p->len || eat_newline(p))
        return 0;
    return fail(p, "expected the end of the line");
}

/* Checks that the text is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int check_utf8(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    int line = 1;
    for (size_t i = 0; i < p->len;) {
        unsigned c = s[i];
        size_t n;
        unsigned cp;
        if (c == '\n')
            line++;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
        } else {
            p->line = line;
            return fail(p, "invalid UTF-8");
        }
        if (i + n > p->len) {
            p->line = line;
            return fail(p, "truncated UTF-8 sequence");
        }
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                p->line = line;
                return fail(p, "invalid UTF-8");
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            p->line = line;
            return fail(p, "invalid UTF-8");
        }
        i += n;
    }
    return 0;
}

static dscat_toml_value *new_value(parser *p, dscat_toml_type type)
{
    dscat_toml_value *v = dscat_arena_alloc(p->arena, sizeof(*v));
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->line = p->line;
    return v;
}

static dscat_toml_entry *table_find(const dscat_toml_value *t, const char *key, size_t len)
{
    for (size_t i = 0; i < t->u.table.count; i++) {
        dscat_toml_entry *e = &t->u.table.entries[i];
        if (e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

static int table_add(parser *p, dscat_toml_value *t, key_part k, dscat_toml_value *v)
{
    if (t->u.table.count == t->u.table.cap) {
        size_t cap = t->u.table.cap ? t->u.table.cap * 2 : 8;
        dscat_toml_entry *e = dscat_arena_alloc(p->arena, cap * sizeof(*e));
        if (e == NULL)
            return nomem(p);
        if (t->u.table.count)
            memcpy(e, t->u.table.entries, t->u.table.count * sizeof(*e));
        t->u.table.entries = e;
        t->u.table.cap = cap;
    }
    char *key = dscat_arena_strndup(p->arena, k.ptr, k.len);
    if (key == NULL)
        return nomem(p);
    dscat_toml_entry *e = &t->u.table.entries[t->u.table.count++];
    e->key = key;
    e->key_len = k.len;
    e->line = p->line;
    e->value = v;
    return 0;
}

static int array_add(parser *p, dscat_toml_value *a, dscat_toml_value *v)
{
    if (a->u.array.count == a->u.array.cap) {
        size_t cap = a->u.array.cap ? a->u.array.cap * 2 : 8;
        dscat_toml_value **items = dscat_arena_alloc(p->arena, cap * sizeof(*items));
        if (items == NULL)
            return nomem(p);
        if (a->u.array.count)
            memcpy(items, a->u.array.items, a->u.array.count * sizeof(*items));
        a->u.array.items = items;
        a->u.array.cap = cap;
    }
    a->u.array.items[a->u.array.count++] = v;
    return 0;
}

static size_t encode_utf8(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one escape sequence after its backslash into out. */
static int parse_escape(parser *p, dscat_buf *out)
{
    int c = peek(p);
    char ch;
    switch (c) {
    case 'b':
        ch = '\b';
        break;
    case 't':
        ch = '\t';
        break;
    case 'n':
        ch = '\n';
        break;
    case 'f':
        ch = '\f';
        break;
    case 'r':
        ch = '\r';
        break;
    case '"':
        ch = '"';
        break;
    case '\\':
        ch = '\\';
        break;
    case 'u':
    case 'U': {
        int digits = c == 'u' ? 4 : 8;
        unsigned cp = 0;
        p->pos++;
        for (int i = 0; i < digits; i++) {
            int h = hexval(peek(p));
            if (h < 0)
                return fail(p, "invalid unicode escape");
            cp = (cp << 4) | (unsigned)h;
            p->pos++;
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return fail(p, "unicode escape is not a scalar value");
        char buf[4];
        size_t n = encode_utf8(cp, buf);
        return dscat_buf_put(out, buf, n) ? nomem(p) : 0;
    }
    default:
        return fail(p, "invalid escape sequence");
    }
    p->pos++;
    return dscat_buf_putc(out, ch) ? nomem(p) : 0;
}

/*
 * Parses a string of any of the four kinds, starting at its opening quote, into out (which the
 * caller frees). `allow_multi` is false for keys, which must be single-line strings.
 */
static int parse_string_into(parser *p, dscat_buf *out, bool allow_multi)
{
    char q = p->s[p->pos];
    bool literal = q == '\'';
    bool multi = allow_multi && (literal ? starts(p, "'''") : starts(p, "\"\"\""));
    int rc;
    if (!multi) {
        p->pos++;
        for (;;) {
            int c = peek(p);
            if (c < 0 || c == '\n' || c == '\r')
                return fail(p, "unterminated string");
            if (c == q) {
                p->pos++;
                return 0;
            }
            if (is_bad_control(c))
                return fail(p, "control character in string");
            if (c == '\\' && !literal) {
                p->pos++;
                if ((rc = parse_escape(p, out)))
                    return rc;
                continue;
            }
            if (dscat_buf_putc(out, (char)c))
                return nomem(p);
            p->pos++;
        }
    }
    p->pos += 3;
    eat_newline(p); /* a newline right after the opening delimiter is trimmed */
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail(p, "unterminated multi-line string");
        if (c == q && peek_at(p, 1) == q && peek_at(p, 2) == q) {
            size_t run = 3;
            while (peek_at(p, run) == q)
                run++;
            if (run > 5)
                return fail(p, "too many quotes at the end of a multi-line string");
            for (size_t i = 3; i < run; i++)
                if (dscat_buf_putc(out, q))
                    return nomem(p);
            p->pos += run;
            return 0;
        }
        if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n')) {
            eat_newline(p);
            if (dscat_buf_putc(out, '\n'))
                return nomem(p);
            continue;
        }
        if (is_bad_control(c))
            return fail(p, "control character in string");
        if (c == '\\' && !literal) {
            p->pos++;
            /* A line-ending backslash swallows white space and newlines up to the next text. */
            size_t save = p->pos;
            skip_ws(p);
            if (peek(p) == '\n' || (peek(p) == '\r' && peek_at(p, 1) == '\n')) {
                for (;;) {
                    skip_ws(p);
                    if (!eat_newline(p))
                        break;
                }
                continue;
            }
            p->pos = save;
            if ((rc = parse_escape(p, out)))
                return rc;
            continue;
        }
        if (dscat_buf_putc(out, (char)c))
            return nomem(p);
        p->pos++;
    }
}

static bool is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Parses a possibly dotted key into parts (copied into the arena). */
static int parse_key(parser *p, key_part *parts, size_t *nparts)
{
    *nparts = 0;
    for (;;) {
        skip_ws(p);
        if (*nparts == MAX_KEY_PARTS)
            return fail(p, "key has too many parts");
        key_part *k = &parts[(*nparts)++];
        int c = peek(p);
        if (c == '"' || c == '\'') {
            dscat_buf b = DSCAT_BUF_INIT;
            int rc = parse_string_into(p, &b, false);
            if (rc == 0) {
                k->len = b.len;
                k->ptr = dscat_arena_strndup(p->arena, dscat_buf_cstr(&b), b.len);
                if (k->ptr == NULL)
                    rc = nomem(p);
            }
            dscat_buf_free(&b);
            if (rc)
                return rc;
        } else if (is_bare_key_char(c)) {
            size_t start = p->pos;
            while (is_bare_key_char(peek(p)))
                p->pos++;
            k->ptr = p->s + start;
            k->len = p->pos - start;
        } else {
            return fail(p, "expected a key");
        }
        skip_ws(p);
        if (peek(p) != '.')
            return 0;
        p->pos++;
    }
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Reads n decimal digits at s into *out; returns false unless all n are digits. */
static bool read_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* Parses "HH:MM:SS[.frac]" at s (n bytes available); returns bytes used or -1. */
static int parse_time_part(const char *s, size_t n, dscat_toml_datetime *dt)
{
    if (n < 8 || s[2] != ':' || s[5] != ':')
        return -1;
    if (!read_digits(s, 2, &dt->hour) || !read_digits(s + 3, 2, &dt->minute) ||
        !read_digits(s + 6, 2, &dt->second))
        return -1;
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
        return -1;
    size_t i = 8;
    dt->nanos = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        int scale = 100000000;
        while (i < n && is_digit((unsigned char)s[i])) {
            dt->nanos += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return -1;
    }
    return (int)i;
}

int dscat_toml_parse_datetime(const char *s, size_t len, dscat_toml_type *type,
                              dscat_toml_datetime *dt)
{
    memset(dt, 0, sizeof(*dt));
    if (len >= 3 && s[2] == ':') {
        int used = parse_time_part(s, len, dt);
        if (used < 0 || (size_t)used != len)
            return DSCAT_EINVALID;
        *type = DSCAT_TOML_TIME_LOCAL;
        return 0;
    }
    if (len < 10 || s[4] != '-' || s[7] != '-')
        return DSCAT_EINVALID;
    if (!read_digits(s, 4, &dt->year) || !read_digits(s + 5, 2, &dt->month) ||
        !read_digits(s + 8, 2, &dt->day))
        return DSCAT_EINVALID;
    if (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
        dt->day > days_in_month(dt->year, dt->month))
        return DSCAT_EINVALID;
    if (len == 10) {
        *type = DSCAT_TOML_DATE_LOCAL;
        return 0;
    }
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return DSCAT_EINVALID;
    int used = parse_time_part(s + 11, len - 11, dt);
    if (used < 0)
        return DSCAT_EINVALID;
    size_t i = 11 + (size_t)used;
    if (i == len) {
        *type = DSCAT_TOML_DATETIME_LOCAL;
        return 0;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        *type = DSCAT_TOML_DATETIME;
        return 0;
    }
    if ((s[i] == '+' || s[i] == '-') && len - i == 6 && s[i + 3] == ':') {
        int oh, om;
        if (!read_digits(s + i + 1, 2, &oh) || !read_digits(s + i + 4, 2, &om) || oh > 23 ||
            om > 59)
            return DSCAT_EINVALID;
        dt->offset_minutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        *type = DSCAT_TOML_DATETIME;
        return 0;
    }
    return DSCAT_EINVALID;
}

/*
 * Copies the digits of s (n bytes) into out without underscores, checking that every underscore
 * stands between two digits of the given base. Returns false on a misplaced underscore or a
 * character that is not a digit.
 */
static bool strip_underscores(const char *s, size_t n, int base, char *out, size_t *outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '_') {
            if (i == 0 || i + 1 == n || s[i - 1] == '_' || hexval((unsigned char)s[i + 1]) < 0 ||
                hexval((unsigned char)s[i - 1]) < 0)
                return false;
            continue;
        }
        int h = hexval(c);
        if (h < 0 || h >= base)
            return false;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    *outlen = k;
    return k > 0;
}

/* Parses an integer token. */
static int parse_integer(parser *p, const char *s, size_t n, dscat_toml_value *v)
{
    char digits[128];
    size_t dn;
    int base = 10;
    bool neg = false;
    if (n >= sizeof(digits))
        return fail(p, "number is too long");
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        s += 2;
        n -= 2;
    } else if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        s++;
        n--;
    }
    if (!strip_underscores(s, n, base, digits, &dn))
        return fail(p, "invalid integer");
    if (base == 10 && dn > 1 && digits[0] == '0')
        return fail(p, "leading zeros are not allowed");
    uint64_t acc = 0;
    for (size_t i = 0; i < dn; i++) {
        uint64_t d = (uint64_t)hexval((unsigned char)digits[i]);
        if (acc > (UINT64_MAX - d) / (uint64_t)base)
            return fail(p, "integer out of range");
        acc = acc * (uint64_t)base + d;
    }
    if ((!neg && acc > (uint64_t)INT64_MAX) || (neg && acc > (uint64_t)INT64_MAX + 1))
        return fail(p, "integer out of range");
    v->type = DSCAT_TOML_INTEGER;
    v->u.integer =
        neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 0;
}

/* Checks a run of decimal digits with underscores and copies it; false when malformed. */
static bool copy_decimal(const char *s, size_t n, dscat_buf *out)
{
    char tmp[128];
    size_t k;
    if (n == 0 || n >= sizeof(tmp) || !strip_underscores(s, n, 10, tmp, &k))
        return false;
    return dscat_buf_put(out, tmp, k) == 0;
}

/* Parses a float token: [sign] int [. frac] [e [sign] exp], with at least a frac or an exp. */
static int parse_float(parser *p, const char *s, size_t n, dscat_toml_value *v)
{
    dscat_buf b = DSCAT_BUF_INIT;
    size_t i = 0;
    int rc = 0;
    if (s[i] == '+' || s[i] == '-') {
        dscat_buf_putc(&b, s[i]);
        i++;
    }
    size_t start = i;
    while (i < n && s[i] != '.' && s[i] != 'e' && s[i] != 'E')
        i++;
    if (!copy_decimal(s + start, i - start, &b) || (i - start > 1 && s[start] == '0')) {
        rc = fail(p, "invalid float");
        goto done;
    }
    if (i < n && s[i] == '.') {
        dscat_buf_putc(&b, '.');
        start = ++i;
        while (i < n && s[i] != 'e' && s[i] != 'E')
            i++;
        if (!copy_decimal(s + start, i - start, &b)) {
            rc = fail(p, "invalid float");
            goto done;
        }
    }
    if (i < n) {
        dscat_buf_putc(&b, 'e');
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            dscat_buf_putc(&b, s[i++]);
        if (!copy_decimal(s + i, n - i, &b)) {
            rc = fail(p, "invalid float");
            goto done;
        }
    }
    errno = 0;
    char *end = NULL;
    v->u.real = strtod(dscat_buf_cstr(&b), &end);
    if (end == NULL || *end != '\0') {
        rc = fail(p, "invalid float");
        goto done;
    }
    v->type = DSCAT_TOML_FLOAT;
done:
    dscat_buf_free(&b);
    return rc;
}

static bool is_token_char(int c)
{
    return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

/* Parses numbers, inf/nan, booleans and date-times: everything that is not quoted or bracketed. */
static int parse_scalar_token(parser *p, dscat_toml_value *v)
{
    size_t start = p->pos;
    while (is_token_char(peek(p)))
        p->pos++;
    /* "1979-05-27 07:32:00": a date, one space, then a time, is one value. */
    if (p->pos - start == 10 && p->s[start + 4] == '-' && peek(p) == ' ' &&
        is_digit(peek_at(p, 1)) && is_digit(peek_at(p, 2)) && peek_at(p, 3) == ':') {
        p->pos++;
        while (is_token_char(peek(p)))
            p->pos++;
    }
    const char *s = p->s + start;
    size_t n = p->pos - start;
    if (n == 0)
        return fail(p, "expected a value");
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
        v->type = DSCAT_TOML_BOOL;
        v->u.boolean = n == 4;
        return 0;
    }
    const char *body = (s[0] == '+' || s[0] == '-') ? s + 1 : s;
    size_t blen = n - (size_t)(body - s);
    if (blen == 3 && (memcmp(body, "inf", 3) == 0 || memcmp(body, "nan", 3) == 0)) {
        v->type = DSCAT_TOML_FLOAT;
        if (body[0] == 'i')
            v->u.real = s[0] == '-' ? -INFINITY : INFINITY;
        else
            v->u.real = s[0] == '-' ? -NAN : NAN;
        return 0;
    }
    if ((n >= 10 && s[4] == '-') || (n >= 3 && s[2] == ':')) {
        if (dscat_toml_parse_datetime(s, n, &v->type, &v->u.dt))
            return fail(p, "invalid date or time");
        return 0;
    }
    bool is_prefixed = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b');
    if (!is_prefixed && (memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n)))
        return parse_float(p, s, n, v);
    return parse_integer(p, s, n, v);
}

static int parse_value(parser *p, dscat_toml_value **out);

static int parse_array(parser *p, dscat_toml_value *arr)
{
    int rc;
    p->pos++; /* [ */
    for (;;) {
        if ((rc = skip_ws_nl(p)))
            return rc;
        if (peek(p) == ']') {
            p->pos++;
            return 0;
        }
        dscat_toml_value *item;
        if ((rc = parse_value(p, &item)) || (rc = array_add(p, arr, item)))
            return rc;
        if ((rc = skip_ws_nl(p)))
            return rc;
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == ']') {
            p->pos++;
            return 0;
        }
        return fail(p, "expected ',' or ']' in array");
    }
}

static int insert_keyval(parser *p, dscat_toml_value *table, key_part *parts, size_t nparts,
                         dscat_toml_value *v);

/* Marks an inline table and every table inside it as complete. */
static void seal(dscat_toml_value *v)
{
    if (v->type == DSCAT_TOML_TABLE) {
        v->flags |= F_SEALED;
        for (size_t i = 0; i < v->u.table.count; i++)
            seal(v->u.table.entries[i].value);
    } else if (v->type == DSCAT_TOML_ARRAY) {
        for (size_t i = 0; i < v->u.array.count; i++)
            seal(v->u.array.items[i]);
    }
}

static int parse_inline_table(parser *p, dscat_toml_value *t)
{
    int rc;
    p->pos++; /* { */
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        seal(t);
        return 0;
    }
    for (;;) {
        key_part parts[MAX_KEY_PARTS];
        size_t nparts;
        if ((rc = parse_key(p, parts, &nparts)))
            return rc;
        if (peek(p) != '=')
            return fail(p, "expected '=' after a key");
        p->pos++;
        skip_ws(p);
        dscat_toml_value *v;
        if ((rc = parse_value(p, &v)) || (rc = insert_keyval(p, t, parts, nparts, v)))
            return rc;
        skip_ws(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == '}') {
            p->pos++;
            seal(t);
            return 0;
        }
        return fail(p, "expected ',' or '}' in inline table");
    }
}

static int parse_value(parser *p, dscat_toml_value **out)
{
    int rc;
    dscat_toml_value *v = new_value(p, DSCAT_TOML_STRING);
    if (v == NULL)
        return nomem(p);
    int c = peek(p);
    if (c == '"' || c == '\'') {
        dscat_buf b = DSCAT_BUF_INIT;
        rc = parse_string_into(p, &b, true);
        if (rc == 0) {
            v->u.str.len = b.len;
            v->u.str.ptr = dscat_arena_strndup(p->arena, dscat_buf_cstr(&b), b.len);
            if (v->u.str.ptr == NULL)
                rc = nomem(p);
        }
        dscat_buf_free(&b);
    } else if (c == '[' || c == '{') {
        if (++p->depth > MAX_DEPTH)
            return fail(p, "values nested too deeply");
        v->type = c == '[' ? DSCAT_TOML_ARRAY : DSCAT_TOML_TABLE;
        rc = c == '[' ? parse_array(p, v) : parse_inline_table(p, v);
        p->depth--;
    } else {
        rc = parse_scalar_token(p, v);
    }
    *out = v;
    return rc;
}

/* Inserts a key/value pair, creating the tables its dotted key walks through. */
static int insert_keyval(parser *p, dscat_toml_value *table, key_part *parts, size_t nparts,
                         dscat_toml_value *v)
{
    dscat_toml_value *t = table;
    for (size_t i = 0; i + 1 < nparts; i++) {
        dscat_toml_entry *e = table_find(t, parts[i].ptr, parts[i].len);
        if (e == NULL) {
            dscat_toml_value *sub = new_value(p, DSCAT_TOML_TABLE);
            if (sub == NULL)
                return nomem(p);
            sub->flags = F_DOTTED;
            int rc = table_add(p, t, parts[i], sub);
            if (rc)
                return rc;
            t = sub;
            continue;
        }
        dscat_toml_value *sub = e->value;
        if (sub->type != DSCAT_TOML_TABLE || !(sub->flags & F_DOTTED) || (sub->flags & F_SEALED))
            return fail(p, "cannot add keys to a table defined elsewhere");
        t = sub;
    }
    if (t->flags & F_SEALED && t != table)
        return fail(p, "cannot add keys to an inline table");
    if (table_find(t, parts[nparts - 1].ptr, parts[nparts - 1].len))
        return fail(p, "duplicate key");
    return table_add(p, t, parts[nparts - 1], v);
}

/* Parses "[a.b]" or "[[a.b]]" and makes the named table current. */
static int parse_header(parser *p)
{
    bool aot = starts(p, "[[");
    p->pos += aot ? 2 : 1;
    key_part parts[MAX_KEY_PARTS];
    size_t nparts;
    int rc = parse_key(p, parts, &nparts);
    if (rc)
        return rc;
    if (aot ? !starts(p, "]]") : peek(p) != ']')
        return fail(p, aot ? "expected ']]'" : "expected ']'");
    p->pos += aot ? 2 : 1;

    dscat_toml_value *t = p->root;
    for (size_t i = 0; i + 1 < nparts; i++) {
        dscat_toml_entry *e = table_find(t, parts[i].ptr, parts[i].len);
        dscat_toml_value *sub;
        if (e == NULL) {
            if ((sub = new_value(p, DSCAT_TOML_TABLE)) == NULL)
                return nomem(p);
            if ((rc = table_add(p, t, parts[i], sub)))
                return rc;
        } else if (e->value->type == DSCAT_TOML_TABLE && !(e->value->flags & F_SEALED)) {
            sub = e->value;
        } else if (e->value->type == DSCAT_TOML_ARRAY && (e->value->flags & F_AOT)) {
            sub = e->value->u.array.items[e->value->u.array.count - 1];
        } else {
            return fail(p, "key is already defined as something other than a table");
        }
        t = sub;
    }
    key_part last = parts[nparts - 1];
    dscat_toml_entry *e = table_find(t, last.ptr, last.len);
    dscat_toml_value *target;
    if (aot) {
        dscat_toml_value *arr;
        if (e == NULL) {
            if ((arr = new_value(p, DSCAT_TOML_ARRAY)) == NULL)
                return nomem(p);
            arr->flags = F_AOT;
            if ((rc = table_add(p, t, last, arr)))
                return rc;
        } else if (e->value->type == DSCAT_TOML_ARRAY && (e->value->flags & F_AOT)) {
            arr = e->value;
        } else {
            return fail(p, "cannot append to a value that is not an array of tables");
        }
        if ((target = new_value(p, DSCAT_TOML_TABLE)) == NULL)
            return nomem(p);
        target->flags = F_EXPLICIT;
        if ((rc = array_add(p, arr, target)))
            return rc;
    } else if (e == NULL) {
        if ((target = new_value(p, DSCAT_TOML_TABLE)) == NULL)
            return nomem(p);
        target->flags = F_EXPLICIT;
        if ((rc = table_add(p, t, last, target)))
            return rc;
    } else {
        target = e->value;
        if (target->type != DSCAT_TOML_TABLE ||
            (target->flags & (F_EXPLICIT | F_DOTTED | F_SEALED)))
            return fail(p, "table is defined twice");
        target->flags |= F_EXPLICIT;
        target->line = p->line;
    }
    p->current = target;
    return expect_line_end(p);
}

static int parse_document(parser *p)
{
    int rc;
    if (starts(p, "\xef\xbb\xbf"))
        p->pos += 3;
    while (p->pos < p->len) {
        skip_ws(p);
        if ((rc = skip_comment(p)))
            return rc;
        if (p->pos >= p->len)
            break;
        if (eat_newline(p))
            continue;
        if (peek(p) == '[') {
            if ((rc = parse_header(p)))
                return rc;
            continue;
        }
        key_part parts[MAX_KEY_PARTS];
        size_t nparts;
        if ((rc = parse_key(p, parts, &nparts)))
            return rc;
        if (peek(p) != '=')
            return fail(p, "expected '=' after a key");
        p->pos++;
        skip_ws(p);
        int line = p->line;
        dscat_toml_value *v;
        if ((rc = parse_value(p, &v)))
            return rc;
        int end_line = p->line;
        p->line = line; /* the key's line, for its entry */
        rc = insert_keyval(p, p->current, parts, nparts, v);
        p->line = end_line;
        if (rc || (rc = expect_line_end(p)))
            return rc;
    }
    return 0;
}

int dscat_toml_parse(dscat_toml_doc **out, const char *text, size_t len, dscat_error *err)
{
    *out = NULL;
    dscat_toml_doc *doc = dscat_calloc(1, sizeof(*doc));
    if (doc == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    parser p = {.s = text, .len = len, .line = 1, .arena = &doc->arena, .err = err};
    int rc = check_utf8(&p);
    if (rc == 0) {
        p.line = 1;
        doc->root = new_value(&p, DSCAT_TOML_TABLE);
        rc = doc->root ? 0 : nomem(&p);
    }
    if (rc == 0) {
        doc->root->flags = F_EXPLICIT;
        p.root = p.current = doc->root;
        rc = parse_document(&p);
    }
    if (rc) {
        dscat_toml_free(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

void dscat_toml_free(dscat_toml_doc *doc)
{
    if (doc == NULL)
        return;
    dscat_arena_free(&doc->arena);
    dscat_free(doc);
}

const dscat_toml_entry *dscat_toml_entry_get(const dscat_toml_value *table, const char *key)
{
    if (table == NULL || table->type != DSCAT_TOML_TABLE)
        return NULL;
    return table_find(table, key, strlen(key));
}

const dscat_toml_value *dscat_toml_get(const dscat_toml_value *table, const char *key)
{
    const dscat_toml_entry *e = dscat_toml_entry_get(table, key);
    return e ? e->value : NULL;
}

const char *dscat_toml_type_name(dscat_toml_type type)
{
    switch (type) {
    case DSCAT_TOML_TABLE:
        return "table";
    case DSCAT_TOML_ARRAY:
        return "array";
    case DSCAT_TOML_STRING:
        return "string";
    case DSCAT_TOML_INTEGER:
        return "integer";
    case DSCAT_TOML_FLOAT:
        return "float";
    case DSCAT_TOML_BOOL:
        return "boolean";
    case DSCAT_TOML_DATETIME:
        return "datetime";
    case DSCAT_TOML_DATETIME_LOCAL:
        return "datetime-local";
    case DSCAT_TOML_DATE_LOCAL:
        return "date-local";
    case DSCAT_TOML_TIME_LOCAL:
        return "time-local";
    }
    return "value";
}
