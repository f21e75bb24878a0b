/*
 * Exact or refused: every value a source sends for a cached column is checked against the
 * column's Parquet type before DuckDB sees it (docs/cache.md, "Exact or lossless"). A value the
 * type holds exactly is passed on (dates and timestamps as day and microsecond counts, which
 * DuckDB turns into values without parsing text); a value it cannot hold is a misfit, and the
 * column is then written in a lossless fallback: the source's text, or its bytes when the text
 * is not UTF-8.
 */
#include "cache/types.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* DuckDB's TIMESTAMP range, in microseconds since 1970 (290309-12-22 BC to 294247-01-10). */
#define TS_MIN (-9223372022400000000LL)
#define TS_MAX (9223372036854775806LL)

value_kind dscat_cache_kind(const char *duck_type)
{
    static const struct {
        const char *name;
        value_kind kind;
    } kinds[] = {
        {"TINYINT", KIND_INT8},        {"SMALLINT", KIND_INT16},
        {"INTEGER", KIND_INT32},       {"BIGINT", KIND_INT64},
        {"UTINYINT", KIND_UINT8},      {"USMALLINT", KIND_UINT16},
        {"UINTEGER", KIND_UINT32},     {"UBIGINT", KIND_UINT64},
        {"FLOAT", KIND_FLOAT},         {"DOUBLE", KIND_DOUBLE},
        {"BOOLEAN", KIND_BOOLEAN},     {"DATE", KIND_DATE},
        {"TIMESTAMP", KIND_TIMESTAMP}, {"TIMESTAMPTZ", KIND_TIMESTAMPTZ},
        {"TIME", KIND_TIME},           {"UUID", KIND_UUID},
        {"JSON", KIND_JSON},           {"VARCHAR", KIND_TEXT},
        {"BLOB", KIND_BLOB},
    };
    if (strncmp(duck_type, "DECIMAL(", 8) == 0)
        return KIND_DECIMAL;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].name, duck_type) == 0)
            return kinds[i].kind;
    return KIND_TEXT;
}

void dscat_cache_column_kind(cache_column *c)
{
    c->kind = dscat_cache_kind(c->duck_type);
    c->precision = c->scale = 0;
    if (c->kind == KIND_DECIMAL &&
        sscanf(c->duck_type, "DECIMAL(%d,%d)", &c->precision, &c->scale) != 2)
        c->kind = KIND_TEXT;
}

bool dscat_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        uint64_t eight;
        /* ASCII eight bytes at a time: most text is */
        if (end - p >= 8 && (memcpy(&eight, p, 8), (eight & UINT64_C(0x8080808080808080)) == 0)) {
            p += 8;
            continue;
        }
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len;
        unsigned min;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            min = 0x10000;
        } else {
            return false;
        }
        if ((size_t)(end - p) < len)
            return false;
        unsigned v = c & (0xff >> (len + 1));
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            v = (v << 6) | (p[i] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

/* Reads exactly n digits (n == 0: one or more) into *out; advances *p. */
static bool digits(const char **p, size_t n, long long *out)
{
    long long v = 0;
    size_t k = 0;
    while (isdigit((unsigned char)(*p)[k]) && (n == 0 || k < n)) {
        if (v > 100000000000LL)
            return false;
        v = v * 10 + ((*p)[k] - '0');
        k++;
    }
    if (k == 0 || (n && k != n))
        return false;
    *p += k;
    *out = v;
    return true;
}

static bool leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 1 BC is 0). */
static long long days_from_civil(long long y, long long m, long long d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD": a year of four or more digits (as written), a month and a day of 1..31. */
static bool parse_date(const char **p, long long *year, long long *month, long long *day)
{
    const char *s = *p;
    for (int k = 0; k < 4; k++)
        if (!isdigit((unsigned char)s[k]))
            return false;
    if (!digits(&s, 0, year) || *s++ != '-' || !digits(&s, 2, month) || *s++ != '-' ||
        !digits(&s, 2, day))
        return false;
    if (*month < 1 || *month > 12 || *day < 1)
        return false;
    *p = s;
    return true;
}

static bool day_ok(long long astro_year, long long month, long long day)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = mdays[month - 1] + (month == 2 && leap(astro_year));
    return day <= max;
}

/* " BC" (PostgreSQL's era suffix) at *p: consumed, true. */
static bool bc_suffix(const char **p)
{
    if (strncmp(*p, " BC", 3) == 0) {
        *p += 3;
        return true;
    }
    return false;
}

/*
 * "HH:MM:SS[.f...]" with HH up to max_hour (24:00:00 itself allowed when max_hour is 24):
 * *micros of the day. Digits below a microsecond must be zeros.
 */
static bool parse_time(const char **p, long long max_hour, long long *micros)
{
    const char *s = *p;
    long long h, m, sec, frac = 0;
    if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &m) || *s++ != ':' ||
        !digits(&s, 2, &sec))
        return false;
    if (*s == '.') {
        s++;
        int k = 0;
        if (!isdigit((unsigned char)*s))
            return false;
        for (; isdigit((unsigned char)*s); k++, s++) {
            if (k < 6)
                frac = frac * 10 + (*s - '0');
            else if (*s != '0')
                return false; /* below a microsecond: not exact */
        }
        for (; k < 6; k++)
            frac *= 10;
    }
    if (m > 59 || sec > 59 || h > max_hour)
        return false;
    long long t = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
    if (t > 24LL * 3600 * 1000000)
        return false;
    *micros = t;
    *p = s;
    return true;
}

/* "+HH", "+HH:MM", "+HH:MM:SS", "+HHMM" (or "-"): the offset in seconds. */
static bool parse_offset(const char **p, long long *seconds)
{
    const char *s = *p;
    int sign = *s == '-' ? -1 : 1;
    if (*s != '+' && *s != '-')
        return false;
    s++;
    long long h, m = 0, sec = 0;
    if (!digits(&s, 2, &h))
        return false;
    if (*s == ':') {
        s++;
        if (!digits(&s, 2, &m))
            return false;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &sec))
                return false;
        }
    } else if (isdigit((unsigned char)*s) && !digits(&s, 2, &m)) {
        return false;
    }
    if (h > 23 || m > 59 || sec > 59)
        return false;
    *seconds = sign * ((h * 60 + m) * 60 + sec);
    *p = s;
    return true;
}

static bool integer_fits(const char *s, value_kind k)
{
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    if (k >= KIND_UINT8 && k <= KIND_UINT64) {
        if (neg) {
            while (*p == '0')
                p++;
            return *p == '\0'; /* -0 */
        }
        unsigned long long v = strtoull(p, NULL, 10);
        unsigned long long max = k == KIND_UINT8    ? 0xffULL
                                 : k == KIND_UINT16 ? 0xffffULL
                                 : k == KIND_UINT32 ? 0xffffffffULL
                                                    : ~0ULL;
        return errno == 0 && v <= max;
    }
    long long v = strtoll(s, NULL, 10);
    long long lo = k == KIND_INT8    ? -128
                   : k == KIND_INT16 ? -32768
                   : k == KIND_INT32 ? INT32_MIN
                                     : INT64_MIN;
    long long hi = k == KIND_INT8    ? 127
                   : k == KIND_INT16 ? 32767
                   : k == KIND_INT32 ? INT32_MAX
                                     : INT64_MAX;
    return errno == 0 && v >= lo && v <= hi;
}

static bool decimal_fits(const char *s, int precision, int scale)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    int whole = 0, frac = 0;
    bool any = false;
    while (*p == '0' && isdigit((unsigned char)p[1])) /* leading zeros do not count */
        p++, any = true;
    for (; isdigit((unsigned char)*p); p++, any = true)
        whole += !(whole == 0 && *p == '0');
    if (*p == '.') {
        p++;
        const char *f = p;
        for (; isdigit((unsigned char)*p); p++, any = true)
            frac++;
        /* trailing zeros past the scale change nothing */
        while (frac > scale && f[frac - 1] == '0')
            frac--;
    }
    return any && *p == '\0' && frac <= scale && whole <= precision - scale;
}

static bool float_ok(const char *s, bool single)
{
    static const char *const special[] = {"NaN", "Infinity", "-Infinity", "inf", "-inf", "nan"};
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        if (strcasecmp(s, special[i]) == 0)
            return true;
    char *end = NULL;
    if (!(isdigit((unsigned char)*s) || *s == '-' || *s == '+' || *s == '.'))
        return false;
    /* A subnormal is exact for the shortest text of one; an overflow is not, and neither is an
     * underflow to zero of a text that is not zero. */
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || !(d <= DBL_MAX && d >= -DBL_MAX))
        return false;
    if (d == 0 && errno == ERANGE)
        return false;
    if (single) {
        errno = 0;
        float f = strtof(s, NULL);
        if (!(f <= FLT_MAX && f >= -FLT_MAX) || (f == 0 && errno == ERANGE))
            return false;
    }
    return true;
}

static bool uuid_ok(const char *s)
{
    size_t n = 0;
    const char *p = s;
    if (*p == '{')
        p++;
    for (; *p && *p != '}'; p++) {
        if (*p == '-')
            continue;
        if (!isxdigit((unsigned char)*p))
            return false;
        n++;
    }
    return n == 32 && (*p == '\0' || (*s == '{' && p[0] == '}' && p[1] == '\0'));
}

static bool bool_ok(const char *s)
{
    static const char *const words[] = {"t", "f", "true", "false", "1", "0"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    return false;
}

/* A date or timestamp as DuckDB takes it from the writer: days or microseconds, or infinity. */
static value_fit temporal(const cache_column *c, const char *in, dscat_buf *out)
{
    if (strcmp(in, "infinity") == 0 || strcmp(in, "-infinity") == 0)
        return VALUE_PASS;
    const char *p = in;
    long long y, mo, d, t = 0, offset = 0;
    if (!parse_date(&p, &y, &mo, &d))
        return VALUE_MISFIT;
    if (c->kind != KIND_DATE) {
        if (*p != ' ' && *p != 'T')
            return VALUE_MISFIT;
        p++;
        if (!parse_time(&p, 23, &t))
            return VALUE_MISFIT;
        if (c->kind == KIND_TIMESTAMPTZ && (*p == '+' || *p == '-')) {
            if (!parse_offset(&p, &offset))
                return VALUE_MISFIT;
        } else if (c->kind == KIND_TIMESTAMPTZ && *p == 'Z') {
            p++;
        }
    }
    bool bc = bc_suffix(&p);
    if (*p != '\0')
        return VALUE_MISFIT;
    if (y == 0)
        return VALUE_MISFIT; /* "0000-..": MySQL's zero date; there is no year 0 of an era */
    if (y > 100000000)
        return VALUE_MISFIT;
    long long astro = bc ? 1 - y : y;
    if (!day_ok(astro, mo, d))
        return VALUE_MISFIT;
    long long days = days_from_civil(astro, mo, d);
    if (c->kind == KIND_DATE) { /* DuckDB's DATE: 32-bit days, its extremes kept for infinity */
        if (days < -2147483646LL || days > 2147483646LL)
            return VALUE_MISFIT;
        /* DuckDB's own parser reads an AD date exactly; a BC one goes as "@<days>" */
        if (!bc)
            return VALUE_PASS;
        return dscat_buf_printf(out, "@%lld", days) ? VALUE_NOMEM : VALUE_OK;
    }
    /* Microseconds, checked against DuckDB's range without overflowing: whole days first (the
     * time of day and offset move it by less than two days). */
    if (days > TS_MAX / 86400000000LL + 1 || days < TS_MIN / 86400000000LL - 1)
        return VALUE_MISFIT;
    long long us;
    if (__builtin_mul_overflow(days, 86400000000LL, &us) ||
        __builtin_add_overflow(us, t - offset * 1000000, &us) || us < TS_MIN || us > TS_MAX)
        return VALUE_MISFIT;
    /* An AD timestamp is read exactly by DuckDB's own parser (digits below a microsecond are
     * zeros, checked above); DuckDB cannot parse an era, so a BC one goes as "@<microseconds>" */
    if (!bc)
        return VALUE_PASS;
    return dscat_buf_printf(out, "@%lld", us) ? VALUE_NOMEM : VALUE_OK;
}

value_fit dscat_cache_value(const cache_column *c, const char *in, size_t len, dscat_buf *out)
{
    dscat_buf_reset(out);
    if (c->storage == STORE_BINARY && !c->hex) {
        /* The source sent text: all its len bytes (NULs included), hex-encoded for from_hex. */
        static const char hexd[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)in;
        for (size_t k = 0; k < len; k++) {
            char two[2] = {hexd[p[k] >> 4], hexd[p[k] & 15]};
            if (dscat_buf_put(out, two, 2))
                return VALUE_NOMEM;
        }
        return VALUE_OK;
    }
    if (c->hex) {
        for (size_t k = 0; k < len; k++)
            if (!isxdigit((unsigned char)in[k]))
                return VALUE_BAD_HEX;
        return len % 2 ? VALUE_BAD_HEX : VALUE_PASS;
    }
    if (c->storage == STORE_TEXT || c->storage == STORE_LITERAL || c->kind == KIND_TEXT ||
        c->kind == KIND_JSON)
        return dscat_utf8_valid(in, len) ? VALUE_PASS : VALUE_NOT_UTF8;
    /* Every other type's text is checked as a C string: a NUL byte in it is a misfit. */
    if (memchr(in, '\0', len))
        return VALUE_MISFIT;
    switch (c->kind) {
    case KIND_INT8:
    case KIND_INT16:
    case KIND_INT32:
    case KIND_INT64:
    case KIND_UINT8:
    case KIND_UINT16:
    case KIND_UINT32:
    case KIND_UINT64:
        return integer_fits(in, c->kind) ? VALUE_PASS : VALUE_MISFIT;
    case KIND_DECIMAL:
        return decimal_fits(in, c->precision, c->scale) ? VALUE_PASS : VALUE_MISFIT;
    case KIND_FLOAT:
    case KIND_DOUBLE:
        return float_ok(in, c->kind == KIND_FLOAT) ? VALUE_PASS : VALUE_MISFIT;
    case KIND_BOOLEAN:
        return bool_ok(in) ? VALUE_PASS : VALUE_MISFIT;
    case KIND_UUID:
        return uuid_ok(in) ? VALUE_PASS : VALUE_MISFIT;
    case KIND_TIME: {
        const char *p = in;
        long long t;
        if (!parse_time(&p, 24, &t) || *p != '\0')
            return VALUE_MISFIT;
        /* DuckDB reads microseconds: cut the zeros below them */
        const char *dot = strchr(in, '.');
        if (dot && strlen(dot) > 7)
            return dscat_buf_put(out, in, (size_t)(dot - in) + 7) ? VALUE_NOMEM : VALUE_OK;
        return VALUE_PASS;
    }
    case KIND_DATE:
    case KIND_TIMESTAMP:
    case KIND_TIMESTAMPTZ:
        return temporal(c, in, out);
    case KIND_TEXT:
    case KIND_JSON:
    case KIND_BLOB:
        break;
    }
    return VALUE_PASS;
}

const char *dscat_cache_storage_name(cache_storage s)
{
    return s == STORE_BINARY    ? "binary"
           : s == STORE_TEXT    ? "text"
           : s == STORE_LITERAL ? "literal"
                                : "native";
}
