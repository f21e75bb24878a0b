/*
 * The data cache (SPEC §9), on the local filesystem or on S3.
 *
 * A table version lives at <root>/<conn>/<schema>/<table>/<version>/data.parquet, every part
 * encoded by dscat_cache_encode(). A refresh streams rows from the source through a DuckDB table
 * function (text values, cast in SQL to each column's type) into DuckDB's Parquet writer, so
 * memory stays bounded whatever the table size. Then one store transaction points the table at
 * the new version and schedules the old one in pending_deletions. A crash at any moment leaves
 * the previous version current; what it wrote is an orphan, scheduled once it is an hour old.
 *
 * One writer per table: an exclusive flock on <table dir>/.lock. A refresh that had to wait for
 * the lock returns the result of the refresh it waited for instead of starting another.
 *
 * On an S3 root (s3://bucket/prefix) the paths are s3:// URLs of the same shape. The Parquet file
 * is written to a local staging file and uploaded into the version's prefix before the swap; the
 * lock lives in a local directory (s3_local_dir); deletions and orphans work on listings; queries
 * read local copies from a bounded read cache (dscat_cache__local_file).
 */
#include "dscat/cache.h"

#include "cache/s3.h"
#include "cache/types.h"
#include "catalog/store.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/duck.h"
#include "core/testhooks.h"
#include "core/text.h"
#include "core/timeutil.h"
#include "sources/source.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#define MAX_RETRIES 5
#define ORPHAN_AGE_S 3600

/* Orphans are versions older than an hour; the test build can shorten that (DSCAT_TEST_ORPHAN_AGE)
 * for tests on S3, whose object times cannot be set back. */
static int64_t orphan_age_us(void)
{
    return dscat_test__orphan_age_s(ORPHAN_AGE_S) * 1000000LL;
}

/* A path segment stays well under NAME_MAX (255 bytes) with room for ".tmp"-like suffixes. */
#define SEGMENT_MAX 200
#define SEGMENT_KEEP 160 /* bytes of the encoded name kept before the hash in a long one */

char *dscat_cache_encode(const char *name)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (*name == '\0')
        dscat_buf_puts(&b, "%00"); /* no name holds NUL: the empty name cannot collide */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
        if (keep)
            dscat_buf_putc(&b, (char)c);
        else
            dscat_buf_printf(&b, "%%%02X", c);
    }
    if (b.len > SEGMENT_MAX) {
        /* Long: a prefix (never cutting an escape), "~" (never in a short one: it would be
         * %7E) and the SHA-256 of the whole name, so that segments stay distinct. */
        unsigned char md[32];
        unsigned int mdlen = 0;
        size_t keep = SEGMENT_KEEP;
        while (keep > 0 && (b.ptr[keep - 1] == '%' || (keep > 1 && b.ptr[keep - 2] == '%')))
            keep--;
        if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL) != 1) {
            dscat_buf_free(&b);
            return NULL;
        }
        b.len = keep;
        b.ptr[keep] = '\0';
        dscat_buf_putc(&b, '~');
        for (unsigned int i = 0; i < mdlen; i++)
            dscat_buf_printf(&b, "%02x", md[i]);
    }
    return dscat_buf_detach(&b);
}

static bool on_s3(const dscat_config *cfg)
{
    return strncmp(cfg->settings.cache_root, "s3://", 5) == 0;
}

/* The cache root, checked: an S3 root needs a well-formed URL and credentials. */
static int cache_root(const dscat_config *cfg, dscat_error *err)
{
    if (!on_s3(cfg))
        return 0;
    dscat_s3 *s = NULL;
    int rc = dscat_s3_open(&s, cfg->settings.cache_root, &cfg->settings, err);
    if (rc == 0)
        rc = dscat_s3_check(s, err);
    dscat_s3_close(s);
    return rc;
}

/*
 * Where an S3 cache keeps its local files: table locks, Parquet files being written before their
 * upload, and the read cache of downloaded versions. DSCAT_S3_LOCAL_DIR, else
 * ${XDG_CACHE_HOME:-~/.cache}/dscat-s3. Caller frees.
 */
static char *s3_local_dir(const char *sub)
{
    dscat_buf b = DSCAT_BUF_INIT;
    const char *dir = getenv("DSCAT_S3_LOCAL_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    if (dir && *dir)
        dscat_buf_puts(&b, dir);
    else if (xdg && *xdg)
        dscat_buf_printf(&b, "%s/dscat-s3", xdg);
    else
        dscat_buf_printf(&b, "%s/.cache/dscat-s3", getenv("HOME") ? getenv("HOME") : "/tmp");
    dscat_buf_printf(&b, "/%s", sub);
    return dscat_buf_detach(&b);
}

/* The key of an s3:// path of this root ("s3://bucket/a/b" -> "a/b"), or NULL. */
static const char *s3_key(const dscat_config *cfg, const char *path)
{
    const char *root = cfg->settings.cache_root;
    const char *slash = strchr(root + 5, '/');
    size_t bucket_end = slash ? (size_t)(slash - root) : strlen(root);
    if (strncmp(path, root, bucket_end) != 0 || path[bucket_end] != '/')
        return NULL;
    return path + bucket_end + 1;
}

static int mkdirs(const char *path)
{
    char *copy = dscat_strdup(path);
    if (copy == NULL)
        return -1;
    for (char *p = copy + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(copy, 0700);
            *p = '/';
        }
    int rc = mkdir(copy, 0700) == 0 || errno == EEXIST ? 0 : -1;
    dscat_free(copy);
    return rc;
}

/* <root>/<conn>/<schema>/<table> with every part encoded. Caller frees. */
static char *table_dir(const char *root, const char *conn, const char *schema, const char *table)
{
    char *a = dscat_cache_encode(conn), *b = dscat_cache_encode(schema),
         *c = dscat_cache_encode(table);
    dscat_buf out = DSCAT_BUF_INIT;
    if (a && b && c)
        dscat_buf_printf(&out, "%s/%s/%s/%s", root, a, b, c);
    dscat_free(a);
    dscat_free(b);
    dscat_free(c);
    return out.len ? dscat_buf_detach(&out) : NULL;
}

/* "2026-11-22T05:00:00Z" of now + seconds. */
static void iso_after(int64_t seconds, char *out, size_t size)
{
    dscat_format_utc_iso(dscat_now_us() + seconds * 1000000, out, size);
}

static bool parse_iso(const char *s, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (end == NULL || *end != '\0')
        return false;
    *us = (int64_t)timegm(&tm) * 1000000;
    return true;
}

/* ---- connections ---------------------------------------------------------------------------- */

const char *dscat_connection_database(const dscat_target_config *t, char *buf, size_t size)
{
    if (t->type == DSCAT_SOURCE_SQLITE) {
        const char *path = t->path ? t->path : (t->path_env ? getenv(t->path_env) : NULL);
        if (path == NULL)
            return NULL;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        snprintf(buf, size, "%.*s", (int)n, base);
        return buf;
    }
    if (t->include_databases.set) {
        if (t->include_databases.count == 1 && !strpbrk(t->include_databases.items[0], "*?["))
            return t->include_databases.items[0];
        return NULL;
    }
    return t->database ? t->database : (t->type == DSCAT_SOURCE_POSTGRES ? "postgres" : NULL);
}

int dscat_connection_resolve(const dscat_config *cfg, dscat_store *st, const char *id,
                             const dscat_target_config **target, char **database, dscat_error *err)
{
    (void)st;
    *target = NULL;
    *database = NULL;
    const char *dot = strchr(id, '.');
    size_t keylen = dot ? (size_t)(dot - id) : strlen(id);
    const dscat_target_config *t = NULL;
    for (size_t i = 0; i < cfg->ntargets && t == NULL; i++)
        if (strlen(cfg->targets[i].key) == keylen && memcmp(cfg->targets[i].key, id, keylen) == 0)
            t = &cfg->targets[i];
    if (t == NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "connection '%s' not found", id);
    char buf[4096];
    const char *single = dscat_connection_database(t, buf, sizeof(buf));
    if (dot == NULL && single == NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "connection '%s' not found (target %s names several databases: "
                               "use %s.<database>)",
                               id, t->key, t->key);
    if (dot != NULL && single != NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "connection '%s' not found (target %s names one database: its "
                               "connection id is %s)",
                               id, t->key, t->key);
    /* <target>.<database>: only a database the target's filters select (SPEC §0) */
    if (dot != NULL &&
        (dot[1] == '\0' || !dscat_glob_list_match(&t->include_databases, dot + 1, true) ||
         dscat_glob_list_match(&t->exclude_databases, dot + 1, false)))
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "connection '%s' not found (target %s does not include database "
                               "'%s')",
                               id, t->key, dot + 1);
    *target = t;
    *database = dscat_strdup(dot ? dot + 1 : single);
    return *database ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}

/* ---- the writer: source rows -> DuckDB table function -> Parquet -------------------------------
 */

typedef struct table_job {
    const dscat_config *cfg;
    const dscat_target_config *target;
    const char *database, *conn;
    dscat_table_sync *result;
    dscat_cache_progress_fn progress;
    void *payload;
} table_job;

/*
 * Rows are read from the source on a thread of their own and handed to DuckDB in batches of one
 * vector, two batches in flight: the source's network and parsing overlap DuckDB's casting and
 * Parquet encoding, and memory stays at two batches.
 */
typedef struct batch {
    char *text; /* the values of the batch, each ending in NUL */
    size_t len, cap;
    size_t *offset; /* rows * ncolumns: offset into text + 1, or 0 for NULL */
    size_t rows;
    bool full;
} batch;

typedef struct feed {
    const dscat_source_driver *driver;
    dscat_cursor *cursor;
    cache_column *cols;  /* each value is checked against its column (cache/values.c) */
    cache_storage *want; /* per column: the storage the values found so far need */
    bool misfit;         /* a value did not fit: the write stops, the rows are scanned */
    bool scan_failed;    /* reading the rest after a misfit failed (err says why) */
    dscat_cache_progress_fn progress; /* called from the reader thread, rate-limited */
    void *payload;
    const char *schema, *table;
    int64_t rows, started_ms, reported_ms;
    dscat_buf scratch;
    size_t ncolumns, capacity; /* rows per batch */
    dscat_error *err;          /* written by the reader thread before it sets finished */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch b[2];
    int next;      /* the batch DuckDB takes next */
    bool finished; /* the reader has handed over its last batch (or failed) */
    bool failed;   /* the reader failed: err says why */
    bool stop;     /* DuckDB is done (or gave up): the reader stops */
} feed;

static int batch_put(batch *b, size_t slot, const char *value)
{
    if (value == NULL) {
        b->offset[slot] = 0;
        return 0;
    }
    size_t n = strlen(value) + 1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        char *t = dscat_realloc(b->text, cap);
        if (t == NULL)
            return DSCAT_ENOMEM;
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, value, n);
    b->offset[slot] = b->len + 1;
    b->len += n;
    return 0;
}

/*
 * Checks one value of column c; 1 with *value set to what DuckDB gets, 0 for a misfit (noted in
 * f->want), or an error.
 */
static int check_value(feed *f, size_t c, const char **value)
{
    cache_column col = f->cols[c];
    col.storage = f->want[c];
    value_fit fit = dscat_cache_value(&col, *value, &f->scratch);
    if (fit == VALUE_MISFIT && col.storage == STORE_NATIVE)
        fit = dscat_utf8_valid(*value, strlen(*value)) ? VALUE_MISFIT : VALUE_NOT_UTF8;
    switch (fit) {
    case VALUE_PASS:
        return 1;
    case VALUE_OK:
        *value = dscat_buf_cstr(&f->scratch);
        return 1;
    case VALUE_MISFIT:
        f->want[c] = STORE_TEXT;
        f->misfit = true;
        return 0;
    case VALUE_NOT_UTF8:
        f->want[c] = STORE_BINARY;
        f->misfit = true;
        return 0;
    case VALUE_BAD_HEX:
        return dscat_error_set(f->err, DSCAT_EQUERY,
                               "column %s: the source sent bytes as "
                               "malformed hex",
                               col.name);
    case VALUE_NOMEM:
        break;
    }
    return dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
}

/* After a misfit: reads the rest of the rows only to find every column that needs a fallback. */
static int scan_rest(feed *f)
{
    int rc;
    const char *const *values = NULL;
    while ((rc = f->driver->cursor_next(f->cursor, &values, f->err)) > 0)
        for (size_t c = 0; c < f->ncolumns && rc > 0; c++) {
            const char *v = values[c];
            if (v && f->want[c] != STORE_BINARY && (rc = check_value(f, c, &v)) == 0)
                rc = 1;
        }
    return rc;
}

static void *feed_reader(void *arg)
{
    feed *f = arg;
    int rc = 0;
    for (int i = 0;; i ^= 1) {
        batch *b = &f->b[i];
        pthread_mutex_lock(&f->mu);
        while (b->full && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        bool stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        b->rows = b->len = 0;
        while (b->rows < f->capacity) {
            const char *const *values = NULL;
            if ((rc = f->driver->cursor_next(f->cursor, &values, f->err)) <= 0)
                break;
            for (size_t c = 0; c < f->ncolumns && rc > 0; c++) {
                const char *v = values[c];
                /* a misfit notes its column and the row's others are still checked */
                if (v && (rc = check_value(f, c, &v)) <= 0) {
                    rc = rc == 0 ? 1 : rc;
                    continue;
                }
                if (!f->misfit && batch_put(b, b->rows * f->ncolumns + c, v))
                    rc = dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
            }
            if (f->misfit && rc >= 0)
                rc = -1; /* stop feeding DuckDB: this file will not be kept */
            if (rc < 0)
                break;
            b->rows++;
        }
        f->rows += (int64_t)b->rows;
        int64_t now = dscat_monotonic_ms();
        if (f->progress && rc > 0 && now - f->reported_ms >= 200) {
            f->reported_ms = now;
            dscat_cache_progress p = {f->schema,           f->table, f->rows, 0,
                                      now - f->started_ms, false,    0};
            f->progress(&p, f->payload);
        }
        pthread_mutex_lock(&f->mu);
        b->full = rc >= 0 && b->rows > 0; /* a failed batch is never handed over */
        if (rc <= 0) {
            f->failed = rc < 0;
            f->finished = true;
        }
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        if (rc <= 0)
            break;
    }
    if (f->misfit && scan_rest(f) < 0)
        f->scan_failed = true; /* the source failed: that is the refresh's error */
    return NULL;
}

static void feed_bind(duckdb_bind_info info)
{
    feed *f = duckdb_bind_get_extra_info(info);
    duckdb_logical_type v = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    for (size_t i = 0; i < f->ncolumns; i++) {
        char name[32];
        snprintf(name, sizeof(name), "c%zu", i);
        duckdb_bind_add_result_column(info, name, v);
    }
    duckdb_destroy_logical_type(&v);
}

static void feed_init(duckdb_init_info info)
{
    duckdb_init_set_max_threads(info, 1);
}

/* Fills one chunk with the next batch; an empty chunk ends the table. */
static void feed_rows(duckdb_function_info info, duckdb_data_chunk chunk)
{
    feed *f = duckdb_function_get_extra_info(info);
    batch *b = &f->b[f->next];
    pthread_mutex_lock(&f->mu);
    while (!b->full && !f->finished)
        pthread_cond_wait(&f->cv, &f->mu);
    bool have = b->full, failed = f->failed, misfit = f->misfit;
    pthread_mutex_unlock(&f->mu);
    if (!have) {
        if (failed) /* after a misfit the reader goes on using err: not read here */
            duckdb_function_set_error(info,
                                      misfit ? "a value needs a fallback column" : f->err->message);
        else
            duckdb_data_chunk_set_size(chunk, 0);
        return;
    }
    for (size_t c = 0; c < f->ncolumns; c++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
        const size_t *off = b->offset + c;
        for (size_t r = 0; r < b->rows; r++, off += f->ncolumns) {
            if (*off == 0) {
                duckdb_vector_ensure_validity_writable(v);
                duckdb_validity_set_row_invalid(duckdb_vector_get_validity(v), r);
            } else {
                duckdb_vector_assign_string_element(v, r, b->text + *off - 1);
            }
        }
    }
    duckdb_data_chunk_set_size(chunk, b->rows);
    dscat_test__crash_at("streaming"); /* die in the middle of a refresh */
    pthread_mutex_lock(&f->mu);
    b->full = false;
    f->next ^= 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Appends the SELECT expression that turns feed column i into column c's stored value. */
static void column_expr(dscat_buf *sql, const cache_column *c, size_t i)
{
    if (c->storage == STORE_BINARY || c->hex)
        dscat_buf_printf(sql, "from_hex(c%zu)", i);
    else if (c->storage == STORE_TEXT || strcmp(c->duck_type, "VARCHAR") == 0)
        dscat_buf_printf(sql, "c%zu", i);
    else if (c->kind == KIND_DATE) /* text, or "@<days since 1970>" for a BC date */
        dscat_buf_printf(sql,
                         "CASE WHEN starts_with(c%zu, '@') THEN DATE '1970-01-01' + "
                         "CAST(c%zu[2:] AS INTEGER) ELSE CAST(c%zu AS DATE) END",
                         i, i, i);
    else if (c->kind == KIND_TIMESTAMP || c->kind == KIND_TIMESTAMPTZ) /* or "@<microseconds>" */
        dscat_buf_printf(sql,
                         "CASE WHEN starts_with(c%zu, '@') THEN "
                         "CAST(make_timestamp(CAST(c%zu[2:] AS BIGINT)) AS %s) "
                         "ELSE CAST(c%zu AS %s) END",
                         i, i, c->duck_type, i, c->duck_type);
    else
        dscat_buf_printf(sql, "CAST(c%zu AS %s)", i, c->duck_type);
}

/*
 * Reads the whole file back through DuckDB (every value of every column decoded): a refresh
 * never reports success for a file DuckDB cannot read.
 */
static int verify_parquet(dscat_duck *duck, const char *path, int64_t rows, const char *schema,
                          const char *table, dscat_error *err)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    duckdb_result res;
    dscat_buf_puts(&sql, "SELECT count(*), min(hash(COLUMNS(*))) FROM read_parquet(");
    dscat_duck_quote_literal(&sql, path);
    if (dscat_buf_putc(&sql, ')')) {
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    int rc = 0;
    if (duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&sql), &res) == DuckDBError)
        rc = dscat_error_set(err, DSCAT_EIO, "the file written for %s.%s does not read back: %s",
                             schema, table, duckdb_result_error(&res));
    else if (duckdb_value_int64(&res, 0, 0) != rows)
        rc = dscat_error_set(err, DSCAT_EIO,
                             "the file written for %s.%s reads back %lld rows, not %lld", schema,
                             table, (long long)duckdb_value_int64(&res, 0, 0), (long long)rows);
    duckdb_destroy_result(&res);
    dscat_buf_free(&sql);
    return rc;
}

#define WRITE_AGAIN 1 /* write_parquet: columns changed to fallbacks, write the table again */

/*
 * Streams the table into path (Parquet). *rows receives the row count. When a value does not
 * fit its column's native type, the write stops, the rest of the rows is scanned, the columns
 * that need it move to a fallback (cols[].storage) and WRITE_AGAIN is returned.
 */
static int write_parquet(dscat_source *src, const char *schema, const char *table,
                         cache_column *cols, size_t ncols, const char *path, int64_t *rows,
                         const table_job *job, dscat_error *err)
{
    const dscat_source_driver *drv = src->driver;
    dscat_cursor_column *cc = dscat_calloc(ncols + 1, sizeof(*cc));
    dscat_duck *duck = NULL;
    duckdb_table_function fn = NULL;
    dscat_buf sql = DSCAT_BUF_INIT;
    feed f = {.driver = drv,
              .cols = cols,
              .ncolumns = ncols,
              .capacity = duckdb_vector_size(),
              .err = err,
              .progress = job->progress,
              .payload = job->payload,
              .schema = schema,
              .table = table,
              .started_ms = dscat_monotonic_ms()};
    pthread_t reader;
    bool reading = false;
    int rc;
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    f.want = dscat_calloc(ncols + 1, sizeof(*f.want));
    f.b[0].offset = dscat_calloc(f.capacity * ncols + 1, sizeof(size_t));
    f.b[1].offset = dscat_calloc(f.capacity * ncols + 1, sizeof(size_t));
    if (cc == NULL || f.want == NULL || f.b[0].offset == NULL || f.b[1].offset == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ncols; i++) {
        cc[i] = (dscat_cursor_column){cols[i].name, cols[i].hex, cols[i].source_type};
        f.want[i] = cols[i].storage;
    }
    /* One DuckDB thread: the table function feeds a single pipeline, a second thread would only
     * poll for work; the source is read on the reader thread. */
    if ((rc = drv->cursor_open(&f.cursor, src, schema, table, cc, ncols, err)) ||
        (rc = dscat_duck_open(&duck, err)) ||
        (rc = dscat_duck_exec(duck, "SET TimeZone = 'UTC'", err)) ||
        (rc = dscat_duck_exec(duck, "SET threads = 1", err)))
        goto done;
    fn = duckdb_create_table_function();
    duckdb_table_function_set_name(fn, "dscat_rows");
    duckdb_table_function_set_extra_info(fn, &f, NULL);
    duckdb_table_function_set_bind(fn, feed_bind);
    duckdb_table_function_set_init(fn, feed_init);
    duckdb_table_function_set_function(fn, feed_rows);
    if (duckdb_register_table_function(dscat_duck_connection(duck), fn) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot register the row feed with DuckDB");
        goto done;
    }
    dscat_buf_puts(&sql, "COPY (SELECT ");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            dscat_buf_puts(&sql, ", ");
        column_expr(&sql, &cols[i], i);
        dscat_buf_puts(&sql, " AS ");
        dscat_cache_quote_ident(&sql, cols[i].name);
    }
    dscat_buf_puts(&sql, " FROM dscat_rows()) TO ");
    dscat_duck_quote_literal(&sql, path);
    /* zstd at level 1: files near level 3's size at a fraction of its time. */
    if (dscat_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
                             "ROW_GROUP_SIZE 122880)")) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (pthread_create(&reader, NULL, feed_reader, &f) != 0) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "cannot start a thread");
        goto done;
    }
    reading = true;
    duckdb_result res;
    duckdb_state state = duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&sql), &res);
    pthread_mutex_lock(&f.mu);
    f.stop = true;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    pthread_join(reader, NULL);
    reading = false;
    if (state == DuckDBError && f.misfit && !f.scan_failed) {
        duckdb_destroy_result(&res);
        for (size_t i = 0; i < ncols; i++)
            cols[i].storage = f.want[i];
        rc = WRITE_AGAIN;
        goto done;
    }
    if (state == DuckDBError) {
        if (!f.failed)
            dscat_error_set(err, DSCAT_EQUERY, "writing %s.%s failed: %s", schema, table,
                            duckdb_result_error(&res));
        rc = err->code ? err->code : DSCAT_EQUERY;
        duckdb_destroy_result(&res);
        goto done;
    }
    *rows = duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    rc = verify_parquet(duck, path, *rows, schema, table, err);
done:
    if (reading)
        pthread_join(reader, NULL);
    if (f.cursor)
        drv->cursor_close(f.cursor);
    if (fn)
        duckdb_destroy_table_function(&fn);
    dscat_duck_close(duck);
    dscat_buf_free(&sql);
    for (int i = 0; i < 2; i++) {
        dscat_free(f.b[i].text);
        dscat_free(f.b[i].offset);
    }
    dscat_free(f.want);
    dscat_buf_free(&f.scratch);
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
    dscat_free(cc);
    return rc;
}

/* ---- one table ------------------------------------------------------------------------------- */

/* The table's columns from the catalog, with their cache types. */
static int catalog_columns(dscat_store *st, const dscat_target_config *t, const char *database,
                           const char *schema, const char *table, cache_column **out, size_t *n,
                           dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    *out = NULL;
    *n = 0;
    int rc = dscat_store__prepare(
        st, &s,
        "SELECT c.name, c.data_type, c.column_type, c.numeric_precision, c.numeric_scale "
        "FROM " DSCAT_CURRENT_TABLES " t JOIN columns c ON c.table_id = t.id "
        "WHERE t.target = ?1 AND t.database = ?2 AND t.schema = ?3 AND t.name = ?4 "
        "ORDER BY c.ordinal",
        err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, t->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, database, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, schema, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, table, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        cache_column *g = dscat_realloc(*out, (*n + 1) * sizeof(*g));
        if (g == NULL) {
            sqlite3_finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        *out = g;
        cache_column *c = &g[(*n)++];
        memset(c, 0, sizeof(*c));
        c->name = dscat_strdup((const char *)sqlite3_column_text(s, 0));
        dscat_cache_map_type(
            c, t->type, (const char *)sqlite3_column_text(s, 1),
            (const char *)sqlite3_column_text(s, 2),
            sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 3),
            sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 4));
        dscat_cache_column_kind(c);
        c->storage = STORE_NATIVE;
    }
    sqlite3_finalize(s);
    if (*n == 0)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "table '%s.%s' not found", schema, table);
    return 0;
}

static void free_columns(cache_column *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dscat_free(c[i].name);
    dscat_free(c);
}

static void make_version(char *out, size_t size)
{
    unsigned char r[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
            memset(r, 0, sizeof(r));
        close(fd);
    }
    char when[32];
    dscat_format_utc_iso(dscat_now_us(), when, sizeof(when));
    size_t k = 0;
    char compact[32];
    for (const char *p = when; *p && k + 1 < sizeof(compact); p++)
        if (*p != '-' && *p != ':')
            compact[k++] = *p;
    compact[k] = '\0';
    snprintf(out, size, "v%s-%02x%02x%02x%02x", compact, r[0], r[1], r[2], r[3]);
}

static void test_crash(const char *stage)
{
    dscat_test__crash_at(stage);
}

void dscat_fallbacks_free(dscat_fallbacks *f)
{
    for (size_t i = 0; i < f->count; i++) {
        dscat_free(f->items[i].column);
        dscat_free(f->items[i].storage);
        dscat_free(f->items[i].reason);
    }
    dscat_free(f->items);
    f->items = NULL;
    f->count = 0;
}

static int fallbacks_add(dscat_fallbacks *f, const char *column, const char *storage,
                         const char *reason)
{
    dscat_fallback *g = dscat_realloc(f->items, (f->count + 1) * sizeof(*g));
    if (g == NULL)
        return DSCAT_ENOMEM;
    f->items = g;
    g[f->count] =
        (dscat_fallback){dscat_strdup(column), dscat_strdup(storage), dscat_strdup(reason)};
    if (!g[f->count].column || !g[f->count].storage || !g[f->count].reason) {
        f->count++;
        return DSCAT_ENOMEM;
    }
    f->count++;
    return 0;
}

/* The store keeps a version's fallbacks as a JSON array of {column, storage, reason}. */
static char *fallbacks_json(const dscat_fallbacks *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->count; i++)
        json_array_append_new(a, json_pack("{s:s?, s:s?, s:s?}", "column", f->items[i].column,
                                           "storage", f->items[i].storage, "reason",
                                           f->items[i].reason));
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

static void fallbacks_parse(dscat_fallbacks *f, const char *text)
{
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *c = json_string_value(json_object_get(v, "column"));
        const char *st = json_string_value(json_object_get(v, "storage"));
        const char *why = json_string_value(json_object_get(v, "reason"));
        if (c && st && why && fallbacks_add(f, c, st, why))
            break;
    }
    json_decref(a);
}

/*
 * Where the engine does not enforce types (SQLite), the storage classes present decide up front:
 * blobs or text holding NUL bytes make a column binary (its bytes, hex from the source), and a
 * numeric column holding other classes is text.
 */
static int plan_storage(dscat_source *src, const char *schema, const char *table,
                        cache_column *cols, size_t ncols, dscat_error *err)
{
    if (src->driver->storage_classes == NULL)
        return 0;
    dscat_cursor_column *cc = dscat_calloc(ncols + 1, sizeof(*cc));
    unsigned *classes = dscat_calloc(ncols + 1, sizeof(unsigned));
    int rc = cc && classes ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < ncols; i++)
        cc[i] = (dscat_cursor_column){cols[i].name, false, cols[i].source_type};
    if (rc == 0)
        rc = src->driver->storage_classes(src, schema, table, cc, ncols, classes, err);
    for (size_t i = 0; rc == 0 && i < ncols; i++) {
        unsigned k = classes[i];
        cache_column *c = &cols[i];
        bool numeric = c->kind >= KIND_INT8 && c->kind <= KIND_DOUBLE;
        if (c->kind == KIND_BLOB) {
            if (k & ~(unsigned)DSCAT_CLASS_BLOB) /* also text or numbers: their bytes */
                c->storage = STORE_BINARY;
        } else if (k & (DSCAT_CLASS_BLOB | DSCAT_CLASS_TEXT_NUL)) {
            c->storage = STORE_BINARY;
            c->hex = true;
        } else if (numeric && (k & DSCAT_CLASS_TEXT)) {
            c->storage = STORE_TEXT;
        } else if (c->kind <= KIND_INT64 && c->kind >= KIND_INT8 && (k & DSCAT_CLASS_REAL)) {
            c->storage = STORE_TEXT;
        }
    }
    dscat_free(cc);
    dscat_free(classes);
    return rc;
}

/* Why column c is not in its native type, one line. */
static int fallback_reason(dscat_buf *b, const cache_column *c)
{
    dscat_buf_reset(b);
    if (c->storage == STORE_BINARY && c->kind == KIND_BLOB)
        return dscat_buf_puts(b, "the column also holds text or numbers: each value is stored as "
                                 "its bytes");
    if (c->storage == STORE_BINARY)
        return dscat_buf_puts(b, "it holds values that are not UTF-8 text (bytes, or text with "
                                 "NUL): each value is stored as its bytes");
    return dscat_buf_printf(b,
                            "%s (%s) cannot hold every value exactly (another type, out of "
                            "range, NaN, a zero date, below a microsecond): each value is "
                            "stored as the source's text",
                            c->duck_type, c->source_type);
}

/*
 * Every version directory holds ".catalog-<id>", the id of the catalog that wrote it: the orphan
 * rule only ever sweeps versions of its own catalog, even when several catalogs share a root.
 */
#define MARKER ".catalog-"

static int mark_version(dscat_store *st, dscat_s3 *s3, const dscat_config *cfg, const char *vdir,
                        const char *staging, dscat_error *err)
{
    char id[64];
    dscat_buf path = DSCAT_BUF_INIT;
    int rc = 0;
    if (dscat_store__catalog_id(st, id, sizeof(id)))
        return dscat_error_set(err, DSCAT_EIO, "the catalog store has no id");
    if (s3) {
        char warning[600];
        dscat_buf key = DSCAT_BUF_INIT;
        /* an empty object; its key says it all */
        /* "<name>-<pid>" like the staging files: removed by the same rule if we die here */
        dscat_buf_printf(&path, "%s/marker-%s-%ld", staging, id, (long)getpid());
        dscat_buf_printf(&key, "%s/%s%s", s3_key(cfg, vdir), MARKER, id);
        int fd = open(dscat_buf_cstr(&path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                      0600);
        if (fd < 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dscat_buf_cstr(&path),
                                 strerror(errno));
        else
            close(fd);
        if (rc == 0)
            rc = dscat_s3_put_file(s3, dscat_buf_cstr(&key), dscat_buf_cstr(&path), warning,
                                   sizeof(warning), err);
        unlink(dscat_buf_cstr(&path));
        dscat_buf_free(&key);
    } else {
        dscat_buf_printf(&path, "%s/%s%s", vdir, MARKER, id);
        int fd =
            open(dscat_buf_cstr(&path), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dscat_buf_cstr(&path),
                                 strerror(errno));
        else
            close(fd);
    }
    dscat_buf_free(&path);
    return rc;
}

/* True when the local version directory carries this catalog's marker. */
static bool ours(const char *version, const char *id)
{
    dscat_buf p = DSCAT_BUF_INIT;
    struct stat sb;
    bool yes = id[0] && dscat_buf_printf(&p, "%s/%s%s", version, MARKER, id) == 0 &&
               lstat(dscat_buf_cstr(&p), &sb) == 0 && S_ISREG(sb.st_mode);
    dscat_buf_free(&p);
    return yes;
}

/* Reads the table's cache row; 1 when there is one. */
static int read_current(dscat_store *st, const char *conn, const char *schema, const char *table,
                        dscat_table_sync *out, int64_t *last_sync)
{
    sqlite3_stmt *s = NULL;
    if (dscat_store__prepare(st, &s,
                             "SELECT version, rows, bytes, last_sync_us FROM table_cache "
                             "WHERE connection_id = ?1 AND schema = ?2 AND name = ?3",
                             NULL))
        return 0;
    sqlite3_bind_text(s, 1, conn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, schema, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, table, -1, SQLITE_STATIC);
    int found = sqlite3_step(s) == SQLITE_ROW;
    if (found) {
        dscat_free(out->version);
        out->version = dscat_strdup((const char *)sqlite3_column_text(s, 0));
        out->rows = sqlite3_column_int64(s, 1);
        out->bytes = sqlite3_column_int64(s, 2);
        *last_sync = sqlite3_column_int64(s, 3);
    }
    sqlite3_finalize(s);
    return found;
}

/* Points the table at the new version and schedules the old one, in one transaction. */
static int swap(dscat_store *st, const dscat_config *cfg, const char *conn, const char *schema,
                const char *table, const dscat_table_sync *r, const char *path, dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    char when[40];
    iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    int rc = dscat_store__exec(st, "BEGIN IMMEDIATE", err);
    if (rc == 0)
        rc = dscat_store__prepare(
            st, &s,
            "INSERT INTO pending_deletions(path, delete_after, retry_count) "
            "SELECT path, ?4, 0 FROM table_cache WHERE connection_id = ?1 AND schema = ?2 "
            "AND name = ?3 ON CONFLICT(path) DO NOTHING",
            err);
    if (rc == 0) {
        sqlite3_bind_text(s, 1, conn, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, schema, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, when, -1, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : dscat_store__step_error(st, err);
        sqlite3_finalize(s);
        s = NULL;
    }
    if (rc == 0)
        rc = dscat_store__prepare(
            st, &s,
            "INSERT INTO table_cache(connection_id, schema, name, version, path, rows, bytes, "
            "last_sync_us, fallbacks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
            "ON CONFLICT(connection_id, schema, name) DO UPDATE SET version = excluded.version, "
            "path = excluded.path, rows = excluded.rows, bytes = excluded.bytes, "
            "last_sync_us = excluded.last_sync_us, fallbacks = excluded.fallbacks",
            err);
    if (rc == 0) {
        sqlite3_bind_text(s, 1, conn, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, schema, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->version, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, r->rows);
        sqlite3_bind_int64(s, 7, r->bytes);
        sqlite3_bind_int64(s, 8, dscat_now_us());
        char *fb = fallbacks_json(&r->fallbacks);
        sqlite3_bind_text(s, 9, fb ? fb : "[]", -1, SQLITE_TRANSIENT);
        dscat_free(fb);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : dscat_store__step_error(st, err);
        sqlite3_finalize(s);
    }
    if (rc == 0)
        rc = dscat_store__exec(st, "COMMIT", err);
    if (rc)
        sqlite3_exec(dscat_store__db(st), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Adds a warning to a table's result (cleanup failures: never a failed refresh). */
static void sync_warn(dscat_table_sync *r, const char *message)
{
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_buf_printf(&b, "%s%s%s", r->warning ? r->warning : "", r->warning ? "; " : "", message);
    dscat_free(r->warning);
    r->warning = dscat_buf_detach(&b);
}

/* Adds a warning about one table to a list. */
static void table_warn(dscat_warnings *w, const char *schema, const char *table,
                       const char *message)
{
    dscat_warning *g = dscat_realloc(w->items, (w->count + 1) * sizeof(*g));
    if (g == NULL)
        return;
    w->items = g;
    g[w->count++] =
        (dscat_warning){dscat_strdup(schema), dscat_strdup(table), dscat_strdup(message)};
}

static void refresh_table(table_job *job)
{
    dscat_table_sync *r = job->result;
    const dscat_config *cfg = job->cfg;
    dscat_store *st = NULL;
    dscat_source *src = NULL;
    dscat_target_conn conn = {0};
    cache_column *cols = NULL;
    size_t ncols = 0;
    char *dir = NULL;
    dscat_buf vdir = DSCAT_BUF_INIT, file = DSCAT_BUF_INIT, lock = DSCAT_BUF_INIT;
    dscat_buf stage = DSCAT_BUF_INIT;
    dscat_s3 *s3 = NULL;
    bool on_s3_root = on_s3(cfg);
    int lockfd = -1;
    int64_t t0 = dscat_monotonic_ms(), started = dscat_now_us(), last_sync = 0;
    const dscat_source_driver *drv = dscat_source_driver_for(job->target->type);
    dscat_error *err = &r->error;
    if ((r->rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)))
        goto done;
    if ((r->rc = catalog_columns(st, job->target, job->database, r->schema, r->table, &cols, &ncols,
                                 err)))
        goto done;
    dir = table_dir(cfg->settings.cache_root, job->conn, r->schema, r->table);
    if (on_s3_root) {
        /* On S3 the lock and the file being written are local; the file is uploaded whole. */
        char *locks = s3_local_dir("locks");
        char *local = locks ? table_dir(locks, job->conn, r->schema, r->table) : NULL;
        char *staging = s3_local_dir("staging");
        if (dir == NULL || local == NULL || staging == NULL || mkdirs(local) || mkdirs(staging))
            r->rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s",
                                    local ? local : "the local S3 directory", strerror(errno));
        else
            r->rc = dscat_s3_open(&s3, cfg->settings.cache_root, &cfg->settings, err);
        dscat_buf_printf(&lock, "%s/.lock", local ? local : "");
        dscat_buf_puts(&stage, staging ? staging : "");
        dscat_free(locks);
        dscat_free(local);
        dscat_free(staging);
        if (r->rc)
            goto done;
    } else if (dir == NULL || mkdirs(dir) || dscat_buf_printf(&lock, "%s/.lock", dir)) {
        r->rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dir ? dir : "cache dir",
                                strerror(errno));
        goto done;
    }
    lockfd = open(dscat_buf_cstr(&lock), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lockfd < 0) {
        r->rc = dscat_error_set(err, DSCAT_EIO, "cannot open %s: %s", dscat_buf_cstr(&lock),
                                strerror(errno));
        goto done;
    }
    if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        /* Someone is refreshing this table: wait, then take their result if they succeeded. */
        flock(lockfd, LOCK_EX);
        if (read_current(st, job->conn, r->schema, r->table, r, &last_sync) &&
            last_sync >= started) {
            r->joined = true;
            goto done;
        }
    }
    if (drv == NULL || drv->cursor_open == NULL) {
        r->rc = dscat_error_set(err, DSCAT_EINVALID, "%s sources cannot be cached by this build",
                                dscat_source_type_name(job->target->type));
        goto done;
    }
    char version[64];
    make_version(version, sizeof(version));
    dscat_free(r->version);
    r->version = dscat_strdup(version);
    dscat_buf_printf(&vdir, "%s/%s", dir, version);
    if (s3)
        dscat_buf_printf(&file, "%s/%s-%ld.parquet", dscat_buf_cstr(&stage), version,
                         (long)getpid());
    else
        dscat_buf_printf(&file, "%s/data.parquet", dscat_buf_cstr(&vdir));
    if (!s3 && mkdir(dscat_buf_cstr(&vdir), 0700) != 0) {
        r->rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dscat_buf_cstr(&vdir),
                                strerror(errno));
        goto done;
    }
    if ((r->rc = mark_version(st, s3, cfg, dscat_buf_cstr(&vdir), dscat_buf_cstr(&stage), err)))
        goto done;
    if ((r->rc = dscat_target_resolve(&conn, job->target, err)) ||
        (r->rc = drv->connect(&src, job->target, &conn, job->database, &cfg->settings, err)) ||
        (r->rc = plan_storage(src, r->schema, r->table, cols, ncols, err)))
        goto done;
    /* A value that does not fit its column's type moves the column to a fallback and the table
     * is written again: a column changes at most twice (native, text, binary). */
    for (int attempt = 0; attempt < 3; attempt++) {
        r->rc = write_parquet(src, r->schema, r->table, cols, ncols, dscat_buf_cstr(&file),
                              &r->rows, job, err);
        if (r->rc != WRITE_AGAIN)
            break;
        unlink(dscat_buf_cstr(&file));
    }
    if (r->rc == WRITE_AGAIN)
        r->rc = dscat_error_set(err, DSCAT_EQUERY, "%s.%s: values kept changing while written",
                                r->schema, r->table);
    for (size_t i = 0; r->rc == 0 && i < ncols; i++) {
        dscat_buf why = DSCAT_BUF_INIT;
        if (cols[i].storage != STORE_NATIVE &&
            (fallback_reason(&why, &cols[i]) ||
             fallbacks_add(&r->fallbacks, cols[i].name, dscat_cache_storage_name(cols[i].storage),
                           dscat_buf_cstr(&why))))
            r->rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        dscat_buf_free(&why);
    }
    if (r->rc)
        goto done;
    struct stat sb;
    chmod(dscat_buf_cstr(&file), 0600); /* table data: as private as the catalog */
    r->bytes = stat(dscat_buf_cstr(&file), &sb) == 0 ? (int64_t)sb.st_size : 0;
    if (s3) {
        dscat_buf key = DSCAT_BUF_INIT;
        char warning[600];
        dscat_buf_printf(&key, "%s/data.parquet", s3_key(cfg, dscat_buf_cstr(&vdir)));
        r->rc = dscat_s3_put_file(s3, dscat_buf_cstr(&key), dscat_buf_cstr(&file), warning,
                                  sizeof(warning), err);
        if (warning[0])
            sync_warn(r, warning);
        dscat_buf_free(&key);
        unlink(dscat_buf_cstr(&file));
        if (r->rc)
            goto done;
    }
    test_crash("file_closed");
    if ((r->rc = swap(st, cfg, job->conn, r->schema, r->table, r, dscat_buf_cstr(&vdir), err)))
        goto done;
    test_crash("swap_committed");
    test_crash("old_scheduled");
done:
    if (r->rc && vdir.len && !r->joined) {
        /* A failed refresh leaves nothing behind: the old version stays current and whole. */
        unlink(dscat_buf_cstr(&file));
        if (s3) {
            dscat_buf prefix = DSCAT_BUF_INIT;
            dscat_error e2 = {0};
            dscat_buf_printf(&prefix, "%s/", s3_key(cfg, dscat_buf_cstr(&vdir)));
            if (dscat_s3_delete_prefix(s3, dscat_buf_cstr(&prefix), &e2))
                sync_warn(r, e2.message); /* a failed cleanup is a warning, never a failure */
            dscat_buf_free(&prefix);
        } else {
            char id[64];
            dscat_buf marker = DSCAT_BUF_INIT;
            if (st && dscat_store__catalog_id(st, id, sizeof(id)) == 0 &&
                dscat_buf_printf(&marker, "%s/%s%s", dscat_buf_cstr(&vdir), MARKER, id) == 0)
                unlink(dscat_buf_cstr(&marker));
            dscat_buf_free(&marker);
            rmdir(dscat_buf_cstr(&vdir));
        }
    }
    dscat_s3_close(s3);
    dscat_buf_free(&stage);
    if (src)
        drv->close(src);
    dscat_target_conn_free(&conn);
    if (lockfd >= 0)
        close(lockfd);
    free_columns(cols, ncols);
    dscat_free(dir);
    dscat_buf_free(&vdir);
    dscat_buf_free(&file);
    dscat_buf_free(&lock);
    dscat_store_close(st);
    r->duration_ms = dscat_monotonic_ms() - t0;
    if (job->progress) {
        dscat_cache_progress p = {r->schema,      r->table, r->rows, r->bytes,
                                  r->duration_ms, true,     r->rc};
        job->progress(&p, job->payload);
    }
}

typedef struct pool {
    table_job *jobs;
    size_t count, next;
    pthread_mutex_t lock;
} pool;

static void *pool_worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->count ? p->next++ : p->count;
        pthread_mutex_unlock(&p->lock);
        if (i == p->count)
            return NULL;
        refresh_table(&p->jobs[i]);
    }
}

/* The tables to refresh for a whole connection: cached ones, or all catalogued ones. */
static int connection_tables(dscat_store *st, const dscat_target_config *t, const char *database,
                             const char *conn, bool all, dscat_cache_report *rep, dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = dscat_store__prepare(
        st, &s,
        all ? "SELECT t.schema, t.name FROM " DSCAT_CURRENT_TABLES " t WHERE t.target = ?1 "
              "AND t.database = ?2 ORDER BY t.schema, t.name"
            : "SELECT schema, name FROM table_cache WHERE connection_id = ?3 "
              "AND ?1 IS NOT NULL AND ?2 IS NOT NULL ORDER BY schema, name",
        err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, t->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, database, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, conn, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        dscat_table_sync *g = dscat_realloc(rep->tables, (rep->count + 1) * sizeof(*g));
        if (g == NULL) {
            sqlite3_finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        rep->tables = g;
        memset(&g[rep->count], 0, sizeof(*g));
        g[rep->count].schema = dscat_strdup((const char *)sqlite3_column_text(s, 0));
        g[rep->count].table = dscat_strdup((const char *)sqlite3_column_text(s, 1));
        rep->count++;
    }
    sqlite3_finalize(s);
    return 0;
}

int dscat_cache_refresh(dscat_cache_report **out, const dscat_config *cfg,
                        const char *connection_id, const char *schema, const char *table,
                        bool include_uncached, dscat_error *err)
{
    return dscat_cache_refresh_progress(out, cfg, connection_id, schema, table, include_uncached,
                                        NULL, NULL, err);
}

int dscat_cache_refresh_progress(dscat_cache_report **out, const dscat_config *cfg,
                                 const char *connection_id, const char *schema, const char *table,
                                 bool include_uncached, dscat_cache_progress_fn progress,
                                 void *payload, dscat_error *err)
{
    *out = NULL;
    dscat_store *st = NULL;
    const dscat_target_config *t = NULL;
    char *database = NULL;
    table_job *jobs = NULL;
    int64_t t0 = dscat_monotonic_ms();
    int rc;
    dscat_cache_report *rep = dscat_calloc(1, sizeof(*rep));
    if (rep == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    rep->connection_id = dscat_strdup(connection_id);
    if ((rc = cache_root(cfg, err)) ||
        (rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err)) ||
        (rc = dscat_connection_resolve(cfg, st, connection_id, &t, &database, err)))
        goto done;
    if (table) {
        cache_column *cols = NULL;
        size_t n = 0;
        if ((rc = catalog_columns(st, t, database, schema, table, &cols, &n, err))) {
            if (rc == DSCAT_ENOTFOUND)
                dscat_error_set(err, rc, "table '%s.%s' not found", schema, table);
            goto done;
        }
        free_columns(cols, n);
        rep->tables = dscat_calloc(1, sizeof(*rep->tables));
        if (rep->tables == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        rep->tables[0].schema = dscat_strdup(schema);
        rep->tables[0].table = dscat_strdup(table);
        rep->count = 1;
    } else if ((rc = connection_tables(st, t, database, connection_id, include_uncached, rep,
                                       err))) {
        goto done;
    }
    dscat_store_close(st);
    st = NULL;
    jobs = dscat_calloc(rep->count + 1, sizeof(*jobs));
    if (jobs == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rep->count; i++)
        jobs[i] = (table_job){cfg, t, database, connection_id, &rep->tables[i], progress, payload};
    pool p = {jobs, rep->count, 0, PTHREAD_MUTEX_INITIALIZER};
    int nthreads = cfg->settings.refresh_parallelism;
    if ((size_t)nthreads > rep->count)
        nthreads = (int)rep->count;
    pthread_t threads[64];
    int started = 0;
    for (; started < nthreads && started < 64; started++)
        if (pthread_create(&threads[started], NULL, pool_worker, &p) != 0)
            break;
    if (started == 0)
        pool_worker(&p);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < rep->count; i++) {
        if (rep->tables[i].rc)
            rep->failed++;
        else
            rep->total_rows += rep->tables[i].rows;
        if (rep->tables[i].warning)
            table_warn(&rep->warnings, rep->tables[i].schema, rep->tables[i].table,
                       rep->tables[i].warning);
        const dscat_fallbacks *fb = &rep->tables[i].fallbacks;
        for (size_t k = 0; rep->tables[i].rc == 0 && k < fb->count; k++) {
            dscat_buf m = DSCAT_BUF_INIT;
            dscat_buf_printf(&m, "column %s is stored as %s: %s", fb->items[k].column,
                             fb->items[k].storage, fb->items[k].reason);
            table_warn(&rep->warnings, rep->tables[i].schema, rep->tables[i].table,
                       dscat_buf_cstr(&m));
            dscat_buf_free(&m);
        }
    }
done:
    rep->duration_ms = dscat_monotonic_ms() - t0;
    dscat_store_close(st);
    dscat_free(database);
    dscat_free(jobs);
    if (rc) {
        dscat_cache_report_free(rep);
        return rc;
    }
    *out = rep;
    return 0;
}

void dscat_warnings_free(dscat_warnings *w)
{
    for (size_t i = 0; i < w->count; i++) {
        dscat_free(w->items[i].schema);
        dscat_free(w->items[i].table);
        dscat_free(w->items[i].message);
    }
    dscat_free(w->items);
    memset(w, 0, sizeof(*w));
}

static void warn(dscat_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(dscat_warnings *w, const char *fmt, ...)
{
    dscat_warning *g = dscat_realloc(w->items, (w->count + 1) * sizeof(*g));
    if (g == NULL)
        return;
    w->items = g;
    dscat_buf b = DSCAT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    dscat_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    g[w->count++] = (dscat_warning){NULL, NULL, dscat_buf_detach(&b)};
}

void dscat_cache_report_free(dscat_cache_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; i++) {
        dscat_free(r->tables[i].schema);
        dscat_free(r->tables[i].table);
        dscat_free(r->tables[i].version);
        dscat_free(r->tables[i].warning);
        dscat_fallbacks_free(&r->tables[i].fallbacks);
    }
    dscat_free(r->tables);
    dscat_free(r->connection_id);
    dscat_warnings_free(&r->warnings);
    dscat_free(r);
}

/* ---- deletions, orphans, purge, listing ------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/*
 * Deletes a version directory. It must lie inside the cache root, as a whole path segment:
 * "<root>/a/" never touches "<root>/ab".
 */
static int delete_prefix(const dscat_config *cfg, const char *path, char *why, size_t size)
{
    const char *root = cfg->settings.cache_root;
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    if (strncmp(path, root, n) != 0 || path[n] != '/' || strstr(path, "/../") ||
        strcmp(path + strlen(path) - 3, "/..") == 0) {
        snprintf(why, size, "refusing to delete %s: it is not inside the cache root %s", path,
                 root);
        return -1;
    }
    if (on_s3(cfg)) { /* the version's keys: "<key>/" matches whole segments only */
        dscat_s3 *s3 = NULL;
        dscat_error e = {0};
        dscat_buf prefix = DSCAT_BUF_INIT;
        const char *key = s3_key(cfg, path);
        int rc = key ? 0 : -1;
        if (rc == 0 && dscat_buf_printf(&prefix, "%s/", key) == 0)
            rc = dscat_s3_open(&s3, root, &cfg->settings, &e) ||
                         dscat_s3_delete_prefix(s3, dscat_buf_cstr(&prefix), &e)
                     ? -1
                     : 0;
        if (rc)
            snprintf(why, size, "%s", e.message[0] ? e.message : "not an S3 path of the root");
        dscat_s3_close(s3);
        dscat_buf_free(&prefix);
        return rc;
    }
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : (snprintf(why, size, "%s", strerror(errno)), -1);
    /* Every part below the root must be a real directory: a symlink would lead outside it. */
    char *walk = dscat_strdup(path);
    bool linked = walk == NULL;
    for (char *p = walk ? walk + n + 1 : NULL; p && !linked; p = strchr(p + 1, '/')) {
        char *slash = strchr(p + 1, '/');
        if (slash)
            *slash = '\0';
        linked = lstat(walk, &sb) != 0 || !S_ISDIR(sb.st_mode);
        if (slash)
            *slash = '/';
        if (slash == NULL)
            break;
    }
    dscat_free(walk);
    if (linked) {
        snprintf(why, size,
                 "refusing to delete %s: a part of it is not a directory of the cache "
                 "(a symlink?)",
                 path);
        return -1;
    }
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        snprintf(why, size, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

static void process_deletions(dscat_store *st, const dscat_config *cfg, dscat_warnings *w)
{
    sqlite3 *db = dscat_store__db(st);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT path, delete_after, retry_count FROM pending_deletions", -1,
                           &s, NULL) != SQLITE_OK)
        return;
    int64_t now = dscat_now_us();
    typedef struct {
        char *path;
        int action; /* 0 delete row, 1 retry, 2 defer 24 h */
    } todo;
    todo *list = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(s, 0);
        const char *after = (const char *)sqlite3_column_text(s, 1);
        int retries = sqlite3_column_int(s, 2);
        int64_t due;
        int action;
        if (!parse_iso(after, &due)) {
            warn(w, "pending deletion of %s has an unparsable delete_after '%s': deferred 24 h",
                 path, after ? after : "");
            action = 2;
        } else if (due > now) {
            continue;
        } else {
            char why[512] = "";
            if (delete_prefix(cfg, path, why, sizeof(why)) == 0) {
                action = 0;
            } else if (retries + 1 >= MAX_RETRIES) {
                warn(w, "giving up deleting %s after %d failures: %s", path, retries + 1, why);
                action = 0;
            } else {
                warn(w, "cannot delete %s (attempt %d of %d): %s", path, retries + 1, MAX_RETRIES,
                     why);
                action = 1;
            }
        }
        todo *g = dscat_realloc(list, (n + 1) * sizeof(*g));
        if (g == NULL)
            break;
        list = g;
        list[n++] = (todo){dscat_strdup(path), action};
    }
    sqlite3_finalize(s);
    char later[40];
    iso_after(86400, later, sizeof(later));
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        const char *sql = list[i].action == 0 ? "DELETE FROM pending_deletions WHERE path = ?1"
                          : list[i].action == 1
                              ? "UPDATE pending_deletions SET retry_count = retry_count + 1 "
                                "WHERE path = ?1"
                              : "UPDATE pending_deletions SET delete_after = ?2 WHERE path = ?1";
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, list[i].path, -1, SQLITE_STATIC);
            if (list[i].action == 2)
                sqlite3_bind_text(s, 2, later, -1, SQLITE_STATIC);
            sqlite3_step(s);
            sqlite3_finalize(s);
        }
        dscat_free(list[i].path);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    dscat_free(list);
}

/* True when the store knows path (current or pending). */
static bool known_path(sqlite3 *db, const char *path)
{
    sqlite3_stmt *s = NULL;
    bool known = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM table_cache WHERE path = ?1 UNION ALL "
                           "SELECT 1 FROM pending_deletions WHERE path = ?1",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
        known = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    return known;
}

/*
 * Calls fn with the path and stat of every entry of dir but the dot entries (.lock, ...);
 * nothing when dir cannot be read.
 */
static void each_entry(const char *dir,
                       void (*fn)(const char *path, const char *name, const struct stat *sb,
                                  void *payload),
                       void *payload)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        dscat_buf p = DSCAT_BUF_INIT;
        struct stat sb;
        /* lstat: a symlink planted in the cache is never taken for a directory of ours */
        if (dscat_buf_printf(&p, "%s/%s", dir, e->d_name) == 0 &&
            lstat(dscat_buf_cstr(&p), &sb) == 0 && !S_ISLNK(sb.st_mode))
            fn(dscat_buf_cstr(&p), e->d_name, &sb, payload);
        dscat_buf_free(&p);
    }
    if (d)
        closedir(d);
}

typedef struct path_list {
    char **items;
    size_t count;
} path_list;

static void add_subdir(const char *path, const char *name, const struct stat *sb, void *payload)
{
    (void)name;
    path_list *l = payload;
    char **g =
        S_ISDIR(sb->st_mode) ? dscat_realloc(l->items, (l->count + 1) * sizeof(char *)) : NULL;
    if (g == NULL)
        return;
    l->items = g;
    if ((g[l->count] = dscat_strdup(path)) != NULL)
        l->count++;
}

/* Lists the subdirectories of dir (not dot entries). Caller frees each and the array. */
static size_t subdirs(const char *dir, char ***out)
{
    path_list l = {NULL, 0};
    each_entry(dir, add_subdir, &l);
    *out = l.items;
    return l.count;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dscat_free(l[i]);
    dscat_free(l);
}

static void schedule_path(sqlite3 *db, const char *path, const char *when, dscat_warnings *w)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO pending_deletions(path, delete_after, retry_count) "
                           "VALUES (?1, ?2, 0) ON CONFLICT(path) DO NOTHING",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, when, -1, SQLITE_STATIC);
        sqlite3_step(s);
        sqlite3_finalize(s);
        warn(w, "orphaned version %s scheduled for deletion", path);
    }
}

/* True when a refresh holds the lock file at path (absent: nobody). */
static bool lock_held(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    bool held = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0;
    if (fd >= 0)
        close(fd);
    return held;
}

/*
 * Staging files a killed refresh left behind (named <version>-<pid>.parquet): removed once as old
 * as an orphan and their process is gone.
 */
static void remove_if_stale(const char *path, const char *name, const struct stat *sb,
                            void *payload)
{
    const char *dash = strrchr(name, '-');
    long long pid = 0;
    const char *stop;
    if (dash && dscat_text_to_ll(&pid, dash + 1, &stop, 1, INT32_MAX) != 0)
        pid = 0;
    if (dash && dscat_now_us() - (int64_t)sb->st_mtime * 1000000 >= orphan_age_us() &&
        (pid <= 0 || kill((pid_t)pid, 0) != 0) && unlink(path) == 0)
        warn(payload, "removed %s, left by an interrupted refresh", path);
}

static void remove_stale_staging(dscat_warnings *w)
{
    char *dir = s3_local_dir("staging");
    each_entry(dir, remove_if_stale, w);
    dscat_free(dir);
}

/* S3 orphans: version prefixes (conn/schema/table/version/) from one paged listing of the root. */
static void schedule_s3_orphans(dscat_store *st, const dscat_config *cfg, const char *when,
                                dscat_warnings *w)
{
    dscat_s3 *s3 = NULL;
    dscat_s3_object *o = NULL;
    size_t n = 0;
    dscat_error e = {0};
    dscat_buf root = DSCAT_BUF_INIT;
    char id[64];
    if (dscat_store__catalog_id(st, id, sizeof(id)))
        return;
    if (dscat_s3_open(&s3, cfg->settings.cache_root, &cfg->settings, &e) == 0) {
        const char *prefix = dscat_s3_prefix(s3);
        dscat_buf_printf(&root, "%s%s", prefix, *prefix ? "/" : "");
        if (dscat_s3_list(s3, dscat_buf_cstr(&root), &o, &n, &e))
            warn(w, "cannot list the cache root for orphans: %s", e.message);
    }
    char *locks = s3_local_dir("locks");
    int64_t now = dscat_now_us();
    for (size_t i = 0; i < n && locks;) {
        /* keys are sorted: the keys of one version are consecutive */
        const char *rest = o[i].key + root.len, *p = rest;
        for (int seg = 0; seg < 4 && p; seg++)
            p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL;
        if (p == NULL) {
            i++;
            continue;
        }
        size_t vlen = (size_t)(p - 1 - o[i].key);
        int64_t newest = 0;
        size_t j = i;
        bool mine = false;
        for (; j < n && strncmp(o[j].key, o[i].key, vlen + 1) == 0; j++) {
            if (o[j].modified_us > newest)
                newest = o[j].modified_us;
            mine |= id[0] && strncmp(o[j].key + vlen + 1, MARKER, strlen(MARKER)) == 0 &&
                    strcmp(o[j].key + vlen + 1 + strlen(MARKER), id) == 0;
        }
        dscat_buf path = DSCAT_BUF_INIT, lock = DSCAT_BUF_INIT;
        const char *table_end = memrchr(o[i].key, '/', vlen);
        dscat_buf_printf(&path, "s3://%s/%.*s", dscat_s3_bucket(s3), (int)vlen, o[i].key);
        dscat_buf_printf(&lock, "%s/%.*s/.lock", locks, table_end ? (int)(table_end - rest) : 0,
                         rest);
        if (mine && now - newest >= orphan_age_us() && !lock_held(dscat_buf_cstr(&lock)) &&
            !known_path(dscat_store__db(st), dscat_buf_cstr(&path)))
            schedule_path(dscat_store__db(st), dscat_buf_cstr(&path), when, w);
        dscat_buf_free(&path);
        dscat_buf_free(&lock);
        i = j;
    }
    dscat_free(locks);
    dscat_buf_free(&root);
    dscat_s3_objects_free(o, n);
    dscat_s3_close(s3);
}

/*
 * Orphans: version directories no store row points to, that no refresh is writing (the table's
 * lock is free) and that are older than an hour, are scheduled for deletion.
 */
static void schedule_orphans(dscat_store *st, const dscat_config *cfg, dscat_warnings *w)
{
    sqlite3 *db = dscat_store__db(st);
    if (on_s3(cfg)) {
        char when[40];
        iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
        schedule_s3_orphans(st, cfg, when, w);
        remove_stale_staging(w);
        return;
    }
    char **conns, **schemas, **tables, **versions;
    char id[64];
    if (dscat_store__catalog_id(st, id, sizeof(id)))
        return;
    size_t nc = subdirs(cfg->settings.cache_root, &conns);
    char when[40];
    iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    int64_t now = dscat_now_us();
    for (size_t a = 0; a < nc; a++) {
        size_t ns = subdirs(conns[a], &schemas);
        for (size_t b = 0; b < ns; b++) {
            size_t nt = subdirs(schemas[b], &tables);
            for (size_t c = 0; c < nt; c++) {
                dscat_buf lock = DSCAT_BUF_INIT;
                dscat_buf_printf(&lock, "%s/.lock", tables[c]);
                int fd = open(dscat_buf_cstr(&lock), O_RDWR | O_CLOEXEC);
                dscat_buf_free(&lock);
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
                    close(fd); /* being refreshed: its new version is not an orphan */
                    continue;
                }
                size_t nv = subdirs(tables[c], &versions);
                for (size_t v = 0; v < nv; v++) {
                    struct stat sb;
                    if (lstat(versions[v], &sb) != 0 ||
                        now - (int64_t)sb.st_mtime * 1000000 < orphan_age_us() ||
                        !ours(versions[v], id) || known_path(db, versions[v]))
                        continue;
                    sqlite3_stmt *s = NULL;
                    if (sqlite3_prepare_v2(db,
                                           "INSERT INTO pending_deletions(path, delete_after, "
                                           "retry_count) VALUES (?1, ?2, 0) "
                                           "ON CONFLICT(path) DO NOTHING",
                                           -1, &s, NULL) == SQLITE_OK) {
                        sqlite3_bind_text(s, 1, versions[v], -1, SQLITE_STATIC);
                        sqlite3_bind_text(s, 2, when, -1, SQLITE_STATIC);
                        sqlite3_step(s);
                        sqlite3_finalize(s);
                        warn(w, "orphaned version %s scheduled for deletion", versions[v]);
                    }
                }
                free_list(versions, nv);
                if (fd >= 0)
                    close(fd);
            }
            free_list(tables, nt);
        }
        free_list(schemas, ns);
    }
    free_list(conns, nc);
}

int dscat_cache_maintain(const dscat_config *cfg, dscat_warnings *warnings, dscat_error *err)
{
    dscat_store *st = NULL;
    int rc = cache_root(cfg, err);
    if (rc == 0)
        rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc)
        return rc;
    schedule_orphans(st, cfg, warnings);
    process_deletions(st, cfg, warnings);
    dscat_store_close(st);
    return 0;
}

int dscat_cache_purge(const dscat_config *cfg, const char *connection_id, const char *schema,
                      const char *table, size_t *purged, dscat_error *err)
{
    dscat_store *st = NULL;
    sqlite3_stmt *s = NULL;
    const dscat_target_config *t;
    char *database = NULL;
    char when[40];
    *purged = 0;
    iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = dscat_connection_resolve(cfg, st, connection_id, &t, &database, err);
    if (rc == 0)
        rc = dscat_store__exec(st, "BEGIN IMMEDIATE", err);
    const char *match = "connection_id = ?1 AND (?2 IS NULL OR (schema = ?2 AND name = ?3))";
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_buf_printf(&sql,
                     "INSERT INTO pending_deletions(path, delete_after, retry_count) "
                     "SELECT path, ?4, 0 FROM table_cache WHERE %s ON CONFLICT(path) DO NOTHING",
                     match);
    for (int step = 0; step < 2 && rc == 0; step++) {
        if (step == 1) {
            dscat_buf_reset(&sql);
            dscat_buf_printf(&sql, "DELETE FROM table_cache WHERE %s", match);
        }
        if ((rc = dscat_store__prepare(st, &s, dscat_buf_cstr(&sql), err)))
            break;
        sqlite3_bind_text(s, 1, connection_id, -1, SQLITE_STATIC);
        if (table) {
            sqlite3_bind_text(s, 2, schema, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, table, -1, SQLITE_STATIC);
        }
        if (step == 0)
            sqlite3_bind_text(s, 4, when, -1, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : dscat_store__step_error(st, err);
        if (step == 1)
            *purged = (size_t)sqlite3_changes(dscat_store__db(st));
        sqlite3_finalize(s);
    }
    if (rc == 0)
        rc = dscat_store__exec(st, "COMMIT", err);
    else if (st)
        sqlite3_exec(dscat_store__db(st), "ROLLBACK", NULL, NULL, NULL);
    if (rc == 0 && table && *purged == 0)
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "table '%s.%s' is not cached", schema, table);
    dscat_buf_free(&sql);
    dscat_free(database);
    dscat_store_close(st);
    return rc;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return dscat_strdup(v ? (const char *)v : "");
}

int dscat_cache_list(dscat_cache_listing *out, const dscat_config *cfg, const char *connection_id,
                     dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_store *st = NULL;
    sqlite3_stmt *s = NULL;
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = dscat_store__prepare(st, &s,
                                  "SELECT connection_id, schema, name, version, path, rows, bytes, "
                                  "last_sync_us, fallbacks FROM table_cache WHERE ?1 IS NULL OR "
                                  "connection_id = ?1 ORDER BY 1, 2, 3",
                                  err);
    if (rc == 0) {
        if (connection_id)
            sqlite3_bind_text(s, 1, connection_id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            dscat_cached_table *g = dscat_realloc(out->tables, (out->count + 1) * sizeof(*g));
            if (g == NULL)
                break;
            out->tables = g;
            g[out->count++] = (dscat_cached_table){col_dup(s, 0),
                                                   col_dup(s, 1),
                                                   col_dup(s, 2),
                                                   col_dup(s, 3),
                                                   col_dup(s, 4),
                                                   sqlite3_column_int64(s, 5),
                                                   sqlite3_column_int64(s, 6),
                                                   sqlite3_column_int64(s, 7),
                                                   {NULL, 0}};
            fallbacks_parse(&g[out->count - 1].fallbacks, (const char *)sqlite3_column_text(s, 8));
        }
        sqlite3_finalize(s);
        rc = dscat_store__prepare(st, &s,
                                  "SELECT path, delete_after, retry_count FROM pending_deletions "
                                  "ORDER BY delete_after, path",
                                  err);
    }
    if (rc == 0) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            dscat_pending *g = dscat_realloc(out->pending, (out->npending + 1) * sizeof(*g));
            if (g == NULL)
                break;
            out->pending = g;
            g[out->npending++] =
                (dscat_pending){col_dup(s, 0), col_dup(s, 1), sqlite3_column_int(s, 2)};
        }
        sqlite3_finalize(s);
    }
    dscat_store_close(st);
    return rc;
}

void dscat_cache_listing_free(dscat_cache_listing *l)
{
    for (size_t i = 0; i < l->count; i++) {
        dscat_cached_table *t = &l->tables[i];
        dscat_free(t->connection_id);
        dscat_free(t->schema);
        dscat_free(t->table);
        dscat_free(t->version);
        dscat_free(t->path);
        dscat_fallbacks_free(&t->fallbacks);
    }
    dscat_free(l->tables);
    for (size_t i = 0; i < l->npending; i++) {
        dscat_free(l->pending[i].path);
        dscat_free(l->pending[i].delete_after);
    }
    dscat_free(l->pending);
    dscat_warnings_free(&l->warnings);
    memset(l, 0, sizeof(*l));
}

/* ---- local copies of S3 versions (the read cache) ------------------------------------------ */

/* The read cache's bound in bytes: DSCAT_READ_CACHE_MB, default 2048. */
static int64_t read_cache_bound(void)
{
    const char *v = getenv("DSCAT_READ_CACHE_MB");
    long long mb = dscat_text_ll_or(v, 1, INT32_MAX, 0);
    return (mb > 0 ? mb : 2048) * 1024 * 1024;
}

typedef struct cached_file {
    char *path;
    int64_t size;
    time_t used;
} cached_file;

static int by_use(const void *a, const void *b)
{
    const cached_file *x = a, *y = b;
    return x->used < y->used ? -1 : x->used > y->used;
}

typedef struct file_list {
    cached_file *items;
    size_t count;
    int64_t total;
} file_list;

static void add_copy(const char *path, const char *name, const struct stat *sb, void *payload)
{
    file_list *l = payload;
    if (strstr(name, ".tmp")) /* a download in progress */
        return;
    cached_file *g = dscat_realloc(l->items, (l->count + 1) * sizeof(*g));
    if (g == NULL)
        return;
    l->items = g;
    g[l->count] = (cached_file){dscat_strdup(path), (int64_t)sb->st_size, sb->st_mtime};
    if (g[l->count].path) {
        l->total += (int64_t)sb->st_size;
        l->count++;
    }
}

/* Evicts the least recently used copies until the read cache fits its bound; keep stays. */
static void evict(const char *dir, const char *keep)
{
    file_list l = {NULL, 0, 0};
    each_entry(dir, add_copy, &l);
    qsort(l.items, l.count, sizeof(*l.items), by_use);
    int64_t bound = read_cache_bound();
    for (size_t i = 0; i < l.count; i++) {
        if (l.total > bound && strcmp(l.items[i].path, keep) != 0 && unlink(l.items[i].path) == 0)
            l.total -= l.items[i].size;
        dscat_free(l.items[i].path);
    }
    dscat_free(l.items);
}

int dscat_cache__local_file(const dscat_config *cfg, const char *version_path, char **out,
                            dscat_error *err)
{
    *out = NULL;
    dscat_buf b = DSCAT_BUF_INIT;
    if (!on_s3(cfg)) {
        dscat_buf_printf(&b, "%s/data.parquet", version_path);
        *out = dscat_buf_detach(&b);
        return *out ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    /* Versions never change, so a copy keyed by the version path is never stale. */
    char *dir = s3_local_dir("read");
    char *name = dscat_cache_encode(version_path);
    const char *key = s3_key(cfg, version_path);
    if (dir == NULL || name == NULL || key == NULL || mkdirs(dir)) {
        dscat_free(dir);
        dscat_free(name);
        return dscat_error_set(err, DSCAT_EIO, "cannot prepare the S3 read cache for %s",
                               version_path);
    }
    dscat_buf_printf(&b, "%s/%s.parquet", dir, name);
    int rc = 0;
    if (utime(dscat_buf_cstr(&b), NULL) != 0) { /* not there yet (else: marked as used now) */
        dscat_buf tmp = DSCAT_BUF_INIT, k = DSCAT_BUF_INIT;
        dscat_s3 *s3 = NULL;
        dscat_buf_printf(&tmp, "%s.%ld.tmp", dscat_buf_cstr(&b), (long)getpid());
        dscat_buf_printf(&k, "%s/data.parquet", key);
        if ((rc = dscat_s3_open(&s3, cfg->settings.cache_root, &cfg->settings, err)) == 0 &&
            (rc = dscat_s3_get_file(s3, dscat_buf_cstr(&k), dscat_buf_cstr(&tmp), err)) == 0 &&
            rename(dscat_buf_cstr(&tmp), dscat_buf_cstr(&b)) != 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot keep the download of %s: %s", version_path,
                                 strerror(errno));
        unlink(dscat_buf_cstr(&tmp));
        dscat_s3_close(s3);
        dscat_buf_free(&tmp);
        dscat_buf_free(&k);
    }
    if (rc == 0)
        evict(dir, dscat_buf_cstr(&b));
    dscat_free(dir);
    dscat_free(name);
    if (rc) {
        dscat_buf_free(&b);
        return rc;
    }
    *out = dscat_buf_detach(&b);
    return 0;
}
