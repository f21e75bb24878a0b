/*
 * Forgetting a target (dscat store forget): a target taken out of targets.toml keeps its catalog
 * and its cached tables in the store, as the older tool kept a target's rows in metadata.parquet
 * (nothing is dropped because a configuration changed). This removes them on request, in one
 * store transaction: the target's scans and the content only they used (the prune's rules), its
 * current scan, its schedule runs, and its cached tables, whose files are scheduled for deletion
 * after the grace as a purge's are. Then the exports are written again without it. A target that
 * is still configured is refused: its next refresh would bring it back.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "dscat/catalog.h"
#include "dscat/config.h"

#include <stdio.h>
#include <string.h>

/* Runs one statement with the target's key as ?1. */
static int on_target(dscat_store *st, const char *sql, const char *key, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(&s, st, sql, err);
    if (rc == 0) {
        dscat_stmt__bind_text(s, 1, key);
        int step = dscat_stmt__step(s);
        if (step != DSCAT_STMT_DONE && step != DSCAT_STMT_ROW)
            rc = dscat_store__step_error(st, err);
    }
    dscat_stmt__finalize(s);
    return rc;
}

/* How many scans the store holds of the target, and whether it has other rows (its current
 * scan, its schedules' runs). */
static int count_scans(dscat_store *st, const char *key, int64_t *scans, bool *current,
                       dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(&s, st,
                                 "SELECT (SELECT count(*) FROM scans WHERE target = ?1), "
                                 "  (SELECT count(*) FROM targets WHERE key = ?1) "
                                 "  + (SELECT count(*) FROM schedule_runs WHERE target = ?1)",
                                 err);
    if (rc == 0) {
        dscat_stmt__bind_text(s, 1, key);
        if (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
            *scans = dscat_stmt__int64(s, 0);
            *current = dscat_stmt__int64(s, 1) > 0;
        } else {
            rc = dscat_store__step_error(st, err);
        }
    }
    dscat_stmt__finalize(s);
    return rc;
}

/* Schedules and removes the target's cached tables: those of its connection id (a target of one
 * database) and of each "<target>.<database>" one (a target of several). */
static int forget_cached(dscat_store *st, const char *key, const char *when, size_t *removed,
                         dscat_error *err)
{
    dscat_stmt *s = NULL;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    int rc = dscat_stmt__prepare(&s, st,
                                 "SELECT DISTINCT connection_id FROM table_cache "
                                 "WHERE connection_id = ?1 "
                                 "OR substr(connection_id, 1, length(?1) + 1) = ?1 || '.'",
                                 err);
    int step = 0;
    if (rc == 0)
        dscat_stmt__bind_text(s, 1, key);
    while (rc == 0 && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            char **grown = dscat_realloc(ids, cap * sizeof(*ids));
            if (grown == NULL) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                break;
            }
            ids = grown;
        }
        if ((ids[n] = dscat_strdup(dscat_stmt__text(s, 0))) == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else
            n++;
    }
    if (rc == 0 && step < 0)
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t one = 0;
        rc = dscat_store__schedule_cached(st, ids[i], NULL, NULL, when, err);
        if (rc == 0)
            rc = dscat_store__delete_cached(st, ids[i], NULL, NULL, &one, err);
        *removed += one;
    }
    for (size_t i = 0; i < n; i++)
        dscat_free(ids[i]);
    dscat_free(ids);
    return rc;
}

int dscat_forget_target(const dscat_config *cfg, const char *key, dscat_forget_report *out,
                        dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    if (dscat_config_target(cfg, key))
        return dscat_error_set(err, DSCAT_ECONFLICT,
                               "target %s is in targets.toml: take it out of targets.toml first "
                               "(its next refresh would catalogue it again)",
                               key);
    /* No store: nothing to forget, and none created for it. */
    dscat_store *st = NULL;
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, err);
    dscat_store_close(st);
    st = NULL;
    if (rc == 0)
        rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    bool current = false;
    char when[40];
    if (rc == 0)
        rc = dscat_store__begin(st, err);
    /* the grace counts from inside the transaction, as a purge's does */
    dscat_cache__iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    if (rc == 0)
        rc = count_scans(st, key, &out->scans, &current, err);
    if (rc == 0)
        rc = forget_cached(st, key, when, &out->cached_tables, err);
    if (rc == 0 && out->scans == 0 && !current && out->cached_tables == 0)
        rc = dscat_error_set(err, DSCAT_ENOTFOUND,
                             "the store holds nothing of a target named %s (dscat status lists "
                             "the catalogued targets)",
                             key);
    /* Without its current pointer, the prune's rules take every scan of the target (keep 0) and
     * the content only those used. */
    if (rc == 0)
        rc = on_target(st, "DELETE FROM targets WHERE key = ?1", key, err);
    if (rc == 0)
        rc = on_target(st, "DELETE FROM schedule_runs WHERE target = ?1", key, err);
    if (rc == 0)
        rc = dscat_store__prune(st, key, 0, err);
    if (rc == 0)
        rc = dscat_store__commit(st, err);
    else if (st)
        dscat_store__rollback(st);
    /* The exports, written again from the catalog without it (the store no longer holds it,
     * whatever happens to them: the next command writes them again). */
    if (rc == 0 && (rc = dscat_export_all(st, cfg->catalog_dir, err)) != 0 && err) {
        char cause[sizeof(err->message)];
        snprintf(cause, sizeof(cause), "%s", err->message);
        dscat_error_set(err, rc,
                        "target %s was forgotten, but the exports could not be written: %s", key,
                        cause);
    }
    dscat_store_close(st);
    return rc;
}
