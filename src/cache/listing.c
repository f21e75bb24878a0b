/*
 * Listing the cache: the cached tables (their current versions, from the store) and the pending
 * deletions.
 */
#include "cache/internal.h"

#include "core/alloc.h"

#include <string.h>

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return dscat_strdup(v ? (const char *)v : "");
}

int dscat_cache_list(dscat_cache_listing *out, const dscat_config *cfg, const char *connection_id,
                     dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_store *st = NULL;
    sqlite3_stmt *s = NULL;
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = dscat_store__prepare(st, &s,
                                  "SELECT connection_id, schema, name, version, path, rows, bytes, "
                                  "last_sync_us, fallbacks FROM table_cache WHERE ?1 IS NULL OR "
                                  "connection_id = ?1 ORDER BY 1, 2, 3",
                                  err);
    if (rc == 0) {
        if (connection_id)
            sqlite3_bind_text(s, 1, connection_id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            dscat_cached_table *g = dscat_realloc(out->tables, (out->count + 1) * sizeof(*g));
            if (g == NULL)
                break;
            out->tables = g;
            g[out->count++] = (dscat_cached_table){col_dup(s, 0),
                                                   col_dup(s, 1),
                                                   col_dup(s, 2),
                                                   col_dup(s, 3),
                                                   col_dup(s, 4),
                                                   sqlite3_column_int64(s, 5),
                                                   sqlite3_column_int64(s, 6),
                                                   sqlite3_column_int64(s, 7),
                                                   {NULL, 0}};
            dscat_cache__fallbacks_parse(&g[out->count - 1].fallbacks,
                                         (const char *)sqlite3_column_text(s, 8));
        }
        sqlite3_finalize(s);
        rc = dscat_store__prepare(st, &s,
                                  "SELECT path, delete_after, retry_count FROM pending_deletions "
                                  "ORDER BY delete_after, path",
                                  err);
    }
    if (rc == 0) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            dscat_pending *g = dscat_realloc(out->pending, (out->npending + 1) * sizeof(*g));
            if (g == NULL)
                break;
            out->pending = g;
            g[out->npending++] =
                (dscat_pending){col_dup(s, 0), col_dup(s, 1), sqlite3_column_int(s, 2)};
        }
        sqlite3_finalize(s);
    }
    dscat_store_close(st);
    return rc;
}

void dscat_cache_listing_free(dscat_cache_listing *l)
{
    for (size_t i = 0; i < l->count; i++) {
        dscat_cached_table *t = &l->tables[i];
        dscat_free(t->connection_id);
        dscat_free(t->schema);
        dscat_free(t->table);
        dscat_free(t->version);
        dscat_free(t->path);
        dscat_fallbacks_free(&t->fallbacks);
    }
    dscat_free(l->tables);
    for (size_t i = 0; i < l->npending; i++) {
        dscat_free(l->pending[i].path);
        dscat_free(l->pending[i].delete_after);
    }
    dscat_free(l->pending);
    dscat_warnings_free(&l->warnings);
    memset(l, 0, sizeof(*l));
}
