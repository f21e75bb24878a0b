/*
 * The Model Context Protocol server (SPEC §10): JSON-RPC 2.0, one message per line, over the
 * given streams. The six tools of the older tool, answered from the store through the same
 * library calls as the CLI. Every bad input gets a JSON-RPC error or a tool error (isError), and
 * the server keeps serving until its input ends.
 *
 * A reader thread reads and parses the input ahead of the requests being answered, so that a
 * notifications/cancelled for a request still queued or running is seen: that request is then
 * not answered (the MCP cancellation rule). The session keeps one dscat_catalog handle, whose
 * search index is reloaded only when the store's generation or the annotations change.
 */
#include "dscat/mcp.h"

#include "api/render.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/testhooks.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE (1024 * 1024)
#define MAX_ANSWER (4 * 1024 * 1024) /* bytes of one reply line */
#define MAX_TOP 1000
#define MAX_QUEUED 64 /* messages read ahead of the one being answered */

enum {
    PARSE_ERROR = -32700,
    INVALID_REQUEST = -32600,
    METHOD_NOT_FOUND = -32601,
    INVALID_PARAMS = -32602,
    INTERNAL_ERROR = -32603,
    NOT_INITIALIZED = -32002 /* a request other than ping before initialize */
};

static const char *const versions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

/* What the negotiated protocol version has: tool annotations (2025-03-26), titles, output
 * schemas and structuredContent (2025-06-18). Versions are dates: they compare as strings. */
static bool has_annotations(const char *version)
{
    return strcmp(version, "2025-03-26") >= 0;
}

static bool has_structured(const char *version)
{
    return strcmp(version, "2025-06-18") >= 0;
}

/* One connection's state: the negotiated version (NULL before initialize) and the catalog. */
typedef struct session {
    const char *version;
    dscat_catalog *cat;   /* opened at the first tool call that needs the configuration */
    char config[96];      /* what targets.toml was when cat was opened */
    dscat_catalog *store; /* without configuration: the store questions (search, tables, joins) */
} session;

/*
 * One tool as tools/list describes it for the negotiated version: name, description and input
 * schema always; annotations (with the title) from 2025-03-26; the title and the output schema
 * from 2025-06-18. Takes ownership of the JSON arguments.
 */
static json_t *tool(const char *version, const char *name, const char *title,
                    const char *description, json_t *properties, json_t *required, bool read_only,
                    bool idempotent, json_t *output)
{
    json_t *t = json_pack("{s:s, s:s, s:{s:s, s:o, s:o, s:b}}", "name", name, "description",
                          description, "inputSchema", "type", "object", "properties", properties,
                          "required", required, "additionalProperties", 0);
    if (t && has_annotations(version))
        json_object_set_new(t, "annotations",
                            json_pack("{s:s, s:b, s:b, s:b, s:b}", "title", title, "readOnlyHint",
                                      read_only, "destructiveHint", 0, "idempotentHint", idempotent,
                                      "openWorldHint", 0));
    if (t && has_structured(version)) {
        json_object_set_new(t, "title", json_string(title));
        json_object_set(t, "outputSchema", output);
    }
    json_decref(output);
    return t;
}

/* JSON Schema helpers for the output schemas. */
static json_t *nullable(const char *type)
{
    return json_pack("{s:[s, s]}", "type", type, "null");
}

static json_t *annotation_schema(void)
{
    return json_pack("{s:s, s:[s, s, s, s, s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}",
                     "type", "object", "required", "id", "type", "content", "author", "created_at",
                     "properties", "id", "type", "string", "type", "type", "string", "content",
                     "type", "string", "author", "type", "string", "created_at", "type", "string");
}

static json_t *search_output(void)
{
    json_t *hit = json_pack(
        "{s:s, s:[s, s, s, s, s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
        "s:{s:s}, s:{s:s}, s:{s:s}, s:o, s:{s:s}}}",
        "type", "object", "required", "database", "schema", "table_name", "column_name",
        "relevance", "properties", "target", "type", "string", "database", "type", "string",
        "schema", "type", "string", "table_name", "type", "string", "column_name", "type", "string",
        "data_type", "type", "string", "is_primary_key", "type", "boolean", "is_foreign_key",
        "type", "boolean", "fk_references", "type", "string", "row_count_estimate",
        nullable("integer"), "relevance", "type", "integer");
    return json_pack("{s:s, s:[s, s], s:{s:{s:s, s:o}, s:{s:s}, s:{s:s, s:{s:s, s:o}}}}", "type",
                     "object", "required", "matches", "count", "properties", "matches", "type",
                     "array", "items", hit, "count", "type", "integer", "annotations", "type",
                     "object", "additionalProperties", "type", "array", "items",
                     annotation_schema());
}

static json_t *table_output(void)
{
    json_t *row =
        json_pack("{s:s, s:[s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]}", "type",
                  "object", "required", "database", "schema", "table_name", "column_name",
                  "data_type", "is_nullable", "is_primary_key", "is_foreign_key", "fk_references",
                  "row_count_estimate", "last_modified", "scanned_at", "null_count", "null_rate",
                  "distinct_count", "profiled_rows", "target", "server");
    json_t *props = json_pack(
        "{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:o, "
        "s:o, s:o, s:o, s:o, s:o, s:o, s:{s:s}, s:{s:s}}",
        "database", "type", "string", "schema", "type", "string", "table_name", "type", "string",
        "column_name", "type", "string", "data_type", "type", "string", "is_nullable", "type",
        "boolean", "is_primary_key", "type", "boolean", "is_foreign_key", "type", "boolean",
        "fk_references", "type", "string", "row_count_estimate", nullable("integer"),
        "last_modified", nullable("string"), "scanned_at", nullable("string"), "null_count",
        nullable("integer"), "null_rate", nullable("number"), "distinct_count", nullable("integer"),
        "profiled_rows", nullable("integer"), "target", "type", "string", "server", "type",
        "string");
    json_object_set_new(row, "properties", props);
    return json_pack("{s:s, s:[s, s, s, s], s:{s:{s:s, s:[s, s, s, s], s:{s:{s:s}, s:{s:s}, "
                     "s:{s:s}, s:o}}, s:{s:s, s:o}, s:{s:s}, s:{s:s, s:o}}}",
                     "type", "object", "required", "table", "columns", "inbound", "annotations",
                     "properties", "table", "type", "object", "required", "database", "schema",
                     "table_name", "row_count_estimate", "properties", "database", "type", "string",
                     "schema", "type", "string", "table_name", "type", "string",
                     "row_count_estimate", nullable("integer"), "columns", "type", "array", "items",
                     row, "inbound", "type", "array", "annotations", "type", "array", "items",
                     annotation_schema());
}

static json_t *joins_output(void)
{
    json_t *ref = json_pack("{s:s, s:[s, s], s:{s:{s:s}, s:{s:s}}}", "type", "object", "required",
                            "column_name", "fk_references", "properties", "column_name", "type",
                            "string", "fk_references", "type", "string");
    json_t *out = json_pack("{s:s, s:[s, s], s:{s:{s:s, s:O}, s:{s:s, s:O}}}", "type", "object",
                            "required", "outbound", "inbound", "properties", "outbound", "type",
                            "array", "items", ref, "inbound", "type", "array", "items", ref);
    json_decref(ref); /* held twice by the schema (O, O): the reference made here goes */
    return out;
}

static json_t *status_output(void)
{
    return json_pack("{s:s, s:[s, s, s], s:{s:{s:[s, s, s]}, s:o, s:{s:s, s:{s:{s:s}, s:{s:s}, "
                     "s:{s:s}, s:{s:s}}}}}",
                     "type", "object", "required", "status", "age_days", "stats", "properties",
                     "status", "enum", "OK", "STALE", "NOT_BUILT", "age_days", nullable("number"),
                     "stats", "type", "object", "properties", "targets", "type", "integer",
                     "databases", "type", "integer", "tables", "type", "integer", "columns", "type",
                     "integer");
}

static json_t *annotations_output(void)
{
    return json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:o}, s:{s:s, s:{s:s, s:{s:{s:s, s:o}}}}, "
                     "s:{s:s, s:{s:s}}}}",
                     "type", "object", "properties", "target", "type", "string", "annotations",
                     "type", "array", "items", annotation_schema(), "tables", "type", "object",
                     "additionalProperties", "type", "object", "properties", "annotations", "type",
                     "array", "items", annotation_schema(), "skipped_files", "type", "array",
                     "items", "type", "string");
}

static json_t *add_annotation_output(void)
{
    return json_pack("{s:s, s:[s, s], s:{s:o, s:{s:s}, s:{s:s}}}", "type", "object", "required",
                     "annotation", "file", "properties", "annotation", annotation_schema(), "file",
                     "type", "string", "warning", "type", "string");
}

static json_t *tools_list(const char *version)
{
    json_t *tools = json_array();
    json_array_append_new(
        tools,
        tool(version, "search_catalog", "Search the catalog",
             "Search the data catalog for tables and columns by keyword (literal, any case). "
             "Fast, offline: no database is contacted. Use before writing SQL.",
             json_pack("{s:{s:s, s:{s:s}, s:s}, s:{s:s, s:i, s:i, s:s}}", "keywords", "type",
                       "array", "items", "type", "string", "description",
                       "keywords; a table, column, database or schema name, type, comment or "
                       "annotation containing one of them matches",
                       "top_n", "type", "integer", "minimum", 1, "default", 20, "description",
                       "how many results (at most 1000)"),
             json_pack("[s]", "keywords"), true, true, search_output()));
    json_array_append_new(
        tools, tool(version, "get_table_details", "Table details",
                    "Columns, types, keys, references, row estimate, comments and annotations "
                    "of one table.",
                    json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "database", "type", "string", "schema",
                              "type", "string", "table_name", "type", "string"),
                    json_pack("[s, s, s]", "database", "schema", "table_name"), true, true,
                    table_output()));
    json_array_append_new(tools,
                          tool(version, "find_join_paths", "Find join paths",
                               "Foreign keys from and to the tables named exactly table_name; when "
                               "no table has that name, of the table it names as db.table, "
                               "schema.table or db.schema.table.",
                               json_pack("{s:{s:s}}", "table_name", "type", "string"),
                               json_pack("[s]", "table_name"), true, true, joins_output()));
    json_array_append_new(tools,
                          tool(version, "get_catalog_status", "Catalog status",
                               "Whether the catalog is built and fresh: OK, STALE or NOT_BUILT.",
                               json_object(), json_array(), true, true, status_output()));
    json_array_append_new(
        tools, tool(version, "get_annotations", "Read annotations",
                    "Every user's notes, quality flags and deprecations, merged; or one table's "
                    "(target = Database.Schema.Table).",
                    json_pack("{s:{s:s}}", "target", "type", "string"), json_array(), true, true,
                    annotations_output()));
    json_array_append_new(
        tools,
        tool(version, "add_annotation", "Add an annotation",
             "Add a note, quality_flag (TRUSTED, STALE, INCOMPLETE, EXPERIMENTAL) or deprecation "
             "to a table (target = Database.Schema.Table).",
             json_pack("{s:{s:s}, s:{s:s, s:[s, s, s]}, s:{s:s}}", "target", "type", "string",
                       "type", "type", "string", "enum", "note", "quality_flag", "deprecation",
                       "content", "type", "string"),
             json_pack("[s, s, s]", "target", "type", "content"), false, false,
             add_annotation_output()));
    return json_pack("{s:o}", "tools", tools);
}

/* An integer, also when written with a fraction or exponent of integral value (2.0, 1e3). */
static bool integer_value(json_t *v, json_int_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    double d = json_is_real(v) ? json_real_value(v) : 0.5;
    if (d != floor(d) || d < -9.0e15 || d > 9.0e15)
        return false;
    *out = (json_int_t)d;
    return true;
}

/* A failed argument check: the message for an INVALID_PARAMS error. */
typedef struct arg_error {
    char message[256];
} arg_error;

static const char *string_arg(json_t *args, const char *name, bool required, arg_error *e)
{
    json_t *v = json_object_get(args, name);
    if (v == NULL || json_is_null(v)) {
        if (required)
            snprintf(e->message, sizeof(e->message), "missing required argument '%s'", name);
        return NULL;
    }
    if (!json_is_string(v)) {
        snprintf(e->message, sizeof(e->message), "argument '%s' must be a string", name);
        return NULL;
    }
    return json_string_value(v);
}

/* The identity of <dir>/targets.toml (inode, modification time, size) as text. */
static void config_stamp(const char *dir, char *out, size_t size)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/targets.toml", dir);
    if (stat(path, &sb) != 0)
        memset(&sb, 0, sizeof(sb));
    snprintf(out, size, "%llu.%lld.%ld.%lld", (unsigned long long)sb.st_ino,
             (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (long long)sb.st_size);
}

/* MCP clients run the CLI to build the catalog. */
#define MCP_ADVICE "run 'dscat refresh'"

/*
 * The session's catalog with its configuration (for the status), opened at the first call that
 * needs it, and again after a failure or when targets.toml changed, so that every call reads the
 * configuration as it is now (as when each call loaded it); on failure returns a tool error text
 * in *fail.
 */
static dscat_catalog *session_catalog(session *ss, char *fail, size_t size)
{
    dscat_error err = {0};
    char now[sizeof(ss->config)];
    if (ss->cat) {
        config_stamp(dscat_catalog_path(ss->cat), now, sizeof(now));
        if (strcmp(now, ss->config) != 0) {
            dscat_catalog_close(ss->cat);
            ss->cat = NULL;
        }
    }
    if (ss->cat == NULL) {
        /* the stamp first: a change made while the handle opens is seen at the next call */
        char *dir = NULL;
        if (dscat_catalog_default_dir(&dir, &err) == 0) {
            config_stamp(dir, ss->config, sizeof(ss->config));
            if (dscat_catalog_open(&ss->cat, dir, 0, &err) == 0)
                dscat_catalog_set_advice(ss->cat, MCP_ADVICE);
        }
        if (ss->cat == NULL)
            snprintf(fail, size, "%s", err.message);
        dscat_free(dir);
    }
    return ss->cat;
}

/*
 * The session's catalog for the questions answered from the store alone (search, table details,
 * join paths): opened without the configuration, so that they work while targets.toml is
 * missing or broken, as long as the catalog is built. Kept for the session (its search index
 * with it); on failure returns a tool error text in *fail.
 */
static dscat_catalog *store_catalog(session *ss, char *fail, size_t size)
{
    dscat_error err = {0};
    if (ss->store == NULL) {
        if (dscat_catalog_open(&ss->store, NULL, DSCAT_CATALOG_NO_CONFIG, &err) == 0)
            dscat_catalog_set_advice(ss->store, MCP_ADVICE);
        else
            snprintf(fail, size, "%s", err.message);
    }
    return ss->store;
}

/*
 * A catalog for the annotation tools, which need no configuration (they work before
 * targets.toml is written): closed by the caller.
 */
static dscat_catalog *annotations_catalog(char *fail, size_t size)
{
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    if (dscat_catalog_open(&cat, NULL, DSCAT_CATALOG_NO_CONFIG, &err))
        snprintf(fail, size, "%s", err.message);
    return cat;
}

static json_t *do_search(session *ss, json_t *args, arg_error *ae, char *fail, size_t size)
{
    json_t *kw = json_object_get(args, "keywords");
    json_t *top = json_object_get(args, "top_n");
    if (kw == NULL || json_is_null(kw)) {
        snprintf(ae->message, sizeof(ae->message), "missing required argument 'keywords'");
        return NULL;
    }
    if (!json_is_array(kw)) {
        snprintf(ae->message, sizeof(ae->message), "argument 'keywords' must be an array");
        return NULL;
    }
    json_int_t ntop = 20;
    if (top && !json_is_null(top) && (!integer_value(top, &ntop) || ntop < 1)) {
        snprintf(ae->message, sizeof(ae->message), "argument 'top_n' must be a positive integer");
        return NULL;
    }
    if (ntop > MAX_TOP)
        ntop = MAX_TOP; /* as HTTP's top */
    size_t n = json_array_size(kw);
    const char **kws = dscat_calloc(n + 1, sizeof(char *));
    if (kws == NULL) {
        snprintf(fail, size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(kw, i))) {
            snprintf(ae->message, sizeof(ae->message), "argument 'keywords' must hold strings");
            dscat_free(kws);
            return NULL;
        }
        kws[i] = json_string_value(json_array_get(kw, i));
    }
    dscat_hits *h = NULL;
    json_t *result = NULL;
    dscat_error err = {0};
    dscat_catalog *cat = store_catalog(ss, fail, size);
    dscat_search_options o = {.keywords = kws, .nkeywords = n, .top = (size_t)ntop};
    if (cat && dscat_catalog_search(&h, cat, &o, &err))
        snprintf(fail, size, "%s", err.message);
    else if (cat)
        /* annotations once per table with a hit ({"<db.schema.table>": [...]}), never per hit */
        result = json_pack("{s:o, s:I, s:o}", "matches", dscat_render_hits(h, false), "count",
                           (json_int_t)h->count, "annotations", dscat_render_hit_annotations(h));
    dscat_hits_free(h);
    dscat_free(kws);
    return result;
}

static json_t *do_table(session *ss, json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *db = string_arg(args, "database", true, ae);
    const char *schema = ae->message[0] ? NULL : string_arg(args, "schema", true, ae);
    const char *table = ae->message[0] ? NULL : string_arg(args, "table_name", true, ae);
    if (ae->message[0])
        return NULL;
    dscat_table_detail *d = NULL;
    dscat_name_candidates cands = {0};
    json_t *result = NULL;
    dscat_error err = {0};
    dscat_catalog *cat = store_catalog(ss, fail, size);
    if (cat == NULL)
        return NULL;
    if (dscat_catalog_ready(cat, &err)) { /* not built yet: that, not "Table ... not found" */
        snprintf(fail, size, "%s", err.message);
        return NULL;
    }
    const char *parts[] = {db, schema, table};
    char *name = dscat_join_qualified(parts, 3);
    int rc = name ? dscat_catalog_table(&d, &cands, cat, name, &err)
                  : dscat_error_set(&err, DSCAT_ENOMEM, "out of memory");
    if (rc == DSCAT_ENOTFOUND) {
        /* The older tool's answer, {"error": "Table D.S.T not found"}, as a tool error. */
        json_t *e = json_pack("{s:o}", "error",
                              json_sprintf("Table %s.%s.%s not found", db, schema, table));
        char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
        snprintf(fail, size, "%s", text ? text : "table not found");
        dscat_free(text);
        json_decref(e);
    } else if (rc) {
        snprintf(fail, size, "%s", err.message);
    } else {
        result = dscat_render_table_rows(d);
    }
    dscat_free(name);
    dscat_catalog_table_free(d, &cands);
    return result;
}

static json_t *do_joins(session *ss, json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *table = string_arg(args, "table_name", true, ae);
    if (ae->message[0])
        return NULL;
    json_t *result = NULL;
    dscat_join_paths j = {0};
    dscat_error err = {0};
    dscat_catalog *cat = store_catalog(ss, fail, size);
    if (cat == NULL)
        return NULL;
    if (dscat_catalog_joins(&j, cat, table, &err)) {
        snprintf(fail, size, "%s", err.message);
        goto done;
    }
    result = dscat_render_joins(&j);
done:
    dscat_catalog_joins_free(&j);
    return result;
}

static json_t *do_status(session *ss, char *fail, size_t size)
{
    dscat_status *s = NULL;
    dscat_error err = {0};
    json_t *result = NULL;
    dscat_catalog *cat = session_catalog(ss, fail, size);
    if (cat == NULL)
        return NULL;
    if (dscat_catalog_status(&s, cat, false, &err)) {
        snprintf(fail, size, "%s", err.message);
    } else {
        result = dscat_render_status_summary(s);
    }
    dscat_catalog_status_free(s);
    return result;
}

static json_t *do_get_annotations(json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *target = string_arg(args, "target", false, ae);
    if (ae->message[0])
        return NULL;
    dscat_error err = {0};
    dscat_annotation_list l = {0};
    json_t *result = NULL;
    dscat_catalog *cat = annotations_catalog(fail, size);
    if (cat == NULL)
        return NULL;
    if (dscat_catalog_annotations(&l, cat, target, &err)) {
        snprintf(fail, size, "%s", err.message);
        goto done;
    }
    result = dscat_render_annotation_list(&l, target);
done:
    dscat_catalog_annotations_free(&l);
    dscat_catalog_close(cat);
    return result;
}

static json_t *do_add_annotation(json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *target = string_arg(args, "target", true, ae);
    const char *type = ae->message[0] ? NULL : string_arg(args, "type", true, ae);
    const char *content = ae->message[0] ? NULL : string_arg(args, "content", true, ae);
    if (ae->message[0])
        return NULL;
    char *file = NULL;
    dscat_error err = {0};
    dscat_annotation a = {0};
    json_t *result = NULL;
    dscat_catalog *cat = annotations_catalog(fail, size);
    if (cat == NULL)
        return NULL;
    if (dscat_catalog_annotate(&a, &file, cat, target, type, content, &err)) {
        snprintf(fail, size, "%s", err.message);
    } else {
        result = json_pack("{s:o, s:s}", "annotation", dscat_render_annotation(&a), "file", file);
        /* Kept, but said: a name no current table has is more often a typo. */
        if (result && dscat_catalog_table_known(cat, a.table) == 0)
            json_object_set_new(
                result, "warning",
                json_sprintf("no table of the catalog is named %s: check the name", a.table));
    }
    dscat_catalog_annotation_clear(&a);
    dscat_free(file);
    dscat_catalog_close(cat);
    return result;
}

/* The message as valid UTF-8 whatever it quotes or wherever a size cut it (jansson refuses
 * anything else): invalid bytes and controls escaped. */
static json_t *error_reply(json_t *id, int code, const char *message)
{
    char *text = dscat_text_visible(message, strlen(message));
    json_t *r = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                          "error", "code", code, "message", text ? text : "out of memory");
    dscat_string_free(text);
    return r;
}

static json_t *result_reply(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

/* Refuses an argument the tool's inputSchema does not list (additionalProperties: false). */
static void unknown_argument(const char *name, json_t *args, arg_error *ae)
{
    json_t *list = tools_list(versions[0]), *tool;
    size_t i;
    json_array_foreach(json_object_get(list, "tools"), i, tool)
    {
        if (strcmp(json_string_value(json_object_get(tool, "name")), name) != 0)
            continue;
        json_t *props = json_object_get(json_object_get(tool, "inputSchema"), "properties");
        const char *key;
        json_t *v;
        json_object_foreach(args, key, v)
        {
            if (json_object_get(props, key) == NULL) {
                snprintf(ae->message, sizeof(ae->message), "unknown argument '%.100s' for %s", key,
                         name);
                break;
            }
        }
    }
    json_decref(list);
}

static json_t *call_tool(session *ss, json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (name == NULL)
        return error_reply(id, INVALID_PARAMS, "tools/call needs a tool name");
    if (args != NULL && !json_is_object(args) && !json_is_null(args))
        return error_reply(id, INVALID_PARAMS, "tool arguments must be an object");
    if (args == NULL || json_is_null(args))
        args = json_object();
    else
        json_incref(args);
    arg_error ae = {""};
    char fail[DSCAT_ERROR_MESSAGE_SIZE] = "";
    json_t *result = NULL;
    unknown_argument(name, args, &ae);
    if (ae.message[0])
        ;
    else if (strcmp(name, "search_catalog") == 0)
        result = do_search(ss, args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "get_table_details") == 0)
        result = do_table(ss, args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "find_join_paths") == 0)
        result = do_joins(ss, args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "get_catalog_status") == 0)
        result = do_status(ss, fail, sizeof(fail));
    else if (strcmp(name, "get_annotations") == 0)
        result = do_get_annotations(args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "add_annotation") == 0)
        result = do_add_annotation(args, &ae, fail, sizeof(fail));
    else
        snprintf(ae.message, sizeof(ae.message), "Unknown tool: %s", name);
    json_decref(args);
    if (ae.message[0])
        return error_reply(id, INVALID_PARAMS, ae.message);
    bool is_error = result == NULL;
    char *text = is_error ? NULL : json_dumps(result, JSON_COMPACT | JSON_PRESERVE_ORDER);
    /* The text and structuredContent both carry the result: half the line each at most. */
    if (text && strlen(text) > MAX_ANSWER / 2) {
        snprintf(fail, sizeof(fail),
                 "the answer would be larger than %d MiB; narrow the search (more specific "
                 "keywords or a smaller top_n)",
                 MAX_ANSWER >> 20);
        dscat_free(text);
        text = NULL;
        json_decref(result);
        result = NULL;
        is_error = true;
    }
    json_t *content = json_pack("[{s:s, s:s}]", "type", "text", "text",
                                is_error ? (fail[0] ? fail : "tool failed") : text);
    json_t *reply =
        result_reply(id, json_pack("{s:o, s:b}", "content", content, "isError", is_error));
    if (result && json_is_object(result) && !is_error && has_structured(ss->version))
        json_object_set(json_object_get(reply, "result"), "structuredContent", result);
    dscat_free(text);
    json_decref(result);
    return reply;
}

/*
 * Answers one message; NULL for a notification or a response (no reply). Before initialize, only
 * ping is answered: any other request is NOT_INITIALIZED. A message without a method that carries
 * a result or an error is the client's response to a request and is ignored (this server sends
 * none).
 */
static json_t *handle(session *ss, json_t *msg)
{
    if (!json_is_object(msg))
        return error_reply(NULL, INVALID_REQUEST, "a request must be a JSON object");
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    const char *version = json_string_value(json_object_get(msg, "jsonrpc"));
    bool notification = id == NULL;
    if (json_object_get(msg, "method") == NULL &&
        (json_object_get(msg, "result") || json_object_get(msg, "error")))
        return NULL;
    /* MCP narrows JSON-RPC here: a request's id is never null. */
    if (id && !json_is_string(id) && !json_is_integer(id))
        return error_reply(NULL, INVALID_REQUEST, "id must be a string or an integer");
    if (method == NULL || version == NULL || strcmp(version, "2.0") != 0)
        return notification ? NULL
                            : error_reply(id, INVALID_REQUEST,
                                          "a request needs \"jsonrpc\": \"2.0\" and a method");
    json_t *params = json_object_get(msg, "params");
    if (strcmp(method, "initialize") == 0) {
        if (notification)
            return NULL;
        if (params != NULL && !json_is_object(params))
            return error_reply(id, INVALID_PARAMS, "initialize needs params {protocolVersion}");
        const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
        const char *use = versions[0];
        for (size_t i = 0; asked && i < sizeof(versions) / sizeof(versions[0]); i++)
            if (strcmp(asked, versions[i]) == 0)
                use = versions[i];
        ss->version = use;
        return result_reply(id,
                            json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}}", "protocolVersion", use,
                                      "capabilities", "tools", "listChanged", 0, "serverInfo",
                                      "name", "dscat", "version", dscat_version()));
    }
    if (notification)
        return NULL; /* notifications/initialized, cancellations, ...: nothing to answer */
    if (strcmp(method, "ping") == 0)
        return result_reply(id, json_object());
    if (ss->version == NULL)
        return error_reply(id, NOT_INITIALIZED, "Server not initialized: send initialize first");
    if (strcmp(method, "tools/list") == 0)
        return result_reply(id, tools_list(ss->version));
    if (strcmp(method, "tools/call") == 0) {
        if (!json_is_object(params))
            return error_reply(id, INVALID_PARAMS, "tools/call needs params {name, arguments}");
        return call_tool(ss, id, params);
    }
    return error_reply(id, METHOD_NOT_FOUND, "Method not found");
}

/*
 * The id of a line that does not parse, when one can still be read from it: "id" then a number
 * or a plain string (letters, digits, "-_.:"), at the top level as far as a scan can tell. The
 * client then learns which request failed; NULL (an id of null) when there is none.
 */
static json_t *guess_id(const char *line, size_t n)
{
    const char *end = line + n;
    int depth = 0;
    bool in_string = false;
    for (const char *p = line; p < end; p++) {
        if (in_string) {
            if (*p == '\\' && p + 1 < end)
                p++;
            else if (*p == '"')
                in_string = false;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
        else if (*p == '"') {
            if (depth == 1 && end - p > 4 && memcmp(p, "\"id\"", 4) == 0) {
                const char *v = p + 4;
                while (v < end && (*v == ' ' || *v == '\t'))
                    v++;
                if (v < end && *v == ':') {
                    v++;
                    while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                    if (v < end && (*v == '-' || (*v >= '0' && *v <= '9'))) {
                        char *stop = NULL;
                        long long id = strtoll(v, &stop, 10);
                        if (stop > v && stop <= end &&
                            (*stop == ',' || *stop == '}' || *stop == ' '))
                            return json_integer(id);
                    } else if (v < end && *v == '"') {
                        const char *q = v + 1;
                        while (q < end && q - v < 200 &&
                               ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                                (*q >= '0' && *q <= '9') || strchr("-_.:", *q)))
                            q++;
                        if (q < end && *q == '"')
                            return json_stringn(v + 1, (size_t)(q - v - 1));
                    }
                }
            }
            in_string = true;
        }
    }
    return NULL;
}

/*
 * The answer to request `id` when there is no memory to build one, written without allocating:
 * the id as it was when it is a number or a plain string, else null.
 */
static void send_oom(FILE *out, json_t *id)
{
    char id_text[80] = "null";
    const char *s = json_string_value(id);
    if (json_is_integer(id))
        snprintf(id_text, sizeof(id_text), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else if (s && strlen(s) < 64 &&
             strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_-.:") == strlen(s))
        snprintf(id_text, sizeof(id_text), "\"%s\"", s);
    fprintf(
        out,
        "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":\"out of memory\"}}\n",
        id_text, INTERNAL_ERROR);
    fflush(out);
}

static void send(FILE *out, json_t *reply)
{
    /* jansson 2.14's json_dumps can leave out a key it failed to copy and still return the
     * rest: text made while an allocation failed is not sent. */
    unsigned long failures = dscat_alloc_failures();
    char *text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text && dscat_alloc_failures() != failures) {
        dscat_free(text);
        text = NULL;
    }
    if (text && strlen(text) > MAX_ANSWER) {
        /* whatever made it this large (escaping, a batch of answers), no line exceeds the cap */
        dscat_free(text);
        json_t *id = json_is_object(reply) ? json_object_get(reply, "id") : NULL;
        json_t *e = error_reply(id, INTERNAL_ERROR,
                                "the answer would be larger than 4 MiB; narrow the request "
                                "(fewer keywords, a smaller top_n, or fewer requests per batch)");
        text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(e);
    }
    if (text) {
        fputs(text, out);
        fputc('\n', out);
        fflush(out);
    } else if (reply) { /* no memory for the text: the request still gets its answer */
        send_oom(out, json_is_object(reply) ? json_object_get(reply, "id") : NULL);
    }
    dscat_free(text);
    json_decref(reply);
}

/* ---- the input, read ahead ---------------------------------------------------------------- */

/* One line of input: parsed (msg), or not (line kept for the error), or too long. */
typedef struct inbound {
    json_t *msg;
    char *line;
    size_t n;
    bool too_long;
    bool oom; /* not parsed for want of memory */
} inbound;

/*
 * What the reader thread hands to the answering loop. pending holds the ids of the requests read
 * and not answered yet; cancelled those of them whose notifications/cancelled has arrived.
 */
typedef struct inbox {
    FILE *in;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    inbound queue[MAX_QUEUED];
    size_t head, count;
    bool eof;
    json_t *pending, *cancelled;
} inbox;

static bool id_in(json_t *list, json_t *id, bool remove)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_equal(v, id)) {
            if (remove)
                json_array_remove(list, i);
            return true;
        }
    }
    return false;
}

/* Under the lock: notes the ids a message asks for and a cancellation it brings. */
static void note_message(inbox *b, json_t *msg)
{
    if (json_is_array(msg)) {
        size_t i;
        json_t *item;
        json_array_foreach(msg, i, item) note_message(b, item);
        return;
    }
    if (!json_is_object(msg))
        return;
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method == NULL)
        return;
    if (id && !json_is_null(id)) {
        json_array_append(b->pending, id);
    } else if (id == NULL && strcmp(method, "notifications/cancelled") == 0) {
        json_t *which = json_object_get(json_object_get(msg, "params"), "requestId");
        /* Only a request still queued or running: a late cancellation is ignored. */
        if (which && id_in(b->pending, which, false) && !id_in(b->cancelled, which, false))
            json_array_append(b->cancelled, which);
    }
}

static void *reader_main(void *arg)
{
    inbox *b = arg;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, b->in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        inbound item = {0};
        if (n > MAX_LINE) {
            item.too_long = true;
        } else {
            item.oom = dscat_json_parse(&item.msg, line, (size_t)n, JSON_REJECT_DUPLICATES, NULL) ==
                       DSCAT_ENOMEM;
            if (item.msg == NULL) {
                item.line = line; /* the parse error is reported from the answering loop */
                item.n = (size_t)n;
                line = NULL;
                cap = 0;
            }
        }
        pthread_mutex_lock(&b->mu);
        while (b->count == MAX_QUEUED)
            pthread_cond_wait(&b->cv, &b->mu);
        if (item.msg)
            note_message(b, item.msg);
        b->queue[(b->head + b->count) % MAX_QUEUED] = item;
        b->count++;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
    dscat_free(line);
    pthread_mutex_lock(&b->mu);
    b->eof = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* The next message, waiting for it; false at the end of the input. */
static bool next_message(inbox *b, inbound *out)
{
    pthread_mutex_lock(&b->mu);
    while (b->count == 0 && !b->eof)
        pthread_cond_wait(&b->cv, &b->mu);
    bool got = b->count > 0;
    if (got) {
        *out = b->queue[b->head];
        b->head = (b->head + 1) % MAX_QUEUED;
        b->count--;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return got;
}

/* True when the request was cancelled; either way it is no longer pending. */
static bool settle(inbox *b, json_t *msg)
{
    json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    if (id == NULL || json_is_null(id) || json_object_get(msg, "method") == NULL)
        return false;
    pthread_mutex_lock(&b->mu);
    id_in(b->pending, id, true);
    bool cancelled = id_in(b->cancelled, id, true);
    pthread_mutex_unlock(&b->mu);
    return cancelled;
}

/* True when a request's cancellation has already arrived: it is not even started. */
static bool cancelled_already(inbox *b, json_t *msg)
{
    json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    if (id == NULL || json_is_null(id))
        return false;
    pthread_mutex_lock(&b->mu);
    bool c = id_in(b->cancelled, id, false);
    pthread_mutex_unlock(&b->mu);
    return c;
}

/*
 * Answers one message (or NULL); a cancelled request gets no answer. *owed tells when a request
 * got no answer only because there was no memory to build one.
 */
static json_t *answer(session *ss, inbox *b, json_t *msg, bool *owed)
{
    bool skipped = cancelled_already(b, msg);
    unsigned long failures = dscat_alloc_failures();
    json_t *r = skipped ? NULL : handle(ss, msg);
    if (dscat_alloc_failures() != failures) { /* jansson may have dropped part of it */
        json_decref(r);
        r = NULL;
    }
    if (settle(b, msg)) {
        json_decref(r);
        r = NULL;
        skipped = true;
    }
    json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    *owed = r == NULL && !skipped && id && !json_is_null(id) && json_object_get(msg, "method");
    return r;
}

int dscat_mcp_serve(FILE *in, FILE *out)
{
    inbox b = {.in = in, .pending = json_array(), .cancelled = json_array()};
    session ss = {0};
    if (b.pending == NULL || b.cancelled == NULL) {
        json_decref(b.pending);
        json_decref(b.cancelled);
        return -1;
    }
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, &b) != 0) {
        json_decref(b.pending);
        json_decref(b.cancelled);
        return -1;
    }
    inbound item;
    while (next_message(&b, &item)) {
        json_t *msg = item.msg;
        if (item.too_long) {
            send(out, error_reply(NULL, INVALID_REQUEST, "message too large"));
            continue;
        }
        if (msg == NULL) {
            json_error_t jerr;
            json_t *again = NULL;
            /* A line that parses now (or fails for want of memory) is not malformed: the reader
             * ran out of memory reading it. */
            bool oom = item.oom ||
                       dscat_json_parse(&again, item.line, item.n, JSON_REJECT_DUPLICATES, &jerr) !=
                           DSCAT_EINVALID;
            json_decref(again);
            char m[300];
            snprintf(m, sizeof(m), "Parse error: %s", jerr.text);
            for (char *p = m; *p; p++) /* the parser may quote the bad bytes: keep ASCII */
                *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
            json_t *id = guess_id(item.line, item.n);
            send(out, oom ? error_reply(id, INTERNAL_ERROR, "out of memory")
                          : error_reply(id, PARSE_ERROR, m));
            json_decref(id);
            dscat_free(item.line);
            continue;
        }
        if (json_is_array(msg)) {
            json_t *replies = json_array();
            size_t i;
            json_t *one;
            json_array_foreach(msg, i, one)
            {
                bool owed;
                json_t *r = answer(&ss, &b, one, &owed);
                if (r == NULL && owed)
                    r = error_reply(json_object_get(one, "id"), INTERNAL_ERROR, "out of memory");
                if (r)
                    json_array_append_new(replies, r);
            }
            if (json_array_size(msg) == 0)
                send(out, error_reply(NULL, INVALID_REQUEST, "empty batch"));
            else if (json_array_size(replies))
                send(out, json_incref(replies));
            json_decref(replies);
        } else {
            bool owed;
            json_t *r = answer(&ss, &b, msg, &owed);
            if (r)
                send(out, r);
            else if (owed)
                send_oom(out, json_object_get(msg, "id"));
        }
        json_decref(msg);
    }
    pthread_join(reader, NULL);
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv);
    json_decref(b.pending);
    json_decref(b.cancelled);
    dscat_catalog_close(ss.cat);
    dscat_catalog_close(ss.store);
    return 0;
}
