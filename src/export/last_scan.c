/*
 * last_scan.json (SPEC §4), written from the store: per target its latest scan's status, the
 * counts and time of its last successful scan, and the last failure when the latest one failed.
 * A database of the current scan whose catalog was kept from an earlier scan (it could not be
 * scanned) is listed in `stale_databases`, with when it was last scanned and why it was not now.
 * `timestamp` and `last_updated` are local time without offset, as the older tool wrote them;
 * the `_utc` twins are for everything else.
 */
#include "store/store.h"
#include "core/alloc.h"
#include "core/timeutil.h"
#include "core/atomic.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static json_t *local_time(int64_t us)
{
    char buf[64];
    dscat_format_local_iso(us, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *utc_time(int64_t us)
{
    char buf[64];
    dscat_format_utc_iso(us, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *opt_text(dscat_stmt *s, int i)
{
    const char *v = dscat_stmt__text(s, i);
    return v ? json_string(v) : json_null();
}

/*
 * Sets obj[key] = v (taking v), remembering in *bad when that fails: jansson drops a NULL value
 * (an allocation that failed) silently, and the file must be whole or not written at all.
 */
static void set(json_t *obj, const char *key, json_t *v, bool *bad)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        *bad = true;
}

/* One row of a query as a JSON object (NULL when out of memory). */
typedef json_t *(*row_object)(dscat_stmt *s);

/*
 * The rows of sql (one scan's, the scan id bound to ?1) as an array of row's objects. NULL when
 * out of memory, or when the store failed: then *store_rc is its code and err says why.
 */
static json_t *rows_of(dscat_store *st, const char *sql, int64_t scan_id, row_object row,
                       int *store_rc, dscat_error *err)
{
    json_t *arr = json_array();
    dscat_stmt *s = NULL;
    int rc;
    if (arr == NULL)
        return NULL;
    if ((rc = dscat_stmt__prepare(&s, st, sql, err))) {
        *store_rc = rc;
        json_decref(arr);
        return NULL;
    }
    dscat_stmt__bind_int64(s, 1, scan_id);
    bool bad = false;
    int step = DSCAT_STMT_DONE;
    while (!bad && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW)
        bad = json_array_append_new(arr, row(s)) != 0;
    if (!bad && step != DSCAT_STMT_DONE)
        *store_rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    if (bad || *store_rc) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *problem_object(dscat_stmt *s)
{
    return json_pack("{s:o, s:o, s:o}", "database", opt_text(s, 0), "schema", opt_text(s, 1),
                     "message", opt_text(s, 2));
}

/* The problems recorded for one scan, as [{database, schema, message}]; NULL as rows_of(). */
static json_t *problems_of(dscat_store *st, int64_t scan_id, int *store_rc, dscat_error *err)
{
    return rows_of(st,
                   "SELECT database, schema, message FROM scan_problems WHERE scan_id = ?1 "
                   "ORDER BY rowid",
                   scan_id, problem_object, store_rc, err);
}

static json_t *stale_object(dscat_stmt *s)
{
    int64_t at = dscat_stmt__int64(s, 1);
    return json_pack("{s:o, s:o, s:o, s:o}", "database", opt_text(s, 0), "scanned_at",
                     local_time(at), "scanned_at_utc", utc_time(at), "message", opt_text(s, 2));
}

/*
 * The databases of a target's current scan whose catalog is kept from an earlier scan (they could
 * not be scanned: their scanned_at is older than the scan), as [{database, scanned_at,
 * scanned_at_utc, message}], message being the database's problem. NULL as rows_of().
 */
static json_t *stale_of(dscat_store *st, int64_t scan_id, int *store_rc, dscat_error *err)
{
    return rows_of(st,
                   "SELECT d.database, d.scanned_at_us, (SELECT p.message FROM scan_problems p "
                   "  WHERE p.scan_id = d.scan_id AND p.database = d.database AND p.schema IS NULL "
                   "  ORDER BY p.rowid DESC LIMIT 1) "
                   "FROM scan_databases d JOIN scans s ON s.id = d.scan_id "
                   "WHERE d.scan_id = ?1 AND d.scanned_at_us < s.started_us ORDER BY d.database",
                   scan_id, stale_object, store_rc, err);
}

/* One target's entry: latest scan (l.*) and last successful scan (c.*), which may be absent. */
static const char *const entries_sql =
    "SELECT l.target, l.id, l.status, l.finished_us, l.duration_ms, l.error,"
    "       c.id, c.finished_us, c.columns, c.databases, c.tables "
    "FROM scans l "
    "LEFT JOIN targets g ON g.key = l.target "
    "LEFT JOIN scans c ON c.id = g.current_scan_id "
    "WHERE l.id = (SELECT max(id) FROM scans WHERE target = l.target) "
    "ORDER BY l.target";

static json_t *build(dscat_store *st, dscat_error *err)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(&s, st, entries_sql, err))
        return NULL;
    json_t *scans = json_object();
    bool bad = scans == NULL;
    int step, store_rc = 0;
    while (!bad && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        const char *target = dscat_stmt__text(s, 0);
        const char *status = dscat_stmt__text(s, 2);
        bool has_success = !dscat_stmt__is_null(s, 6);
        int64_t success_us = dscat_stmt__int64(s, 7);
        json_t *e = json_object();
        if (e == NULL) {
            bad = true;
            break;
        }
        set(e, "timestamp", has_success ? local_time(success_us) : json_null(), &bad);
        set(e, "timestamp_utc", has_success ? utc_time(success_us) : json_null(), &bad);
        set(e, "row_count", json_integer(has_success ? dscat_stmt__int64(s, 8) : 0), &bad);
        set(e, "databases", json_integer(has_success ? dscat_stmt__int64(s, 9) : 0), &bad);
        set(e, "tables", json_integer(has_success ? dscat_stmt__int64(s, 10) : 0), &bad);
        set(e, "duration_ms", json_integer(dscat_stmt__int64(s, 4)), &bad);
        set(e, "status", json_string(status), &bad);
        set(e, "problems", problems_of(st, dscat_stmt__int64(s, 1), &store_rc, err), &bad);
        set(e, "error", opt_text(s, 5), &bad);
        /* Only where there are some: the older tool's readers see the entry they know. */
        json_t *stale = NULL;
        if (has_success && !bad && !store_rc &&
            (stale = stale_of(st, dscat_stmt__int64(s, 6), &store_rc, err)) == NULL)
            bad = true; /* out of memory, or the store failed (store_rc) */
        if (stale && json_array_size(stale) > 0)
            set(e, "stale_databases", stale, &bad);
        else
            json_decref(stale);
        if (strcmp(status, "failed") == 0) {
            int64_t at = dscat_stmt__int64(s, 3);
            set(e, "last_failure",
                json_pack("{s:o, s:o, s:o}", "timestamp", local_time(at), "timestamp_utc",
                          utc_time(at), "message", opt_text(s, 5)),
                &bad);
        }
        set(scans, target, e, &bad);
    }
    dscat_stmt__finalize(s);
    if (store_rc) { /* err says what the store said */
        json_decref(scans);
        return NULL;
    }
    if (bad) {
        json_decref(scans);
        dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        return NULL;
    }
    if (step != DSCAT_STMT_DONE) {
        json_decref(scans);
        dscat_store__step_error(st, err);
        return NULL;
    }
    int64_t now = dscat_now_us();
    json_t *doc = json_pack("{s:o, s:o, s:o, s:I}", "scans", scans, "last_updated", local_time(now),
                            "last_updated_utc", utc_time(now), "generation",
                            (json_int_t)dscat_store__generation(st));
    if (doc == NULL)
        dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return doc;
}

int dscat_export_last_scan(dscat_store *st, const char *path, dscat_error *err)
{
    /* Each target's entry and its problems from one snapshot of the store. */
    int rc = dscat_store__read_begin(st, err);
    if (rc)
        return rc;
    json_t *doc = build(st, err);
    dscat_store__read_end(st);
    if (doc == NULL)
        return err && err->code ? err->code : DSCAT_ENOMEM;
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (text == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    size_t len = strlen(text);
    text[len] = '\0';
    char *with_nl = dscat_realloc(text, len + 2);
    if (with_nl == NULL) {
        dscat_free(text);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = '\0';
    rc = dscat_atomic_write(path, with_nl, len + 1, err);
    dscat_free(with_nl);
    return rc;
}
