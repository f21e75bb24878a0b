/*
 * Schedules (dscat/catalog.h): targets.toml's refresh_every for schema refreshes and for each
 * cached table, the last run of each in the store (schedule_runs), and when each runs next.
 */
#include "dscat/cache.h"
#include "dscat/catalog.h"

#include "core/alloc.h"
#include "core/model.h"
#include "core/timeutil.h"
#include "store/store.h"

#include <string.h>

/* A claim this old is a process that died mid-run: another may take the run over. */
#define LEASE_US (DSCAT_SCHEDULE_LEASE_S * 1000000LL)

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
    /* Under way elsewhere: not before its claim lapses (it is recorded, and moves this, first). */
    if (s->running_since_us != DSCAT_STATUS_NEVER && s->next_run_us != DSCAT_STATUS_NEVER &&
        s->next_run_us < s->running_since_us + LEASE_US)
        s->next_run_us = s->running_since_us + LEASE_US;
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
    s->kind = dscat_strdup(kind);
    s->target = dscat_strdup(target);
    s->schema = schema ? dscat_strdup(schema) : NULL;
    s->table = table ? dscat_strdup(table) : NULL;
    if (!s->kind || !s->target || (schema && !s->schema) || (table && !s->table))
        return DSCAT_ENOMEM;
    return 0;
}

/* Fills the schedules' last runs from the store. */
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
    if ((rc = dscat_stmt__prepare(&s, st,
                                  "SELECT started_us, finished_us, result, error, failures, "
                                  "claimed_us FROM schedule_runs WHERE kind = ?1 AND target = ?2 "
                                  "AND schema = ?3 AND name = ?4",
                                  err))) {
        /* A store written before schedules: nothing ran. */
        dscat_store_close(st);
        dscat_error_clear(err);
        return 0;
    }
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
            dscat_stmt__int64(s, 5) >= dscat_now_us() - LEASE_US)
            x->running_since_us = dscat_stmt__int64(s, 5);
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

int dscat_schedule_run(dscat_schedule_outcome *out, const dscat_config *cfg,
                       const dscat_schedule *s, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_schedule_record r = {.kind = s->kind,
                               .target = s->target,
                               .schema = s->schema,
                               .table = s->table,
                               .finished_us = s->last_finished_us == DSCAT_STATUS_NEVER
                                                  ? DSCAT_NULL
                                                  : s->last_finished_us};
    dscat_store *st = NULL;
    bool claimed = false;
    int64_t now = dscat_now_us();
    int rc = dscat_catalog_dir_prepare(cfg->catalog_dir, err);
    if (rc == 0)
        rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = dscat_store__claim_schedule_run(st, &r, now, now - LEASE_US, &claimed, err);
    dscat_store_close(st);
    if (rc)
        return rc;
    if (!claimed) {
        out->skipped = true;
        return 0;
    }
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
