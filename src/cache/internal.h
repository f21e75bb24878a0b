/*
 * What the files of the cache share (src/cache/). By job:
 *   cache.c      names (encoding, keys), times, warnings, the connection ids
 *   writer.c     a table's rows from the source into a Parquet file (DuckDB)
 *   versions.c   version names and markers, the writer's lock, the swap that makes a version
 *                current, fallbacks as stored, the local file of a version for readers
 *   listing.c    what is cached and what is pending
 *   query.c      SQL over the current versions; connections.c the connection listings
 *   names.c      names DuckDB cannot tell apart (case): exact column names in the files, the
 *                names SQL over the cache gives them
 * The jobs over the cache use these too: src/jobs/data_refresh.c (refreshing tables: one table
 * from lock to swap, a pool of them, the report) and src/jobs/maintenance.c (pending deletions,
 * the orphan sweep, purge). None of them knows where the files are: every file operation goes
 * through the storage table (storage/storage.h), opened from the cache root by
 * dscat_cache__storage().
 */
#ifndef DSCAT_CACHE_INTERNAL_H
#define DSCAT_CACHE_INTERNAL_H

#include "cache/types.h"
#include "dscat/cache.h"
#include "sources/source.h"
#include "storage/storage.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* Every version directory holds ".catalog-<id>", the id of the catalog that wrote it. */
#define DSCAT_CACHE_MARKER ".catalog-"
/* A version's first data file, below its key; an append refresh adds "data-<n>.parquet". */
#define DSCAT_CACHE_DATA "data.parquet"

/* ---- cache.c ---- */

/* Opens the storage of the cache root; with check, one round trip proves it usable first
 * (S3: credentials, endpoint, bucket). Caller closes *out with dscat_storage_close(). */
int dscat_cache__storage(dscat_storage **out, const dscat_config *cfg, bool check,
                         dscat_error *err);
/* "<conn>/<schema>/<table>" with every part encoded: the key of a table's directory. Caller frees
 * with dscat_free(); NULL when out of memory. */
char *dscat_cache__table_key(const char *conn, const char *schema, const char *table);
/* "2026-11-22T05:00:00Z" of now + seconds, rounded up to the whole second when seconds > 0, so
 * never earlier; with seconds <= 0, the second of now (due at once). The form of delete_after;
 * a deletion's grace counts from the call: make it inside the transaction that makes the old
 * version no longer current. */
void dscat_cache__iso_after(int64_t seconds, char *out, size_t size);
/* Parses the form above; false when s is not in it. */
bool dscat_cache__parse_iso(const char *s, int64_t *us);
/* How old an unreferenced version must be to be an orphan (DSCAT_TEST_ORPHAN_AGE for tests). */
int64_t dscat_cache__orphan_age_us(void);
/* Adds a warning without a table (printf-like); a failed allocation drops it. */
void dscat_cache__warn(dscat_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds a warning about one table. */
void dscat_cache__table_warn(dscat_warnings *w, const char *schema, const char *table,
                             const char *message);
/* The test hook DSCAT_TEST_CRASH_AT: SIGKILL at the named stage. */
void dscat_cache__test_crash(const char *stage);

/* ---- writer.c ---- */

/* One table to refresh, and where its result goes. */
typedef struct dscat_cache_job {
    const dscat_config *cfg;
    const dscat_target_config *target;
    const char *database, *conn;
    dscat_table_sync *result;
    dscat_cache_progress_fn progress;
    void *payload;
    const char *append_key; /* an append refresh by this key column; NULL: full */
    int full_every;         /* seconds, 0: never */
} dscat_cache_job;

#define DSCAT_CACHE_WRITE_AGAIN 1 /* write_parquet: columns changed to fallbacks, write again */

/* The table's columns from the catalog, with their cache types; DSCAT_ENOTFOUND for none. Caller
 * frees with dscat_cache__free_columns(). */
int dscat_cache__catalog_columns(dscat_store *st, const dscat_target_config *t,
                                 const char *database, const char *schema, const char *table,
                                 cache_column **out, size_t *n, dscat_error *err);
void dscat_cache__free_columns(cache_column *c, size_t n);
/* Where the engine does not enforce types (SQLite), chooses fallbacks up front. */
int dscat_cache__plan_storage(dscat_source *src, const char *schema, const char *table,
                              cache_column *cols, size_t ncols, dscat_error *err);
/*
 * Streams the table into the local file path (Parquet) and reads it back whole; *rows receives
 * the row count. A value that does not fit its column moves the columns that need it to a
 * fallback (cols[].storage) and returns DSCAT_CACHE_WRITE_AGAIN.
 */
int dscat_cache__write_parquet(dscat_source *src, const char *schema, const char *table,
                               cache_column *cols, size_t ncols, const char *path, int64_t *rows,
                               const dscat_cache_job *job, dscat_error *err);
/* Why column c is not in its native type, one line, into b. */
int dscat_cache__fallback_reason(dscat_buf *b, const cache_column *c);
/* The type of the columns as written (name and Parquet type of each; "exact" third where names
 * differ only in case), as JSON text: a version's files are read as one table only when they
 * share it. Caller frees; NULL when out of memory. */
char *dscat_cache__layout(const cache_column *cols, size_t ncols);
/*
 * The key type of column c for append refreshes: 0 with *type, or DSCAT_EINVALID with err
 * naming the column when its values cannot be compared exactly (floats, booleans, binary, a
 * column in a fallback, types the engine does not compare exactly).
 */
int dscat_cache__key_type(const cache_column *c, const dscat_source_driver *drv,
                          dscat_key_type *type, dscat_error *err);
/*
 * The greatest value of column `key` over the local Parquet files[0..n), as the lossless text
 * of its key type (dscat_key_value_ok()); *out NULL when every value is NULL (or no row).
 * Caller frees *out.
 */
int dscat_cache__key_max(char **out, const char *const *files, size_t n, const char *key,
                         dscat_key_type type, dscat_error *err);

/* ---- names.c ---- */

/* True when DuckDB takes a and b for one name: equal but for ASCII case. */
bool dscat_cache__same_name(const char *a, const char *b);
/* True when two of names[0..n) are one name to DuckDB. */
bool dscat_cache__names_collide(const char *const *names, size_t n);
/*
 * The names SQL over the cache gives columns names[0..n): a name DuckDB cannot tell from another
 * of the table's becomes "<name>~<position>" (1-based; "~<position>" again while it still meets
 * another), every other stays. Caller frees with dscat_cache__free_names(); NULL when out of
 * memory.
 */
char **dscat_cache__query_columns(const char *const *names, size_t n);
void dscat_cache__free_names(char **names, size_t n);
/*
 * Names the n top-level columns of the local Parquet file at path names[0..n), in its footer
 * (schema and column chunk paths), where DuckDB's writer renamed columns that differ only in
 * case. The data pages are not touched.
 */
int dscat_cache__parquet_rename(const char *path, const char *const *names, size_t n,
                                dscat_error *err);

/* ---- versions.c ---- */

/* A new version name, "v<UTC time>-<8 random hex>", into out. */
void dscat_cache__make_version(char *out, size_t size);
/*
 * Takes the writer's lock of a table (key of its directory), waiting for it when another writer
 * has it (*waited then true): the store's table lock when the store is shared between machines
 * (dscat_store__shared_locks(); *fd is then -1 and st holds it), else an exclusive flock of the
 * table's lock file (*fd). Release with dscat_cache__unlock_table(), or by closing st.
 */
int dscat_cache__lock_table(dscat_store *st, dscat_storage *sto, const char *table_key, int *fd,
                            bool *waited, dscat_error *err);
void dscat_cache__unlock_table(dscat_store *st, const char *table_key, int fd);
/* True when a writer holds the lock of the table (key of its directory). */
bool dscat_cache__table_locked(dscat_store *st, dscat_storage *sto, const char *table_key);
/* Writes the catalog's marker into the version (key of its directory). */
int dscat_cache__mark_version(dscat_store *st, dscat_storage *sto, const char *version_key,
                              dscat_error *err);
/* Reads the table's cache row into out (version, rows, bytes, fallbacks), with when it was
 * last written and when its full refresh was; 1 when there is one. */
int dscat_cache__read_current(dscat_store *st, const char *conn, const char *schema,
                              const char *table, dscat_table_sync *out, int64_t *last_sync,
                              int64_t *full_us);

/* A table's current version as the store has it (table_cache), for an append refresh. */
typedef struct cache_current {
    char *version, *path;
    int files;
    int64_t rows, bytes, full_us;
    char *layout, *append_key, *append_max; /* NULL when unknown */
    dscat_fallbacks fallbacks;
} cache_current;
/* Reads it: 1 when the table has a version, 0 when not, or a negative error code. */
int dscat_cache__current(dscat_store *st, const char *conn, const char *schema, const char *table,
                         cache_current *out, dscat_error *err);
void dscat_cache__current_free(cache_current *c);

/* What a swap publishes besides the result: the version's files and what appends need. */
typedef struct cache_publish {
    int files;
    const char *layout, *append_key, *append_max;
    int64_t full_us;
} cache_publish;
/* Points the table at the version at path (r: version, total rows and bytes, fallbacks) and
 * schedules the old one, in one transaction. */
int dscat_cache__swap(dscat_store *st, const dscat_config *cfg, const char *conn,
                      const char *schema, const char *table, const dscat_table_sync *r,
                      const char *path, const cache_publish *p, dscat_error *err);
int dscat_cache__fallbacks_add(dscat_fallbacks *f, const char *column, const char *storage,
                               const char *reason);
/* The store keeps a version's fallbacks as a JSON array of {column, storage, reason}. */
/* Returns 0, or DSCAT_ENOMEM (never a list with a fallback missing). */
int dscat_cache__fallbacks_parse(dscat_fallbacks *f, const char *text);

/* The name of a version's file i: "data.parquet", then "data-<i>.parquet". */
int dscat_cache__file_name(dscat_buf *b, int i);

/*
 * The local Parquet file i (0 <= i < the version's files) of a cached version (its stored path)
 * for DuckDB to read: the file itself on a local root, a copy in the storage's read cache
 * otherwise. Caller frees *out with dscat_free().
 */
int dscat_cache__local_file(dscat_storage *sto, const char *version_path, int i, char **out,
                            dscat_error *err);

#endif
