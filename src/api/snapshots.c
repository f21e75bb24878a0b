/*
 * The project snapshots already written (<root>/artifacts/catalog/snapshot_*), each with the
 * tables and columns its metadata.parquet holds, read through DuckDB.
 */
#include "dscat/api.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/duck.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int info_cmp(const void *a, const void *b)
{
    return dscat_snapshot_name_cmp(((const dscat_snapshot_info *)a)->name,
                                   ((const dscat_snapshot_info *)b)->name);
}

/* Tables and columns in a snapshot's metadata.parquet. Any failure is "no metadata" (-1). */
static int parquet_counts(const char *path, long *tables, long *columns)
{
    dscat_duck *d = NULL;
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_error ignored = {0};
    duckdb_result res;
    int rc = -1;
    if (dscat_duck_open(&d, &ignored) ||
        dscat_buf_puts(&sql, "SELECT count(DISTINCT (target, \"database\", \"schema\", "
                             "table_name)), count(*) FROM read_parquet(") ||
        dscat_duck_quote_literal(&sql, path) || dscat_buf_puts(&sql, ")"))
        goto done;
    if (duckdb_query(dscat_duck_connection(d), dscat_buf_cstr(&sql), &res) == DuckDBError) {
        duckdb_destroy_result(&res);
        goto done;
    }
    *tables = (long)duckdb_value_int64(&res, 0, 0);
    *columns = (long)duckdb_value_int64(&res, 1, 0);
    duckdb_destroy_result(&res);
    rc = 0;
done:
    dscat_buf_free(&sql);
    dscat_duck_close(d);
    return rc;
}

int dscat_snapshots_list(dscat_snapshot_list *out, const char *root, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_buf base = DSCAT_BUF_INIT, path = DSCAT_BUF_INIT;
    size_t cap = 0;
    int rc = dscat_buf_printf(&base, "%s/artifacts/catalog", root);
    DIR *dir = rc ? NULL : opendir(dscat_buf_cstr(&base));
    struct dirent *e;
    while (rc == 0 && dir && (e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, "snapshot_", 9) != 0)
            continue;
        if (out->count == cap) {
            size_t n = cap ? cap * 2 : 8;
            dscat_snapshot_info *g = dscat_realloc(out->items, n * sizeof(*g));
            if (g == NULL) {
                rc = DSCAT_ENOMEM;
                break;
            }
            out->items = g;
            cap = n;
        }
        dscat_snapshot_info *s = &out->items[out->count];
        memset(s, 0, sizeof(*s));
        if ((s->name = dscat_strdup(e->d_name)) == NULL)
            rc = DSCAT_ENOMEM;
        else
            out->count++;
    }
    if (dir)
        closedir(dir);
    if (rc == 0 && out->count)
        qsort(out->items, out->count, sizeof(*out->items), info_cmp);
    for (size_t i = 0; rc == 0 && i < out->count; i++) {
        dscat_snapshot_info *s = &out->items[i];
        dscat_buf_reset(&path);
        if ((rc =
                 dscat_buf_printf(&path, "%s/%s/metadata.parquet", dscat_buf_cstr(&base), s->name)))
            break;
        s->has_metadata = access(dscat_buf_cstr(&path), R_OK) == 0 &&
                          parquet_counts(dscat_buf_cstr(&path), &s->tables, &s->columns) == 0;
    }
    dscat_buf_free(&base);
    dscat_buf_free(&path);
    if (rc) {
        dscat_snapshot_list_free(out);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    return 0;
}

void dscat_snapshot_list_free(dscat_snapshot_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dscat_free(l->items[i].name);
    dscat_free(l->items);
    memset(l, 0, sizeof(*l));
}
