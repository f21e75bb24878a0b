/*
 * The source driver table: one implementation per database engine, registered in registry.c.
 * A dscat_source is one open connection; it belongs to one thread at a time.
 *
 * Each driver reads a database's catalog with a fixed number of set-based queries, whatever the
 * number of tables, and counts its round trips in `queries`.
 */
#ifndef DSCAT_SOURCES_SOURCE_H
#define DSCAT_SOURCES_SOURCE_H

#include "core/model.h"
#include "core/buf.h"
#include "dscat/config.h"

typedef struct dscat_source_driver dscat_source_driver;

/* The part every driver's connection struct starts with. */
typedef struct dscat_source {
    const dscat_source_driver *driver;
    const dscat_target_config *target; /* borrowed */
    char *database;                    /* the database this connection is in */
    long queries;                      /* round trips so far */
    /* Set by the caller before scan_database when the scan will be profiled: the driver then
     * says which columns cannot be (dscat_column_info.unprofileable), which it may skip
     * otherwise. */
    bool profile;
    /* A condition the row cursors add as " WHERE <where>" (an append refresh's key predicate,
     * made by key_predicate below); NULL: every row. Borrowed, set by the caller before
     * cursor_open or cursor_open_typed. */
    const char *where;
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
    /*
     * Engines without column types (SQLite): each value as an SQL literal that keeps its storage
     * class (1, 1.0, 'text', X'00ff'), for a column holding several classes. False elsewhere.
     */
    bool literal;
} dscat_cursor_column;

/*
 * The typed row path (cursor_open_typed, cursor_next_typed): the form a value arrives in. The
 * caller asks for one form per column; the driver delivers that form where the column's type on
 * the server decodes exactly into it, and DSCAT_WIRE_TEXT (the engine's canonical text, as the
 * text path has it) everywhere else.
 */
typedef enum dscat_wire {
    DSCAT_WIRE_TEXT = 0,    /* len bytes at v.p: the text form (hex for a `hex` column) */
    DSCAT_WIRE_NULL,        /* SQL NULL (a value only, never asked for) */
    DSCAT_WIRE_INT,         /* v.i: a 16-, 32- or 64-bit integer */
    DSCAT_WIRE_FLOAT4,      /* v.f */
    DSCAT_WIRE_FLOAT8,      /* v.d */
    DSCAT_WIRE_BOOL,        /* v.b */
    DSCAT_WIRE_DATE,        /* v.i: days since 1970-01-01 (proleptic Gregorian) */
    DSCAT_WIRE_TIME,        /* v.i: microseconds since midnight (24:00:00 included) */
    DSCAT_WIRE_TIMESTAMP,   /* v.i: microseconds since 1970-01-01 00:00 */
    DSCAT_WIRE_TIMESTAMPTZ, /* v.i: microseconds since 1970-01-01 00:00 UTC */
    DSCAT_WIRE_DECIMAL,     /* v.dec * 10^-scale, trailing fraction zeros removed */
    DSCAT_WIRE_UUID,        /* v.uuid: the 16 bytes in their text order */
    DSCAT_WIRE_BYTES        /* len bytes at v.p (binary data of a `hex` column) */
} dscat_wire;

__extension__ typedef __int128 dscat_int128;

/* One value of the typed path. Borrowed: valid until the next call on the cursor. */
typedef struct dscat_value {
    unsigned char wire; /* dscat_wire: the column's form, DSCAT_WIRE_NULL for NULL */
    /*
     * Dates and timestamps: 1 infinity, -1 -infinity, 2 a value v.i cannot hold. Decimals: 1
     * NaN, an infinity, or more than 38 significant digits. 0 otherwise.
     */
    signed char special;
    int scale;  /* decimals */
    size_t len; /* text and bytes */
    union {
        int64_t i;
        double d;
        float f;
        bool b;
        const char *p;
        dscat_int128 dec;
        unsigned char uuid[16];
    } v;
} dscat_value;

/* The type of an append refresh's key column, as the cache compares and renders it. */
typedef enum dscat_key_type {
    DSCAT_KEY_INTEGER,     /* "-42" */
    DSCAT_KEY_DECIMAL,     /* "-12.50" */
    DSCAT_KEY_DATE,        /* "2024-01-31" */
    DSCAT_KEY_TIMESTAMP,   /* "2024-01-31 10:00:00" or "... 10:00:00.123456" */
    DSCAT_KEY_TIMESTAMPTZ, /* the same form, in UTC */
    DSCAT_KEY_TEXT         /* any UTF-8 text without NUL, compared byte by byte */
} dscat_key_type;

/* An append refresh's predicate: column > value (docs/cache.md, "Append refreshes"). */
typedef struct dscat_key_bound {
    const char *column;    /* as catalogued */
    const char *data_type; /* as catalogued */
    dscat_key_type type;
    const char *value; /* in the form of its type above; NULL: only check the type */
} dscat_key_bound;

/* True when value is in the lossless form of type (above): what key_predicate may render. */
bool dscat_key_value_ok(dscat_key_type type, const char *value);
/* Appends prefix and v as an SQL string literal: quotes doubled, and backslashes too when
 * backslash is true (an engine where a backslash escapes, as E'' in PostgreSQL). */
int dscat_source__sql_string(dscat_buf *sql, const char *prefix, const char *v, bool backslash);
/* Appends " WHERE <src->where>" when the connection's cursors have a condition. */
int dscat_source__where(dscat_buf *sql, const dscat_source *src);

/* A column's type in the cache (DuckDB, Parquet), as an engine maps its catalogued type. */
typedef struct dscat_cache_type {
    char duck_type[48]; /* "BIGINT", "DECIMAL(10,2)", ...; left empty: VARCHAR, the text form */
    bool hex;           /* read hex-encoded from the source, stored as BLOB */
} dscat_cache_type;

/* One row of an engine's type table: a catalogued type name and its DuckDB type. */
typedef struct dscat_type_map {
    const char *source_type;
    const char *duck_type;
} dscat_type_map;

/*
 * The version of the driver table below. A driver states the version it was written against in
 * its `version` field; the registry refuses a driver of another version (dscat_source_find()
 * does not find it and dscat_sources_global_init() fails naming it).
 */
#define DSCAT_SOURCE_DRIVER_VERSION 1

struct dscat_source_driver {
    unsigned version; /* DSCAT_SOURCE_DRIVER_VERSION */
    /* The engine's name: the `type` of its targets in targets.toml, and scans' source_type. */
    const char *name;
    /* Other spellings `type` accepts ("postgresql", ...); NULL-terminated, or NULL. */
    const char *const *aliases;

    /* ---- configuration (the loader in src/config/ asks these) ---- */

    /*
     * The targets.toml keys this engine takes besides the ones every target takes (name, type,
     * exclude_databases, include_/exclude_schemas, include_/exclude_tables); NULL-terminated. A
     * key of another engine is refused as "does not apply to <name> targets".
     */
    const char *const *keys;
    /*
     * Checks a parsed target as a whole (required keys, ranges): 0, or -1 with a one-line message
     * in msg ("target 'x' needs 'host_env'"), which the loader prefixes with file and line.
     */
    int (*check_target)(const dscat_target_config *t, char *msg, size_t size);
    /*
     * Resolves the target's address and credentials from the environment into out (zeroed by the
     * caller): host and port, SQL-Server-style instances, a file path. A variable that is not set
     * fails with DSCAT_EUNSET naming it. On failure out holds nothing.
     */
    int (*resolve)(dscat_target_conn *out, const dscat_target_config *t, dscat_error *err);
    /*
     * The one database a target's configuration names, found without connecting, into buf; NULL
     * when it needs a listing. NULL for the common rule: include_databases with one literal name,
     * else `database`, else default_database.
     */
    const char *(*config_database)(const dscat_target_config *t, char *buf, size_t size);
    /* Where a connection goes when the target names no database; NULL when none is needed. */
    const char *default_database;
    /*
     * True where a schema is a database (MySQL): a foreign key may then reference a table of
     * another database, whose name is the reference's schema.
     */
    bool schema_is_database;
    /*
     * The engine's example target for `dscat help targets`, commented. The first engine's (the
     * default type) is printed below a common "[targets.oms]" and type line, so it starts with
     * the line after `type`; the others are whole tables.
     */
    const char *help;

    /* ---- process-wide ---- */

    /*
     * Initialises the engine's client library once per process, from dscat_global_init() (never
     * lazily: it is not thread-safe). NULL when there is nothing to do. Fills err on failure.
     */
    int (*global_init)(dscat_error *err);
    /* Undoes global_init, from dscat_global_shutdown(). NULL when there is nothing to do. */
    void (*global_shutdown)(void);

    /* ---- the data cache ---- */

    /*
     * Maps a column's catalogued type (data_type, the full column_type where the engine has one,
     * precision and scale, -1 = none) to its cache type, into out (zeroed by the caller).
     * Anything without a faithful counterpart is left empty and kept as its text.
     */
    void (*cache_type)(dscat_cache_type *out, const char *data_type, const char *column_type,
                       int precision, int scale);

    /* ---- connections, the catalog, profiles and rows ---- */

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

    /* ---- the typed row path (optional: NULL where the engine has only the text path) ---- */

    /*
     * As cursor_open, for cursor_next_typed. wires[i] holds the form the caller wants for
     * column i; on success it holds the form column i will arrive in: the one asked for, or
     * DSCAT_WIRE_TEXT (then as cursor_next would give it) where the column's type on the server
     * does not decode exactly into it. The forms hold for the whole stream.
     */
    int (*cursor_open_typed)(dscat_cursor **out, dscat_source *src, const char *schema,
                             const char *table, const dscat_cursor_column *columns, size_t ncolumns,
                             dscat_wire *wires, dscat_error *err);
    /*
     * Next row of a cursor from cursor_open_typed: 1 with *values (ncolumns entries, borrowed
     * until the next call), 0 at the end. Closed with cursor_close.
     */
    int (*cursor_next_typed)(dscat_cursor *c, const dscat_value **values, dscat_error *err);

    /* ---- append refreshes of the data cache (optional: NULL where the engine has none) ---- */

    /*
     * Appends to sql the engine's predicate "<quoted column> > <literal>" for k, the literal of
     * k->value in the column's type, compared as the cache compares (integers and decimals by
     * value, dates and times by instant, text byte by byte: a binary collation). With k->value
     * NULL, appends nothing and only says whether the engine compares such a column exactly.
     * Returns 0; DSCAT_EINVALID when it cannot (a type it does not compare exactly, a value not
     * in its type's form: dscat_key_value_ok()); DSCAT_ENOMEM.
     */
    int (*key_predicate)(dscat_buf *sql, const dscat_key_bound *k);
};

/*
 * The registry (registry.c): every engine this build has, in a fixed order whose first entry is
 * the engine of a target without `type`.
 */

/* The driver called name (or one of its aliases), or NULL. Borrowed, static. */
const dscat_source_driver *dscat_source_find(const char *name);

/* The number of drivers, and the i-th (0 <= i < count), for listing names and global init. */
size_t dscat_source_count(void);
const dscat_source_driver *dscat_source_at(size_t i);

/* Checks every driver's version, then runs each one's global_init in registry order. */
int dscat_sources_global_init(dscat_error *err);
/* Runs each driver's global_shutdown, in reverse order. */
void dscat_sources_global_shutdown(void);

/*
 * Appends to sql: before, then "IN (...)" listing the engines whose schema is a database (as SQL
 * strings, for comparing with a scan's source_type), then after. 0 or DSCAT_ENOMEM.
 */
int dscat_source__schema_is_database_sql(dscat_buf *sql, const char *before, const char *after);

/* The DuckDB type of type in m[0..n) (exact name), or NULL. */
const char *dscat_type_map_find(const dscat_type_map *m, size_t n, const char *type);

/*
 * Helpers for the configuration entries of drivers (target.c), for the two kinds of address a
 * target has: a server (host, port, user, password) or a database file (path).
 */

/* What an engine's host value may be besides a host name or an IP address (with :port). */
enum {
    DSCAT_HOST_INSTANCE = 1, /* "host\instance" (SQL Server) */
    DSCAT_HOST_SOCKET = 2,   /* an absolute Unix socket directory or path ("/run/postgresql") */
    DSCAT_HOST_LIST = 4      /* several hosts separated by commas (libpq) */
};

/*
 * True when v is only a host: a name, an IPv4 or IPv6 address (bracketed with a port), with
 * ":port", and what flags allow. A URI ("://"), a connection string ("host=... password=..."),
 * "user:password@host" or anything with white space is not (docs/targets.md, "Credentials").
 */
bool dscat_source__host_ok(const char *v, unsigned flags);
/*
 * True when v is only a user name, spaces and apostrophes allowed ("app user", "o'brien"): not
 * a connection string ("keyword=" at its start or after white space or ';'), a URI or a login
 * line (no ':', '/', ';', double quote or control byte, no '@' after white space).
 */
bool dscat_source__user_ok(const char *v);
/*
 * A user value holding white space may be a pasted "user password": a server's message quoting
 * it (PostgreSQL's 'for user "..."', MariaDB's 'Access denied for user '...'') has it replaced
 * in msg (size bytes) by "(the configured user)". Other user values are left as they are.
 */
void dscat_source__scrub_user(char *msg, size_t size, const char *user);
/*
 * True when v (a literal database name, NULL allowed) is not a URI or a connection string: no
 * "://" and no "keyword=" at its start or after white space or ';'. Any other byte may be in a
 * database's name ("hostile db; drop"), which libpq is never asked to parse (expand_dbname 0).
 */
bool dscat_source__database_ok(const char *v);

/*
 * Checks a server target: a host, and when login is true a user and a password variable; the
 * port in range; literal host, user and database values of their form (above, with flags), in
 * messages that never hold the value. 0, or -1 with the message in msg.
 */
int dscat_source__check_server(const dscat_target_config *t, bool login, unsigned flags, char *msg,
                               size_t size);
/* Checks a file target: a path or a path variable. */
int dscat_source__check_file(const dscat_target_config *t, char *msg, size_t size);
/*
 * Resolves a server target: host ("host:port", "[v6]:port", and what flags allow), user,
 * password and port, naming every unset variable in one message. A host or user value not of
 * its form (dscat_source__host_ok, dscat_source__user_ok) fails with DSCAT_ECONFIG naming its
 * variable, before anything is contacted and without echoing the value.
 */
int dscat_source__resolve_server(dscat_target_conn *out, const dscat_target_config *t,
                                 unsigned flags, dscat_error *err);
/* Resolves a file target's path. */
int dscat_source__resolve_file(dscat_target_conn *out, const dscat_target_config *t,
                               dscat_error *err);
/* A file target's database: the file's name without its extension, into buf. */
const char *dscat_source__file_database(const dscat_target_config *t, char *buf, size_t size);

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

/*
 * Drivers (one per file in src/sources/), declared here for the drivers' own files and tests;
 * registry.c declares every engine on its list itself, so a new engine needs no line here.
 */
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
