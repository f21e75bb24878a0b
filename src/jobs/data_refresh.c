/*
 * Refreshing cached tables: one table from its lock to the swap, a pool of workers over the
 * tables of a connection, and the report. Every file goes through the storage table: the
 * Parquet file is written to a staging path, read back whole, then published under the new
 * version's key before the swap makes it current.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
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
    char *tkey = NULL, *file = NULL, *vpath = NULL;
    dscat_buf vkey = DSCAT_BUF_INIT, dkey = DSCAT_BUF_INIT;
    int lockfd = -1;
    bool waited = false;
    int64_t t0 = dscat_monotonic_ms(), started = dscat_now_us(), last_sync = 0;
    const dscat_source_driver *drv = job->target->driver;
    dscat_error *err = &r->error;
    if ((r->rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)))
        goto done;
    if ((r->rc = dscat_cache__catalog_columns(st, job->target, job->database, r->schema, r->table,
                                              &cols, &ncols, err)))
        goto done;
    if ((r->rc = dscat_cache__storage(&sto, cfg, false, err)))
        goto done;
    if ((tkey = dscat_cache__table_key(job->conn, r->schema, r->table)) == NULL) {
        r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((r->rc = dscat_cache__lock_table(sto, tkey, &lockfd, &waited, err)))
        goto done;
    /* Someone was refreshing this table: take their result if they succeeded. */
    if (waited && dscat_cache__read_current(st, job->conn, r->schema, r->table, r, &last_sync) &&
        last_sync >= started) {
        r->joined = true;
        goto done;
    }
    if (drv == NULL || drv->cursor_open == NULL) {
        r->rc = dscat_error_set(err, DSCAT_EINVALID, "%s sources cannot be cached by this build",
                                job->target->type);
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
        dscat_buf_printf(&dkey, "%s/%s", dscat_buf_cstr(&vkey), DSCAT_CACHE_DATA) ||
        (vpath = dscat_storage_path(sto, dscat_buf_cstr(&vkey))) == NULL) {
        r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((r->rc = dscat_storage_stage(sto, dscat_buf_cstr(&dkey), &file, err)) ||
        (r->rc = dscat_cache__mark_version(st, sto, dscat_buf_cstr(&vkey), err)))
        goto done;
    if ((r->rc = dscat_target_resolve(&conn, job->target, err)) ||
        (r->rc = drv->connect(&src, job->target, &conn, job->database, &cfg->settings, err)) ||
        (r->rc = dscat_cache__plan_storage(src, r->schema, r->table, cols, ncols, err)) ||
        (r->rc = write_table(src, job, cols, ncols, file, err)))
        goto done;
    struct stat sb;
    chmod(file, 0600); /* table data: as private as the catalog */
    r->bytes = stat(file, &sb) == 0 ? (int64_t)sb.st_size : 0;
    char warning[600];
    r->rc = dscat_storage_put(sto, file, dscat_buf_cstr(&dkey), warning, sizeof(warning), err);
    if (warning[0])
        sync_warn(r, warning);
    if (r->rc)
        goto done;
    dscat_cache__test_crash("file_closed");
    if ((r->rc = dscat_cache__swap(st, cfg, job->conn, r->schema, r->table, r, vpath, err)))
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
    if (lockfd >= 0)
        close(lockfd);
    dscat_cache__free_columns(cols, ncols);
    dscat_storage_close(sto);
    dscat_free(tkey);
    dscat_free(file);
    dscat_free(vpath);
    dscat_buf_free(&vkey);
    dscat_buf_free(&dkey);
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
    return dscat_cache_refresh_progress(out, cfg, connection_id, schema, table, include_uncached,
                                        NULL, NULL, err);
}

int dscat_cache_refresh_progress(dscat_cache_report **out, const dscat_config *cfg,
                                 const char *connection_id, const char *schema, const char *table,
                                 bool include_uncached, dscat_cache_progress_fn progress,
                                 void *payload, dscat_error *err)
{
    *out = NULL;
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
    dscat_store_close(st);
    st = NULL;
    jobs = dscat_calloc(rep->count + 1, sizeof(*jobs));
    if (jobs == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rep->count; i++)
        jobs[i] =
            (dscat_cache_job){cfg, t, database, connection_id, &rep->tables[i], progress, payload};
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
        dscat_fallbacks_free(&r->tables[i].fallbacks);
    }
    dscat_free(r->tables);
    dscat_free(r->connection_id);
    dscat_warnings_free(&r->warnings);
    dscat_free(r);
}
