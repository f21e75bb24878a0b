/*
 * Connections (SPEC §0): the (target, database) pairs the cache and the HTTP API address, and
 * their information schema. The schema refresh of connections is a job (src/jobs/).
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

int dscat_connections_list(dscat_connection_list *out, const dscat_config *cfg, const char *only,
                           dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_store *st = NULL;
    int rc = dscat_store__open_reading(&st, cfg->catalog_dir, err);
    if (rc == 0)
        rc = list_connections(out, cfg, only, st, err);
    dscat_store__close_reading(st);
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
    int rc = tables ? dscat_store__open_reading(&st, cfg->catalog_dir, err)
                    : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
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
            "c.data_type, c.is_nullable, c.is_primary_key, c.fk_references "
            "FROM " DSCAT_CURRENT_TABLES " t "
            "LEFT JOIN table_cache tc ON tc.connection_id = ?3 AND tc.schema = t.schema "
            "AND tc.name = t.name LEFT JOIN columns c ON c.set_id = t.column_set "
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
                json_array_append_new(
                    cols,
                    json_pack("{s:s, s:s, s:b, s:b, s:s}", "column_name", dscat_stmt__text(s, 5),
                              "data_type", dscat_stmt__text(s, 6), "is_nullable",
                              dscat_stmt__int(s, 7), "is_primary_key", dscat_stmt__int(s, 8),
                              /* "" for none, as GET /tables and /search write it */
                              "fk_references",
                              dscat_stmt__is_null(s, 9) ? "" : dscat_stmt__text(s, 9))))
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        if (rc == 0 && step != DSCAT_STMT_DONE)
            rc = dscat_store__step_error(st, err);
        dscat_stmt__finalize(s);
    }
    dscat_store__close_reading(st);
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
