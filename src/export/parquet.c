/*
 * metadata.parquet (SPEC §3): the current catalog, one row per column, written through DuckDB.
 * A table without a column the scan could read (a broken view) keeps one row, its column fields
 * null, so that nothing in the store is missing from the file.
 *
 * DuckDB reads the rows through a table function (dscat_metadata()) that fills whole vectors
 * per chunk, and streams them into the Parquet file with one COPY: no DuckDB table in between, no
 * per-value appender call. The rows are read on a thread of their own, a batch (a vector's worth)
 * ahead of DuckDB, so that reading and encoding Parquet overlap: from the store, or during a
 * refresh from its scans (export/ahead.h), in the same order and with the same values. The file
 * is written to a temporary name and renamed into place.
 */
#include "export/ahead.h"
#include "store/content.h"
#include "store/store.h"
#include "core/atomic.h"
#include "core/testhooks.h"
#include "core/duck.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The file's columns, in order, with their DuckDB types. */
/* A_RATE is null_rate, a DOUBLE: read as profiled_rows, then made null_count / profiled_rows
 * (rate_of()) once the row's cells are in. */
typedef enum { A_TEXT, A_BOOL, A_BIGINT, A_INT, A_RATE, A_TIMESTAMP } append_kind;

typedef struct column_def {
    const char *name;
    append_kind kind;
    bool of_table; /* the table's, the same in every row of it */
} column_def;

static const column_def columns[] = {
    {"database", A_TEXT, true},
    {"schema", A_TEXT, true},
    {"table_name", A_TEXT, true},
    {"column_name", A_TEXT, false},
    {"data_type", A_TEXT, false},
    {"is_nullable", A_BOOL, false},
    {"is_primary_key", A_BOOL, false},
    {"is_foreign_key", A_BOOL, false},
    {"fk_references", A_TEXT, false},
    {"row_count_estimate", A_BIGINT, true},
    {"last_modified", A_TIMESTAMP, true},
    {"scanned_at", A_TIMESTAMP, true},
    {"null_count", A_BIGINT, false},
    {"null_rate", A_RATE, false},
    {"distinct_count", A_BIGINT, false},
    {"profiled_rows", A_BIGINT, false},
    {"target", A_TEXT, true},
    {"server", A_TEXT, true},
    {"table_type", A_TEXT, true},
    {"ordinal_position", A_INT, false},
    {"column_type", A_TEXT, false},
    {"max_length", A_BIGINT, false},
    {"numeric_precision", A_INT, false},
    {"numeric_scale", A_INT, false},
    {"column_default", A_TEXT, false},
    {"column_comment", A_TEXT, false},
    {"table_comment", A_TEXT, true},
    {"table_size_bytes", A_BIGINT, true},
    {"generated", A_TEXT, false},
    {"is_hidden", A_BOOL, false},
};

#define NCOLS ((int)(sizeof(columns) / sizeof(columns[0])))

/* The file's columns by position (columns[] above), and the table's id after them in the
 * store's rows. */
enum {
    COL_DATABASE,
    COL_SCHEMA,
    COL_TABLE,
    COL_COLUMN,
    COL_DATA_TYPE,
    COL_NULLABLE,
    COL_PRIMARY_KEY,
    COL_FOREIGN_KEY,
    COL_FK_REFERENCES,
    COL_ROW_ESTIMATE,
    COL_LAST_MODIFIED,
    COL_SCANNED_AT,
    COL_NULL_COUNT,
    COL_NULL_RATE,
    COL_DISTINCT_COUNT,
    COL_PROFILED_ROWS,
    COL_TARGET,
    COL_SERVER,
    COL_TABLE_TYPE,
    COL_ORDINAL,
    COL_COLUMN_TYPE,
    COL_MAX_LENGTH,
    COL_PRECISION,
    COL_SCALE,
    COL_DEFAULT,
    COL_COMMENT,
    COL_TABLE_COMMENT,
    COL_TABLE_SIZE,
    COL_GENERATED,
    COL_HIDDEN,
    COL_TABLE_ID
};
_Static_assert(COL_TABLE_ID == NCOLS, "a name for each of the file's columns");

/*
 * Rows come in the documented order: targets in the order they were first scanned, then
 * database, schema, table and column position. The plan's walk of the store does not promise it
 * (targets come by key), so the order is asked for (ORDER_BY). But sorting 200,000 wide rows in
 * SQLite costs more than everything else here, while the walk (each target's tables through the
 * index on (scan, database, schema, name), each table's columns by position) almost always gives
 * that order already. So the rows are first read unsorted and checked as they come: the first
 * row out of order (or a tie, whose order only the sort decides) stops the write, and the file
 * is written again from the sorted query.
 */
#define SELECT_SQL                                                                                 \
    "SELECT t.database, t.schema, t.name, c.name, c.data_type, c.is_nullable, c.is_primary_key,"   \
    " c.is_foreign_key, c.fk_references, t.row_estimate, t.last_modified_us, t.scanned_at_us,"     \
    " c.null_count, c.profiled_rows, c.distinct_count, c.profiled_rows, t.target, t.server, "      \
    "t.table_type, c.ordinal,"                                                                     \
    " c.column_type, c.max_length, c.numeric_precision, c.numeric_scale, c.column_default,"        \
    " c.column_comment, t.comment, t.size_bytes, c.generated, c.is_hidden, t.id "                  \
    "FROM " DSCAT_CURRENT_TABLES " t LEFT JOIN columns c ON c.set_id = t.column_set "              \
    "WHERE ?1 IS NULL OR t.target = ?1 "

#define ORDER_BY                                                                                   \
    "ORDER BY (SELECT min(id) FROM scans WHERE target = t.target), t.database, t.schema, t.name,"  \
    " c.ordinal"

/* Each target's place in the order: the id of its first scan. */
static const char *const ranks_sql = "SELECT target, min(id) FROM scans GROUP BY target";

typedef struct rank {
    char *target;
    int64_t first_scan;
} rank;

/*
 * One batch of rows read from the store, column by column: cells[col * cap + row]. A cell holds
 * an integer, a boolean, a timestamp, a double's bits, or a text: its offset in `text` (a copy of
 * the store's, which SQLite keeps only until the next step), or the text itself when it outlives
 * the batch (a refresh's scans: read in place, not copied).
 */
typedef struct cell {
    int64_t v;
    const char *s; /* the text in place, or NULL: at offset v in the batch's text */
    uint32_t len;  /* a text's length in bytes (SQLite's texts are under 2 GiB) */
    bool null;
} cell;

typedef struct batch {
    cell *cells;
    dscat_buf text;
    size_t rows;
    int64_t table_id; /* of the last row read */
    bool full;        /* read, and not yet handed to DuckDB */
} batch;

/*
 * What the table function reads: the store's statement, read on the reader thread into two
 * batches in turn, and, for the unsorted walk, what checking the order needs (the targets'
 * ranks, the key of the table before). The reader owns the statement and the order's state
 * while it runs; the batches' `full` and the flags below are shared under mu.
 */
typedef struct mem_rows mem_rows;

typedef struct feed {
    dscat_store *st;
    dscat_stmt *s;
    mem_rows *mem;  /* instead of s: the rows of a refresh's scans (dscat_export_ahead) */
    bool abandon;   /* set under mu: end the COPY with an error at the next chunk */
    bool check;     /* the statement is the unsorted walk: check each row's place */
    bool finished;  /* the reader has stopped: at the end, failed or out of order */
    bool failed;    /* reading the store failed (or memory ran out): err says why */
    bool unordered; /* the walk was not in the file's order: write again, sorted */
    bool stop;      /* DuckDB has stopped reading: the reader ends too */
    dscat_error *err;
    rank *ranks;
    size_t nranks;
    /* the table before: id (-1: none yet), rank, key, last position (-1: no column row) */
    int64_t table_id, first_scan, ordinal;
    dscat_buf database, schema, name;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch b[2];
    size_t cap; /* rows per batch: DuckDB's vector size */
    int take;   /* the batch DuckDB takes next */
} feed;

static void ranks_free(feed *f)
{
    for (size_t i = 0; i < f->nranks; i++)
        dscat_free(f->ranks[i].target);
    dscat_free(f->ranks);
    f->ranks = NULL;
    f->nranks = 0;
}

/* Reads every target's rank (one row per target). */
static int ranks_load(feed *f, dscat_error *err)
{
    dscat_stmt *s = NULL;
    size_t cap = 0;
    int step, rc = dscat_stmt__prepare(&s, f->st, ranks_sql, err);
    if (rc)
        return rc;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        if (f->nranks == cap) {
            cap = cap ? cap * 2 : 8;
            rank *g = dscat_realloc(f->ranks, cap * sizeof(*g));
            if (g == NULL)
                goto nomem;
            f->ranks = g;
        }
        const char *target = dscat_stmt__text(s, 0);
        rank *r = &f->ranks[f->nranks];
        if ((r->target = dscat_strdup(target ? target : "")) == NULL)
            goto nomem;
        r->first_scan = dscat_stmt__int64(s, 1);
        f->nranks++;
    }
    if (step != DSCAT_STMT_DONE)
        rc = dscat_store__step_error(f->st, err);
    dscat_stmt__finalize(s);
    return rc;
nomem:
    dscat_stmt__finalize(s);
    return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}

/* The target's first scan id; -1 for a target without a scan (none in a current catalog). */
static int64_t first_scan_of(const feed *f, const char *target)
{
    for (size_t i = 0; target && i < f->nranks; i++)
        if (strcmp(f->ranks[i].target, target) == 0)
            return f->ranks[i].first_scan;
    return -1;
}

/* Column i of the current row against a text kept from the row before, in SQLite's BINARY
 * order: bytes, then length. */
static int key_cmp(dscat_stmt *s, int i, const dscat_buf *before)
{
    const char *v = dscat_stmt__text(s, i);
    size_t len = v ? dscat_stmt__bytes(s, i) : 0;
    size_t n = len < before->len ? len : before->len;
    int c = n ? memcmp(v, before->ptr, n) : 0;
    if (c)
        return c;
    return len < before->len ? -1 : len > before->len;
}

/*
 * Checks that the current row comes after the row before in the file's order: a row of the same
 * table has a higher position; a new table a higher (rank, database, schema, name) than the
 * table before, whose key it then becomes. id is the row's table, position its position cell.
 * Returns 1 when in order, 0 when not, DSCAT_ENOMEM.
 */
static int in_order(feed *f, int64_t id, const cell *position)
{
    dscat_stmt *s = f->s;
    bool has_column = !position->null;
    int64_t ordinal = has_column ? position->v : -1;
    if (id == f->table_id) { /* a table without a column row has that one row only */
        if (f->ordinal < 0 || !has_column || ordinal <= f->ordinal)
            return 0;
        f->ordinal = ordinal;
        return 1;
    }
    int64_t first = first_scan_of(f, dscat_stmt__text(s, COL_TARGET));
    if (first < 0)
        return 0;
    if (f->table_id >= 0) {
        int c = first < f->first_scan ? -1 : first > f->first_scan;
        if (c == 0 && (c = key_cmp(s, COL_DATABASE, &f->database)) == 0 &&
            (c = key_cmp(s, COL_SCHEMA, &f->schema)) == 0)
            c = key_cmp(s, COL_TABLE, &f->name);
        if (c <= 0)
            return 0;
    }
    f->table_id = id;
    f->first_scan = first;
    f->ordinal = ordinal;
    const int keys[] = {COL_DATABASE, COL_SCHEMA, COL_TABLE};
    dscat_buf *kept[] = {&f->database, &f->schema, &f->name};
    for (int k = 0; k < 3; k++) {
        const char *v = dscat_stmt__text(s, keys[k]);
        dscat_buf_reset(kept[k]);
        if (v && dscat_buf_put(kept[k], v, dscat_stmt__bytes(s, keys[k])))
            return DSCAT_ENOMEM;
    }
    return 1;
}

/* ---- the reader ---------------------------------------------------------------------------- */

/*
 * Reads column i of the statement's current row into c. A text is asked for first: only a NULL
 * pointer needs the second question, whether the value is null or memory ran out. Returns 0 or
 * DSCAT_ENOMEM.
 */
static int read_value(cell *c, dscat_buf *text, dscat_stmt *s, int i)
{
    c->null = false;
    if (columns[i].kind == A_TEXT) {
        const char *t = dscat_stmt__text(s, i);
        if (t == NULL) {
            c->null = true;
            return dscat_stmt__is_null(s, i) ? 0 : DSCAT_ENOMEM;
        }
        size_t len = dscat_stmt__bytes(s, i);
        c->s = NULL;
        c->v = (int64_t)text->len;
        c->len = (uint32_t)len;
        return dscat_buf_put(text, t, len) ? DSCAT_ENOMEM : 0;
    }
    if ((c->null = dscat_stmt__is_null(s, i)))
        return 0;
    c->v = dscat_stmt__int64(s, i);
    return 0;
}

/*
 * Turns a row's null_rate cell, holding profiled_rows, into null_count / profiled_rows rounded
 * to 4 decimals (SPEC §3) as "%.4f" writes the double quotient (its exact binary value rounded,
 * as Python's round(x, 4) does), read back as a double: null when either count is, 0 for no rows.
 */
static void rate_of(cell *rate, const cell *nulls)
{
    if (rate->null || nulls->null) {
        rate->null = true;
        return;
    }
    double d = 0.0;
    if (rate->v != 0) {
        char text[64];
        snprintf(text, sizeof(text), "%.4f", (double)nulls->v / (double)rate->v);
        d = strtod(text, NULL);
    }
    memcpy(&rate->v, &d, sizeof(d));
}

/* What read_batch() found. */
enum { READ_FAILED = -2, READ_UNORDERED = -1, READ_END = 0, READ_MORE = 1 };

/*
 * Reads the statement's next rows into b (up to cap): READ_MORE when more may follow, READ_END
 * at the end, READ_FAILED when reading failed (err filled), READ_UNORDERED when a row is out of
 * the file's order.
 */
static int read_batch(feed *f, batch *b)
{
    b->rows = 0;
    dscat_buf_reset(&b->text);
    while (b->rows < f->cap) {
        int step = dscat_stmt__step(f->s);
        if (step == DSCAT_STMT_DONE)
            return READ_END;
        if (step != DSCAT_STMT_ROW) {
            dscat_store__step_error(f->st, f->err);
            return READ_FAILED;
        }
        /* A row of the same table as the row before it in this batch: the table's values are
         * that row's (its texts too, in this batch's text), not read again. */
        int64_t id = dscat_stmt__int64(f->s, COL_TABLE_ID);
        bool same = b->rows > 0 && id == b->table_id;
        b->table_id = id;
        int rc = 0;
        for (int i = 0; i < NCOLS && rc == 0; i++) {
            cell *c = &b->cells[(size_t)i * f->cap + b->rows];
            if (same && columns[i].of_table)
                *c = c[-1];
            else
                rc = read_value(c, &b->text, f->s, i);
        }
        rate_of(&b->cells[(size_t)COL_NULL_RATE * f->cap + b->rows],
                &b->cells[(size_t)COL_NULL_COUNT * f->cap + b->rows]);
        if (rc == 0 && f->check)
            rc = in_order(f, id, &b->cells[(size_t)COL_ORDINAL * f->cap + b->rows]);
        else if (rc == 0)
            rc = 1;
        if (rc < 0) {
            dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
            return READ_FAILED;
        }
        if (rc == 0)
            return READ_UNORDERED;
        b->rows++;
    }
    return READ_MORE;
}

/* ---- rows from a refresh's scans (dscat_export_ahead) ------------------------------------ */

/* Where the reader is in the scans: target t, its database db (in name order), that database's
 * stored table k (order.table_order[k]) and the table's column col (by position). */
struct mem_rows {
    const dscat_export_scan *targets; /* in the file's order */
    size_t ntargets, t;
    const dscat_db_scan **dbs; /* target t's databases by name; NULL: not yet sorted */
    size_t ndbs, db;
    dscat_scan_order order; /* of dbs[db], when ordered */
    bool ordered;
    size_t k, col;
};

/* qsort over scans by database name, in byte order (as the store orders them). */
static int compare_databases(const void *a, const void *b)
{
    return strcmp((*(const dscat_db_scan *const *)a)->database,
                  (*(const dscat_db_scan *const *)b)->database);
}

/* A text cell: v in place (the scans outlive the batch), or null for NULL. A text of 4 GiB or
 * more (which no scan holds) is DSCAT_ENOMEM, as a copy of it would be. */
static int cell_text(cell *c, const char *v)
{
    c->null = v == NULL;
    if (v == NULL)
        return 0;
    size_t len = strlen(v);
    c->s = v;
    c->len = (uint32_t)len;
    return len > UINT32_MAX ? DSCAT_ENOMEM : 0;
}

/* A text cell copied into the batch's text: v goes before the batch does (a database's foreign
 * key references go with its order). 0 or DSCAT_ENOMEM. */
static int cell_copy(cell *c, dscat_buf *text, const char *v)
{
    size_t len = strlen(v);
    c->null = false;
    c->s = NULL;
    c->v = (int64_t)text->len;
    c->len = (uint32_t)len;
    return len > UINT32_MAX || dscat_buf_put(text, v, len) ? DSCAT_ENOMEM : 0;
}

/* An integer, boolean or timestamp cell: null for DSCAT_NULL, as the store holds it. */
static void cell_int(cell *c, int64_t v)
{
    c->null = v == DSCAT_NULL;
    c->v = v;
}

/*
 * The next row of b: table ti of database d of target t, and its column col (with its
 * references ref), or the one row of a table without a column row (col NULL), as the store's rows
 * read them. same: the row before it in b is of the same table, whose table cells it takes.
 * Returns 0 or DSCAT_ENOMEM.
 */
static int mem_row(feed *f, batch *b, const dscat_export_scan *t, const dscat_db_scan *d,
                   const dscat_table_info *ti, const dscat_column_info *col, const char *ref,
                   bool same)
{
    cell *c = b->cells + b->rows;
    size_t w = f->cap;
    int rc = 0;
    if (same) {
        for (int i = 0; i < NCOLS; i++)
            if (columns[i].of_table)
                c[(size_t)i * w] = c[(size_t)i * w - 1];
    } else {
        rc = cell_text(&c[COL_DATABASE * w], d->database) |
             cell_text(&c[COL_SCHEMA * w], ti->schema) | cell_text(&c[COL_TABLE * w], ti->name) |
             cell_text(&c[COL_TARGET * w], t->target) | cell_text(&c[COL_SERVER * w], t->server) |
             cell_text(&c[COL_TABLE_TYPE * w], ti->type) |
             cell_text(&c[COL_TABLE_COMMENT * w], ti->comment);
        cell_int(&c[COL_ROW_ESTIMATE * w], ti->row_estimate);
        cell_int(&c[COL_LAST_MODIFIED * w], ti->last_modified_us);
        cell_int(&c[COL_SCANNED_AT * w], d->scanned_at_us);
        cell_int(&c[COL_TABLE_SIZE * w], ti->size_bytes);
    }
    if (col == NULL) {
        for (int i = 0; i < NCOLS; i++)
            if (!columns[i].of_table)
                c[(size_t)i * w].null = true;
        return rc ? DSCAT_ENOMEM : 0;
    }
    rc |= cell_text(&c[COL_COLUMN * w], col->name) |
          cell_text(&c[COL_DATA_TYPE * w], col->data_type) |
          (ref ? cell_copy(&c[COL_FK_REFERENCES * w], &b->text, ref)
               : cell_text(&c[COL_FK_REFERENCES * w], "")) |
          cell_text(&c[COL_COLUMN_TYPE * w], col->column_type) |
          cell_text(&c[COL_DEFAULT * w], col->default_value) |
          cell_text(&c[COL_COMMENT * w], col->comment) |
          cell_text(&c[COL_GENERATED * w], col->generated);
    cell_int(&c[COL_NULLABLE * w], col->nullable);
    cell_int(&c[COL_PRIMARY_KEY * w], col->is_pk);
    cell_int(&c[COL_FOREIGN_KEY * w], ref != NULL);
    cell_int(&c[COL_NULL_COUNT * w], col->null_count);
    cell_int(&c[COL_NULL_RATE * w], col->profiled_rows);
    rate_of(&c[COL_NULL_RATE * w], &c[COL_NULL_COUNT * w]);
    cell_int(&c[COL_DISTINCT_COUNT * w], col->distinct_count);
    cell_int(&c[COL_PROFILED_ROWS * w], col->profiled_rows);
    cell_int(&c[COL_ORDINAL * w], col->ordinal);
    cell_int(&c[COL_MAX_LENGTH * w], col->max_length);
    cell_int(&c[COL_PRECISION * w], col->precision);
    cell_int(&c[COL_SCALE * w], col->scale);
    cell_int(&c[COL_HIDDEN * w], col->hidden);
    return rc ? DSCAT_ENOMEM : 0;
}

/* Frees what the reader holds of the database it was in. */
static void mem_database_done(mem_rows *m)
{
    if (m->ordered)
        dscat_scan_order_free(&m->order);
    m->ordered = false;
}

/* read_batch() for the scans: in the file's order by construction, so never READ_UNORDERED. */
static int read_batch_mem(feed *f, batch *b)
{
    mem_rows *m = f->mem;
    b->rows = 0;
    dscat_buf_reset(&b->text);
    while (b->rows < f->cap) {
        if (!m->ordered) {
            if (m->t == m->ntargets)
                return READ_END;
            const dscat_export_scan *t = &m->targets[m->t];
            if (m->dbs == NULL) {
                m->ndbs = t->ndatabases;
                m->db = 0;
                if ((m->dbs = dscat_calloc(m->ndbs + 1, sizeof(*m->dbs))) == NULL)
                    goto nomem;
                if (m->ndbs) {
                    memcpy(m->dbs, t->databases, m->ndbs * sizeof(*m->dbs));
                    qsort(m->dbs, m->ndbs, sizeof(*m->dbs), compare_databases);
                }
            }
            if (m->db == m->ndbs) {
                dscat_free(m->dbs);
                m->dbs = NULL;
                m->t++;
                continue;
            }
            if (dscat_scan_order_build(&m->order, m->dbs[m->db], f->err)) {
                dscat_scan_order_free(&m->order);
                return READ_FAILED;
            }
            m->ordered = true;
            m->k = m->col = 0;
        }
        if (m->k == m->order.ntables) {
            mem_database_done(m);
            m->db++;
            continue;
        }
        const dscat_db_scan *d = m->dbs[m->db];
        size_t t = m->order.table_order[m->k];
        size_t first = m->order.column_start[t], n = m->order.column_start[t + 1] - first;
        const dscat_column_info *col = NULL;
        const char *ref = NULL;
        if (n > 0) {
            size_t i = m->order.column_order[first + m->col];
            col = &d->columns.items[i];
            ref = m->order.fk_refs[i];
        }
        /* a row of the table before it in this batch shares that row's table cells */
        bool same = b->rows > 0 && m->col > 0;
        if (mem_row(f, b, &m->targets[m->t], d, &d->tables.items[t], col, ref, same))
            goto nomem;
        b->rows++;
        if (n == 0 || ++m->col == n) {
            m->k++;
            m->col = 0;
        }
    }
    return READ_MORE;
nomem:
    dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
    return READ_FAILED;
}

/*
 * The reader thread: fills the batches in turn, each once DuckDB has taken what it held, and
 * says (under the lock) when it stops and why.
 */
static void *reader(void *arg)
{
    feed *f = arg;
    for (int next = 0;; next ^= 1) {
        batch *b = &f->b[next];
        pthread_mutex_lock(&f->mu);
        while (b->full && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        bool stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        int got = f->mem ? read_batch_mem(f, b) : read_batch(f, b);
        pthread_mutex_lock(&f->mu);
        b->full = got >= READ_END && b->rows > 0;
        f->finished = got != READ_MORE;
        f->failed = got == READ_FAILED;
        f->unordered = got == READ_UNORDERED;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        if (got != READ_MORE)
            break;
    }
    return NULL;
}

/* ---- the table function -------------------------------------------------------------------- */

static void feed_bind(duckdb_bind_info info)
{
    static const duckdb_type types[] = {
        [A_TEXT] = DUCKDB_TYPE_VARCHAR,  [A_BOOL] = DUCKDB_TYPE_BOOLEAN,
        [A_BIGINT] = DUCKDB_TYPE_BIGINT, [A_INT] = DUCKDB_TYPE_INTEGER,
        [A_RATE] = DUCKDB_TYPE_DOUBLE,   [A_TIMESTAMP] = DUCKDB_TYPE_TIMESTAMP,
    };
    for (int i = 0; i < NCOLS; i++) {
        duckdb_logical_type t = duckdb_create_logical_type(types[columns[i].kind]);
        duckdb_bind_add_result_column(info, columns[i].name, t);
        duckdb_destroy_logical_type(&t);
    }
}

static void feed_init(duckdb_init_info info)
{
    duckdb_init_set_max_threads(info, 1); /* one statement, read in order */
}

/* Copies column i of batch b into vector v. The per-row calls are looked up once. */
static void put_column(duckdb_vector v, const batch *b, const cell *c, int i)
{
    void *data = duckdb_vector_get_data(v);
    uint64_t *validity = NULL;
    void (*assign)(duckdb_vector, idx_t, const char *, idx_t) =
        duckdb_vector_assign_string_element_len;
    void (*set_invalid)(uint64_t *, idx_t) = duckdb_validity_set_row_invalid;
    for (size_t r = 0; r < b->rows; r++) {
        if (c[r].null) {
            if (validity == NULL) {
                duckdb_vector_ensure_validity_writable(v);
                validity = duckdb_vector_get_validity(v);
            }
            set_invalid(validity, r);
            continue;
        }
        switch (columns[i].kind) {
        case A_TEXT:
            assign(v, r, c[r].s ? c[r].s : b->text.ptr + c[r].v, c[r].len);
            break;
        case A_BOOL:
            ((bool *)data)[r] = c[r].v != 0;
            break;
        case A_BIGINT:
            ((int64_t *)data)[r] = c[r].v;
            break;
        case A_INT:
            ((int32_t *)data)[r] = (int32_t)c[r].v;
            break;
        case A_RATE:
            memcpy((double *)data + r, &c[r].v, sizeof(double));
            break;
        case A_TIMESTAMP:
            ((duckdb_timestamp *)data)[r] = (duckdb_timestamp){c[r].v};
            break;
        }
    }
}

/*
 * Fills one chunk with the next batch the reader has read; an empty chunk ends the table. A
 * failed read, or a row out of order in the unsorted walk, stops the query with an error that the
 * caller replaces with its own.
 */
static void feed_rows(duckdb_function_info info, duckdb_data_chunk chunk)
{
    feed *f = duckdb_function_get_extra_info(info);
    batch *b = &f->b[f->take];
    pthread_mutex_lock(&f->mu);
    while (!b->full && !f->finished)
        pthread_cond_wait(&f->cv, &f->mu);
    bool have = b->full, stopped = f->failed || f->unordered, abandon = f->abandon;
    pthread_mutex_unlock(&f->mu);
    if (abandon) {
        duckdb_function_set_error(info, "abandoned");
        return;
    }
    if (!have) {
        if (stopped)
            duckdb_function_set_error(info, "the store's rows were not read to their end");
        else
            duckdb_data_chunk_set_size(chunk, 0);
        return;
    }
    for (int i = 0; i < NCOLS; i++)
        put_column(duckdb_data_chunk_get_vector(chunk, (idx_t)i), b, b->cells + (size_t)i * f->cap,
                   i);
    duckdb_data_chunk_set_size(chunk, b->rows);
    pthread_mutex_lock(&f->mu);
    b->full = false;
    f->take ^= 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* ---- the file ------------------------------------------------------------------------------ */

/* Registers dscat_metadata() on the connection, reading from f. */
static int register_feed(duckdb_connection con, feed *f, dscat_error *err)
{
    duckdb_table_function fn = duckdb_create_table_function();
    if (fn == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    duckdb_table_function_set_name(fn, "dscat_metadata");
    duckdb_table_function_set_extra_info(fn, f, NULL);
    duckdb_table_function_set_bind(fn, feed_bind);
    duckdb_table_function_set_init(fn, feed_init);
    duckdb_table_function_set_function(fn, feed_rows);
    duckdb_state state = duckdb_register_table_function(con, fn);
    duckdb_destroy_table_function(&fn);
    return state == DuckDBError
               ? dscat_error_set(err, DSCAT_EIO, "cannot register the catalog's rows with DuckDB")
               : 0;
}

/* Starts an attempt: the reader's state and the batches emptied. */
static void feed_reset(feed *f, bool sorted, dscat_error *err)
{
    f->check = !sorted;
    f->unordered = f->failed = f->finished = f->stop = false;
    f->err = err;
    f->table_id = f->first_scan = f->ordinal = -1;
    f->take = 0;
    f->b[0].full = f->b[1].full = false;
}

/*
 * Runs the COPY that reads dscat_metadata() into tmp, with the reader thread feeding it, and
 * stops the reader when DuckDB is done (or has failed). Returns 0; DSCAT_EIO (or the reader's
 * error) with err filled; or 0 with *unordered set when the walk was out of order.
 */
static int copy_rows(feed *f, dscat_duck *duck, const char *sql, bool *unordered, dscat_error *err)
{
    pthread_t thread;
    duckdb_result res;
    if (pthread_create(&thread, NULL, reader, f) != 0)
        return dscat_error_set(err, DSCAT_ENOMEM, "cannot start a thread");
    duckdb_state state = duckdb_query(dscat_duck_connection(duck), sql, &res);
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(thread, NULL);
    int rc = 0;
    if (state == DuckDBError) {
        if (f->failed)
            rc = err && err->code ? err->code : DSCAT_EIO;
        else if (f->unordered)
            *unordered = true;
        else
            rc = dscat_error_set(err, DSCAT_EIO, "cannot write metadata.parquet: %s",
                                 duckdb_result_error(&res));
    }
    duckdb_destroy_result(&res);
    return rc;
}

/*
 * The COPY that writes dscat_metadata()'s rows into the file tmp, stamped with generation. tmp is
 * already our own temporary file (renamed into place once whole), so DuckDB writes into it
 * directly: by default, finding the file there, it would write a "tmp_<name>" beside it first,
 * and leave that behind whenever the COPY ends in an error (the unsorted walk found out of order).
 */
static void copy_sql(dscat_buf *sql, const char *tmp, int64_t generation)
{
    dscat_buf_puts(sql, "COPY (SELECT * FROM dscat_metadata()) TO ");
    dscat_duck_quote_literal(sql, tmp);
    dscat_buf_printf(sql,
                     " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false, "
                     "KV_METADATA {dscat_generation: '%lld'})",
                     (long long)generation);
}

/*
 * One attempt: the statement's rows (sorted, or the unsorted walk checked as it goes) into a new
 * temporary file, renamed to path on success. *unordered (with 0 returned) tells the caller that
 * the walk was out of order and nothing was written.
 */
static int write_file(feed *f, dscat_duck *duck, const char *path, const char *target, bool sorted,
                      int64_t generation, bool *unordered, dscat_error *err)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    int fd = -1, rc;
    /* created here (O_EXCL, no symlink followed); DuckDB then writes into the file it finds */
    char *tmp = dscat_atomic_tmp_create(path, &fd, err);
    *unordered = false;
    if (tmp == NULL)
        return err && err->code ? err->code : DSCAT_EIO;
    close(fd);
    feed_reset(f, sorted, err);
    if ((rc = dscat_stmt__prepare(&f->s, f->st, sorted ? SELECT_SQL ORDER_BY : SELECT_SQL, err)))
        goto done;
    if (target)
        dscat_stmt__bind_text(f->s, 1, target);
    copy_sql(&sql, tmp, generation);
    if ((rc = dscat_buf_check(&sql, err, "the export statement")) == 0 &&
        (rc = copy_rows(f, duck, dscat_buf_cstr(&sql), unordered, err)) == 0 && !*unordered)
        rc = dscat_atomic_commit(tmp, path, err);
done:
    if (rc || *unordered)
        unlink(tmp);
    dscat_stmt__finalize(f->s);
    f->s = NULL;
    dscat_buf_free(&sql);
    dscat_free(tmp);
    return rc;
}

/* The feed's batches (cap rows each) and its lock. Returns 0 or DSCAT_ENOMEM. */
static int feed_init_batches(feed *f)
{
    f->cap = duckdb_vector_size();
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    for (int i = 0; i < 2; i++) {
        f->b[i].text = (dscat_buf)DSCAT_BUF_INIT;
        if ((f->b[i].cells = dscat_calloc(f->cap * NCOLS, sizeof(cell))) == NULL)
            return DSCAT_ENOMEM;
    }
    return 0;
}

static void feed_free(feed *f)
{
    for (int i = 0; i < 2; i++) {
        dscat_free(f->b[i].cells);
        dscat_buf_free(&f->b[i].text);
    }
    dscat_buf_free(&f->database);
    dscat_buf_free(&f->schema);
    dscat_buf_free(&f->name);
    ranks_free(f);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}

int dscat_export_parquet(dscat_store *st, const char *path, const char *target, dscat_error *err)
{
    dscat_duck *duck = NULL;
    feed f = {
        .st = st, .database = DSCAT_BUF_INIT, .schema = DSCAT_BUF_INIT, .name = DSCAT_BUF_INIT};
    bool unordered = false;
    int64_t generation = dscat_store__generation(st);
    /* DuckDB first: the batches are sized by it. One snapshot: the rows of the current scans as
     * one commit left them, in both attempts. */
    int rc = dscat_duck_load(err);
    if (rc || (rc = dscat_store__read_begin(st, err)))
        return rc;
    if (feed_init_batches(&f)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    /* One DuckDB thread: the table function feeds a single pipeline (a second thread would only
     * poll for work); the store is read on the reader thread, one batch ahead. */
    if ((rc = ranks_load(&f, err)) || (rc = dscat_duck_open(&duck, err)) ||
        (rc = dscat_duck_exec(duck, "SET threads = 1", err)) ||
        (rc = register_feed(dscat_duck_connection(duck), &f, err)))
        goto done;
    rc = write_file(&f, duck, path, target, false, generation, &unordered, err);
    if (rc == 0 && unordered)
        rc = write_file(&f, duck, path, target, true, generation, &unordered, err);
done:
    dscat_duck_close(duck);
    feed_free(&f);
    dscat_store__read_end(st);
    return rc;
}

/* ---- written ahead (ahead.h) --------------------------------------------------------------- */

struct dscat_export_ahead {
    feed f;
    mem_rows m;
    dscat_export_scan *targets; /* in the file's order */
    rank *ranks;                /* each target's place in that order, as the store will hold it */
    size_t n;
    char fingerprint[1024]; /* of the store the file shows */
    int64_t generation;
    char *tmp;        /* the file, written by the thread; renamed into place by the exports */
    dscat_duck *duck; /* the warm-up's, until the thread takes it */
    pthread_t thread;
    bool joined;
    int rc;
    dscat_error err;
};

/* Each current scan with its target's place in the file's order, as the store will hold it once
 * the refresh has pruned each target to its keep_scans newest scans. */
#define AHEAD_SQL                                                                                  \
    "SELECT g.key, g.current_scan_id, (SELECT min(id) FROM (SELECT id FROM scans s "               \
    "  WHERE s.target = g.key ORDER BY id DESC LIMIT ?1) k) AS first_scan FROM targets g "         \
    "WHERE g.current_scan_id IS NOT NULL ORDER BY first_scan"

/* DuckDB loaded and a database opened on a thread, for the writer to take (ahead.h). */
struct dscat_export_warmup {
    pthread_t thread;
    dscat_duck *duck; /* NULL when it could not be opened: the writer then opens its own */
};

/* The warm-up runs while the sources are read, at a lower priority (Linux sets it per thread):
 * work ahead of need, it takes what the scan leaves idle rather than slow the scan down. */
static void *warmup_thread(void *arg)
{
    dscat_export_warmup *w = arg;
    dscat_error err = {0};
    setpriority(PRIO_PROCESS, (id_t)gettid(), 10); /* where it cannot, at the usual one */
    if (dscat_duck_open(&w->duck, &err))
        w->duck = NULL;
    return NULL;
}

void dscat_export__warmup_start(dscat_export_warmup **out)
{
    *out = dscat_calloc(1, sizeof(**out));
    if (*out && pthread_create(&(*out)->thread, NULL, warmup_thread, *out) != 0) {
        dscat_free(*out);
        *out = NULL;
    }
}

/* Waits for the warm-up and frees it; its database, if any, is the caller's. */
static dscat_duck *warmup_take(dscat_export_warmup *w)
{
    if (w == NULL)
        return NULL;
    pthread_join(w->thread, NULL);
    dscat_duck *duck = w->duck;
    dscat_free(w);
    return duck;
}

void dscat_export__warmup_free(dscat_export_warmup *w)
{
    dscat_duck_close(warmup_take(w));
}

/* The writer's thread: the COPY of dscat_metadata() fed from the scans into a->tmp, through the
 * warm-up's database when there is one. */
static void *ahead_thread(void *arg)
{
    dscat_export_ahead *a = arg;
    dscat_duck *duck = a->duck;
    a->duck = NULL;
    dscat_buf sql = DSCAT_BUF_INIT;
    bool unordered = false;
    feed_reset(&a->f, true, &a->err);
    copy_sql(&sql, a->tmp, a->generation);
    if ((a->rc = dscat_buf_check(&sql, &a->err, "the export statement")) == 0 &&
        (duck || (a->rc = dscat_duck_open(&duck, &a->err)) == 0) &&
        (a->rc = dscat_duck_exec(duck, "SET threads = 1", &a->err)) == 0 &&
        (a->rc = register_feed(dscat_duck_connection(duck), &a->f, &a->err)) == 0)
        a->rc = copy_rows(&a->f, duck, dscat_buf_cstr(&sql), &unordered, &a->err);
    if (a->rc == 0)
        dscat_test__crash_at("parquet_written_ahead");
    dscat_duck_close(duck);
    dscat_buf_free(&sql);
    return NULL;
}

/* Frees a (its thread joined or never started), removing a->tmp when it still has it. */
static void ahead_free(dscat_export_ahead *a)
{
    dscat_duck_close(a->duck);
    mem_database_done(&a->m);
    dscat_free(a->m.dbs);
    feed_free(&a->f);
    for (size_t i = 0; i < a->n; i++)
        dscat_free(a->ranks[i].target);
    dscat_free(a->ranks);
    dscat_free(a->targets);
    if (a->tmp)
        unlink(a->tmp);
    dscat_free(a->tmp);
    dscat_free(a);
}

/* Reads what the file will show (AHEAD_SQL) into a: false when a current scan is not one of
 * the refresh's, or anything fails. */
static bool ahead_plan(dscat_export_ahead *a, dscat_store *st, const dscat_export_scan *scans,
                       size_t n, int keep_scans)
{
    dscat_stmt *s = NULL;
    dscat_error err = {0};
    bool ok = dscat_stmt__prepare(&s, st, AHEAD_SQL, &err) == 0 &&
              (a->targets = dscat_calloc(n + 1, sizeof(*a->targets))) != NULL &&
              (a->ranks = dscat_calloc(n + 1, sizeof(*a->ranks))) != NULL;
    if (ok)
        dscat_stmt__bind_int64(s, 1, keep_scans);
    int step = DSCAT_STMT_DONE;
    while (ok && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        const char *key = dscat_stmt__text(s, 0);
        int64_t current = dscat_stmt__int64(s, 1);
        size_t i = 0;
        while (i < n && !(scans[i].scan_id == current && key && strcmp(scans[i].target, key) == 0))
            i++;
        if (i == n || a->n == n || (a->ranks[a->n].target = dscat_strdup(key)) == NULL) {
            ok = false;
            break;
        }
        a->ranks[a->n].first_scan = dscat_stmt__int64(s, 2);
        a->targets[a->n++] = scans[i];
    }
    dscat_stmt__finalize(s);
    return ok && step == DSCAT_STMT_DONE &&
           dscat_store__fingerprint(st, a->fingerprint, sizeof(a->fingerprint), &err) == 0;
}

void dscat_export__ahead_start(dscat_export_ahead **out, dscat_store *st, const char *catalog_dir,
                               const dscat_export_scan *scans, size_t n, int keep_scans,
                               dscat_export_warmup *warmup)
{
    *out = NULL;
    dscat_error err = {0};
    dscat_duck *duck = warmup_take(warmup);
    if (dscat_duck_load(&err)) {
        dscat_duck_close(duck);
        return; /* the exports say why, writing the file from the store */
    }
    dscat_export_ahead *a = dscat_calloc(1, sizeof(*a));
    dscat_buf path = DSCAT_BUF_INIT;
    int fd = -1;
    if (a == NULL) {
        dscat_duck_close(duck);
        return;
    }
    a->duck = duck;
    a->f = (feed){.database = DSCAT_BUF_INIT, .schema = DSCAT_BUF_INIT, .name = DSCAT_BUF_INIT};
    bool ok = feed_init_batches(&a->f) == 0 && ahead_plan(a, st, scans, n, keep_scans) &&
              dscat_buf_printf(&path, "%s/metadata.parquet", catalog_dir) == 0 &&
              (a->tmp = dscat_atomic_tmp_create(dscat_buf_cstr(&path), &fd, NULL)) != NULL;
    dscat_buf_free(&path);
    if (fd >= 0)
        close(fd);
    if (ok) {
        a->generation = dscat_store__generation(st);
        a->m.targets = a->targets;
        a->m.ntargets = a->n;
        a->f.mem = &a->m;
        ok = pthread_create(&a->thread, NULL, ahead_thread, a) == 0;
    }
    if (!ok) {
        ahead_free(a);
        return;
    }
    *out = a;
}

void dscat_export__ahead_free(dscat_export_ahead *a)
{
    if (a == NULL)
        return;
    if (!a->joined) {
        pthread_mutex_lock(&a->f.mu);
        a->f.abandon = true;
        pthread_cond_broadcast(&a->f.cv);
        pthread_mutex_unlock(&a->f.mu);
        pthread_join(a->thread, NULL);
    }
    ahead_free(a);
}

bool dscat_export__ahead_take(dscat_export_ahead *a, dscat_store *st, const char *fingerprint,
                              char **tmp)
{
    pthread_join(a->thread, NULL);
    a->joined = true;
    if (a->rc || strcmp(a->fingerprint, fingerprint) != 0 ||
        dscat_store__generation(st) != a->generation)
        return false;
    /* The targets' places in the file's order, as the store now holds them. */
    feed probe = {.st = st};
    dscat_error err = {0};
    bool same = ranks_load(&probe, &err) == 0;
    for (size_t i = 0; same && i < a->n; i++)
        same = first_scan_of(&probe, a->ranks[i].target) == a->ranks[i].first_scan;
    ranks_free(&probe);
    if (same) {
        *tmp = a->tmp;
        a->tmp = NULL;
    }
    return same;
}
