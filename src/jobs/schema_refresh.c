/*
 * The refresh job (SPEC §2.3, ARCHITECTURE "Schema refresh").
 *
 * A pool of parallel_scans worker threads takes jobs from one queue. A target job resolves the
 * target's credentials, connects, lists its databases and queues one database job each; a
 * database job scans one database on its own connection. When the queue is drained, the main
 * thread writes every scanned target into the store in one transaction and rewrites the exports.
 * Nothing is written when no target could be scanned.
 */
#include "export/ahead.h"
#include "store/store.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/timeutil.h"
#include "sources/source.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * A database of a target that the target listed but that could not be scanned this time: its
 * problem (an index into the target's problems), and, once the store has been read, the scan and
 * time its catalog is kept from (kept_from 0: it had none to keep).
 */
typedef struct unscanned_db {
    char *database;
    size_t problem;
    int64_t kept_from, scanned_at_us;
} unscanned_db;

typedef struct target_state {
    const dscat_target_config *cfg;
    dscat_target_conn conn;
    bool failed;
    dscat_error error;
    int64_t started_us, t0_ms, t1_ms;
    long queries;
    DSCAT_VEC(dscat_db_scan *) scans;
    DSCAT_VEC(dscat_scan_problem) problems;
    DSCAT_VEC(unscanned_db) unscanned;
} target_state;

typedef struct job {
    size_t target;
    char *database;      /* NULL: the target job */
    dscat_source *reuse; /* a connection already in this database, or NULL */
} job;

typedef struct run_state {
    const dscat_config *cfg;
    const dscat_refresh_options *opts;
    target_state *targets;
    size_t ntargets;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    DSCAT_VEC(job) queue;
    size_t head;
    int active;
    bool out_of_memory;
} run_state;

/* Pushes onto a DSCAT_VEC; returns DSCAT_ENOMEM when it cannot grow. */
#define PUSH(v, value)                                                                             \
    (((v).count == (v).cap && grow_vec((void **)&(v).items, &(v).cap, sizeof(*(v).items)))         \
         ? DSCAT_ENOMEM                                                                            \
         : ((v).items[(v).count++] = (value), 0))

static int grow_vec(void **items, size_t *cap, size_t elem)
{
    size_t n = *cap ? *cap * 2 : 16;
    void *p = dscat_realloc(*items, n * elem);
    if (p == NULL)
        return DSCAT_ENOMEM;
    *items = p;
    *cap = n;
    return 0;
}

static void progress(run_state *rs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(run_state *rs, const char *fmt, ...)
{
    if (rs->opts->progress == NULL)
        return;
    dscat_buf line = DSCAT_BUF_INIT; /* names of any length: no fixed-size line */
    va_list ap;
    va_start(ap, fmt);
    int rc = dscat_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rs->opts->progress(dscat_buf_cstr(&line), rs->opts->payload);
    dscat_buf_free(&line);
}

/* Records a problem for a target; called with the lock held. */
static void add_problem(run_state *rs, target_state *t, const char *db, const char *schema,
                        const char *message)
{
    dscat_scan_problem p = {dscat_strdup(db), dscat_strdup(schema), dscat_strdup(message), false};
    if (p.message == NULL || PUSH(t->problems, p)) {
        dscat_free(p.database);
        dscat_free(p.schema);
        dscat_free(p.message);
        rs->out_of_memory = true;
    }
}

static void enqueue(run_state *rs, job j)
{
    if (PUSH(rs->queue, j)) {
        dscat_free(j.database);
        rs->out_of_memory = true;
    }
}

/*
 * Applies the schema and table globs and max_tables_per_db to a finished database scan by
 * marking tables excluded. Over the limit, the first tables by schema and name are kept.
 */
static void apply_filters(const dscat_target_config *t, const dscat_settings *s, dscat_db_scan *d,
                          dscat_error *note)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->tables.count; i++) {
        dscat_table_info *ti = &d->tables.items[i];
        ti->excluded = !dscat_glob_list_match(&t->include_schemas, ti->schema, true) ||
                       dscat_glob_list_match(&t->exclude_schemas, ti->schema, false) ||
                       !dscat_glob_list_match(&t->include_tables, ti->name, true) ||
                       dscat_glob_list_match(&t->exclude_tables, ti->name, false);
        if (!ti->excluded)
            kept++;
    }
    if (s->max_tables_per_db > 0 && kept > (size_t)s->max_tables_per_db) {
        size_t n = 0;
        for (size_t i = 0; i < d->tables.count; i++)
            if (!d->tables.items[i].excluded && ++n > (size_t)s->max_tables_per_db)
                d->tables.items[i].excluded = true;
        dscat_error_set(note, DSCAT_ECONFLICT,
                        "database %s has %zu tables; the first %d were catalogued "
                        "(max_tables_per_db)",
                        d->database, kept, s->max_tables_per_db);
    }
}

/*
 * Profiles every catalogued table of a scan, one query per table. A table whose profile fails
 * becomes a problem and keeps its metadata; the others go on.
 */
static void profile_scan(run_state *rs, dscat_source *src, dscat_db_scan *scan)
{
    size_t nt = scan->tables.count, nc = scan->columns.count;
    size_t *start = dscat_calloc(nt + 1, sizeof(size_t));
    size_t *order = dscat_calloc(nc + 1, sizeof(size_t));
    if (start == NULL || order == NULL) {
        rs->out_of_memory = true;
        goto done;
    }
    /* Bucket the columns by table (counting sort), so each table's list is contiguous. */
    for (size_t i = 0; i < nc; i++)
        start[scan->columns.items[i].table + 1]++;
    for (size_t t = 0; t < nt; t++)
        start[t + 1] += start[t];
    size_t *fill = dscat_calloc(nt + 1, sizeof(size_t));
    if (fill == NULL) {
        rs->out_of_memory = true;
        goto done;
    }
    for (size_t i = 0; i < nc; i++) {
        size_t t = scan->columns.items[i].table;
        order[start[t] + fill[t]++] = i;
    }
    dscat_free(fill);
    for (size_t t = 0; t < nt; t++) {
        if (scan->tables.items[t].excluded || start[t + 1] == start[t])
            continue;
        dscat_error err = {0};
        if (src->driver->profile_table(src, scan, t, order + start[t], start[t + 1] - start[t],
                                       rs->cfg->settings.profile_sample_size, &err)) {
            dscat_buf msg = DSCAT_BUF_INIT;
            if (dscat_buf_printf(&msg, "profile of %s.%s failed: %s", scan->tables.items[t].schema,
                                 scan->tables.items[t].name, err.message) ||
                dscat_db_scan_add_problem(scan, scan->tables.items[t].schema, dscat_buf_cstr(&msg)))
                rs->out_of_memory = true;
            dscat_buf_free(&msg);
        }
    }
done:
    dscat_free(start);
    dscat_free(order);
}

/*
 * A login refused because the server, the role or the database is at its connection limit
 * (PostgreSQL 53300, whose login failures carry no SQLSTATE here: "too many connections/clients",
 * "remaining connection slots are reserved"; MariaDB/MySQL 1040, 1203). The scans of the
 * other databases hold a second connection each for a moment, so such a refusal is worth a few
 * short retries before it counts as the database's failure.
 */
static bool connection_limit(const dscat_error *e)
{
    return strcmp(e->sqlstate, "53300") == 0 || strcmp(e->sqlstate, "1040") == 0 ||
           strcmp(e->sqlstate, "1203") == 0 || strstr(e->message, "too many connections") ||
           strstr(e->message, "too many clients") ||
           strstr(e->message, "remaining connection slots are reserved");
}

static void run_database_job(run_state *rs, job *j)
{
    target_state *t = &rs->targets[j->target];
    const dscat_source_driver *drv = t->cfg->driver;
    dscat_source *src = j->reuse;
    dscat_db_scan *scan = NULL;
    dscat_error err = {0};
    int rc = 0;
    if (src == NULL)
        rc = drv->connect(&src, t->cfg, &t->conn, j->database, &rs->cfg->settings, &err);
    for (int wait_ms = 100; rc && src == NULL && connection_limit(&err) && wait_ms <= 1600;
         wait_ms *= 2) { /* 100 ms to 1.6 s: 3.1 s in all */
        struct timespec ts = {0, (long)wait_ms * 1000000L};
        while (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        nanosleep(&ts, NULL);
        dscat_error_clear(&err);
        rc = drv->connect(&src, t->cfg, &t->conn, j->database, &rs->cfg->settings, &err);
    }
    if (rc == 0) {
        scan = dscat_calloc(1, sizeof(*scan));
        rc = scan && dscat_db_scan_init(scan, j->database) == 0
                 ? 0
                 : dscat_error_set(&err, DSCAT_ENOMEM, "out of memory");
    }
    if (rc == 0) {
        scan->scanned_at_us = dscat_now_us();
        src->profile = rs->opts->profile;
        rc = drv->scan_database(src, scan, &err);
    }
    dscat_error note = {0};
    if (rc == 0)
        apply_filters(t->cfg, &rs->cfg->settings, scan, &note);
    if (rc == 0 && rs->opts->profile)
        profile_scan(rs, src, scan);
    long queries = src ? src->queries : 0;
    if (src)
        drv->close(src);

    pthread_mutex_lock(&rs->lock);
    t->queries += queries;
    t->t1_ms = dscat_monotonic_ms();
    if (rc == 0) {
        for (size_t i = 0; i < scan->problems.count; i++)
            add_problem(rs, t, scan->problems.items[i].database, scan->problems.items[i].schema,
                        scan->problems.items[i].message);
        if (note.code)
            add_problem(rs, t, j->database, NULL, note.message);
        if (PUSH(t->scans, scan))
            rs->out_of_memory = true;
        else
            scan = NULL;
    } else {
        add_problem(rs, t, j->database, NULL, err.message);
        if (!rs->out_of_memory)
            t->problems.items[t->problems.count - 1].unscanned = true;
        unscanned_db u = {dscat_strdup(j->database), t->problems.count - 1, 0, 0};
        if (rs->out_of_memory || u.database == NULL || PUSH(t->unscanned, u)) {
            dscat_free(u.database);
            rs->out_of_memory = true;
        }
    }
    pthread_mutex_unlock(&rs->lock);
    if (scan) {
        dscat_db_scan_free(scan);
        dscat_free(scan);
    }
    if (rc == 0)
        progress(rs, "%s: database %s scanned", t->cfg->key, j->database);
    else
        progress(rs, "%s: database %s not scanned: %s", t->cfg->key, j->database, err.message);
}

/*
 * A database named exactly (no glob) in include_databases that the server did not list is
 * either absent or hidden from this user: a problem, not silence. Called with the lock held.
 */
static void report_missing_databases(run_state *rs, target_state *t, const dscat_name_list *dbs)
{
    const dscat_string_list *inc = &t->cfg->include_databases;
    for (size_t i = 0; inc->set && i < inc->count; i++) {
        const char *want = inc->items[i];
        if (strpbrk(want, "*?[") != NULL)
            continue;
        bool found = false;
        for (size_t k = 0; k < dbs->count && !found; k++)
            found = strcmp(dbs->names[k], want) == 0;
        if (!found)
            add_problem(rs, t, want, NULL, "database not found or not readable by this user");
    }
}

static void run_target_job(run_state *rs, job *j)
{
    target_state *t = &rs->targets[j->target];
    const dscat_target_config *cfg = t->cfg;
    const dscat_source_driver *drv = cfg->driver;
    dscat_source *src = NULL;
    dscat_name_list dbs = {0};
    dscat_error err = {0};
    int rc;
    t->started_us = dscat_now_us();
    t->t0_ms = t->t1_ms = dscat_monotonic_ms();
    progress(rs, "%s: connecting", cfg->key);
    if (drv == NULL)
        rc = dscat_error_set(&err, DSCAT_EINVALID,
                             "target %s: %s sources are not supported by this build", cfg->key,
                             cfg->type);
    else
        rc = dscat_target_resolve(&t->conn, cfg, &err);
    if (rc == 0)
        rc = drv->connect(&src, cfg, &t->conn, NULL, &rs->cfg->settings, &err);
    if (rc == 0)
        rc = drv->list_databases(src, &dbs, &err);

    pthread_mutex_lock(&rs->lock);
    t->t1_ms = dscat_monotonic_ms();
    if (rc) {
        t->failed = true;
        t->error = err;
    } else {
        t->queries += src->queries;
        src->queries = 0;
        for (size_t i = 0; i < dbs.count; i++) {
            const char *name = dbs.names[i];
            if (!dscat_glob_list_match(&cfg->include_databases, name, true) ||
                dscat_glob_list_match(&cfg->exclude_databases, name, false))
                continue;
            /* A name the catalog cannot hold (a PostgreSQL cluster in SQL_ASCII lists bytes as
             * they are) is named as a problem, escaped, never catalogued under altered bytes. */
            if (!dscat_db_scan_valid_utf8(name)) {
                dscat_buf m = DSCAT_BUF_INIT;
                dscat_buf_puts(&m, "database ");
                dscat_text_plain(&m, name, strlen(name));
                dscat_buf_puts(&m, ": name is not valid UTF-8; not catalogued");
                if (dscat_buf_error(&m))
                    rs->out_of_memory = true;
                else
                    add_problem(rs, t, NULL, NULL, dscat_buf_cstr(&m));
                dscat_buf_free(&m);
                continue;
            }
            job dj = {j->target, dscat_strdup(name), NULL};
            if (dj.database == NULL) {
                rs->out_of_memory = true;
                continue;
            }
            if (src && src->database && strcmp(name, src->database) == 0) {
                dj.reuse = src; /* the first job in the connected database keeps this one */
                src = NULL;
            }
            enqueue(rs, dj);
        }
        report_missing_databases(rs, t, &dbs);
        pthread_cond_broadcast(&rs->changed);
    }
    pthread_mutex_unlock(&rs->lock);
    if (src)
        drv->close(src);
    dscat_name_list_free(&dbs);
    if (rc)
        progress(rs, "%s: failed: %s", cfg->key, err.message);
}

static void *worker(void *arg)
{
    run_state *rs = arg;
    pthread_mutex_lock(&rs->lock);
    for (;;) {
        while (rs->head == rs->queue.count && rs->active > 0)
            pthread_cond_wait(&rs->changed, &rs->lock);
        if (rs->head == rs->queue.count)
            break; /* nothing queued and nobody who could queue more */
        job j = rs->queue.items[rs->head++];
        rs->active++;
        pthread_mutex_unlock(&rs->lock);
        if (j.database)
            run_database_job(rs, &j);
        else
            run_target_job(rs, &j);
        dscat_free(j.database);
        pthread_mutex_lock(&rs->lock);
        rs->active--;
        pthread_cond_broadcast(&rs->changed);
    }
    pthread_cond_broadcast(&rs->changed);
    pthread_mutex_unlock(&rs->lock);
    return NULL;
}

/* Runs every queued target job to the end with up to parallel_scans threads. */
static int run_jobs(run_state *rs, dscat_error *err)
{
    int n = rs->cfg->settings.parallel_scans;
    if (n < 1)
        n = 1;
    if (n > 64)
        n = 64;
    pthread_t threads[64];
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&threads[started], NULL, worker, rs) != 0)
            break;
    if (started == 0)
        worker(rs);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (rs->out_of_memory)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory during the scan");
    return 0;
}

/* Fills a target's report from its state once every job has finished. */
static void finish_report(target_state *t, dscat_target_report *r)
{
    r->queries = t->queries;
    r->duration_ms = t->t1_ms - t->t0_ms;
    if (!t->failed && t->scans.count == 0 && t->problems.count > 0) {
        /* No database could be read: the target as a whole is unreadable. */
        t->failed = true;
        dscat_error_set(&t->error, DSCAT_EPERM, "%s", t->problems.items[0].message);
    }
    if (t->failed) {
        r->status = DSCAT_SCAN_FAILED;
        r->error = t->error;
    } else {
        r->status = t->problems.count ? DSCAT_SCAN_PARTIAL : DSCAT_SCAN_OK;
    }
    r->unscanned = (long)t->unscanned.count;
    r->problems = t->problems.items;
    r->nproblems = t->problems.count;
    t->problems.items = NULL;
    t->problems.count = 0;
    if (t->failed)
        return;
    r->databases = (long)t->scans.count;
    for (size_t i = 0; i < t->scans.count; i++) {
        dscat_db_scan *d = t->scans.items[i];
        for (size_t k = 0; k < d->tables.count; k++)
            r->tables += !d->tables.items[k].excluded;
        for (size_t k = 0; k < d->columns.count; k++)
            r->columns += !d->tables.items[d->columns.items[k].table].excluded;
    }
}

/* The kept database's row of the target's current scan, with its tables and columns counted. */
static const char *const kept_sql =
    "SELECT d.scan_id, d.scanned_at_us,"
    "  (SELECT count(*) FROM table_set_members m WHERE m.set_id = d.table_set),"
    "  (SELECT count(*) FROM table_set_members m JOIN tables x ON x.id = m.table_id"
    "   JOIN columns c ON c.set_id = x.column_set WHERE m.set_id = d.table_set) "
    "FROM targets g JOIN scan_databases d ON d.scan_id = g.current_scan_id "
    "WHERE g.key = ?1 AND d.database = ?2";

/*
 * Rewrites an unscanned database's problem to say whose catalog stands in for it: "database app
 * could not be scanned (<cause>); its catalog is the one from 2026-01-25T13:32:00Z".
 */
static int say_kept(dscat_scan_problem *p, const unscanned_db *u, dscat_error *err)
{
    char when[64];
    dscat_format_utc_iso(u->scanned_at_us, when, sizeof(when));
    dscat_buf msg = DSCAT_BUF_INIT;
    int rc = dscat_buf_printf(&msg,
                              "database %s could not be scanned (%s); its catalog is the one "
                              "from %s",
                              u->database, p->message, when);
    char *text = rc == 0 ? dscat_strdup(dscat_buf_cstr(&msg)) : NULL;
    dscat_buf_free(&msg);
    if (text == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_free(p->message);
    p->message = text;
    return 0;
}

/*
 * A database the target listed but could not scan (refused, timed out, dropped, a query failed)
 * keeps its catalog: its row of the target's current scan is carried into the new scan, old
 * scanned_at and all, so that nothing catalogued is lost to a passing failure (SPEC §2.3). This
 * reads those rows before the new scan replaces the current one: it notes in each unscanned
 * database the scan its catalog is kept from, counts the kept databases, tables and columns into
 * the report (the new scan's counts are the catalog's), rewrites their problems to say so, and
 * moves those problems last (status shows a target's last problem). A database with no earlier
 * catalog keeps its problem as it was. Call inside the write transaction.
 */
static int find_kept(dscat_store *st, target_state *t, dscat_target_report *r, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = t->unscanned.count ? dscat_stmt__prepare(&s, st, kept_sql, err) : 0;
    for (size_t i = 0; i < t->unscanned.count && rc == 0; i++) {
        unscanned_db *u = &t->unscanned.items[i];
        dscat_stmt__reset(s);
        dscat_stmt__bind_text(s, 1, t->cfg->key);
        dscat_stmt__bind_text(s, 2, u->database);
        int step = dscat_stmt__step(s);
        if (step == DSCAT_STMT_ROW) {
            u->kept_from = dscat_stmt__int64(s, 0);
            u->scanned_at_us = dscat_stmt__int64(s, 1);
            r->databases++;
            r->tables += (long)dscat_stmt__int64(s, 2);
            r->columns += (long)dscat_stmt__int64(s, 3);
            rc = say_kept(&r->problems[u->problem], u, err);
        } else if (step != DSCAT_STMT_DONE) {
            rc = dscat_store__step_error(st, err);
        }
    }
    dscat_stmt__finalize(s);
    /* Stable: the other problems first, then those of the kept databases, each in its order. */
    size_t n = 0;
    dscat_scan_problem *moved =
        rc == 0 && t->unscanned.count ? dscat_calloc(t->unscanned.count, sizeof(*moved)) : NULL;
    if (rc == 0 && t->unscanned.count && moved == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->unscanned.count && rc == 0; i++)
        if (t->unscanned.items[i].kept_from) {
            moved[n++] = r->problems[t->unscanned.items[i].problem];
            r->problems[t->unscanned.items[i].problem].message = NULL;
        }
    if (rc == 0)
        r->unscanned = (long)n; /* the kept ones: a stale catalog, which refresh reports */
    if (n) {
        size_t k = 0;
        for (size_t i = 0; i < r->nproblems; i++)
            if (r->problems[i].message)
                r->problems[k++] = r->problems[i];
        memcpy(r->problems + k, moved, n * sizeof(*moved));
    }
    dscat_free(moved);
    return rc;
}

/* Carries each kept database's row of its earlier scan into scan_id (see find_kept()). */
static int carry_kept(dscat_store *st, const target_state *t, int64_t scan_id, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = 0;
    for (size_t i = 0; i < t->unscanned.count && rc == 0; i++) {
        const unscanned_db *u = &t->unscanned.items[i];
        if (u->kept_from == 0)
            continue;
        if (s == NULL &&
            (rc = dscat_stmt__prepare(
                 &s, st,
                 "INSERT INTO scan_databases(scan_id, database, table_set, scanned_at_us) "
                 "SELECT ?1, database, table_set, scanned_at_us FROM scan_databases "
                 "WHERE scan_id = ?2 AND database = ?3",
                 err)))
            break;
        dscat_stmt__reset(s);
        dscat_stmt__bind_int64(s, 1, scan_id);
        dscat_stmt__bind_int64(s, 2, u->kept_from);
        dscat_stmt__bind_text(s, 3, u->database);
        if (dscat_stmt__step(s) != DSCAT_STMT_DONE)
            rc = dscat_store__step_error(st, err);
    }
    dscat_stmt__finalize(s);
    return rc;
}

/* True when a database of the target is carried from its earlier scan. */
static bool keeps_any(const target_state *t)
{
    for (size_t i = 0; i < t->unscanned.count; i++)
        if (t->unscanned.items[i].kept_from)
            return true;
    return false;
}

/*
 * Writes every target of the run into the store in one transaction: each target's scan row, made
 * its target's current scan unless the target failed; then, what the exports will show being
 * settled, metadata.parquet is started from the scans on a thread of its own (*ahead, when it can
 * be: export/ahead.h, through warmup's DuckDB, which this takes) while the databases are written;
 * then each target's old scans are pruned.
 */
static int write_store(dscat_store *st, run_state *rs, dscat_refresh_report *rep,
                       dscat_export_warmup *warmup, dscat_export_ahead **ahead, dscat_error *err)
{
    dscat_export_scan *scans = dscat_calloc(rs->ntargets + 1, sizeof(*scans));
    size_t nscans = 0;
    int keep = rs->cfg->settings.keep_scans;
    int rc =
        scans ? dscat_store__begin(st, err) : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t i = 0; i < rs->ntargets && rc == 0; i++) {
        target_state *t = &rs->targets[i];
        dscat_target_report *r = &rep->targets[i];
        dscat_scan_row row = {
            rep->run_id,      t->cfg, r, t->started_us, t->started_us + r->duration_ms * 1000,
            rs->opts->profile};
        int64_t scan_id = 0;
        if (!t->failed)
            rc = find_kept(st, t, r, err);
        if (rc == 0)
            rc = dscat_store__insert_scan(st, &row, &scan_id, err);
        r->scan_id = scan_id;
        if (rc == 0 && !t->failed && (rc = carry_kept(st, t, scan_id, err)) == 0) {
            rc = dscat_store__set_current(st, t->cfg->key, scan_id, err);
            /* A kept database is not in memory: the file is then written from the store. */
            if (!keeps_any(t))
                scans[nscans++] = (dscat_export_scan){t->cfg->key, t->cfg->name, scan_id,
                                                      t->scans.items, t->scans.count};
        }
    }
    if (rc == 0)
        dscat_export__ahead_start(ahead, st, rs->cfg->catalog_dir, scans, nscans, keep, warmup);
    else
        dscat_export__warmup_free(warmup);
    for (size_t i = 0; i < rs->ntargets && rc == 0; i++) {
        target_state *t = &rs->targets[i];
        for (size_t k = 0; k < t->scans.count && rc == 0 && !t->failed; k++)
            rc = dscat_store__insert_database(st, rep->targets[i].scan_id, t->scans.items[k], err);
    }
    for (size_t i = 0; i < rs->ntargets && rc == 0; i++)
        rc = dscat_store__prune(st, rs->targets[i].cfg->key, keep, err);
    if (rc == 0 && (rc = dscat_store__analyze(st, err)) == 0)
        rc = dscat_store__commit(st, err);
    if (rc) {
        dscat_store__rollback(st);
        dscat_export__ahead_free(*ahead);
        *ahead = NULL;
    }
    dscat_free(scans);
    return rc;
}

/* A run id: UTC time plus random bits, e.g. 20260125T133200Z-9f2c4e1a. */
static void make_run_id(char *out, size_t size)
{
    unsigned char rnd[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
            memset(rnd, 0, sizeof(rnd));
        close(fd);
    }
    char when[32];
    int64_t now = dscat_now_us();
    dscat_format_utc_iso(now, when, sizeof(when));
    char compact[32];
    size_t k = 0;
    for (const char *p = when; *p && k + 1 < sizeof(compact); p++)
        if (*p != '-' && *p != ':')
            compact[k++] = *p;
    compact[k] = '\0';
    snprintf(out, size, "%s-%02x%02x%02x%02x", compact, rnd[0], rnd[1], rnd[2], rnd[3]);
}

/*
 * Refuses a store written by a newer dscat before anything is contacted. The version is read
 * from the file header, not through SQLite: opening a WAL database, even read-only, would create
 * its -wal and -shm files, and a run that fails must leave the directory exactly as it was.
 */
static int precheck_store(const char *catalog_dir, dscat_error *err)
{
    return dscat_store_check_version(catalog_dir, err);
}

static int select_targets(run_state *rs, const dscat_config *cfg, const dscat_refresh_options *opts,
                          dscat_error *err)
{
    for (size_t i = 0; i < opts->ntargets; i++)
        if (dscat_config_target(cfg, opts->targets[i]) == NULL) {
            dscat_buf names = DSCAT_BUF_INIT;
            for (size_t k = 0; k < cfg->ntargets; k++)
                dscat_buf_printf(&names, "%s%s", k ? ", " : "", cfg->targets[k].key);
            dscat_error_set(err, DSCAT_ECONFIG, "unknown target '%s' (available: %s)",
                            opts->targets[i],
                            cfg->ntargets == 0        ? "none"
                            : dscat_buf_error(&names) ? "out of memory listing them"
                                                      : dscat_buf_cstr(&names));
            dscat_buf_free(&names);
            return DSCAT_ECONFIG;
        }
    if (cfg->ntargets == 0)
        return dscat_error_set(err, DSCAT_ECONFIG, "%s: no targets configured", cfg->path);
    rs->targets = dscat_calloc(cfg->ntargets, sizeof(*rs->targets));
    if (rs->targets == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->ntargets; i++) {
        bool chosen = opts->ntargets == 0;
        for (size_t k = 0; k < opts->ntargets && !chosen; k++)
            chosen = strcmp(opts->targets[k], cfg->targets[i].key) == 0;
        if (chosen)
            rs->targets[rs->ntargets++].cfg = &cfg->targets[i];
    }
    return 0;
}

static void free_run(run_state *rs)
{
    for (size_t i = 0; i < rs->ntargets; i++) {
        target_state *t = &rs->targets[i];
        dscat_target_conn_free(&t->conn);
        for (size_t k = 0; k < t->scans.count; k++) {
            dscat_db_scan_free(t->scans.items[k]);
            dscat_free(t->scans.items[k]);
        }
        dscat_free(t->scans.items);
        for (size_t k = 0; k < t->problems.count; k++) {
            dscat_free(t->problems.items[k].database);
            dscat_free(t->problems.items[k].schema);
            dscat_free(t->problems.items[k].message);
        }
        dscat_free(t->problems.items);
        for (size_t k = 0; k < t->unscanned.count; k++)
            dscat_free(t->unscanned.items[k].database);
        dscat_free(t->unscanned.items);
    }
    for (size_t i = rs->head; i < rs->queue.count; i++)
        dscat_free(rs->queue.items[i].database);
    dscat_free(rs->queue.items);
    dscat_free(rs->targets);
}

int dscat_refresh(dscat_refresh_report **out, const dscat_config *cfg,
                  const dscat_refresh_options *opts, dscat_error *err)
{
    *out = NULL;
    run_state rs = {.cfg = cfg, .opts = opts};
    dscat_refresh_report *rep = NULL;
    dscat_store *st = NULL;
    dscat_export_ahead *ahead = NULL;
    dscat_export_warmup *warmup = NULL;
    char *root = NULL;
    int rc;
    pthread_mutex_init(&rs.lock, NULL);
    pthread_cond_init(&rs.changed, NULL);
    if ((rc = select_targets(&rs, cfg, opts, err)) || (rc = precheck_store(cfg->catalog_dir, err)))
        goto done;
    rep = dscat_calloc(1, sizeof(*rep));
    if (rep == NULL || (rep->targets = dscat_calloc(rs.ntargets, sizeof(*rep->targets))) == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    rep->ntargets = rs.ntargets;
    make_run_id(rep->run_id, sizeof(rep->run_id));
    for (size_t i = 0; i < rs.ntargets; i++) {
        if ((rep->targets[i].target = dscat_strdup(rs.targets[i].cfg->key)) == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        enqueue(&rs, (job){i, NULL, NULL});
    }
    /* DuckDB, for metadata.parquet, gets ready while the sources are read. */
    dscat_export__warmup_start(&warmup);
    if ((rc = run_jobs(&rs, err)))
        goto done;
    bool any = false;
    for (size_t i = 0; i < rs.ntargets; i++) {
        finish_report(&rs.targets[i], &rep->targets[i]);
        any = any || rep->targets[i].status != DSCAT_SCAN_FAILED;
    }
    if (!any)
        goto done; /* no target could be scanned: write nothing at all */
    if ((rc = dscat_catalog_dir_prepare(cfg->catalog_dir, err)) ||
        (rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)))
        goto done;
    rc = write_store(st, &rs, rep, warmup, &ahead, err);
    warmup = NULL; /* taken by write_store */
    if (rc)
        goto done;
    rep->written = true;
    rc = dscat_export__all_ahead(st, cfg->catalog_dir, ahead, err);
    ahead = NULL; /* freed by the exports */
    if (rc)
        goto done;
    if (dscat_project_find(&root, opts->project, err) == 0) {
        rc = dscat_snapshot_write(st, cfg->catalog_dir, root, NULL, &rep->snapshot_dir, NULL, NULL,
                                  err);
        if (rc)
            goto done;
    } else if (opts->project) {
        rc = err->code;
        goto done;
    } else {
        dscat_error_clear(err);
    }
done:
    dscat_export__warmup_free(warmup);
    dscat_free(root);
    dscat_store_close(st);
    free_run(&rs);
    pthread_mutex_destroy(&rs.lock);
    pthread_cond_destroy(&rs.changed);
    if (rc) {
        dscat_refresh_report_free(rep);
        return rc;
    }
    *out = rep;
    return 0;
}

void dscat_refresh_report_free(dscat_refresh_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ntargets; i++) {
        dscat_target_report *t = &r->targets[i];
        dscat_free(t->target);
        for (size_t k = 0; k < t->nproblems; k++) {
            dscat_free(t->problems[k].database);
            dscat_free(t->problems[k].schema);
            dscat_free(t->problems[k].message);
        }
        dscat_free(t->problems);
    }
    dscat_free(r->targets);
    dscat_free(r->snapshot_dir);
    dscat_free(r);
}
