#include "server/render.h"

#include "core/buf.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
        json_array_append_new(
            targets,
            json_pack("{s:s, s:s?, s:o, s:s?, s:I, s:I, s:I}", "target", t->target, "status",
                      t->status, "last_success", dscat_render_time(t->last_success_us),
                      "last_problem", t->last_problem, "databases", (json_int_t)t->databases,
                      "tables", (json_int_t)t->tables, "columns", (json_int_t)t->columns));
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

json_t *dscat_render_query(const dscat_query_result *r)
{
    json_t *cols = json_array(), *rows = json_array();
    for (size_t c = 0; c < r->ncolumns; c++)
        json_array_append_new(cols, json_string(r->columns[c]));
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *row = json_array();
        for (size_t c = 0; c < r->ncolumns; c++) {
            const char *v = r->cells[i * r->ncolumns + c];
            json_array_append_new(row, v ? json_stringn(v, strlen(v)) : json_null());
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

void dscat_render_catalog_generation(const char *catalog_dir, char *out, size_t size)
{
    const char *names[] = {"last_scan.json", "annotations"};
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < 2 && k < size; i++) {
        dscat_buf path = DSCAT_BUF_INIT;
        struct stat sb;
        if (dscat_buf_printf(&path, "%s/%s", catalog_dir, names[i]) ||
            stat(dscat_buf_cstr(&path), &sb) != 0)
            memset(&sb, 0, sizeof(sb));
        dscat_buf_free(&path);
        int n = snprintf(out + k, size - k, "%llu.%lld.%ld.%lld;", (unsigned long long)sb.st_ino,
                         (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (long long)sb.st_size);
        k += n > 0 ? (size_t)n : 0;
    }
}
