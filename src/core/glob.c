#include "core/glob.h"

#include <string.h>

/* The end (the closing "]") of a class starting at p ("["), or NULL when it is not closed. */
static const char *class_end(const char *p)
{
    const char *q = p + 1;
    if (*q == '!' || *q == '^')
        q++;
    if (*q == ']')
        q++; /* a "]" first in the class is a member */
    return strchr(q, ']');
}

int dscat_glob_to_regex(dscat_buf *out, const char *glob)
{
    int rc = dscat_buf_putc(out, '^');
    for (const char *p = glob; *p && rc == 0; p++) {
        const char *end;
        if (*p == '\\') {
            /* An escaped character is literal; a lone trailing backslash never matches (as in
             * glibc's fnmatch): "$.^" asks for a character after the end. */
            if (p[1] == '\0')
                return dscat_buf_puts(out, "$.^");
            p++;
            if (strchr(".^$+(){}|\\[]*?", *p))
                rc = dscat_buf_putc(out, '\\');
            if (rc == 0)
                rc = dscat_buf_putc(out, *p);
        } else if (*p == '*') {
            rc = dscat_buf_puts(out, ".*");
        } else if (*p == '?') {
            rc = dscat_buf_putc(out, '.');
        } else if (*p == '[' && (end = class_end(p)) != NULL) {
            const char *q = p + 1;
            rc = dscat_buf_putc(out, '[');
            if (*q == '!' || *q == '^') {
                rc = dscat_buf_putc(out, '^');
                q++;
            }
            /* Inside a class a backslash stands for itself in the regex. */
            for (; q < end && rc == 0; q++)
                rc = *q == '\\' ? dscat_buf_puts(out, "\\\\") : dscat_buf_putc(out, *q);
            if (rc == 0)
                rc = dscat_buf_putc(out, ']');
            p = end;
        } else if (strchr(".^$+(){}|\\[]", *p)) {
            rc = dscat_buf_putc(out, '\\');
            if (rc == 0)
                rc = dscat_buf_putc(out, *p);
        } else {
            rc = dscat_buf_putc(out, *p);
        }
    }
    return rc ? rc : dscat_buf_putc(out, '$');
}
