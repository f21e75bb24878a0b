/*
 * The one renderer of library results as JSON, for the CLI (as text, through dscat_json_*), the
 * HTTP API and the MCP server (as jansson objects).
 */
#include "api/render.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *dscat_render_time(int64_t us)
{
    if (us == DSCAT_STATUS_NEVER)
        return json_null();
    char buf[64];
    dscat_format_utc_iso(us, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *opt_int(int64_t v)
{
    return v == DSCAT_NULL_ESTIMATE ? json_null() : json_integer(v);
}

json_t *dscat_render_status(const dscat_status *s)
{
    json_t *targets = json_array();
    for (size_t i = 0; i < s->ntargets; i++) {
        const dscat_target_status *t = &s->per_target[i];
        json_array_append_new(targets,
                              json_pack("{s:s, s:s?, s:o, s:s?, s:I, s:I, s:I, s:b}", "target",
                                        t->target, "status", t->status, "last_success",
                                        dscat_render_time(t->last_success_us), "last_problem",
                                        t->last_problem, "databases", (json_int_t)t->databases,
                                        "tables", (json_int_t)t->tables, "columns",
                                        (json_int_t)t->columns, "configured", t->configured));
    }
    return json_pack("{s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:o, s:b}", "status",
                     dscat_catalog_state_name(s->state, true), "last_updated",
                     dscat_render_time(s->last_updated_us), "age_days",
                     s->state == DSCAT_STATE_NOT_BUILT ? json_null() : json_real(s->age_days),
                     "counts", "targets", (json_int_t)s->targets, "databases",
                     (json_int_t)s->databases, "tables", (json_int_t)s->tables, "columns",
                     (json_int_t)s->columns, "targets", targets, "exports_in_step",
                     s->generation == s->exports_generation);
}

json_t *dscat_render_schedules(const dscat_schedule_list *l)
{
    json_t *items = json_array();
    for (size_t i = 0; i < l->count; i++) {
        const dscat_schedule *s = &l->items[i];
        json_t *o = json_pack(
            "{s:s, s:s, s:s?, s:s?, s:i, s:o, s:o, s:s?, s:s?, s:i, s:o, s:o}", "kind", s->kind,
            "connection_id", s->target, "schema_name", s->schema, "table_name", s->table,
            "every_seconds", s->every, "last_started", dscat_render_time(s->last_started_us),
            "last_finished", dscat_render_time(s->last_finished_us), "result", s->result, "error",
            s->error, "failures", s->failures, "running_since",
            dscat_render_time(s->running_since_us), "next_run", dscat_render_time(s->next_run_us));
        if (s->mode) /* a data refresh: how it runs */
            json_object_update_new(o,
                                   json_pack("{s:s, s:s?, s:i}", "mode", s->mode, "append_key",
                                             s->append_key, "full_every_seconds", s->full_every));
        json_array_append_new(items, o);
    }
    return json_pack("{s:o}", "schedules", items);
}

json_t *dscat_render_hit(const dscat_search_hit *h, bool by_table)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:o, s:i}", "target",
                          h->target, "database", h->database, "schema", h->schema, "table_name",
                          h->table_name, "column_name", h->column_name, "data_type", h->data_type,
                          "is_primary_key", h->is_primary_key, "is_foreign_key", h->is_foreign_key,
                          "fk_references", h->fk_references, "row_count_estimate",
                          opt_int(h->row_count_estimate), "relevance", h->relevance);
    if (o && by_table)
        json_object_set_new(o, "matching_columns",
                            json_string(h->matching_columns ? h->matching_columns : ""));
    return o;
}

json_t *dscat_render_annotation(const dscat_annotation *a)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", a->id, "type", a->type, "content",
                     a->content, "author", a->author, "created_at", a->created_at);
}

json_t *dscat_render_table(const dscat_table_detail *d)
{
    json_t *cols = json_array();
    for (size_t i = 0; i < d->ncolumns; i++) {
        const dscat_column_detail *c = &d->columns[i];
        json_array_append_new(
            cols, json_pack("{s:s, s:i, s:s, s:s, s:b, s:b, s:b, s:s, s:s?, s:s?, s:o, s:o, s:o, "
                            "s:s?, s:b}",
                            "column_name", c->name, "ordinal_position", c->ordinal, "data_type",
                            c->data_type, "column_type", c->column_type, "is_nullable", c->nullable,
                            "is_primary_key", c->is_primary_key, "is_foreign_key",
                            c->is_foreign_key, "fk_references", c->fk_references, "column_default",
                            c->default_value, "column_comment", c->comment, "null_count",
                            opt_int(c->null_count), "distinct_count", opt_int(c->distinct_count),
                            "profiled_rows", opt_int(c->profiled_rows), "generated", c->generated,
                            "is_hidden", c->hidden));
    }
    json_t *inbound = json_array();
    for (size_t i = 0; i < d->ninbound; i++)
        json_array_append_new(
            inbound,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "database", d->inbound[i].database, "schema",
                      d->inbound[i].schema, "table_name", d->inbound[i].table_name, "column_name",
                      d->inbound[i].column_name, "ref_column", d->inbound[i].ref_column));
    json_t *ann = json_array();
    for (size_t i = 0; i < d->nannotations; i++)
        json_array_append_new(ann, dscat_render_annotation(&d->annotations[i]));
    return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s?}, s:o, s:o, s:o}", "table",
                     "target", d->target, "database", d->database, "schema", d->schema,
                     "table_name", d->table_name, "table_type", d->table_type, "row_count_estimate",
                     opt_int(d->row_count_estimate), "table_size_bytes", opt_int(d->size_bytes),
                     "table_comment", d->comment, "columns", cols, "inbound", inbound,
                     "annotations", ann);
}

/*
 * s (not NULL, not empty) as a malloc'd copy with every byte that is not part of well-formed UTF-8
 * (dscat_utf8_char) written as "\xNN", as human-readable output shows it; NULL when out of
 * memory. jansson refuses text that is not UTF-8, and a query's value or column name it refused
 * would be left out of its row without a word.
 */
static char *utf8_shown(const char *s)
{
    dscat_buf b = DSCAT_BUF_INIT;
    const char *end = s + strlen(s);
    int rc = 0;
    while (s < end && rc == 0) {
        size_t n = dscat_utf8_char(s, end);
        rc = n ? dscat_buf_put(&b, s, n) : dscat_buf_printf(&b, "\\x%02x", (unsigned char)*s);
        s += n ? n : 1;
    }
    if (rc) {
        dscat_buf_free(&b);
        return NULL;
    }
    return dscat_buf_detach(&b);
}

/* Text from a query (a value or a column name) as a JSON string, shown by utf8_shown() when it is
 * not UTF-8; NULL for NULL (then JSON null) or when out of memory. */
static json_t *query_text(const char *s)
{
    json_t *j = s ? json_string(s) : json_null();
    if (j == NULL) {
        char *shown = utf8_shown(s);
        j = shown ? json_string(shown) : NULL;
        dscat_free(shown);
    }
    return j;
}

json_t *dscat_render_query(const dscat_query_result *r)
{
    json_t *cols = json_array(), *rows = json_array();
    for (size_t c = 0; c < r->ncolumns; c++)
        json_array_append_new(cols, query_text(r->columns[c]));
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *row = json_array();
        for (size_t c = 0; c < r->ncolumns; c++) {
            const char *v = r->cells[i * r->ncolumns + c];
            json_array_append_new(row, query_text(v));
        }
        json_array_append_new(rows, row);
    }
    return json_pack("{s:o, s:o, s:I, s:I, s:b}", "columns", cols, "rows", rows, "row_count",
                     (json_int_t)r->nrows, "duration_ms", (json_int_t)r->duration_ms, "truncated",
                     r->truncated);
}

json_t *dscat_render_fallbacks(const dscat_fallbacks *f)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->count; i++)
        json_array_append_new(a,
                              json_pack("{s:s, s:s, s:s}", "column", f->items[i].column, "storage",
                                        f->items[i].storage, "reason", f->items[i].reason));
    return a;
}

json_t *dscat_render_warnings(const dscat_warnings *w)
{
    json_t *a = json_array();
    for (size_t i = 0; i < w->count; i++) {
        json_t *o = json_object();
        if (w->items[i].schema)
            json_object_set_new(o, "schema_name", json_string(w->items[i].schema));
        if (w->items[i].table)
            json_object_set_new(o, "table_name", json_string(w->items[i].table));
        json_object_set_new(o, "message", json_string(w->items[i].message));
        json_array_append_new(a, o);
    }
    return a;
}

/*
 * The older tool's per-column rows (its metadata.parquet columns, OLDER-TOOL.md §1) added to
 * each column of dscat_render_table's answer, and its table fields to "table".
 */
json_t *dscat_render_table_rows(const dscat_table_detail *d)
{
    json_t *j = dscat_render_table(d);
    if (j == NULL)
        return NULL;
    json_t *t = json_object_get(j, "table");
    json_object_set_new(t, "server", json_string(d->server ? d->server : ""));
    json_object_set_new(t, "last_modified", dscat_render_time(d->last_modified_us));
    json_object_set_new(t, "scanned_at", dscat_render_time(d->scanned_at_us));
    json_t *cols = json_object_get(j, "columns");
    for (size_t i = 0; i < d->ncolumns && i < json_array_size(cols); i++) {
        const dscat_column_detail *c = &d->columns[i];
        json_t *row = json_array_get(cols, i);
        json_t *rate = json_null();
        if (c->null_count != DSCAT_NULL_ESTIMATE && c->profiled_rows != DSCAT_NULL_ESTIMATE)
            rate = json_real(c->profiled_rows == 0
                                 ? 0.0
                                 : round((double)c->null_count / (double)c->profiled_rows * 1e4) /
                                       1e4);
        json_object_set_new(row, "database", json_string(d->database));
        json_object_set_new(row, "schema", json_string(d->schema));
        json_object_set_new(row, "table_name", json_string(d->table_name));
        json_object_set_new(row, "row_count_estimate",
                            d->row_count_estimate == DSCAT_NULL_ESTIMATE
                                ? json_null()
                                : json_integer(d->row_count_estimate));
        json_object_set_new(row, "last_modified", dscat_render_time(d->last_modified_us));
        json_object_set_new(row, "scanned_at", dscat_render_time(d->scanned_at_us));
        json_object_set_new(row, "null_rate", rate);
        json_object_set_new(row, "target", json_string(d->target));
        json_object_set_new(row, "server", json_string(d->server ? d->server : ""));
    }
    return j;
}

json_t *dscat_render_joins(const dscat_join_paths *j)
{
    json_t *out = json_array(), *in = json_array();
    for (size_t i = 0; i < j->noutbound; i++)
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s++++}", "database", j->outbound[i].database,
                           "schema", j->outbound[i].schema, "column_name",
                           j->outbound[i].column_name, "fk_references", j->outbound[i].ref_schema,
                           ".", j->outbound[i].ref_table, ".", j->outbound[i].ref_column));
    for (size_t i = 0; i < j->ninbound; i++)
        json_array_append_new(in, json_pack("{s:s, s:s, s:s, s:s, s:s++++}", "database",
                                            j->inbound[i].database, "schema", j->inbound[i].schema,
                                            "table_name", j->inbound[i].table_name, "column_name",
                                            j->inbound[i].column_name, "fk_references",
                                            j->inbound[i].ref_schema, ".", j->inbound[i].ref_table,
                                            ".", j->inbound[i].ref_column));
    return json_pack("{s:o, s:o}", "outbound", out, "inbound", in);
}

json_t *dscat_render_status_summary(const dscat_status *s)
{
    return json_pack(
        "{s:s, s:o, s:{s:I, s:I, s:I, s:I}}", "status", dscat_catalog_state_name(s->state, true),
        "age_days", s->state == DSCAT_STATE_NOT_BUILT ? json_null() : json_real(s->age_days),
        "stats", "targets", (json_int_t)s->targets, "databases", (json_int_t)s->databases, "tables",
        (json_int_t)s->tables, "columns", (json_int_t)s->columns);
}

json_t *dscat_render_annotation_list(const dscat_annotation_list *l, const char *target)
{
    json_t *out = NULL;
    if (target) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->count; i++)
            json_array_append_new(arr, dscat_render_annotation(&l->items[i]));
        out = json_pack("{s:s, s:o}", "target", target, "annotations", arr);
    } else {
        json_t *tables = json_object();
        for (size_t i = 0; i < l->count; i++) {
            json_t *e = json_object_get(tables, l->items[i].table);
            if (e == NULL) {
                e = json_pack("{s:[]}", "annotations");
                json_object_set_new(tables, l->items[i].table, e);
            }
            json_array_append_new(json_object_get(e, "annotations"),
                                  dscat_render_annotation(&l->items[i]));
        }
        out = json_pack("{s:o}", "tables", tables);
    }
    if (l->nskipped) {
        json_t *skipped = json_array();
        for (size_t i = 0; i < l->nskipped; i++)
            json_array_append_new(skipped, json_string(l->skipped[i]));
        json_object_set_new(out, "skipped_files", skipped);
    }
    return out;
}

json_t *dscat_render_connection(const dscat_connection *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "connection_id", c->id, "target", c->target,
                     "database", c->database, "type", c->type, "tables", (int)c->tables,
                     "cached_tables", (int)c->cached);
}

json_t *dscat_render_cached_tables(const dscat_cache_listing *cl)
{
    json_t *tables = json_array();
    for (size_t i = 0; i < cl->count; i++) {
        const dscat_cached_table *t = &cl->tables[i];
        json_array_append_new(tables,
                              json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "schema_name",
                                        t->schema, "table_name", t->table, "version", t->version,
                                        "rows", (json_int_t)t->rows, "bytes", (json_int_t)t->bytes,
                                        "last_sync", dscat_render_time(t->last_sync_us),
                                        "fallbacks", dscat_render_fallbacks(&t->fallbacks)));
    }
    return tables;
}

json_t *dscat_render_hits(const dscat_hits *h, bool by_table)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < h->count; i++)
        json_array_append_new(a, dscat_render_hit(&h->items[i], by_table));
    return a;
}

json_t *dscat_render_hit_annotations(const dscat_hits *h)
{
    json_t *by_table = json_object();
    for (size_t i = 0; by_table && i < h->count; i++) {
        const dscat_hit_notes *n = &h->notes[i];
        if (n->count == 0 || json_object_get(by_table, n->items[0]->table))
            continue;
        json_t *ann = json_array();
        for (size_t k = 0; k < n->count; k++)
            json_array_append_new(ann, dscat_render_annotation(n->items[k]));
        json_object_set_new(by_table, n->items[0]->table, ann);
    }
    return by_table;
}

json_t *dscat_render_diff(const dscat_diff *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->count; i++) {
        const dscat_change *c = &d->changes[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "change", c->kind,
                                             "database", c->database, "schema", c->schema, "table",
                                             c->table_name, "column", c->column_name, "detail",
                                             c->detail));
    }
    return json_pack("{s:s, s:I, s:I, s:o}", "target", d->target, "from_scan",
                     (json_int_t)d->from_scan, "to_scan", (json_int_t)d->to_scan, "changes", arr);
}

/*
 * JSON text with DEL and the C1 controls (U+0080 to U+009F) inside its strings written as
 * "\u007f" and "\u0080" to "\u009f": jansson escapes the C0 controls only, and a terminal acts on
 * a C1 control (U+009B is CSI) as on ESC. Outside strings JSON text is ASCII without DEL, so
 * every such character is in a string and the escape changes no value. Takes text (freed with
 * dscat_free, which is free()); NULL when out of memory.
 */
static char *escape_c1(char *text)
{
    size_t extra = 0, len = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++, len++) {
        if (*p == 0x7f)
            extra += 5;
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            extra += 4;
    }
    if (extra == 0)
        return text;
    char *out = dscat_malloc(len + extra + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)text; out && *p; p++) {
        if (*p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
            unsigned cp = *p == 0x7f ? 0x7f : *++p;
            snprintf(o, 7, "\\u%04x", cp);
            o += 6;
        } else {
            *o++ = (char)*p;
        }
    }
    if (out)
        *o = '\0';
    dscat_free(text);
    return out;
}

char *dscat_render_text(json_t *j, unsigned flags)
{
    if (j == NULL)
        return NULL;
    char *text = json_dumps(j, flags & DSCAT_JSON_PRETTY ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
                                                         : JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    return text ? escape_c1(text) : NULL;
}

/* ---- the CLI's cache answers ------------------------------------------------------------ */

/* a + b, releasing b. */
static json_t *json_array_extend_new(json_t *a, json_t *b)
{
    json_array_extend(a, b);
    json_decref(b);
    return a;
}

json_t *dscat_render_cache_report(const dscat_cache_report *rep, const char *connection_id,
                                  const dscat_warnings *more)
{
    json_t *tables = json_array();
    for (size_t i = 0; i < rep->count; i++) {
        const dscat_table_sync *t = &rep->tables[i];
        json_t *o = json_pack("{s:s, s:s, s:b}", "schema_name", t->schema, "table_name", t->table,
                              "ok", t->rc == 0);
        if (t->rc)
            json_object_set_new(o, "error", json_string(t->error.message));
        else
            json_object_update_new(
                o, json_pack("{s:I, s:I, s:I, s:s, s:b, s:o}", "rows", (json_int_t)t->rows, "bytes",
                             (json_int_t)t->bytes, "duration_ms", (json_int_t)t->duration_ms,
                             "version", t->version ? t->version : "", "joined", t->joined,
                             "fallbacks", dscat_render_fallbacks(&t->fallbacks)));
        if (t->rc == 0 && t->kind) /* what ran, and the version now current */
            json_object_update_new(o, json_pack("{s:s, s:b, s:I, s:I, s:i, s:s?}", "refresh_kind",
                                                t->kind, "version_published", !t->unchanged,
                                                "version_rows", (json_int_t)t->version_rows,
                                                "version_bytes", (json_int_t)t->version_bytes,
                                                "files", t->files, "note", t->note));
        json_array_append_new(tables, o);
    }
    json_t *warnings = dscat_render_warnings(&rep->warnings);
    if (more)
        warnings = json_array_extend_new(warnings, dscat_render_warnings(more));
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "connection_id", connection_id,
                     "tables_refreshed", (json_int_t)(rep->count - rep->failed), "tables_failed",
                     (json_int_t)rep->failed, "total_rows", (json_int_t)rep->total_rows,
                     "duration_ms", (json_int_t)rep->duration_ms, "tables", tables, "warnings",
                     warnings);
}

json_t *dscat_render_cache_listing(const dscat_cache_listing *l, const dscat_warnings *w)
{
    json_t *tables = json_array(), *pending = json_array();
    for (size_t i = 0; i < l->count; i++) {
        const dscat_cached_table *t = &l->tables[i];
        char when[40];
        dscat_format_utc_iso(t->last_sync_us, when, sizeof(when));
        json_array_append_new(
            tables, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:o}", "connection_id",
                              t->connection_id, "schema_name", t->schema, "table_name", t->table,
                              "version", t->version, "path", t->path, "rows", (json_int_t)t->rows,
                              "bytes", (json_int_t)t->bytes, "last_sync", when, "fallbacks",
                              dscat_render_fallbacks(&t->fallbacks)));
        json_object_update_new(
            json_array_get(tables, json_array_size(tables) - 1),
            json_pack("{s:i, s:s?}", "files", t->files, "append_key", t->append_key));
    }
    for (size_t i = 0; i < l->npending; i++)
        json_array_append_new(pending, json_pack("{s:s, s:s, s:i}", "path", l->pending[i].path,
                                                 "delete_after", l->pending[i].delete_after,
                                                 "retry_count", l->pending[i].retry_count));
    dscat_warnings none = {0};
    return json_pack("{s:o, s:o, s:o}", "tables", tables, "pending_deletions", pending, "warnings",
                     dscat_render_warnings(w ? w : &none));
}

json_t *dscat_render_query_rows(const dscat_query_result *r)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *o = json_object();
        for (size_t c = 0; c < r->ncolumns; c++) {
            const char *v = r->cells[i * r->ncolumns + c];
            if (json_object_set_new(o, r->columns[c], query_text(v))) { /* a key not UTF-8 */
                char *key = utf8_shown(r->columns[c]);
                if (key)
                    json_object_set_new(o, key, query_text(v));
                dscat_free(key);
            }
        }
        json_array_append_new(rows, o);
    }
    return rows;
}

/* ---- the public side: JSON text --------------------------------------------------------- */

/*
 * The text of a document built since `before` (the thread's failed-allocation count then), or
 * NULL: jansson drops what it cannot allocate without a word, so a document built while an
 * allocation failed may be missing parts and is never handed out.
 */
static char *whole_text(json_t *j, unsigned long before, unsigned flags)
{
    char *text = dscat_render_text(j, flags);
    if (text && dscat_alloc_failures() != before) {
        dscat_free(text);
        return NULL;
    }
    return text;
}

char *dscat_json_status(const dscat_status *s, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_status(s), before, flags);
}

char *dscat_json_hits(const dscat_hits *h, bool by_table, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_hits(h, by_table), before, flags);
}

char *dscat_json_diff(const dscat_diff *d, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_diff(d), before, flags);
}

char *dscat_json_query_rows(const dscat_query_result *r, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_query_rows(r), before, flags);
}

char *dscat_json_schedules(const dscat_schedule_list *l, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_schedules(l), before, flags);
}

char *dscat_json_cache_report(const dscat_cache_report *rep, const char *connection_id,
                              const dscat_warnings *more, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_cache_report(rep, connection_id, more), before, flags);
}

char *dscat_json_cache_listing(const dscat_cache_listing *l, const dscat_warnings *w,
                               unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    return whole_text(dscat_render_cache_listing(l, w), before, flags);
}

char *dscat_json_refresh_report(const dscat_refresh_report *r, const char *catalog_dir,
                                unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    json_t *targets = json_object();
    for (size_t i = 0; i < r->ntargets; i++) {
        const dscat_target_report *t = &r->targets[i];
        json_t *problems = json_array();
        for (size_t k = 0; k < t->nproblems; k++)
            json_array_append_new(problems, json_pack("{s:s?, s:s?, s:s}", "database",
                                                      t->problems[k].database, "schema",
                                                      t->problems[k].schema, "message",
                                                      t->problems[k].message));
        json_object_set_new(
            targets, t->target,
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:s?}", "status",
                      dscat_scan_status_name(t->status), "databases", (json_int_t)t->databases,
                      "tables", (json_int_t)t->tables, "columns", (json_int_t)t->columns,
                      "duration_ms", (json_int_t)t->duration_ms, "queries", (json_int_t)t->queries,
                      "scan_id", (json_int_t)t->scan_id, "problems", problems, "error",
                      t->status == DSCAT_SCAN_FAILED ? t->error.message : NULL));
    }
    json_t *doc =
        json_pack("{s:s, s:b, s:o, s:s, s:s?}", "run_id", r->run_id, "written", r->written,
                  "targets", targets, "catalog_dir", catalog_dir, "snapshot", r->snapshot_dir);
    return whole_text(doc, before, flags);
}

/* {"variable": name, "set": bool}, or null when the key is absent. */
static json_t *var_state(const char *name)
{
    if (name == NULL)
        return json_null();
    const char *v = getenv(name);
    return json_pack("{s:s, s:b}", "variable", name, "set", v != NULL && *v != '\0');
}

char *dscat_json_targets(const dscat_config *cfg, unsigned flags)
{
    unsigned long before = dscat_alloc_failures();
    json_t *arr = json_array();
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const dscat_target_config *t = &cfg->targets[i];
        json_t *dbs = json_array();
        if (t->include_databases.set)
            for (size_t k = 0; k < t->include_databases.count; k++)
                json_array_append_new(dbs, json_string(t->include_databases.items[k]));
        else if (t->database)
            json_array_append_new(dbs, json_string(t->database));
        json_t *vars =
            json_pack("{s:o, s:o, s:o, s:o, s:o}", "host", var_state(t->host_env), "user",
                      var_state(t->user_env), "password", var_state(t->password_env), "port",
                      var_state(t->port_env), "path", var_state(t->path_env));
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s, s:o, s:o}", "key", t->key, "name", t->name,
                                        "type", t->type, "databases", dbs, "variables", vars));
    }
    return whole_text(arr, before, flags);
}

void dscat_string_free(char *s)
{
    dscat_free(s); /* json_dumps's text too: dscat_free is free() */
}

/* ---- text helpers ------------------------------------------------------------------------ */

void dscat_time_utc(int64_t us, char *out, size_t size)
{
    dscat_format_utc_iso(us, out, size);
}

void dscat_time_local(int64_t us, const char *fmt, char *out, size_t size)
{
    dscat_format_local(us, fmt, out, size);
}

/* A dscat_buf's text moved into a malloc'd string (dscat_string_free frees it), NULL on rc. */
static char *buf_string(dscat_buf *b, int rc)
{
    if (rc) {
        dscat_buf_free(b);
        return NULL;
    }
    return dscat_buf_detach(b);
}

char *dscat_text_qualified_name(const char *const *parts, size_t n)
{
    dscat_buf b = DSCAT_BUF_INIT;
    return buf_string(&b, dscat_text_qualified(&b, parts, n));
}

char *dscat_text_markdown(const char *s, size_t len)
{
    dscat_buf b = DSCAT_BUF_INIT;
    return buf_string(&b, dscat_text_md_escape(&b, s ? s : "", s ? len : 0));
}

char *dscat_text_visible(const char *s, size_t len)
{
    dscat_buf b = DSCAT_BUF_INIT;
    return buf_string(&b, dscat_text_plain(&b, s ? s : "", s ? len : 0));
}

size_t dscat_text_prefix_len(const char *s, size_t len, size_t chars)
{
    return dscat_text_prefix(s, len, chars);
}
