/*
 * The profile query, one per table, in every engine's dialect:
 *   SELECT count(*), count(*) - count(c1), count(DISTINCT c1), ...
 *   FROM (SELECT [TOP n] * FROM schema.table [ORDER BY key...] [LIMIT n]) AS sample
 * Only the quoting, the row limit and the profileable types differ between engines.
 */
#include "sources/source.h"

#include "core/alloc.h"

#include <string.h>

int dscat_profile_sql(dscat_buf *sql, const dscat_profile_dialect *d, void *payload,
                      const dscat_db_scan *scan, size_t table, const size_t *columns,
                      size_t ncolumns, int sample, size_t *profiled, size_t *nprofiled)
{
    const dscat_table_info *t = &scan->tables.items[table];
    size_t *keys = dscat_calloc(ncolumns + 1, sizeof(size_t));
    if (keys == NULL)
        return DSCAT_ENOMEM;
    int rc = dscat_buf_puts(sql, "SELECT count(*)");
    *nprofiled = 0;
    for (size_t i = 0; i < ncolumns && rc == 0; i++) {
        const dscat_column_info *c = &scan->columns.items[columns[i]];
        if (!d->profileable(c->data_type))
            continue;
        profiled[(*nprofiled)++] = columns[i];
        dscat_buf_puts(sql, ", count(*) - count(");
        d->quote(sql, c->name, payload);
        dscat_buf_puts(sql, "), count(DISTINCT ");
        d->quote(sql, c->name, payload);
        rc = dscat_buf_putc(sql, ')');
    }
    if (rc == 0)
        rc = dscat_buf_puts(sql, " FROM (SELECT ");
    if (rc == 0 && d->top && sample > 0)
        rc = dscat_buf_printf(sql, "TOP %d ", sample);
    if (rc == 0) {
        dscat_buf_puts(sql, "* FROM ");
        d->quote(sql, t->schema, payload);
        dscat_buf_putc(sql, '.');
        rc = d->quote(sql, t->name, payload);
    }
    size_t nk = dscat_profile_keys(scan, columns, ncolumns, keys);
    for (size_t i = 0; i < nk && rc == 0; i++) {
        dscat_buf_puts(sql, i ? ", " : " ORDER BY ");
        rc = d->quote(sql, scan->columns.items[keys[i]].name, payload);
    }
    if (rc == 0 && !d->top && sample > 0)
        rc = dscat_buf_printf(sql, " LIMIT %d", sample);
    if (rc == 0)
        rc = dscat_buf_puts(sql, ") AS sample");
    dscat_free(keys);
    return rc ? DSCAT_ENOMEM : 0;
}

bool dscat_profile_type_in(const char *data_type, const char *const *names, size_t n)
{
    size_t len = strlen(data_type);
    if (len > 2 && strcmp(data_type + len - 2, "[]") == 0)
        len -= 2; /* an array of an unprofileable type is unprofileable too */
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && strncmp(data_type, names[i], len) == 0)
            return true;
    return false;
}

int dscat_select_sql(dscat_buf *sql, const dscat_profile_dialect *d, void *payload,
                     const char *schema, const char *table, const dscat_cursor_column *columns,
                     size_t ncolumns)
{
    int rc = dscat_buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < ncolumns && rc == 0; i++) {
        if (i)
            dscat_buf_puts(sql, ", ");
        rc = columns[i].hex && d->hex ? d->hex(sql, columns[i].name, payload)
                                      : d->quote(sql, columns[i].name, payload);
    }
    if (rc == 0) {
        dscat_buf_puts(sql, " FROM ");
        d->quote(sql, schema, payload);
        dscat_buf_putc(sql, '.');
        rc = d->quote(sql, table, payload);
    }
    return rc ? DSCAT_ENOMEM : 0;
}
