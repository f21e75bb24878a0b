/*
 * The cache writer: a table's rows from the source through a DuckDB table function into
 * DuckDB's Parquet writer (text values, cast in SQL to each column's type), memory bounded
 * whatever the table size, and the file read back whole before anyone may use it. The file is a
 * local one (a staging path of the storage); publishing it is the refresh's job.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/duck.h"
#include "core/timeutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    dscat_cache__test_crash("streaming"); /* die in the middle of a refresh */
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

/*
 * Streams the table into path (Parquet). *rows receives the row count. When a value does not
 * fit its column's native type, the write stops, the rest of the rows is scanned, the columns
 * that need it move to a fallback (cols[].storage) and DSCAT_CACHE_WRITE_AGAIN is returned.
 */
int dscat_cache__write_parquet(dscat_source *src, const char *schema, const char *table,
                               cache_column *cols, size_t ncols, const char *path, int64_t *rows,
                               const dscat_cache_job *job, dscat_error *err)
{
    int rc = dscat_duck_load(err);
    if (rc)
        return rc;
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
        rc = DSCAT_CACHE_WRITE_AGAIN;
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

/* ---- the columns ----------------------------------------------------------------------------- */

/* The table's columns from the catalog, with their cache types. */
int dscat_cache__catalog_columns(dscat_store *st, const dscat_target_config *t,
                                 const char *database, const char *schema, const char *table,
                                 cache_column **out, size_t *n, dscat_error *err)
{
    dscat_stmt *s = NULL;
    *out = NULL;
    *n = 0;
    int rc = dscat_stmt__prepare(
        &s, st,
        "SELECT c.name, c.data_type, c.column_type, c.numeric_precision, c.numeric_scale "
        "FROM " DSCAT_CURRENT_TABLES " t JOIN columns c ON c.set_id = t.column_set "
        "WHERE t.target = ?1 AND t.database = ?2 AND t.schema = ?3 AND t.name = ?4 "
        "ORDER BY c.ordinal",
        err);
    if (rc)
        return rc;
    dscat_stmt__bind_text(s, 1, t->key);
    dscat_stmt__bind_text(s, 2, database);
    dscat_stmt__bind_text(s, 3, schema);
    dscat_stmt__bind_text(s, 4, table);
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        cache_column *g = dscat_realloc(*out, (*n + 1) * sizeof(*g));
        if (g == NULL) {
            dscat_stmt__finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        *out = g;
        cache_column *c = &g[(*n)++];
        memset(c, 0, sizeof(*c));
        if ((c->name = dscat_strdup(dscat_stmt__text(s, 0))) == NULL) {
            dscat_stmt__finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        dscat_cache_map_type(c, t->driver, dscat_stmt__text(s, 1), dscat_stmt__text(s, 2),
                             dscat_stmt__is_null(s, 3) ? -1 : dscat_stmt__int(s, 3),
                             dscat_stmt__is_null(s, 4) ? -1 : dscat_stmt__int(s, 4));
        dscat_cache_column_kind(c);
        c->storage = STORE_NATIVE;
    }
    dscat_stmt__finalize(s);
    if (*n == 0)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "table '%s.%s' not found", schema, table);
    return 0;
}

void dscat_cache__free_columns(cache_column *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dscat_free(c[i].name);
    dscat_free(c);
}

/*
 * Where the engine does not enforce types (SQLite), the storage classes present decide up front:
 * blobs or text holding NUL bytes make a column binary (its bytes, hex from the source), and a
 * numeric column holding other classes is text.
 */
int dscat_cache__plan_storage(dscat_source *src, const char *schema, const char *table,
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
int dscat_cache__fallback_reason(dscat_buf *b, const cache_column *c)
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
