/*
 * SQL over the cache (dscat query): one DuckDB database where every cached table is a view over
 * its current version's Parquet file, named "<connection id>"."<schema>"."<table>" (an attached
 * in-memory catalog per connection, a schema per source schema). The views are bound when the
 * query starts: a refresh that swaps versions meanwhile does not disturb it, and the old version
 * stays on disk for the grace period.
 */
#include "dscat/cache.h"

#include "cache/types.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/duck.h"
#include "core/timeutil.h"

#include <string.h>

/* Appends "conn"."schema"."table". */
static void qualified(dscat_buf *b, const dscat_cached_table *t)
{
    dscat_cache_quote_ident(b, t->connection_id);
    dscat_buf_putc(b, '.');
    dscat_cache_quote_ident(b, t->schema);
    dscat_buf_putc(b, '.');
    dscat_cache_quote_ident(b, t->table);
}

/* True when sql may name the table (any case, or quoted): only those are fetched from S3. */
static bool mentions(const char *sql, const char *table)
{
    if (strcasestr(sql, table) != NULL)
        return true;
    dscat_buf quoted = DSCAT_BUF_INIT;
    dscat_cache_quote_ident(&quoted, table); /* "q""uote" for q"uote */
    bool found = quoted.len > 2 && memmem(sql, strlen(sql), quoted.ptr + 1, quoted.len - 2);
    dscat_buf_free(&quoted);
    return found;
}

static int setup_views(dscat_duck *duck, const dscat_config *cfg, const dscat_cache_listing *l,
                       const char *query, dscat_error *err)
{
    bool remote = strncmp(cfg->settings.cache_root, "s3://", 5) == 0;
    const char *attached = NULL;
    int rc = dscat_duck_exec(duck, "SET TimeZone = 'UTC'", err);
    for (size_t i = 0; i < l->count && rc == 0; i++) {
        const dscat_cached_table *t = &l->tables[i];
        dscat_buf sql = DSCAT_BUF_INIT;
        char *file = NULL;
        if (remote && !mentions(query, t->table))
            continue;
        if (attached == NULL || strcmp(attached, t->connection_id) != 0) {
            attached = t->connection_id; /* the listing is sorted by connection */
            dscat_buf_puts(&sql, "ATTACH ':memory:' AS ");
            dscat_cache_quote_ident(&sql, t->connection_id);
            dscat_buf_puts(&sql, "; ");
        }
        dscat_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ");
        dscat_cache_quote_ident(&sql, t->connection_id);
        dscat_buf_putc(&sql, '.');
        dscat_cache_quote_ident(&sql, t->schema);
        dscat_buf_puts(&sql, "; CREATE VIEW ");
        qualified(&sql, t);
        dscat_buf_puts(&sql, " AS SELECT * FROM read_parquet(");
        if ((rc = dscat_cache__local_file(cfg, t->path, &file, err))) {
            dscat_buf_free(&sql);
            break;
        }
        dscat_duck_quote_literal(&sql, file);
        if (dscat_buf_putc(&sql, ')')) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        } else if (dscat_duck_exec(duck, dscat_buf_cstr(&sql), err) != 0) {
            /* DuckDB's names are case-insensitive: of two tables whose names differ only in
             * case, the second cannot be a view. It is left out; the others stay queryable. */
            dscat_error_clear(err);
        }
        dscat_buf_free(&sql);
        dscat_free(file);
    }
    return rc;
}

int dscat_cache_query(dscat_query_result *out, const dscat_config *cfg, const char *sql,
                      size_t limit, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_cache_listing l;
    dscat_duck *duck = NULL;
    int64_t t0 = dscat_monotonic_ms();
    int rc = dscat_cache_list(&l, cfg, NULL, err);
    if (rc)
        return rc;
    if ((rc = dscat_duck_open(&duck, err)) || (rc = setup_views(duck, cfg, &l, sql, err)))
        goto done;
    /* Every value is returned as text: cast in SQL (DuckDB's own formatting for every type),
     * falling back to the statement as written when it cannot be a subquery (PRAGMA, ...). */
    duckdb_result res;
    dscat_buf wrapped = DSCAT_BUF_INIT;
    dscat_buf_printf(&wrapped, "SELECT COLUMNS(*)::VARCHAR FROM (%s)", sql);
    duckdb_state state = duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&wrapped), &res);
    dscat_buf_free(&wrapped);
    if (state == DuckDBError) {
        duckdb_destroy_result(&res);
        state = duckdb_query(dscat_duck_connection(duck), sql, &res);
    }
    if (state == DuckDBError) {
        const char *msg = duckdb_result_error(&res);
        bool missing = msg && strstr(msg, "does not exist");
        rc = dscat_error_set(err, DSCAT_EINVALID, "%s%s", msg ? msg : "query failed",
                             missing ? " (cached tables are named \"<connection>\".\"<schema>\"."
                                       "\"<table>\"; cache one with: dscat cache refresh "
                                       "CONNECTION SCHEMA.TABLE)"
                                     : "");
        duckdb_destroy_result(&res);
        goto done;
    }
    idx_t ncols = duckdb_column_count(&res), nrows = duckdb_row_count(&res);
    if (limit && nrows > limit) {
        out->truncated = true;
        nrows = limit;
    }
    out->columns = dscat_calloc(ncols + 1, sizeof(char *));
    out->cells = dscat_calloc(ncols * nrows + 1, sizeof(char *));
    if (out->columns == NULL || out->cells == NULL) {
        duckdb_destroy_result(&res);
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    out->ncolumns = ncols;
    out->nrows = nrows;
    for (idx_t c = 0; c < ncols; c++)
        out->columns[c] = dscat_strdup(duckdb_column_name(&res, c));
    for (idx_t r = 0; r < nrows; r++)
        for (idx_t c = 0; c < ncols; c++) {
            if (duckdb_value_is_null(&res, c, r))
                continue;
            char *v = duckdb_value_varchar(&res, c, r);
            out->cells[r * ncols + c] = dscat_strdup(v);
            duckdb_free(v);
        }
    duckdb_destroy_result(&res);
done:
    out->duration_ms = dscat_monotonic_ms() - t0;
    dscat_duck_close(duck);
    dscat_cache_listing_free(&l);
    if (rc)
        dscat_query_result_free(out);
    return rc;
}

void dscat_query_result_free(dscat_query_result *r)
{
    for (size_t i = 0; r->columns && i < r->ncolumns; i++)
        dscat_free(r->columns[i]);
    for (size_t i = 0; r->cells && i < r->ncolumns * r->nrows; i++)
        dscat_free(r->cells[i]);
    dscat_free(r->columns);
    dscat_free(r->cells);
    memset(r, 0, sizeof(*r));
}
