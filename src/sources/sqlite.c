/*
 * SQLite source: one file is one database, named after the file without its extension; its
 * schema is "main". The catalog is read with table-valued pragma functions joined to
 * sqlite_schema, so the number of queries does not grow with the number of tables.
 */
#include "sources/source.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct sqlite_source {
    dscat_source base;
    sqlite3 *db;
    char *path;
} sqlite_source;

/* The database name for a path: its file name without directory and extension. */
static char *db_name_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return dscat_strndup(base, n);
}

static int sqlite_connect(dscat_source **out, const dscat_target_config *target,
                          const dscat_target_conn *conn, const char *database,
                          const dscat_settings *settings, dscat_error *err)
{
    (void)database;
    *out = NULL;
    struct stat st;
    if (stat(conn->path, &st) != 0)
        return dscat_error_set(err, errno == ENOENT ? DSCAT_ENOTFOUND : DSCAT_EIO,
                               "target %s: cannot open %s: %s", target->key, conn->path,
                               strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dscat_error_set(err, DSCAT_EINVALID, "target %s: %s is not a file", target->key,
                               conn->path);
    sqlite_source *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    s->base.target = target;
    s->path = dscat_strdup(conn->path);
    s->base.database = db_name_for(conn->path);
    int rc = sqlite3_open_v2(conn->path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(s->db, (int)(settings->connect_timeout * 1000));
    /* Reading sqlite_schema proves the file is a database before any catalog query. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        dscat_error_set(err, rc == SQLITE_NOTADB ? DSCAT_EINVALID : DSCAT_EIO,
                        "target %s: cannot read %s: %s", target->key, conn->path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        s->base.driver = &dscat_source_sqlite;
        dscat_source_sqlite.close(&s->base);
        return err ? err->code : DSCAT_EIO;
    }
    s->base.driver = &dscat_source_sqlite;
    *out = &s->base;
    return 0;
}

static int sqlite_list_databases(dscat_source *src, dscat_name_list *out, dscat_error *err)
{
    if (dscat_name_list_add(out, src->database))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return 0;
}

static const char *text_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int query_error(sqlite_source *s, dscat_error *err, const char *what)
{
    return dscat_error_set(err, DSCAT_EQUERY, "target %s: %s query failed on %s: %s",
                           s->base.target->key, what, s->path, sqlite3_errmsg(s->db));
}

/*
 * The bare type of a declared type: lower-cased, without its parenthesised part and trailing
 * blanks ("NVARCHAR(160)" -> "nvarchar"). Declared types may be of any length. Caller frees;
 * NULL when out of memory.
 */
static char *bare_type(const char *declared)
{
    size_t n = strcspn(declared, "(");
    while (n > 0 && isspace((unsigned char)declared[n - 1]))
        n--;
    char *out = dscat_strndup(declared, n);
    for (size_t k = 0; out && k < n; k++)
        out[k] = (char)tolower((unsigned char)out[k]);
    return out;
}

/* What the column pass needs to know of each table (table_flags, by table index). */
enum { WITHOUT_ROWID = 1, PK_INDEX = 2 };

/*
 * Pass 1: tables and views, noting whether statistics can be used and, in *flags (one byte per
 * table of out, caller frees), which tables are WITHOUT ROWID and which have a primary-key
 * index (origin 'pk': a primary key that is not an INTEGER PRIMARY KEY, the rowid's alias).
 * pragma_table_list is read once, into a materialized CTE: read per table (with the name as its
 * argument) it walks every table each time. pragma_index_list is asked once per table here: as a
 * correlated subquery of the column query it cost three times the whole column pass.
 */
static int scan_tables(sqlite_source *s, dscat_db_scan *out, bool *has_stat1, unsigned char **flags,
                       dscat_error *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql =
        "WITH l AS MATERIALIZED (SELECT name, wr FROM pragma_table_list WHERE schema = 'main') "
        "SELECT m.type, m.name, coalesce((SELECT l.wr FROM l WHERE l.name = m.name), 0), "
        "m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_index_list(m.name) i "
        "WHERE i.origin = 'pk') "
        "FROM sqlite_schema m WHERE m.type IN ('table', 'view') ORDER BY m.name";
    size_t cap = 0;
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return query_error(s, err, "table");
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = text_col(st, 0), *name = text_col(st, 1);
        if (strncmp(name, "sqlite_", 7) == 0) {
            if (strcmp(name, "sqlite_stat1") == 0)
                *has_stat1 = true;
            continue;
        }
        dscat_table_info t = {.schema = "main",
                              .name = name,
                              .type = strcmp(type, "view") == 0 ? "VIEW" : "BASE TABLE",
                              .row_estimate = DSCAT_NULL,
                              .size_bytes = DSCAT_NULL,
                              .last_modified_us = DSCAT_NULL};
        size_t count = out->tables.count;
        if (dscat_db_scan_refused(out, dscat_db_scan_add_table(out, &t, NULL), "main", name,
                                  NULL) ||
            (out->tables.count > count &&
             dscat_grow((void **)flags, &cap, count, sizeof(**flags)))) {
            sqlite3_finalize(st);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        if (out->tables.count > count)
            (*flags)[count] = (unsigned char)((sqlite3_column_int(st, 2) ? WITHOUT_ROWID : 0) |
                                              (sqlite3_column_int(st, 3) ? PK_INDEX : 0));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : query_error(s, err, "table");
}

/* Which table each index belongs to, for sizes. */
static int map_indexes(sqlite_source *s, dscat_db_scan *out, dscat_strmap *index_table,
                       dscat_error *err)
{
    sqlite3_stmt *st = NULL;
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'",
                           -1, &st, NULL) != SQLITE_OK)
        return query_error(s, err, "index");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = text_col(st, 0);
        long t = dscat_db_scan_find_table(out, "main", text_col(st, 1));
        if (t >= 0 && dscat_strmap_put(index_table, name, strlen(name), (size_t)t)) {
            sqlite3_finalize(st);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : query_error(s, err, "index");
}

/* Row estimates from sqlite_stat1 (written by ANALYZE): the first number of a table's stat. */
static int scan_stats(sqlite_source *s, dscat_db_scan *out, dscat_error *err)
{
    sqlite3_stmt *st = NULL;
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT tbl, max(CAST(stat AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl",
                           -1, &st, NULL) != SQLITE_OK)
        return query_error(s, err, "statistics");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long i = dscat_db_scan_find_table(out, "main", text_col(st, 0));
        if (i >= 0)
            out->tables.items[i].row_estimate = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : query_error(s, err, "statistics");
}

/*
 * Table sizes (table plus its indexes) from the dbstat virtual table, when it is compiled in:
 * one row per b-tree (aggregate mode), added to the table the b-tree belongs to. (Joining dbstat
 * to sqlite_schema instead costs time quadratic in the number of tables.)
 */
static void scan_sizes(sqlite_source *s, dscat_db_scan *out, const dscat_strmap *index_table)
{
    sqlite3_stmt *st = NULL;
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, "SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE", -1, &st,
                           NULL) != SQLITE_OK)
        return; /* no dbstat in this SQLite: sizes stay unknown */
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = text_col(st, 0);
        long t = dscat_db_scan_find_table(out, "main", name);
        size_t mapped;
        if (t < 0 && dscat_strmap_get(index_table, name, strlen(name), &mapped))
            t = (long)mapped;
        if (t < 0)
            continue;
        dscat_table_info *ti = &out->tables.items[t];
        int64_t add = sqlite3_column_int64(st, 1);
        ti->size_bytes = ti->size_bytes == DSCAT_NULL ? add : ti->size_bytes + add;
    }
    sqlite3_finalize(st);
}

/*
 * The columns of one object, as pragma table_xinfo reports them (hidden and generated columns
 * included, cid counting every column, so ordinals are the declared positions).
 */
#define COLUMN_FIELDS "p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden"

/* What pragma table_xinfo's `hidden` field says: 2 and 3 are generated columns. */
static const char *generated_kind(int hidden)
{
    return hidden == 3 ? "STORED" : hidden == 2 ? "VIRTUAL" : NULL;
}

/*
 * Adds one column from the fields of COLUMN_FIELDS, starting at field `at` of st, of a table
 * with `flags` (scan_tables). A primary-key column of a table without a primary-key index is an
 * INTEGER PRIMARY KEY (an alias of the rowid), which cannot hold NULL although it is not
 * declared NOT NULL; so cannot any primary-key column of a WITHOUT ROWID table. A name the
 * catalog cannot hold (not UTF-8) becomes a problem naming the column. 0 or DSCAT_ENOMEM.
 */
static int add_column_row(dscat_db_scan *out, long table, unsigned flags, sqlite3_stmt *st, int at)
{
    const char *declared = text_col(st, at + 2);
    const char *name = text_col(st, at + 1);
    char *dtype = bare_type(declared ? declared : "");
    if (dtype == NULL || name == NULL) {
        dscat_free(dtype);
        return DSCAT_ENOMEM;
    }
    int hidden = sqlite3_column_int(st, at + 6);
    bool pk = sqlite3_column_int(st, at + 5) > 0;
    bool key_not_null = pk && (!(flags & PK_INDEX) || (flags & WITHOUT_ROWID));
    dscat_column_info c = {.table = (size_t)table,
                           .name = name,
                           .ordinal = sqlite3_column_int(st, at) + 1,
                           .data_type = dtype,
                           .column_type = declared ? declared : "",
                           .nullable = sqlite3_column_int(st, at + 3) == 0 && !key_not_null,
                           .is_pk = pk,
                           .generated = generated_kind(hidden),
                           .hidden = hidden == 1,
                           .default_value = text_col(st, at + 4),
                           .max_length = DSCAT_NULL,
                           .precision = DSCAT_NULL,
                           .scale = DSCAT_NULL,
                           .null_count = DSCAT_NULL,
                           .distinct_count = DSCAT_NULL,
                           .profiled_rows = DSCAT_NULL};
    int rc = dscat_db_scan_refused(out, dscat_db_scan_add_column(out, &c), "main",
                                   out->tables.items[table].name, name);
    dscat_free(dtype);
    return rc;
}

/*
 * Fallback for a database whose set-based column query fails (a view over a dropped table makes
 * pragma_table_xinfo fail for the whole join): one query per object, so that the broken object
 * becomes a problem naming it and every column of the others is still catalogued.
 */
static int scan_columns_each(sqlite_source *s, dscat_db_scan *out, const unsigned char *flags,
                             dscat_error *err)
{
    sqlite3_stmt *st = NULL;
    static const char sql[] = /* one object's columns */
        "SELECT " COLUMN_FIELDS " FROM pragma_table_xinfo(?1) p ORDER BY p.cid";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return query_error(s, err, "column");
    int rc = 0;
    for (size_t i = 0; i < out->tables.count && rc == 0; i++) {
        const dscat_table_info *t = &out->tables.items[i];
        size_t before = out->columns.count;
        int step = SQLITE_DONE;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        s->base.queries++;
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
            rc = add_column_row(out, (long)i, flags[i], st, 0);
        if (rc == 0 && step != SQLITE_DONE) {
            /* Keep no half-read object. */
            rc = dscat_db_scan_truncate_columns(out, before);
            if (rc == 0)
                rc = dscat_db_scan_add_object_problem(
                    out, "main",
                    strcmp(t->type, "VIEW") == 0 ? "cannot read view" : "cannot read table",
                    t->name, sqlite3_errmsg(s->db));
        }
    }
    sqlite3_finalize(st);
    return rc ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory") : 0;
}

/*
 * The table called `name`, or -1. The rows of one table come together: `last` (the previous
 * row's answer, -1 for none) is tried before the map, so that the map is asked once per table.
 */
static long table_named(const dscat_db_scan *out, long last, const char *name)
{
    if (name == NULL)
        return -1;
    if (last >= 0 && strcmp(out->tables.items[last].name, name) == 0)
        return last;
    return dscat_db_scan_find_table(out, "main", name);
}

/*
 * Every object's columns in one query. The rows come object by object in sqlite_schema's order,
 * each object's in cid order (pragma_table_xinfo's own), and are left unsorted: the store orders
 * tables by name and columns by ordinal, and a sort here cost a fifth of the query.
 */
static int scan_columns(sqlite_source *s, dscat_db_scan *out, const unsigned char *flags,
                        dscat_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t problems = out->problems.count;
    static const char sql[] = /* one query for every object's columns */
        "SELECT m.name, " COLUMN_FIELDS " FROM sqlite_schema m "
        "JOIN pragma_table_xinfo(m.name) p WHERE m.type IN ('table','view') "
        "AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return query_error(s, err, "column");
    int rc;
    long t = -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        t = table_named(out, t, text_col(st, 0));
        if (t >= 0 && add_column_row(out, t, flags[t], st, 1)) {
            sqlite3_finalize(st);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    /* Start again object by object, dropping what the failed pass collected (and the problems
     * it recorded, which the second pass records again). */
    out->problems.count = problems;
    if (dscat_db_scan_truncate_columns(out, 0))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return scan_columns_each(s, out, flags, err);
}

/* The name of the table that `name` refers to: SQLite matches table names case-insensitively. */
static long resolve_table(const dscat_db_scan *out, const char *name)
{
    long i = dscat_db_scan_find_table(out, "main", name);
    if (i >= 0)
        return i;
    for (size_t k = 0; k < out->tables.count; k++)
        if (strcasecmp(out->tables.items[k].name, name) == 0)
            return (long)k;
    return -1;
}

/*
 * The n-th (0-based) primary-key column of a table in column order, for a foreign key that names
 * no column. The table's chain of columns (newest first) is walked twice: to count its
 * primary-key columns, then to the one wanted; a table's columns, not every column of the scan.
 */
static const char *pk_column(const dscat_db_scan *out, long table, int n)
{
    if (table < 0 || (size_t)table >= out->last_column_count || n < 0)
        return NULL;
    size_t first = out->last_column[table];
    int count = 0;
    for (size_t i = first; i != SIZE_MAX; i = out->column_before[i])
        count += out->columns.items[i].is_pk;
    int from_end = count - 1 - n;
    for (size_t i = first; i != SIZE_MAX && from_end >= 0; i = out->column_before[i])
        if (out->columns.items[i].is_pk && from_end-- == 0)
            return out->columns.items[i].name;
    return NULL;
}

static int scan_fks(sqlite_source *s, dscat_db_scan *out, dscat_error *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", f.\"to\" "
                      "FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f "
                      "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                      "ORDER BY m.name, f.id, f.seq";
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return query_error(s, err, "foreign key");
    int rc;
    long t = -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        t = table_named(out, t, text_col(st, 0));
        if (t < 0)
            continue;
        const char *ref_table = text_col(st, 3);
        const char *to = text_col(st, 5);
        long rt = resolve_table(out, ref_table);
        if (rt >= 0)
            ref_table = out->tables.items[rt].name;
        if (to == NULL && rt >= 0)
            to = pk_column(out, rt, sqlite3_column_int(st, 2));
        dscat_fk_info fk = {(size_t)t, text_col(st, 4), "main", ref_table, to ? to : ""};
        if (dscat_db_scan_add_fk(out, &fk)) {
            sqlite3_finalize(st);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : query_error(s, err, "foreign key");
}

static int sqlite_scan_database(dscat_source *src, dscat_db_scan *out, dscat_error *err)
{
    sqlite_source *s = (sqlite_source *)src;
    bool has_stat1 = false;
    dscat_strmap index_table = DSCAT_STRMAP_INIT;
    unsigned char *flags = NULL;
    int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : query_error(s, err, "begin");
    if (rc == 0)
        rc = scan_tables(s, out, &has_stat1, &flags, err);
    if (rc == 0 && has_stat1)
        rc = scan_stats(s, out, err);
    if (rc == 0)
        rc = map_indexes(s, out, &index_table, err);
    if (rc == 0) {
        scan_sizes(s, out, &index_table);
        rc = scan_columns(s, out, flags, err);
    }
    if (rc == 0)
        rc = scan_fks(s, out, err);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    dscat_strmap_free(&index_table);
    dscat_free(flags);
    return rc;
}

static bool sqlite_profileable(const char *data_type)
{
    return strstr(data_type, "blob") == NULL;
}

static int sqlite_quote(dscat_buf *b, const char *name, void *payload)
{
    (void)payload;
    int rc = dscat_buf_putc(b, '"');
    for (const char *p = name; *p && rc == 0; p++)
        rc = *p == '"' ? dscat_buf_puts(b, "\"\"") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, '"');
}

/* hex(NULL) is '': keep NULL apart from an empty blob. */
static int sqlite_hex(dscat_buf *b, const char *name, void *payload)
{
    dscat_buf_puts(b, "CASE WHEN ");
    sqlite_quote(b, name, payload);
    dscat_buf_puts(b, " IS NULL THEN NULL ELSE hex(");
    int rc = sqlite_quote(b, name, payload);
    return rc ? rc : dscat_buf_puts(b, ") END");
}

/* Runs one profile query (see dscat_profile_dialect.query). */
static int sqlite_profile_query(void *payload, const char *sql, int64_t *values, size_t nvalues,
                                dscat_error *err)
{
    sqlite_source *s = payload;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = query_error(s, err, "profile");
    } else {
        for (size_t i = 0; i < nvalues; i++)
            values[i] = sqlite3_column_type(st, (int)i) == SQLITE_NULL
                            ? DSCAT_NULL
                            : sqlite3_column_int64(st, (int)i);
    }
    sqlite3_finalize(st);
    return rc;
}

/* SQLITE_MAX_COLUMN (2,000 unless the library was built otherwise) bounds a result's columns. */
static const dscat_profile_dialect sqlite_dialect = {sqlite_quote, false, sqlite_profileable,
                                                     sqlite_hex,   2000,  sqlite_profile_query};

/* The select-list limit is read from the library, which may have been built with another. */
static int sqlite_profile_table(dscat_source *src, dscat_db_scan *scan, size_t table,
                                const size_t *columns, size_t ncolumns, int sample,
                                dscat_error *err)
{
    sqlite_source *s = (sqlite_source *)src;
    dscat_profile_dialect d = sqlite_dialect;
    int limit = sqlite3_limit(s->db, SQLITE_LIMIT_COLUMN, -1);
    if (limit > 2)
        d.max_columns = (size_t)limit;
    return dscat_profile_run(&d, s, scan, table, columns, ncolumns, sample, err);
}

/*
 * The storage classes in each column, in one pass: sum(DISTINCT) of one bit per class is their
 * union. SQLite stores what it is given, whatever the declared type.
 */
static int sqlite_storage_classes(dscat_source *src, const char *schema, const char *table,
                                  const dscat_cursor_column *columns, size_t ncolumns,
                                  unsigned *out, dscat_error *err)
{
    sqlite_source *s = (sqlite_source *)src;
    /* SQLite returns at most SQLITE_MAX_COLUMN (2,000) columns: chunks of 1,000 */
    for (size_t first = 0; first < ncolumns; first += 1000) {
        size_t n = ncolumns - first < 1000 ? ncolumns - first : 1000;
        dscat_buf sql = DSCAT_BUF_INIT;
        sqlite3_stmt *st = NULL;
        dscat_buf_puts(&sql, "SELECT ");
        for (size_t i = 0; i < n; i++) {
            if (i)
                dscat_buf_puts(&sql, ", ");
            dscat_buf_puts(&sql, "coalesce(sum(DISTINCT CASE typeof(");
            sqlite_quote(&sql, columns[first + i].name, NULL);
            dscat_buf_puts(&sql, ") WHEN 'integer' THEN 1 WHEN 'real' THEN 2 WHEN 'text' THEN "
                                 "CASE WHEN instr(CAST(");
            sqlite_quote(&sql, columns[first + i].name, NULL);
            dscat_buf_puts(&sql, " AS BLOB), x'00') > 0 THEN 16 ELSE 4 END WHEN 'blob' THEN 8 "
                                 "END), 0)");
        }
        dscat_buf_puts(&sql, " FROM ");
        sqlite_quote(&sql, schema, NULL);
        dscat_buf_putc(&sql, '.');
        if (sqlite_quote(&sql, table, NULL)) {
            dscat_buf_free(&sql);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        s->base.queries++;
        int rc = sqlite3_prepare_v2(s->db, dscat_buf_cstr(&sql), -1, &st, NULL);
        dscat_buf_free(&sql);
        if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            return query_error(s, err, "storage class");
        }
        for (size_t i = 0; i < n; i++)
            out[first + i] = (unsigned)sqlite3_column_int(st, (int)i);
        sqlite3_finalize(st);
    }
    return 0;
}

struct dscat_cursor {
    sqlite_source *src;
    sqlite3_stmt *stmt;
    const char *schema, *table; /* borrowed from the opener, for messages */
    const char **values;
    size_t *lens; /* per column: the length of values[i] (text may hold NUL bytes) */
    bool *hex;
    bool *literal;   /* per column: values as SQL literals (source.h, dscat_cursor_column) */
    dscat_buf *text; /* per column: a value made here (hex, an exact real, a literal) */
    size_t n;
    /* the typed path: each column's form, and the row's values */
    unsigned char *wires;
    dscat_value *typed;
    const dscat_cursor_column *columns;
};

/*
 * An append refresh's predicate (source.h, key_predicate). SQLite compares values as stored:
 * numbers by value, text with the BINARY collation (byte order, as the cache's) whatever the
 * column declares, which is what COLLATE BINARY on the literal asks. A date or a timestamp is
 * text in SQLite (the cache keeps it as VARCHAR), so such keys are text keys here.
 */
static int sqlite_key_predicate(dscat_buf *sql, const dscat_key_bound *k)
{
    if (k->value && !dscat_key_value_ok(k->type, k->value))
        return DSCAT_EINVALID;
    if (k->value == NULL)
        return 0;
    int rc = sqlite_quote(sql, k->column, NULL);
    rc = rc ? rc : dscat_buf_puts(sql, " > ");
    if (rc)
        return DSCAT_ENOMEM;
    if (k->type == DSCAT_KEY_INTEGER || k->type == DSCAT_KEY_DECIMAL)
        return dscat_buf_puts(sql, k->value);
    rc = dscat_source__sql_string(sql, "", k->value, false);
    return rc ? rc : dscat_buf_puts(sql, " COLLATE BINARY");
}

static int sqlite_cursor_open(dscat_cursor **out, dscat_source *src, const char *schema,
                              const char *table, const dscat_cursor_column *columns,
                              size_t ncolumns, dscat_error *err)
{
    sqlite_source *s = (sqlite_source *)src;
    dscat_buf sql = DSCAT_BUF_INIT;
    /* Values are selected as stored; hex and exact reals are made per value in C. */
    dscat_cursor_column *plain = dscat_calloc(ncolumns + 1, sizeof(*plain));
    dscat_cursor *c = plain ? dscat_calloc(1, sizeof(*c)) : NULL;
    int rc = DSCAT_ENOMEM;
    if (c) {
        c->values = dscat_calloc(ncolumns + 1, sizeof(char *));
        c->lens = dscat_calloc(ncolumns + 1, sizeof(size_t));
        c->hex = dscat_calloc(ncolumns + 1, sizeof(bool));
        c->literal = dscat_calloc(ncolumns + 1, sizeof(bool));
        c->text = dscat_calloc(ncolumns + 1, sizeof(dscat_buf));
        for (size_t i = 0; i < ncolumns; i++) {
            plain[i] = (dscat_cursor_column){columns[i].name, false, columns[i].data_type, false};
            if (c->hex)
                c->hex[i] = columns[i].hex;
            if (c->literal)
                c->literal[i] = columns[i].literal;
        }
        rc = dscat_select_sql(&sql, &sqlite_dialect, NULL, schema, table, plain, ncolumns);
        if (rc == 0)
            rc = dscat_source__where(&sql, src);
        if (rc == 0)
            rc = dscat_buf_error(&sql);
    }
    dscat_free(plain);
    if (rc || c->values == NULL || c->lens == NULL || c->hex == NULL || c->literal == NULL ||
        c->text == NULL) {
        if (c) {
            dscat_free(c->values);
            dscat_free(c->lens);
            dscat_free(c->hex);
            dscat_free(c->literal);
            dscat_free(c->text);
        }
        dscat_free(c);
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    c->src = s;
    c->n = ncolumns;
    s->base.queries++;
    if (sqlite3_prepare_v2(s->db, dscat_buf_cstr(&sql), -1, &c->stmt, NULL) != SQLITE_OK) {
        query_error(s, err, "row");
        dscat_free(c->values);
        dscat_free(c->lens);
        dscat_free(c->hex);
        dscat_free(c->literal);
        dscat_free(c->text);
        dscat_free(c);
        dscat_buf_free(&sql);
        return DSCAT_EQUERY;
    }
    dscat_buf_free(&sql);
    *out = c;
    return 0;
}

/*
 * The shortest text that reads back as exactly d (SQLite's own text keeps only 15 digits), always
 * with a point or an exponent, as SQLite writes a real: 1.0, not 1, which is an integer's text.
 * The infinities are SQLite's 9.0e+999 and -9.0e+999 (its quote() and its parser's overflow).
 */
static int exact_real(dscat_buf *b, double d)
{
    char tmp[48];
    if (isinf(d))
        return dscat_buf_puts(b, d < 0 ? "-9.0e+999" : "9.0e+999");
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(tmp, sizeof(tmp), "%.*g", digits, d);
        if (strtod(tmp, NULL) == d || digits == 17)
            break;
    }
    if (strpbrk(tmp, ".en") == NULL) /* "1", "-0": "1.0", "-0.0" */
        return dscat_buf_printf(b, "%s.0", tmp);
    char *e = strchr(tmp, 'e');
    if (e && memchr(tmp, '.', (size_t)(e - tmp)) == NULL) /* "1e+20": "1.0e+20" */
        return dscat_buf_printf(b, "%.*s.0%s", (int)(e - tmp), tmp, e);
    return dscat_buf_puts(b, tmp);
}

/*
 * Column i's value (of storage class type, not NULL) as an SQL literal that keeps its class,
 * into t: an integer's digits, a real's exact text (always with a point), text quoted with its
 * quotes doubled, a blob as X'..'. Text holding a NUL byte is CAST(X'..' AS TEXT), its bytes.
 */
/* True when the n bytes at p are UTF-8 text (no NUL among them is checked here). */
static bool utf8_text(const unsigned char *p, size_t n)
{
    const char *s = (const char *)p, *end = s + n;
    for (size_t k; s < end; s += k)
        if ((k = dscat_utf8_char(s, end)) == 0)
            return false;
    return true;
}

static int literal_of(dscat_cursor *c, size_t i, int type, dscat_buf *t)
{
    static const char hexd[] = "0123456789ABCDEF";
    int col = (int)i;
    if (type == SQLITE_INTEGER)
        return dscat_buf_printf(t, "%lld", (long long)sqlite3_column_int64(c->stmt, col));
    if (type == SQLITE_FLOAT)
        return exact_real(t, sqlite3_column_double(c->stmt, col));
    const unsigned char *p =
        type == SQLITE_TEXT ? sqlite3_column_text(c->stmt, col) : sqlite3_column_blob(c->stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(c->stmt, col);
    if (p == NULL && n)
        return DSCAT_ENOMEM;
    if (p == NULL) /* a blob of no bytes */
        p = (const unsigned char *)"";
    int rc = 0;
    /* Text the literal cannot quote as it is (a NUL byte, bytes that are not UTF-8) is written
     * as its bytes cast to text: the column stays valid UTF-8 and the class is kept. */
    if (type == SQLITE_TEXT && memchr(p, '\0', n) == NULL && utf8_text(p, n)) {
        rc = dscat_buf_putc(t, '\'');
        for (size_t k = 0; k < n && rc == 0; k++)
            rc = p[k] == '\'' ? dscat_buf_puts(t, "''") : dscat_buf_putc(t, (char)p[k]);
        return rc ? rc : dscat_buf_putc(t, '\'');
    }
    rc = dscat_buf_puts(t, type == SQLITE_TEXT ? "CAST(X'" : "X'");
    for (size_t k = 0; k < n && rc == 0; k++) {
        char two[2] = {hexd[p[k] >> 4], hexd[p[k] & 15]};
        rc = dscat_buf_put(t, two, 2);
    }
    return rc ? rc : dscat_buf_puts(t, type == SQLITE_TEXT ? "' AS TEXT)" : "'");
}

/*
 * Column i of the current row (of storage class type, not NULL) as the text path gives it, into
 * c->values[i]: SQLite's own text, an exact real, or hex for a `hex` column. 0 or DSCAT_ENOMEM.
 */
static int text_of(dscat_cursor *c, size_t i, int type)
{
    static const char hexd[] = "0123456789abcdef";
    dscat_buf *t = &c->text[i];
    if (type != SQLITE_FLOAT && !c->hex[i] && !c->literal[i]) {
        c->values[i] = (const char *)sqlite3_column_text(c->stmt, (int)i);
        c->lens[i] = (size_t)sqlite3_column_bytes(c->stmt, (int)i);
        return c->values[i] ? 0 : DSCAT_ENOMEM;
    }
    dscat_buf_reset(t);
    int bad = 0;
    if (c->literal[i]) {
        if (literal_of(c, i, type, t) || dscat_buf_error(t))
            return DSCAT_ENOMEM;
        c->values[i] = dscat_buf_cstr(t);
        c->lens[i] = t->len;
        return 0;
    }
    if (type == SQLITE_FLOAT)
        bad = exact_real(t, sqlite3_column_double(c->stmt, (int)i));
    if (c->hex[i]) {
        /* the bytes as stored (text and blobs, NULs included), or the number's text */
        dscat_buf bytes = DSCAT_BUF_INIT;
        const unsigned char *p;
        size_t n;
        if (type == SQLITE_FLOAT) {
            bytes = *t;
            *t = (dscat_buf)DSCAT_BUF_INIT;
            p = (const unsigned char *)dscat_buf_cstr(&bytes);
            n = bytes.len;
        } else {
            p = sqlite3_column_blob(c->stmt, (int)i);
            n = (size_t)sqlite3_column_bytes(c->stmt, (int)i);
        }
        for (size_t k = 0; k < n && bad == 0; k++) {
            char two[2] = {hexd[p[k] >> 4], hexd[p[k] & 15]};
            bad = dscat_buf_put(t, two, 2);
        }
        dscat_buf_free(&bytes);
    }
    if (bad || dscat_buf_error(t))
        return DSCAT_ENOMEM;
    c->values[i] = dscat_buf_cstr(t);
    c->lens[i] = t->len;
    return 0;
}

/* Steps the cursor: 1 at a row, 0 at the end, or the query's error. */
static int step_row(dscat_cursor *c, dscat_error *err)
{
    int rc = sqlite3_step(c->stmt);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_ROW ? 1 : query_error(c->src, err, "row");
}

static int sqlite_cursor_next(dscat_cursor *c, const char *const **values, dscat_error *err)
{
    int rc = step_row(c, err);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        int type = sqlite3_column_type(c->stmt, (int)i);
        if (type == SQLITE_NULL)
            c->values[i] = NULL;
        else if (text_of(c, i, type))
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    *values = c->values;
    return 1;
}

static void sqlite_cursor_close(dscat_cursor *c)
{
    if (c == NULL)
        return;
    sqlite3_finalize(c->stmt);
    for (size_t i = 0; c->text && i < c->n; i++)
        dscat_buf_free(&c->text[i]);
    dscat_free(c->text);
    dscat_free(c->hex);
    dscat_free(c->literal);
    dscat_free(c->lens);
    dscat_free(c->values);
    dscat_free(c->wires);
    dscat_free(c->typed);
    dscat_free(c);
}

/* ---- the typed row path -----------------------------------------------------------------------
 */

/*
 * SQLite's own storage classes are read as they are: an integer column (DSCAT_WIRE_INT), a real
 * one (DSCAT_WIRE_FLOAT8) and a blob one (DSCAT_WIRE_BYTES); every other form is the text path's
 * text. The cache asks for those forms only where the column held nothing else when its storage
 * classes were read, just before. A value of another class met on the way (the table changed
 * meanwhile, or a view's column holds what its declared type does not say) comes as the text
 * path's text, which the cache takes as a misfit of the column's type, as it would on the text
 * path; an integer in a real column comes as a real when a double holds it exactly.
 */
static int sqlite_cursor_open_typed(dscat_cursor **out, dscat_source *src, const char *schema,
                                    const char *table, const dscat_cursor_column *columns,
                                    size_t ncolumns, dscat_wire *wires, dscat_error *err)
{
    int rc = sqlite_cursor_open(out, src, schema, table, columns, ncolumns, err);
    if (rc)
        return rc;
    dscat_cursor *c = *out;
    c->wires = dscat_calloc(ncolumns + 1, 1);
    c->typed = dscat_calloc(ncolumns + 1, sizeof(*c->typed));
    if (c->wires == NULL || c->typed == NULL) {
        sqlite_cursor_close(c);
        *out = NULL;
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    c->schema = schema;
    c->table = table;
    c->columns = columns;
    for (size_t i = 0; i < ncolumns; i++) {
        if (wires[i] != DSCAT_WIRE_INT && wires[i] != DSCAT_WIRE_FLOAT8 &&
            !(wires[i] == DSCAT_WIRE_BYTES && columns[i].hex))
            wires[i] = DSCAT_WIRE_TEXT;
        c->wires[i] = (unsigned char)wires[i];
    }
    return 0;
}

/* Column i's value (of storage class type) as the text path has it, marked as text. */
static int as_text(dscat_cursor *c, size_t i, int type, dscat_value *v)
{
    if (text_of(c, i, type))
        return DSCAT_ENOMEM;
    v->wire = DSCAT_WIRE_TEXT;
    v->v.p = c->values[i];
    v->len = c->lens[i];
    return 0;
}

static int sqlite_cursor_next_typed(dscat_cursor *c, const dscat_value **values, dscat_error *err)
{
    int rc = step_row(c, err);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        dscat_value *v = &c->typed[i];
        int type = sqlite3_column_type(c->stmt, (int)i);
        int64_t n;
        v->wire = c->wires[i];
        if (type == SQLITE_NULL) {
            v->wire = DSCAT_WIRE_NULL;
            continue;
        }
        int bad = 0;
        switch (c->wires[i]) {
        case DSCAT_WIRE_INT:
            if (type == SQLITE_INTEGER)
                v->v.i = sqlite3_column_int64(c->stmt, (int)i);
            else
                bad = as_text(c, i, type, v);
            break;
        case DSCAT_WIRE_FLOAT8:
            if (type == SQLITE_FLOAT)
                v->v.d = sqlite3_column_double(c->stmt, (int)i);
            else if (type == SQLITE_INTEGER &&
                     (n = sqlite3_column_int64(c->stmt, (int)i)) > -(INT64_C(1) << 62) &&
                     n < (INT64_C(1) << 62) && (int64_t)(double)n == n)
                v->v.d = (double)n;
            else
                bad = as_text(c, i, type, v);
            break;
        case DSCAT_WIRE_BYTES:
            /* the bytes as stored: a blob's, a text's; a number's text (as the text path's hex) */
            if (type == SQLITE_BLOB || type == SQLITE_TEXT) {
                v->v.p = sqlite3_column_blob(c->stmt, (int)i);
                v->len = (size_t)sqlite3_column_bytes(c->stmt, (int)i);
                if (v->v.p == NULL)
                    v->v.p = ""; /* zero bytes */
            } else if (type == SQLITE_FLOAT) {
                dscat_buf_reset(&c->text[i]);
                bad = exact_real(&c->text[i], sqlite3_column_double(c->stmt, (int)i)) ||
                      dscat_buf_error(&c->text[i]);
                v->v.p = bad ? "" : dscat_buf_cstr(&c->text[i]);
                v->len = c->text[i].len;
            } else {
                v->v.p = (const char *)sqlite3_column_text(c->stmt, (int)i);
                bad = v->v.p == NULL;
                v->len = bad ? 0 : (size_t)sqlite3_column_bytes(c->stmt, (int)i);
            }
            break;
        default:
            bad = as_text(c, i, type, v);
            /* Text holding NUL: the column had none a moment ago (else it would be read as hex
             * or as literals). */
            if (bad == 0 && type == SQLITE_TEXT && !c->hex[i] && !c->literal[i] &&
                memchr(v->v.p, '\0', v->len))
                return dscat_error_set(err, DSCAT_ECONFLICT,
                                       "target %s: %s.%s changed while it was read: column %s "
                                       "now holds text with a NUL byte; refresh it again",
                                       c->src->base.target->key, c->schema, c->table,
                                       c->columns[i].name);
            break;
        }
        if (bad)
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    *values = c->typed;
    return 1;
}

static void sqlite_close(dscat_source *src)
{
    if (src == NULL)
        return;
    sqlite_source *s = (sqlite_source *)src;
    sqlite3_close(s->db);
    dscat_free(s->path);
    dscat_free(s->base.database);
    dscat_free(s);
}

/* ---- configuration and the cache's types ---------------------------------------------------- */

static const char *const sqlite_keys[] = {"path", "path_env", NULL};

/* By type affinity (the rules of sqlite.org/datatype3.html, section 3.1) of the declared type. */
static void sqlite_cache_type(dscat_cache_type *out, const char *data_type, const char *declared,
                              int precision, int scale)
{
    (void)data_type, (void)precision, (void)scale;
    char t[128];
    size_t k = 0;
    for (const char *p = declared ? declared : ""; *p && k + 1 < sizeof(t); p++)
        t[k++] = (char)toupper((unsigned char)*p);
    t[k] = '\0';
    const char *duck = "VARCHAR";
    if (strstr(t, "INT"))
        duck = "BIGINT";
    else if (strstr(t, "CHAR") || strstr(t, "CLOB") || strstr(t, "TEXT"))
        duck = "VARCHAR";
    else if (strstr(t, "BLOB") || t[0] == '\0')
        duck = t[0] ? "BLOB" : "VARCHAR";
    else if (strstr(t, "REAL") || strstr(t, "FLOA") || strstr(t, "DOUB"))
        duck = "DOUBLE";
    snprintf(out->duck_type, sizeof(out->duck_type), "%s", duck);
    out->hex = strcmp(duck, "BLOB") == 0;
}

const dscat_source_driver dscat_source_sqlite = {
    .version = DSCAT_SOURCE_DRIVER_VERSION,
    .name = "sqlite",
    .keys = sqlite_keys,
    .check_target = dscat_source__check_file,
    .resolve = dscat_source__resolve_file,
    .config_database = dscat_source__file_database,
    .help = "[targets.local]\n"
            "type = \"sqlite\"\n"
            "path = \"/data/app.sqlite\"         # or path_env = \"LOCAL_DB\"\n",
    .cache_type = sqlite_cache_type,
    .connect = sqlite_connect,
    .list_databases = sqlite_list_databases,
    .scan_database = sqlite_scan_database,
    .profile_table = sqlite_profile_table,
    .storage_classes = sqlite_storage_classes,
    .cursor_open = sqlite_cursor_open,
    .key_predicate = sqlite_key_predicate,
    .cursor_next = sqlite_cursor_next,
    .cursor_close = sqlite_cursor_close,
    .cursor_open_typed = sqlite_cursor_open_typed,
    .cursor_next_typed = sqlite_cursor_next_typed,
    .close = sqlite_close,
};

int dscat_sqlite_source__create(const char *path, const char *sql, dscat_error *err)
{
    sqlite3 *db = NULL;
    int rc = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        rc = dscat_error_set(err, DSCAT_EIO, "%s", db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc;
}
