/*
 * metadata.parquet (SPEC §3): the current catalog, one row per column, written through DuckDB.
 * A table without a column the scan could read (a broken view) keeps one row, its column fields
 * null, so that nothing in the store is missing from the file.
 * Rows stream from the store into a DuckDB appender, DuckDB writes the Parquet file to a
 * temporary name, and the file is renamed into place.
 */
#include "store/store.h"
#include "core/atomic.h"
#include "core/duck.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <string.h>
#include <unistd.h>

static const char *const create_sql =
    "CREATE TABLE metadata ("
    " \"database\" VARCHAR, \"schema\" VARCHAR, table_name VARCHAR, column_name VARCHAR,"
    " data_type VARCHAR, is_nullable BOOLEAN, is_primary_key BOOLEAN, is_foreign_key BOOLEAN,"
    " fk_references VARCHAR, row_count_estimate BIGINT, last_modified TIMESTAMP,"
    " scanned_at TIMESTAMP, null_count BIGINT, null_rate DOUBLE, distinct_count BIGINT,"
    " profiled_rows BIGINT, target VARCHAR, server VARCHAR, table_type VARCHAR,"
    " ordinal_position INTEGER, column_type VARCHAR, max_length BIGINT,"
    " numeric_precision INTEGER, numeric_scale INTEGER, column_default VARCHAR,"
    " column_comment VARCHAR, table_comment VARCHAR, table_size_bytes BIGINT,"
    " \"generated\" VARCHAR, is_hidden BOOLEAN)";

/*
 * Rows come in the documented order: targets in the order they were first scanned, then
 * database, schema, table and column position. The plan's walk of the store does not promise
 * it (targets come by key), so the order is asked for.
 */

/* Store columns in the Parquet file's order, with how each is appended. */
typedef enum { A_TEXT, A_BOOL, A_BIGINT, A_INT, A_DOUBLE, A_TIMESTAMP } append_kind;

static const append_kind kinds[] = {
    A_TEXT, A_TEXT,   A_TEXT,      A_TEXT,      A_TEXT,   A_BOOL,   A_BOOL,   A_BOOL,
    A_TEXT, A_BIGINT, A_TIMESTAMP, A_TIMESTAMP, A_BIGINT, A_DOUBLE, A_BIGINT, A_BIGINT,
    A_TEXT, A_TEXT,   A_TEXT,      A_INT,       A_TEXT,   A_BIGINT, A_INT,    A_INT,
    A_TEXT, A_TEXT,   A_TEXT,      A_BIGINT,    A_TEXT,   A_BOOL};

#define NCOLS ((int)(sizeof(kinds) / sizeof(kinds[0])))

static const char *const select_sql =
    "SELECT t.database, t.schema, t.name, c.name, c.data_type, c.is_nullable, c.is_primary_key,"
    " c.is_foreign_key, c.fk_references, t.row_estimate, t.last_modified_us, t.scanned_at_us,"
    " c.null_count,"
    " CASE WHEN c.profiled_rows IS NULL OR c.null_count IS NULL THEN NULL"
    "      WHEN c.profiled_rows = 0 THEN 0.0"
    "      ELSE round(CAST(c.null_count AS REAL) / c.profiled_rows, 4) END,"
    " c.distinct_count, c.profiled_rows, t.target, t.server, t.table_type, c.ordinal,"
    " c.column_type, c.max_length, c.numeric_precision, c.numeric_scale, c.column_default,"
    " c.column_comment, t.comment, t.size_bytes, c.generated, c.is_hidden "
    "FROM " DSCAT_CURRENT_TABLES " t LEFT JOIN columns c ON c.set_id = t.column_set "
    "WHERE ?1 IS NULL OR t.target = ?1 "
    "ORDER BY (SELECT min(id) FROM scans WHERE target = t.target), t.database, t.schema, t.name,"
    " c.ordinal";

static duckdb_state append_value(duckdb_appender app, dscat_stmt *s, int i)
{
    if (dscat_stmt__is_null(s, i))
        return duckdb_append_null(app);
    switch (kinds[i]) {
    case A_TEXT:
        return duckdb_append_varchar_length(app, dscat_stmt__text(s, i),
                                            (idx_t)dscat_stmt__bytes(s, i));
    case A_BOOL:
        return duckdb_append_bool(app, dscat_stmt__int(s, i) != 0);
    case A_BIGINT:
        return duckdb_append_int64(app, dscat_stmt__int64(s, i));
    case A_INT:
        return duckdb_append_int32(app, dscat_stmt__int(s, i));
    case A_DOUBLE:
        return duckdb_append_double(app, dscat_stmt__double(s, i));
    case A_TIMESTAMP:
        return duckdb_append_timestamp(app, (duckdb_timestamp){dscat_stmt__int64(s, i)});
    }
    return DuckDBError;
}

/* Streams the store's rows into the DuckDB table `metadata`. */
static int fill(dscat_store *st, duckdb_connection con, const char *target, dscat_error *err)
{
    dscat_stmt *s = NULL;
    duckdb_appender app = NULL;
    /* One snapshot: the rows of the current scans as one commit left them. */
    int rc = dscat_store__read_begin(st, err);
    if (rc)
        return rc;
    if ((rc = dscat_stmt__prepare(&s, st, select_sql, err))) {
        dscat_store__read_end(st);
        return rc;
    }
    if (target)
        dscat_stmt__bind_text(s, 1, target);
    if (duckdb_appender_create(con, NULL, "metadata", &app) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write metadata.parquet: %s",
                             duckdb_appender_error(app));
        goto done;
    }
    int step;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        for (int i = 0; i < NCOLS; i++)
            if (append_value(app, s, i) == DuckDBError)
                goto append_failed;
        if (duckdb_appender_end_row(app) == DuckDBError)
            goto append_failed;
    }
    if (step != DSCAT_STMT_DONE) {
        rc = dscat_store__step_error(st, err);
        goto done;
    }
    if (duckdb_appender_close(app) == DuckDBError)
        goto append_failed;
    goto done;
append_failed:
    rc = dscat_error_set(err, DSCAT_EIO, "cannot write metadata.parquet: %s",
                         duckdb_appender_error(app));
done:
    duckdb_appender_destroy(&app);
    dscat_stmt__finalize(s);
    dscat_store__read_end(st);
    return rc;
}

int dscat_export_parquet(dscat_store *st, const char *path, const char *target, dscat_error *err)
{
    dscat_duck *duck = NULL;
    int fd = -1;
    /* created here (O_EXCL, no symlink followed); DuckDB then writes into the file it finds */
    char *tmp = dscat_atomic_tmp_create(path, &fd, err);
    dscat_buf sql = DSCAT_BUF_INIT;
    int rc;
    if (tmp == NULL)
        return err && err->code ? err->code : DSCAT_EIO;
    close(fd);
    int64_t generation = dscat_store__generation(st);
    if ((rc = dscat_duck_open(&duck, err)) || (rc = dscat_duck_exec(duck, create_sql, err)) ||
        (rc = fill(st, dscat_duck_connection(duck), target, err)))
        goto done;
    dscat_buf_puts(&sql, "COPY metadata TO ");
    dscat_duck_quote_literal(&sql, tmp);
    dscat_buf_printf(&sql,
                     " (FORMAT parquet, COMPRESSION zstd, KV_METADATA {dscat_generation: '%lld'})",
                     (long long)generation);
    if ((rc = dscat_buf_check(&sql, err, "the export statement")))
        goto done;
    if ((rc = dscat_duck_exec(duck, dscat_buf_cstr(&sql), err))) {
        unlink(tmp);
        goto done;
    }
    rc = dscat_atomic_commit(tmp, path, err);
done:
    if (rc)
        unlink(tmp);
    dscat_duck_close(duck);
    dscat_buf_free(&sql);
    dscat_free(tmp);
    return rc;
}
