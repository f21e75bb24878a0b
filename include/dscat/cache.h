/*
 * The data cache (SPEC §9): chosen tables copied into versioned Parquet files under the cache
 * root (a local directory or s3://bucket/prefix), refreshed atomically, old versions deleted after
 * a grace period, and SQL over the current versions.
 */
#ifndef DSCAT_CACHE_H
#define DSCAT_CACHE_H

#include "dscat/catalog.h"

#include <stdbool.h>
#include <stdint.h>

/* One warning for the caller to show (failed cleanup, retries, orphans). */
typedef struct dscat_warning {
    char *schema, *table; /* may be NULL */
    char *message;
} dscat_warning;

typedef struct dscat_warnings {
    dscat_warning *items;
    size_t count;
} dscat_warnings;

void dscat_warnings_free(dscat_warnings *w);

/* A column written in a lossless fallback instead of its native type (docs/cache.md). */
typedef struct dscat_fallback {
    char *column;
    /* "text" (the source's text form), "binary" (its bytes) or "literal" (an SQL literal that
     * keeps each value's storage class: SQLite columns holding several) */
    char *storage;
    char *reason; /* one line: why the native type could not hold the values */
} dscat_fallback;

typedef struct dscat_fallbacks {
    dscat_fallback *items;
    size_t count;
} dscat_fallbacks;

void dscat_fallbacks_free(dscat_fallbacks *f);

/* The result of refreshing one table. */
typedef struct dscat_table_sync {
    char *schema, *table;
    int rc; /* 0 or the error code; message in error */
    dscat_error error;
    int64_t rows, bytes, duration_ms; /* written by this refresh (an append: the new rows) */
    char *version;                    /* the table's current version afterwards */
    const char *kind;      /* what ran: "full" or "append" (static); NULL when nothing ran */
    bool unchanged;        /* an append found no new row: no version was published */
    int64_t version_rows;  /* rows of the current version afterwards (all its files) */
    int64_t version_bytes; /* its bytes, all files */
    int files;             /* its Parquet files */
    char *note;    /* why an append ran as a full refresh (first one, full_every, ...), or NULL */
    bool joined;   /* another refresh of the same table was running: this is its result */
    char *warning; /* a cleanup that failed (the refresh itself did not), or NULL */
    dscat_fallbacks fallbacks; /* of the version written */
} dscat_table_sync;

typedef struct dscat_cache_report {
    char *connection_id;
    dscat_table_sync *tables;
    size_t count, failed;
    int64_t total_rows, duration_ms;
    dscat_warnings warnings;
} dscat_cache_report;

/*
 * Refreshes one table (schema and table given) or every cached table of a connection (all its
 * catalogued tables with include_uncached), refresh_parallelism at once. Per-table failures are
 * in the report; returns an error only for an unknown connection or table, or a store failure.
 */
int dscat_cache_refresh(dscat_cache_report **out, const dscat_config *cfg,
                        const char *connection_id, const char *schema, const char *table,
                        bool include_uncached, dscat_error *err);

/*
 * Progress of a data refresh: called from the refreshing threads (the callee locks what it
 * shares) while rows are copied, at most a few times a second per table, and once when a table
 * is done (done true; rows, bytes and duration then final). payload is the caller's.
 */
typedef struct dscat_cache_progress {
    const char *schema, *table;
    int64_t rows, bytes, elapsed_ms;
    bool done;
    int rc; /* when done: 0, or the table's error code */
} dscat_cache_progress;
typedef void (*dscat_cache_progress_fn)(const dscat_cache_progress *p, void *payload);

/*
 * How a data refresh runs. An append refresh (append_key set; one table only) reads only the rows
 * whose key column is greater than the current version's greatest key, and publishes a version
 * made of the previous version's files and one new file (docs/cache.md, "Append refreshes"). It
 * runs as a full refresh when the table has no version yet, when the previous full refresh is
 * older than full_every seconds (0: never), or when the table's columns changed; the result's
 * note says why. The key must be a column of the catalogued table, of a type compared exactly.
 */
typedef struct dscat_cache_refresh_opts {
    bool include_uncached;
    const char *append_key; /* NULL: a full refresh (borrowed) */
    int full_every;
    dscat_cache_progress_fn progress; /* may be NULL */
    void *payload;
} dscat_cache_refresh_opts;

/* dscat_cache_refresh with options (NULL: a full refresh as dscat_cache_refresh's). */
int dscat_cache_refresh_with(dscat_cache_report **out, const dscat_config *cfg,
                             const char *connection_id, const char *schema, const char *table,
                             const dscat_cache_refresh_opts *opts, dscat_error *err);

/* dscat_cache_refresh with a progress callback (NULL: none). */
int dscat_cache_refresh_progress(dscat_cache_report **out, const dscat_config *cfg,
                                 const char *connection_id, const char *schema, const char *table,
                                 bool include_uncached, dscat_cache_progress_fn progress,
                                 void *payload, dscat_error *err);
void dscat_cache_report_free(dscat_cache_report *r);

/* Resolves a connection id of the configuration (SPEC §0: <target> or <target>.<database>) to
 * its target (borrowed from cfg) and database (caller frees *database). DSCAT_ENOTFOUND with a
 * hint when the id names no connection. */
int dscat_connection_resolve(const dscat_config *cfg, const char *id,
                             const dscat_target_config **target, char **database, dscat_error *err);

/* The single database a target's configuration names (SPEC §0), or NULL when it names several. */
const char *dscat_connection_database(const dscat_target_config *t, char *buf, size_t size);

typedef struct dscat_connection {
    char *id, *target, *database;
    const char *type; /* "postgres", ... */
    long tables;      /* in the current catalog */
    long cached;      /* tables with a current cache version */
} dscat_connection;

typedef struct dscat_connection_list {
    dscat_connection *items;
    size_t count;
} dscat_connection_list;

/*
 * The connections of the configuration: one per target that names a single database, else one
 * per database of the target in the current catalog. `only` (may be NULL) keeps one id.
 */
int dscat_connections_list(dscat_connection_list *out, const dscat_config *cfg, const char *only,
                           dscat_error *err);
void dscat_connection_list_free(dscat_connection_list *l);

/*
 * GET /information_schema: every catalogued table of the connections (or of one) with its
 * columns and whether it has a cached version, as JSON text (compact, non-ASCII escaped):
 * {"tables": [{connection_id, schema_name, table_name, table_type, synced, columns:
 * [{column_name, data_type, is_nullable}]}]}. Caller frees *out with dscat_free().
 */
int dscat_information_schema(char **out, const dscat_config *cfg, const char *only,
                             dscat_error *err);

/* What a schema refresh of connections did (SPEC §11.1 rows 6 and 7). */
typedef struct dscat_schema_refresh_result {
    long connections_refreshed, connections_failed;
    long tables_discovered, tables_added, tables_modified;
    char **error_ids, **errors; /* the failed connection ids (or target keys) and why */
    size_t nerrors;
} dscat_schema_refresh_result;

/*
 * Schema refresh of every target (connection_id NULL), of one target (a target key), or of the
 * target of one connection, counted for that connection. An unknown id is DSCAT_ENOTFOUND
 * "connection '<id>' not found"; a target that cannot be scanned is in errors, not an error.
 * With no targets configured, every target is none: zero counts and 0.
 */
int dscat_schema_refresh(dscat_schema_refresh_result *out, const dscat_config *cfg,
                         const char *connection_id, dscat_error *err);
void dscat_schema_refresh_result_free(dscat_schema_refresh_result *r);

typedef struct dscat_cached_table {
    char *connection_id, *schema, *table, *version, *path;
    int64_t rows, bytes, last_sync_us; /* rows and bytes: the totals of the version's files */
    dscat_fallbacks fallbacks;
    int files;        /* Parquet files of the version: 1, and one more per append refresh */
    char *append_key; /* the key of its append refreshes, or NULL */
} dscat_cached_table;

typedef struct dscat_pending {
    char *path, *delete_after;
    int retry_count;
} dscat_pending;

typedef struct dscat_cache_listing {
    dscat_cached_table *tables;
    size_t count;
    dscat_pending *pending;
    size_t npending;
    dscat_warnings warnings;
} dscat_cache_listing;

/* Lists the cached tables (of one connection, or all) and the pending deletions. */
int dscat_cache_list(dscat_cache_listing *out, const dscat_config *cfg, const char *connection_id,
                     dscat_error *err);
void dscat_cache_listing_free(dscat_cache_listing *l);

/* Removes the pointers of one table (or a whole connection) now; files follow after the grace. */
int dscat_cache_purge(const dscat_config *cfg, const char *connection_id, const char *schema,
                      const char *table, size_t *purged, dscat_error *err);

/*
 * Deletes the due pending deletions (retries up to 5, unparsable times deferred 24 h) and
 * schedules orphaned version directories older than an hour. Warnings go to *warnings.
 */
int dscat_cache_maintain(const dscat_config *cfg, dscat_warnings *warnings, dscat_error *err);

/* A query result, as text (NULL for SQL NULL). */
typedef struct dscat_query_result {
    char **columns;
    size_t ncolumns;
    char **cells; /* row-major, nrows * ncolumns */
    size_t nrows;
    int64_t duration_ms;
    bool truncated; /* more rows than the limit */
} dscat_query_result;

/*
 * Runs SQL over the current versions of the cached tables, each visible as
 * "<connection id>"."<schema>"."<table>". At most `limit` rows are kept (0 = no limit).
 */
int dscat_cache_query(dscat_query_result *out, const dscat_config *cfg, const char *sql,
                      size_t limit, dscat_error *err);
void dscat_query_result_free(dscat_query_result *r);

/* The path part for a name: injective, and never "." or ".." or holding "/". Caller frees. */
char *dscat_cache_encode(const char *name);

#endif
