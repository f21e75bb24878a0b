/*
 * The cache writer: a table's rows from the source through a DuckDB table function into
 * DuckDB's Parquet writer, memory bounded whatever the table size, and the file read back whole
 * before anyone may use it. The file is a local one (a staging path of the storage); publishing
 * it is the refresh's job.
 *
 * Where the engine has the typed row path (PostgreSQL's binary COPY), a column whose values
 * arrive decoded is handed to DuckDB as whole vectors of its own type; every other column goes as
 * text, cast in SQL to its type.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/duck.h"
#include "core/timeutil.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DuckDB's TIMESTAMP range, in microseconds since 1970 (290309-12-22 BC to 294247-01-10). */
#define TS_MIN (-9223372022400000000LL)
#define TS_MAX (9223372036854775806LL)

/* How a column's values sit in a batch and in DuckDB's vector: the physical type bound. */
typedef enum phys {
    PHYS_STRING, /* VARCHAR (text, cast in SQL where the type is another) or BLOB */
    PHYS_1,      /* BOOLEAN, TINYINT, UTINYINT */
    PHYS_2,      /* SMALLINT, USMALLINT, DECIMAL(p <= 4) */
    PHYS_4,      /* INTEGER, UINTEGER, FLOAT, DATE, DECIMAL(p <= 9) */
    PHYS_8,      /* BIGINT, DOUBLE, TIME, TIMESTAMP[TZ], DECIMAL(p <= 18) */
    PHYS_16      /* DECIMAL(p <= 38), UUID: a duckdb_hugeint */
} phys;

static const size_t phys_width[] = {16, 1, 2, 4, 8, 16};

#define FEED_BATCHES 8
#define FEED_QUEUE_BYTES ((size_t)8 << 20)

/* A string in a batch: its place in the batch's text. */
typedef struct str_cell {
    size_t off, len;
} str_cell;

/*
 * Rows are read from the source on a thread of their own and handed to DuckDB in batches of one
 * vector through a bounded ring of batches (two to FEED_BATCHES, within FEED_QUEUE_BYTES of
 * values, strings aside): the source's network and decoding overlap DuckDB's Parquet encoding,
 * and memory stays at the ring's batches. A batch holds each column's values contiguously, in
 * the layout of the DuckDB vector they go to.
 */
typedef struct batch {
    char *text; /* the strings of the batch */
    size_t len, cap;
    unsigned char *data; /* per column: capacity values of its width, at feed.col_off[c] */
    bool *null;          /* per column: capacity flags, at c * capacity */
    size_t rows;
    bool full;
} batch;

typedef struct feed {
    const dscat_source_driver *driver;
    dscat_cursor *cursor;
    bool typed_cursor;   /* the cursor gives dscat_values (cursor_next_typed) */
    cache_column *cols;  /* each value is checked against its column (cache/values.c) */
    cache_storage *want; /* per column: the storage the values found so far need */
    dscat_wire *wires;   /* per column: the form its values arrive in */
    phys *phys;          /* per column: how it is bound */
    size_t *col_off;     /* per column: where its values start in batch.data */
    dscat_value *row;    /* the text path's row as values */
    bool misfit;         /* a value did not fit: the write stops, the rows are scanned */
    bool scan_failed;    /* reading the rest after a misfit failed (err says why) */
    dscat_cache_progress_fn progress; /* called from the reader thread, rate-limited */
    void *payload;
    const char *schema, *table;
    int64_t rows, started_ms, reported_ms;
    dscat_buf scratch, cstr;
    size_t ncolumns, capacity; /* rows per batch */
    dscat_error *err;          /* written by the reader thread before it sets finished */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch b[FEED_BATCHES];
    int nbatches;     /* in the ring: 2 to FEED_BATCHES, as memory allows */
    int held;         /* batches full, waiting for DuckDB */
    size_t held_text; /* their strings' bytes: past FEED_QUEUE_BYTES, only two are held */
    int next;         /* the batch DuckDB takes next */
    bool finished;    /* the reader has handed over its last batch (or failed) */
    bool failed;      /* the reader failed: err says why */
    bool stop;        /* DuckDB is done (or gave up): the reader stops */
} feed;

/* Copies n bytes of value into the batch's text as the string of slot. */
static int batch_string(batch *b, str_cell *slot, const char *value, size_t n)
{
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
    if (n)
        memcpy(b->text + b->len, value, n);
    slot->off = b->len;
    slot->len = n;
    b->len += n;
    return 0;
}

/*
 * Checks one text value of column c, the *len bytes at *value (NUL bytes included); 1 with
 * *value and *len set to what DuckDB gets, 0 for a misfit (noted in f->want), or an error.
 */
static int check_value(feed *f, size_t c, const char **value, size_t *len)
{
    cache_column col = f->cols[c];
    col.storage = f->want[c];
    value_fit fit = dscat_cache_value(&col, *value, *len, &f->scratch);
    if (fit == VALUE_MISFIT && col.storage == STORE_NATIVE)
        fit = dscat_utf8_valid(*value, *len) ? VALUE_MISFIT : VALUE_NOT_UTF8;
    switch (fit) {
    case VALUE_PASS:
        return 1;
    case VALUE_OK:
        *value = dscat_buf_cstr(&f->scratch);
        *len = f->scratch.len;
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

/* 10^n, n <= 38, as 128-bit integers: no division on the way of a value. */
static const dscat_int128 pow10_128[39] = {
    (dscat_int128)1ULL,
    (dscat_int128)10ULL,
    (dscat_int128)100ULL,
    (dscat_int128)1000ULL,
    (dscat_int128)10000ULL,
    (dscat_int128)100000ULL,
    (dscat_int128)1000000ULL,
    (dscat_int128)10000000ULL,
    (dscat_int128)100000000ULL,
    (dscat_int128)1000000000ULL,
    (dscat_int128)10000000000ULL,
    (dscat_int128)100000000000ULL,
    (dscat_int128)1000000000000ULL,
    (dscat_int128)10000000000000ULL,
    (dscat_int128)100000000000000ULL,
    (dscat_int128)1000000000000000ULL,
    (dscat_int128)10000000000000000ULL,
    (dscat_int128)100000000000000000ULL,
    (dscat_int128)1000000000000000000ULL,
    (dscat_int128)10000000000000000000ULL,
    (dscat_int128)10ULL * 10000000000000000000ULL,
    (dscat_int128)100ULL * 10000000000000000000ULL,
    (dscat_int128)1000ULL * 10000000000000000000ULL,
    (dscat_int128)10000ULL * 10000000000000000000ULL,
    (dscat_int128)100000ULL * 10000000000000000000ULL,
    (dscat_int128)1000000ULL * 10000000000000000000ULL,
    (dscat_int128)10000000ULL * 10000000000000000000ULL,
    (dscat_int128)100000000ULL * 10000000000000000000ULL,
    (dscat_int128)1000000000ULL * 10000000000000000000ULL,
    (dscat_int128)10000000000ULL * 10000000000000000000ULL,
    (dscat_int128)100000000000ULL * 10000000000000000000ULL,
    (dscat_int128)1000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)10000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)100000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)1000000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)10000000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)100000000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)1000000000000000000ULL * 10000000000000000000ULL,
    (dscat_int128)10000000000000000000ULL * 10000000000000000000ULL,
};

/* Stores a DECIMAL(p,s)'s unscaled value in the width DuckDB gives that precision. */
static void put_decimal(unsigned char *out, phys ph, dscat_int128 v)
{
    if (ph == PHYS_2) {
        int16_t x = (int16_t)v;
        memcpy(out, &x, 2);
    } else if (ph == PHYS_4) {
        int32_t x = (int32_t)v;
        memcpy(out, &x, 4);
    } else if (ph == PHYS_8) {
        int64_t x = (int64_t)v;
        memcpy(out, &x, 8);
    } else {
        duckdb_hugeint h = {(uint64_t)v, (int64_t)(v >> 64)};
        memcpy(out, &h, 16);
    }
}

/*
 * Checks one decoded value of column c and writes it to out in the column's bound layout: true,
 * or false when the column's type cannot hold it exactly (the same values the text path finds
 * misfits: docs/cache.md, "Exact or lossless").
 */
static bool typed_fits(const cache_column *c, phys ph, const dscat_value *v, unsigned char *out)
{
    switch ((dscat_wire)v->wire) {
    case DSCAT_WIRE_INT: {
        int64_t x = v->v.i, lo, hi;
        switch (c->kind) {
        case KIND_INT8:
            lo = INT8_MIN, hi = INT8_MAX;
            break;
        case KIND_INT16:
            lo = INT16_MIN, hi = INT16_MAX;
            break;
        case KIND_INT32:
            lo = INT32_MIN, hi = INT32_MAX;
            break;
        case KIND_INT64:
            lo = INT64_MIN, hi = INT64_MAX;
            break;
        case KIND_UINT8:
            lo = 0, hi = UINT8_MAX;
            break;
        case KIND_UINT16:
            lo = 0, hi = UINT16_MAX;
            break;
        case KIND_UINT32:
            lo = 0, hi = UINT32_MAX;
            break;
        default:
            return false;
        }
        if (x < lo || x > hi)
            return false;
        if (ph == PHYS_1) {
            uint8_t n = (uint8_t)x;
            memcpy(out, &n, 1);
        } else if (ph == PHYS_2) {
            uint16_t n = (uint16_t)x;
            memcpy(out, &n, 2);
        } else if (ph == PHYS_4) {
            uint32_t n = (uint32_t)x;
            memcpy(out, &n, 4);
        } else {
            memcpy(out, &x, 8);
        }
        return true;
    }
    case DSCAT_WIRE_FLOAT4: {
        float x = isnan(v->v.f) ? NAN : v->v.f; /* one NaN, as DuckDB parses "NaN" */
        memcpy(out, &x, 4);
        return true;
    }
    case DSCAT_WIRE_FLOAT8: {
        double x = isnan(v->v.d) ? (double)NAN : v->v.d;
        memcpy(out, &x, 8);
        return true;
    }
    case DSCAT_WIRE_BOOL:
        *out = v->v.b;
        return true;
    case DSCAT_WIRE_DATE: {
        /* DuckDB's DATE: 32-bit days, its extremes being the infinities */
        int32_t x;
        if (v->special)
            x = v->special > 0 ? INT32_MAX : -INT32_MAX;
        else if (v->v.i < -2147483646LL || v->v.i > 2147483646LL)
            return false;
        else
            x = (int32_t)v->v.i;
        memcpy(out, &x, 4);
        return true;
    }
    case DSCAT_WIRE_TIME:
        if (v->v.i < 0 || v->v.i > 86400000000LL)
            return false;
        memcpy(out, &v->v.i, 8);
        return true;
    case DSCAT_WIRE_TIMESTAMP:
    case DSCAT_WIRE_TIMESTAMPTZ: {
        int64_t x = v->v.i;
        if (v->special == 2 || (v->special == 0 && (x < TS_MIN || x > TS_MAX)))
            return false; /* past DuckDB's range (PostgreSQL's reaches 294276 AD) */
        if (v->special)
            x = v->special > 0 ? INT64_MAX : -INT64_MAX;
        memcpy(out, &x, 8);
        return true;
    }
    case DSCAT_WIRE_DECIMAL: {
        if (v->special || v->scale > c->scale)
            return false;                /* NaN, an infinity, more fraction digits than the scale */
        int shift = c->scale - v->scale; /* <= scale <= precision */
        dscat_int128 x = v->v.dec;
        if ((x < 0 ? -x : x) >= pow10_128[c->precision - shift])
            return false; /* more whole digits than precision - scale */
        put_decimal(out, ph, x * pow10_128[shift]);
        return true;
    }
    case DSCAT_WIRE_UUID: {
        /* DuckDB's UUID: the 128 bits as a hugeint, the top bit flipped (so that its order is
         * the text's) */
        uint64_t hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | v->v.uuid[i];
            lo = lo << 8 | v->v.uuid[8 + i];
        }
        duckdb_hugeint h = {lo, (int64_t)(hi ^ UINT64_C(0x8000000000000000))};
        memcpy(out, &h, 16);
        return true;
    }
    case DSCAT_WIRE_TEXT:
    case DSCAT_WIRE_NULL:
    case DSCAT_WIRE_BYTES:
        break;
    }
    return false;
}

/*
 * Checks value v of column c and, with b, stores it in row r of batch b: 1, 0 for a misfit
 * (noted in f->want: the file will not be kept), or an error. Without b (the scan after a
 * misfit) nothing is stored: DuckDB may still be reading the batches.
 */
static int take_value(feed *f, batch *b, size_t c, size_t r, const dscat_value *v)
{
    unsigned char spare[16];
    bool spare_null;
    bool *null = b ? b->null + c * f->capacity + r : &spare_null;
    unsigned char *slot = b ? b->data + f->col_off[c] + r * phys_width[f->phys[c]] : spare;
    str_cell *str = (str_cell *)(void *)slot;
    if (v->wire == DSCAT_WIRE_NULL) {
        *null = true;
        memset(slot, 0, phys_width[f->phys[c]]); /* DuckDB never reads it: defined all the same */
        return 1;
    }
    *null = false;
    if (f->wires[c] == DSCAT_WIRE_BYTES) {
        if (b && batch_string(b, str, v->v.p, v->len))
            return dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
        return 1;
    }
    if (f->wires[c] != DSCAT_WIRE_TEXT) {
        if (typed_fits(&f->cols[c], f->phys[c], v, slot))
            return 1;
        f->want[c] = STORE_TEXT;
        f->misfit = true;
        return 0;
    }
    const cache_column *col = &f->cols[c];
    if (f->want[c] == STORE_NATIVE && col->kind == KIND_TEXT && !col->hex) {
        /* text as text: it only has to be UTF-8 */
        if (!dscat_utf8_valid(v->v.p, v->len)) {
            f->want[c] = STORE_BINARY;
            f->misfit = true;
            return 0;
        }
        if (b && batch_string(b, str, v->v.p, v->len))
            return dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
        return 1;
    }
    const char *text = v->v.p;
    size_t len = v->len;
    if (f->typed_cursor) { /* the typed path's text is not NUL-terminated */
        dscat_buf_reset(&f->cstr);
        if (dscat_buf_put(&f->cstr, v->v.p, v->len) || dscat_buf_error(&f->cstr))
            return dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
        text = dscat_buf_cstr(&f->cstr);
    }
    int rc = check_value(f, c, &text, &len);
    if (rc > 0 && b && batch_string(b, str, text, len))
        return dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
    return rc;
}

/* The next row as values: the typed path's, or the text path's wrapped. */
static int next_row(feed *f, const dscat_value **values)
{
    if (f->typed_cursor)
        return f->driver->cursor_next_typed(f->cursor, values, f->err);
    const char *const *text = NULL;
    int rc = f->driver->cursor_next(f->cursor, &text, f->err);
    for (size_t c = 0; rc > 0 && c < f->ncolumns; c++) {
        f->row[c].wire = text[c] ? DSCAT_WIRE_TEXT : DSCAT_WIRE_NULL;
        f->row[c].v.p = text[c];
        f->row[c].len = text[c] ? strlen(text[c]) : 0;
    }
    *values = f->row;
    return rc;
}

/* After a misfit: reads the rest of the rows only to find every column that needs a fallback. */
static int scan_rest(feed *f)
{
    int rc;
    const dscat_value *values = NULL;
    while ((rc = next_row(f, &values)) > 0)
        for (size_t c = 0; c < f->ncolumns && rc > 0; c++)
            if (f->want[c] != STORE_BINARY && (rc = take_value(f, NULL, c, 0, &values[c])) == 0)
                rc = 1;
    return rc;
}

static void *feed_reader(void *arg)
{
    feed *f = arg;
    int rc = 0;
    for (int i = 0;; i = (i + 1) % f->nbatches) {
        batch *b = &f->b[i];
        /* A reader that had to wait goes on once DuckDB has taken half the ring: one wake-up per
         * half ring, not one per batch. */
        pthread_mutex_lock(&f->mu);
        for (bool waited = false;
             !f->stop && (b->full || (f->held >= 2 && f->held_text >= FEED_QUEUE_BYTES) ||
                          (waited && f->held > f->nbatches / 2));
             waited = true)
            pthread_cond_wait(&f->cv, &f->mu);
        bool stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        if (f->nbatches > 2 && b->cap > FEED_QUEUE_BYTES / (size_t)f->nbatches) {
            dscat_free(b->text); /* long strings: the ring holds no more than two batches' */
            b->text = NULL;
            b->cap = 0;
        }
        b->rows = b->len = 0;
        while (b->rows < f->capacity) {
            const dscat_value *values = NULL;
            if ((rc = next_row(f, &values)) <= 0)
                break;
            for (size_t c = 0; c < f->ncolumns && rc > 0; c++) {
                /* a misfit notes its column and the row's others are still checked */
                if ((rc = take_value(f, f->misfit ? NULL : b, c, b->rows, &values[c])) == 0)
                    rc = 1;
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
        if (b->full) {
            f->held++;
            f->held_text += b->len;
        }
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

/* The DuckDB type column c is bound as: its own where its values arrive decoded, else text. */
static duckdb_logical_type bound_type(const feed *f, size_t c)
{
    const cache_column *col = &f->cols[c];
    static const struct {
        value_kind kind;
        duckdb_type type;
    } types[] = {
        {KIND_BOOLEAN, DUCKDB_TYPE_BOOLEAN},     {KIND_INT8, DUCKDB_TYPE_TINYINT},
        {KIND_INT16, DUCKDB_TYPE_SMALLINT},      {KIND_INT32, DUCKDB_TYPE_INTEGER},
        {KIND_INT64, DUCKDB_TYPE_BIGINT},        {KIND_UINT8, DUCKDB_TYPE_UTINYINT},
        {KIND_UINT16, DUCKDB_TYPE_USMALLINT},    {KIND_UINT32, DUCKDB_TYPE_UINTEGER},
        {KIND_FLOAT, DUCKDB_TYPE_FLOAT},         {KIND_DOUBLE, DUCKDB_TYPE_DOUBLE},
        {KIND_DATE, DUCKDB_TYPE_DATE},           {KIND_TIME, DUCKDB_TYPE_TIME},
        {KIND_TIMESTAMP, DUCKDB_TYPE_TIMESTAMP}, {KIND_TIMESTAMPTZ, DUCKDB_TYPE_TIMESTAMP_TZ},
        {KIND_UUID, DUCKDB_TYPE_UUID},
    };
    if (f->wires[c] == DSCAT_WIRE_BYTES)
        return duckdb_create_logical_type(DUCKDB_TYPE_BLOB);
    if (f->wires[c] == DSCAT_WIRE_DECIMAL)
        return duckdb_create_decimal_type((uint8_t)col->precision, (uint8_t)col->scale);
    for (size_t i = 0; f->wires[c] != DSCAT_WIRE_TEXT && i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].kind == col->kind)
            return duckdb_create_logical_type(types[i].type);
    return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
}

static void feed_bind(duckdb_bind_info info)
{
    feed *f = duckdb_bind_get_extra_info(info);
    for (size_t i = 0; i < f->ncolumns; i++) {
        char name[32];
        snprintf(name, sizeof(name), "c%zu", i);
        duckdb_logical_type t = bound_type(f, i);
        duckdb_bind_add_result_column(info, name, t);
        duckdb_destroy_logical_type(&t);
    }
}

static void feed_init(duckdb_init_info info)
{
    duckdb_init_set_max_threads(info, 1);
}

/* Fills one chunk with the next batch, whole vectors at a time; an empty chunk ends the table. */
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
        const bool *null = b->null + c * f->capacity;
        const unsigned char *data = b->data + f->col_off[c];
        if (f->phys[c] != PHYS_STRING)
            memcpy(duckdb_vector_get_data(v), data, b->rows * phys_width[f->phys[c]]);
        const str_cell *s = (const str_cell *)(const void *)data;
        for (size_t r = 0; r < b->rows; r++) {
            if (null[r]) {
                duckdb_vector_ensure_validity_writable(v);
                duckdb_validity_set_row_invalid(duckdb_vector_get_validity(v), r);
            } else if (f->phys[c] == PHYS_STRING) {
                duckdb_vector_assign_string_element_len(v, r, b->text + s[r].off, s[r].len);
            }
        }
    }
    duckdb_data_chunk_set_size(chunk, b->rows);
    dscat_cache__test_crash("streaming"); /* die in the middle of a refresh */
    pthread_mutex_lock(&f->mu);
    b->full = false;
    f->held--;
    f->held_text -= b->len;
    f->next = (f->next + 1) % f->nbatches;
    if (f->held <= f->nbatches / 2) /* what a waiting reader waits for */
        pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/*
 * The form the writer asks the typed path for: each native type's own, text for the fallbacks
 * and for the types that go through text (VARCHAR, JSON).
 */
static dscat_wire wanted_wire(const cache_column *c)
{
    if (c->storage != STORE_NATIVE)
        return DSCAT_WIRE_TEXT;
    if (c->hex)
        return c->kind == KIND_BLOB ? DSCAT_WIRE_BYTES : DSCAT_WIRE_TEXT;
    switch (c->kind) {
    case KIND_INT8:
    case KIND_INT16:
    case KIND_INT32:
    case KIND_INT64:
    case KIND_UINT8:
    case KIND_UINT16:
    case KIND_UINT32:
        return DSCAT_WIRE_INT;
    case KIND_FLOAT:
        return DSCAT_WIRE_FLOAT4;
    case KIND_DOUBLE:
        return DSCAT_WIRE_FLOAT8;
    case KIND_BOOLEAN:
        return DSCAT_WIRE_BOOL;
    case KIND_DATE:
        return DSCAT_WIRE_DATE;
    case KIND_TIME:
        return DSCAT_WIRE_TIME;
    case KIND_TIMESTAMP:
        return DSCAT_WIRE_TIMESTAMP;
    case KIND_TIMESTAMPTZ:
        return DSCAT_WIRE_TIMESTAMPTZ;
    case KIND_DECIMAL:
        return c->precision >= 1 && c->precision <= 38 && c->scale >= 0 && c->scale <= c->precision
                   ? DSCAT_WIRE_DECIMAL
                   : DSCAT_WIRE_TEXT;
    case KIND_UUID:
        return DSCAT_WIRE_UUID;
    case KIND_UINT64:
    case KIND_TEXT:
    case KIND_JSON:
    case KIND_BLOB:
        break;
    }
    return DSCAT_WIRE_TEXT;
}

/* How a column arriving in form w is laid out (and bound). */
static phys phys_of(const cache_column *c, dscat_wire w)
{
    switch (w) {
    case DSCAT_WIRE_INT:
        return c->kind == KIND_INT8 || c->kind == KIND_UINT8     ? PHYS_1
               : c->kind == KIND_INT16 || c->kind == KIND_UINT16 ? PHYS_2
               : c->kind == KIND_INT64                           ? PHYS_8
                                                                 : PHYS_4;
    case DSCAT_WIRE_BOOL:
        return PHYS_1;
    case DSCAT_WIRE_FLOAT4:
    case DSCAT_WIRE_DATE:
        return PHYS_4;
    case DSCAT_WIRE_FLOAT8:
    case DSCAT_WIRE_TIME:
    case DSCAT_WIRE_TIMESTAMP:
    case DSCAT_WIRE_TIMESTAMPTZ:
        return PHYS_8;
    case DSCAT_WIRE_DECIMAL:
        return c->precision <= 4    ? PHYS_2
               : c->precision <= 9  ? PHYS_4
               : c->precision <= 18 ? PHYS_8
                                    : PHYS_16;
    case DSCAT_WIRE_UUID:
        return PHYS_16;
    case DSCAT_WIRE_TEXT:
    case DSCAT_WIRE_NULL:
    case DSCAT_WIRE_BYTES:
        break;
    }
    return PHYS_STRING;
}

/* Appends the SELECT expression that turns feed column i into column c's stored value. */
static void column_expr(dscat_buf *sql, const cache_column *c, size_t i, dscat_wire wire)
{
    if (wire != DSCAT_WIRE_TEXT) /* bound as its own type */
        dscat_buf_printf(sql, "c%zu", i);
    else if (c->storage == STORE_BINARY || c->hex)
        dscat_buf_printf(sql, "from_hex(c%zu)", i);
    else if (c->storage == STORE_TEXT || c->storage == STORE_LITERAL ||
             strcmp(c->duck_type, "VARCHAR") == 0)
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
 * DuckDB's COPY renames columns whose names differ only in case (id, ID_1, Id_2): the file gets
 * the source's own names back in its footer.
 */
static int exact_names(const cache_column *cols, size_t ncols, const char *path, dscat_error *err)
{
    const char **names = dscat_calloc(ncols + 1, sizeof(char *));
    if (names == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t i = 0; i < ncols; i++)
        names[i] = cols[i].name;
    int rc = dscat_cache__names_collide(names, ncols)
                 ? dscat_cache__parquet_rename(path, names, ncols, err)
                 : 0;
    dscat_free(names);
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
    f.typed_cursor = drv->cursor_open_typed && drv->cursor_next_typed;
    f.want = dscat_calloc(ncols + 1, sizeof(*f.want));
    f.wires = dscat_calloc(ncols + 1, sizeof(*f.wires));
    f.phys = dscat_calloc(ncols + 1, sizeof(*f.phys));
    f.col_off = dscat_calloc(ncols + 1, sizeof(*f.col_off));
    f.row = dscat_calloc(ncols + 1, sizeof(*f.row));
    if (cc == NULL || f.want == NULL || f.wires == NULL || f.phys == NULL || f.col_off == NULL ||
        f.row == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ncols; i++) {
        cc[i] = (dscat_cursor_column){cols[i].name, cols[i].hex, cols[i].source_type,
                                      cols[i].storage == STORE_LITERAL};
        f.want[i] = cols[i].storage;
        f.wires[i] = f.typed_cursor ? wanted_wire(&cols[i]) : DSCAT_WIRE_TEXT;
    }
    rc = f.typed_cursor
             ? drv->cursor_open_typed(&f.cursor, src, schema, table, cc, ncols, f.wires, err)
             : drv->cursor_open(&f.cursor, src, schema, table, cc, ncols, err);
    if (rc)
        goto done;
    /* The batches: each column's values contiguous, in its bound width. */
    size_t bytes = 0;
    for (size_t i = 0; i < ncols; i++) {
        f.phys[i] = phys_of(&cols[i], f.wires[i]);
        f.col_off[i] = bytes;
        bytes += f.capacity * phys_width[f.phys[i]];
    }
    /* Up to FEED_BATCHES batches in flight, within FEED_QUEUE_BYTES (at least two): either
     * thread can run ahead of the other for a while (they share the cores with the server). */
    f.nbatches = bytes ? (int)(FEED_QUEUE_BYTES / bytes) : FEED_BATCHES;
    f.nbatches = f.nbatches < 2 ? 2 : f.nbatches > FEED_BATCHES ? FEED_BATCHES : f.nbatches;
    for (int i = 0; i < f.nbatches; i++) {
        f.b[i].data = dscat_malloc(bytes + 1);
        f.b[i].null = dscat_calloc(f.capacity * ncols + 1, sizeof(bool));
        if (f.b[i].data == NULL || f.b[i].null == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* One DuckDB thread: the table function feeds a single pipeline, a second thread would only
     * poll for work; the source is read on the reader thread. */
    if ((rc = dscat_duck_open(&duck, err)) ||
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
        column_expr(&sql, &cols[i], i, f.wires[i]);
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
    if ((rc = exact_names(cols, ncols, path, err)))
        goto done;
    /* The read-back goes by row groups, two threads at once: the source's server is done. */
    if ((rc = dscat_duck_exec(duck, "SET threads = 2", err)) == 0)
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
    for (int i = 0; i < FEED_BATCHES; i++) {
        dscat_free(f.b[i].text);
        dscat_free(f.b[i].data);
        dscat_free(f.b[i].null);
    }
    dscat_free(f.want);
    dscat_free(f.wires);
    dscat_free(f.phys);
    dscat_free(f.col_off);
    dscat_free(f.row);
    dscat_buf_free(&f.scratch);
    dscat_buf_free(&f.cstr);
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
        "FROM " DSCAT_CURRENT_TABLES " t LEFT JOIN columns c ON c.set_id = t.column_set "
        "WHERE t.target = ?1 AND t.database = ?2 AND t.schema = ?3 AND t.name = ?4 "
        "ORDER BY c.ordinal",
        err);
    if (rc)
        return rc;
    dscat_stmt__bind_text(s, 1, t->key);
    dscat_stmt__bind_text(s, 2, database);
    dscat_stmt__bind_text(s, 3, schema);
    dscat_stmt__bind_text(s, 4, table);
    bool found = false; /* the table, whether or not it has columns */
    int step;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        found = true;
        if (dscat_stmt__is_null(s, 0))
            continue; /* the table's one row when it has no column */
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
    if (step != DSCAT_STMT_DONE)
        return dscat_store__step_error(st, err);
    if (!found)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "table '%s.%s' not found", schema, table);
    if (*n == 0)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "table '%s.%s' has no columns: a Parquet file cannot hold it, "
                               "nothing to cache",
                               schema, table);
    return 0;
}

void dscat_cache__free_columns(cache_column *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dscat_free(c[i].name);
    dscat_free(c);
}

/* How many of the storage classes integer, real, text (with or without NUL) and blob k holds. */
static int class_count(unsigned k)
{
    return !!(k & DSCAT_CLASS_INTEGER) + !!(k & DSCAT_CLASS_REAL) +
           !!(k & (DSCAT_CLASS_TEXT | DSCAT_CLASS_TEXT_NUL)) + !!(k & DSCAT_CLASS_BLOB);
}

/*
 * Where the engine does not enforce types (SQLite), the storage classes present decide up front.
 * A column holding several classes is written as SQL literals, which keep each value's class (1,
 * 1.0, '1' and X'31' stay apart), except integers among the reals of a REAL column, which are
 * read as reals. Of one class: blobs or text holding NUL bytes make a column binary (its bytes,
 * hex from the source), and a numeric column of text is text.
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
        cc[i] = (dscat_cursor_column){cols[i].name, false, cols[i].source_type, false};
    if (rc == 0)
        rc = src->driver->storage_classes(src, schema, table, cc, ncols, classes, err);
    for (size_t i = 0; rc == 0 && i < ncols; i++) {
        unsigned k = classes[i];
        cache_column *c = &cols[i];
        c->classes = k;
        bool numeric = c->kind >= KIND_INT8 && c->kind <= KIND_DOUBLE;
        unsigned mixed = k;
        if (c->kind == KIND_DOUBLE && (k & DSCAT_CLASS_INTEGER)) /* integers as reals */
            mixed = (k & ~(unsigned)DSCAT_CLASS_INTEGER) | DSCAT_CLASS_REAL;
        if (class_count(mixed) > 1) {
            c->storage = STORE_LITERAL;
            c->hex = false;
        } else if (c->kind == KIND_BLOB) {
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
    if (c->storage == STORE_LITERAL)
        return dscat_buf_puts(b, "it holds values of several storage classes (integers, reals, "
                                 "text, blobs): each value is stored as its SQL literal, which "
                                 "keeps its class (1, 1.0, '1', X'01')");
    if (c->storage == STORE_BINARY)
        return dscat_buf_puts(b, "it holds values that are not UTF-8 text (bytes, or text with "
                                 "NUL): each value is stored as its bytes");
    return dscat_buf_printf(b,
                            "%s (%s) cannot hold every value exactly (another type, out of "
                            "range, NaN, a zero date, below a microsecond): each value is "
                            "stored as the source's text",
                            c->duck_type, c->source_type);
}

/* ---- append refreshes ------------------------------------------------------------------------ */

/* The Parquet type column c is written as: its own, or its fallback's. */
static const char *written_type(const cache_column *c)
{
    if (c->storage == STORE_BINARY || c->hex)
        return "BLOB";
    return c->storage == STORE_TEXT || c->storage == STORE_LITERAL ? "VARCHAR" : c->duck_type;
}

char *dscat_cache__layout(const cache_column *cols, size_t ncols)
{
    /* Where names differ only in case, each column says that its file has them exactly: a
     * version written before files kept such names (DuckDB's id, ID_1) never takes an append. */
    const char **names = dscat_calloc(ncols + 1, sizeof(char *));
    for (size_t i = 0; names && i < ncols; i++)
        names[i] = cols[i].name;
    bool listed = names != NULL, exact = listed && dscat_cache__names_collide(names, ncols);
    dscat_free(names);
    json_t *a = listed ? json_array() : NULL;
    for (size_t i = 0; a && i < ncols; i++)
        if (json_array_append_new(
                a, exact ? json_pack("[s, s, s]", cols[i].name, written_type(&cols[i]), "exact")
                         : json_pack("[s, s]", cols[i].name, written_type(&cols[i]))))
            break;
    char *text = a && json_array_size(a) == ncols ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

int dscat_cache__key_type(const cache_column *c, const dscat_source_driver *drv,
                          dscat_key_type *type, dscat_error *err)
{
    bool ok = c->storage == STORE_NATIVE && !c->hex;
    switch (c->kind) {
    case KIND_INT8:
    case KIND_INT16:
    case KIND_INT32:
    case KIND_INT64:
    case KIND_UINT8:
    case KIND_UINT16:
    case KIND_UINT32:
    case KIND_UINT64:
        *type = DSCAT_KEY_INTEGER;
        break;
    case KIND_DECIMAL:
        *type = DSCAT_KEY_DECIMAL;
        break;
    case KIND_DATE:
        *type = DSCAT_KEY_DATE;
        break;
    case KIND_TIMESTAMP:
        *type = DSCAT_KEY_TIMESTAMP;
        break;
    case KIND_TIMESTAMPTZ:
        *type = DSCAT_KEY_TIMESTAMPTZ;
        break;
    case KIND_TEXT:
        *type = DSCAT_KEY_TEXT;
        ok = ok && strcmp(c->duck_type, "VARCHAR") == 0;
        break;
    default:
        ok = false;
    }
    if (ok && drv && drv->key_predicate) {
        dscat_key_bound k = {c->name, c->source_type, *type, NULL};
        ok = drv->key_predicate(NULL, &k) == 0;
    } else if (ok) {
        return dscat_error_set(err, DSCAT_EINVALID,
                               "%s sources have no append refresh in this build",
                               drv ? drv->name : "these");
    }
    if (!ok)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "column %s (%s) cannot be an append key: its values cannot be "
                               "compared exactly%s (use an integer, decimal, date, timestamp or "
                               "text column)",
                               c->name, c->source_type,
                               c->storage != STORE_NATIVE ? " (it is stored in a fallback)" : "");
    return 0;
}

/* The 1-based position of the column named exactly key among the top-level columns of file. */
static int key_position(dscat_duck *duck, const char *file, const char *key, size_t *pos,
                        dscat_error *err)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    duckdb_result res;
    dscat_buf_puts(&sql, "SELECT name FROM parquet_schema(");
    dscat_duck_quote_literal(&sql, file);
    if (dscat_buf_putc(&sql, ')')) {
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    int rc = 0;
    *pos = 0;
    if (duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&sql), &res) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot read the columns of the cached files: %s",
                             duckdb_result_error(&res));
    } else {
        /* row 0 is the schema's root; the columns are flat */
        for (idx_t r = 1; r < duckdb_row_count(&res) && *pos == 0; r++) {
            char *name = duckdb_value_varchar(&res, 0, r);
            if (name && strcmp(name, key) == 0)
                *pos = (size_t)r;
            duckdb_free(name);
        }
        if (*pos == 0)
            rc = dscat_error_set(err, DSCAT_EIO, "the cached files have no column %s", key);
    }
    duckdb_destroy_result(&res);
    dscat_buf_free(&sql);
    return rc;
}

int dscat_cache__key_max(char **out, const char *const *files, size_t n, const char *key,
                         dscat_key_type type, dscat_error *err)
{
    *out = NULL;
    dscat_duck *duck = NULL;
    dscat_buf sql = DSCAT_BUF_INIT;
    duckdb_result res;
    int rc = dscat_duck_load(err);
    if (rc == 0 && (rc = dscat_duck_open(&duck, err)) == 0)
        rc = dscat_duck_exec(duck, "SET TimeZone = 'UTC'", err);
    if (rc)
        goto done;
    /* The key by its position: DuckDB would take "ID" for "id" when both are columns. */
    size_t pos = 0;
    if (n > 0 && (rc = key_position(duck, files[0], key, &pos, err)))
        goto done;
    /* A timestamptz as its UTC wall time: the key's form (source.h, dscat_key_type). */
    dscat_buf_puts(&sql, type == DSCAT_KEY_TIMESTAMPTZ
                             ? "SELECT count(k), CAST(CAST(max(k) AS TIMESTAMP) AS VARCHAR)"
                             : "SELECT count(k), CAST(max(k) AS VARCHAR)");
    /* Text's length in bytes: a NUL byte in it would cut the C string short (MariaDB's text may
     * hold one), and a shorter bound would read rows again. */
    if (type == DSCAT_KEY_TEXT)
        dscat_buf_puts(&sql, ", strlen(max(k))");
    dscat_buf_printf(&sql, " FROM (SELECT #%zu AS k FROM read_parquet([", pos);
    for (size_t i = 0; i < n; i++) {
        if (i)
            dscat_buf_puts(&sql, ", ");
        dscat_duck_quote_literal(&sql, files[i]);
    }
    if (dscat_buf_puts(&sql, "]))")) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&sql), &res) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot read the greatest %s of the cached files: %s",
                             key, duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        goto done;
    }
    if (duckdb_row_count(&res) == 1 && duckdb_value_int64(&res, 0, 0) > 0) {
        char *v = duckdb_value_varchar(&res, 1, 0);
        if (v == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else if (type == DSCAT_KEY_TEXT && duckdb_value_int64(&res, 2, 0) != (int64_t)strlen(v))
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "the greatest %s of the table holds a NUL byte: it cannot be "
                                 "an append key's bound (refresh without --append-key)",
                                 key);
        else if (!dscat_key_value_ok(type, v))
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "the greatest %s of the table, %s, cannot be written exactly "
                                 "in SQL",
                                 key, v);
        else if ((*out = dscat_strdup(v)) == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        duckdb_free(v);
    }
    duckdb_destroy_result(&res);
done:
    dscat_buf_free(&sql);
    dscat_duck_close(duck);
    return rc;
}
