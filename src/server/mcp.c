/*
 * The Model Context Protocol server (SPEC §10): JSON-RPC 2.0, one message per line, over the
 * given streams. The six tools of the older tool, answered from the store through the same
 * library calls as the CLI. Every bad input gets a JSON-RPC error or a tool error (isError), and
 * the server keeps serving until its input ends.
 */
#include "dscat/mcp.h"

#include "server/render.h"

#include "dscat/find.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE (1024 * 1024)
#define MAX_ANSWER (4 * 1024 * 1024) /* bytes of one reply line */
#define MAX_TOP 1000

enum {
    PARSE_ERROR = -32700,
    INVALID_REQUEST = -32600,
    METHOD_NOT_FOUND = -32601,
    INVALID_PARAMS = -32602,
    INTERNAL_ERROR = -32603
};

static const char *const versions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

static json_t *tool(const char *name, const char *description, json_t *properties, json_t *required)
{
    return json_pack("{s:s, s:s, s:{s:s, s:o, s:o, s:b}}", "name", name, "description", description,
                     "inputSchema", "type", "object", "properties", properties, "required",
                     required, "additionalProperties", 0);
}

static json_t *tools_list(void)
{
    json_t *tools = json_array();
    json_array_append_new(
        tools,
        tool("search_catalog",
             "Search the data catalog for tables and columns by keyword (literal, any case). "
             "Fast, offline: no database is contacted. Use before writing SQL.",
             json_pack("{s:{s:s, s:{s:s}, s:s}, s:{s:s, s:i, s:i, s:s}}", "keywords", "type",
                       "array", "items", "type", "string", "description",
                       "keywords; a table, column, database or schema name, type, comment or "
                       "annotation containing one of them matches",
                       "top_n", "type", "integer", "minimum", 1, "default", 20, "description",
                       "how many results (at most 1000)"),
             json_pack("[s]", "keywords")));
    json_array_append_new(
        tools, tool("get_table_details",
                    "Columns, types, keys, references, row estimate, comments and annotations "
                    "of one table.",
                    json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "database", "type", "string", "schema",
                              "type", "string", "table_name", "type", "string"),
                    json_pack("[s, s, s]", "database", "schema", "table_name")));
    json_array_append_new(tools,
                          tool("find_join_paths",
                               "Foreign keys from and to the tables named exactly table_name.",
                               json_pack("{s:{s:s}}", "table_name", "type", "string"),
                               json_pack("[s]", "table_name")));
    json_array_append_new(tools,
                          tool("get_catalog_status",
                               "Whether the catalog is built and fresh: OK, STALE or NOT_BUILT.",
                               json_object(), json_array()));
    json_array_append_new(
        tools, tool("get_annotations",
                    "Every user's notes, quality flags and deprecations, merged; or one table's "
                    "(target = Database.Schema.Table).",
                    json_pack("{s:{s:s}}", "target", "type", "string"), json_array()));
    json_array_append_new(
        tools,
        tool("add_annotation",
             "Add a note, quality_flag (TRUSTED, STALE, INCOMPLETE, EXPERIMENTAL) or deprecation "
             "to a table (target = Database.Schema.Table).",
             json_pack("{s:{s:s}, s:{s:s, s:[s, s, s]}, s:{s:s}}", "target", "type", "string",
                       "type", "type", "string", "enum", "note", "quality_flag", "deprecation",
                       "content", "type", "string"),
             json_pack("[s, s, s]", "target", "type", "content")));
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

/* Opens config and store; on failure returns a tool error text in *fail. */
static int open_catalog(dscat_config **cfg, dscat_store **st, char *fail, size_t size)
{
    dscat_error err = {0};
    char *dir = NULL;
    int rc = dscat_catalog_dir(&dir, &err);
    if (rc == 0)
        rc = dscat_config_load(cfg, dir, &err);
    free(dir);
    if (rc == 0 && st) {
        rc = dscat_store_open(st, (*cfg)->catalog_dir, DSCAT_STORE_READ, &err);
        if (rc == DSCAT_ENOTFOUND)
            snprintf(err.message, sizeof(err.message),
                     "the catalog is not built yet: run 'dscat refresh'");
    }
    if (rc)
        snprintf(fail, size, "%s", err.message);
    return rc;
}

static json_t *do_search(json_t *args, arg_error *ae, char *fail, size_t size)
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
    const char **kws = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(kw, i))) {
            snprintf(ae->message, sizeof(ae->message), "argument 'keywords' must hold strings");
            free(kws);
            return NULL;
        }
        kws[i] = json_string_value(json_array_get(kw, i));
    }
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    dscat_search_index *idx = NULL;
    dscat_search_result r = {0};
    dscat_annotation_list notes = {0};
    json_t *result = NULL;
    dscat_error err = {0};
    if (open_catalog(&cfg, &st, fail, size))
        goto done;
    dscat_search_options o = {.keywords = kws, .nkeywords = n, .top = (size_t)ntop};
    if (dscat_search_index_load(&idx, st, cfg->catalog_dir, &err) ||
        dscat_search(&r, idx, &o, &err) ||
        dscat_annotations_read(&notes, cfg->catalog_dir, NULL, &err)) {
        snprintf(fail, size, "%s", err.message);
        goto done;
    }
    /* Annotations once per table with a hit ({"<db.schema.table>": [...]}), never per hit. */
    json_t *matches = json_array(), *by_table = json_object();
    for (size_t i = 0; i < r.count; i++) {
        const dscat_search_hit *h = &r.hits[i];
        const char *parts[] = {h->database, h->schema, h->table_name};
        char *key = dscat_join_qualified(parts, 3);
        for (size_t k = 0; key && k < notes.count; k++) {
            if (strcmp(notes.items[k].table, key) != 0)
                continue;
            json_t *ann = json_object_get(by_table, key);
            if (ann == NULL) {
                ann = json_array();
                for (size_t m = k; m < notes.count; m++)
                    if (strcmp(notes.items[m].table, key) == 0)
                        json_array_append_new(ann, dscat_render_annotation(&notes.items[m]));
                json_object_set_new(by_table, key, ann);
            }
            break;
        }
        free(key);
        json_array_append_new(matches, dscat_render_hit(h, false));
    }
    result = json_pack("{s:o, s:I, s:o}", "matches", matches, "count", (json_int_t)r.count,
                       "annotations", by_table);
done:
    dscat_annotation_list_free(&notes);
    dscat_search_result_free(&r);
    dscat_search_index_free(idx);
    dscat_store_close(st);
    dscat_config_free(cfg);
    free(kws);
    return result;
}

static json_t *do_table(json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *db = string_arg(args, "database", true, ae);
    const char *schema = ae->message[0] ? NULL : string_arg(args, "schema", true, ae);
    const char *table = ae->message[0] ? NULL : string_arg(args, "table_name", true, ae);
    if (ae->message[0])
        return NULL;
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    dscat_table_detail *d = NULL;
    dscat_name_candidates cands = {0};
    json_t *result = NULL;
    dscat_error err = {0};
    if (open_catalog(&cfg, &st, fail, size))
        goto done;
    const char *parts[] = {db, schema, table};
    char *name = dscat_join_qualified(parts, 3);
    int rc = dscat_table_lookup(&d, &cands, st, cfg->catalog_dir, name, &err);
    if (rc == DSCAT_ENOTFOUND) {
        result = json_pack("{s:o}", "error",
                           json_sprintf("Table %s.%s.%s not found", db, schema, table));
    } else if (rc) {
        snprintf(fail, size, "%s", err.message);
    } else {
        result = dscat_render_table(d);
    }
    free(name);
done:
    dscat_name_candidates_free(&cands);
    dscat_table_detail_free(d);
    dscat_store_close(st);
    dscat_config_free(cfg);
    return result;
}

static json_t *do_joins(json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *table = string_arg(args, "table_name", true, ae);
    if (ae->message[0])
        return NULL;
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    json_t *result = NULL;
    dscat_join_paths j = {0};
    dscat_error err = {0};
    if (open_catalog(&cfg, &st, fail, size))
        goto done;
    if (dscat_join_paths_get(&j, st, table, &err)) {
        snprintf(fail, size, "%s", err.message);
        goto done;
    }
    json_t *out = json_array(), *in = json_array();
    for (size_t i = 0; i < j.noutbound; i++)
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s++++}", "database", j.outbound[i].database, "schema",
                           j.outbound[i].schema, "column_name", j.outbound[i].column_name,
                           "fk_references", j.outbound[i].ref_schema, ".", j.outbound[i].ref_table,
                           ".", j.outbound[i].ref_column));
    for (size_t i = 0; i < j.ninbound; i++)
        json_array_append_new(in, json_pack("{s:s, s:s, s:s, s:s, s:s++++}", "database",
                                            j.inbound[i].database, "schema", j.inbound[i].schema,
                                            "table_name", j.inbound[i].table_name, "column_name",
                                            j.inbound[i].column_name, "fk_references",
                                            j.inbound[i].ref_schema, ".", j.inbound[i].ref_table,
                                            ".", j.inbound[i].ref_column));
    result = json_pack("{s:o, s:o}", "outbound", out, "inbound", in);
done:
    dscat_join_paths_free(&j);
    dscat_store_close(st);
    dscat_config_free(cfg);
    return result;
}

static json_t *do_status(char *fail, size_t size)
{
    dscat_config *cfg = NULL;
    dscat_status *s = NULL;
    dscat_error err = {0};
    json_t *result = NULL;
    if (open_catalog(&cfg, NULL, fail, size))
        return NULL;
    if (dscat_status_get(&s, cfg, &err)) {
        snprintf(fail, size, "%s", err.message);
    } else {
        result = json_pack("{s:s, s:o, s:{s:I, s:I, s:I, s:I}}", "status",
                           dscat_catalog_state_name(s->state, true), "age_days",
                           s->state == DSCAT_STATE_NOT_BUILT ? json_null() : json_real(s->age_days),
                           "stats", "targets", (json_int_t)s->targets, "databases",
                           (json_int_t)s->databases, "tables", (json_int_t)s->tables, "columns",
                           (json_int_t)s->columns);
    }
    dscat_status_free(s);
    dscat_config_free(cfg);
    return result;
}

static json_t *do_get_annotations(json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *target = string_arg(args, "target", false, ae);
    if (ae->message[0])
        return NULL;
    char *dir = NULL;
    dscat_error err = {0};
    dscat_annotation_list l = {0};
    json_t *result = NULL;
    if (dscat_catalog_dir(&dir, &err) || dscat_annotations_read(&l, dir, target, &err)) {
        snprintf(fail, size, "%s", err.message);
        goto done;
    }
    if (target) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l.count; i++)
            json_array_append_new(arr, dscat_render_annotation(&l.items[i]));
        result = json_pack("{s:s, s:o}", "target", target, "annotations", arr);
    } else {
        json_t *tables = json_object();
        for (size_t i = 0; i < l.count; i++) {
            json_t *e = json_object_get(tables, l.items[i].table);
            if (e == NULL) {
                e = json_pack("{s:[]}", "annotations");
                json_object_set_new(tables, l.items[i].table, e);
            }
            json_array_append_new(json_object_get(e, "annotations"),
                                  dscat_render_annotation(&l.items[i]));
        }
        result = json_pack("{s:o}", "tables", tables);
    }
    if (l.nskipped) {
        json_t *skipped = json_array();
        for (size_t i = 0; i < l.nskipped; i++)
            json_array_append_new(skipped, json_string(l.skipped[i]));
        json_object_set_new(result, "skipped_files", skipped);
    }
done:
    dscat_annotation_list_free(&l);
    free(dir);
    return result;
}

static json_t *do_add_annotation(json_t *args, arg_error *ae, char *fail, size_t size)
{
    const char *target = string_arg(args, "target", true, ae);
    const char *type = ae->message[0] ? NULL : string_arg(args, "type", true, ae);
    const char *content = ae->message[0] ? NULL : string_arg(args, "content", true, ae);
    if (ae->message[0])
        return NULL;
    char *dir = NULL, *file = NULL;
    dscat_error err = {0};
    dscat_annotation a = {0};
    json_t *result = NULL;
    if (dscat_catalog_dir(&dir, &err) ||
        dscat_annotation_add(&a, &file, dir, target, type, content, &err))
        snprintf(fail, size, "%s", err.message);
    else
        result = json_pack("{s:o, s:s}", "annotation", dscat_render_annotation(&a), "file", file);
    dscat_annotation_clear(&a);
    free(file);
    free(dir);
    return result;
}

static json_t *error_reply(json_t *id, int code, const char *message)
{
    return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", code, "message", message);
}

static json_t *result_reply(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

/* Refuses an argument the tool's inputSchema does not list (additionalProperties: false). */
static void unknown_argument(const char *name, json_t *args, arg_error *ae)
{
    json_t *list = tools_list(), *tool;
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

static json_t *call_tool(json_t *id, json_t *params)
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
        result = do_search(args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "get_table_details") == 0)
        result = do_table(args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "find_join_paths") == 0)
        result = do_joins(args, &ae, fail, sizeof(fail));
    else if (strcmp(name, "get_catalog_status") == 0)
        result = do_status(fail, sizeof(fail));
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
        free(text);
        text = NULL;
        json_decref(result);
        result = NULL;
        is_error = true;
    }
    json_t *content = json_pack("[{s:s, s:s}]", "type", "text", "text",
                                is_error ? (fail[0] ? fail : "tool failed") : text);
    json_t *reply =
        result_reply(id, json_pack("{s:o, s:b}", "content", content, "isError", is_error));
    if (result && json_is_object(result) && !is_error)
        json_object_set(json_object_get(reply, "result"), "structuredContent", result);
    free(text);
    json_decref(result);
    return reply;
}

/* Answers one message; NULL for a notification (no reply). */
static json_t *handle(json_t *msg)
{
    if (!json_is_object(msg))
        return error_reply(NULL, INVALID_REQUEST, "a request must be a JSON object");
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    const char *version = json_string_value(json_object_get(msg, "jsonrpc"));
    bool notification = id == NULL;
    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
        return error_reply(NULL, INVALID_REQUEST, "id must be a string or an integer");
    if (method == NULL || version == NULL || strcmp(version, "2.0") != 0)
        return notification ? NULL
                            : error_reply(id, INVALID_REQUEST,
                                          "a request needs \"jsonrpc\": \"2.0\" and a method");
    json_t *params = json_object_get(msg, "params");
    if (strcmp(method, "initialize") == 0) {
        const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
        const char *use = versions[0];
        for (size_t i = 0; asked && i < sizeof(versions) / sizeof(versions[0]); i++)
            if (strcmp(asked, versions[i]) == 0)
                use = versions[i];
        return notification
                   ? NULL
                   : result_reply(id, json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}}",
                                                "protocolVersion", use, "capabilities", "tools",
                                                "listChanged", 0, "serverInfo", "name", "dscat",
                                                "version", dscat_version()));
    }
    if (notification)
        return NULL; /* notifications/initialized, cancellations, ...: nothing to answer */
    if (strcmp(method, "ping") == 0)
        return result_reply(id, json_object());
    if (strcmp(method, "tools/list") == 0)
        return result_reply(id, tools_list());
    if (strcmp(method, "tools/call") == 0) {
        if (!json_is_object(params))
            return error_reply(id, INVALID_PARAMS, "tools/call needs params {name, arguments}");
        return call_tool(id, params);
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

static void send(FILE *out, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text && strlen(text) > MAX_ANSWER) {
        /* whatever made it this large (escaping, a batch of answers), no line exceeds the cap */
        free(text);
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
    }
    free(text);
    json_decref(reply);
}

int dscat_mcp_serve(FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (n > MAX_LINE) {
            send(out, error_reply(NULL, INVALID_REQUEST, "message too large"));
            continue;
        }
        json_error_t jerr;
        json_t *msg = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        if (msg == NULL) {
            char m[300];
            snprintf(m, sizeof(m), "Parse error: %s", jerr.text);
            for (char *p = m; *p; p++) /* the parser may quote the bad bytes: keep ASCII */
                *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
            json_t *id = guess_id(line, (size_t)n);
            send(out, error_reply(id, PARSE_ERROR, m));
            json_decref(id);
            continue;
        }
        if (json_is_array(msg)) {
            json_t *replies = json_array();
            size_t i;
            json_t *item;
            json_array_foreach(msg, i, item)
            {
                json_t *r = handle(item);
                if (r)
                    json_array_append_new(replies, r);
            }
            if (json_array_size(msg) == 0)
                send(out, error_reply(NULL, INVALID_REQUEST, "empty batch"));
            else if (json_array_size(replies))
                send(out, json_incref(replies));
            json_decref(replies);
        } else {
            json_t *r = handle(msg);
            if (r)
                send(out, r);
        }
        json_decref(msg);
    }
    free(line);
    return 0;
}
