/*
 * Connections (SPEC §0): the (target, database) pairs the cache and the HTTP API address, and the
 * schema refresh of connections with the counts POST /refresh answers (SPEC §11.1).
 */
#include "dscat/cache.h"

#include "core/alloc.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dscat_connection_list_free(dscat_connection_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++) {
        dscat_free(l->items[i].id);
        dscat_free(l->items[i].target);
        dscat_free(l->items[i].database);
    }
    dscat_free(l->items);
    memset(l, 0, sizeof(*l));
}

static int add_connection(dscat_connection_list *l, const dscat_target_config *t,
                          const char *database, bool single)
{
    dscat_connection *g = dscat_realloc(l->items, (l->count + 1) * sizeof(*g));
    if (g == NULL)
        return DSCAT_ENOMEM;
    l->items = g;
    dscat_connection *c = &g[l->count++];
    memset(c, 0, sizeof(*c));
    size_t n = strlen(t->key) + strlen(database) + 2;
    c->id = dscat_malloc(n);
    if (c->id)
        snprintf(c->id, n, single ? "%s" : "%s.%s", t->key, database);
    c->target = dscat_strdup(t->key);
    c->database = dscat_strdup(database);
    c->type = t->type;
    return c->id && c->target && c->database ? 0 : DSCAT_ENOMEM;
}

/* Counts of catalogued and cached tables of one connection. */
static void count_tables(dscat_store *st, dscat_connection *c)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(&s, st,
                            "SELECT count(*), count(tc.version) FROM " DSCAT_CURRENT_TABLES " t "
                            "LEFT JOIN table_cache tc ON tc.connection_id = ?3 "
                            "AND tc.schema = t.schema AND tc.name = t.name "
                            "WHERE t.target = ?1 AND t.database = ?2",
                            NULL) == 0) {
        dscat_stmt__bind_text(s, 1, c->target);
        dscat_stmt__bind_text(s, 2, c->database);
        dscat_stmt__bind_text(s, 3, c->id);
        if (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
            c->tables = dscat_stmt__int(s, 0);
            c->cached = dscat_stmt__int(s, 1);
        }
    }
    dscat_stmt__finalize(s);
}

/*
 * The connections of the configuration, those of multi-database targets as the current catalog
 * lists them, with their counts; st is NULL when there is no catalog yet. Call inside a read
 * transaction, so that the list and the counts come from one snapshot.
 */
static int list_connections(dscat_connection_list *out, const dscat_config *cfg, const char *only,
                            dscat_store *st, dscat_error *err)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < cfg->ntargets && rc == 0; i++) {
        const dscat_target_config *t = &cfg->targets[i];
        char buf[512];
        const char *single = dscat_connection_database(t, buf, sizeof(buf));
        if (single) {
            rc = add_connection(out, t, single, true);
            continue;
        }
        dscat_stmt *s = NULL;
        if (st == NULL || dscat_stmt__prepare(&s, st,
                                              "SELECT DISTINCT database FROM " DSCAT_CURRENT_TABLES
                                              " t WHERE t.target = ?1 ORDER BY database",
                                              err))
            continue;
        dscat_stmt__bind_text(s, 1, t->key);
        while (rc == 0 && dscat_stmt__step(s) == DSCAT_STMT_ROW) {
            const char *database = dscat_stmt__text(s, 0);
            rc = database ? add_connection(out, t, database, false) : DSCAT_ENOMEM;
        }
        dscat_stmt__finalize(s);
    }
    size_t kept = 0;
    for (size_t i = 0; i < out->count; i++) {
        dscat_connection *c = &out->items[i];
        if (only && strcmp(c->id, only) != 0) {
            dscat_free(c->id);
            dscat_free(c->target);
            dscat_free(c->database);
            continue;
        }
        if (st && rc == 0)
            count_tables(st, c);
        out->items[kept++] = *c;
    }
    out->count = kept;
    if (rc) {
        dscat_connection_list_free(out);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    return 0;
}

/*
 * Opens the store for reading and begins its read transaction; *st stays NULL when there is no
 * catalog yet, which is not an error.
 */
static int open_reading(dscat_store **st, const dscat_config *cfg, dscat_error *err)
{
    int rc = dscat_store_open(st, cfg->catalog_dir, DSCAT_STORE_READ, err);
    if (rc == DSCAT_ENOTFOUND) {
        if (err)
            memset(err, 0, sizeof(*err));
        return 0; /* no catalog yet: only the connections the configuration names */
    }
    if (rc == 0 && (rc = dscat_store__read_begin(*st, err))) {
        dscat_store_close(*st);
        *st = NULL;
    }
    return rc;
}

static void close_reading(dscat_store *st)
{
    if (st)
        dscat_store__read_end(st);
    dscat_store_close(st);
}

int dscat_connections_list(dscat_connection_list *out, const dscat_config *cfg, const char *only,
                           dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_store *st = NULL;
    int rc = open_reading(&st, cfg, err);
    if (rc == 0)
        rc = list_connections(out, cfg, only, st, err);
    close_reading(st);
    return rc;
}

/* ---- schema refresh of connections -------------------------------------------------------- */

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

/* The target's current scan id, 0 when it has none. */
static int64_t current_scan(dscat_store *st, const char *target)
{
    dscat_stmt *s = NULL;
    int64_t id = 0;
    if (dscat_stmt__prepare(&s, st, "SELECT current_scan_id FROM targets WHERE key = ?1", NULL) ==
        0) {
        dscat_stmt__bind_text(s, 1, target);
        if (dscat_stmt__step(s) == DSCAT_STMT_ROW)
            id = dscat_stmt__int64(s, 0);
    }
    dscat_stmt__finalize(s);
    return id;
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
        "FROM tables a LEFT JOIN tables b ON b.scan_id = ?2 AND b.database = a.database "
        "AND b.schema = a.schema AND b.name = a.name "
        "WHERE a.scan_id = ?1 AND (?3 IS NULL OR a.database = ?3)",
        err);
    if (rc)
        return rc;
    dscat_stmt__bind_int64(s, 1, now);
    dscat_stmt__bind_int64(s, 2, before);
    if (database)
        dscat_stmt__bind_text(s, 3, database);
    if (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        *all += dscat_stmt__int(s, 0);
        *added += dscat_stmt__int(s, 1);
        *modified += dscat_stmt__int(s, 2);
    }
    dscat_stmt__finalize(s);
    return 0;
}

/* The connections of one target in scan `scan` (databases), for the refreshed count. */
static long target_connections(dscat_store *st, const dscat_target_config *t, int64_t scan)
{
    char buf[512];
    if (dscat_connection_database(t, buf, sizeof(buf)))
        return 1;
    dscat_stmt *s = NULL;
    long n = 0;
    if (dscat_stmt__prepare(
            &s, st, "SELECT count(DISTINCT database) FROM tables WHERE scan_id = ?1", NULL) == 0) {
        dscat_stmt__bind_int64(s, 1, scan);
        if (dscat_stmt__step(s) == DSCAT_STMT_ROW)
            n = dscat_stmt__int(s, 0);
    }
    dscat_stmt__finalize(s);
    return n;
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
        if (only == NULL &&
            dscat_connection_resolve(cfg, NULL, connection_id, &only, &database, err))
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
    if (dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            before[i] = current_scan(st, keys[i]);
        dscat_store_close(st);
        st = NULL;
    }
    dscat_refresh_options o = {.targets = keys, .ntargets = n};
    if ((rc = dscat_refresh(&rep, cfg, &o, err)))
        goto done;
    /* Nothing written (no target could be scanned) leaves no store; the counts come from one
     * snapshot of it otherwise. */
    rc = open_reading(&st, cfg, err);
    for (size_t i = 0; i < rep->ntargets && rc == 0; i++) {
        const dscat_target_report *t = &rep->targets[i];
        if (t->status == DSCAT_SCAN_FAILED || t->scan_id == 0 || st == NULL) {
            out->connections_failed++;
            rc = add_error(out, connection_id ? connection_id : t->target,
                           t->error.message[0] ? t->error.message : "the scan failed");
            continue;
        }
        const dscat_target_config *tc = dscat_config_target(cfg, t->target);
        out->connections_refreshed += database ? 1 : target_connections(st, tc, t->scan_id);
        rc = count_changes(st, t->scan_id, before[i], database, &out->tables_discovered,
                           &out->tables_added, &out->tables_modified, err);
    }
    if (rc == DSCAT_ENOMEM)
        dscat_error_set(err, rc, "out of memory");
done:
    close_reading(st);
    dscat_refresh_report_free(rep);
    dscat_free(before);
    dscat_free(keys);
    dscat_free(database);
    if (rc)
        dscat_schema_refresh_result_free(out);
    return rc;
}

/* ---- information schema -----------------------------------------------------------------------
 */

int dscat_information_schema(char **out, const dscat_config *cfg, const char *only,
                             dscat_error *err)
{
    *out = NULL;
    dscat_connection_list l = {0};
    dscat_store *st = NULL;
    json_t *tables = json_array();
    /* The connections and their tables from one snapshot of the store. */
    int rc =
        tables ? open_reading(&st, cfg, err) : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = list_connections(&l, cfg, only, st, err);
    if (rc == 0 && only && l.count == 0)
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "connection '%s' not found", only);
    for (size_t i = 0; i < l.count && st && rc == 0; i++) {
        const dscat_connection *c = &l.items[i];
        dscat_stmt *s = NULL;
        rc = dscat_stmt__prepare(
            &s, st,
            "SELECT t.id, t.schema, t.name, t.table_type, "
            "CASE WHEN tc.version IS NOT NULL THEN 1 ELSE 0 END, c.name, "
            "c.data_type, c.is_nullable FROM " DSCAT_CURRENT_TABLES " t "
            "LEFT JOIN table_cache tc ON tc.connection_id = ?3 AND tc.schema = t.schema "
            "AND tc.name = t.name LEFT JOIN columns c ON c.table_id = t.id "
            "WHERE t.target = ?1 AND t.database = ?2 ORDER BY t.schema, t.name, c.ordinal",
            err);
        if (rc)
            break;
        dscat_stmt__bind_text(s, 1, c->target);
        dscat_stmt__bind_text(s, 2, c->database);
        dscat_stmt__bind_text(s, 3, c->id);
        int64_t last = -1;
        json_t *cols = NULL;
        int step;
        while (rc == 0 && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
            int64_t id = dscat_stmt__int64(s, 0);
            if (id != last) {
                last = id;
                /* json_pack takes cols even when it fails: keep it only once it is placed. */
                cols = json_array();
                json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:b, s:O}", "connection_id", c->id,
                                      "schema_name", dscat_stmt__text(s, 1), "table_name",
                                      dscat_stmt__text(s, 2), "table_type", dscat_stmt__text(s, 3),
                                      "synced", dscat_stmt__int(s, 4), "columns", cols);
                json_decref(cols);
                if (t == NULL || json_array_append_new(tables, t)) {
                    rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                    break;
                }
            }
            if (!dscat_stmt__is_null(s, 5) &&
                json_array_append_new(cols, json_pack("{s:s, s:s, s:b}", "column_name",
                                                      dscat_stmt__text(s, 5), "data_type",
                                                      dscat_stmt__text(s, 6), "is_nullable",
                                                      dscat_stmt__int(s, 7))))
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        if (rc == 0 && step != DSCAT_STMT_DONE)
            rc = dscat_store__step_error(st, err);
        dscat_stmt__finalize(s);
    }
    close_reading(st);
    dscat_connection_list_free(&l);
    if (rc) {
        json_decref(tables);
        return rc;
    }
    json_t *doc = json_pack("{s:o}", "tables", tables);
    *out = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    return *out ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}
