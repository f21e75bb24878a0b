/*
 * Refreshing cached tables: one table from its lock to the swap, a pool of workers over the
 * tables of a connection, and the report. Every file goes through the storage table: the
 * Parquet file is written to a staging path, read back whole, then published under the new
 * version's key before the swap makes it current.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adds a warning to a table's result (cleanup failures: never a failed refresh). */
static void sync_warn(dscat_table_sync *r, const char *message)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&b, "%s%s%s", r->warning ? r->warning : "", r->warning ? "; " : "",
                         message))
        return; /* out of memory: the warnings so far stay */
    dscat_free(r->warning);
    r->warning = dscat_buf_detach(&b);
}

/* Streams the table into the staged file: a column changes at most twice (native, text,
 * binary), each change writing the table again. */
static int write_table(dscat_source *src, dscat_cache_job *job, cache_column *cols, size_t ncols,
                       const char *file, dscat_error *err)
{
    dscat_table_sync *r = job->result;
    int rc = DSCAT_CACHE_WRITE_AGAIN;
    for (int attempt = 0; attempt < 3 && rc == DSCAT_CACHE_WRITE_AGAIN; attempt++) {
        rc = dscat_cache__write_parquet(src, r->schema, r->table, cols, ncols, file, &r->rows, job,
                                        err);
        if (rc == DSCAT_CACHE_WRITE_AGAIN)
            unlink(file);
    }
    if (rc == DSCAT_CACHE_WRITE_AGAIN)
        rc = dscat_error_set(err, DSCAT_EQUERY, "%s.%s: values kept changing while written",
                             r->schema, r->table);
    for (size_t i = 0; rc == 0 && i < ncols; i++) {
        dscat_buf why = DSCAT_BUF_INIT;
        if (cols[i].storage != STORE_NATIVE &&
            (dscat_cache__fallback_reason(&why, &cols[i]) ||
             dscat_cache__fallbacks_add(&r->fallbacks, cols[i].name,
                                        dscat_cache_storage_name(cols[i].storage),
                                        dscat_buf_cstr(&why))))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        dscat_buf_free(&why);
    }
    return rc;
}

/* Sets the note of a result (why an append ran as a full refresh); false, for returning. */
static bool full_because(dscat_table_sync *r, const char *why)
{
    dscat_free(r->note);
    r->note = dscat_strdup(why);
    return false;
}

/* The key of a table's append refreshes in its cache entry of targets.toml, or NULL. */
static const char *configured_key(const dscat_target_config *t, const char *schema,
                                  const char *table)
{
    for (size_t i = 0; i < t->ncache; i++)
        if (t->cache[i].mode == DSCAT_CACHE_APPEND && strcmp(t->cache[i].schema, schema) == 0 &&
            strcmp(t->cache[i].table, table) == 0)
            return t->cache[i].append_key;
    return NULL;
}

/* The column called name (exactly), or -1. */
/* The files a version may have: an append to a version that has as many is a full refresh, which
 * writes one (each append copies or links every file, and a query opens them all). */
#define MAX_VERSION_FILES 64
#define DSCAT_STR_(x) #x
#define DSCAT_STR(x) DSCAT_STR_(x)

static long column_index(const cache_column *cols, size_t ncols, const char *name)
{
    for (size_t i = 0; name && i < ncols; i++)
        if (strcmp(cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

/*
 * The column other than k whose name equals k's but for case, or -1. DuckDB, which reads the
 * version's greatest key from its files, matches names without case: it would read that one.
 */
static long case_twin(const cache_column *cols, size_t ncols, size_t k)
{
    dscat_buf a = DSCAT_BUF_INIT, b = DSCAT_BUF_INIT;
    long twin = -1;
    if (dscat_text_fold(&a, cols[k].name, strlen(cols[k].name)) == 0)
        for (size_t i = 0; i < ncols && twin < 0; i++) {
            dscat_buf_reset(&b);
            if (i != k && dscat_text_fold(&b, cols[i].name, strlen(cols[i].name)) == 0 &&
                a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0)
                twin = (long)i;
        }
    dscat_buf_free(&a);
    dscat_buf_free(&b);
    return twin;
}

/*
 * Whether an append can extend the current version: there is one, its last full refresh is
 * recent enough (full_every), and the new file is written exactly as its files are (the same
 * columns, types and fallbacks: the version's fallbacks are applied to cols here). When not,
 * r->note says why, cols are as they came, and the refresh is a full one.
 */
static bool can_append(const dscat_cache_job *job, const cache_current *cur, int found,
                       cache_column *cols, size_t ncols, char **layout, dscat_table_sync *r)
{
    if (found != 1)
        return full_because(r, "the table had no cached version: a full refresh");
    if (job->full_every > 0 && dscat_now_us() - cur->full_us >= job->full_every * 1000000LL)
        return full_because(r, "its last full refresh is older than full_every: a full refresh");
    if (cur->files >= MAX_VERSION_FILES)
        return full_because(
            r, "its cached version has " DSCAT_STR(
                   MAX_VERSION_FILES) " files, the most a version has: a full refresh");
    cache_storage *was = dscat_calloc(ncols + 1, sizeof(*was));
    bool same = was != NULL;
    for (size_t i = 0; same && i < ncols; i++)
        was[i] = cols[i].storage; /* every column's, restored whole when the append cannot be */
    for (size_t i = 0; same && i < ncols; i++) {
        cache_storage want = STORE_NATIVE;
        for (size_t k = 0; k < cur->fallbacks.count; k++)
            if (strcmp(cur->fallbacks.items[k].column, cols[i].name) == 0) {
                const char *st = cur->fallbacks.items[k].storage;
                want = strcmp(st, "binary") == 0    ? STORE_BINARY
                       : strcmp(st, "literal") == 0 ? STORE_LITERAL
                                                    : STORE_TEXT;
            }
        same = cols[i].storage == STORE_NATIVE || cols[i].storage == want;
        cols[i].storage = want;
    }
    char *l = same ? dscat_cache__layout(cols, ncols) : NULL;
    same = l && cur->layout && strcmp(l, cur->layout) == 0;
    for (size_t i = 0; !same && was && i < ncols; i++)
        cols[i].storage = was[i];
    dscat_free(was);
    if (!same) {
        dscat_free(l);
        return full_because(r, "the table's columns (or their storage) differ from its cached "
                               "version's: a full refresh");
    }
    *layout = l;
    return true;
}

/* The local files of a version, for DuckDB. Caller frees each and the array. */
static int version_files(dscat_storage *sto, const cache_current *cur, char ***out,
                         dscat_error *err)
{
    char **f = dscat_calloc((size_t)cur->files + 1, sizeof(char *));
    int rc = f ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < cur->files; i++)
        rc = dscat_cache__local_file(sto, cur->path, i, &f[i], err);
    *out = f;
    return rc;
}

static void free_files(char **f, int n)
{
    for (int i = 0; f && i < n; i++)
        dscat_free(f[i]);
    dscat_free(f);
}

/*
 * The greatest key of the current version: the one kept with it when it was kept for this key,
 * else read from its files (a version written by a full refresh without a key, or for another
 * key). *out NULL when the version holds no value of the key.
 */
static int previous_max(dscat_storage *sto, const cache_current *cur, const char *key,
                        dscat_key_type type, char **out, dscat_error *err)
{
    *out = NULL;
    if (cur->append_key && strcmp(cur->append_key, key) == 0) {
        if (cur->append_max && (*out = dscat_strdup(cur->append_max)) == NULL)
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        return 0;
    }
    char **files = NULL;
    int rc = version_files(sto, cur, &files, err);
    if (rc == 0)
        rc = dscat_cache__key_max(out, (const char *const *)files, (size_t)cur->files, key, type,
                                  err);
    free_files(files, cur->files);
    return rc;
}

/*
 * Publishes an append's version: the previous version's files under the new version's key
 * (hard links, server-side copies: nothing is read here), then the new file as the last one.
 */
static int publish_append(dscat_storage *sto, const cache_current *cur, const char *vkey,
                          char *file, const char *dkey, dscat_table_sync *r, dscat_error *err)
{
    const char *old = dscat_storage_key(sto, cur->path);
    if (old == NULL)
        return dscat_error_set(err, DSCAT_EIO,
                               "the cached version %s is not under the cache root %s", cur->path,
                               dscat_storage_root(sto));
    int rc = 0;
    dscat_buf from = DSCAT_BUF_INIT, to = DSCAT_BUF_INIT;
    for (int i = 0; rc == 0 && i < cur->files; i++) {
        dscat_buf_reset(&from);
        dscat_buf_reset(&to);
        if (dscat_buf_printf(&from, "%s/", old) || dscat_cache__file_name(&from, i) ||
            dscat_buf_printf(&to, "%s/", vkey) || dscat_cache__file_name(&to, i))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else
            rc = dscat_storage_copy(sto, dscat_buf_cstr(&from), dscat_buf_cstr(&to), err);
    }
    dscat_buf_free(&from);
    dscat_buf_free(&to);
    if (rc)
        return rc;
    char warning[600];
    rc = dscat_storage_put(sto, file, dkey, warning, sizeof(warning), err);
    if (warning[0])
        sync_warn(r, warning);
    return rc;
}

static void refresh_table(dscat_cache_job *job)
{
    dscat_table_sync *r = job->result;
    const dscat_config *cfg = job->cfg;
    dscat_store *st = NULL;
    dscat_storage *sto = NULL;
    dscat_source *src = NULL;
    dscat_target_conn conn = {0};
    cache_column *cols = NULL;
    size_t ncols = 0;
    char *tkey = NULL, *file = NULL, *vpath = NULL, *layout = NULL, *prev_max = NULL,
         *new_max = NULL;
    dscat_buf vkey = DSCAT_BUF_INIT, dkey = DSCAT_BUF_INIT, where = DSCAT_BUF_INIT;
    cache_current cur = {0};
    int lockfd = -1, found = 0;
    bool waited = false, locked = false, append = false, marked = false;
    int64_t t0 = dscat_monotonic_ms(), started = dscat_now_us(), last_sync = 0;
    const dscat_source_driver *drv = job->target->driver;
    dscat_key_type ktype = DSCAT_KEY_INTEGER;
    dscat_error *err = &r->error;
    if ((r->rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)))
        goto done;
    if ((r->rc = dscat_cache__catalog_columns(st, job->target, job->database, r->schema, r->table,
                                              &cols, &ncols, err)))
        goto done;
    /* The key: the one asked for must be a column of the table, of a type compared exactly; the
     * one of the table's cache entry is kept with a full refresh's version when it can be. */
    const char *key =
        job->append_key ? job->append_key : configured_key(job->target, r->schema, r->table);
    long kc = column_index(cols, ncols, key);
    if (job->append_key && kc < 0) {
        r->rc = dscat_error_set(err, DSCAT_EINVALID,
                                "append key '%s' is not a column of %s.%s in the catalog",
                                job->append_key, r->schema, r->table);
        goto done;
    }
    long twin = kc >= 0 ? case_twin(cols, ncols, (size_t)kc) : -1;
    if (twin >= 0)
        r->rc = dscat_error_set(err, DSCAT_EINVALID,
                                "column %s cannot be an append key: column %s has the same name "
                                "but for case, and the cache's files are read without case",
                                cols[kc].name, cols[twin].name);
    if (kc >= 0 && (r->rc || (r->rc = dscat_cache__key_type(&cols[kc], drv, &ktype, err)))) {
        if (job->append_key)
            goto done;
        r->rc = 0; /* a full refresh: the entry's key is checked when an append runs */
        dscat_error_clear(err);
        kc = -1;
    }
    if ((r->rc = dscat_cache__storage(&sto, cfg, false, err)))
        goto done;
    if ((tkey = dscat_cache__table_key(job->conn, r->schema, r->table)) == NULL) {
        r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    /* The rows of the version before any wait: a request that takes an append's result counts
     * the rows added since it asked. */
    int64_t before_rows = -1, before_bytes = 0, full_us = 0;
    dscat_table_sync pre = {0};
    if (dscat_cache__read_current(st, job->conn, r->schema, r->table, &pre, &last_sync, &full_us))
        before_rows = pre.rows, before_bytes = pre.bytes;
    dscat_free(pre.version);
    dscat_fallbacks_free(&pre.fallbacks);
    if ((r->rc = dscat_cache__lock_table(st, sto, tkey, &lockfd, &waited, err)))
        goto done;
    locked = true;
    /* Someone was refreshing this table: take their result if they succeeded (a full refresh's
     * rows, or an append's new rows), as what ran. Read aside: only a result taken as this one's
     * goes into r (a refresh of its own starts from nothing, its fallbacks found anew). */
    dscat_table_sync got = {0};
    if (waited &&
        dscat_cache__read_current(st, job->conn, r->schema, r->table, &got, &last_sync, &full_us) &&
        last_sync >= started) {
        r->joined = true;
        dscat_free(r->version);
        dscat_fallbacks_free(&r->fallbacks);
        r->version = got.version;
        r->fallbacks = got.fallbacks;
        r->rows = r->version_rows = got.rows;
        r->bytes = r->version_bytes = got.bytes;
        bool full = full_us >= started || before_rows < 0 || before_rows > r->rows ||
                    before_bytes > r->bytes;
        r->kind = full ? "full" : "append";
        if (!full) {
            r->rows -= before_rows;
            r->bytes -= before_bytes;
        }
        goto done;
    }
    dscat_free(got.version);
    dscat_fallbacks_free(&got.fallbacks);
    if (drv == NULL || drv->cursor_open == NULL) {
        r->rc = dscat_error_set(err, DSCAT_EINVALID, "%s sources cannot be cached by this build",
                                job->target->type);
        goto done;
    }
    if ((found = dscat_cache__current(st, job->conn, r->schema, r->table, &cur, err)) < 0) {
        r->rc = found;
        goto done;
    }
    char version[64];
    dscat_cache__make_version(version, sizeof(version));
    dscat_free(r->version);
    if ((r->version = dscat_strdup(version)) == NULL) {
        r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (dscat_buf_printf(&vkey, "%s/%s", tkey, version) ||
        (vpath = dscat_storage_path(sto, dscat_buf_cstr(&vkey))) == NULL) {
        r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((r->rc = dscat_target_resolve(&conn, job->target, err)) ||
        (r->rc = drv->connect(&src, job->target, &conn, job->database, &cfg->settings, err)) ||
        (r->rc = dscat_cache__plan_storage(src, r->schema, r->table, cols, ncols, err)))
        goto done;
    /* Where types are not enforced (SQLite), a text key must hold text only: numbers and bytes
     * are ordered apart from text there, and the cache holds them as their text. A key of the
     * table's cache entry that cannot be one is not kept (a full refresh, as above). */
    if (kc >= 0 && ktype == DSCAT_KEY_TEXT && (cols[kc].classes & ~(unsigned)DSCAT_CLASS_TEXT)) {
        if (job->append_key) {
            r->rc = dscat_error_set(err, DSCAT_EINVALID,
                                    "column %s cannot be an append key: it holds numbers or "
                                    "bytes as well as text, which %s orders apart from text (use "
                                    "a column that holds one kind of value)",
                                    cols[kc].name, job->target->type);
            goto done;
        }
        kc = -1;
    }
    append = job->append_key && can_append(job, &cur, found, cols, ncols, &layout, r);
    if (append && cols[kc].storage != STORE_NATIVE) {
        r->rc = dscat_cache__key_type(&cols[kc], drv, &ktype, err); /* names the fallback */
        goto done;
    }
    if (append && (r->rc = previous_max(sto, &cur, key, ktype, &prev_max, err)))
        goto done;
    if (append && prev_max == NULL)
        append = full_because(r, "the cached version holds no value of the key yet: a full "
                                 "refresh");
    if (append) {
        /* The server filters: only rows past the version's greatest key are sent. */
        dscat_key_bound kb = {key, cols[kc].source_type, ktype, prev_max};
        int p = drv->key_predicate(&where, &kb);
        if (p || dscat_buf_error(&where)) {
            r->rc = p == DSCAT_EINVALID
                        ? dscat_error_set(err, p,
                                          "the greatest %s of the cached version, %s, "
                                          "cannot be written as a literal of %s",
                                          key, prev_max, cols[kc].source_type)
                        : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        src->where = dscat_buf_cstr(&where);
        if (dscat_buf_printf(&dkey, "%s/", dscat_buf_cstr(&vkey)) ||
            dscat_cache__file_name(&dkey, cur.files)) {
            r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        /* The marker first: it creates the version with it, so that a process killed at any
         * point leaves a version the orphan rule recognises as this catalog's. */
        if ((r->rc = dscat_cache__mark_version(st, sto, dscat_buf_cstr(&vkey), err)) ||
            (r->rc = dscat_storage_stage(sto, dscat_buf_cstr(&dkey), &file, err)))
            goto done;
        marked = true; /* kept should the append turn into a full refresh */
        r->rc = dscat_cache__write_parquet(src, r->schema, r->table, cols, ncols, file, &r->rows,
                                           job, err);
        src->where = NULL;
        if (r->rc == DSCAT_CACHE_WRITE_AGAIN) {
            /* A new value needs a fallback the version's files do not have: the whole table
             * is written again, with the fallbacks it needs now. */
            unlink(file);
            dscat_free(file);
            file = NULL;
            dscat_buf_reset(&dkey);
            r->rc = 0;
            append = full_because(r, "a new value needs a column stored in a fallback: a full "
                                     "refresh");
        } else if (r->rc) {
            goto done;
        }
    }
    if (append && r->rows == 0) {
        /* Nothing new: no version is published, the current one stays. */
        dscat_error e2 = {0};
        dscat_buf prefix = DSCAT_BUF_INIT;
        unlink(file);
        if (dscat_buf_printf(&prefix, "%s/", dscat_buf_cstr(&vkey)) == 0 &&
            dscat_storage_delete_prefix(sto, dscat_buf_cstr(&prefix), &e2))
            sync_warn(r, e2.message);
        dscat_buf_free(&prefix);
        dscat_buf_reset(&vkey); /* nothing of it is left to clean up */
        dscat_free(r->version);
        if ((r->version = dscat_strdup(cur.version)) == NULL) {
            r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        r->kind = "append";
        r->unchanged = true;
        r->version_rows = cur.rows;
        r->version_bytes = cur.bytes;
        r->files = cur.files;
        r->bytes = 0;
        goto done;
    }
    if (!append) {
        dscat_buf_reset(&dkey);
        if (dscat_buf_printf(&dkey, "%s/%s", dscat_buf_cstr(&vkey), DSCAT_CACHE_DATA) ||
            (!marked && (r->rc = dscat_cache__mark_version(st, sto, dscat_buf_cstr(&vkey), err))) ||
            (r->rc = dscat_storage_stage(sto, dscat_buf_cstr(&dkey), &file, err)) ||
            (r->rc = write_table(src, job, cols, ncols, file, err))) {
            if (r->rc == 0)
                r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        dscat_free(layout);
        if ((layout = dscat_cache__layout(cols, ncols)) == NULL) {
            r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
    } else {
        /* The version keeps the fallbacks of its files. */
        for (size_t k = 0; k < cur.fallbacks.count; k++)
            if (dscat_cache__fallbacks_add(&r->fallbacks, cur.fallbacks.items[k].column,
                                           cur.fallbacks.items[k].storage,
                                           cur.fallbacks.items[k].reason)) {
                r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                goto done;
            }
    }
    /* The greatest key of what this refresh wrote: of the whole version for a full refresh, of
     * the new rows (all above the previous greatest) for an append. */
    if (kc >= 0 && !append && cols[kc].storage != STORE_NATIVE)
        kc = -1; /* the key's values needed a fallback: no exact maximum to keep */
    if (kc >= 0) {
        const char *one[1] = {file};
        if ((r->rc = dscat_cache__key_max(&new_max, one, 1, key, ktype, err)) && append)
            goto done;
        if (r->rc) { /* a full refresh keeps no maximum; an append will say why it cannot */
            r->rc = 0;
            dscat_error_clear(err);
            kc = -1;
        }
    }
    struct stat sb;
    chmod(file, 0600); /* table data: as private as the catalog */
    r->bytes = stat(file, &sb) == 0 ? (int64_t)sb.st_size : 0;
    r->kind = append ? "append" : "full";
    r->files = append ? cur.files + 1 : 1;
    r->version_rows = append ? cur.rows + r->rows : r->rows;
    r->version_bytes = append ? cur.bytes + r->bytes : r->bytes;
    if (append) {
        r->rc =
            publish_append(sto, &cur, dscat_buf_cstr(&vkey), file, dscat_buf_cstr(&dkey), r, err);
    } else {
        char warning[600];
        r->rc = dscat_storage_put(sto, file, dscat_buf_cstr(&dkey), warning, sizeof(warning), err);
        if (warning[0])
            sync_warn(r, warning);
    }
    if (r->rc)
        goto done;
    dscat_cache__test_crash("file_closed");
    cache_publish pub = {r->files, layout, kc >= 0 ? key : NULL, kc >= 0 ? new_max : NULL,
                         append ? cur.full_us : dscat_now_us()};
    if ((r->rc = dscat_cache__swap(st, cfg, job->conn, r->schema, r->table, r, vpath, &pub, err)))
        goto done;
    dscat_cache__test_crash("swap_committed");
    dscat_cache__test_crash("old_scheduled");
done:
    if (r->rc && vkey.len && !r->joined) {
        /* A failed refresh leaves nothing behind: the old version stays current and whole. */
        dscat_error e2 = {0};
        dscat_buf prefix = DSCAT_BUF_INIT;
        if (file)
            unlink(file);
        if (dscat_buf_printf(&prefix, "%s/", dscat_buf_cstr(&vkey)) == 0 &&
            dscat_storage_delete_prefix(sto, dscat_buf_cstr(&prefix), &e2))
            sync_warn(r, e2.message); /* a failed cleanup is a warning, never a failure */
        dscat_buf_free(&prefix);
    }
    if (src)
        drv->close(src);
    dscat_target_conn_free(&conn);
    if (locked)
        dscat_cache__unlock_table(st, tkey, lockfd);
    dscat_cache__free_columns(cols, ncols);
    dscat_cache__current_free(&cur);
    dscat_storage_close(sto);
    dscat_free(tkey);
    dscat_free(file);
    dscat_free(vpath);
    dscat_free(layout);
    dscat_free(prev_max);
    dscat_free(new_max);
    dscat_buf_free(&vkey);
    dscat_buf_free(&dkey);
    dscat_buf_free(&where);
    dscat_store_close(st);
    r->duration_ms = dscat_monotonic_ms() - t0;
    if (job->progress) {
        dscat_cache_progress p = {r->schema,      r->table, r->rows, r->bytes,
                                  r->duration_ms, true,     r->rc};
        job->progress(&p, job->payload);
    }
}

typedef struct pool {
    dscat_cache_job *jobs;
    size_t count, next;
    pthread_mutex_t lock;
} pool;

/* The cache root, checked before any work: S3 needs a well-formed URL and credentials. */
static int check_root(const dscat_config *cfg, dscat_error *err)
{
    dscat_storage *sto = NULL;
    int rc = dscat_cache__storage(&sto, cfg, true, err);
    dscat_storage_close(sto);
    return rc;
}

static void *pool_worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->count ? p->next++ : p->count;
        pthread_mutex_unlock(&p->lock);
        if (i == p->count)
            return NULL;
        refresh_table(&p->jobs[i]);
    }
}

/* The tables to refresh for a whole connection: cached ones, or all catalogued ones. */
static int connection_tables(dscat_store *st, const dscat_target_config *t, const char *database,
                             const char *conn, bool all, dscat_cache_report *rep, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(
        &s, st,
        all ? "SELECT t.schema, t.name FROM " DSCAT_CURRENT_TABLES " t WHERE t.target = ?1 "
              "AND t.database = ?2 ORDER BY t.schema, t.name"
            : "SELECT schema, name FROM table_cache WHERE connection_id = ?3 "
              "AND ?1 IS NOT NULL AND ?2 IS NOT NULL ORDER BY schema, name",
        err);
    if (rc)
        return rc;
    dscat_stmt__bind_text(s, 1, t->key);
    dscat_stmt__bind_text(s, 2, database);
    dscat_stmt__bind_text(s, 3, conn);
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        dscat_table_sync *g = dscat_realloc(rep->tables, (rep->count + 1) * sizeof(*g));
        if (g == NULL) {
            dscat_stmt__finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        rep->tables = g;
        memset(&g[rep->count], 0, sizeof(*g));
        g[rep->count].schema = dscat_strdup(dscat_stmt__text(s, 0));
        g[rep->count].table = dscat_strdup(dscat_stmt__text(s, 1));
        rep->count++;
    }
    dscat_stmt__finalize(s);
    return 0;
}

int dscat_cache_refresh(dscat_cache_report **out, const dscat_config *cfg,
                        const char *connection_id, const char *schema, const char *table,
                        bool include_uncached, dscat_error *err)
{
    dscat_cache_refresh_opts o = {.include_uncached = include_uncached};
    return dscat_cache_refresh_with(out, cfg, connection_id, schema, table, &o, err);
}

int dscat_cache_refresh_progress(dscat_cache_report **out, const dscat_config *cfg,
                                 const char *connection_id, const char *schema, const char *table,
                                 bool include_uncached, dscat_cache_progress_fn progress,
                                 void *payload, dscat_error *err)
{
    dscat_cache_refresh_opts o = {
        .include_uncached = include_uncached, .progress = progress, .payload = payload};
    return dscat_cache_refresh_with(out, cfg, connection_id, schema, table, &o, err);
}

/*
 * An append refresh's key, checked before anything runs: one table, a column of it in the
 * catalog, of a type compared exactly.
 */
static int check_append_key(dscat_store *st, const dscat_target_config *t, const char *database,
                            const char *schema, const char *table, const char *key,
                            dscat_error *err)
{
    if (table == NULL)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "an append refresh names one table (schema and table)");
    cache_column *cols = NULL;
    size_t n = 0;
    int rc = dscat_cache__catalog_columns(st, t, database, schema, table, &cols, &n, err);
    long kc = rc ? -1 : column_index(cols, n, key);
    dscat_key_type type;
    if (rc == 0 && kc < 0)
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "append key '%s' is not a column of %s.%s in the catalog", key, schema,
                             table);
    else if (rc == 0)
        rc = dscat_cache__key_type(&cols[kc], t->driver, &type, err);
    dscat_cache__free_columns(cols, n);
    return rc;
}

int dscat_cache_refresh_with(dscat_cache_report **out, const dscat_config *cfg,
                             const char *connection_id, const char *schema, const char *table,
                             const dscat_cache_refresh_opts *opts, dscat_error *err)
{
    *out = NULL;
    static const dscat_cache_refresh_opts none = {0};
    const dscat_cache_refresh_opts *o = opts ? opts : &none;
    bool include_uncached = o->include_uncached;
    dscat_store *st = NULL;
    const dscat_target_config *t = NULL;
    char *database = NULL;
    dscat_cache_job *jobs = NULL;
    int64_t t0 = dscat_monotonic_ms();
    int rc;
    dscat_cache_report *rep = dscat_calloc(1, sizeof(*rep));
    if (rep == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    rep->connection_id = dscat_strdup(connection_id);
    if ((rc = check_root(cfg, err)) ||
        (rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)) ||
        (rc = dscat_connection_resolve(cfg, connection_id, &t, &database, err)))
        goto done;
    if (table) {
        cache_column *cols = NULL;
        size_t n = 0;
        if ((rc = dscat_cache__catalog_columns(st, t, database, schema, table, &cols, &n, err))) {
            dscat_cache__free_columns(cols, n);
            if (rc == DSCAT_ENOTFOUND)
                dscat_error_set(err, rc, "table '%s.%s' not found", schema, table);
            goto done;
        }
        dscat_cache__free_columns(cols, n);
        rep->tables = dscat_calloc(1, sizeof(*rep->tables));
        if (rep->tables == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        rep->tables[0].schema = dscat_strdup(schema);
        rep->tables[0].table = dscat_strdup(table);
        rep->count = 1;
        if (rep->tables[0].schema == NULL || rep->tables[0].table == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
    } else if ((rc = connection_tables(st, t, database, connection_id, include_uncached, rep,
                                       err))) {
        goto done;
    }
    if (o->append_key &&
        (rc = check_append_key(st, t, database, schema, table, o->append_key, err)))
        goto done;
    dscat_store_close(st);
    st = NULL;
    jobs = dscat_calloc(rep->count + 1, sizeof(*jobs));
    if (jobs == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rep->count; i++)
        jobs[i] = (dscat_cache_job){
            cfg,         t,          database,      connection_id, &rep->tables[i],
            o->progress, o->payload, o->append_key, o->full_every};
    pool p = {jobs, rep->count, 0, PTHREAD_MUTEX_INITIALIZER};
    int nthreads = cfg->settings.refresh_parallelism;
    if ((size_t)nthreads > rep->count)
        nthreads = (int)rep->count;
    pthread_t threads[64];
    int started = 0;
    for (; started < nthreads && started < 64; started++)
        if (pthread_create(&threads[started], NULL, pool_worker, &p) != 0)
            break;
    if (started == 0)
        pool_worker(&p);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < rep->count; i++) {
        if (rep->tables[i].rc)
            rep->failed++;
        else
            rep->total_rows += rep->tables[i].rows;
        if (rep->tables[i].warning)
            dscat_cache__table_warn(&rep->warnings, rep->tables[i].schema, rep->tables[i].table,
                                    rep->tables[i].warning);
        const dscat_fallbacks *fb = &rep->tables[i].fallbacks;
        for (size_t k = 0; rep->tables[i].rc == 0 && k < fb->count; k++) {
            dscat_buf m = DSCAT_BUF_INIT;
            if (dscat_buf_printf(&m, "column %s is stored as %s: %s", fb->items[k].column,
                                 fb->items[k].storage, fb->items[k].reason) == 0)
                dscat_cache__table_warn(&rep->warnings, rep->tables[i].schema, rep->tables[i].table,
                                        dscat_buf_cstr(&m));
            dscat_buf_free(&m);
        }
    }
done:
    rep->duration_ms = dscat_monotonic_ms() - t0;
    dscat_store_close(st);
    dscat_free(database);
    dscat_free(jobs);
    if (rc) {
        dscat_cache_report_free(rep);
        return rc;
    }
    *out = rep;
    return 0;
}

void dscat_cache_report_free(dscat_cache_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; i++) {
        dscat_free(r->tables[i].schema);
        dscat_free(r->tables[i].table);
        dscat_free(r->tables[i].version);
        dscat_free(r->tables[i].warning);
        dscat_free(r->tables[i].note);
        dscat_fallbacks_free(&r->tables[i].fallbacks);
    }
    dscat_free(r->tables);
    dscat_free(r->connection_id);
    dscat_warnings_free(&r->warnings);
    dscat_free(r);
}
