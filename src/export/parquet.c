/*
 * metadata.parquet (SPEC §3): the current catalog, one row per column, written through DuckDB.
 * A table without a column the scan could read (a broken view) keeps one row, its column fields
 * null, so that nothing in the store is missing from the file.
 *
 * DuckDB reads the store's rows through a table function (dscat_metadata()) that fills whole
 * vectors per chunk straight from the store's statement, and streams them into the Parquet file
 * with one COPY: no DuckDB table in between, no per-value appender call. The file is written to a
 * temporary name and renamed into place.
 */
#include "store/store.h"
#include "core/atomic.h"
#include "core/duck.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <duckdb.h>
#include <string.h>
#include <unistd.h>

/* The file's columns, in order, with their DuckDB types. */
typedef enum { A_TEXT, A_BOOL, A_BIGINT, A_INT, A_DOUBLE, A_TIMESTAMP } append_kind;

typedef struct column_def {
    const char *name;
    append_kind kind;
} column_def;

static const column_def columns[] = {
    {"database", A_TEXT},
    {"schema", A_TEXT},
    {"table_name", A_TEXT},
    {"column_name", A_TEXT},
    {"data_type", A_TEXT},
    {"is_nullable", A_BOOL},
    {"is_primary_key", A_BOOL},
    {"is_foreign_key", A_BOOL},
    {"fk_references", A_TEXT},
    {"row_count_estimate", A_BIGINT},
    {"last_modified", A_TIMESTAMP},
    {"scanned_at", A_TIMESTAMP},
    {"null_count", A_BIGINT},
    {"null_rate", A_DOUBLE},
    {"distinct_count", A_BIGINT},
    {"profiled_rows", A_BIGINT},
    {"target", A_TEXT},
    {"server", A_TEXT},
    {"table_type", A_TEXT},
    {"ordinal_position", A_INT},
    {"column_type", A_TEXT},
    {"max_length", A_BIGINT},
    {"numeric_precision", A_INT},
    {"numeric_scale", A_INT},
    {"column_default", A_TEXT},
    {"column_comment", A_TEXT},
    {"table_comment", A_TEXT},
    {"table_size_bytes", A_BIGINT},
    {"generated", A_TEXT},
    {"is_hidden", A_BOOL},
};

#define NCOLS ((int)(sizeof(columns) / sizeof(columns[0])))

/* Result columns that are sort keys, and the table's id after the file's columns. */
#define COL_DATABASE 0
#define COL_SCHEMA 1
#define COL_TABLE 2
#define COL_TARGET 16
#define COL_ORDINAL 19
#define COL_TABLE_ID NCOLS

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
    " c.null_count,"                                                                               \
    " CASE WHEN c.profiled_rows IS NULL OR c.null_count IS NULL THEN NULL"                         \
    "      WHEN c.profiled_rows = 0 THEN 0.0"                                                      \
    "      ELSE round(CAST(c.null_count AS REAL) / c.profiled_rows, 4) END,"                       \
    " c.distinct_count, c.profiled_rows, t.target, t.server, t.table_type, c.ordinal,"             \
    " c.column_type, c.max_length, c.numeric_precision, c.numeric_scale, c.column_default,"        \
    " c.column_comment, t.comment, t.size_bytes, c.generated, c.is_hidden, t.id "                  \
    "FROM " DSCAT_CURRENT_TABLES " t LEFT JOIN columns c ON c.table_id = t.id "                    \
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
 * What the table function reads: the store's statement and, for the unsorted walk, what checking
 * the order needs (the targets' ranks, the key of the table before).
 */
typedef struct feed {
    dscat_store *st;
    dscat_stmt *s;
    bool check;     /* the statement is the unsorted walk: check each row's place */
    bool unordered; /* the walk was not in the file's order: write again, sorted */
    bool failed;    /* reading the store failed (or memory ran out): err says why */
    bool done;      /* the statement ran to its end (a further step would start it over) */
    dscat_error *err;
    rank *ranks;
    size_t nranks;
    /* the table before: id (-1: none yet), rank, key, last position (-1: no column row) */
    int64_t table_id, first_scan, ordinal;
    dscat_buf database, schema, name;
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
 * table before, whose key it then becomes. Returns 1 when in order, 0 when not, DSCAT_ENOMEM.
 */
static int in_order(feed *f)
{
    dscat_stmt *s = f->s;
    int64_t id = dscat_stmt__int64(s, COL_TABLE_ID);
    bool has_column = !dscat_stmt__is_null(s, COL_ORDINAL);
    int64_t ordinal = has_column ? dscat_stmt__int64(s, COL_ORDINAL) : -1;
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

/* ---- the table function -------------------------------------------------------------------- */

static void feed_bind(duckdb_bind_info info)
{
    static const duckdb_type types[] = {
        [A_TEXT] = DUCKDB_TYPE_VARCHAR,  [A_BOOL] = DUCKDB_TYPE_BOOLEAN,
        [A_BIGINT] = DUCKDB_TYPE_BIGINT, [A_INT] = DUCKDB_TYPE_INTEGER,
        [A_DOUBLE] = DUCKDB_TYPE_DOUBLE, [A_TIMESTAMP] = DUCKDB_TYPE_TIMESTAMP,
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

/* Marks row r of vector v null (validity: the vector's mask, fetched on its first null). */
static void put_null(duckdb_vector v, uint64_t **validity, idx_t r)
{
    if (*validity == NULL) {
        duckdb_vector_ensure_validity_writable(v);
        *validity = duckdb_vector_get_validity(v);
    }
    duckdb_validity_set_row_invalid(*validity, r);
}

/*
 * Writes column i of the statement's current row into row r of vector v (data: its values). A
 * text is asked for first: only a NULL pointer needs the second question, whether the value is
 * null or memory ran out (*nomem).
 */
static void put_value(duckdb_vector v, void *data, uint64_t **validity, dscat_stmt *s, int i,
                      idx_t r, bool *nomem)
{
    if (columns[i].kind == A_TEXT) {
        const char *text = dscat_stmt__text(s, i);
        if (text)
            duckdb_vector_assign_string_element_len(v, r, text, (idx_t)dscat_stmt__bytes(s, i));
        else if (dscat_stmt__is_null(s, i))
            put_null(v, validity, r);
        else
            *nomem = true;
        return;
    }
    if (dscat_stmt__is_null(s, i)) {
        put_null(v, validity, r);
        return;
    }
    switch (columns[i].kind) {
    case A_BOOL:
        ((bool *)data)[r] = dscat_stmt__int(s, i) != 0;
        break;
    case A_BIGINT:
        ((int64_t *)data)[r] = dscat_stmt__int64(s, i);
        break;
    case A_INT:
        ((int32_t *)data)[r] = dscat_stmt__int(s, i);
        break;
    case A_DOUBLE:
        ((double *)data)[r] = dscat_stmt__double(s, i);
        break;
    case A_TIMESTAMP:
        ((duckdb_timestamp *)data)[r] = (duckdb_timestamp){dscat_stmt__int64(s, i)};
        break;
    case A_TEXT:
        break;
    }
}

/*
 * Fills one chunk with the statement's next rows (up to a vector's size); an empty chunk ends the
 * table. A failed read, or a row out of order in the unsorted walk, stops the query with an error
 * that the caller replaces with its own.
 */
static void feed_rows(duckdb_function_info info, duckdb_data_chunk chunk)
{
    feed *f = duckdb_function_get_extra_info(info);
    duckdb_vector vec[NCOLS];
    void *data[NCOLS];
    uint64_t *validity[NCOLS];
    for (int i = 0; i < NCOLS; i++) {
        vec[i] = duckdb_data_chunk_get_vector(chunk, (idx_t)i);
        data[i] = duckdb_vector_get_data(vec[i]);
        validity[i] = NULL;
    }
    idx_t n = 0, cap = duckdb_vector_size();
    int step = DSCAT_STMT_ROW;
    while (n < cap && !f->done && (step = dscat_stmt__step(f->s)) == DSCAT_STMT_ROW) {
        bool nomem = false;
        for (int i = 0; i < NCOLS; i++)
            put_value(vec[i], data[i], &validity[i], f->s, i, n, &nomem);
        int ok = nomem ? DSCAT_ENOMEM : f->check ? in_order(f) : 1;
        if (ok <= 0) {
            if (ok < 0) {
                f->failed = true;
                dscat_error_set(f->err, DSCAT_ENOMEM, "out of memory");
            } else {
                f->unordered = true;
            }
            duckdb_function_set_error(info, "the store's rows are not in the file's order");
            return;
        }
        n++;
    }
    if (step != DSCAT_STMT_ROW && step != DSCAT_STMT_DONE) {
        f->failed = true;
        dscat_store__step_error(f->st, f->err);
        duckdb_function_set_error(info, "reading the store failed");
        return;
    }
    f->done = f->done || step == DSCAT_STMT_DONE;
    duckdb_data_chunk_set_size(chunk, n);
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

/*
 * One attempt: the statement's rows (sorted, or the unsorted walk checked as it goes) into a new
 * temporary file, renamed to path on success. *unordered (with 0 returned) tells the caller that
 * the walk was out of order and nothing was written.
 */
static int write_file(feed *f, dscat_duck *duck, const char *path, const char *target, bool sorted,
                      int64_t generation, bool *unordered, dscat_error *err)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    duckdb_result res;
    int fd = -1, rc;
    /* created here (O_EXCL, no symlink followed); DuckDB then writes into the file it finds */
    char *tmp = dscat_atomic_tmp_create(path, &fd, err);
    *unordered = false;
    if (tmp == NULL)
        return err && err->code ? err->code : DSCAT_EIO;
    close(fd);
    *f = (feed){.st = f->st,
                .check = !sorted,
                .err = err,
                .ranks = f->ranks,
                .nranks = f->nranks,
                .table_id = -1,
                .database = DSCAT_BUF_INIT,
                .schema = DSCAT_BUF_INIT,
                .name = DSCAT_BUF_INIT};
    if ((rc = dscat_stmt__prepare(&f->s, f->st, sorted ? SELECT_SQL ORDER_BY : SELECT_SQL, err)))
        goto done;
    if (target)
        dscat_stmt__bind_text(f->s, 1, target);
    dscat_buf_puts(&sql, "COPY (SELECT * FROM dscat_metadata()) TO ");
    dscat_duck_quote_literal(&sql, tmp);
    dscat_buf_printf(&sql,
                     " (FORMAT parquet, COMPRESSION zstd, KV_METADATA {dscat_generation: '%lld'})",
                     (long long)generation);
    if ((rc = dscat_buf_check(&sql, err, "the export statement")))
        goto done;
    if (duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&sql), &res) == DuckDBError) {
        if (f->failed)
            rc = err && err->code ? err->code : DSCAT_EIO;
        else if (!f->unordered)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot write metadata.parquet: %s",
                                 duckdb_result_error(&res));
        *unordered = !f->failed && f->unordered;
        duckdb_destroy_result(&res);
        goto done;
    }
    duckdb_destroy_result(&res);
    rc = dscat_atomic_commit(tmp, path, err);
done:
    if (rc || *unordered)
        unlink(tmp);
    dscat_stmt__finalize(f->s);
    f->s = NULL;
    dscat_buf_free(&f->database);
    dscat_buf_free(&f->schema);
    dscat_buf_free(&f->name);
    dscat_buf_free(&sql);
    dscat_free(tmp);
    return rc;
}

int dscat_export_parquet(dscat_store *st, const char *path, const char *target, dscat_error *err)
{
    dscat_duck *duck = NULL;
    feed f = {.st = st};
    bool unordered = false;
    int64_t generation = dscat_store__generation(st);
    /* One snapshot: the rows of the current scans as one commit left them, in both attempts. */
    int rc = dscat_store__read_begin(st, err);
    if (rc)
        return rc;
    /* One DuckDB thread: the table function feeds a single pipeline, and the store's statement
     * is then stepped on this thread only (a store belongs to one thread at a time). */
    if ((rc = ranks_load(&f, err)) || (rc = dscat_duck_open(&duck, err)) ||
        (rc = dscat_duck_exec(duck, "SET threads = 1", err)) ||
        (rc = register_feed(dscat_duck_connection(duck), &f, err)))
        goto done;
    rc = write_file(&f, duck, path, target, false, generation, &unordered, err);
    if (rc == 0 && unordered)
        rc = write_file(&f, duck, path, target, true, generation, &unordered, err);
done:
    dscat_duck_close(duck);
    ranks_free(&f);
    dscat_store__read_end(st);
    return rc;
}
