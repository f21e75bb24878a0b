/*
 * Qualified names ("target:database.schema.table", parts quoted SQL-style where needed; the
 * contract is in include/dscat/find.h). The catalog, the annotations and the front ends all name
 * tables this way, so the two functions live in core, beneath all of them.
 */
#include "dscat/find.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <string.h>

int dscat_split_qualified(const char *name, char **target, char **parts, int max)
{
    *target = NULL;
    const char *p = name;
    /* "target:" prefix: a plain key (letters, digits, _ and -) followed by a colon. */
    const char *colon = strchr(name, ':');
    if (colon && colon > name &&
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-") == (size_t)(colon - name)) {
        if ((*target = dscat_strndup(name, (size_t)(colon - name))) == NULL)
            return DSCAT_ENOMEM;
        p = colon + 1;
    }
    int n = 0, failed = -1;
    for (;;) {
        if (n == max)
            goto bad;
        dscat_buf part = DSCAT_BUF_INIT;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    dscat_buf_free(&part);
                    goto bad;
                }
                if (*p == '"' && p[1] == '"') {
                    dscat_buf_putc(&part, '"');
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    dscat_buf_putc(&part, *p++);
                }
            }
            if (*p != '.' && *p != '\0') {
                dscat_buf_free(&part);
                goto bad;
            }
        } else {
            const char *dot = strchr(p, '.');
            size_t len = dot ? (size_t)(dot - p) : strlen(p);
            dscat_buf_put(&part, p, len);
            p += len;
            if (len == 0) {
                dscat_buf_free(&part);
                goto bad;
            }
        }
        if ((parts[n] = dscat_buf_detach(&part)) == NULL) {
            failed = DSCAT_ENOMEM; /* a name part lost, not a malformed name */
            goto bad;
        }
        n++;
        if (*p == '\0')
            return n;
        p++; /* the dot */
    }
bad:
    for (int i = 0; i < n; i++) {
        dscat_free(parts[i]);
        parts[i] = NULL;
    }
    dscat_free(*target);
    *target = NULL;
    return failed;
}

char *dscat_join_qualified(const char *const *parts, int n)
{
    dscat_buf b = DSCAT_BUF_INIT;
    for (int i = 0; i < n; i++) {
        if (i)
            dscat_buf_putc(&b, '.');
        /* A first part with a colon is quoted too, or "db:x" would read back as target "db". */
        if (strpbrk(parts[i], i ? ".\"" : ".\":") == NULL && parts[i][0] != '\0') {
            dscat_buf_puts(&b, parts[i]);
            continue;
        }
        dscat_buf_putc(&b, '"');
        for (const char *p = parts[i]; *p; p++) {
            if (*p == '"')
                dscat_buf_putc(&b, '"');
            dscat_buf_putc(&b, *p);
        }
        dscat_buf_putc(&b, '"');
    }
    return dscat_buf_detach(&b);
}
