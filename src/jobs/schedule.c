/*
 * Schedules (dscat/catalog.h): targets.toml's refresh_every for schema refreshes and for each
 * cached table, the last run of each in the store (schedule_runs), and when each runs next.
 */
#include "dscat/cache.h"
#include "dscat/catalog.h"

#include "core/alloc.h"
#include "core/model.h"
#include "core/timeutil.h"
#include "jobs/owner.h"
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The room for a claim's owner: "<boot id>+<pid namespace>/<pid>". */
#define OWNER_MAX 128

/*
 * The lease of a claim, in microseconds: DSCAT_SCHEDULE_LEASE_S from the environment when it is a
 * positive number of seconds (at most a day), else the default. A claim not renewed for this long
 * is taken for that of a process gone; its holder renews it every quarter of it.
 */
static int64_t lease_us(void)
{
    const char *v = getenv("DSCAT_SCHEDULE_LEASE_S");
    if (v && *v) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno == 0 && *end == '\0' && n > 0 && n <= 86400)
            return n * 1000000LL;
    }
    return DSCAT_SCHEDULE_LEASE_S * 1000000LL;
}

/*
 * True when a claim (its owner, NULL for one made before owners were recorded, last renewed at
 * renewed_us) still holds for this process (me): it was renewed within the lease and, when its
 * owner is a process of this machine, that process lives. A claim of another machine holds until
 * its lease passes: only its renewals tell that it lives.
 */
static bool claim_live(const char *owner, int64_t renewed_us, const char *me, int64_t now,
                       int64_t lease)
{
    return now - renewed_us <= lease && !dscat_jobs__owner_gone(owner, me);
}

/* Backoff after a failure: 5 s, doubling with each failure in a row, never past the period. */
#define BACKOFF_FIRST_US (5 * 1000000LL)

/* Jitter: up to a tenth of the period, at most a minute (five seconds before a first run). */
#define JITTER_MAX_US (60 * 1000000LL)
#define JITTER_FIRST_MAX_US (5 * 1000000LL)

/* The jitter of a run, from the schedule's identity and its last run: the same in every process
 * that computes it, different from one schedule to the next. */
static int64_t jitter_us(const dscat_schedule *s, int64_t last_us)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[] = {s->kind, s->target, s->schema ? s->schema : "",
                           s->table ? s->table : ""};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        for (const char *p = parts[i];; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            if (*p == '\0')
                break;
        }
    h = (h ^ (uint64_t)last_us) * 1099511628211ULL;
    int64_t span = (int64_t)s->every * 100000; /* a tenth of the period, in microseconds */
    int64_t cap = last_us ? JITTER_MAX_US : JITTER_FIRST_MAX_US;
    if (span > cap)
        span = cap;
    return span > 0 ? (int64_t)(h % (uint64_t)span) : 0;
}

static void next_run(dscat_schedule *s, int64_t serve_started_us)
{
    int64_t period = (int64_t)s->every * 1000000;
    if (s->last_finished_us == DSCAT_STATUS_NEVER) {
        s->next_run_us = serve_started_us ? serve_started_us + jitter_us(s, 0) : DSCAT_STATUS_NEVER;
    } else if (s->failures > 0) {
        int64_t wait = BACKOFF_FIRST_US;
        for (int i = 1; i < s->failures && wait < period; i++)
            wait *= 2;
        s->next_run_us = s->last_finished_us + (wait < period ? wait : period);
    } else {
        s->next_run_us = s->last_finished_us + period + jitter_us(s, s->last_finished_us);
    }
    /* Under way in a live process: not before its claim lapses (its run is recorded, and moves
     * this, first). */
    if (s->running_since_us != DSCAT_STATUS_NEVER && s->next_run_us != DSCAT_STATUS_NEVER &&
        s->next_run_us < s->claim_lapses_us)
        s->next_run_us = s->claim_lapses_us;
}

static int add(dscat_schedule_list *l, const char *kind, const char *target, const char *schema,
               const char *table, int every)
{
    dscat_schedule *g = dscat_realloc(l->items, (l->count + 1) * sizeof(*g));
    if (g == NULL)
        return DSCAT_ENOMEM;
    l->items = g;
    dscat_schedule *s = &g[l->count++];
    memset(s, 0, sizeof(*s));
    s->every = every;
    s->last_started_us = s->last_finished_us = s->running_since_us = DSCAT_STATUS_NEVER;
    s->claim_lapses_us = DSCAT_STATUS_NEVER;
    s->kind = dscat_strdup(kind);
    s->target = dscat_strdup(target);
    s->schema = schema ? dscat_strdup(schema) : NULL;
    s->table = table ? dscat_strdup(table) : NULL;
    if (!s->kind || !s->target || (schema && !s->schema) || (table && !s->table))
        return DSCAT_ENOMEM;
    return 0;
}

/* The last run and the claim of a schedule: today's store, then one before store version 9 (a
 * store opened to read is not migrated), whose claims name no owner. */
static const char *const runs_sql[] = {
    "SELECT started_us, finished_us, result, error, failures, claimed_us, claimed_by, "
    "coalesce(renewed_us, claimed_us) FROM schedule_runs WHERE kind = ?1 AND target = ?2 "
    "AND schema = ?3 AND name = ?4",
    "SELECT started_us, finished_us, result, error, failures, claimed_us, NULL, claimed_us "
    "FROM schedule_runs WHERE kind = ?1 AND target = ?2 AND schema = ?3 AND name = ?4"};

/* Fills the schedules' last runs from the store, and the runs under way in a live process. */
static int read_runs(dscat_schedule_list *l, const dscat_config *cfg, dscat_error *err)
{
    dscat_store *st = NULL;
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, err);
    if (rc == DSCAT_ENOTFOUND) { /* no catalog yet: nothing ran */
        dscat_error_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    dscat_stmt *s = NULL;
    for (size_t q = 0; q < sizeof(runs_sql) / sizeof(runs_sql[0]) && s == NULL; q++)
        if (dscat_stmt__prepare(&s, st, runs_sql[q], err))
            dscat_error_clear(err);
    if (s == NULL) { /* a store written before schedules: nothing ran */
        dscat_store_close(st);
        return 0;
    }
    char me[OWNER_MAX];
    dscat_jobs__owner_id(me, sizeof(me));
    int64_t now = dscat_now_us(), lease = lease_us();
    for (size_t i = 0; i < l->count && rc == 0; i++) {
        dscat_schedule *x = &l->items[i];
        dscat_stmt__reset(s);
        dscat_stmt__bind_text(s, 1, x->kind);
        dscat_stmt__bind_text(s, 2, x->target);
        dscat_stmt__bind_text(s, 3, x->schema ? x->schema : "");
        dscat_stmt__bind_text(s, 4, x->table ? x->table : "");
        int step = dscat_stmt__step(s);
        if (step != DSCAT_STMT_ROW && step != DSCAT_STMT_DONE) {
            rc = dscat_store__step_error(st, err);
            break;
        }
        /* A row without a finished run is a first run under way. */
        if (step == DSCAT_STMT_ROW && !dscat_stmt__is_null(s, 1)) {
            x->last_started_us = dscat_stmt__int64(s, 0);
            x->last_finished_us = dscat_stmt__int64(s, 1);
            x->result = dscat_strdup(dscat_stmt__text(s, 2));
            x->error = dscat_stmt__is_null(s, 3) ? NULL : dscat_strdup(dscat_stmt__text(s, 3));
            x->failures = dscat_stmt__int(s, 4);
            if (x->result == NULL || (!dscat_stmt__is_null(s, 3) && x->error == NULL))
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        if (step == DSCAT_STMT_ROW && !dscat_stmt__is_null(s, 5) &&
            claim_live(dscat_stmt__is_null(s, 6) ? NULL : dscat_stmt__text(s, 6),
                       dscat_stmt__int64(s, 7), me, now, lease)) {
            x->running_since_us = dscat_stmt__int64(s, 5);
            x->claim_lapses_us = dscat_stmt__int64(s, 7) + lease;
        }
    }
    dscat_stmt__finalize(s);
    dscat_store_close(st);
    return rc;
}

int dscat_schedules(dscat_schedule_list *out, const dscat_config *cfg, int64_t serve_started_us,
                    dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    for (size_t i = 0; i < cfg->ntargets && rc == 0; i++)
        if (cfg->targets[i].refresh_every)
            rc = add(out, "schema", cfg->targets[i].key, NULL, NULL, cfg->targets[i].refresh_every);
    for (size_t i = 0; i < cfg->ntargets && rc == 0; i++) {
        const dscat_target_config *t = &cfg->targets[i];
        for (size_t k = 0; k < t->ncache && rc == 0; k++) {
            const dscat_cache_schedule *c = &t->cache[k];
            if ((rc = add(out, "data", t->key, c->schema, c->table, c->every)) == 0) {
                dscat_schedule *s = &out->items[out->count - 1];
                s->mode = c->mode == DSCAT_CACHE_APPEND ? "append" : "full";
                s->full_every = c->full_every;
                if (c->append_key && (s->append_key = dscat_strdup(c->append_key)) == NULL)
                    rc = DSCAT_ENOMEM;
            }
        }
    }
    if (rc)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0 && out->count > 0) /* no schedule: the store is not opened */
        rc = read_runs(out, cfg, err);
    for (size_t i = 0; i < out->count && rc == 0; i++)
        next_run(&out->items[i], serve_started_us);
    if (rc)
        dscat_schedule_list_free(out);
    return rc;
}

void dscat_schedule_list_free(dscat_schedule_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        dscat_schedule *s = &l->items[i];
        dscat_free(s->kind);
        dscat_free(s->target);
        dscat_free(s->schema);
        dscat_free(s->table);
        dscat_free(s->append_key);
        dscat_free(s->result);
        dscat_free(s->error);
    }
    dscat_free(l->items);
    memset(l, 0, sizeof(*l));
}

/* The key of a schedule's row, bound as ?1 to ?4. */
static void bind_key(dscat_stmt *s, const dscat_schedule_record *r)
{
    dscat_stmt__bind_text(s, 1, r->kind);
    dscat_stmt__bind_text(s, 2, r->target);
    dscat_stmt__bind_text(s, 3, r->schema ? r->schema : "");
    dscat_stmt__bind_text(s, 4, r->table ? r->table : "");
}

/*
 * The owner of the schedule's claim when that claim no longer holds (its process gone from this
 * machine, or its lease passed) into dead; "" when there is none, or it holds.
 */
static int find_dead_owner(dscat_store *st, const dscat_schedule_record *r, const char *me,
                           int64_t now, int64_t lease, char *dead, size_t size, dscat_error *err)
{
    dscat_stmt *s = NULL;
    dead[0] = '\0';
    int rc = dscat_stmt__prepare(&s, st,
                                 "SELECT claimed_by, coalesce(renewed_us, claimed_us) FROM "
                                 "schedule_runs WHERE kind = ?1 AND target = ?2 AND schema = ?3 "
                                 "AND name = ?4 AND claimed_by IS NOT NULL AND claimed_us IS NOT "
                                 "NULL",
                                 err);
    if (rc)
        return rc;
    bind_key(s, r);
    int step = dscat_stmt__step(s);
    if (step == DSCAT_STMT_ROW &&
        !claim_live(dscat_stmt__text(s, 0), dscat_stmt__int64(s, 1), me, now, lease))
        snprintf(dead, size, "%s", dscat_stmt__text(s, 0));
    else if (step != DSCAT_STMT_ROW && step != DSCAT_STMT_DONE)
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    return rc;
}

/*
 * The heartbeat of a claimed run: a thread that renews the claim every quarter of the lease, each
 * time on a store connection of its own, while the run goes on, so that other processes (other
 * machines above all, which cannot see whether this process lives) leave it alone. A store that
 * cannot be reached is tried again at the next beat; a claim found taken over or released ends
 * the beats (the run, when it ends, then records nothing over another's).
 */
typedef struct heartbeat {
    const dscat_config *cfg;
    const dscat_schedule_record *run;
    int64_t every_us;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    pthread_t thread;
} heartbeat;

/* Renews the claim of h's run: false when this process no longer holds it. */
static bool renew(heartbeat *h)
{
    dscat_store *st = NULL;
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    bool held = true;
    if (dscat_store_open(&st, h->cfg->catalog_dir, DSCAT_STORE_WRITE, &err) == 0 &&
        dscat_stmt__prepare(&s, st,
                            "UPDATE schedule_runs SET renewed_us = ?5 WHERE kind = ?1 AND "
                            "target = ?2 AND schema = ?3 AND name = ?4 AND claimed_by = ?6 "
                            "RETURNING claimed_us",
                            &err) == 0) {
        bind_key(s, h->run);
        dscat_stmt__bind_int64(s, 5, dscat_now_us());
        dscat_stmt__bind_text(s, 6, h->run->owner);
        held = dscat_stmt__step(s) != DSCAT_STMT_DONE;
    }
    dscat_stmt__finalize(s);
    dscat_store_close(st);
    return held;
}

static void *beat(void *arg)
{
    heartbeat *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (h->every_us % 1000000) * 1000;
        until.tv_sec += (time_t)(h->every_us / 1000000 + ns / 1000000000L);
        until.tv_nsec = (long)(ns % 1000000000L);
        while (!h->done && pthread_cond_timedwait(&h->cv, &h->mu, &until) != ETIMEDOUT) {
        }
        if (h->done)
            break;
        pthread_mutex_unlock(&h->mu);
        bool held = renew(h);
        pthread_mutex_lock(&h->mu);
        if (!held)
            break;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Starts h's beats: false when no thread could be made (the run goes on without). */
static bool heartbeat_start(heartbeat *h, const dscat_config *cfg, const dscat_schedule_record *run,
                            int64_t lease)
{
    *h = (heartbeat){.cfg = cfg, .run = run, .every_us = lease / 4 > 0 ? lease / 4 : 1};
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, beat, h) == 0)
        return true;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    return false;
}

static void heartbeat_stop(heartbeat *h)
{
    pthread_mutex_lock(&h->mu);
    h->done = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}

int dscat_schedule_run(dscat_schedule_outcome *out, const dscat_config *cfg,
                       const dscat_schedule *s, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    char me[OWNER_MAX], dead[OWNER_MAX] = "";
    dscat_jobs__owner_id(me, sizeof(me));
    dscat_schedule_record r = {
        .kind = s->kind,
        .target = s->target,
        .schema = s->schema,
        .table = s->table,
        .finished_us = s->last_finished_us == DSCAT_STATUS_NEVER ? DSCAT_NULL : s->last_finished_us,
        .owner = me};
    dscat_store *st = NULL;
    bool claimed = false;
    int64_t now = dscat_now_us(), lease = lease_us();
    int rc = dscat_catalog_dir_prepare(cfg->catalog_dir, err);
    if (rc == 0)
        rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = find_dead_owner(st, &r, me, now, lease, dead, sizeof(dead), err);
    r.dead_owner = dead[0] ? dead : NULL;
    if (rc == 0)
        rc = dscat_store__claim_schedule_run(st, &r, now, now - lease, &claimed, err);
    dscat_store_close(st);
    if (rc)
        return rc;
    if (!claimed) {
        out->skipped = true;
        return 0;
    }
    r.claimed_after_us = r.finished_us;
    r.dead_owner = NULL;
    heartbeat hb;
    bool beating = heartbeat_start(&hb, cfg, &r, lease);
    r.started_us = dscat_now_us();
    if (strcmp(s->kind, "schema") == 0) {
        const char *targets[] = {s->target};
        dscat_refresh_options opts = {.targets = targets, .ntargets = 1};
        dscat_refresh_report *rep = NULL;
        if (dscat_refresh(&rep, cfg, &opts, &out->error) == 0) {
            out->ok = rep->ntargets == 1 && rep->targets[0].status != DSCAT_SCAN_FAILED;
            if (!out->ok && rep->ntargets == 1)
                out->error = rep->targets[0].error;
        }
        dscat_refresh_report_free(rep);
    } else {
        dscat_cache_report *rep = NULL;
        dscat_cache_refresh_opts o = {.append_key = s->append_key, .full_every = s->full_every};
        if (dscat_cache_refresh_with(&rep, cfg, s->target, s->schema, s->table, &o, &out->error) ==
            0) {
            out->ok = rep->count == 1 && rep->tables[0].rc == 0;
            out->refresh_kind = rep->count == 1 ? rep->tables[0].kind : NULL;
            out->unchanged = rep->count == 1 && rep->tables[0].unchanged;
            out->joined = rep->count == 1 && rep->tables[0].joined;
            if (!out->ok && rep->count == 1)
                out->error = rep->tables[0].error;
            if (out->ok && !out->joined) {
                out->rows = rep->tables[0].rows;
                out->bytes = rep->tables[0].bytes;
            }
        }
        dscat_cache_report_free(rep);
    }
    if (beating)
        heartbeat_stop(&hb);
    if (!out->ok && out->error.message[0] == '\0')
        dscat_error_set(&out->error, DSCAT_EIO, "the refresh failed");
    r.finished_us = dscat_now_us();
    r.ok = out->ok;
    r.error = out->ok ? NULL : out->error.message;
    r.failures = out->ok ? 0 : s->failures + 1;
    st = NULL;
    if ((rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)) == 0)
        rc = dscat_store__put_schedule_run(st, &r, err);
    dscat_store_close(st);
    return rc;
}

int dscat_schedule_release_claims(const dscat_config *cfg, dscat_error *err)
{
    char me[OWNER_MAX];
    dscat_jobs__owner_id(me, sizeof(me));
    dscat_store *st = NULL;
    dscat_stmt *s = NULL;
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = dscat_stmt__prepare(&s, st,
                                 "UPDATE schedule_runs SET claimed_us = NULL, claimed_by = NULL, "
                                 "renewed_us = NULL WHERE claimed_by = ?1",
                                 err);
    if (rc == 0) {
        dscat_stmt__bind_text(s, 1, me);
        if (dscat_stmt__step(s) != DSCAT_STMT_DONE)
            rc = dscat_store__step_error(st, err);
    }
    dscat_stmt__finalize(s);
    dscat_store_close(st);
    return rc;
}
