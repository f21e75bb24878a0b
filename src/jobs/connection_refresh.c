/*
 * The schema refresh of connections, with the counts POST /refresh answers (SPEC §11.1): the
 * refresh job over the targets the connections belong to, then the tables discovered, added and
 * modified, read from one snapshot of the store.
 */
#include "dscat/cache.h"
#include "dscat/catalog.h"

#include "core/alloc.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

void dscat_schema_refresh_result_free(dscat_schema_refresh_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nerrors; i++) {
        dscat_free(r->error_ids[i]);
        dscat_free(r->errors[i]);
    }
    dscat_free(r->error_ids);
    dscat_free(r->errors);
    memset(r, 0, sizeof(*r));
}

static int add_error(dscat_schema_refresh_result *r, const char *id, const char *message)
{
    char **ids = dscat_realloc(r->error_ids, (r->nerrors + 1) * sizeof(char *));
    if (ids == NULL)
        return DSCAT_ENOMEM;
    r->error_ids = ids;
    char **msgs = dscat_realloc(r->errors, (r->nerrors + 1) * sizeof(char *));
    if (msgs == NULL)
        return DSCAT_ENOMEM;
    r->errors = msgs;
    ids[r->nerrors] = dscat_strdup(id);
    msgs[r->nerrors] = dscat_strdup(message);
    r->nerrors++;
    return ids[r->nerrors - 1] && msgs[r->nerrors - 1] ? 0 : DSCAT_ENOMEM;
}

/*
 * The target's current scan id into *id, 0 when it has none. A store error fails: read as "no
 * earlier scan" it would count every table as added.
 */
static int current_scan(int64_t *id, dscat_store *st, const char *target, dscat_error *err)
{
    dscat_stmt *s = NULL;
    *id = 0;
    int rc = dscat_stmt__prepare(&s, st, "SELECT current_scan_id FROM targets WHERE key = ?1", err);
    if (rc == 0) {
        dscat_stmt__bind_text(s, 1, target);
        int step = dscat_stmt__step(s);
        if (step == DSCAT_STMT_ROW)
            *id = dscat_stmt__int64(s, 0);
        else if (step != DSCAT_STMT_DONE)
            rc = dscat_store__step_error(st, err);
    }
    dscat_stmt__finalize(s);
    return rc;
}

/*
 * Tables of scan `now` (one database, or all when database is NULL): in all, absent from scan
 * `before`, and present in both with a different signature (a column added, removed or changed).
 */
static int count_changes(dscat_store *st, int64_t now, int64_t before, const char *database,
                         long *all, long *added, long *modified, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(
        &s, st,
        "SELECT count(*), coalesce(sum(CASE WHEN b.id IS NULL THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN b.id IS NOT NULL AND b.signature <> a.signature THEN 1 "
        "ELSE 0 END), 0) "
        "FROM scan_tables a LEFT JOIN scan_tables b ON b.scan_id = ?2 AND b.database = a.database "
        "AND b.schema = a.schema AND b.name = a.name "
        "WHERE a.scan_id = ?1 AND (?3 IS NULL OR a.database = ?3)",
        err);
    if (rc)
        return rc;
    dscat_stmt__bind_int64(s, 1, now);
    dscat_stmt__bind_int64(s, 2, before);
    if (database)
        dscat_stmt__bind_text(s, 3, database);
    int step = dscat_stmt__step(s);
    if (step == DSCAT_STMT_ROW) {
        *all += dscat_stmt__int(s, 0);
        *added += dscat_stmt__int(s, 1);
        *modified += dscat_stmt__int(s, 2);
    } else {
        rc = dscat_store__step_error(st, err); /* an aggregate always answers one row */
    }
    dscat_stmt__finalize(s);
    return rc;
}

/*
 * The databases scan `scan` scanned anew (one database, or all when database is NULL): its
 * databases whose catalog is not kept from an earlier scan, empty ones included. A kept
 * database's row carries the scanned_at of the scan it is kept from, older than this scan.
 */
static int scanned_databases(long *n, dscat_store *st, int64_t scan, const char *database,
                             dscat_error *err)
{
    dscat_stmt *s = NULL;
    *n = 0;
    int rc = dscat_stmt__prepare(&s, st,
                                 "SELECT count(*) FROM scan_databases d JOIN scans s ON s.id = "
                                 "d.scan_id WHERE d.scan_id = ?1 AND d.scanned_at_us >= "
                                 "s.started_us AND (?2 IS NULL OR d.database = ?2)",
                                 err);
    if (rc)
        return rc;
    dscat_stmt__bind_int64(s, 1, scan);
    if (database) /* unbound is NULL (as in count_changes()) */
        dscat_stmt__bind_text(s, 2, database);
    int step = dscat_stmt__step(s);
    if (step == DSCAT_STMT_ROW)
        *n = (long)dscat_stmt__int64(s, 0);
    else
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    return rc;
}

/*
 * Counts the target's databases that could not be scanned (one database, or all when database
 * is NULL) as failed connections, each named `asked` (the connection id asked for) or else
 * <target>.<database>, with its problem as the reason: those that keep an earlier catalog and
 * those that had none to keep alike. *named is set when `database` is one of them.
 */
static int unscanned_connections(dscat_schema_refresh_result *out, const dscat_target_report *t,
                                 const char *database, const char *asked, bool *named)
{
    char id[1024];
    int rc = 0;
    for (size_t i = 0; i < t->nproblems && rc == 0; i++) {
        const dscat_scan_problem *p = &t->problems[i];
        if (!p->unscanned || (database && (p->database == NULL || strcmp(p->database, database))))
            continue;
        snprintf(id, sizeof(id), "%s.%s", t->target, p->database ? p->database : "");
        out->connections_failed++;
        *named = true;
        rc = add_error(out, asked ? asked : id,
                       p->message ? p->message : "the database could not be scanned");
    }
    return rc;
}

int dscat_schema_refresh(dscat_schema_refresh_result *out, const dscat_config *cfg,
                         const char *connection_id, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    const dscat_target_config *only = NULL;
    char *database = NULL; /* counted for one database of the target */
    int rc = 0;
    if (connection_id) {
        only = dscat_config_target(cfg, connection_id);
        if (only == NULL && dscat_connection_resolve(cfg, connection_id, &only, &database, err))
            return dscat_error_set(err, DSCAT_ENOTFOUND, "connection '%s' not found",
                                   connection_id);
    }
    if (only == NULL && cfg->ntargets == 0)
        return 0; /* nothing configured: nothing refreshed, zero counts (not a failure) */
    size_t n = only ? 1 : cfg->ntargets;
    int64_t *before = dscat_calloc(n + 1, sizeof(int64_t));
    const char **keys = dscat_calloc(n + 1, sizeof(char *));
    dscat_store *st = NULL;
    dscat_refresh_report *rep = NULL;
    if (before == NULL || keys == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = only ? only->key : cfg->targets[i].key;
    /* No catalog yet is no earlier scan; a store that cannot be opened otherwise (a server
     * down, a lock held too long), or an error reading one that opened, fails the request: read
     * as "no earlier scan", every table would count as added. */
    rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, err);
    if (rc == DSCAT_ENOTFOUND) {
        rc = 0;
        dscat_error_clear(err);
    } else if (rc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = current_scan(&before[i], st, keys[i], err);
        dscat_store_close(st);
        st = NULL;
    }
    if (rc)
        goto done;
    dscat_refresh_options o = {.targets = keys, .ntargets = n};
    if ((rc = dscat_refresh(&rep, cfg, &o, err)))
        goto done;
    /* Nothing written (no target could be scanned) leaves no store; the counts come from one
     * snapshot of it otherwise. */
    rc = dscat_store__open_reading(&st, cfg->catalog_dir, err);
    for (size_t i = 0; i < rep->ntargets && rc == 0; i++) {
        const dscat_target_report *t = &rep->targets[i];
        if (t->status == DSCAT_SCAN_FAILED || t->scan_id == 0 || st == NULL) {
            out->connections_failed++;
            rc = add_error(out, connection_id ? connection_id : t->target,
                           t->error.message[0] ? t->error.message : "the scan failed");
            continue;
        }
        /* Every database the target listed is exactly one of: scanned anew (refreshed), not
         * scanned (failed, kept or not), or neither when it is gone from the server. */
        long scanned = 0;
        bool named = false;
        if ((rc = unscanned_connections(out, t, database, connection_id, &named)) ||
            (rc = scanned_databases(&scanned, st, t->scan_id, database, err)))
            break;
        out->connections_refreshed += scanned;
        if (database && scanned == 0 && !named) { /* asked for a database the server lacks */
            char why[1024];
            snprintf(why, sizeof(why), "target %s: database %s was not found on the server",
                     t->target, database);
            out->connections_failed++;
            if ((rc = add_error(out, connection_id, why)))
                break;
        }
        rc = count_changes(st, t->scan_id, before[i], database, &out->tables_discovered,
                           &out->tables_added, &out->tables_modified, err);
    }
    if (rc == DSCAT_ENOMEM)
        dscat_error_set(err, rc, "out of memory");
done:
    dscat_store__close_reading(st);
    dscat_refresh_report_free(rep);
    dscat_free(before);
    dscat_free(keys);
    dscat_free(database);
    if (rc)
        dscat_schema_refresh_result_free(out);
    return rc;
}
