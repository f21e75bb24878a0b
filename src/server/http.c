/*
 * The HTTP API (SPEC §11) on libmicrohttpd: a thin front end over the library calls the CLI
 * makes. A pool of one polling thread per core answers requests; work that can take long (a
 * refresh, a query, a purge) is a job, run by one of max_jobs worker threads while its connection
 * is suspended, so a data refresh never holds up a search and a flood of jobs is bounded. The
 * questions go to the caller's dscat_catalog, whose search index is reloaded only when the store's
 * generation or the annotations change. A deletion worker runs every deletion_interval_seconds.
 *
 * Paths arrive undecoded (our own unescape callback): they are split on "/" first and each
 * segment is decoded after, so "%2F" inside an id never becomes a separator.
 */
#include "dscat/http.h"

#include "api/render.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/testhooks.h"
#include "core/timeutil.h"
#include "server/http_parse.h"
#include "server/metrics.h"
#include "server/openapi.h"
#include "server/ui_assets.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (1024 * 1024)
#define MAX_SEGMENTS 8
#define SHUTDOWN_WAIT_S 30
#define QUERY_LIMIT 10000
#define RETRY_AFTER_S "5"

typedef struct server {
    dscat_catalog *cat; /* borrowed from the caller: store, index, configuration */
    const dscat_config *cfg;
    const char *token;
    unsigned port;    /* the listening port: loopback Host headers must name it */
    char address[64]; /* the listening address as a Host names it: "10.0.0.5", "[fd00::1]" */
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;   /* long requests and scheduled runs between their start and their end */
    int scheduled; /* of those, the scheduler's runs (one at most) */
    bool stopping;
    pthread_t worker;
    /* The jobs (refreshes, queries, purges): settings.max_jobs threads take them from a queue of
     * at most settings.max_queued_jobs beyond the idle workers; a schema refresh identical to one
     * queued or running joins it (the list `leaders`). All under mu; the workers wait on cv. */
    pthread_t *workers;
    size_t nworkers;
    struct request *queue_head, *queue_tail, *leaders;
    size_t nqueued, busy;   /* jobs waiting; workers running one */
    dscat_metrics *metrics; /* GET /metrics */
    pthread_t scheduler;    /* runs targets.toml's schedules */
    /* The scheduler's own: per schedule (the list's order, fixed by the configuration), when a
     * run whose record the store refused may be tried again, and how many in a row it refused. */
    int64_t *retry_at;
    int *refused;
    size_t nretry;
    int64_t started_us; /* when this server started: schedules that never ran run then */
} server;

/* ---- requests -------------------------------------------------------------------------------- */

typedef struct request request;
typedef int (*job_fn)(request *r);
struct route;

struct request {
    server *srv;
    struct MHD_Connection *conn;
    int64_t started_ms;
    char method[16];
    char *path;                 /* raw, undecoded */
    unsigned long failures;     /* this thread's failed allocations when the answer was begun */
    unsigned long job_failures; /* the same on the job's thread */
    dscat_buf body;
    bool too_large;
    const struct route *matched; /* the route of the path (any method), or NULL */
    unsigned status;
    const char *route; /* the matched route's path as documented, for the metrics; NULL: none */
    /* a long request: runs on its own thread while the connection is suspended */
    job_fn job;
    json_t *input;
    char *seg[MAX_SEGMENTS];
    size_t nseg;
    bool job_started, long_running; /* long_running: counted in server.running */
    unsigned job_status;
    char *job_response;
    request *next_queued; /* the job queue, under server.mu */
    /* A schema refresh others may join: its key (refresh_join_key), and the requests waiting for
     * its answer (linked by next_joined); a leader is in server.leaders while queued or running. */
    char *join_key;
    request *joined, *next_joined, *next_leader;
};

bool dscat_http__percent_decode(char *s, bool plus)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            unsigned v;
            if (!p[1] || !p[2] || sscanf(p + 1, "%2x", &v) != 1 || !isxdigit((unsigned char)p[1]) ||
                !isxdigit((unsigned char)p[2]) || v == 0)
                return false;
            *w++ = (char)v;
            p += 2;
        } else {
            *w++ = plus && *p == '+' ? ' ' : *p;
        }
    }
    *w = '\0';
    return true;
}

/* Leaves the URL and the arguments as they came: decoding happens per segment and argument. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static char *json_text(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    return s;
}

static const char *code_for(unsigned status)
{
    switch (status) {
    case 400:
        return "BAD_REQUEST";
    case 401:
        return "UNAUTHORIZED";
    case 404:
        return "NOT_FOUND";
    case 405:
        return "METHOD_NOT_ALLOWED";
    case 409:
        return "CONFLICT";
    case 413:
        return "PAYLOAD_TOO_LARGE";
    case 415:
        return "UNSUPPORTED_MEDIA_TYPE";
    case 403:
        return "FORBIDDEN";
    case 421:
        return "MISDIRECTED_REQUEST";
    case 503:
        return "SERVICE_UNAVAILABLE";
    default:
        return "INTERNAL_SERVER_ERROR";
    }
}

static char *error_text(unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *error_text(unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *m = json_string(msg);
    if (m == NULL) { /* not UTF-8 (an id made of raw bytes): keep printable ASCII */
        for (char *p = msg; *p; p++)
            *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
        m = json_string(msg);
    }
    return json_text(json_pack("{s:{s:o, s:s}}", "error", "message", m, "code", code_for(status)));
}

/* The request's Origin when cors_origins lists it exactly; NULL otherwise. */
static const char *allowed_origin(request *r)
{
    const dscat_string_list *l = &r->srv->cfg->settings.cors_origins;
    const char *o = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    for (size_t i = 0; o && i < l->count; i++)
        if (strcmp(l->items[i], o) == 0)
            return o;
    return NULL;
}

/* Cross-origin access only for the configured origins; nothing at all by default. */
static void add_cors_headers(request *r, struct MHD_Response *resp)
{
    if (r->srv->cfg->settings.cors_origins.count == 0)
        return;
    MHD_add_response_header(resp, "Vary", "Origin");
    const char *o = allowed_origin(r);
    if (o)
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", o);
}

static enum MHD_Result send_typed(request *r, unsigned status, char *text, const char *allow,
                                  const char *content_type)
{
    /* An answer built while an allocation failed may lack parts (jansson drops what it cannot
     * allocate, quietly): never sent as if whole. */
    if (text && dscat_alloc_failures() != r->failures) {
        dscat_free(text);
        text = NULL;
    }
    if (text == NULL) {
        status = 500;
        text = dscat_strdup("{\"error\":{\"message\":\"out of memory\",\"code\":"
                            "\"INTERNAL_SERVER_ERROR\"}}");
    }
    size_t n = text ? strlen(text) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(n, text, text ? &dscat_free : NULL);
    if (resp == NULL) {
        dscat_free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            status == 200 ? content_type : "application/json");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"dscat\"");
    if (status == 503) /* every 503 is a busy or stopping server: worth trying again later */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_S);
    add_cors_headers(r, resp);
    r->status = status;
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_text(request *r, unsigned status, char *text, const char *allow)
{
    return send_typed(r, status, text, allow, "application/json");
}

static enum MHD_Result send_json(request *r, unsigned status, json_t *j)
{
    return send_text(r, status, json_text(j), NULL);
}

static enum MHD_Result send_error(request *r, unsigned status, const char *message)
{
    return send_text(r, status, error_text(status, "%s", message), NULL);
}

/* The HTTP status for a library error. */
static unsigned status_for(int rc)
{
    switch (rc) {
    case DSCAT_ENOTFOUND:
        return 404;
    case DSCAT_EINVALID:
        return 400;
    case DSCAT_ECONFLICT:
        return 409;
    default:
        return 500;
    }
}

/* An argument of the query string, decoded; NULL when absent. *bad is set for a bad escape. */
static char *query_arg(request *r, const char *name, bool *bad)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v == NULL)
        return NULL;
    char *s = dscat_strdup(v);
    if (s && !dscat_http__percent_decode(s, true)) {
        *bad = true;
        dscat_free(s);
        return NULL;
    }
    return s;
}

static bool token_ok(server *s, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    /* The scheme is case-insensitive (RFC 7235); one or more spaces before the token. */
    if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
        return false;
    h += 6;
    while (*h == ' ')
        h++;
    /* Constant time in the token's content: every byte is compared, whatever differs first. */
    size_t a = strlen(h), b = strlen(s->token);
    unsigned char diff = a != b;
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)(s->token[i] ^ (i < a ? h[i] : 0));
    return diff == 0;
}

/* ---- the routes that answer at once ---------------------------------------------------------- */

static enum MHD_Result route_health(request *r)
{
    return send_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", DSCAT_VERSION));
}

/*
 * GET /ready: whether this server can answer from the catalog store now, for a load balancer (GET
 * /health says only that the process answers). 200 when the store answers or is not built yet (a
 * POST /refresh builds it), 503 with the store's error when it does not answer.
 */
static enum MHD_Result route_ready(request *r)
{
    dscat_error err = {0};
    int rc = dscat_catalog_ready(r->srv->cat, &err);
    if (rc == DSCAT_ENOMEM)
        return send_error(r, 500, "out of memory");
    if (rc && rc != DSCAT_ENOTFOUND)
        return send_text(
            r, 503, error_text(503, "the catalog store does not answer: %s", err.message), NULL);
    return send_json(r, 200,
                     json_pack("{s:s, s:s}", "status", "ready", "store", rc ? "empty" : "up"));
}

/*
 * Parses an integer query parameter from min to max. False for anything else: no digits, a sign
 * alone, trailing text, or a number out of range (never clamped: 99999999999999999999 is no
 * INT64_MAX).
 */
static bool int_param(const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (text == NULL || *text == '\0' || isspace((unsigned char)*text))
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE || *end || end == text || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

static enum MHD_Result route_status(request *r)
{
    dscat_status *st = NULL;
    dscat_error err = {0};
    if (dscat_catalog_status(&st, r->srv->cat, false, &err))
        return send_error(r, 500, err.message);
    enum MHD_Result ok = send_json(r, 200, dscat_render_status(st));
    dscat_catalog_status_free(st);
    return ok;
}

static enum MHD_Result route_connections(request *r, const char *id)
{
    dscat_connection_list l;
    dscat_error err = {0};
    if (dscat_catalog_connections(&l, r->srv->cat, id, &err))
        return send_error(r, status_for(err.code), err.message);
    enum MHD_Result ok;
    if (id && l.count == 0) {
        ok = send_text(r, 404, error_text(404, "connection '%s' not found", id), NULL);
    } else if (id) {
        json_t *o = dscat_render_connection(&l.items[0]);
        dscat_cache_listing cl;
        if (dscat_catalog_cache_list(&cl, r->srv->cat, id, &err) == 0) {
            json_object_set_new(o, "cached", dscat_render_cached_tables(&cl));
            dscat_catalog_cache_list_free(&cl);
        }
        ok = send_json(r, 200, o);
    } else {
        json_t *a = json_array();
        for (size_t i = 0; i < l.count; i++)
            json_array_append_new(a, dscat_render_connection(&l.items[i]));
        ok = send_json(r, 200, json_pack("{s:o}", "connections", a));
    }
    dscat_catalog_connections_free(&l);
    return ok;
}

static enum MHD_Result route_information_schema(request *r)
{
    bool bad = false;
    char *id = query_arg(r, "connection_id", &bad);
    if (bad)
        return send_error(r, 400, "connection_id: bad percent-encoding");
    char *out = NULL;
    dscat_error err = {0};
    int rc = dscat_catalog_information_schema(&out, r->srv->cat, id, &err);
    enum MHD_Result ok =
        rc ? send_error(r, status_for(rc), err.message) : send_text(r, 200, out, NULL);
    dscat_free(id);
    return ok;
}

bool dscat_http__utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

bool dscat_http__parse_bool(const char *s, bool *out)
{
    if (s == NULL)
        return true;
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        *out = true;
    else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        *out = false;
    else
        return false;
    return true;
}

/* A monotonic clock in seconds, for the durations the metrics keep. */
static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* GET /schedule: every schedule with its last run and its next one. */
static enum MHD_Result route_schedule(request *r)
{
    dscat_schedule_list l = {0};
    dscat_error err = {0};
    if (dscat_catalog_schedules(&l, r->srv->cat, r->srv->started_us, &err))
        return send_error(r, status_for(err.code), err.message);
    enum MHD_Result ok = send_json(r, 200, dscat_render_schedules(&l));
    dscat_catalog_schedule_list_free(&l);
    return ok;
}

/* GET /metrics: the Prometheus text exposition (server/metrics.h). */
static enum MHD_Result route_metrics(request *r)
{
    dscat_buf out = DSCAT_BUF_INIT;
    dscat_error err = {0};
    int rc = dscat_metrics__render(&out, r->srv->metrics, r->srv->cat, &err);
    if (rc) {
        dscat_buf_free(&out);
        return send_error(r, status_for(rc), err.message);
    }
    return send_typed(r, 200, dscat_buf_detach(&out), NULL,
                      "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result route_search(request *r)
{
    bool bad = false, by_table = false;
    char *q = query_arg(r, "q", &bad), *top = query_arg(r, "top", &bad),
         *bt = query_arg(r, "by_table", &bad);
    enum MHD_Result ok;
    int64_t ntop = 20;
    if (bad) {
        ok = send_error(r, 400, "bad percent-encoding in the query string");
    } else if (q == NULL || strspn(q, " \t\r\n") == strlen(q)) {
        ok = send_error(r, 400, "q: give one or more keywords");
    } else if (!dscat_http__utf8_ok(q)) {
        ok = send_error(r, 400, "q: not UTF-8 text");
    } else if (top && !int_param(top, 1, 1000, &ntop)) {
        ok = send_error(r, 400, "top: an integer from 1 to 1000");
    } else if (!dscat_http__parse_bool(bt, &by_table)) {
        ok = send_error(r, 400, "by_table: true or false");
    } else {
        dscat_error err = {0};
        dscat_hits *h = NULL;
        const char *kw[] = {q};
        dscat_search_options o = {
            .keywords = kw, .nkeywords = 1, .top = (size_t)ntop, .by_table = by_table};
        double t0 = seconds_now();
        int rc = dscat_catalog_search(&h, r->srv->cat, &o, &err);
        dscat_metrics__latency(r->srv->metrics, "search", seconds_now() - t0);
        if (rc)
            ok = send_error(r, status_for(err.code), err.message);
        else
            ok = send_json(r, 200,
                           json_pack("{s:s, s:o, s:I, s:I, s:o}", "query", q, "results",
                                     dscat_render_hits(h, by_table), "count", (json_int_t)h->count,
                                     "searched", (json_int_t)h->searched, "annotations",
                                     dscat_render_hit_annotations(h)));
        dscat_hits_free(h);
    }
    dscat_free(q);
    dscat_free(top);
    dscat_free(bt);
    return ok;
}

/*
 * Looks a table up as GET /tables names it: the connection resolved against the configuration,
 * then target:database.schema.table in the store. On success *d is the table (the caller frees it
 * with dscat_catalog_table_free(*d, NULL)); otherwise the answer has been sent into *answer.
 */
static bool find_table(dscat_table_detail **d, request *r, const char *conn, const char *schema,
                       const char *table, enum MHD_Result *answer)
{
    const dscat_target_config *t = NULL;
    char *database = NULL;
    dscat_error err = {0};
    *d = NULL;
    if (dscat_catalog_resolve(&t, &database, r->srv->cat, conn, &err)) {
        *answer = send_text(r, 404, error_text(404, "connection '%s' not found", conn), NULL);
        return false;
    }
    const char *parts[] = {database, schema, table};
    char *q = dscat_join_qualified(parts, 3);
    dscat_buf name = DSCAT_BUF_INIT;
    dscat_buf_printf(&name, "%s:%s", t->key, q ? q : "");
    dscat_name_candidates cands = {0};
    int rc = q ? dscat_buf_check(&name, &err, "the table name")
               : dscat_error_set(&err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = dscat_catalog_table(d, &cands, r->srv->cat, dscat_buf_cstr(&name), &err);
    if (rc == DSCAT_ENOTFOUND)
        *answer =
            send_text(r, 404, error_text(404, "table '%s.%s' not found", schema, table), NULL);
    else if (rc)
        *answer = send_error(r, status_for(rc), err.message);
    dscat_catalog_table_free(rc ? *d : NULL, &cands);
    if (rc)
        *d = NULL;
    dscat_buf_free(&name);
    dscat_free(q);
    dscat_free(database);
    return rc == 0;
}

static enum MHD_Result route_table(request *r, const char *conn, const char *schema,
                                   const char *table)
{
    dscat_table_detail *d = NULL;
    enum MHD_Result ok;
    if (!find_table(&d, r, conn, schema, table, &ok))
        return ok;
    json_t *j = dscat_render_table(d);
    json_object_set_new(j, "connection_id", json_string(conn));
    ok = send_json(r, 200, j);
    dscat_catalog_table_free(d, NULL);
    return ok;
}

/*
 * POST /tables/{connection}/{schema}/{table}/annotations: `dscat annotate` on a catalogued table,
 * {"type": "note" | "quality_flag" | "deprecation", "content": "..."}; the author is the server's
 * user (SPEC §7). Answers 201 with the annotation and the table's key in the annotation files.
 */
static enum MHD_Result route_annotate(request *r, const char *conn, const char *schema,
                                      const char *table)
{
    json_t *type = NULL, *content = NULL, *v;
    const char *key;
    json_object_foreach(r->input, key, v)
    {
        if (strcmp(key, "type") == 0)
            type = v;
        else if (strcmp(key, "content") == 0)
            content = v;
        else
            return send_text(r, 400, error_text(400, "unknown field '%s'", key), NULL);
    }
    if (!json_is_string(type))
        return send_error(r, 400,
                          "field 'type' must be one of 'note', 'quality_flag', 'deprecation'");
    if (!json_is_string(content) || json_string_length(content) == 0)
        return send_error(r, 400, "field 'content' must be a non-empty string");
    dscat_table_detail *d = NULL;
    enum MHD_Result ok;
    if (!find_table(&d, r, conn, schema, table, &ok))
        return ok;
    const char *parts[] = {d->database, d->schema, d->table_name};
    char *name = dscat_join_qualified(parts, 3), *file = NULL;
    dscat_annotation a = {0};
    dscat_error err = {0};
    int rc = name ? dscat_catalog_annotate(&a, &file, r->srv->cat, name, json_string_value(type),
                                           json_string_value(content), &err)
                  : dscat_error_set(&err, DSCAT_ENOMEM, "out of memory");
    if (rc) {
        ok = send_error(r, status_for(rc), err.message);
    } else {
        json_t *o = dscat_render_annotation(&a);
        json_object_set_new(o, "table", json_string(name));
        json_object_set_new(o, "connection_id", json_string(conn));
        ok = send_json(r, 201, o);
    }
    dscat_catalog_annotation_clear(&a);
    dscat_free(file);
    dscat_free(name);
    dscat_catalog_table_free(d, NULL);
    return ok;
}

/* GET /diff[?target=T][&from=SCAN][&to=SCAN]: `dscat diff --format json` (default: the target's
 * last two kept scans). */
static enum MHD_Result route_diff(request *r)
{
    bool bad = false;
    char *target = query_arg(r, "target", &bad), *from = query_arg(r, "from", &bad),
         *to = query_arg(r, "to", &bad);
    int64_t scan[2] = {0, 0};
    const char *text[2] = {from, to};
    enum MHD_Result ok = MHD_YES;
    bool answered = false;
    if (bad) {
        ok = send_error(r, 400, "bad percent-encoding in the query string");
        answered = true;
    }
    for (int i = 0; i < 2 && !answered; i++) {
        if (text[i] && !int_param(text[i], 1, INT64_MAX, &scan[i])) {
            ok = send_text(r, 400,
                           error_text(400, "%s: a scan id, a positive integer", i ? "to" : "from"),
                           NULL);
            answered = true;
        }
    }
    if (!answered && to && !from) {
        ok = send_error(r, 400, "to requires from");
        answered = true;
    }
    if (!answered) {
        dscat_diff d;
        dscat_error err = {0};
        if (dscat_catalog_diff(&d, r->srv->cat, target, scan[0], scan[1], &err)) {
            ok = send_error(r, status_for(err.code), err.message);
        } else {
            ok = send_json(r, 200, dscat_render_diff(&d));
            dscat_catalog_diff_free(&d);
        }
    }
    dscat_free(target);
    dscat_free(from);
    dscat_free(to);
    return ok;
}

/* ---- long requests: run on their own thread ---------------------------------------------------
 */

static int finish(request *r, unsigned status, char *text)
{
    if (text && dscat_alloc_failures() != r->job_failures) { /* as in send_text */
        dscat_free(text);
        text = NULL;
    }
    r->job_status = text ? status : 500;
    r->job_response = text;
    return 0;
}

static int finish_error(request *r, unsigned status, const char *message)
{
    return finish(r, status, error_text(status, "%s", message));
}

/* The refresh fields (SPEC §11.1), checked for presence and type; null counts as absent. */
typedef struct refresh_req {
    const char *connection_id, *schema_name, *table_name, *append_key;
    bool data, include_uncached;
} refresh_req;

static int job_refresh(request *r)
{
    json_t *in = r->input;
    refresh_req q = {0};
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        bool is_str = strcmp(key, "connection_id") == 0 || strcmp(key, "schema_name") == 0 ||
                      strcmp(key, "table_name") == 0 || strcmp(key, "append_key") == 0;
        bool is_bool = strcmp(key, "data") == 0 || strcmp(key, "include_uncached") == 0;
        if (!is_str && !is_bool)
            return finish(r, 400, error_text(400, "unknown field '%s'", key));
        if (json_is_null(v))
            continue;
        if (is_str && !json_is_string(v))
            return finish(r, 400, error_text(400, "field '%s' must be a string", key));
        if (is_bool && !json_is_boolean(v))
            return finish(r, 400, error_text(400, "field '%s' must be a boolean", key));
        if (strcmp(key, "connection_id") == 0)
            q.connection_id = json_string_value(v);
        else if (strcmp(key, "schema_name") == 0)
            q.schema_name = json_string_value(v);
        else if (strcmp(key, "table_name") == 0)
            q.table_name = json_string_value(v);
        else if (strcmp(key, "append_key") == 0)
            q.append_key = json_string_value(v);
        else if (strcmp(key, "data") == 0)
            q.data = json_is_true(v);
        else
            q.include_uncached = json_is_true(v);
    }
    if (q.schema_name && !q.connection_id)
        return finish_error(r, 400, "schema_name requires connection_id");
    if (q.table_name && !q.schema_name)
        return finish_error(r, 400, "table_name requires schema_name");
    if (q.data && !q.connection_id)
        return finish_error(r, 400, "data refresh requires connection_id");
    if (q.append_key && (!q.data || !q.table_name))
        return finish_error(r, 400,
                            "append_key requires a data refresh of one table (data, schema_name "
                            "and table_name)");
    dscat_error err = {0};
    if (q.connection_id && dscat_catalog_target(r->srv->cat, q.connection_id) == NULL) {
        const dscat_target_config *t = NULL;
        char *db = NULL;
        if (dscat_catalog_resolve(&t, &db, r->srv->cat, q.connection_id, &err))
            return finish(r, 404, error_text(404, "connection '%s' not found", q.connection_id));
        dscat_free(db);
    }
    if (!q.data && q.schema_name && !q.table_name)
        return finish_error(r, 400, "schema-level refresh not supported");
    if (q.data && q.schema_name && !q.table_name)
        return finish_error(r, 400, "data refresh with schema requires table_name");
    if (!q.data && q.schema_name && q.table_name)
        return finish_error(r, 400, "schema refresh cannot target specific tables");
    if (!q.data) { /* rows 6 and 7 */
        dscat_schema_refresh_result res;
        double t0 = seconds_now();
        int rc = dscat_catalog_schema_refresh(&res, r->srv->cat, q.connection_id, &err);
        dscat_metrics__refresh(r->srv->metrics, "schema", rc == 0 && res.connections_failed == 0,
                               seconds_now() - t0, 0, 0);
        if (rc)
            return finish_error(r, status_for(rc), err.message);
        json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i}", "connections_refreshed",
                              (int)res.connections_refreshed, "connections_failed",
                              (int)res.connections_failed, "tables_discovered",
                              (int)res.tables_discovered, "tables_added", (int)res.tables_added,
                              "tables_modified", (int)res.tables_modified);
        if (res.nerrors) {
            json_t *errors = json_array();
            for (size_t i = 0; i < res.nerrors; i++)
                json_array_append_new(errors, json_pack("{s:s, s:s}", "connection_id",
                                                        res.error_ids[i], "error", res.errors[i]));
            json_object_set_new(o, "errors", errors);
        }
        dscat_catalog_schema_refresh_free(&res);
        return finish(r, 200, json_text(o));
    }
    /* rows 11 and 12 */
    dscat_cache_report *rep = NULL;
    dscat_cache_refresh_opts opts = {.include_uncached = q.table_name ? false : q.include_uncached,
                                     .append_key = q.append_key};
    int rc = dscat_catalog_data_refresh_with(&rep, r->srv->cat, q.connection_id, q.schema_name,
                                             q.table_name, &opts, &err);
    if (rc) {
        dscat_catalog_data_refresh_free(rep);
        return finish_error(r, status_for(rc), err.message);
    }
    /* One refresh per table this request ran (one it joined was counted by its own request). */
    for (size_t i = 0; i < rep->count; i++)
        if (!rep->tables[i].joined)
            dscat_metrics__refresh(r->srv->metrics,
                                   rep->tables[i].kind && strcmp(rep->tables[i].kind, "append") == 0
                                       ? "append"
                                       : "data",
                                   rep->tables[i].rc == 0, rep->tables[i].duration_ms / 1e3,
                                   rep->tables[i].rc ? 0 : rep->tables[i].rows,
                                   rep->tables[i].rc ? 0 : rep->tables[i].bytes);
    json_t *o;
    if (q.table_name) {
        const dscat_table_sync *t = &rep->tables[0];
        if (t->rc) {
            int done = finish_error(r, status_for(t->rc), t->error.message);
            dscat_catalog_data_refresh_free(rep);
            return done;
        }
        o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "connection_id", q.connection_id, "schema_name",
                      q.schema_name, "table_name", q.table_name, "rows_synced", (json_int_t)t->rows,
                      "duration_ms", (json_int_t)rep->duration_ms);
        if (q.append_key) /* an append: what ran, and whether a version was published */
            json_object_update_new(o, json_pack("{s:s, s:b, s:I, s:s?}", "refresh_kind",
                                                t->kind ? t->kind : "append", "version_published",
                                                !t->unchanged, "version_rows",
                                                (json_int_t)t->version_rows, "note", t->note));
    } else {
        json_t *errors = json_array();
        for (size_t i = 0; i < rep->count; i++)
            if (rep->tables[i].rc)
                json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "schema_name",
                                                        rep->tables[i].schema, "table_name",
                                                        rep->tables[i].table, "error",
                                                        rep->tables[i].error.message));
        o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "connection_id", q.connection_id,
                      "tables_refreshed", (json_int_t)(rep->count - rep->failed), "tables_failed",
                      (json_int_t)rep->failed, "total_rows", (json_int_t)rep->total_rows,
                      "duration_ms", (json_int_t)rep->duration_ms, "errors", errors);
    }
    if (rep->warnings.count)
        json_object_set_new(o, "warnings", dscat_render_warnings(&rep->warnings));
    dscat_catalog_data_refresh_free(rep);
    return finish(r, 200, json_text(o));
}

static int job_query(request *r)
{
    json_t *in = r->input, *sql = NULL, *limit = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "sql") == 0)
            sql = v;
        else if (strcmp(key, "limit") == 0)
            limit = v;
        else
            return finish(r, 400, error_text(400, "unknown field '%s'", key));
    }
    if (sql == NULL || !json_is_string(sql) || json_string_length(sql) == 0)
        return finish_error(r, 400, "field 'sql' must be a non-empty string");
    if (limit && !json_is_null(limit) &&
        (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
         json_integer_value(limit) > 1000000))
        return finish_error(r, 400, "field 'limit' must be an integer from 1 to 1000000");
    size_t n = limit && json_is_integer(limit) ? (size_t)json_integer_value(limit) : QUERY_LIMIT;
    dscat_query_result res = {0};
    dscat_error err = {0};
    double t0 = seconds_now();
    int rc = dscat_catalog_query(&res, r->srv->cat, json_string_value(sql), n, &err);
    dscat_metrics__latency(r->srv->metrics, "query", seconds_now() - t0);
    if (rc)
        finish_error(r,
                     rc == DSCAT_ETIMEOUT || rc == DSCAT_EQUERY || rc == DSCAT_ENOTFOUND
                         ? 400
                         : status_for(rc),
                     err.message);
    else
        finish(r, 200, json_text(dscat_render_query(&res)));
    dscat_catalog_query_free(&res);
    return 0;
}

static int job_purge(request *r)
{
    /* /connections/{id}/cache or /connections/{id}/tables/{schema}/{table}/cache */
    const char *id = r->seg[1];
    const char *schema = r->nseg == 6 ? r->seg[3] : NULL, *table = r->nseg == 6 ? r->seg[4] : NULL;
    size_t purged = 0;
    dscat_error err = {0};
    int rc = dscat_catalog_purge(r->srv->cat, id, schema, table, &purged, &err);
    if (rc)
        return finish_error(r, status_for(rc), err.message);
    if (table && purged == 0)
        return finish(r, 404, error_text(404, "table '%s.%s' is not cached", schema, table));
    json_t *o = json_pack("{s:s, s:I}", "connection_id", id, "tables_purged", (json_int_t)purged);
    if (table) {
        json_object_set_new(o, "schema_name", json_string(schema));
        json_object_set_new(o, "table_name", json_string(table));
    }
    return finish(r, 200, json_text(o));
}

/*
 * The jobs. A request for one is suspended and queued (or joins an identical schema refresh
 * already queued or running); settings.max_jobs worker threads take them from the queue in order,
 * so that a flood of requests makes neither threads nor store connections beyond that number.
 * Beyond max_queued_jobs waiting, a request is answered 503 with Retry-After at once.
 *
 * Suspending and resuming happen outside server.mu (libmicrohttpd takes locks of its own there);
 * a request is suspended before it is queued, so a worker never resumes one not yet suspended.
 */

/*
 * Ends job r, run or refused: r leaves the leaders, the requests that joined it take a copy of
 * its answer, and all are resumed (each sends its answer on its next call). Call without mu.
 */
static void job_done(server *s, request *r)
{
    pthread_mutex_lock(&s->mu);
    for (request **p = &s->leaders; r->join_key && *p; p = &(*p)->next_leader)
        if (*p == r) {
            *p = r->next_leader;
            break;
        }
    request *joined = r->joined;
    r->joined = NULL;
    pthread_mutex_unlock(&s->mu);
    /* No other request can join r now; those that did are suspended until resumed below. */
    for (request *j = joined; j;) {
        request *next = j->next_joined;
        j->job_status = r->job_status;
        j->job_response = r->job_response ? dscat_strdup(r->job_response) : NULL;
        MHD_resume_connection(j->conn);
        j = next;
    }
    MHD_resume_connection(r->conn);
}

/* A worker: runs the queued jobs one after the other; at the stop, refuses the waiting ones. */
static void *job_worker(void *arg)
{
    server *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && s->queue_head == NULL)
            pthread_cond_wait(&s->cv, &s->mu);
        request *r = s->queue_head;
        if (r == NULL)
            break; /* stopping, and nothing waits */
        s->queue_head = r->next_queued;
        if (s->queue_head == NULL)
            s->queue_tail = NULL;
        s->nqueued--;
        s->busy++;
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stopping) {
            r->job_failures = dscat_alloc_failures();
            finish(r, 503, error_text(503, "the server is stopping"));
        } else {
            r->job_failures = dscat_alloc_failures();
            (void)r->job(r);
        }
        job_done(s, r);
        pthread_mutex_lock(&s->mu);
        s->busy--;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * The key by which a schema refresh joins an identical one: "schema:=" and its connection_id, or
 * "schema:*" for every target. NULL for anything else (a data refresh joins another of the same
 * table in the library), and for a body the job will refuse.
 */
static char *refresh_join_key(const json_t *in)
{
    const char *key, *id = NULL;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        if (json_is_null(v))
            continue;
        if (strcmp(key, "connection_id") == 0 && json_is_string(v))
            id = json_string_value(v);
        else if ((strcmp(key, "data") == 0 && json_is_false(v)) ||
                 (strcmp(key, "include_uncached") == 0 && json_is_boolean(v)))
            continue;
        else
            return NULL;
    }
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_buf_printf(&b, "schema:%s%s", id ? "=" : "*", id ? id : "");
    return dscat_buf_detach(&b);
}

static enum MHD_Result start_job(request *r, job_fn fn)
{
    server *s = r->srv;
    r->job = fn;
    MHD_suspend_connection(r->conn);
    pthread_mutex_lock(&s->mu);
    request *leader = s->leaders;
    while (r->join_key && leader && strcmp(leader->join_key, r->join_key) != 0)
        leader = leader->next_leader;
    if (!r->join_key)
        leader = NULL;
    /* Idle workers take a job at once: the queue holds max_queued_jobs beyond them. */
    size_t idle = s->nworkers > s->busy ? s->nworkers - s->busy : 0;
    bool full = leader == NULL && s->nqueued >= (size_t)s->cfg->settings.max_queued_jobs + idle;
    size_t queued = s->nqueued, busy = s->busy;
    if (!s->stopping && !full) {
        s->running++;
        r->long_running = true;
        r->job_started = true;
        if (leader) {
            r->next_joined = leader->joined;
            leader->joined = r;
        } else {
            if (r->join_key) {
                r->next_leader = s->leaders;
                s->leaders = r;
            }
            if (s->queue_tail)
                s->queue_tail->next_queued = r;
            else
                s->queue_head = r;
            s->queue_tail = r;
            s->nqueued++;
            pthread_cond_broadcast(&s->cv);
        }
    }
    bool stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (r->job_started)
        return MHD_YES;
    MHD_resume_connection(r->conn);
    if (stopping)
        return send_error(r, 503, "the server is stopping");
    return send_text(r, 503,
                     error_text(503,
                                "the server is busy (jobs running: %zu, waiting: %zu; max_jobs and "
                                "max_queued_jobs in [settings]); try again later",
                                busy, queued),
                     NULL);
}

/* ---- the web UI: static files embedded in the binary ----------------------------------------- */

/*
 * The UI page's Content-Security-Policy: everything from this server only, no inline script,
 * no plug-in, no framing. Styles may be inline because Mermaid writes a <style> element into
 * each diagram it draws; scripts may not.
 */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "     \
    "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "          \
    "frame-ancestors 'none'"

bool dscat_http__accepts_gzip(const char *accept_encoding)
{
    /* Accept-Encoding: gzip;q=0.8, br  -- gzip (or x-gzip, or *) with a q that is not zero. */
    const char *p = accept_encoding;
    bool star = false, gzip = false, gzip_zero = false;
    while (p && *p) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t;,");
        if (n == 0)
            break;
        bool is_gzip = (n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
                       (n == 6 && strncasecmp(p, "x-gzip", 6) == 0);
        bool is_star = n == 1 && *p == '*';
        p += n;
        bool zero = false;
        const char *end = p + strcspn(p, ",");
        const char *q = p;
        while ((q = strchr(q, ';')) && q < end) {
            q++;
            q += strspn(q, " \t");
            if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
                zero = strtod(q + 2, NULL) <= 0.0;
        }
        if (is_gzip) {
            gzip = true;
            gzip_zero = zero;
        } else if (is_star && !zero) {
            star = true;
        }
        p = end;
    }
    return gzip ? !gzip_zero : star;
}

/* The embedded file served at path ("/" is the page), or NULL. */
static const dscat_ui_asset *ui_asset(const char *path)
{
    for (size_t i = 0; i < dscat_ui_asset_count; i++)
        if (strcmp(dscat_ui_assets[i].path, path) == 0)
            return &dscat_ui_assets[i];
    return NULL;
}

/*
 * Answers GET/HEAD for an embedded file: gzip-compressed when the client accepts it, with its
 * Content-Type, an ETag per encoding (304 when If-None-Match names it) and Cache-Control
 * no-cache, so a browser keeps a copy and revalidates it. The page adds its security headers.
 * No token is needed: the files hold no catalog data, and the page asks for the token itself.
 */
static enum MHD_Result send_asset(request *r, const dscat_ui_asset *a)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return send_text(r, 405, error_text(405, "use GET for the web UI"), "GET, HEAD");
    bool gz = dscat_http__accepts_gzip(
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%s%s\"", a->etag, gz ? "-gz" : "");
    const char *inm =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    unsigned status = inm && strstr(inm, etag) ? 304 : 200;
    size_t n = status == 304 ? 0 : gz ? a->gzip_len : a->len;
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, (void *)(gz ? a->gzip : a->data),
                                                                MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    if (status == 200) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
        if (gz)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (strncmp(a->content_type, "text/html", 9) == 0) {
        MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    }
    add_cors_headers(r, resp);
    r->status = status;
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static bool content_type_json(struct MHD_Connection *c)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Parses the body as a JSON object into r->input, or answers 400. */
static bool read_object(request *r, enum MHD_Result *answer)
{
    json_error_t je;
    int rc = dscat_json_parse(&r->input, r->body.ptr ? r->body.ptr : "", r->body.len,
                              JSON_REJECT_DUPLICATES, &je);
    if (rc == DSCAT_ENOMEM) { /* never a request with a key jansson could not keep */
        *answer = send_error(r, 500, "out of memory");
        return false;
    }
    if (rc) {
        *answer = send_text(r, 400, error_text(400, "malformed JSON: %s", je.text), NULL);
        return false;
    }
    if (!json_is_object(r->input)) {
        *answer = send_error(r, 400, "the body must be a JSON object");
        return false;
    }
    return true;
}

bool dscat_http__split_path(char **seg, size_t max, size_t *nseg, const char *path)
{
    const char *p = path;
    if (*p != '/')
        return false;
    p++;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (*nseg == max)
            return false;
        char *s = dscat_malloc(n + 1);
        if (s == NULL)
            return false;
        memcpy(s, p, n);
        s[n] = '\0';
        seg[(*nseg)++] = s;
        if (!dscat_http__percent_decode(s, false) || s[0] == '\0')
            return false;
        if (!slash)
            break;
        p = slash + 1;
        if (*p == '\0')
            return false; /* a trailing slash */
    }
    return true;
}

typedef enum route_id {
    R_NONE,
    R_HEALTH,
    R_READY,
    R_OPENAPI,
    R_STATUS,
    R_CONNECTIONS,
    R_CONNECTION,
    R_CONNECTION_CACHE,
    R_TABLE_CACHE,
    R_INFORMATION_SCHEMA,
    R_SEARCH,
    R_TABLE,
    R_QUERY,
    R_REFRESH,
    R_METRICS,
    R_SCHEDULE,
    R_TABLE_ANNOTATIONS,
    R_DIFF
} route_id;

/*
 * Every route the server answers, its method, its path as docs/openapi.json writes it ("{name}"
 * is one segment of any value) and the query parameters it takes. HEAD is answered wherever GET
 * is. tests/unit/test_openapi.c checks this table against docs/openapi.json both ways.
 */
static const char *const no_params[] = {NULL};
static const char *const information_schema_params[] = {"connection_id", NULL};
static const char *const search_params[] = {"q", "top", "by_table", NULL};
static const char *const diff_params[] = {"target", "from", "to", NULL};

static const struct route {
    route_id id;
    const char *method, *path;
    const char *const *params;
} routes[] = {
    {R_HEALTH, "GET", "/health", no_params},
    {R_READY, "GET", "/ready", no_params},
    {R_OPENAPI, "GET", "/openapi.json", no_params},
    {R_STATUS, "GET", "/status", no_params},
    {R_CONNECTIONS, "GET", "/connections", no_params},
    {R_CONNECTION, "GET", "/connections/{connection_id}", no_params},
    {R_INFORMATION_SCHEMA, "GET", "/information_schema", information_schema_params},
    {R_SEARCH, "GET", "/search", search_params},
    {R_TABLE, "GET", "/tables/{connection_id}/{schema_name}/{table_name}", no_params},
    {R_CONNECTION_CACHE, "DELETE", "/connections/{connection_id}/cache", no_params},
    {R_TABLE_CACHE, "DELETE",
     "/connections/{connection_id}/tables/{schema_name}/{table_name}/cache", no_params},
    {R_QUERY, "POST", "/query", no_params},
    {R_REFRESH, "POST", "/refresh", no_params},
    {R_METRICS, "GET", "/metrics", no_params},
    {R_SCHEDULE, "GET", "/schedule", no_params},
    {R_TABLE_ANNOTATIONS, "POST", "/tables/{connection_id}/{schema_name}/{table_name}/annotations",
     no_params},
    {R_DIFF, "GET", "/diff", diff_params},
};

bool dscat_http__route(size_t i, const char **method, const char **path, const char *const **params)
{
    if (i >= sizeof(routes) / sizeof(routes[0]))
        return false;
    *method = routes[i].method;
    *path = routes[i].path;
    *params = routes[i].params;
    return true;
}

/* True when the decoded segments match a route's path ("{name}" matches any one segment). */
static bool path_matches(const char *pattern, char **seg, size_t nseg)
{
    size_t k = 0;
    for (const char *p = pattern; *p == '/'; k++) {
        p++;
        size_t n = strcspn(p, "/");
        if (k == nseg || (p[0] != '{' && (strlen(seg[k]) != n || memcmp(seg[k], p, n) != 0)))
            return false;
        p += n;
    }
    return k == nseg;
}

/* The route of the request's path (any method), or NULL. */
static const struct route *match(request *r)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (path_matches(routes[i].path, r->seg, r->nseg))
            return &routes[i];
    return NULL;
}

/* Collects what is wrong with the query string: unknown names, repeated names. */
typedef struct param_check {
    const char *const *allowed;
    int seen[8];
    dscat_buf unknown;
    size_t nunknown;
    char repeated[128];
    bool bad;
} param_check;

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    (void)value;
    param_check *pc = cls;
    char *name = dscat_strdup(key ? key : "");
    if (name == NULL || !dscat_http__percent_decode(name, true)) {
        pc->bad = true;
        dscat_free(name);
        return MHD_YES;
    }
    size_t i = 0;
    while (pc->allowed[i] && strcmp(pc->allowed[i], name) != 0)
        i++;
    if (pc->allowed[i] == NULL) {
        pc->nunknown++;
        if (pc->unknown.len < 400)
            dscat_buf_printf(&pc->unknown, "%s'%.*s'", pc->unknown.len ? ", " : "",
                             (int)dscat_text_prefix_len(name, strlen(name), 100), name);
    } else if (i < 8 && ++pc->seen[i] == 2 && pc->repeated[0] == '\0') {
        snprintf(pc->repeated, sizeof(pc->repeated), "%s", name);
    }
    dscat_free(name);
    return MHD_YES;
}

/*
 * Refuses a query string the route does not take: a name it does not know (all of them named)
 * or a name given twice (which one would count is anybody's guess). True when it answered.
 */
static bool refuse_params(request *r, const struct route *rt, enum MHD_Result *answer)
{
    param_check pc = {.allowed = rt->params, .unknown = DSCAT_BUF_INIT};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
    bool refused = true;
    if (pc.bad)
        *answer = send_error(r, 400, "bad percent-encoding in the query string");
    else if (pc.nunknown && dscat_buf_error(&pc.unknown))
        *answer = send_error(r, 500, "out of memory");
    else if (pc.unknown.len)
        *answer = send_text(r, 400,
                            error_text(400, "unknown query parameter%s %s",
                                       pc.nunknown > 1 ? "s" : "", dscat_buf_cstr(&pc.unknown)),
                            NULL);
    else if (pc.repeated[0])
        *answer = send_text(
            r, 400, error_text(400, "query parameter '%s' is given more than once", pc.repeated),
            NULL);
    else
        refused = false;
    dscat_buf_free(&pc.unknown);
    return refused;
}

bool dscat_http__host_ok(const char *host, const char *address, unsigned port,
                         const dscat_string_list *allowed)
{
    if (host == NULL || *host == '\0' || strlen(host) > 300)
        return false;
    char name[320];
    const char *port_text = NULL;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return false;
        snprintf(name, sizeof(name), "%.*s", (int)(close - host + 1), host);
        port_text = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strchr(host, ':');
        snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - host) : (int)strlen(host), host);
        port_text = colon ? colon + 1 : NULL;
    }
    if (name[0] == '\0' ||
        (port_text && (*port_text == '\0' || strspn(port_text, "0123456789") != strlen(port_text))))
        return false;
    unsigned long p = port_text ? strtoul(port_text, NULL, 10) : 80;
    for (size_t i = 0; i < allowed->count; i++) {
        const char *a = allowed->items[i];
        bool with_port = a[0] == '[' ? strstr(a, "]:") != NULL : strchr(a, ':') != NULL;
        if (strcasecmp(a, with_port ? host : name) == 0)
            return true;
    }
    bool ours = strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
                strcmp(name, "[::1]") == 0 || (address[0] && strcasecmp(name, address) == 0);
    return ours && p == port;
}

/* A CORS preflight: answered before authentication, with the grants only for a listed origin. */
static enum MHD_Result send_preflight(request *r)
{
    if (allowed_origin(r) == NULL)
        return send_error(r, 403,
                          "cross-origin requests from this origin are not allowed "
                          "(cors_origins in [settings])");
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    add_cors_headers(r, resp);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    r->status = 204;
    enum MHD_Result ok = MHD_queue_response(r->conn, 204, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result dispatch(request *r)
{
    bool head = strcmp(r->method, "HEAD") == 0; /* answered wherever GET is, without a body */
    if (strcmp(r->method, "OPTIONS") == 0) {
        if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin") &&
            MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Access-Control-Request-Method"))
            return send_preflight(r);
        return send_text(r, 405, error_text(405, "OPTIONS is answered only to CORS preflights"),
                         "GET, HEAD, POST, DELETE");
    }
    const dscat_ui_asset *ui = ui_asset(r->path); /* the web UI: no token needed */
    if (ui) {
        r->route = strcmp(ui->path, "/") == 0 ? "/" : "/ui/{file}";
        return send_asset(r, ui);
    }
    enum MHD_Result answer;
    const struct route *rt = r->matched; /* the token was checked on the first call */
    r->route = rt ? rt->path : NULL;
    if (rt && rt->id == R_HEALTH) { /* no token needed */
        if (strcmp(r->method, "GET") != 0 && !head)
            return send_text(r, 405, error_text(405, "use GET for /health"), "GET, HEAD");
        return refuse_params(r, rt, &answer) ? answer : route_health(r);
    }
    if (rt == NULL)
        return send_error(r, 404, "no such route");
    const char *method = rt->method;
    if (strcmp(r->method, method) != 0 && !(head && strcmp(method, "GET") == 0))
        return send_text(r, 405, error_text(405, "use %s for this route", method),
                         strcmp(method, "GET") == 0 ? "GET, HEAD" : method);
    if (refuse_params(r, rt, &answer))
        return answer;
    if (strcmp(method, "POST") == 0) {
        if (r->too_large)
            return send_error(r, 413, "the body is larger than 1 MiB");
        if (!content_type_json(r->conn))
            return send_error(r, 415, "the body must be application/json");
        if (!read_object(r, &answer))
            return answer;
    }
    switch (rt->id) {
    case R_OPENAPI:
        return send_text(
            r, 200, dscat_strndup((const char *)dscat_openapi_json, dscat_openapi_json_len), NULL);
    case R_STATUS:
        return route_status(r);
    case R_CONNECTIONS:
        return route_connections(r, NULL);
    case R_CONNECTION:
        return route_connections(r, r->seg[1]);
    case R_INFORMATION_SCHEMA:
        return route_information_schema(r);
    case R_SEARCH:
        return route_search(r);
    case R_TABLE:
        return route_table(r, r->seg[1], r->seg[2], r->seg[3]);
    case R_CONNECTION_CACHE:
    case R_TABLE_CACHE:
        return start_job(r, job_purge);
    case R_QUERY:
        return start_job(r, job_query);
    case R_REFRESH:
        if ((r->join_key = refresh_join_key(r->input)) == NULL &&
            dscat_alloc_failures() != r->failures)
            return send_error(r, 500, "out of memory");
        return start_job(r, job_refresh);
    case R_METRICS:
        return route_metrics(r);
    case R_SCHEDULE:
        return route_schedule(r);
    case R_TABLE_ANNOTATIONS:
        return route_annotate(r, r->seg[1], r->seg[2], r->seg[3]);
    case R_DIFF:
        return route_diff(r);
    case R_READY:
        return route_ready(r);
    case R_HEALTH:
    case R_NONE:
        break;
    }
    return send_error(r, 404, "no such route");
}

/*
 * Headers a request may carry once. Given twice (two Host, two Content-Length...), a proxy in
 * front of the server and the server itself could each read a different request: which Host was
 * checked, where the body ends, whose token was seen.
 */
static const char *const single_headers[] = {
    MHD_HTTP_HEADER_HOST, MHD_HTTP_HEADER_CONTENT_LENGTH, MHD_HTTP_HEADER_AUTHORIZATION,
    MHD_HTTP_HEADER_CONTENT_TYPE, MHD_HTTP_HEADER_TRANSFER_ENCODING};
#define NSINGLE (sizeof(single_headers) / sizeof(single_headers[0]))

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    unsigned *n = cls;
    for (size_t i = 0; key && i < NSINGLE; i++)
        if (strcasecmp(key, single_headers[i]) == 0)
            n[i]++;
    return MHD_YES;
}

/*
 * Refuses a request whose headers could be read two ways: one of single_headers more than once,
 * or both Content-Length and Transfer-Encoding (RFC 9112 §6.3). True when it answered.
 */
static bool refuse_headers(request *r, enum MHD_Result *answer)
{
    unsigned n[NSINGLE] = {0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, n);
    for (size_t i = 0; i < NSINGLE; i++)
        if (n[i] > 1) {
            *answer = send_text(
                r, 400, error_text(400, "the %s header is given more than once", single_headers[i]),
                NULL);
            return true;
        }
    if (n[1] && n[4]) {
        *answer = send_error(r, 400, "both Content-Length and Transfer-Encoding are given");
        return true;
    }
    return false;
}

/* True for what answers without the token: CORS preflights, the web UI and /health (SPEC §11:
 * every route but GET /health takes the token; /ready too, as a load balancer's probe can send
 * it). */
static bool open_route(request *r)
{
    return strcmp(r->method, "OPTIONS") == 0 || ui_asset(r->path) != NULL ||
           (r->matched && r->matched->id == R_HEALTH);
}

/*
 * The first call, when the headers are there and before any body is read: the checks that need
 * no body, in the order docs/api.md gives (ambiguous headers, Host, token, body size), so that a
 * client without the token learns nothing, not even how large a body may be.
 */
static enum MHD_Result on_headers(request *r)
{
    server *s = r->srv;
    enum MHD_Result answer;
    if (refuse_headers(r, &answer))
        return answer;
    if (!dscat_http__host_ok(
            MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST), s->address,
            s->port, &s->cfg->settings.allowed_hosts))
        return send_error(r, 421,
                          "the Host header does not name this server (loopback with its port, "
                          "or a name in allowed_hosts)");
    bool split = dscat_http__split_path(r->seg, MAX_SEGMENTS, &r->nseg, r->path);
    r->matched = split ? match(r) : NULL;
    r->route = r->matched ? r->matched->path : NULL;
    if (s->token && !open_route(r) && !token_ok(s, r->conn))
        return send_error(r, 401, "missing or wrong bearer token");
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > MAX_BODY) /* refuse before reading it */
        return send_error(r, 413, "the body is larger than 1 MiB");
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    request *r = *con_cls;
    if (r == NULL) {
        r = dscat_calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        r->srv = s;
        r->conn = c;
        dscat_buf_init(&r->body, MAX_BODY);
        r->failures = dscat_alloc_failures();
        r->started_ms = dscat_monotonic_ms();
        snprintf(r->method, sizeof(r->method), "%s", method);
        r->path = dscat_strdup(url);
        *con_cls = r;
        if (r->path == NULL)
            return MHD_NO;
        return on_headers(r);
    }
    if (*upload_data_size) {
        if (!r->too_large && r->body.len + *upload_data_size <= MAX_BODY) {
            if (dscat_buf_put(&r->body, upload_data, *upload_data_size))
                r->too_large = true;
        } else {
            r->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    r->failures = dscat_alloc_failures(); /* see send_text */
    if (r->job_started) {                 /* resumed: the job is done */
        r->job_started = false;
        char *text = r->job_response;
        r->job_response = NULL;
        return send_text(r, r->job_status, text, NULL);
    }
    return dispatch(r);
}

/* Writes one line of the server's log (stderr): line as compact ASCII JSON; takes line. */
static void log_line(json_t *line)
{
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (text)
        fprintf(stderr, "%s\n", text);
    dscat_free(text);
    json_decref(line);
}

/*
 * Writes one line of the server's log that is not a request's: {"time", "level", "message"}, the
 * message formatted as printf does. Everything `dscat serve` writes while it serves is one JSON
 * object per line, so that a log shipper never meets a line it cannot parse.
 */
static void log_message(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void log_message(const char *level, const char *fmt, ...)
{
    char when[40], msg[1024];
    dscat_format_utc_iso(dscat_now_us(), when, sizeof(when));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *m = json_string(msg);
    if (m == NULL) { /* not UTF-8: keep printable ASCII, as error_text does */
        for (char *p = msg; *p; p++)
            *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
        m = json_string(msg);
    }
    log_line(json_pack("{s:s, s:s, s:o*}", "time", when, "level", level, "message", m));
}

/* The access log: one JSON line per request, never a header, a token or a body. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    server *s = cls;
    request *r = *con_cls;
    if (r == NULL)
        return;
    char when[40], path[512], method[16];
    dscat_format_utc_iso(dscat_now_us(), when, sizeof(when));
    /* What the client sent may be any bytes: the log keeps printable ASCII, '?' for the rest. */
    snprintf(path, sizeof(path), "%s", r->path ? r->path : "");
    snprintf(method, sizeof(method), "%s", r->method);
    for (char *p = path; *p; p++)
        *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
    for (char *p = method; *p; p++)
        *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
    dscat_metrics__request(s->metrics, r->route ? r->route : "unmatched", r->status);
    json_t *line =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:b}", "time", when, "level", "info",
                  "method", method, "path", path, "status", (int)r->status, "duration_ms",
                  (json_int_t)(dscat_monotonic_ms() - r->started_ms), "request_bytes",
                  (json_int_t)r->body.len, "completed", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    log_line(line);
    dscat_free(r->job_response);
    dscat_free(r->join_key);
    json_decref(r->input);
    for (size_t i = 0; i < r->nseg; i++)
        dscat_free(r->seg[i]);
    dscat_buf_free(&r->body);
    bool counted = r->long_running;
    dscat_free(r->path);
    dscat_free(r);
    *con_cls = NULL;
    if (counted) {
        pthread_mutex_lock(&s->mu);
        s->running--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

/* ---- the deletion worker ----------------------------------------------------------------------
 */

static void log_warnings(const dscat_warnings *w)
{
    for (size_t i = 0; i < w->count; i++)
        log_message("warning", "%s", w->items[i].message);
}

static void maintain_once(server *s)
{
    dscat_warnings w = {0};
    dscat_error err = {0};
    if (dscat_catalog_maintain(s->cat, &w, &err) && err.code != DSCAT_ENOTFOUND) {
        dscat_warning one = {NULL, NULL, err.message};
        dscat_warnings e = {&one, 1};
        log_warnings(&e);
    }
    log_warnings(&w);
    dscat_catalog_warnings_free(&w);
    /* A store shared between machines is refreshed by whichever instance: this one's catalog
     * directory catches up with its exports (metadata.parquet, last_scan.json, the summary). */
    bool repaired = false;
    dscat_error_clear(&err);
    if (s->cfg->settings.store_url_env &&
        dscat_catalog_repair_exports(s->cfg->catalog_dir, &repaired, &err)) {
        dscat_warning one = {NULL, NULL, err.message};
        dscat_warnings e = {&one, 1};
        log_warnings(&e);
    }
}

static void *deletion_worker(void *arg)
{
    server *s = arg;
    int interval = s->cfg->settings.deletion_interval_seconds;
    if (interval < 1)
        interval = 1;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->mu);
        maintain_once(s);
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval;
        while (!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * The schedules (targets.toml's refresh_every): the due ones run one at a time, each as a
 * running request (shutdown waits for it as for one, then releases its claim in the store so
 * that another process runs it at once), their runs recorded in the store, where
 * `dscat schedule` and GET /schedule read them. The list is read again after every run and at
 * least once a second, so a run recorded by another process moves this one's next run too.
 */
static void log_schedule_run(const dscat_schedule *sc, bool ok, const char *error, int64_t ms)
{
    char when[40];
    dscat_format_utc_iso(dscat_now_us(), when, sizeof(when));
    json_t *line =
        json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:I}", "time", when, "level",
                  ok ? "info" : "error", "schedule", sc->kind, "connection_id", sc->target,
                  "schema_name", sc->schema, "table_name", sc->table, "result",
                  ok ? "ok" : "failed", "error", ok ? NULL : error, "duration_ms", (json_int_t)ms);
    log_line(line);
}

/* Runs the first due schedule; true when one ran (or the server stops), false when none is due:
 * *wake_us is then the next one's time. */
static bool run_due(server *s, int64_t *wake_us)
{
    dscat_schedule_list l = {0};
    dscat_error err = {0};
    int64_t now = dscat_now_us();
    *wake_us = now + 1000000;
    if (dscat_catalog_schedules(&l, s->cat, s->started_us, &err)) {
        log_message("error", "schedules: %s", err.message);
        *wake_us = now + 5000000;
        return false;
    }
    if (l.count == 0) /* the configuration read at start has none: wait for the stop */
        *wake_us = now + 3600 * 1000000LL;
    if (s->nretry != l.count) {
        dscat_free(s->retry_at);
        dscat_free(s->refused);
        s->retry_at = dscat_calloc(l.count + 1, sizeof(*s->retry_at));
        s->refused = dscat_calloc(l.count + 1, sizeof(*s->refused));
        s->nretry = s->retry_at && s->refused ? l.count : 0;
        if (s->nretry != l.count) { /* out of memory: try again in a while */
            *wake_us = now + 5000000;
            dscat_catalog_schedule_list_free(&l);
            return false;
        }
    }
    bool ran = false;
    for (size_t i = 0; i < l.count && !ran; i++) {
        const dscat_schedule *sc = &l.items[i];
        int64_t due = sc->next_run_us > s->retry_at[i] ? sc->next_run_us : s->retry_at[i];
        if (due > now) {
            if (due < *wake_us)
                *wake_us = due;
            continue;
        }
        pthread_mutex_lock(&s->mu);
        bool stopping = s->stopping;
        if (!stopping) {
            s->running++;
            s->scheduled++;
        }
        pthread_mutex_unlock(&s->mu);
        ran = true;
        if (stopping)
            break;
        dscat_schedule_outcome o;
        double t0 = seconds_now();
        int rc = dscat_catalog_schedule_run(&o, s->cat, sc, &err);
        double took = seconds_now() - t0;
        /* a data refresh is counted by what ran: full ("data") or "append" */
        const char *kind = o.refresh_kind && strcmp(o.refresh_kind, "append") == 0 ? "append"
                           : o.refresh_kind                                        ? "data"
                                                                                   : sc->kind;
        if (!o.skipped && !o.joined)
            dscat_metrics__refresh(s->metrics, kind, o.ok, took, o.rows, o.bytes);
        if (!o.skipped)
            log_schedule_run(sc, o.ok, o.error.message, (int64_t)(took * 1000));
        if (rc) {
            /* The store would not take the claim or the record: the run would look due again
             * at once, so this process waits as after a failure (5 s, doubling, at most the
             * period) before it tries again. */
            int64_t wait = 5000000, period = (int64_t)sc->every * 1000000;
            for (int k = 0; k < s->refused[i] && wait < period; k++)
                wait *= 2;
            s->refused[i]++;
            s->retry_at[i] = dscat_now_us() + (wait < period ? wait : period);
            log_message("error", "schedule %s %s: the catalog did not take its run: %s", sc->kind,
                        sc->target, err.message);
        } else {
            s->refused[i] = 0;
            s->retry_at[i] = 0;
        }
        pthread_mutex_lock(&s->mu);
        s->running--;
        s->scheduled--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    dscat_catalog_schedule_list_free(&l);
    return ran;
}

static void *scheduler(void *arg)
{
    server *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->mu);
        int64_t wake = 0;
        bool ran = run_due(s, &wake);
        pthread_mutex_lock(&s->mu);
        if (ran)
            continue;
        int64_t wait = wake - dscat_now_us();
        if (wait < 1000)
            wait = 1000;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(wait / 1000000);
        until.tv_nsec += (long)(wait % 1000000) * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * Why the listening socket could not be made, in lower case as error messages are: errno e from
 * the failed start (0 when libmicrohttpd left none).
 */
static const char *listen_failure(int e, char *buf, size_t size)
{
    if (e == 0)
        return "the HTTP server did not start";
    snprintf(buf, size, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* ---- start and stop -------------------------------------------------------------------------- */

/* Says what a stop leaves running after its wait: "1 request and 1 scheduled run still running
 * after 30 s; stopping anyway". */
static void log_left(int requests, int runs)
{
    char what[96] = "";
    if (requests > 0)
        snprintf(what, sizeof(what), "%d request%s", requests, requests == 1 ? "" : "s");
    if (runs > 0) {
        size_t n = strlen(what);
        snprintf(what + n, sizeof(what) - n, "%s%d scheduled run%s", n ? " and " : "", runs,
                 runs == 1 ? "" : "s");
    }
    log_message("warning", "%s still running after %lld s; stopping anyway", what,
                (long long)dscat_test__shutdown_wait_s(SHUTDOWN_WAIT_S));
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

static int parse_listen(const char *listen, struct sockaddr_storage *out, socklen_t *len,
                        dscat_error *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0')
        return dscat_error_set(err, DSCAT_EINVALID, "--listen '%s': give ADDRESS:PORT", listen);
    const char *h = listen;
    size_t hn = (size_t)(colon - listen);
    if (*h == '[' && hn >= 2 && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    snprintf(host, sizeof(host), "%.*s", (int)hn, h);
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return dscat_error_set(err, DSCAT_EINVALID, "--listen '%s': bad port", listen);
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, colon + 1, &hints, &ai);
    if (g != 0 || ai == NULL)
        return dscat_error_set(err, DSCAT_EINVALID, "--listen '%s': %s", listen,
                               g ? gai_strerror(g) : "no address");
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* The bound address as text, and the port and address a Host header may name into s. */
static void describe(int fd, char *out, size_t size, server *s)
{
    struct sockaddr_storage ss;
    socklen_t n = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &n) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, size, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
    s->port = (unsigned)port;
    bool any = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "?") == 0;
    if (!any)
        snprintf(s->address, sizeof(s->address), ss.ss_family == AF_INET6 ? "[%s]" : "%s", host);
}

/*
 * Frees a server whose daemon, scheduler and deletion worker have stopped and whose jobs have all
 * ended: its job workers are told to stop, and joined, first.
 */
static void server_free(server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    dscat_free(s->workers);
    dscat_metrics__free(s->metrics);
    dscat_free(s->retry_at);
    dscat_free(s->refused);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    dscat_free(s);
}

/* Starts settings.max_jobs job workers (at least one, or an error). */
static int start_workers(server *s, dscat_error *err)
{
    size_t want = (size_t)(s->cfg->settings.max_jobs > 0 ? s->cfg->settings.max_jobs : 1);
    if ((s->workers = dscat_calloc(want, sizeof(*s->workers))) == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    while (s->nworkers < want && pthread_create(&s->workers[s->nworkers], NULL, job_worker, s) == 0)
        s->nworkers++;
    if (s->nworkers == 0)
        return dscat_error_set(err, DSCAT_ENOMEM, "cannot start a thread for the jobs");
    return 0;
}

int dscat_http_serve(dscat_catalog *cat, const dscat_http_options *opts, dscat_error *err)
{
    const dscat_config *cfg = dscat_catalog_config(cat);
    /* HTTP clients build the catalog with POST /refresh, not with the CLI */
    dscat_catalog_set_advice(cat, "run a schema refresh first");
    struct sockaddr_storage addr;
    socklen_t addrlen = 0;
    const char *listen = opts && opts->listen ? opts->listen : "127.0.0.1:8080";
    int rc = parse_listen(listen, &addr, &addrlen, err);
    if (rc)
        return rc;
    const char *token = getenv("DSCAT_API_TOKEN");
    if (token && *token == '\0')
        token = NULL;
    if (!is_loopback((struct sockaddr *)&addr) && token == NULL)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "refusing to listen on %s without DSCAT_API_TOKEN (only loopback "
                               "addresses may go without a token)",
                               listen);
    /* SIGINT and SIGTERM are taken by sigwait below, never by a server thread. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);

    /* On the heap: when requests outlive the shutdown wait, the daemon's threads and the
     * scheduler go on using it until the process exits, after this function has returned. */
    server *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL || (s->metrics = dscat_metrics__new()) == NULL) {
        dscat_free(s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    s->cat = cat;
    s->cfg = cfg;
    s->token = token;
    s->started_us = dscat_now_us(); /* before any request can ask GET /schedule */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if ((rc = start_workers(s, err))) {
        server_free(s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned pool = cores < 1 ? 1 : cores > 64 ? 64 : (unsigned)cores;
    /*
     * No MHD_OPTION_LISTENING_ADDRESS_REUSE: with it set to 1 the socket gets SO_REUSEPORT, and a
     * second dscat serve binds the port another one listens on, the kernel splitting the
     * connections between two servers (and two tokens); set to 0 it gets neither option, and a
     * restart fails while the last run's connections are in TIME_WAIT. Without it
     * libmicrohttpd sets SO_REUSEADDR alone (on POSIX systems): a restart binds at once, a port
     * in use is refused with EADDRINUSE.
     */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL, MHD_OPTION_END);
    if (s->daemon == NULL) {
        int e = errno;
        server_free(s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        char cause[128];
        return dscat_error_set(err, DSCAT_EIO, "cannot listen on %s: %s", listen,
                               listen_failure(e, cause, sizeof(cause)));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    char bound[128] = "?";
    if (info)
        describe(info->listen_fd, bound, sizeof(bound), s);
    maintain_once(s); /* orphans and due deletions at start */
    if (pthread_create(&s->scheduler, NULL, scheduler, s) != 0) {
        MHD_stop_daemon(s->daemon);
        server_free(s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return dscat_error_set(err, DSCAT_ENOMEM, "cannot start the scheduler");
    }
    if (pthread_create(&s->worker, NULL, deletion_worker, s) != 0) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->scheduler, NULL);
        MHD_stop_daemon(s->daemon);
        server_free(s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return dscat_error_set(err, DSCAT_ENOMEM, "cannot start the deletion worker");
    }
    if (opts && opts->ready)
        opts->ready(bound, opts->payload);
    int sig = 0;
    sigwait(&sigs, &sig);

    /* Stop accepting, let running requests finish (bounded), stop the worker, close. */
    MHD_quiesce_daemon(s->daemon);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)dscat_test__shutdown_wait_s(SHUTDOWN_WAIT_S);
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    while (s->running > 0 && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
    }
    int left = s->running, runs = s->scheduled;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->worker, NULL);
    if (left == 0) {
        pthread_join(s->scheduler, NULL); /* between runs: it has seen `stopping` */
        MHD_stop_daemon(s->daemon);
        server_free(s);
    } else {
        /* Requests still running after the wait: leave them to the process's exit. */
        log_left(left - runs, runs);
        /* A scheduled run left so is another process's to run at once: its claim goes. */
        dscat_error rerr = {0};
        if (runs > 0 && dscat_catalog_schedule_release(s->cat, &rerr))
            log_message("error", "cannot release the claim of the scheduled run: %s", rerr.message);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return left == 0 ? 0 : DSCAT_HTTP_REQUESTS_LEFT;
}
