/*
 * What every engine shares for append refreshes of the data cache: the forms a key's value may
 * take (the only text an engine's key_predicate renders into SQL), and the WHERE clause the row
 * cursors add. Each engine's key_predicate (source.h) renders the literal in its own quoting.
 */
#include "sources/source.h"

#include <ctype.h>
#include <string.h>

/* Skips at least min and at most max digits; NULL when there are fewer than min. */
static const char *digits(const char *p, size_t min, size_t max)
{
    size_t n = 0;
    while (n < max && isdigit((unsigned char)p[n]))
        n++;
    return n >= min ? p + n : NULL;
}

/* "YYYY-MM-DD" (a year of 4 to 6 digits, as DuckDB writes its range); the rest, or NULL. */
static const char *date_part(const char *p)
{
    p = digits(p, 4, 6);
    p = p && *p == '-' ? digits(p + 1, 2, 2) : NULL;
    return p && *p == '-' ? digits(p + 1, 2, 2) : NULL;
}

bool dscat_key_value_ok(dscat_key_type type, const char *v)
{
    if (v == NULL)
        return false;
    const char *p = v;
    switch (type) {
    case DSCAT_KEY_INTEGER:
        p = digits(p + (*p == '-'), 1, 40);
        return p && *p == '\0';
    case DSCAT_KEY_DECIMAL:
        p = digits(p + (*p == '-'), 1, 40);
        if (p && *p == '.')
            p = digits(p + 1, 1, 40);
        return p && *p == '\0';
    case DSCAT_KEY_DATE:
    case DSCAT_KEY_TIMESTAMP:
    case DSCAT_KEY_TIMESTAMPTZ:
        if (strcmp(v, "infinity") == 0 || strcmp(v, "-infinity") == 0)
            return true; /* an engine without infinities refuses them itself */
        p = date_part(p);
        if (type == DSCAT_KEY_DATE || p == NULL)
            return p && *p == '\0';
        p = *p == ' ' ? digits(p + 1, 2, 2) : NULL;
        p = p && *p == ':' ? digits(p + 1, 2, 2) : NULL;
        p = p && *p == ':' ? digits(p + 1, 2, 2) : NULL;
        if (p && *p == '.')
            p = digits(p + 1, 1, 6);
        return p && *p == '\0';
    case DSCAT_KEY_TEXT:
        return true;
    }
    return false;
}

int dscat_source__where(dscat_buf *sql, const dscat_source *src)
{
    if (src->where == NULL)
        return 0;
    int rc = dscat_buf_puts(sql, " WHERE ");
    return rc ? rc : dscat_buf_puts(sql, src->where);
}

int dscat_source__sql_string(dscat_buf *sql, const char *prefix, const char *v, bool backslash)
{
    int rc = dscat_buf_puts(sql, prefix);
    rc = rc ? rc : dscat_buf_putc(sql, '\'');
    for (const char *p = v; *p && rc == 0; p++) {
        if (*p == '\'' || (backslash && *p == '\\'))
            rc = dscat_buf_putc(sql, *p);
        rc = rc ? rc : dscat_buf_putc(sql, *p);
    }
    return rc ? rc : dscat_buf_putc(sql, '\'');
}
