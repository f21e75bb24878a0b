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
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (parts[i] == NULL)
            continue;
        if (name.len)
            rc = dscat_buf_putc(&name, '.');
        if (rc == 0)
            rc = dscat_buf_puts(&name, parts[i]);
    }
    if (o->rc == 0)
        o->rc = rc ? rc : dscat_text_md_escape(&o->out, dscat_buf_cstr(&name), name.len);
    dscat_buf_free(&name);
}

int cli_md_print(cli_md *o)
{
    int rc = o->rc;
    if (rc == 0)
        fwrite(dscat_buf_cstr(&o->out), 1, o->out.len, stdout);
    else
        cli_error("out of memory");
    dscat_buf_free(&o->out);
    o->rc = 0;
    return rc ? EXIT_FAIL : EXIT_OK;
}
