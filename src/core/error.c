#include "dscat/common.h"

#include "core/text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void dscat_error_clear(dscat_error *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->sqlstate[0] = '\0';
    err->message[0] = '\0';
}

/*
 * Writes each byte of s that is not part of well-formed UTF-8 (dscat_utf8_char) as "\xNN", as
 * human-readable output shows it, keeping what fits in DSCAT_ERROR_MESSAGE_SIZE whole: a driver's
 * message in another encoding, or one cut mid-character by the fixed size, would otherwise be
 * text that no JSON answer can hold (jansson refuses it, and the message would be lost).
 */
static void valid_utf8(char *s)
{
    char out[DSCAT_ERROR_MESSAGE_SIZE];
    const char *p = s, *end = s + strlen(s);
    size_t k = 0;
    bool changed = false;
    while (p < end) {
        size_t n = dscat_utf8_char(p, end);
        if (n == 0) {
            changed = true; /* shown, or cut when it does not fit */
            if (k + 4 >= sizeof(out))
                break;
            snprintf(out + k, 5, "\\x%02x", (unsigned char)*p);
            k += 4;
            p++;
            continue;
        }
        if (k + n >= sizeof(out)) {
            changed = true;
            break;
        }
        memcpy(out + k, p, n);
        k += n;
        p += n;
    }
    if (!changed)
        return;
    out[k] = '\0';
    memcpy(s, out, k + 1);
}

/* Turns line breaks and other control characters into spaces and trims trailing blanks, so a
 * driver's multi-line message still prints as one line; and makes it UTF-8 (valid_utf8()). */
static void one_line(char *s)
{
    valid_utf8(s);
    size_t n = 0;
    for (char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20)
            *p = ' ';
        n++;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '.')) {
        s[--n] = '\0';
    }
}

int dscat_error_set(dscat_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    one_line(err->message);
    err->code = code;
    return code;
}

int dscat_error_prefix(dscat_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return DSCAT_EINVALID;
    char joined[2 * DSCAT_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, DSCAT_ERROR_MESSAGE_SIZE, fmt, ap);
    va_end(ap);
    size_t at = n < 0                                  ? 0
                : (size_t)n < DSCAT_ERROR_MESSAGE_SIZE ? (size_t)n
                                                       : DSCAT_ERROR_MESSAGE_SIZE - 1;
    memcpy(joined + at, ": ", 2);
    memcpy(joined + at + 2, err->message, strlen(err->message) + 1);
    memcpy(err->message, joined, DSCAT_ERROR_MESSAGE_SIZE - 1);
    err->message[DSCAT_ERROR_MESSAGE_SIZE - 1] = '\0';
    one_line(err->message);
    return err->code;
}

const char *dscat_version(void)
{
    return DSCAT_VERSION;
}
