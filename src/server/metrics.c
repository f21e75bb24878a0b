/* The Prometheus exposition of `dscat serve` (metrics.h). */
#include "server/metrics.h"

#include "core/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Histogram bucket bounds in seconds: a search (milliseconds) to a refresh (minutes). */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                0.5,   1,      2.5,   5,    10,    30,   60,  300};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

typedef enum { COUNTER, HISTOGRAM } metric_kind;

/* The families, in the order they are exposed. */
static const struct family {
    const char *name, *help;
    metric_kind kind;
} families[] = {
    {"dscat_http_requests_total", "HTTP requests answered, by route and status.", COUNTER},
    {"dscat_refreshes_total",
     "Refreshes by kind (schema; data: a full data refresh; append: an append data "
     "refresh) and result (ok, failed).",
     COUNTER},
    {"dscat_refresh_duration_seconds", "Duration of refreshes, by kind.", HISTOGRAM},
    {"dscat_cache_rows_written_total", "Rows written by data refreshes.", COUNTER},
    {"dscat_cache_bytes_written_total", "Bytes of Parquet written by data refreshes.", COUNTER},
    {"dscat_search_duration_seconds", "Duration of catalog searches.", HISTOGRAM},
    {"dscat_query_duration_seconds", "Duration of SQL queries over the cache.", HISTOGRAM},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

enum {
    F_REQUESTS,
    F_REFRESHES,
    F_REFRESH_SECONDS,
    F_ROWS,
    F_BYTES,
    F_SEARCH_SECONDS,
    F_QUERY_SECONDS
};

typedef struct series {
    int family;
    char *labels; /* rendered: `route="/search",status="200"`, or "" */
    uint64_t count;
    double sum;
    uint64_t buckets[NBOUNDS]; /* histograms: observations <= bounds[i] */
} series;

struct dscat_metrics {
    pthread_mutex_t mu;
    series *items;
    size_t n, cap;
    bool failed; /* a series could not be added: the exposition is refused, never short */
};

/* Appends value as a label value: backslash, double quote and newline escaped. */
static void put_label_value(dscat_buf *b, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            dscat_buf_putc(b, '\\');
        if (*p == '\n')
            dscat_buf_puts(b, "\\n");
        else
            dscat_buf_putc(b, *p);
    }
}

/* Renders labels from name/value pairs (NULL-terminated). NULL when out of memory. */
static char *make_labels(const char *const *pairs)
{
    if (pairs[0] == NULL)
        return dscat_strdup("");
    dscat_buf b = DSCAT_BUF_INIT;
    for (size_t i = 0; pairs[i]; i += 2) {
        dscat_buf_printf(&b, "%s%s=\"", i ? "," : "", pairs[i]);
        put_label_value(&b, pairs[i + 1]);
        dscat_buf_putc(&b, '"');
    }
    return dscat_buf_detach(&b);
}

/* The series of a family with these labels, added when new. Call with mu held. */
static series *find(dscat_metrics *m, int family, const char *const *pairs)
{
    char *labels = make_labels(pairs);
    if (labels == NULL) {
        m->failed = true;
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].family == family && strcmp(m->items[i].labels, labels) == 0) {
            dscat_free(labels);
            return &m->items[i];
        }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        series *g = dscat_realloc(m->items, cap * sizeof(*g));
        if (g == NULL) {
            dscat_free(labels);
            m->failed = true;
            return NULL;
        }
        m->items = g;
        m->cap = cap;
    }
    series *s = &m->items[m->n++];
    memset(s, 0, sizeof(*s));
    s->family = family;
    s->labels = labels;
    return s;
}

static void observe(series *s, double seconds)
{
    if (s == NULL)
        return;
    s->count++;
    s->sum += seconds;
    for (size_t i = 0; i < NBOUNDS; i++)
        s->buckets[i] += seconds <= bounds[i];
}

dscat_metrics *dscat_metrics__new(void)
{
    dscat_metrics *m = dscat_calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    /* Every refresh kind and result, and each histogram, from zero: a scrape shows them all. */
    static const char *const kinds[] = {"schema", "data", "append"};
    static const char *const results[] = {"ok", "failed"};
    for (size_t k = 0; k < 3; k++) {
        for (size_t r = 0; r < 2; r++)
            find(m, F_REFRESHES,
                 (const char *const[]){"kind", kinds[k], "result", results[r], NULL});
        find(m, F_REFRESH_SECONDS, (const char *const[]){"kind", kinds[k], NULL});
    }
    find(m, F_ROWS, (const char *const[]){NULL});
    find(m, F_BYTES, (const char *const[]){NULL});
    find(m, F_SEARCH_SECONDS, (const char *const[]){NULL});
    find(m, F_QUERY_SECONDS, (const char *const[]){NULL});
    if (m->failed) {
        dscat_metrics__free(m);
        return NULL;
    }
    return m;
}

void dscat_metrics__free(dscat_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        dscat_free(m->items[i].labels);
    dscat_free(m->items);
    pthread_mutex_destroy(&m->mu);
    dscat_free(m);
}

void dscat_metrics__request(dscat_metrics *m, const char *route, unsigned status)
{
    char code[16];
    snprintf(code, sizeof(code), "%u", status);
    pthread_mutex_lock(&m->mu);
    series *s = find(m, F_REQUESTS, (const char *const[]){"route", route, "status", code, NULL});
    if (s)
        s->count++;
    pthread_mutex_unlock(&m->mu);
}

void dscat_metrics__refresh(dscat_metrics *m, const char *kind, bool ok, double seconds,
                            int64_t rows, int64_t bytes)
{
    pthread_mutex_lock(&m->mu);
    series *s = find(m, F_REFRESHES,
                     (const char *const[]){"kind", kind, "result", ok ? "ok" : "failed", NULL});
    if (s)
        s->count++;
    observe(find(m, F_REFRESH_SECONDS, (const char *const[]){"kind", kind, NULL}), seconds);
    if (rows > 0 && (s = find(m, F_ROWS, (const char *const[]){NULL})))
        s->count += (uint64_t)rows;
    if (bytes > 0 && (s = find(m, F_BYTES, (const char *const[]){NULL})))
        s->count += (uint64_t)bytes;
    pthread_mutex_unlock(&m->mu);
}

void dscat_metrics__latency(dscat_metrics *m, const char *what, double seconds)
{
    pthread_mutex_lock(&m->mu);
    observe(find(m, strcmp(what, "query") == 0 ? F_QUERY_SECONDS : F_SEARCH_SECONDS,
                 (const char *const[]){NULL}),
            seconds);
    pthread_mutex_unlock(&m->mu);
}

static void put_head(dscat_buf *b, const char *name, const char *help, const char *type)
{
    dscat_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels[,extra]} */
static void put_name(dscat_buf *b, const char *name, const char *suffix, const char *labels,
                     const char *extra)
{
    dscat_buf_printf(b, "%s%s", name, suffix);
    if (*labels || extra)
        dscat_buf_printf(b, "{%s%s%s}", labels, *labels && extra ? "," : "", extra ? extra : "");
}

static void put_series(dscat_buf *b, const struct family *f, const series *s)
{
    if (f->kind == COUNTER) {
        put_name(b, f->name, "", s->labels, NULL);
        dscat_buf_printf(b, " %llu\n", (unsigned long long)s->count);
        return;
    }
    for (size_t i = 0; i < NBOUNDS; i++) {
        char le[32];
        snprintf(le, sizeof(le), "le=\"%g\"", bounds[i]);
        put_name(b, f->name, "_bucket", s->labels, le);
        dscat_buf_printf(b, " %llu\n", (unsigned long long)s->buckets[i]);
    }
    put_name(b, f->name, "_bucket", s->labels, "le=\"+Inf\"");
    dscat_buf_printf(b, " %llu\n", (unsigned long long)s->count);
    put_name(b, f->name, "_sum", s->labels, NULL);
    dscat_buf_printf(b, " %.9g\n", s->sum);
    put_name(b, f->name, "_count", s->labels, NULL);
    dscat_buf_printf(b, " %llu\n", (unsigned long long)s->count);
}

/* A gauge line: name{labels} value. False when out of memory. */
static bool put_gauge(dscat_buf *b, const char *name, const char *const *pairs, double value)
{
    char *labels = make_labels(pairs);
    if (labels == NULL)
        return false;
    put_name(b, name, "", labels, NULL);
    dscat_buf_printf(b, " %.17g\n", value);
    dscat_free(labels);
    return true;
}

/* The gauges read from the catalog. */
static int put_gauges(dscat_buf *b, dscat_catalog *cat, dscat_error *err)
{
    dscat_status *st = NULL;
    bool ok = true;
    int rc = dscat_catalog_status(&st, cat, true, err);
    if (rc)
        return rc;
    put_head(b, "dscat_target_last_success_timestamp_seconds",
             "Time of each configured target's last successful schema refresh (Unix seconds).",
             "gauge");
    for (size_t i = 0; i < st->ntargets; i++)
        if (st->per_target[i].last_success_us != DSCAT_STATUS_NEVER)
            ok &= put_gauge(b, "dscat_target_last_success_timestamp_seconds",
                            (const char *const[]){"target", st->per_target[i].target, NULL},
                            (double)st->per_target[i].last_success_us / 1e6);
    dscat_catalog_status_free(st);
    dscat_cache_listing l = {0};
    if ((rc = dscat_catalog_cache_list(&l, cat, NULL, err)))
        return rc;
    put_head(b, "dscat_cached_table_last_success_timestamp_seconds",
             "Time of each cached table's last successful data refresh (Unix seconds).", "gauge");
    for (size_t i = 0; i < l.count; i++)
        ok &= put_gauge(b, "dscat_cached_table_last_success_timestamp_seconds",
                        (const char *const[]){"connection_id", l.tables[i].connection_id, "schema",
                                              l.tables[i].schema, "table", l.tables[i].table, NULL},
                        (double)l.tables[i].last_sync_us / 1e6);
    put_head(b, "dscat_cached_table_rows", "Rows of each cached table's current version.", "gauge");
    for (size_t i = 0; i < l.count; i++)
        ok &= put_gauge(b, "dscat_cached_table_rows",
                        (const char *const[]){"connection_id", l.tables[i].connection_id, "schema",
                                              l.tables[i].schema, "table", l.tables[i].table, NULL},
                        (double)l.tables[i].rows);
    put_head(b, "dscat_pending_deletions", "Cache files waiting for their deletion time.", "gauge");
    dscat_buf_printf(b, "dscat_pending_deletions %zu\n", l.npending);
    dscat_catalog_cache_list_free(&l);
    return ok ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}

int dscat_metrics__render(dscat_buf *out, dscat_metrics *m, dscat_catalog *cat, dscat_error *err)
{
    pthread_mutex_lock(&m->mu);
    bool failed = m->failed;
    for (size_t f = 0; f < NFAMILIES && !failed; f++) {
        put_head(out, families[f].name, families[f].help,
                 families[f].kind == COUNTER ? "counter" : "histogram");
        for (size_t i = 0; i < m->n; i++)
            if (m->items[i].family == (int)f)
                put_series(out, &families[f], &m->items[i]);
    }
    pthread_mutex_unlock(&m->mu);
    if (failed)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory: a metric could not be kept");
    /* The store's gauges go to a buffer of their own: a store that does not answer leaves them
     * out, and the process's own figures are still exposed, with dscat_store_up 0. */
    dscat_buf gauges = DSCAT_BUF_INIT;
    dscat_error store_err = {0};
    int rc = put_gauges(&gauges, cat, &store_err);
    if (rc == DSCAT_ENOMEM) {
        dscat_buf_free(&gauges);
        return dscat_error_set(err, DSCAT_ENOMEM, "%s", store_err.message);
    }
    put_head(out, "dscat_store_up",
             "1 when the catalog store answered this scrape, 0 when it did not (the gauges read "
             "from it are then left out).",
             "gauge");
    dscat_buf_printf(out, "dscat_store_up %d\n", rc == 0);
    if (rc == 0 && gauges.len)
        dscat_buf_put(out, gauges.ptr, gauges.len);
    rc = dscat_buf_error(out) || dscat_buf_error(&gauges) ? DSCAT_ENOMEM : 0;
    dscat_buf_free(&gauges);
    if (rc)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return 0;
}
