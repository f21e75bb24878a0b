#include "core/glob.h"

#include "core/alloc.h"

#include <fnmatch.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/*
 * Matching is glibc's fnmatch(3) in the "C" locale, where every byte is one character, run on a
 * copy of glob and name in which each non-ASCII character is one byte (0x80..0xfe). The glob's
 * distinct non-ASCII characters, in code point order, get the odd bytes 0x81, 0x83, ...; a
 * character of the name that is not in the glob gets the even byte of the gap it falls in
 * (0x80 below the glob's first, 0x82 between its first and second, ...). Every question fnmatch
 * asks of a character (is it this one, is it within this range, is it in a class: never, above
 * 0x7f in "C") then has the answer it has for the character itself, so the result is fnmatch's
 * with UTF-8 characters as characters.
 */
#define MAX_GLOB_CHARS 63
#define STACK_BYTES 1024

static pthread_once_t locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

/* The "C" locale, made once (newlocale is thread-safe and needs no teardown before exit). */
static void make_c_locale(void)
{
    c_locale = newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, "C", (locale_t)0);
}

/* fnmatch(glob, name, 0) in the "C" locale, set for this thread alone during the call. */
static bool fnmatch_c(const char *glob, const char *name)
{
    pthread_once(&locale_once, make_c_locale);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    int rc = fnmatch(glob, name, 0);
    if (old)
        uselocale(old);
    return rc == 0;
}

/*
 * Reads the non-ASCII character at s: returns its length in bytes and sets *key to its code
 * point, or, when s does not start valid UTF-8 (a stray continuation byte, an overlong form, a
 * surrogate, past U+10FFFF, cut short), returns 1 with a key above every code point.
 */
static size_t decode(const unsigned char *s, uint32_t *key)
{
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            len = 0;
            break;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (len == 0 || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *key = 0x110000u + s[0];
        return 1;
    }
    *key = cp;
    return len;
}

/* Adds the glob's non-ASCII characters to keys (sorted, distinct); false past MAX_GLOB_CHARS. */
static bool collect(const char *glob, uint32_t *keys, int *n)
{
    for (const unsigned char *p = (const unsigned char *)glob; *p;) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        uint32_t k;
        p += decode(p, &k);
        int i = 0;
        while (i < *n && keys[i] < k)
            i++;
        if (i < *n && keys[i] == k)
            continue;
        if (*n == MAX_GLOB_CHARS)
            return false;
        memmove(keys + i + 1, keys + i, (size_t)(*n - i) * sizeof(*keys));
        keys[i] = k;
        (*n)++;
    }
    return true;
}

/* Writes s into out (at least strlen(s) + 1 bytes) with each non-ASCII character as one byte. */
static void map(char *out, const char *s, const uint32_t *keys, int n)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p < 0x80) {
            *out++ = (char)*p++;
            continue;
        }
        uint32_t k;
        p += decode(p, &k);
        int i = 0;
        while (i < n && keys[i] < k)
            i++;
        *out++ = (char)(0x80 + 2 * i + (i < n && keys[i] == k));
    }
    *out = '\0';
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

bool dscat_glob_match(const char *glob, const char *name)
{
    uint32_t keys[MAX_GLOB_CHARS];
    int n = 0;
    if ((ascii(glob) && ascii(name)) || !collect(glob, keys, &n))
        return fnmatch_c(glob, name);
    size_t gl = strlen(glob) + 1, nl = strlen(name) + 1;
    char stack[STACK_BYTES], *buf = stack;
    if (gl + nl > sizeof(stack) && (buf = dscat_malloc(gl + nl)) == NULL)
        return fnmatch_c(glob, name);
    map(buf, glob, keys, n);
    map(buf + gl, name, keys, n);
    bool m = fnmatch_c(buf, buf + gl);
    if (buf != stack)
        dscat_free(buf);
    return m;
}

int dscat_glob_prefix(dscat_buf *out, bool *whole, const char *glob)
{
    const char *p = glob;
    *whole = false;
    for (; *p; p++) {
        char c = *p;
        if (c == '*' || c == '?' || c == '[' || (unsigned char)c >= 0x80)
            return 0;
        if (c == '\\') {
            /* An escape takes the next character literally; a trailing backslash never matches,
             * and an escaped non-ASCII byte ends the ASCII prefix. */
            if (p[1] == '\0' || (unsigned char)p[1] >= 0x80)
                return 0;
            c = *++p;
        }
        int rc = dscat_buf_putc(out, c);
        if (rc)
            return rc;
    }
    *whole = true;
    return 0;
}
