/*
 * Catalog status (SPEC §6.2): one rule for the CLI, MCP and HTTP.
 * NOT BUILT: no configured target has ever been scanned successfully. STALE: the oldest last
 * successful scan among the configured targets (a never-scanned target counts as infinitely old)
 * is at least stale_after_days old. Otherwise OK.
 */
#include "store/store.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/timeutil.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dup_col(dscat_stmt *s, int i)
{
    const char *v = dscat_stmt__text(s, i);
    return v ? dscat_strdup(v) : NULL;
}

/*
 * Fills one target's line: its latest scan's status, last success, last problem, counts. A store
 * that cannot answer (a lock waited for too long, a lost connection) is an error, never a target
 * that was not scanned.
 */
static int target_status(dscat_store *st, dscat_target_status *ts, dscat_error *err)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(
            &s, st,
            "SELECT l.status, c.finished_us, "
            "  coalesce(l.error, (SELECT message FROM scan_problems p WHERE p.scan_id = l.id "
            "    ORDER BY rowid DESC LIMIT 1)), c.databases, c.tables, c.columns "
            "FROM scans l LEFT JOIN targets g ON g.key = l.target "
            "LEFT JOIN scans c ON c.id = g.current_scan_id "
            "WHERE l.target = ?1 ORDER BY l.id DESC LIMIT 1",
            NULL))
        return 0;
    dscat_stmt__bind_text(s, 1, ts->target);
    int rc = dscat_stmt__step(s);
    if (rc < 0)
        rc = dscat_store__step_error(st, err);
    if (rc == DSCAT_STMT_ROW) {
        ts->status = dup_col(s, 0);
        if (!dscat_stmt__is_null(s, 1))
            ts->last_success_us = dscat_stmt__int64(s, 1);
        ts->last_problem = dup_col(s, 2);
        ts->databases = (long)dscat_stmt__int64(s, 3);
        ts->tables = (long)dscat_stmt__int64(s, 4);
        ts->columns = (long)dscat_stmt__int64(s, 5);
    }
    dscat_stmt__finalize(s);
    return rc < 0 ? rc : 0;
}

static void totals(dscat_store *st, dscat_status *out)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(
            &s, st,
            "SELECT count(DISTINCT t.target), "
            "  count(DISTINCT length(t.target) || ':' || t.target || t.database), count(*), "
            "  (SELECT count(*) FROM " DSCAT_CURRENT_TABLES
            "   t2 JOIN columns c ON c.set_id = t2.column_set) "
            "FROM " DSCAT_CURRENT_TABLES " t",
            NULL))
        return;
    if (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        out->targets = (long)dscat_stmt__int64(s, 0);
        out->databases = (long)dscat_stmt__int64(s, 1);
        out->tables = (long)dscat_stmt__int64(s, 2);
        out->columns = (long)dscat_stmt__int64(s, 3);
    }
    dscat_stmt__finalize(s);
}

/* Appends to s a line for each target with a current catalog that cfg does not configure. */
static int add_unconfigured(dscat_store *st, const dscat_config *cfg, dscat_status *s,
                            dscat_error *err)
{
    dscat_stmt *q = NULL;
    int rc = dscat_stmt__prepare(
        &q, st, "SELECT key FROM targets WHERE current_scan_id IS NOT NULL ORDER BY key", err);
    int step = 0;
    while (rc == 0 && (step = dscat_stmt__step(q)) == DSCAT_STMT_ROW) {
        const char *key = dscat_stmt__text(q, 0);
        if (key == NULL || dscat_config_target(cfg, key))
            continue;
        dscat_target_status *grown =
            dscat_realloc(s->per_target, (s->ntargets + 1) * sizeof(*grown));
        if (grown == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        s->per_target = grown;
        dscat_target_status *ts = &s->per_target[s->ntargets++];
        memset(ts, 0, sizeof(*ts));
        ts->last_success_us = DSCAT_STATUS_NEVER;
        if ((ts->target = dscat_strdup(key)) == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else
            rc = target_status(st, ts, err);
    }
    if (rc == 0 && step < 0)
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(q);
    return rc;
}

/* The status; the totals (which count every current column row) only when asked for. */
static int status_read(dscat_status **out, const dscat_config *cfg, bool with_totals,
                       dscat_error *err)
{
    *out = NULL;
    dscat_store *st = NULL;
    dscat_status *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL || (cfg->ntargets && (s->per_target = dscat_calloc(
                                            cfg->ntargets, sizeof(*s->per_target))) == NULL)) {
        dscat_status_free(s);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    s->ntargets = cfg->ntargets;
    s->last_updated_us = s->oldest_success_us = DSCAT_STATUS_NEVER;
    for (size_t i = 0; i < cfg->ntargets; i++) {
        s->per_target[i].target = dscat_strdup(cfg->targets[i].key);
        s->per_target[i].last_success_us = DSCAT_STATUS_NEVER;
        s->per_target[i].configured = true;
    }
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, err);
    if (rc && rc != DSCAT_ENOTFOUND) {
        dscat_status_free(s);
        return rc;
    }
    dscat_error_clear(err);
    /* Every target's line and the totals from one snapshot of the store. */
    if (st && (rc = dscat_store__read_begin(st, err))) {
        dscat_store_close(st);
        dscat_status_free(s);
        return rc;
    }
    bool any = false, all = cfg->ntargets > 0, present = true;
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; st && i < cfg->ntargets; i++) {
        dscat_target_status *ts = &s->per_target[i];
        if ((rc = target_status(st, ts, err))) {
            dscat_store__close_reading(st);
            dscat_status_free(s);
            return rc;
        }
        if (ts->last_success_us == DSCAT_STATUS_NEVER) {
            all = false;
            continue;
        }
        any = true;
        if (ts->last_success_us < oldest)
            oldest = ts->last_success_us;
        if (s->last_updated_us == DSCAT_STATUS_NEVER || ts->last_success_us > s->last_updated_us)
            s->last_updated_us = ts->last_success_us;
    }
    /* Catalogued targets no longer in targets.toml: listed after the configured ones (their
     * catalog stays in the totals and the exports until dscat store forget removes it), and left
     * out of the state, which is about the configured targets. */
    if (st && (rc = add_unconfigured(st, cfg, s, err))) {
        dscat_store__close_reading(st); /* ends the reading and closes the store */
        dscat_status_free(s);
        return rc;
    }
    if (st) {
        if (with_totals)
            totals(st, s);
        s->generation = dscat_store__generation(st);
        s->exports_generation = dscat_store__exports_generation(st);
        if (!(present = dscat_exports_present(cfg->catalog_dir)))
            s->exports_generation = 0; /* they describe nothing */
        dscat_store__read_end(st);
    }
    dscat_store_close(st);
    if (!any) {
        s->state = DSCAT_STATE_NOT_BUILT;
    } else {
        s->oldest_success_us = oldest;
        int64_t age_us = dscat_now_us() - oldest;
        s->age_days = (double)age_us / 86400e6;
        bool stale = !all || age_us >= (int64_t)cfg->settings.stale_after_days * 86400 * 1000000;
        /* Exports behind the store are caught up by the next command, or by dscat serve within
         * deletion_interval_seconds (on a shared store, every other machine's refresh puts them
         * behind for that long): stale where they cannot be, an export missing or the directory
         * read-only. */
        stale |= s->generation != s->exports_generation &&
                 (!present || access(cfg->catalog_dir, W_OK) != 0);
        s->state = stale ? DSCAT_STATE_STALE : DSCAT_STATE_OK;
    }
    *out = s;
    return 0;
}

bool dscat_exports_present(const char *catalog_dir)
{
    static const char *const files[] = {"metadata.parquet", "last_scan.json",
                                        "DATA_CATALOG_SUMMARY.md"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        dscat_buf path = DSCAT_BUF_INIT;
        struct stat sb;
        bool there = dscat_buf_printf(&path, "%s/%s", catalog_dir, files[i]) == 0 &&
                     lstat(dscat_buf_cstr(&path), &sb) == 0 && S_ISREG(sb.st_mode);
        dscat_buf_free(&path);
        if (!there)
            return false;
    }
    return true;
}

int dscat_status_get(dscat_status **out, const dscat_config *cfg, dscat_error *err)
{
    return status_read(out, cfg, true, err);
}

int dscat_status_get_state(dscat_status **out, const dscat_config *cfg, dscat_error *err)
{
    return status_read(out, cfg, false, err);
}

void dscat_status_free(dscat_status *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ntargets && s->per_target; i++) {
        dscat_free(s->per_target[i].target);
        dscat_free(s->per_target[i].status);
        dscat_free(s->per_target[i].last_problem);
    }
    dscat_free(s->per_target);
    dscat_free(s);
}

const char *dscat_catalog_state_name(dscat_catalog_state s, bool json)
{
    switch (s) {
    case DSCAT_STATE_OK:
        return "OK";
    case DSCAT_STATE_STALE:
        return "STALE";
    case DSCAT_STATE_NOT_BUILT:
        return json ? "NOT_BUILT" : "NOT BUILT";
    }
    return "NOT BUILT";
}
