/*
 * Markdown output of the commands (find, table, joins, diff, query): built in memory, every
 * name, comment and value escaped by dscat_text_md_escape, then printed whole.
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_md_puts(cli_md *o, const char *s)
{
    if (o->rc == 0)
        o->rc = dscat_buf_puts(&o->out, s);
}

void cli_md_printf(cli_md *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (o->rc == 0)
        o->rc = dscat_buf_vprintf(&o->out, fmt, ap);
    va_end(ap);
}

void cli_md_text(cli_md *o, const char *s)
{
    if (o->rc == 0)
        o->rc = dscat_text_md_escapes(&o->out, s);
}

void cli_md_cut(cli_md *o, const char *s, size_t width, const char *more)
{
    size_t len = s ? strlen(s) : 0;
    size_t keep = dscat_text_prefix(s ? s : "", len, width);
    if (keep < len && more) {
        /* Room for the marker inside the width: "abc..." is `width` characters in all. */
        size_t chars = 0;
        for (const char *p = more; *p; p++)
            chars += ((unsigned char)*p & 0xc0) != 0x80;
        keep = dscat_text_prefix(s, len, width > chars ? width - chars : 0);
    }
    if (o->rc == 0)
        o->rc = dscat_text_md_escape(&o->out, s ? s : "", keep);
    if (keep < len && more)
        cli_md_text(o, more);
}

void cli_md_name(cli_md *o, const char *const *parts, size_t n)
{
    dscat_buf name = DSCAT_BUF_INIT;
    int rc = dscat_text_qualified(&name, parts, n);
    if (o->rc == 0)
        o->rc = rc ? rc : dscat_text_md_escape(&o->out, dscat_buf_cstr(&name), name.len);
    dscat_buf_free(&name);
}

const char *cli_ref_database(const char *database, const char *schema, const char *ref_schema)
{
    return strcmp(database, schema) == 0 ? ref_schema : database;
}

int cli_qualified_refs(dscat_buf *out, const char *database, const char *schema, const char *refs)
{
    const char *p = refs;
    while (*p) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *one = dscat_strndup(p, len);
        if (one == NULL)
            return DSCAT_ENOMEM;
        char *d1 = strchr(one, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        int rc = 0;
        if (out->len)
            rc = dscat_buf_puts(out, ", ");
        if (rc == 0 && d1 && d2 && strchr(d2 + 1, '.') == NULL) {
            *d1 = *d2 = '\0';
            const char *parts[] = {cli_ref_database(database, schema, one), one, d1 + 1, d2 + 1};
            rc = dscat_text_qualified(out, parts, 4);
        } else if (rc == 0) {
            rc = dscat_buf_put(out, p, len); /* a name with a dot of its own: as it is */
        }
        dscat_free(one);
        if (rc)
            return rc;
        p += len;
        if (end)
            p += 2;
    }
    return 0;
}

int cli_md_print(cli_md *o)
{
    int rc = o->rc ? o->rc : dscat_buf_error(&o->out); /* printed whole or not at all */
    if (rc == 0)
        fwrite(dscat_buf_cstr(&o->out), 1, o->out.len, stdout);
    else
        cli_error("out of memory");
    dscat_buf_free(&o->out);
    o->rc = 0;
    return rc ? EXIT_FAIL : EXIT_OK;
}
