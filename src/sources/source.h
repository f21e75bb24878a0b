/*
 * The source driver table: one implementation per database engine, registered in registry.c.
 * A dscat_source is one open connection; it belongs to one thread at a time.
 *
 * Each driver reads a database's catalog with a fixed number of set-based queries, whatever the
 * number of tables, and counts its round trips in `queries`.
 */
#ifndef DSCAT_SOURCES_SOURCE_H
#define DSCAT_SOURCES_SOURCE_H

#include "catalog/model.h"
#include "core/buf.h"
#include "dscat/config.h"

typedef struct dscat_source_driver dscat_source_driver;

/* The part every driver's connection struct starts with. */
typedef struct dscat_source {
    const dscat_source_driver *driver;
    const dscat_target_config *target; /* borrowed */
    char *database;                    /* the database this connection is in */
    long queries;                      /* round trips so far */
} dscat_source;

/* A list of database names, caller frees with dscat_name_list_free(). */
typedef struct dscat_name_list {
    char **names;
    size_t count;
} dscat_name_list;

/* A streaming read of one table's rows, as text; one per source connection at a time. */
typedef struct dscat_cursor dscat_cursor;

/* Storage classes a value may have where the engine does not enforce types. */
enum {
    DSCAT_CLASS_INTEGER = 1,
    DSCAT_CLASS_REAL = 2,
    DSCAT_CLASS_TEXT = 4,
    DSCAT_CLASS_BLOB = 8,
    DSCAT_CLASS_TEXT_NUL = 16 /* text holding a NUL byte */
};

/* What to read of one column: its name, and whether to read it hex-encoded (binary data). */
typedef struct dscat_cursor_column {
    const char *name;
    bool hex;
    const char *data_type; /* as catalogued, for drivers that convert to text in SQL */
} dscat_cursor_column;

struct dscat_source_driver {
    const char *name;
    dscat_source_type type;
    /*
     * Opens a connection to `database` (NULL: the target's default). Fails with DSCAT_EAUTH,
     * DSCAT_ECONNECT, DSCAT_ETIMEOUT, ... and a message naming the target and the cause.
     */
    int (*connect)(dscat_source **out, const dscat_target_config *target,
                   const dscat_target_conn *conn, const char *database,
                   const dscat_settings *settings, dscat_error *err);
    /* The databases this target's configuration asks for, before glob filtering. */
    int (*list_databases)(dscat_source *src, dscat_name_list *out, dscat_error *err);
    /* Reads the catalog of the connection's database into out (already initialised). */
    int (*scan_database)(dscat_source *src, dscat_db_scan *out, dscat_error *err);
    /*
     * Profiles one table with one query over its first `sample` rows (primary-key order, else
     * physical order; 0 = all rows): fills null_count, distinct_count and profiled_rows of the
     * listed columns that the engine can profile, leaving the others null.
     */
    int (*profile_table)(dscat_source *src, dscat_db_scan *scan, size_t table,
                         const size_t *columns, size_t ncolumns, int sample, dscat_error *err);
    /*
     * Starts streaming schema.table's rows (the listed columns, in order) with bounded memory.
     * Values are text in the engine's canonical output (UTC for times), NULL for SQL NULL.
     */
    /*
     * For engines that do not enforce column types (SQLite; NULL elsewhere): the storage classes
     * present in each listed column of schema.table, one pass, as DSCAT_CLASS_* bits in out[i].
     */
    int (*storage_classes)(dscat_source *src, const char *schema, const char *table,
                           const dscat_cursor_column *columns, size_t ncolumns, unsigned *out,
                           dscat_error *err);
    int (*cursor_open)(dscat_cursor **out, dscat_source *src, const char *schema, const char *table,
                       const dscat_cursor_column *columns, size_t ncolumns, dscat_error *err);
    /* Next row: 1 with *values (ncolumns entries, borrowed until the next call), 0 at the end. */
    int (*cursor_next)(dscat_cursor *c, const char *const **values, dscat_error *err);
    void (*cursor_close)(dscat_cursor *c);
    void (*close)(dscat_source *src);
};

/* The driver for a source type, or NULL when this build has none. */
const dscat_source_driver *dscat_source_driver_for(dscat_source_type type);

int dscat_name_list_add(dscat_name_list *l, const char *name);

/*
 * Helpers for profile queries, shared by the drivers. dscat_profile_keys writes to keys the
 * table's primary-key columns (the sample's order), by position, and returns how many.
 */
size_t dscat_profile_keys(const dscat_db_scan *scan, const size_t *columns, size_t ncolumns,
                          size_t *keys);
/* How one engine spells and runs a profile query. */
typedef struct dscat_profile_dialect {
    int (*quote)(dscat_buf *b, const char *name, void *payload); /* an identifier */
    bool top;                                   /* SELECT TOP n rather than LIMIT n */
    bool (*profileable)(const char *data_type); /* COUNT(DISTINCT) works and is worth it */
    /* The column as hex text (NULL stays NULL); NULL when the engine has no such function. */
    int (*hex)(dscat_buf *b, const char *name, void *payload);
    /* The most result columns one query may have (the engine's select-list limit). */
    size_t max_columns;
    /*
     * Runs one profile query and reads its single row: values[i] is result column i as an
     * integer, DSCAT_NULL for SQL NULL. Fills err (naming the target) on failure.
     */
    int (*query)(void *payload, const char *sql, int64_t *values, size_t nvalues, dscat_error *err);
} dscat_profile_dialect;

/* Builds "SELECT col, hex(col), ... FROM schema.table" for a row cursor. */
int dscat_select_sql(dscat_buf *sql, const dscat_profile_dialect *d, void *payload,
                     const char *schema, const char *table, const dscat_cursor_column *columns,
                     size_t ncolumns);

/*
 * Writes to profiled the listed columns that one profile query can take: of a type the dialect
 * profiles, and not marked unprofileable by the driver (from the engine's catalog: a type
 * without ordering, a column the user may not read). Returns how many.
 */
size_t dscat_profile_columns(const dscat_profile_dialect *d, const dscat_db_scan *scan,
                             const size_t *columns, size_t ncolumns, size_t *profiled);

/*
 * Builds one profile query of a table into sql: a row count, then a null and a distinct count
 * for each of profiled[0..nprofiled), over the table's first `sample` rows in primary-key order
 * (the keys are found among columns, the table's whole column list). The sample names its
 * columns (never "*"): an invisible or unreadable column is never read.
 */
int dscat_profile_sql(dscat_buf *sql, const dscat_profile_dialect *d, void *payload,
                      const dscat_db_scan *scan, size_t table, const size_t *columns,
                      size_t ncolumns, const size_t *profiled, size_t nprofiled, int sample);

/*
 * Profiles one table through the dialect's query function: its profileable columns, in as
 * many queries as the engine's select-list limit requires (wide tables go in chunks of
 * columns). The unprofileable columns stay null. A table with no profileable column is still
 * counted, so that a table the user cannot read at all fails here. Returns 0 or the failure.
 */
int dscat_profile_run(const dscat_profile_dialect *d, void *payload, dscat_db_scan *scan,
                      size_t table, const size_t *columns, size_t ncolumns, int sample,
                      dscat_error *err);

/* True when data_type (or its array element type) is one of names. */
bool dscat_profile_type_in(const char *data_type, const char *const *names, size_t n);

/* Stores one profiled column's figures (rows, nulls, distinct values). */
void dscat_profile_store(dscat_db_scan *scan, size_t column, int64_t rows, int64_t nulls,
                         int64_t distinct);
void dscat_name_list_free(dscat_name_list *l);

/* Drivers (one per file in src/sources/). */
extern const dscat_source_driver dscat_source_postgres;
extern const dscat_source_driver dscat_source_sqlite;
extern const dscat_source_driver dscat_source_mysql;
extern const dscat_source_driver dscat_source_sqlserver;

/*
 * Creates (or opens) the SQLite database file at path and runs sql, several statements, on it:
 * how `dscat demo` makes its source database. Returns 0, or DSCAT_EIO with err's message the
 * SQLite error alone ("out of memory" without a handle).
 */
int dscat_sqlite_source__create(const char *path, const char *sql, dscat_error *err);

#endif
