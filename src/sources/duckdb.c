/*
 * DuckDB source: one database file is one database, named after the file without its extension,
 * opened read-only (access_mode READ_ONLY, so that dscat never takes the write lock nor replays
 * anything into the file). The catalog comes from DuckDB's own table functions, duckdb_tables(),
 * duckdb_views(), duckdb_columns() and duckdb_constraints(): three queries whatever the number of
 * tables. Every query selects text (each value as DuckDB's own cast to VARCHAR, times in UTC),
 * read chunk by chunk from a streaming result, so rows are read with bounded memory.
 */
#include "sources/source.h"

#include "core/alloc.h"
#include "core/buf.h"

#include "core/duck_api.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef DSCAT_DUCKDB_EXT_DIR
#define DSCAT_DUCKDB_EXT_DIR "/nonexistent/dscat-duckdb-extensions"
#endif

extern const dscat_source_driver dscat_source_duckdb;

typedef struct duck_source {
    dscat_source base;
    duckdb_database db;
    duckdb_connection con;
    char *path;
} duck_source;

static int query_error(duck_source *s, dscat_error *err, const char *what, const char *cause)
{
    return dscat_error_set(err, DSCAT_EQUERY, "target %s: %s query failed on %s: %s",
                           s->base.target->key, what, s->path, cause ? cause : "unknown error");
}

/* ---- reading results as text ---------------------------------------------------------------- */

/*
 * The rows of one streaming query whose result columns are all VARCHAR, one row at a time as
 * NUL-terminated strings (NULL for SQL NULL) that stay valid until the next row.
 */
typedef struct duck_rows {
    duck_source *src;
    const char *what; /* the query's name in messages: "table", "column", ... */
    duckdb_prepared_statement stmt;
    duckdb_result res;
    bool have_res;
    duckdb_data_chunk chunk;
    idx_t row, size, ncols;
    dscat_buf *text;     /* per column: the current value */
    const char **values; /* per column */
} duck_rows;

static void rows_close(duck_rows *r)
{
    if (r->chunk)
        duckdb_destroy_data_chunk(&r->chunk);
    if (r->have_res)
        duckdb_destroy_result(&r->res);
    if (r->stmt)
        duckdb_destroy_prepare(&r->stmt);
    for (idx_t i = 0; r->text && i < r->ncols; i++)
        dscat_buf_free(&r->text[i]);
    dscat_free(r->text);
    dscat_free(r->values);
    memset(r, 0, sizeof(*r));
}

/* Starts sql as a streaming query. On failure r holds nothing and err names the query. */
static int rows_open(duck_rows *r, duck_source *s, const char *sql, const char *what,
                     dscat_error *err)
{
    int rc = 0;
    memset(r, 0, sizeof(*r));
    r->src = s;
    r->what = what;
    s->base.queries++;
    if (duckdb_prepare(s->con, sql, &r->stmt) == DuckDBError) {
        rc = query_error(s, err, what, duckdb_prepare_error(r->stmt));
        goto done;
    }
    r->have_res = true;
    if (duckdb_execute_prepared_streaming(r->stmt, &r->res) == DuckDBError) {
        rc = query_error(s, err, what, duckdb_result_error(&r->res));
        goto done;
    }
    r->ncols = duckdb_column_count(&r->res);
    for (idx_t i = 0; i < r->ncols; i++)
        if (duckdb_column_type(&r->res, i) != DUCKDB_TYPE_VARCHAR) {
            rc = query_error(s, err, what, "a result column is not text");
            goto done;
        }
    r->text = dscat_calloc(r->ncols + 1, sizeof(dscat_buf));
    r->values = dscat_calloc(r->ncols + 1, sizeof(char *));
    if (r->text == NULL || r->values == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    if (rc)
        rows_close(r);
    return rc;
}

/* The next row into r->values: 1, 0 at the end, or a negative code with err filled. */
static int rows_next(duck_rows *r, dscat_error *err)
{
    while (r->chunk == NULL || r->row >= r->size) {
        if (r->chunk)
            duckdb_destroy_data_chunk(&r->chunk);
        r->chunk = duckdb_fetch_chunk(r->res);
        if (r->chunk == NULL) {
            const char *msg = duckdb_result_error(&r->res);
            return msg && *msg ? query_error(r->src, err, r->what, msg) : 0;
        }
        r->size = duckdb_data_chunk_get_size(r->chunk);
        r->row = 0;
    }
    for (idx_t c = 0; c < r->ncols; c++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(r->chunk, c);
        uint64_t *valid = duckdb_vector_get_validity(v);
        if (valid && !duckdb_validity_row_is_valid(valid, r->row)) {
            r->values[c] = NULL;
            continue;
        }
        duckdb_string_t *str = (duckdb_string_t *)duckdb_vector_get_data(v) + r->row;
        dscat_buf_reset(&r->text[c]);
        if (dscat_buf_put(&r->text[c], duckdb_string_t_data(str), duckdb_string_t_length(*str)) ||
            dscat_buf_putc(&r->text[c], '\0'))
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        r->text[c].len--; /* the NUL written above ends the text even when it is empty */
        r->values[c] = r->text[c].ptr;
    }
    r->row++;
    return 1;
}

/* An integer column of a catalog row; DSCAT_NULL for NULL. */
static int64_t int_value(const char *v)
{
    return v ? strtoll(v, NULL, 10) : DSCAT_NULL;
}

/* ---- connections ---------------------------------------------------------------------------- */

/* The database name for a path: its file name without directory and extension. */
static char *db_name_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return dscat_strndup(base, n);
}

/*
 * Opens the file read-only with the settings dscat gives every DuckDB it opens: no extension is
 * installed or loaded behind its back, nothing is written to ~/.duckdb nor to a temporary
 * directory beside the file. Times are read in UTC.
 */
static int open_file(duck_source *s, const char *path, dscat_error *err)
{
    duckdb_config config = NULL;
    char *msg = NULL;
    int rc = dscat_duck_load(err);
    if (rc)
        return rc;
    if (duckdb_create_config(&config) == DuckDBError)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    duckdb_set_config(config, "access_mode", "READ_ONLY");
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_set_config(config, "autoload_known_extensions", "false");
    duckdb_set_config(config, "extension_directory", DSCAT_DUCKDB_EXT_DIR);
    duckdb_set_config(config, "allow_community_extensions", "false");
    duckdb_set_config(config, "threads", "1");
    /* Nothing is ever written beside the user's file: a query past memory fails, never spills. */
    duckdb_set_config(config, "temp_directory", "");
    if (duckdb_open_ext(path, &s->db, config, &msg) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EINVALID, "target %s: cannot read %s: %s",
                             s->base.target->key, path, msg ? msg : "unknown error");
        s->db = NULL;
    } else if (duckdb_connect(s->db, &s->con) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "target %s: cannot read %s: cannot connect",
                             s->base.target->key, path);
        s->con = NULL;
    } else {
        duckdb_result res;
        /* Without the ICU extension there is no time zone to set: times are UTC already. */
        duckdb_query(s->con, "SET TimeZone = 'UTC'", &res);
        duckdb_destroy_result(&res);
    }
    if (msg)
        duckdb_free(msg);
    duckdb_destroy_config(&config);
    return rc;
}

static void duck_close(dscat_source *src)
{
    if (src == NULL)
        return;
    duck_source *s = (duck_source *)src;
    if (s->con)
        duckdb_disconnect(&s->con);
    if (s->db)
        duckdb_close(&s->db);
    dscat_free(s->path);
    dscat_free(s->base.database);
    dscat_free(s);
}

static int duck_connect(dscat_source **out, const dscat_target_config *target,
                        const dscat_target_conn *conn, const char *database,
                        const dscat_settings *settings, dscat_error *err)
{
    (void)database, (void)settings;
    *out = NULL;
    struct stat st;
    if (stat(conn->path, &st) != 0)
        return dscat_error_set(err, errno == ENOENT ? DSCAT_ENOTFOUND : DSCAT_EIO,
                               "target %s: cannot open %s: %s", target->key, conn->path,
                               strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dscat_error_set(err, DSCAT_EINVALID, "target %s: %s is not a file", target->key,
                               conn->path);
    duck_source *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    s->base.driver = &dscat_source_duckdb;
    s->base.target = target;
    s->path = dscat_strdup(conn->path);
    s->base.database = db_name_for(conn->path);
    int rc = s->path && s->base.database ? open_file(s, conn->path, err)
                                         : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc) {
        duck_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int duck_list_databases(dscat_source *src, dscat_name_list *out, dscat_error *err)
{
    if (dscat_name_list_add(out, src->database))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return 0;
}

/* ---- the catalog ---------------------------------------------------------------------------- */

/* Tables (with their estimated row counts) and views, with their comments. */
static int scan_tables(duck_source *s, dscat_db_scan *out, dscat_error *err)
{
    static const char sql[] =
        "SELECT schema_name, table_name, 'BASE TABLE', comment, estimated_size::VARCHAR "
        "FROM duckdb_tables() WHERE database_name = current_database() AND NOT internal "
        "AND NOT temporary "
        "UNION ALL SELECT schema_name, view_name, 'VIEW', comment, NULL::VARCHAR "
        "FROM duckdb_views() WHERE database_name = current_database() AND NOT internal "
        "AND NOT temporary ORDER BY 1, 2";
    duck_rows r;
    int rc = rows_open(&r, s, sql, "table", err);
    while (rc == 0 && (rc = rows_next(&r, err)) == 1) {
        const char *const *v = r.values;
        dscat_table_info t = {.schema = v[0],
                              .name = v[1],
                              .type = v[2],
                              .comment = v[3],
                              .row_estimate = int_value(v[4]),
                              .size_bytes = DSCAT_NULL,
                              .last_modified_us = DSCAT_NULL};
        rc = dscat_db_scan_refused(out, dscat_db_scan_add_table(out, &t, NULL), v[0], v[1], NULL);
        if (rc)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    rows_close(&r);
    return rc < 0 ? rc : 0;
}

/* The columns of every table and view, in their declared order. */
static int scan_columns(duck_source *s, dscat_db_scan *out, dscat_error *err)
{
    static const char sql[] =
        "SELECT schema_name, table_name, column_name, column_index::VARCHAR, data_type, "
        "is_nullable::VARCHAR, column_default, comment, character_maximum_length::VARCHAR, "
        "numeric_precision::VARCHAR, numeric_scale::VARCHAR FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY schema_name, table_name, column_index";
    duck_rows r;
    int rc = rows_open(&r, s, sql, "column", err);
    while (rc == 0 && (rc = rows_next(&r, err)) == 1) {
        const char *const *v = r.values;
        long t = dscat_db_scan_find_table(out, v[0], v[1]);
        if (t < 0) {
            rc = 0;
            continue;
        }
        dscat_column_info c = {.table = (size_t)t,
                               .name = v[2],
                               .ordinal = (int)int_value(v[3]),
                               .data_type = v[4] ? v[4] : "",
                               .column_type = v[4] ? v[4] : "",
                               .nullable = v[5] == NULL || strcmp(v[5], "false") != 0,
                               .default_value = v[6],
                               .comment = v[7],
                               .max_length = int_value(v[8]),
                               .precision = int_value(v[9]),
                               .scale = int_value(v[10]),
                               .null_count = DSCAT_NULL,
                               .distinct_count = DSCAT_NULL,
                               .profiled_rows = DSCAT_NULL};
        rc = dscat_db_scan_refused(out, dscat_db_scan_add_column(out, &c), v[0], v[1], v[2]);
        if (rc)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    rows_close(&r);
    return rc < 0 ? rc : 0;
}

/*
 * Primary keys (marking their columns) and foreign keys, one row per column pair in the key's
 * order. DuckDB refuses foreign keys across schemas: the referenced table is in the same schema.
 */
static int scan_keys(duck_source *s, dscat_db_scan *out, dscat_error *err)
{
    static const char sql[] =
        "SELECT schema_name, table_name, constraint_type, col, referenced_table, ref_col FROM "
        "(SELECT schema_name, table_name, constraint_type, constraint_index, referenced_table, "
        "unnest(constraint_column_names) AS col, unnest(referenced_column_names) AS ref_col, "
        "generate_subscripts(constraint_column_names, 1) AS k FROM duckdb_constraints() "
        "WHERE database_name = current_database() "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')) "
        "ORDER BY schema_name, table_name, constraint_index, k";
    duck_rows r;
    int rc = rows_open(&r, s, sql, "key", err);
    while (rc == 0 && (rc = rows_next(&r, err)) == 1) {
        const char *const *v = r.values;
        long t = dscat_db_scan_find_table(out, v[0], v[1]);
        rc = 0;
        if (t < 0 || v[3] == NULL)
            continue;
        if (strcmp(v[2], "PRIMARY KEY") == 0) {
            dscat_db_scan_mark_pk(out, (size_t)t, v[3]);
            continue;
        }
        dscat_fk_info fk = {(size_t)t, v[3], v[0], v[4] ? v[4] : "", v[5] ? v[5] : ""};
        if (dscat_db_scan_add_fk(out, &fk))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    rows_close(&r);
    return rc < 0 ? rc : 0;
}

static int duck_scan_database(dscat_source *src, dscat_db_scan *out, dscat_error *err)
{
    duck_source *s = (duck_source *)src;
    int rc = scan_tables(s, out, err);
    if (rc == 0)
        rc = scan_columns(s, out, err);
    if (rc == 0)
        rc = scan_keys(s, out, err);
    return rc;
}

/* ---- profiles and rows ---------------------------------------------------------------------- */

static bool duck_profileable(const char *data_type)
{
    (void)data_type; /* DuckDB counts distinct values of every type, nested ones included */
    return true;
}

static int duck_quote(dscat_buf *b, const char *name, void *payload)
{
    (void)payload;
    int rc = dscat_buf_putc(b, '"');
    for (const char *p = name; *p && rc == 0; p++)
        rc = *p == '"' ? dscat_buf_puts(b, "\"\"") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, '"');
}

/* hex() of a BLOB (NULL stays NULL). */
static int duck_hex(dscat_buf *b, const char *name, void *payload)
{
    dscat_buf_puts(b, "hex(");
    int rc = duck_quote(b, name, payload);
    return rc ? rc : dscat_buf_putc(b, ')');
}

/* Runs one profile query (see dscat_profile_dialect.query): every figure read as text. */
static int duck_profile_query(void *payload, const char *sql, int64_t *values, size_t nvalues,
                              dscat_error *err)
{
    duck_source *s = payload;
    dscat_buf text = DSCAT_BUF_INIT;
    duck_rows r;
    int rc = dscat_buf_puts(&text, "SELECT COLUMNS(*)::VARCHAR FROM (") ||
                     dscat_buf_puts(&text, sql) || dscat_buf_putc(&text, ')')
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : rows_open(&r, s, dscat_buf_cstr(&text), "profile", err);
    dscat_buf_free(&text);
    if (rc)
        return rc;
    rc = rows_next(&r, err);
    if (rc == 1 && r.ncols >= nvalues) {
        for (size_t i = 0; i < nvalues; i++)
            values[i] = int_value(r.values[i]);
        rc = 0;
    } else if (rc >= 0) {
        rc = query_error(s, err, "profile", "no result row");
    }
    rows_close(&r);
    return rc;
}

/* DuckDB has no small select-list limit; chunks keep each query reasonable. */
static const dscat_profile_dialect duck_dialect = {duck_quote, false, duck_profileable,
                                                   duck_hex,   1000,  duck_profile_query};

static int duck_profile_table(dscat_source *src, dscat_db_scan *scan, size_t table,
                              const size_t *columns, size_t ncolumns, int sample, dscat_error *err)
{
    return dscat_profile_run(&duck_dialect, src, scan, table, columns, ncolumns, sample, err);
}

struct dscat_cursor {
    duck_rows rows;
    bool *bc; /* per column: a date or time whose "(BC)" era is rewritten as " BC" */
    dscat_buf era;
};

/* True for the types whose text may carry DuckDB's " (BC)" era suffix. */
static bool has_era(const char *data_type)
{
    return data_type && (strcmp(data_type, "DATE") == 0 || strncmp(data_type, "TIMESTAMP", 9) == 0);
}

/*
 * An append refresh's predicate (source.h, key_predicate): the literal cast to the column's own
 * type; text compares in DuckDB's default, binary order (a column declared with another
 * collation would compare in it: docs/cache.md).
 */
static int duck_key_predicate(dscat_buf *sql, const dscat_key_bound *k)
{
    bool text = k->data_type && strcmp(k->data_type, "VARCHAR") == 0;
    if ((k->type == DSCAT_KEY_TEXT && !text) ||
        (k->value && !dscat_key_value_ok(k->type, k->value)))
        return DSCAT_EINVALID;
    if (k->value == NULL)
        return 0;
    int rc = duck_quote(sql, k->column, NULL);
    rc = rc ? rc : dscat_buf_puts(sql, " > ");
    if (rc)
        return DSCAT_ENOMEM;
    switch (k->type) {
    case DSCAT_KEY_INTEGER:
    case DSCAT_KEY_DECIMAL:
        return dscat_buf_puts(sql, k->value);
    case DSCAT_KEY_DATE:
        return dscat_buf_printf(sql, "CAST('%s' AS DATE)", k->value);
    case DSCAT_KEY_TIMESTAMP:
        return dscat_buf_printf(sql, "CAST('%s' AS TIMESTAMP)", k->value);
    case DSCAT_KEY_TIMESTAMPTZ:
        return dscat_buf_printf(sql, "CAST('%s%s' AS TIMESTAMPTZ)", k->value,
                                k->value[0] == '-' || k->value[0] == 'i' ? "" : "+00");
    case DSCAT_KEY_TEXT: /* DuckDB compares text in binary order unless told otherwise */
        return dscat_source__sql_string(sql, "", k->value, false);
    }
    return DSCAT_EINVALID;
}

static int duck_cursor_open(dscat_cursor **out, dscat_source *src, const char *schema,
                            const char *table, const dscat_cursor_column *columns, size_t ncolumns,
                            dscat_error *err)
{
    duck_source *s = (duck_source *)src;
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_cursor *c = dscat_calloc(1, sizeof(*c));
    bool *bc = dscat_calloc(ncolumns + 1, sizeof(bool));
    int rc = c && bc ? dscat_buf_puts(&sql, "SELECT ") : DSCAT_ENOMEM;
    for (size_t i = 0; i < ncolumns && rc == 0; i++) {
        bc[i] = !columns[i].hex && has_era(columns[i].data_type);
        if (i)
            dscat_buf_puts(&sql, ", ");
        if (columns[i].hex) {
            rc = duck_hex(&sql, columns[i].name, NULL);
        } else {
            dscat_buf_puts(&sql, "CAST(");
            duck_quote(&sql, columns[i].name, NULL);
            rc = dscat_buf_puts(&sql, " AS VARCHAR)");
        }
    }
    if (rc == 0 && ncolumns == 0)
        rc = dscat_buf_puts(&sql, "NULL::VARCHAR");
    rc = rc ? rc : dscat_buf_puts(&sql, " FROM ");
    rc = rc ? rc : duck_quote(&sql, schema, NULL);
    rc = rc ? rc : dscat_buf_putc(&sql, '.');
    rc = rc ? rc : duck_quote(&sql, table, NULL);
    rc = rc ? rc : dscat_source__where(&sql, src);
    if (rc)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else
        rc = rows_open(&c->rows, s, dscat_buf_cstr(&sql), "row", err);
    dscat_buf_free(&sql);
    if (rc) {
        dscat_free(bc);
        dscat_free(c);
        return rc;
    }
    c->bc = bc;
    *out = c;
    return 0;
}

static int duck_cursor_next(dscat_cursor *c, const char *const **values, dscat_error *err)
{
    int rc = rows_next(&c->rows, err);
    if (rc != 1)
        return rc;
    for (size_t i = 0; i < c->rows.ncols; i++) {
        dscat_buf *t = &c->rows.text[i];
        /* "0044-03-15 (BC)" is DuckDB's spelling of the era; the cache reads "... BC" */
        if (c->bc[i] && c->rows.values[i] && t->len > 5 &&
            strcmp(t->ptr + t->len - 5, " (BC)") == 0) {
            t->ptr[t->len - 4] = 'B';
            t->ptr[t->len - 3] = 'C';
            t->ptr[t->len - 2] = '\0';
            t->len -= 2;
        }
    }
    *values = c->rows.values;
    return 1;
}

static void duck_cursor_close(dscat_cursor *c)
{
    if (c == NULL)
        return;
    rows_close(&c->rows);
    dscat_free(c->bc);
    dscat_free(c);
}

/* ---- configuration and the cache's types ---------------------------------------------------- */

static const char *const duck_keys[] = {"path", "path_env", NULL};

/* DuckDB's own types, by the name duckdb_columns() gives them. */
static const dscat_type_map duck_types[] = {
    {"BOOLEAN", "BOOLEAN"},
    {"TINYINT", "TINYINT"},
    {"SMALLINT", "SMALLINT"},
    {"INTEGER", "INTEGER"},
    {"BIGINT", "BIGINT"},
    {"UTINYINT", "UTINYINT"},
    {"USMALLINT", "USMALLINT"},
    {"UINTEGER", "UINTEGER"},
    {"UBIGINT", "UBIGINT"},
    {"FLOAT", "FLOAT"},
    {"DOUBLE", "DOUBLE"},
    {"DATE", "DATE"},
    {"TIME", "TIME"},
    {"TIMESTAMP", "TIMESTAMP"},
    {"TIMESTAMP_S", "TIMESTAMP"},
    {"TIMESTAMP_MS", "TIMESTAMP"},
    {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"},
    {"UUID", "UUID"},
    {"JSON", "JSON"},
    {"VARCHAR", "VARCHAR"},
};

/*
 * The same type where the cache has it (DECIMAL of any precision DuckDB allows, up to 38); BLOB
 * read as hex. HUGEINT, TIMESTAMP_NS, intervals, bit strings, enums and nested types keep their
 * text.
 */
static void duck_cache_type(dscat_cache_type *out, const char *dt, const char *column_type,
                            int precision, int scale)
{
    (void)column_type, (void)precision, (void)scale;
    int p, s, n = 0;
    if (strcmp(dt, "BLOB") == 0) {
        snprintf(out->duck_type, sizeof(out->duck_type), "BLOB");
        out->hex = true;
    } else if (sscanf(dt, "DECIMAL(%d,%d)%n", &p, &s, &n) == 2 && dt[n] == '\0' && p > 0 &&
               p <= 38 && s >= 0 && s <= p) {
        snprintf(out->duck_type, sizeof(out->duck_type), "DECIMAL(%d,%d)", p, s);
    } else {
        const char *duck =
            dscat_type_map_find(duck_types, sizeof(duck_types) / sizeof(duck_types[0]), dt);
        if (duck)
            snprintf(out->duck_type, sizeof(out->duck_type), "%s", duck);
    }
}

const dscat_source_driver dscat_source_duckdb = {
    .version = DSCAT_SOURCE_DRIVER_VERSION,
    .name = "duckdb",
    .keys = duck_keys,
    .check_target = dscat_source__check_file,
    .resolve = dscat_source__resolve_file,
    .config_database = dscat_source__file_database,
    .help = "[targets.lake]\n"
            "type = \"duckdb\"                   # a DuckDB database file, opened read-only\n"
            "path = \"/data/lake.duckdb\"        # or path_env = \"LAKE_DB\"\n",
    .cache_type = duck_cache_type,
    .connect = duck_connect,
    .list_databases = duck_list_databases,
    .scan_database = duck_scan_database,
    .profile_table = duck_profile_table,
    .cursor_open = duck_cursor_open,
    .key_predicate = duck_key_predicate,
    .cursor_next = duck_cursor_next,
    .cursor_close = duck_cursor_close,
    .close = duck_close,
};
