/*
 * The store table: every operation on the catalog store (catalog.db, or a shared PostgreSQL
 * schema) behind one table of function pointers, like SQLite's sqlite3_vfs or libgit2's odb
 * backends. The modules above (catalog, jobs, export) call the dscat_store__*() and dscat_stmt__*()
 * functions declared here and never see the engine; the engine is chosen once, in
 * dscat_store_open() (store.c).
 *
 * What is in the table, and why:
 * - open/close, the version checks and migrations: the storage and its schema are the engine's.
 * - write transactions (begin takes the store's write lock; commit; rollback), and the read
 *   snapshot that dscat_store__read_begin()/read_end() nest around.
 * - the process-wide initialisation of the engine's library (dscat_store__global_init()).
 * - the writes whose SQL differs between engines (upserts, last insert ids, the store's
 *   generation, exports generation, catalog id, fingerprint, pending deletions, the data cache's
 *   table pointers and the counts of what a write changed).
 * - table locks every process of the store sees (the data cache's one writer per table), for
 *   an engine whose store is shared between machines.
 * - a small statement interface for the read queries every module runs: SQL text with `?` or
 *   `?N` (1-based) placeholders, binds, step, column accessors, finalize. The SQL passed to it is
 *   the catalog's, written to run on every engine (no rowid but a column of that name, no
 *   integer truthiness, IS [NOT] DISTINCT FROM, subqueries named, explicit NULLS FIRST/LAST
 *   where NULLs are sorted); an engine runs it as it is (SQLite) or translates placeholders
 *   (`?N` to `$N` for PostgreSQL).
 *
 * Adding an engine (postgres.c is the second):
 * 1. Write src/store/<engine>.c defining `const dscat_store_table dscat_store__<engine>_table`
 *    with every member filled (version = DSCAT_STORE_TABLE_VERSION, name = "<engine>"). Its store
 *    struct embeds `dscat_store base;` as its first member, and its statement struct embeds
 *    `dscat_stmt base;` as its first member; open() sets base.table (and base.stmt's store, in
 *    prepare()). dscat_store__init() and dscat_stmt__init() do both.
 * 2. Declare the table below and add it to the selection in select_engine() (store.c), from
 *    the catalog directory's settings (dscat_store__location()).
 * 3. Run the unit tests and the integration tests against it (tests/run-integration's STORE).
 * Nothing outside src/store/ changes.
 *
 * Where the engines differ (callers must not depend on either):
 * - SQLite compiles a statement at prepare; PostgreSQL at its first step, so bad SQL fails there.
 * - On PostgreSQL a failed statement inside a transaction ends what that transaction can do:
 *   every later statement in it fails too, and its commit reports the failure. A caller that
 *   goes on after a failed step gets failures, never a half-applied write.
 * - Ids are never reused on PostgreSQL (a rolled-back write leaves a gap in scan ids, so the
 *   generation can step by more than one).
 *
 * Threads: a store and its statements belong to one thread at a time (one connection per
 * thread, as docs/threading.md says). Nothing here prints or exits; errors are DSCAT_E* codes
 * with err filled with one line naming the store.
 */
#ifndef DSCAT_STORE_STORE_H
#define DSCAT_STORE_STORE_H

#include "dscat/catalog.h"
#include "dscat/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The scan model (core/model.h); only a pointer crosses this header. */
typedef struct dscat_db_scan dscat_db_scan;

/* A prepared statement on a store. Opaque: an engine embeds it as its statement's first member. */
typedef struct dscat_stmt dscat_stmt;

/* dscat_stmt__step(): a row is ready, or the statement has run to its end. */
#define DSCAT_STMT_ROW 1
#define DSCAT_STMT_DONE 0

/* The last run of one schedule of `dscat serve`. */
typedef struct dscat_schedule_record {
    const char *kind;           /* "schema" or "data" */
    const char *target;         /* the target's key */
    const char *schema, *table; /* the cached table; NULL for a schema refresh */
    int64_t started_us, finished_us;
    bool ok;
    const char *error; /* when not ok */
    int failures;      /* consecutive failed runs, this one included; 0 when ok */
    /* The claim: this process ("<machine>/<pid>"), which claims the run and records it. */
    const char *owner;
    /* Claiming: a claim found dead (its process gone from this machine) that may be taken over
     * whatever its age; NULL when none. */
    const char *dead_owner;
    /* Recording: the last run's finished_us when the claim was taken (DSCAT_NULL: none), so that
     * a run whose claim was released records only while no other run was recorded since. */
    int64_t claimed_after_us;
} dscat_schedule_record;

/* One scan row to record. */
typedef struct dscat_scan_row {
    const char *run_id;
    const dscat_target_config *target;
    const dscat_target_report *report;
    int64_t started_us, finished_us;
    bool profile;
} dscat_scan_row;

/*
 * One row of the data cache's pointers (table_cache): the current version of a cached table.
 * fallbacks is the version's fallbacks as a JSON array ("[]" for none). A version is made of
 * `files` Parquet files (1 after a full refresh; an append refresh adds one); rows and bytes are
 * their totals. layout names the columns as written (name, type, storage), so that an append
 * writes its file the same way; append_key and append_max (NULL when unknown) are the key column
 * of append refreshes and its greatest value in the version, as lossless text; full_us is when
 * the version's first file was written by a full refresh.
 */
typedef struct dscat_cache_row {
    const char *connection_id, *schema, *table;
    const char *version, *path;
    int64_t rows, bytes, last_sync_us;
    const char *fallbacks;
    int files;
    const char *layout, *append_key, *append_max;
    int64_t full_us;
} dscat_cache_row;

/*
 * Where a catalog directory's store is. url NULL: the SQLite file <catalog_dir>/catalog.db.
 * Else a PostgreSQL connection URI (from the environment variable the `store_url_env` setting
 * of <catalog_dir>/targets.toml names; it may hold a password: never put it in a message) and
 * the schema holding the store's tables (`store_schema`, default "dscat").
 */
typedef struct dscat_store_location {
    char *url;
    char *schema;
    char *env; /* the name of the variable that held url */
} dscat_store_location;

/* The version of dscat_store_table this dscat knows; the selection asserts an engine has it. */
#define DSCAT_STORE_TABLE_VERSION 4

/*
 * An engine. Every member is set (no NULL). Operations take the store the engine's open()
 * returned, or a statement its prepare() returned. Each contract is that of the dscat_store__*()
 * or dscat_stmt__*() function of the same name below, which call them.
 */
typedef struct dscat_store_table {
    int version;       /* DSCAT_STORE_TABLE_VERSION */
    const char *name;  /* "sqlite" */
    int known_version; /* the newest store version the engine knows (its migrations) */

    /*
     * Process-wide initialisation of the engine's library, once, before any store is opened:
     * dscat_store__global_init() and dscat_store__global_shutdown().
     */
    int (*global_init)(dscat_error *err);
    void (*global_shutdown)(void);

    /*
     * Lifecycle. check_version: refuses (DSCAT_EVERSION) a store written by a newer dscat without
     * creating or changing anything; no store yet is fine. open: opens the store of catalog_dir
     * (DSCAT_STORE_READ: DSCAT_ENOTFOUND when there is none; DSCAT_STORE_WRITE: creates it and
     * runs the migrations), refusing another program's database (DSCAT_EINVALID) and a newer
     * store (DSCAT_EVERSION); calls dscat_store__init() on the new store; *out is the caller's,
     * freed with close. close: frees the store; its statements must be finalized first. loc is
     * the directory's store location as dscat_store__location() read it (borrowed, for the call
     * only): an engine never reads targets.toml again.
     */
    int (*check_version)(const char *catalog_dir, const dscat_store_location *loc,
                         dscat_error *err);
    /* describe: where the open store is (never a credential), its version and the newest this
     * engine knows, into info's location, schema, version and known. */
    void (*describe)(dscat_store *st, dscat_store_info *info);
    int (*open)(dscat_store **out, const char *catalog_dir, const dscat_store_location *loc,
                dscat_store_mode mode, dscat_error *err);
    void (*close)(dscat_store *st);

    /*
     * Transactions. begin/commit/rollback: dscat_store__begin() and friends. in_transaction:
     * true when a transaction (read or write) is open on this connection. snapshot_begin opens a
     * read transaction whose snapshot is taken at once (not at the first read) and leaves none
     * open when it fails; snapshot_end ends it and never fails. dscat_store__read_begin() nests
     * around these two. exec: dscat_store__exec(). error: fills err with "catalog store <path>:
     * <what>: <the engine's last message>" and returns DSCAT_EIO.
     */
    int (*begin)(dscat_store *st, dscat_error *err);
    int (*commit)(dscat_store *st, dscat_error *err);
    void (*rollback)(dscat_store *st);
    bool (*in_transaction)(dscat_store *st);
    int (*snapshot_begin)(dscat_store *st, dscat_error *err);
    void (*snapshot_end)(dscat_store *st);
    int (*exec)(dscat_store *st, const char *sql, dscat_error *err);
    int (*error)(dscat_store *st, dscat_error *err, const char *what);

    /* Engine-specific reads and writes. */
    int64_t (*generation)(dscat_store *st);
    int64_t (*exports_generation)(dscat_store *st);
    int (*set_exports_generation)(dscat_store *st, int64_t generation, dscat_error *err);
    int (*catalog_id)(dscat_store *st, char *out, size_t size);
    int (*fingerprint)(dscat_store *st, char *out, size_t size, dscat_error *err);
    int (*insert_scan)(dscat_store *st, const dscat_scan_row *row, int64_t *scan_id,
                       dscat_error *err);
    int (*insert_database)(dscat_store *st, int64_t scan_id, dscat_db_scan *d, dscat_error *err);
    int (*set_current)(dscat_store *st, const char *target, int64_t scan_id, dscat_error *err);
    int (*prune)(dscat_store *st, const char *target, int keep, dscat_error *err);
    int (*analyze)(dscat_store *st, dscat_error *err);
    int (*put_schedule_run)(dscat_store *st, const struct dscat_schedule_record *run,
                            dscat_error *err);
    int (*claim_schedule_run)(dscat_store *st, const struct dscat_schedule_record *seen,
                              int64_t now_us, int64_t stale_before_us, bool *claimed,
                              dscat_error *err);
    int (*schedule_deletion)(dscat_store *st, const char *path, const char *delete_after,
                             dscat_error *err);
    int (*schedule_cached)(dscat_store *st, const char *connection_id, const char *schema,
                           const char *table, const char *delete_after, dscat_error *err);
    int (*put_cached)(dscat_store *st, const dscat_cache_row *row, dscat_error *err);
    int (*delete_cached)(dscat_store *st, const char *connection_id, const char *schema,
                         const char *table, size_t *deleted, dscat_error *err);

    /*
     * Table locks every process of the store sees, on any machine: dscat_store__lock_table()
     * and friends. An engine whose store lives on one machine sets shared_locks false and its
     * three functions do nothing (the data cache's lock files serve).
     */
    bool shared_locks;
    int (*lock_table)(dscat_store *st, const char *key, bool *waited, dscat_error *err);
    void (*unlock_table)(dscat_store *st, const char *key);
    bool (*table_locked)(dscat_store *st, const char *key);

    /*
     * Statements: dscat_stmt__*(). prepare allocates the engine's statement, calls
     * dscat_stmt__init() on it and sets *out (NULL on failure); finalize frees it. bind_text
     * copies v when copy is true, else borrows it until the statement is reset or finalized.
     * step returns DSCAT_STMT_ROW, DSCAT_STMT_DONE or a negative DSCAT_E* code; reset also
     * clears the bindings. column_int64 also serves dscat_stmt__int().
     */
    int (*prepare)(dscat_stmt **out, dscat_store *st, const char *sql, dscat_error *err);
    void (*bind_int64)(dscat_stmt *s, int i, int64_t v);
    void (*bind_double)(dscat_stmt *s, int i, double v);
    void (*bind_text)(dscat_stmt *s, int i, const char *v, bool copy);
    void (*bind_null)(dscat_stmt *s, int i);
    int (*step)(dscat_stmt *s);
    void (*reset)(dscat_stmt *s);
    bool (*is_null)(dscat_stmt *s, int i);
    int64_t (*column_int64)(dscat_stmt *s, int i);
    double (*column_double)(dscat_stmt *s, int i);
    const char *(*column_text)(dscat_stmt *s, int i);
    size_t (*column_bytes)(dscat_stmt *s, int i);
    void (*finalize)(dscat_stmt *s);
} dscat_store_table;

/* dscat_store__trace(): called with the SQL of each statement prepared on the store. */
typedef void (*dscat_store_trace_fn)(const char *sql, void *payload);

/*
 * The part of a store every engine shares; an engine's store struct starts with it. The read
 * nesting lives here so that every engine nests alike.
 */
struct dscat_store {
    const dscat_store_table *table;
    int read_depth;             /* dscat_store__read_begin() calls not yet ended */
    bool read_owned;            /* the outermost of them began the transaction (and ends it) */
    dscat_store_trace_fn trace; /* NULL: none */
    void *trace_payload;
};

/* The part of a statement every engine shares; an engine's statement struct starts with it. */
struct dscat_stmt {
    dscat_store *store;
};

/* The engines. */
extern const dscat_store_table dscat_store__sqlite_table;
extern const dscat_store_table dscat_store__postgres_table;

/*
 * Reads the location of catalog_dir's store. 0, or with err filled DSCAT_EINVALID (an unreadable
 * or unparsable targets.toml, and no catalog.db beside it), DSCAT_ECONFIG (a setting of the
 * wrong type) or DSCAT_EUNSET (store_url_env naming an unset variable); free *loc with
 * dscat_store_location_free() either way.
 */
int dscat_store__location(dscat_store_location *loc, const char *catalog_dir, dscat_error *err);
void dscat_store_location_free(dscat_store_location *loc);

/* For engines: fill the shared parts of a new store and a new statement. */
void dscat_store__init(dscat_store *st, const dscat_store_table *table);
void dscat_stmt__init(dscat_stmt *s, dscat_store *st);

/* The name of the store's engine ("sqlite"). Static string. */
const char *dscat_store__engine(const dscat_store *st);

/*
 * Process-wide initialisation of every engine's library (SQLite: sqlite3_initialize, and a
 * library built without thread support refused), called once from dscat_global_init() before any
 * thread opens a store; dscat_store__global_shutdown() undoes it at exit. Returns 0, or a DSCAT_E*
 * code with err filled.
 */
int dscat_store__global_init(dscat_error *err);
void dscat_store__global_shutdown(void);

/*
 * For tests: fn is called with the SQL of every statement dscat_stmt__prepare() receives on this
 * store, before it is prepared, so that a test can act between two statements of one question
 * (commit from another connection, say). fn NULL stops it. payload is borrowed.
 */
void dscat_store__trace(dscat_store *st, dscat_store_trace_fn fn, void *payload);

/*
 * Write transactions. dscat_store__begin() opens one and takes the store's write lock at once
 * (SQLite: BEGIN IMMEDIATE, waiting up to the busy timeout), so that the reads inside it and the
 * writes that follow see one state no other writer changes. Every write below runs inside one.
 * Exactly one of commit or rollback ends it. commit returns 0 or DSCAT_EIO with err filled (the
 * transaction is then still open: roll it back); rollback never fails and does nothing when no
 * transaction is open. Not nested.
 */
int dscat_store__begin(dscat_store *st, dscat_error *err);
int dscat_store__commit(dscat_store *st, dscat_error *err);
void dscat_store__rollback(dscat_store *st);
/* True when a transaction (read or write) is open on the store's connection. */
bool dscat_store__in_transaction(dscat_store *st);

/*
 * Starts a read transaction: every statement until the matching dscat_store__read_end() sees one
 * snapshot of the store, so the current-scan pointers and the rows they point to are read as
 * one commit left them, whatever a refresh in another thread or process commits meanwhile.
 * Every read that answers one question runs inside one. Nests: inside a transaction already
 * open on this connection (an outer read, or a writer's own), it only counts. Returns 0, or
 * DSCAT_EIO with err filled. Not thread-safe: a connection belongs to one thread.
 */
int dscat_store__read_begin(dscat_store *st, dscat_error *err);
/* Ends what the matching successful dscat_store__read_begin() started. */
void dscat_store__read_end(dscat_store *st);
/*
 * Opens the store of catalog_dir for reading and begins a read transaction on it. No catalog yet
 * is not an error: *st stays NULL and 0 is returned. Close with dscat_store__close_reading(),
 * which takes NULL.
 */
int dscat_store__open_reading(dscat_store **st, const char *catalog_dir, dscat_error *err);
void dscat_store__close_reading(dscat_store *st);

/*
 * Runs SQL that returns no rows (several statements allowed, no placeholders). Engine-specific
 * SQL (PRAGMAs, transaction control) belongs in the engine, not here: prefer the operations
 * above. Returns 0 or DSCAT_EIO with err filled.
 */
int dscat_store__exec(dscat_store *st, const char *sql, dscat_error *err);
/*
 * Fills err from the store's last failure (after a failed dscat_stmt__step(), say), as
 * "catalog store <path>: query failed: <engine message>". Returns DSCAT_EIO.
 */
int dscat_store__step_error(dscat_store *st, dscat_error *err);

/*
 * The store's generation: the id of the last scan written (0 for none). Every export records the
 * generation it was made from, and the store records the generation its exports were last
 * completed at (-1: unknown); a difference means a refresh died between the two.
 */
int64_t dscat_store__generation(dscat_store *st);
int64_t dscat_store__exports_generation(dscat_store *st);
/* Records the exports generation. Returns 0 or DSCAT_EIO. Upserts: no transaction needed. */
int dscat_store__set_exports_generation(dscat_store *st, int64_t generation, dscat_error *err);
/* The catalog's id (32 hex digits) into out; DSCAT_ENOTFOUND for a store not yet migrated. */
int dscat_store__catalog_id(dscat_store *st, char *out, size_t size);
/*
 * What the snapshot of the current read transaction holds, as text: each target's current scan
 * and the newest scan. Two read transactions (on two connections) with equal fingerprints read
 * the same catalog. Call inside a read transaction. Returns 0 or DSCAT_EIO.
 */
int dscat_store__fingerprint(dscat_store *st, char *out, size_t size, dscat_error *err);

/*
 * Inserts a scan and its problems; *scan_id receives its id. Call inside a write transaction.
 * Borrows row for the call only.
 */
int dscat_store__insert_scan(dscat_store *st, const dscat_scan_row *row, int64_t *scan_id,
                             dscat_error *err);
/*
 * Records one database's tables, columns and foreign keys under scan_id. Each distinct column
 * set, table and set of tables is stored once, addressed by its content (store/content.h): a
 * database scanned exactly as before adds one row. Call inside a write transaction. Allocates
 * foreign-key texts in d's arena.
 */
int dscat_store__insert_database(dscat_store *st, int64_t scan_id, dscat_db_scan *d,
                                 dscat_error *err);
/* Makes scan_id the target's current catalog. Call inside a write transaction. */
int dscat_store__set_current(dscat_store *st, const char *target, int64_t scan_id,
                             dscat_error *err);
/*
 * Deletes all but the newest `keep` scans of a target (never the current one), with their
 * problems and the tables, columns and foreign keys no remaining scan has. Call inside a write
 * transaction.
 */
int dscat_store__prune(dscat_store *st, const char *target, int keep, dscat_error *err);
/*
 * Brings the query planner's statistics up to date after the catalog was written, so that the
 * current catalog is read from its pointers whatever the store holds (a bounded sample, not a
 * full pass). Call inside a write transaction.
 */
int dscat_store__analyze(dscat_store *st, dscat_error *err);
/*
 * Claims the next run of a schedule for seen->owner: false in *claimed when another process
 * holds a claim renewed after stale_before_us (unless it is seen->dead_owner's), or ran it since
 * the caller read its last run (seen->finished_us, DSCAT_NULL when it never ran). Outside a
 * transaction: commits alone.
 */
int dscat_store__claim_schedule_run(dscat_store *st, const dscat_schedule_record *seen,
                                    int64_t now_us, int64_t stale_before_us, bool *claimed,
                                    dscat_error *err);
/* Records a schedule's run (and drops its claim), replacing the one before: only while
 * run->owner holds the claim, or the claim was released and no run was recorded since
 * (run->claimed_after_us); otherwise records nothing (the run was taken over). Outside a
 * transaction: commits alone. */
int dscat_store__put_schedule_run(dscat_store *st, const dscat_schedule_record *run,
                                  dscat_error *err);
/*
 * Schedules a data cache path for deletion after delete_after (ISO 8601 UTC text); a path
 * already scheduled keeps its time. Returns 0 or DSCAT_EIO.
 */
int dscat_store__schedule_deletion(dscat_store *st, const char *path, const char *delete_after,
                                   dscat_error *err);

/*
 * The data cache's pointers (table_cache), one row per cached table of a connection. In the
 * three below, schema NULL means every table of the connection (table is then ignored), else the
 * one table schema.table. Call them inside a write transaction; borrowed arguments, for the call
 * only. Each returns 0, or DSCAT_EIO with err filled ("catalog store <path>: query failed: ...").
 *
 * schedule_cached: schedules the paths the matching rows point to for deletion after
 * delete_after (ISO 8601 UTC text); a path already scheduled keeps its time.
 * put_cached: makes row the table's current version (inserted, or replacing the row there).
 * delete_cached: deletes the matching rows; *deleted receives how many there were.
 */
int dscat_store__schedule_cached(dscat_store *st, const char *connection_id, const char *schema,
                                 const char *table, const char *delete_after, dscat_error *err);
int dscat_store__put_cached(dscat_store *st, const dscat_cache_row *row, dscat_error *err);
int dscat_store__delete_cached(dscat_store *st, const char *connection_id, const char *schema,
                               const char *table, size_t *deleted, dscat_error *err);

/*
 * Table locks of the store, for the data cache's one writer per table across processes.
 * dscat_store__shared_locks(): true when the store holds them (PostgreSQL: session advisory
 * locks of the store's connection, released when it closes or its process dies); false for a
 * store on one machine (SQLite), whose callers lock files instead.
 * lock_table: takes the lock of `key` for this store connection, waiting while another holds
 * it (*waited then true). Returns 0 or DSCAT_EIO. unlock_table: releases it. table_locked: true
 * when another connection holds it.
 */
bool dscat_store__shared_locks(const dscat_store *st);
int dscat_store__lock_table(dscat_store *st, const char *key, bool *waited, dscat_error *err);
void dscat_store__unlock_table(dscat_store *st, const char *key);
bool dscat_store__table_locked(dscat_store *st, const char *key);

/*
 * Statements. dscat_stmt__prepare() compiles one SQL statement with `?`/`?N` placeholders into
 * *out; the caller finalizes it with dscat_stmt__finalize() (NULL allowed) before closing the
 * store. Returns 0, or DSCAT_EIO with err filled ("... cannot prepare a query: ...") and *out
 * NULL. A statement runs inside whatever transaction is open on its store.
 */
int dscat_stmt__prepare(dscat_stmt **out, dscat_store *st, const char *sql, dscat_error *err);
/*
 * Binds parameter i (1-based). bind_text copies nothing: v must stay valid until the statement is
 * reset or finalized (NULL binds NULL); dscat_stmt__bind_text_copy() copies.
 */
void dscat_stmt__bind_int64(dscat_stmt *s, int i, int64_t v);
void dscat_stmt__bind_double(dscat_stmt *s, int i, double v);
void dscat_stmt__bind_text(dscat_stmt *s, int i, const char *v);
void dscat_stmt__bind_text_copy(dscat_stmt *s, int i, const char *v);
void dscat_stmt__bind_null(dscat_stmt *s, int i);
/*
 * Runs the statement to its next row: DSCAT_STMT_ROW, DSCAT_STMT_DONE, or a negative DSCAT_E*
 * code (dscat_store__step_error() then tells why).
 */
int dscat_stmt__step(dscat_stmt *s);
/* Rewinds the statement and clears its bindings, to run it again. */
void dscat_stmt__reset(dscat_stmt *s);
/*
 * Column i (0-based) of the current row. NULL reads as 0, 0.0 and a NULL text. Text is borrowed:
 * valid until the next step, reset or finalize. column_bytes is the text's length in bytes.
 */
bool dscat_stmt__is_null(dscat_stmt *s, int i);
int64_t dscat_stmt__int64(dscat_stmt *s, int i);
int dscat_stmt__int(dscat_stmt *s, int i);
double dscat_stmt__double(dscat_stmt *s, int i);
const char *dscat_stmt__text(dscat_stmt *s, int i);
size_t dscat_stmt__bytes(dscat_stmt *s, int i);
/* Frees the statement. NULL does nothing. */
void dscat_stmt__finalize(dscat_stmt *s);

/* SQL for the current catalog's tables: current scan of each target. */
#define DSCAT_CURRENT_TABLES                                                                       \
    "(SELECT t.*, s.target AS target, s.server AS server FROM targets g "                          \
    "JOIN scans s ON s.id = g.current_scan_id JOIN scan_tables t ON t.scan_id = s.id)"

#endif
