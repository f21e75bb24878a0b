/*
 * Markdown output of the commands (find, table, joins, diff, query): built in memory, every
 * name, comment and value escaped by dscat_text_markdown, then printed whole.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends len bytes of s; the first failure is kept in o->rc. */
static void md_put(cli_md *o, const char *s, size_t len)
{
    if (o->rc)
        return;
    if (o->len + len + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + len + 1)
            cap *= 2;
        char *grown = dscat_realloc(o->ptr, cap);
        if (grown == NULL) {
            o->rc = DSCAT_ENOMEM;
            return;
        }
        o->ptr = grown;
        o->cap = cap;
    }
    memcpy(o->ptr + o->len, s, len);
    o->len += len;
    o->ptr[o->len] = '\0';
}

/* Appends a string made by the library (NULL: out of memory) and frees it. */
static void md_take(cli_md *o, char *s)
{
    if (s == NULL && o->rc == 0)
        o->rc = DSCAT_ENOMEM;
    if (s)
        md_put(o, s, strlen(s));
    dscat_string_free(s);
}

void cli_md_puts(cli_md *o, const char *s)
{
    md_put(o, s, strlen(s));
}

void cli_md_printf(cli_md *o, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : dscat_malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    if (s == NULL) {
        if (o->rc == 0)
            o->rc = DSCAT_ENOMEM;
        return;
    }
    md_put(o, s, (size_t)n);
    dscat_free(s);
}

void cli_md_text(cli_md *o, const char *s)
{
    if (s)
        md_take(o, dscat_text_markdown(s, strlen(s)));
}

void cli_md_cut(cli_md *o, const char *s, size_t width, const char *more)
{
    size_t len = s ? strlen(s) : 0;
    size_t keep = dscat_text_prefix_len(s ? s : "", len, width);
    if (keep < len && more) {
        /* Room for the marker inside the width: "abc..." is `width` characters in all. */
        size_t chars = 0;
        for (const char *p = more; *p; p++)
            chars += ((unsigned char)*p & 0xc0) != 0x80;
        keep = dscat_text_prefix_len(s, len, width > chars ? width - chars : 0);
    }
    md_take(o, dscat_text_markdown(s ? s : "", keep));
    if (keep < len && more)
        cli_md_text(o, more);
}

void cli_md_name(cli_md *o, const char *const *parts, size_t n)
{
    char *name = dscat_text_qualified_name(parts, n);
    if (name)
        md_take(o, dscat_text_markdown(name, strlen(name)));
    else if (o->rc == 0)
        o->rc = DSCAT_ENOMEM;
    dscat_string_free(name);
}

const char *cli_ref_database(const char *database, const char *schema, const char *ref_schema)
{
    return strcmp(database, schema) == 0 ? ref_schema : database;
}

char *cli_qualified_refs(const char *database, const char *schema, const char *refs)
{
    cli_md out = CLI_MD_INIT;
    const char *p = refs ? refs : "";
    md_put(&out, "", 0);
    while (*p && out.rc == 0) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *one = dscat_malloc(len + 1);
        if (one) {
            memcpy(one, p, len);
            one[len] = '\0';
        }
        if (one == NULL) {
            out.rc = DSCAT_ENOMEM;
            break;
        }
        char *d1 = strchr(one, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        if (out.len)
            md_put(&out, ", ", 2);
        if (d1 && d2 && strchr(d2 + 1, '.') == NULL) {
            *d1 = *d2 = '\0';
            const char *parts[] = {cli_ref_database(database, schema, one), one, d1 + 1, d2 + 1};
            md_take(&out, dscat_text_qualified_name(parts, 4));
        } else {
            md_put(&out, p, len); /* a name with a dot of its own: as it is */
        }
        dscat_free(one);
        p += len;
        if (end)
            p += 2;
    }
    if (out.rc) {
        dscat_free(out.ptr);
        return NULL;
    }
    return out.ptr;
}

int cli_md_print(cli_md *o)
{
    int rc = o->rc;
    if (rc == 0 && o->len)
        fwrite(o->ptr, 1, o->len, stdout);
    else if (rc)
        cli_error("out of memory");
    dscat_free(o->ptr);
    *o = (cli_md)CLI_MD_INIT;
    return rc ? EXIT_FAIL : EXIT_OK;
}
