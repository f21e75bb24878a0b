/*
 * Versions of a cached table: their names and catalog markers, the writer's lock, the swap that
 * makes one current (and schedules the one it replaces), the fallbacks a version records, and
 * the local file readers open.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void dscat_cache__make_version(char *out, size_t size)
{
    unsigned char r[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
            memset(r, 0, sizeof(r));
        close(fd);
    }
    char when[32];
    dscat_format_utc_iso(dscat_now_us(), when, sizeof(when));
    size_t k = 0;
    char compact[32];
    for (const char *p = when; *p && k + 1 < sizeof(compact); p++)
        if (*p != '-' && *p != ':')
            compact[k++] = *p;
    compact[k] = '\0';
    snprintf(out, size, "v%s-%02x%02x%02x%02x", compact, r[0], r[1], r[2], r[3]);
}

int dscat_cache__lock_table(dscat_store *st, dscat_storage *sto, const char *table_key, int *fd,
                            bool *waited, dscat_error *err)
{
    char *path = NULL;
    *fd = -1;
    *waited = false;
    if (dscat_store__shared_locks(st))
        return dscat_store__lock_table(st, table_key, waited, err);
    int rc = dscat_storage_lock_path(sto, table_key, true, &path, err);
    if (rc)
        return rc;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot open %s: %s", path, strerror(errno));
    } else if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        *waited = true; /* someone is refreshing this table: wait for them */
        flock(*fd, LOCK_EX);
    }
    dscat_free(path);
    return rc;
}

void dscat_cache__unlock_table(dscat_store *st, const char *table_key, int fd)
{
    if (fd >= 0)
        close(fd);
    else if (st && table_key && dscat_store__shared_locks(st))
        dscat_store__unlock_table(st, table_key);
}

bool dscat_cache__table_locked(dscat_store *st, dscat_storage *sto, const char *table_key)
{
    if (dscat_store__shared_locks(st))
        return dscat_store__table_locked(st, table_key);
    char *path = NULL;
    dscat_error e = {0};
    if (dscat_storage_lock_path(sto, table_key, false, &path, &e))
        return false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    bool held = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0;
    if (fd >= 0)
        close(fd);
    dscat_free(path);
    return held;
}

/*
 * The marker is an empty ".catalog-<id>" in the version: the orphan rule only ever sweeps
 * versions of its own catalog, even when several catalogs share a root.
 */
int dscat_cache__mark_version(dscat_store *st, dscat_storage *sto, const char *version_key,
                              dscat_error *err)
{
    char id[64];
    dscat_buf key = DSCAT_BUF_INIT;
    if (dscat_store__catalog_id(st, id, sizeof(id)))
        return dscat_error_set(err, DSCAT_EIO, "the catalog store has no id");
    if (dscat_buf_printf(&key, "%s/%s%s", version_key, DSCAT_CACHE_MARKER, id))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = dscat_storage_put_empty(sto, dscat_buf_cstr(&key), err);
    dscat_buf_free(&key);
    return rc;
}

void dscat_fallbacks_free(dscat_fallbacks *f)
{
    for (size_t i = 0; i < f->count; i++) {
        dscat_free(f->items[i].column);
        dscat_free(f->items[i].storage);
        dscat_free(f->items[i].reason);
    }
    dscat_free(f->items);
    f->items = NULL;
    f->count = 0;
}

int dscat_cache__fallbacks_add(dscat_fallbacks *f, const char *column, const char *storage,
                               const char *reason)
{
    dscat_fallback *g = dscat_realloc(f->items, (f->count + 1) * sizeof(*g));
    if (g == NULL)
        return DSCAT_ENOMEM;
    f->items = g;
    g[f->count] =
        (dscat_fallback){dscat_strdup(column), dscat_strdup(storage), dscat_strdup(reason)};
    if (!g[f->count].column || !g[f->count].storage || !g[f->count].reason) {
        f->count++;
        return DSCAT_ENOMEM;
    }
    f->count++;
    return 0;
}

/* The store keeps a version's fallbacks as a JSON array of {column, storage, reason}. */
static char *fallbacks_json(const dscat_fallbacks *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->count; i++)
        json_array_append_new(a, json_pack("{s:s?, s:s?, s:s?}", "column", f->items[i].column,
                                           "storage", f->items[i].storage, "reason",
                                           f->items[i].reason));
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

int dscat_cache__fallbacks_parse(dscat_fallbacks *f, const char *text)
{
    json_t *a = NULL;
    int rc = text ? dscat_json_parse(&a, text, strlen(text), 0, NULL) : 0;
    if (rc == DSCAT_ENOMEM)
        return rc; /* a fallback lost would have its column read as native */
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *c = json_string_value(json_object_get(v, "column"));
        const char *st = json_string_value(json_object_get(v, "storage"));
        const char *why = json_string_value(json_object_get(v, "reason"));
        if (c && st && why && (rc = dscat_cache__fallbacks_add(f, c, st, why)) != 0)
            break;
    }
    json_decref(a);
    return rc == DSCAT_ENOMEM ? rc : 0;
}

/* Reads the table's cache row (its fallbacks too, for a request that takes this result as its
 * own: its answer names them as the refresh's did), and when its first file was written by a
 * full refresh; 1 when there is one. */
int dscat_cache__read_current(dscat_store *st, const char *conn, const char *schema,
                              const char *table, dscat_table_sync *out, int64_t *last_sync,
                              int64_t *full_us)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(&s, st,
                            "SELECT version, rows, bytes, last_sync_us, fallbacks, "
                            "coalesce(full_us, last_sync_us) FROM table_cache "
                            "WHERE connection_id = ?1 AND schema = ?2 AND name = ?3",
                            NULL))
        return 0;
    dscat_stmt__bind_text(s, 1, conn);
    dscat_stmt__bind_text(s, 2, schema);
    dscat_stmt__bind_text(s, 3, table);
    int found = dscat_stmt__step(s) == DSCAT_STMT_ROW;
    if (found) {
        dscat_free(out->version);
        out->version = dscat_strdup(dscat_stmt__text(s, 0));
        out->rows = dscat_stmt__int64(s, 1);
        out->bytes = dscat_stmt__int64(s, 2);
        *last_sync = dscat_stmt__int64(s, 3);
        *full_us = dscat_stmt__int64(s, 5);
        dscat_fallbacks_free(&out->fallbacks);
        /* out of memory: taken as not found, so that the request refreshes the table itself */
        if (out->version == NULL ||
            dscat_cache__fallbacks_parse(&out->fallbacks, dscat_stmt__text(s, 4)))
            found = 0;
    }
    dscat_stmt__finalize(s);
    return found;
}

static char *text_dup(dscat_stmt *s, int i, bool *nomem)
{
    const char *v = dscat_stmt__text(s, i);
    char *copy = v ? dscat_strdup(v) : NULL;
    *nomem |= v && copy == NULL;
    return copy;
}

int dscat_cache__current(dscat_store *st, const char *conn, const char *schema, const char *table,
                         cache_current *out, dscat_error *err)
{
    dscat_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = dscat_stmt__prepare(&s, st,
                                 "SELECT version, path, files, rows, bytes, full_us, layout, "
                                 "append_key, append_max, fallbacks FROM table_cache "
                                 "WHERE connection_id = ?1 AND schema = ?2 AND name = ?3",
                                 err);
    if (rc)
        return rc;
    dscat_stmt__bind_text(s, 1, conn);
    dscat_stmt__bind_text(s, 2, schema);
    dscat_stmt__bind_text(s, 3, table);
    int found = dscat_stmt__step(s) == DSCAT_STMT_ROW;
    bool nomem = false;
    if (found) {
        out->version = text_dup(s, 0, &nomem);
        out->path = text_dup(s, 1, &nomem);
        out->files = dscat_stmt__int(s, 2);
        out->rows = dscat_stmt__int64(s, 3);
        out->bytes = dscat_stmt__int64(s, 4);
        out->full_us = dscat_stmt__int64(s, 5);
        out->layout = text_dup(s, 6, &nomem);
        out->append_key = text_dup(s, 7, &nomem);
        out->append_max = text_dup(s, 8, &nomem);
        nomem |= dscat_cache__fallbacks_parse(&out->fallbacks, dscat_stmt__text(s, 9)) != 0;
        nomem |= out->version == NULL || out->path == NULL;
        if (out->files < 1)
            out->files = 1;
    }
    dscat_stmt__finalize(s);
    if (nomem) {
        dscat_cache__current_free(out);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    return found;
}

void dscat_cache__current_free(cache_current *c)
{
    dscat_free(c->version);
    dscat_free(c->path);
    dscat_free(c->layout);
    dscat_free(c->append_key);
    dscat_free(c->append_max);
    dscat_fallbacks_free(&c->fallbacks);
    memset(c, 0, sizeof(*c));
}

/* Points the table at the new version and schedules the old one, in one transaction. */
int dscat_cache__swap(dscat_store *st, const dscat_config *cfg, const char *conn,
                      const char *schema, const char *table, const dscat_table_sync *r,
                      const char *path, const cache_publish *p, dscat_error *err)
{
    char when[40];
    int rc = dscat_store__begin(st, err);
    /* The grace counts from inside the transaction: a wait for the store's write lock does not
     * shorten it. */
    dscat_cache__iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    if (rc == 0)
        rc = dscat_store__schedule_cached(st, conn, schema, table, when, err);
    if (rc == 0) {
        char *fb = fallbacks_json(&r->fallbacks);
        dscat_cache_row row = {conn,
                               schema,
                               table,
                               r->version,
                               path,
                               r->version_rows,
                               r->version_bytes,
                               dscat_now_us(),
                               fb ? fb : "[]",
                               p->files,
                               p->layout,
                               p->append_key,
                               p->append_max,
                               p->full_us};
        rc = dscat_store__put_cached(st, &row, err);
        dscat_free(fb);
    }
    if (rc == 0)
        rc = dscat_store__commit(st, err);
    if (rc)
        dscat_store__rollback(st);
    return rc;
}

int dscat_cache__file_name(dscat_buf *b, int i)
{
    return i == 0 ? dscat_buf_puts(b, DSCAT_CACHE_DATA) : dscat_buf_printf(b, "data-%d.parquet", i);
}

int dscat_cache__local_file(dscat_storage *sto, const char *version_path, int i, char **out,
                            dscat_error *err)
{
    *out = NULL;
    const char *key = dscat_storage_key(sto, version_path);
    dscat_buf k = DSCAT_BUF_INIT;
    if (key == NULL)
        return dscat_error_set(err, DSCAT_EIO,
                               "the cached version %s is not under the cache root %s", version_path,
                               dscat_storage_root(sto));
    if (dscat_buf_printf(&k, "%s/", key) || dscat_cache__file_name(&k, i)) {
        dscat_buf_free(&k);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    int rc = dscat_storage_read_path(sto, dscat_buf_cstr(&k), out, err);
    dscat_buf_free(&k);
    return rc;
}
