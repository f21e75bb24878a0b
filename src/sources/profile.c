/*
 * The profile query, in every engine's dialect:
 *   SELECT count(*), count(*) - count(c1), count(DISTINCT c1), ...
 * (NULL for the distinct count of a column the driver marked no_distinct)
 *   FROM (SELECT [TOP n] c1, c2, ... FROM schema.table [ORDER BY key...] [LIMIT n]) AS sample
 * Only the quoting, the row limit, the profileable types and the select-list limit differ
 * between engines. A column the engine cannot profile is left out of the query alone; a table
 * wider than the select-list limit is profiled in several queries, each over the same sample.
 */
#include "sources/source.h"

#include "core/alloc.h"

#include <string.h>

size_t dscat_profile_columns(const dscat_profile_dialect *d, const dscat_db_scan *scan,
                             const size_t *columns, size_t ncolumns, size_t *profiled)
{
    size_t n = 0;
    for (size_t i = 0; i < ncolumns; i++) {
        const dscat_column_info *c = &scan->columns.items[columns[i]];
        if (!c->unprofileable && d->profileable(c->data_type))
            profiled[n++] = columns[i];
    }
    return n;
}

/*
 * Appends " ORDER BY key, ..." when the table has a primary key whose columns can all be read.
 * A key column the user may not read cannot order the sample: then physical order is used.
 */
static int order_by(dscat_buf *sql, const dscat_profile_dialect *d, void *payload,
                    const dscat_db_scan *scan, const size_t *columns, size_t ncolumns)
{
    size_t *keys = dscat_calloc(ncolumns + 1, sizeof(size_t));
    if (keys == NULL)
        return DSCAT_ENOMEM;
    size_t nk = dscat_profile_keys(scan, columns, ncolumns, keys);
    for (size_t i = 0; i < nk; i++)
        if (scan->columns.items[keys[i]].unprofileable)
            nk = 0;
    int rc = 0;
    for (size_t i = 0; i < nk && rc == 0; i++) {
        dscat_buf_puts(sql, i ? ", " : " ORDER BY ");
        rc = d->quote(sql, scan->columns.items[keys[i]].name, payload);
    }
    dscat_free(keys);
    return rc;
}

int dscat_profile_sql(dscat_buf *sql, const dscat_profile_dialect *d, void *payload,
                      const dscat_db_scan *scan, size_t table, const size_t *columns,
                      size_t ncolumns, const size_t *profiled, size_t nprofiled, int sample)
{
    const dscat_table_info *t = &scan->tables.items[table];
    int rc = dscat_buf_puts(sql, "SELECT count(*)");
    for (size_t i = 0; i < nprofiled && rc == 0; i++) {
        const char *name = scan->columns.items[profiled[i]].name;
        dscat_buf_puts(sql, ", count(*) - count(");
        d->quote(sql, name, payload);
        if (scan->columns.items[profiled[i]].no_distinct) {
            rc = dscat_buf_puts(sql, "), NULL"); /* no equality to count distinct values by */
            continue;
        }
        dscat_buf_puts(sql, "), count(DISTINCT ");
        d->quote(sql, name, payload);
        rc = dscat_buf_putc(sql, ')');
    }
    if (rc == 0)
        rc = dscat_buf_puts(sql, " FROM (SELECT ");
    if (rc == 0 && d->top && sample > 0)
        rc = dscat_buf_printf(sql, "TOP %d ", sample);
    /* Named columns only: "*" would read invisible and unreadable columns too. */
    for (size_t i = 0; i < nprofiled && rc == 0; i++) {
        if (i)
            dscat_buf_puts(sql, ", ");
        rc = d->quote(sql, scan->columns.items[profiled[i]].name, payload);
    }
    if (rc == 0 && nprofiled == 0)
        rc = dscat_buf_puts(sql, "1 AS one");
    if (rc == 0) {
        dscat_buf_puts(sql, " FROM ");
        d->quote(sql, t->schema, payload);
        dscat_buf_putc(sql, '.');
        rc = d->quote(sql, t->name, payload);
    }
    if (rc == 0)
        rc = order_by(sql, d, payload, scan, columns, ncolumns);
    if (rc == 0 && !d->top && sample > 0)
        rc = dscat_buf_printf(sql, " LIMIT %d", sample);
    if (rc == 0)
        rc = dscat_buf_puts(sql, ") AS sample");
    return rc ? DSCAT_ENOMEM : 0;
}

int dscat_profile_run(const dscat_profile_dialect *d, void *payload, dscat_db_scan *scan,
                      size_t table, const size_t *columns, size_t ncolumns, int sample,
                      dscat_error *err)
{
    size_t per = d->max_columns > 2 ? (d->max_columns - 1) / 2 : 1;
    size_t *prof = dscat_calloc(ncolumns + 1, sizeof(size_t));
    int64_t *values = dscat_calloc(2 * per + 1, sizeof(int64_t));
    dscat_buf sql = DSCAT_BUF_INIT;
    int rc = prof && values ? 0 : DSCAT_ENOMEM;
    size_t np = rc ? 0 : dscat_profile_columns(d, scan, columns, ncolumns, prof);
    /* One pass even without profileable columns: a table nobody may read fails here. */
    for (size_t off = 0; rc == 0 && (off < np || off == 0); off += per) {
        size_t n = np - off < per ? np - off : per;
        dscat_buf_reset(&sql);
        rc = dscat_profile_sql(&sql, d, payload, scan, table, columns, ncolumns, prof + off, n,
                               sample);
        if (rc)
            break;
        if ((rc = d->query(payload, dscat_buf_cstr(&sql), values, 1 + 2 * n, err)) != 0)
            goto done;
        for (size_t i = 0; i < n; i++)
            dscat_profile_store(scan, prof[off + i], values[0], values[1 + 2 * i],
                                values[2 + 2 * i]);
        if (np == 0)
            break;
    }
    if (rc)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    dscat_buf_free(&sql);
    dscat_free(values);
    dscat_free(prof);
    return rc;
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
