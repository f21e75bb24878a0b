#include "cache/types.h"

#include <stdio.h>
#include <string.h>

int dscat_cache_quote_ident(dscat_buf *b, const char *name)
{
    int rc = dscat_buf_putc(b, '"');
    for (const char *p = name; *p && rc == 0; p++)
        rc = *p == '"' ? dscat_buf_puts(b, "\"\"") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, '"');
}

void dscat_cache_map_type(cache_column *c, const dscat_source_driver *source, const char *data_type,
                          const char *column_type, int precision, int scale)
{
    const char *dt = data_type ? data_type : "";
    dscat_cache_type t;
    memset(&t, 0, sizeof(t));
    snprintf(c->source_type, sizeof(c->source_type), "%s", dt);
    if (source->cache_type)
        source->cache_type(&t, dt, column_type, precision, scale);
    /* Everything without a faithful counterpart (intervals, arrays, enums, numerics without
     * precision or wider than 38 digits, ...) is kept as its text: never rounded, never lost. */
    snprintf(c->duck_type, sizeof(c->duck_type), "%s", t.duck_type[0] ? t.duck_type : "VARCHAR");
    c->hex = t.hex;
}
