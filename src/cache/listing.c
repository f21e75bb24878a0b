/*
 * Listing the cache: the cached tables (their current versions, from the store) and the pending
 * deletions.
 */
#include "cache/internal.h"

#include "core/alloc.h"

#include <string.h>

static char *col_dup(dscat_stmt *s, int i)
{
    const char *v = dscat_stmt__text(s, i);
    return dscat_strdup(v ? v : "");
}

int dscat_cache_list(dscat_cache_listing *out, const dscat_config *cfg, const char *connection_id,
                     dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_store *st = NULL;
    dscat_stmt *s = NULL;
    /* Opened to write, so that an older store is migrated (the listing reads columns later
     * versions added); in a catalog this user cannot write, read as it is. */
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == DSCAT_EPERM) {
        dscat_error_clear(err);
        rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, err);
    }
    if (rc == 0)
        rc = dscat_stmt__prepare(
            &s, st,
            "SELECT connection_id, schema, name, version, path, rows, bytes, "
            "last_sync_us, fallbacks, files, append_key FROM table_cache WHERE ?1 IS NULL OR "
            "connection_id = ?1 ORDER BY 1, 2, 3",
            err);
    if (rc == 0) {
        if (connection_id)
            dscat_stmt__bind_text(s, 1, connection_id);
        while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
            dscat_cached_table *g = dscat_realloc(out->tables, (out->count + 1) * sizeof(*g));
            if (g == NULL) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                break;
            }
            out->tables = g;
            g[out->count++] =
                (dscat_cached_table){col_dup(s, 0),
                                     col_dup(s, 1),
                                     col_dup(s, 2),
                                     col_dup(s, 3),
                                     col_dup(s, 4),
                                     dscat_stmt__int64(s, 5),
                                     dscat_stmt__int64(s, 6),
                                     dscat_stmt__int64(s, 7),
                                     {NULL, 0},
                                     dscat_stmt__int(s, 9) > 0 ? dscat_stmt__int(s, 9) : 1,
                                     NULL};
            bool key_nomem = false;
            if (!dscat_stmt__is_null(s, 10)) {
                g[out->count - 1].append_key = dscat_strdup(dscat_stmt__text(s, 10));
                key_nomem = g[out->count - 1].append_key == NULL;
            }
            int parsed =
                dscat_cache__fallbacks_parse(&g[out->count - 1].fallbacks, dscat_stmt__text(s, 8));
            const dscat_cached_table *t = &g[out->count - 1];
            if (parsed || key_nomem || !t->connection_id || !t->schema || !t->table ||
                !t->version || !t->path) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory"); /* never a half row */
                break;
            }
        }
        dscat_stmt__finalize(s);
    }
    if (rc == 0) {
        rc = dscat_stmt__prepare(&s, st,
                                 "SELECT path, delete_after, retry_count FROM pending_deletions "
                                 "ORDER BY delete_after, path",
                                 err);
    }
    if (rc == 0) {
        while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
            dscat_pending *g = dscat_realloc(out->pending, (out->npending + 1) * sizeof(*g));
            if (g == NULL) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                break;
            }
            out->pending = g;
            g[out->npending++] =
                (dscat_pending){col_dup(s, 0), col_dup(s, 1), dscat_stmt__int(s, 2)};
            if (g[out->npending - 1].path == NULL || g[out->npending - 1].delete_after == NULL) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                break;
            }
        }
        dscat_stmt__finalize(s);
    }
    dscat_store_close(st);
    if (rc)
        dscat_cache_listing_free(out);
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
        dscat_free(t->append_key);
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
