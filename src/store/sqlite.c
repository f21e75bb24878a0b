/*
 * The store's SQLite engine: SQLite in WAL mode, schema versioned with PRAGMA user_version and
 * migrated at open. Its table, dscat_store__sqlite_table, is at the end of this file.
 *
 * Every scan of a target is kept (up to keep_scans) with its tables, columns and foreign keys;
 * targets.current_scan_id points at the latest successful one, which is what "the catalog" is.
 */
#include "store/store.h"

#include "store/content.h"

#include "core/model.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <assert.h>
#include <sqlite3.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sqlite_store {
    dscat_store base; /* first: a dscat_store * is a sqlite_store * */
    sqlite3 *db;
    char *path;
    int application_id;      /* as found at open */
    uint8_t content_key[16]; /* the key of content addresses, read by a writer at open */
    bool has_content_key;
    pthread_t checkpointer;    /* a writer's checkpoint on a thread (wal_committed) */
    bool checkpointing;        /* started and not yet joined */
    _Atomic bool checkpointed; /* set by the thread when it is done */
} sqlite_store;

typedef struct sqlite_stmt {
    dscat_stmt base; /* first: a dscat_stmt * is a sqlite_stmt * */
    sqlite3_stmt *s;
} sqlite_stmt;

static sqlite_store *S(dscat_store *st)
{
    assert(st->table == &dscat_store__sqlite_table);
    return (sqlite_store *)st;
}

static sqlite3_stmt *T(dscat_stmt *s)
{
    return ((sqlite_stmt *)s)->s;
}

/*
 * Migration N takes the store from version N-1 to N, in one transaction: its statements, in one
 * or more pieces (a piece is a string of at most 4,095 bytes). Never edit one that has shipped.
 */
typedef struct migration {
    const char *pieces[3];
} migration;

static const migration migrations[] = {
    /* 1 */
    {{"CREATE TABLE targets("
      "  key TEXT PRIMARY KEY,"
      "  current_scan_id INTEGER);"
      "CREATE TABLE scans("
      "  id INTEGER PRIMARY KEY,"
      "  run_id TEXT NOT NULL,"
      "  target TEXT NOT NULL,"
      "  server TEXT NOT NULL,"
      "  source_type TEXT NOT NULL,"
      "  started_us INTEGER NOT NULL,"
      "  finished_us INTEGER NOT NULL,"
      "  status TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),"
      "  depth TEXT NOT NULL DEFAULT 'metadata',"
      "  databases INTEGER NOT NULL DEFAULT 0,"
      "  tables INTEGER NOT NULL DEFAULT 0,"
      "  columns INTEGER NOT NULL DEFAULT 0,"
      "  queries INTEGER NOT NULL DEFAULT 0,"
      "  duration_ms INTEGER NOT NULL DEFAULT 0,"
      "  error TEXT);"
      "CREATE INDEX scans_by_target ON scans(target, id);"
      "CREATE TABLE scan_problems("
      "  scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
      "  database TEXT,"
      "  schema TEXT,"
      "  message TEXT NOT NULL);"
      "CREATE INDEX scan_problems_by_scan ON scan_problems(scan_id);"
      "CREATE TABLE tables("
      "  id INTEGER PRIMARY KEY,"
      "  scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
      "  database TEXT NOT NULL,"
      "  schema TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  table_type TEXT NOT NULL,"
      "  row_estimate INTEGER,"
      "  size_bytes INTEGER,"
      "  comment TEXT,"
      "  last_modified_us INTEGER,"
      "  scanned_at_us INTEGER NOT NULL,"
      "  signature INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX tables_by_scan ON tables(scan_id, database, schema, name);"
      "CREATE TABLE columns("
      "  table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,"
      "  ordinal INTEGER NOT NULL,"
      "  name TEXT NOT NULL,"
      "  data_type TEXT NOT NULL,"
      "  column_type TEXT,"
      "  is_nullable INTEGER NOT NULL,"
      "  is_primary_key INTEGER NOT NULL,"
      "  is_foreign_key INTEGER NOT NULL,"
      "  fk_references TEXT NOT NULL,"
      "  max_length INTEGER,"
      "  numeric_precision INTEGER,"
      "  numeric_scale INTEGER,"
      "  column_default TEXT,"
      "  column_comment TEXT,"
      "  null_count INTEGER,"
      "  distinct_count INTEGER,"
      "  profiled_rows INTEGER,"
      "  PRIMARY KEY (table_id, ordinal)) WITHOUT ROWID;"
      "CREATE TABLE foreign_keys("
      "  table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,"
      "  column_name TEXT NOT NULL,"
      "  ref_schema TEXT NOT NULL,"
      "  ref_table TEXT NOT NULL,"
      "  ref_column TEXT NOT NULL);"
      "CREATE INDEX foreign_keys_by_table ON foreign_keys(table_id);"}},
    /* 2: the data cache */
    {{"CREATE TABLE table_cache("
      "  connection_id TEXT NOT NULL,"
      "  schema TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  version TEXT NOT NULL,"
      "  path TEXT NOT NULL,"
      "  rows INTEGER NOT NULL,"
      "  bytes INTEGER NOT NULL,"
      "  last_sync_us INTEGER NOT NULL,"
      "  PRIMARY KEY (connection_id, schema, name));"
      "CREATE TABLE pending_deletions("
      "  path TEXT PRIMARY KEY,"
      "  delete_after TEXT NOT NULL,"
      "  retry_count INTEGER NOT NULL DEFAULT 0);"}},
    /* 3: generated and hidden columns (rows written before it are ordinary columns) */
    {{"ALTER TABLE columns ADD COLUMN generated TEXT"
      "  CHECK (generated IS NULL OR generated IN ('STORED', 'VIRTUAL'));"
      "ALTER TABLE columns ADD COLUMN is_hidden INTEGER NOT NULL DEFAULT 0;"}},
    /* 4: the columns of a cached version written in a lossless fallback (JSON array); the
     * catalog's id, which marks the cache versions it writes */
    {{"ALTER TABLE table_cache ADD COLUMN fallbacks TEXT NOT NULL DEFAULT '[]';"
      "CREATE TABLE catalog_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO catalog_meta VALUES ('catalog_id', lower(hex(randomblob(16))));"}},
    /* 5: content-addressed catalog. A scan names, per database, a set of tables; a table row
     * names its column set; each distinct column set, table and table set is kept once, found
     * again by a keyed hash of its content (store/content.h) under the store's own key. Rows
     * from before it keep their ids and get hashes no content has (randomblob). */
    {{"INSERT INTO catalog_meta VALUES ('content_key', lower(hex(randomblob(16))));"
      "CREATE TABLE column_sets(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE);"
      "INSERT INTO column_sets(id, hash) SELECT id, randomblob(16) FROM tables;"
      "CREATE TABLE columns5("
      "  set_id INTEGER NOT NULL REFERENCES column_sets(id) ON DELETE CASCADE,"
      "  ordinal INTEGER NOT NULL,"
      "  name TEXT NOT NULL,"
      "  data_type TEXT NOT NULL,"
      "  column_type TEXT,"
      "  is_nullable INTEGER NOT NULL,"
      "  is_primary_key INTEGER NOT NULL,"
      "  is_foreign_key INTEGER NOT NULL,"
      "  fk_references TEXT NOT NULL,"
      "  max_length INTEGER,"
      "  numeric_precision INTEGER,"
      "  numeric_scale INTEGER,"
      "  column_default TEXT,"
      "  column_comment TEXT,"
      "  null_count INTEGER,"
      "  distinct_count INTEGER,"
      "  profiled_rows INTEGER,"
      "  generated TEXT CHECK (generated IS NULL OR generated IN ('STORED', 'VIRTUAL')),"
      "  is_hidden INTEGER NOT NULL DEFAULT 0,"
      "  PRIMARY KEY (set_id, ordinal)) WITHOUT ROWID;"
      "INSERT INTO columns5 SELECT table_id, ordinal, name, data_type, column_type, is_nullable,"
      "  is_primary_key, is_foreign_key, fk_references, max_length, numeric_precision,"
      "  numeric_scale, column_default, column_comment, null_count, distinct_count, profiled_rows,"
      "  generated, is_hidden FROM columns;"
      "CREATE TABLE foreign_keys5("
      "  set_id INTEGER NOT NULL REFERENCES column_sets(id) ON DELETE CASCADE,"
      "  position INTEGER NOT NULL,"
      "  column_name TEXT NOT NULL,"
      "  ref_schema TEXT NOT NULL,"
      "  ref_table TEXT NOT NULL,"
      "  ref_column TEXT NOT NULL,"
      "  PRIMARY KEY (set_id, position)) WITHOUT ROWID;"
      "INSERT INTO foreign_keys5 SELECT table_id,"
      "  row_number() OVER (PARTITION BY table_id ORDER BY rowid), column_name, ref_schema,"
      "  ref_table, ref_column FROM foreign_keys;",
      "CREATE TABLE tables5("
      "  id INTEGER PRIMARY KEY,"
      "  hash BLOB NOT NULL UNIQUE,"
      "  database TEXT NOT NULL,"
      "  schema TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  table_type TEXT NOT NULL,"
      "  row_estimate INTEGER,"
      "  size_bytes INTEGER,"
      "  comment TEXT,"
      "  last_modified_us INTEGER,"
      "  signature INTEGER NOT NULL DEFAULT 0,"
      "  column_set INTEGER NOT NULL REFERENCES column_sets(id));"
      "INSERT INTO tables5 SELECT id, randomblob(16), database, schema, name, table_type,"
      "  row_estimate, size_bytes, comment, last_modified_us, signature, id FROM tables;"
      "CREATE INDEX tables_by_column_set ON tables5(column_set);"
      "CREATE INDEX tables_by_name ON tables5(name, schema, database);"
      "CREATE TABLE table_sets(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE);"
      "INSERT INTO table_sets(id, hash) SELECT row_number() OVER (ORDER BY scan_id, database),"
      "  randomblob(16) FROM (SELECT DISTINCT scan_id, database FROM tables);"
      /* A set's members in (schema, name) order: position is the table's rank, so that the
       * tables of a database are read in the order the exports list them. */
      "CREATE TABLE table_set_members("
      "  set_id INTEGER NOT NULL REFERENCES table_sets(id) ON DELETE CASCADE,"
      "  position INTEGER NOT NULL,"
      "  table_id INTEGER NOT NULL REFERENCES tables5(id),"
      "  PRIMARY KEY (set_id, position)) WITHOUT ROWID;"
      "CREATE INDEX table_set_members_by_table ON table_set_members(table_id, set_id);"
      "CREATE TABLE scan_databases("
      "  scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
      "  database TEXT NOT NULL,"
      "  table_set INTEGER NOT NULL REFERENCES table_sets(id),"
      "  scanned_at_us INTEGER NOT NULL,"
      "  PRIMARY KEY (scan_id, database)) WITHOUT ROWID;"
      "CREATE INDEX scan_databases_by_set ON scan_databases(table_set);"
      "INSERT INTO scan_databases SELECT scan_id, database,"
      "  row_number() OVER (ORDER BY scan_id, database), max(scanned_at_us) FROM tables"
      "  GROUP BY scan_id, database;"
      "INSERT INTO table_set_members SELECT d.table_set,"
      "  row_number() OVER (PARTITION BY d.table_set ORDER BY t.schema, t.name, t.id), t.id"
      "  FROM tables t JOIN scan_databases d ON d.scan_id = t.scan_id AND d.database = t.database;"
      "DROP TABLE foreign_keys;"
      "DROP TABLE columns;"
      "DROP TABLE tables;"
      "ALTER TABLE tables5 RENAME TO tables;"
      "ALTER TABLE columns5 RENAME TO columns;"
      "ALTER TABLE foreign_keys5 RENAME TO foreign_keys;"
      /* The tables of every scan, as the catalog's queries read them. */
      "CREATE VIEW scan_tables AS SELECT d.scan_id AS scan_id, t.id AS id, t.database AS database,"
      "  t.schema AS schema, t.name AS name, t.table_type AS table_type,"
      "  t.row_estimate AS row_estimate, t.size_bytes AS size_bytes, t.comment AS comment,"
      "  t.last_modified_us AS last_modified_us, d.scanned_at_us AS scanned_at_us,"
      "  t.signature AS signature, t.column_set AS column_set"
      "  FROM scan_databases d JOIN table_set_members m ON m.set_id = d.table_set"
      "  JOIN tables t ON t.id = m.table_id;"}},
    /* 6: the last run of each schedule `dscat serve` runs (targets.toml's refresh_every) */
    {{"CREATE TABLE schedule_runs("
      "  kind TEXT NOT NULL CHECK (kind IN ('schema', 'data')),"
      "  target TEXT NOT NULL,"
      "  schema TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  started_us INTEGER,"
      "  finished_us INTEGER,"
      "  result TEXT CHECK (result IS NULL OR result IN ('ok', 'failed')),"
      "  error TEXT,"
      "  failures INTEGER NOT NULL DEFAULT 0,"
      "  claimed_us INTEGER," /* a run under way, by whichever process claimed it */
      "  PRIMARY KEY (kind, target, schema, name));"}},
    /* 7: append refreshes of the data cache. A version is made of `files` Parquet files; the
     * layout of its columns as written, the key of append refreshes and its greatest value
     * (lossless text), and when its first file was written by a full refresh. */
    {{"ALTER TABLE table_cache ADD COLUMN files INTEGER NOT NULL DEFAULT 1;"
      "ALTER TABLE table_cache ADD COLUMN layout TEXT;"
      "ALTER TABLE table_cache ADD COLUMN append_key TEXT;"
      "ALTER TABLE table_cache ADD COLUMN append_max TEXT;"
      "ALTER TABLE table_cache ADD COLUMN full_us INTEGER;"
      "UPDATE table_cache SET full_us = last_sync_us;"}},
    /* 8: a pending deletion being carried out is claimed by one process (its machine's boot id
     * and pid, and when), so that processes sharing the store never delete a version twice. */
    {{"ALTER TABLE pending_deletions ADD COLUMN claimed_by TEXT;"
      "ALTER TABLE pending_deletions ADD COLUMN claimed_us INTEGER;"}},
    /* 9: a schedule run's claim names its process (its machine and pid: one found gone on the
     * same machine is taken over at once) and when it last renewed the claim (one not renewed
     * within the lease is taken over from another machine). */
    {{"ALTER TABLE schedule_runs ADD COLUMN claimed_by TEXT;"
      "ALTER TABLE schedule_runs ADD COLUMN renewed_us INTEGER;"}},
};

/*
 * For a reader of a store before migration 5: today's tables as views over that store's rows, in
 * which each scan's database is a set of tables of its own, named by scan and database.
 */
#define COMPAT_VIEWS(generated)                                                                    \
    "CREATE TEMP VIEW tables AS SELECT id, NULL AS hash, database, schema, name, table_type,"      \
    "  row_estimate, size_bytes, comment, last_modified_us, signature, id AS column_set"           \
    "  FROM main.tables;"                                                                          \
    "CREATE TEMP VIEW scan_databases AS SELECT scan_id, database,"                                 \
    "  scan_id || char(0) || database AS table_set, max(scanned_at_us) AS scanned_at_us"           \
    "  FROM main.tables GROUP BY scan_id, database;"                                               \
    "CREATE TEMP VIEW table_set_members AS SELECT scan_id || char(0) || database AS set_id,"       \
    "  id AS position,"                                                                            \
    "  id AS table_id FROM main.tables;"                                                           \
    "CREATE TEMP VIEW scan_tables AS SELECT scan_id, id, database, schema, name, table_type,"      \
    "  row_estimate, size_bytes, comment, last_modified_us, scanned_at_us, signature,"             \
    "  id AS column_set FROM main.tables;"                                                         \
    "CREATE TEMP VIEW columns AS SELECT table_id AS set_id, ordinal, name, data_type,"             \
    "  column_type, is_nullable, is_primary_key, is_foreign_key, fk_references, max_length,"       \
    "  numeric_precision, numeric_scale, column_default, column_comment, null_count,"              \
    "  distinct_count, profiled_rows, " generated " FROM main.columns;"                            \
    "CREATE TEMP VIEW foreign_keys AS SELECT table_id AS set_id, rowid AS position, column_name,"  \
    "  ref_schema, ref_table, ref_column FROM main.foreign_keys;"

/* PRAGMA application_id of a dscat store ("dsct"): another program's SQLite file is not ours. */
#define DSCAT_APPLICATION_ID 0x64736374

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int store_error(sqlite_store *st, dscat_error *err, const char *what)
{
    return dscat_error_set(err, DSCAT_EIO, "catalog store %s: %s: %s", st->path, what,
                           sqlite3_errmsg(st->db));
}

static int exec(sqlite_store *st, const char *sql, dscat_error *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_error(st, err, "query failed");
    return 0;
}

static int prepare(sqlite_store *st, sqlite3_stmt **out, const char *sql, dscat_error *err)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
        return store_error(st, err, "cannot prepare a query");
    /* No statement in the text: the text of a failed dscat_buf is "", never to run as a no-op. */
    if (*out == NULL)
        return dscat_error_set(err, DSCAT_EINVALID, "cannot prepare a query: no statement");
    return 0;
}

static int user_version(sqlite_store *st, int *version, dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return store_error(st, err, "cannot read its version");
    }
    *version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return 0;
}

/* Applies the migrations after `version`, each in its own transaction. */
static int migrate(sqlite_store *st, int version, dscat_error *err)
{
    for (int v = version; v < NMIGRATIONS; v++) {
        char set[64];
        snprintf(set, sizeof(set), "PRAGMA user_version = %d", v + 1);
        int rc = exec(st, "BEGIN IMMEDIATE", err);
        if (rc == 0)
            for (int p = 0; p < 3 && rc == 0 && migrations[v].pieces[p]; p++)
                rc = exec(st, migrations[v].pieces[p], err);
        if (rc == 0)
            rc = exec(st, set, err);
        if (rc == 0)
            rc = exec(st, "COMMIT", err);
        if (rc) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return 0;
}

/* The key of content addresses (migration 5), 32 hex digits in catalog_meta. */
static int read_content_key(sqlite_store *st, dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = prepare(st, &s, "SELECT value FROM catalog_meta WHERE key = 'content_key'", err);
    if (rc)
        return rc;
    const char *hex =
        sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    bool ok = dscat_content_key_parse(hex, st->content_key);
    sqlite3_finalize(s);
    st->has_content_key = ok;
    return ok ? 0
              : dscat_error_set(err, DSCAT_EINVALID,
                                "catalog store %s: its content key is missing or malformed",
                                st->path);
}

/*
 * A store is ours when it carries dscat's application id, or (written before the id existed)
 * has a store version and no other id; a new file has neither and no tables.
 */
static int check_ours(sqlite_store *st, int version, dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    int app = 0, tables = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA application_id", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        app = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (version == 0 &&
        sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_schema", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        tables = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    st->application_id = app;
    if ((app != 0 && app != DSCAT_APPLICATION_ID) || (version == 0 && tables > 0))
        return dscat_error_set(err, DSCAT_EINVALID,
                               "%s is another program's SQLite database, not a dscat catalog "
                               "store; it is left untouched",
                               st->path);
    return 0;
}

static int64_t sq_generation(dscat_store *base)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int64_t g = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(id), 0) FROM scans", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        g = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return g;
}

static int64_t sq_exports_generation(dscat_store *base)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int64_t g = -1;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT CAST(value AS INTEGER) FROM catalog_meta "
                           "WHERE key = 'exports_generation'",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        g = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return g;
}

static int sq_set_exports_generation(dscat_store *base, int64_t generation, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(st, &s,
                     "INSERT INTO catalog_meta(key, value) VALUES "
                     "('exports_generation', ?1) ON CONFLICT(key) DO UPDATE SET "
                     "value = excluded.value",
                     err);
    if (rc)
        return rc;
    sqlite3_bind_int64(s, 1, generation);
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_error(st, err, "query failed");
    sqlite3_finalize(s);
    return rc;
}

static int sq_catalog_id(dscat_store *base, char *out, size_t size)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM catalog_meta WHERE key = 'catalog_id'", -1,
                           &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out[0] ? 0 : DSCAT_ENOTFOUND;
}

/* The WAL size (in pages) from which a commit starts a checkpoint: SQLite's default. */
#define CHECKPOINT_PAGES 1000

/* Copies the WAL's frames into the database through a connection of its own; never waits. */
static void *checkpoint_thread(void *arg)
{
    sqlite_store *st = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(st->path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) == SQLITE_OK)
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    sqlite3_close(db);
    st->checkpointed = true;
    return NULL;
}

/*
 * A writer's WAL hook, in place of SQLite's automatic checkpoint: once a commit leaves the WAL at
 * CHECKPOINT_PAGES or more, the checkpoint runs on a thread (one at a time) instead of inside
 * COMMIT, so that a large write (a first refresh: its whole store) is not copied a second time
 * before the writer can go on; its exports read meanwhile. A finished thread is joined by the next
 * commit that needs one (a commit while one runs leaves the WAL to it and to later commits), the
 * last at close, and the last connection to close checkpoints what is left, as before. Without a
 * thread, the checkpoint runs here, as SQLite's own would.
 */
static int wal_committed(void *arg, sqlite3 *db, const char *name, int pages)
{
    sqlite_store *st = arg;
    if (pages < CHECKPOINT_PAGES || (st->checkpointing && !st->checkpointed))
        return SQLITE_OK;
    if (st->checkpointing)
        pthread_join(st->checkpointer, NULL);
    st->checkpointed = false;
    st->checkpointing = pthread_create(&st->checkpointer, NULL, checkpoint_thread, st) == 0;
    if (!st->checkpointing)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void sq_close(dscat_store *base)
{
    sqlite_store *st = S(base);
    if (st->checkpointing)
        pthread_join(st->checkpointer, NULL);
    sqlite3_close(st->db);
    dscat_free(st->path);
    dscat_free(st);
}

static int sq_open(dscat_store **out, const char *catalog_dir, const dscat_store_location *loc,
                   dscat_store_mode mode, dscat_error *err)
{
    (void)loc; /* <catalog_dir>/catalog.db */
    *out = NULL;
    int rc = 0;
    sqlite_store *st = dscat_calloc(1, sizeof(*st));
    dscat_buf path = DSCAT_BUF_INIT;
    if (st == NULL || dscat_buf_printf(&path, "%s/catalog.db", catalog_dir)) {
        dscat_free(st);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    dscat_store__init(&st->base, &dscat_store__sqlite_table);
    st->path = dscat_buf_detach(&path);
    struct stat sb;
    bool exists = lstat(st->path, &sb) == 0;
    if (!exists && mode == DSCAT_STORE_READ) {
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "no catalog store at %s", st->path);
        goto fail;
    }
    if (exists && S_ISLNK(sb.st_mode)) {
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "catalog store %s is a symlink; it is never followed (move the "
                             "file itself there)",
                             st->path);
        goto fail;
    }
    if (exists && (!S_ISREG(sb.st_mode) || sb.st_size == 0)) {
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "catalog store %s is %s; restore it from a snapshot, or remove it "
                             "to start a new catalog",
                             st->path, S_ISREG(sb.st_mode) ? "empty (0 bytes)" : "not a file");
        goto fail;
    }
    /* A writer needs the directory (WAL's -wal and -shm files) and the file: said as such,
     * rather than as the failure of the first statement SQLite cannot write. */
    if (mode != DSCAT_STORE_READ &&
        (access(catalog_dir, W_OK) != 0 || (exists && access(st->path, W_OK) != 0))) {
        rc = dscat_error_set(err, DSCAT_EPERM,
                             "catalog store %s cannot be written by this user (%s): this command "
                             "writes the catalog, whose directory and catalog.db must be writable",
                             st->path, strerror(errno));
        goto fail;
    }
    int flags = (mode == DSCAT_STORE_READ ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    /* A reader in a directory it cannot write to (where WAL cannot make its -shm file) reads
     * the file as immutable. */
    bool immutable = mode == DSCAT_STORE_READ && access(catalog_dir, W_OK) != 0;
    if (immutable) {
        /* the path percent-encoded: '?', '#' and '%' in a directory name stay in the path */
        dscat_buf u = DSCAT_BUF_INIT;
        dscat_buf_puts(&u, "file:");
        for (const unsigned char *p = (const unsigned char *)st->path; *p; p++) {
            if (*p == '?' || *p == '#' || *p == '%' || *p < 0x21 || *p >= 0x7f)
                dscat_buf_printf(&u, "%%%02X", *p);
            else
                dscat_buf_putc(&u, (char)*p);
        }
        dscat_buf_puts(&u, "?immutable=1");
        char *uri = dscat_buf_error(&u) ? NULL : sqlite3_mprintf("%s", dscat_buf_cstr(&u));
        dscat_buf_free(&u);
        flags |= SQLITE_OPEN_URI;
        rc = uri ? sqlite3_open_v2(uri, &st->db, flags, NULL) : SQLITE_NOMEM;
        sqlite3_free(uri);
    } else {
        rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
    }
    if (rc != SQLITE_OK) {
        rc = st->db ? store_error(st, err, "cannot open")
                    : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 10000);
    int version = 0;
    if ((rc = user_version(st, &version, err)) || (rc = check_ours(st, version, err)))
        goto fail;
    if (version > NMIGRATIONS) {
        rc = dscat_error_set(err, DSCAT_EVERSION,
                             "catalog store %s was written by a newer dscat (store version %d, "
                             "this dscat knows up to %d); upgrade dscat",
                             st->path, version, NMIGRATIONS);
        goto fail;
    }
    if (mode == DSCAT_STORE_READ) {
        /* An older store can still be read (every version keeps the catalog's tables); only a
         * writer migrates it. */
        if (version == 0) {
            rc =
                dscat_error_set(err, DSCAT_ENOTFOUND,
                                "catalog store %s is not initialised: run dscat refresh", st->path);
            goto fail;
        }
        /* Before migration 5, each scan had rows of its own: readers see them through views
         * of today's names, which SQLite finds before the stored tables (and before migration
         * 3, every column was an ordinary one). */
        if (version < 5 &&
            (rc = exec(st,
                       version < 3 ? COMPAT_VIEWS("NULL AS generated, 0 AS is_hidden")
                                   : COMPAT_VIEWS("generated, is_hidden"),
                       err)))
            goto fail;
    } else {
        if ((rc = exec(st, "PRAGMA journal_mode = WAL", err)) ||
            (rc = exec(st, "PRAGMA synchronous = NORMAL", err)) || (rc = migrate(st, version, err)))
            goto fail;
        char set[64];
        snprintf(set, sizeof(set), "PRAGMA application_id = %d", DSCAT_APPLICATION_ID);
        if (st->application_id != DSCAT_APPLICATION_ID && (rc = exec(st, set, err)))
            goto fail; /* written once: an unchanged store stays byte for byte the same */
        if ((rc = read_content_key(st, err)))
            goto fail;
        chmod(st->path, 0600);
        sqlite3_wal_hook(st->db, wal_committed, st);
    }
    if ((rc = exec(st, "PRAGMA foreign_keys = ON", err)))
        goto fail;
    *out = &st->base;
    return 0;
fail:
    sq_close(&st->base);
    return rc;
}

static int sq_check_version(const char *catalog_dir, const dscat_store_location *loc,
                            dscat_error *err)
{
    (void)loc;
    dscat_buf path = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&path, "%s/catalog.db", catalog_dir))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    unsigned char header[100];
    int rc = 0;
    FILE *f = fopen(dscat_buf_cstr(&path), "rb");
    if (f == NULL)
        goto done; /* no store yet: a refresh will create it */
    size_t n = fread(header, 1, sizeof(header), f);
    fclose(f);
    if (n == 0)
        goto done; /* an empty file is what SQLite creates before the first write */
    if (n < sizeof(header) || memcmp(header, "SQLite format 3", 16) != 0) {
        rc = dscat_error_set(err, DSCAT_EINVALID, "catalog store %s is not a SQLite database",
                             dscat_buf_cstr(&path));
        goto done;
    }
    /* PRAGMA user_version lives at offset 60, a big-endian 32-bit integer. */
    int version = (int)(((unsigned)header[60] << 24) | ((unsigned)header[61] << 16) |
                        ((unsigned)header[62] << 8) | header[63]);
    if (version > NMIGRATIONS)
        rc = dscat_error_set(err, DSCAT_EVERSION,
                             "catalog store %s was written by a newer dscat (store version %d, "
                             "this dscat knows up to %d); upgrade dscat",
                             dscat_buf_cstr(&path), version, NMIGRATIONS);
done:
    dscat_buf_free(&path);
    return rc;
}

static void sq_describe(dscat_store *base, dscat_store_info *info)
{
    sqlite_store *st = S(base);
    int version = 0;
    user_version(st, &version, NULL);
    snprintf(info->location, sizeof(info->location), "%s", st->path);
    info->version = version;
    info->known = NMIGRATIONS;
}

/* SQLite serves the store and the SQLite source engine; every connection belongs to one thread
 * at a time (SQLITE_OPEN_NOMUTEX), but several threads open their own. */
static int sq_global_init(dscat_error *err)
{
    if (sqlite3_initialize() != SQLITE_OK)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise SQLite");
    if (!sqlite3_threadsafe())
        return dscat_error_set(err, DSCAT_EINVALID, "SQLite was built without thread support");
    return 0;
}

static void sq_global_shutdown(void)
{
    sqlite3_shutdown();
}

static int sq_exec(dscat_store *base, const char *sql, dscat_error *err)
{
    return exec(S(base), sql, err);
}

static int sq_error(dscat_store *base, dscat_error *err, const char *what)
{
    return store_error(S(base), err, what);
}

/* The write lock is taken at BEGIN, not at the first write, so that a writer never fails to
 * upgrade a read lock it already holds (SQLITE_BUSY without waiting). */
static int sq_begin(dscat_store *base, dscat_error *err)
{
    return exec(S(base), "BEGIN IMMEDIATE", err);
}

static int sq_commit(dscat_store *base, dscat_error *err)
{
    return exec(S(base), "COMMIT", err);
}

static void sq_rollback(dscat_store *base)
{
    sqlite3_exec(S(base)->db, "ROLLBACK", NULL, NULL, NULL);
}

static bool sq_in_transaction(dscat_store *base)
{
    return sqlite3_get_autocommit(S(base)->db) == 0;
}

static int sq_snapshot_begin(dscat_store *base, dscat_error *err)
{
    sqlite_store *st = S(base);
    /* BEGIN alone defers the snapshot to the first read; reading the schema cookie takes it
     * now, so that the transaction's reads all date from its start. */
    if (exec(st, "BEGIN", err) || exec(st, "PRAGMA schema_version", err)) {
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return DSCAT_EIO;
    }
    return 0;
}

static void sq_snapshot_end(dscat_store *base)
{
    sqlite_store *st = S(base);
    /* A read-only transaction has nothing to commit; ROLLBACK is its fallback all the same. */
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK &&
        !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_fingerprint(dscat_store *base, char *out, size_t size, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(
        st, &s,
        "SELECT coalesce((SELECT group_concat(key || '=' || coalesce(current_scan_id, ''), ';') "
        "FROM (SELECT key, current_scan_id FROM targets ORDER BY key)), '') || '/' || "
        "coalesce((SELECT max(id) FROM scans), 0)",
        err);
    if (rc)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(s, 0));
    else
        rc = store_error(st, err, "cannot read the current scans");
    sqlite3_finalize(s);
    return rc;
}

static void bind_opt_int(sqlite3_stmt *s, int i, int64_t v)
{
    if (v == DSCAT_NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, v);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* Runs a prepared insert whose every parameter is bound, and resets it (its bindings kept). */
static int step_bound(sqlite_store *st, sqlite3_stmt *s, dscat_error *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_error(st, err, "insert failed");
}

/* Runs a prepared insert once, resets it and clears its bindings. */
static int step_reset(sqlite_store *st, sqlite3_stmt *s, dscat_error *err)
{
    int rc = step_bound(st, s, err);
    sqlite3_clear_bindings(s);
    return rc;
}

static int sq_insert_scan(dscat_store *base, const dscat_scan_row *row, int64_t *scan_id,
                          dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(
        st, &s,
        "INSERT INTO scans(run_id, target, server, source_type, started_us, finished_us, status, "
        "depth, databases, tables, columns, queries, duration_ms, error) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        err);
    if (rc)
        return rc;
    const dscat_target_report *r = row->report;
    bind_text(s, 1, row->run_id);
    bind_text(s, 2, row->target->key);
    bind_text(s, 3, row->target->name);
    bind_text(s, 4, row->target->type);
    sqlite3_bind_int64(s, 5, row->started_us);
    sqlite3_bind_int64(s, 6, row->finished_us);
    bind_text(s, 7, dscat_scan_status_name(r->status));
    bind_text(s, 8, row->profile ? "profile" : "metadata");
    sqlite3_bind_int64(s, 9, r->databases);
    sqlite3_bind_int64(s, 10, r->tables);
    sqlite3_bind_int64(s, 11, r->columns);
    sqlite3_bind_int64(s, 12, r->queries);
    sqlite3_bind_int64(s, 13, r->duration_ms);
    bind_text(s, 14, r->status == DSCAT_SCAN_FAILED ? r->error.message : NULL);
    rc = step_reset(st, s, err);
    sqlite3_finalize(s);
    if (rc)
        return rc;
    *scan_id = sqlite3_last_insert_rowid(st->db);
    if ((rc = prepare(st, &s,
                      "INSERT INTO scan_problems(scan_id, database, schema, message) "
                      "VALUES (?1, ?2, ?3, ?4)",
                      err)))
        return rc;
    for (size_t i = 0; i < r->nproblems && rc == 0; i++) {
        sqlite3_bind_int64(s, 1, *scan_id);
        bind_text(s, 2, r->problems[i].database);
        bind_text(s, 3, r->problems[i].schema);
        bind_text(s, 4, r->problems[i].message);
        rc = step_reset(st, s, err);
    }
    sqlite3_finalize(s);
    return rc;
}

/* Looks up content by its hash: *id is its row id, or 0 when the store has none. */
static int find_hash(sqlite_store *st, sqlite3_stmt *s, const dscat_content_hash h, int64_t *id,
                     dscat_error *err)
{
    sqlite3_bind_blob(s, 1, h, sizeof(dscat_content_hash), SQLITE_STATIC);
    int r = sqlite3_step(s);
    *id = r == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_error(st, err, "lookup failed");
}

/* Inserts a row whose first parameter is a hash; *id receives its row id. */
static int insert_hash(sqlite_store *st, sqlite3_stmt *s, const dscat_content_hash h, int64_t *id,
                       dscat_error *err)
{
    sqlite3_bind_blob(s, 1, h, sizeof(dscat_content_hash), SQLITE_STATIC);
    int rc = step_reset(st, s, err);
    *id = rc == 0 ? sqlite3_last_insert_rowid(st->db) : 0;
    return rc;
}

enum {
    Q_FIND_SET,
    Q_NEW_SET,
    Q_MEMBER,
    Q_FIND_TABLE,
    Q_NEW_TABLE,
    Q_FIND_COLUMNS,
    Q_NEW_COLUMNS,
    Q_FK,
    Q_DATABASE,
    Q_COUNT
};

static const char *const insert_sql[Q_COUNT] = {
    [Q_FIND_SET] = "SELECT id FROM table_sets WHERE hash = ?1",
    [Q_NEW_SET] = "INSERT INTO table_sets(hash) VALUES (?1)",
    [Q_MEMBER] = "INSERT INTO table_set_members(set_id, position, table_id) VALUES (?1, ?2, ?3)",
    [Q_FIND_TABLE] = "SELECT id FROM tables WHERE hash = ?1",
    [Q_NEW_TABLE] = "INSERT INTO tables(hash, database, schema, name, table_type, row_estimate, "
                    "size_bytes, comment, last_modified_us, signature, column_set) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [Q_FIND_COLUMNS] = "SELECT id FROM column_sets WHERE hash = ?1",
    [Q_NEW_COLUMNS] = "INSERT INTO column_sets(hash) VALUES (?1)",
    [Q_FK] = "INSERT INTO foreign_keys(set_id, position, column_name, ref_schema, ref_table, "
             "ref_column) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_DATABASE] = "INSERT INTO scan_databases(scan_id, database, table_set, scanned_at_us) "
                   "VALUES (?1, ?2, ?3, ?4)",
};

/*
 * Column rows, the bulk of a first write (21 a table on average), go in COLUMN_BATCH at a time
 * through one multi-row INSERT: a statement's step, reset and opcodes of setup cost as much as a
 * row's own work. The rows wait in a column_batch (their column set's id and the column's index in
 * the scan) until the batch is full or the database is written; the rest go through the one-row
 * statement. Every parameter of a row is bound each time, so bindings need no clearing.
 */
#define COLUMN_BATCH 32
#define COLUMN_PARAMS 19
#define COLUMN_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define COLUMN_ROWS4 COLUMN_ROW "," COLUMN_ROW "," COLUMN_ROW "," COLUMN_ROW
#define COLUMN_ROWS16 COLUMN_ROWS4 "," COLUMN_ROWS4 "," COLUMN_ROWS4 "," COLUMN_ROWS4
/* COLUMN_BATCH rows of COLUMN_ROW in the statement of a full batch */
#define COLUMN_ROWS32 COLUMN_ROWS16 "," COLUMN_ROWS16
_Static_assert(COLUMN_BATCH == 32, "a full batch is COLUMN_ROWS32");
#define COLUMNS_INSERT                                                                             \
    "INSERT INTO columns(set_id, ordinal, name, data_type, column_type, is_nullable, "             \
    "is_primary_key, is_foreign_key, fk_references, max_length, numeric_precision, "               \
    "numeric_scale, column_default, column_comment, null_count, distinct_count, profiled_rows, "   \
    "generated, is_hidden) VALUES "

typedef struct column_batch {
    sqlite3_stmt *one, *many; /* one row; COLUMN_BATCH rows */
    size_t n;
    int64_t set[COLUMN_BATCH];
    size_t column[COLUMN_BATCH];
} column_batch;

/* Binds one column row from parameter first + 1 on. */
static void bind_column(sqlite3_stmt *s, int first, int64_t set, const dscat_column_info *col,
                        const char *fk_ref)
{
    sqlite3_bind_int64(s, first + 1, set);
    sqlite3_bind_int(s, first + 2, col->ordinal);
    bind_text(s, first + 3, col->name);
    bind_text(s, first + 4, col->data_type);
    bind_text(s, first + 5, col->column_type);
    sqlite3_bind_int(s, first + 6, col->nullable);
    sqlite3_bind_int(s, first + 7, col->is_pk);
    sqlite3_bind_int(s, first + 8, fk_ref != NULL);
    bind_text(s, first + 9, fk_ref ? fk_ref : "");
    bind_opt_int(s, first + 10, col->max_length);
    bind_opt_int(s, first + 11, col->precision);
    bind_opt_int(s, first + 12, col->scale);
    bind_text(s, first + 13, col->default_value);
    bind_text(s, first + 14, col->comment);
    bind_opt_int(s, first + 15, col->null_count);
    bind_opt_int(s, first + 16, col->distinct_count);
    bind_opt_int(s, first + 17, col->profiled_rows);
    bind_text(s, first + 18, col->generated);
    sqlite3_bind_int(s, first + 19, col->hidden);
}

/* Writes the waiting column rows: a full batch in one statement, fewer one by one. */
static int flush_columns(sqlite_store *st, column_batch *b, const dscat_db_scan *d,
                         const dscat_scan_content *c, dscat_error *err)
{
    int rc = 0;
    if (b->n == COLUMN_BATCH) {
        for (size_t k = 0; k < b->n; k++)
            bind_column(b->many, (int)k * COLUMN_PARAMS, b->set[k], &d->columns.items[b->column[k]],
                        c->order.fk_refs[b->column[k]]);
        rc = step_bound(st, b->many, err);
    } else {
        for (size_t k = 0; k < b->n && rc == 0; k++) {
            bind_column(b->one, 0, b->set[k], &d->columns.items[b->column[k]],
                        c->order.fk_refs[b->column[k]]);
            rc = step_bound(st, b->one, err);
        }
    }
    b->n = 0;
    return rc;
}

/* Writes a new column set: its row, its columns (through the batch) and its foreign keys. */
static int insert_column_set(sqlite_store *st, sqlite3_stmt **q, column_batch *b,
                             const dscat_db_scan *d, const dscat_scan_content *c, size_t t,
                             int64_t *id, dscat_error *err)
{
    int rc = insert_hash(st, q[Q_NEW_COLUMNS], c->column_sets[t], id, err);
    sqlite3_stmt *fs = q[Q_FK];
    for (size_t k = c->order.column_start[t]; k < c->order.column_start[t + 1] && rc == 0; k++) {
        b->set[b->n] = *id;
        b->column[b->n++] = c->order.column_order[k];
        if (b->n == COLUMN_BATCH)
            rc = flush_columns(st, b, d, c, err);
    }
    for (size_t k = c->order.fk_start[t]; k < c->order.fk_start[t + 1] && rc == 0; k++) {
        const dscat_fk_info *f = &d->fks.items[c->order.fk_order[k]];
        sqlite3_bind_int64(fs, 1, *id);
        sqlite3_bind_int64(fs, 2, (int64_t)(k - c->order.fk_start[t] + 1));
        bind_text(fs, 3, f->column);
        bind_text(fs, 4, f->ref_schema);
        bind_text(fs, 5, f->ref_table);
        bind_text(fs, 6, f->ref_column);
        rc = step_reset(st, fs, err);
    }
    return rc;
}

/* Finds or writes table t of the scan (and its column set); *id receives its row id. */
static int put_table(sqlite_store *st, sqlite3_stmt **q, column_batch *b, const dscat_db_scan *d,
                     const dscat_scan_content *c, size_t t, int64_t *id, dscat_error *err)
{
    int64_t set = 0;
    int rc = find_hash(st, q[Q_FIND_TABLE], c->tables[t], id, err);
    if (rc || *id)
        return rc;
    if ((rc = find_hash(st, q[Q_FIND_COLUMNS], c->column_sets[t], &set, err)) ||
        (set == 0 && (rc = insert_column_set(st, q, b, d, c, t, &set, err))))
        return rc;
    const dscat_table_info *ti = &d->tables.items[t];
    sqlite3_stmt *ts = q[Q_NEW_TABLE];
    bind_text(ts, 2, d->database);
    bind_text(ts, 3, ti->schema);
    bind_text(ts, 4, ti->name);
    bind_text(ts, 5, ti->type);
    bind_opt_int(ts, 6, ti->row_estimate);
    bind_opt_int(ts, 7, ti->size_bytes);
    bind_text(ts, 8, ti->comment);
    bind_opt_int(ts, 9, ti->last_modified_us);
    sqlite3_bind_int64(ts, 10, c->signatures[t]);
    sqlite3_bind_int64(ts, 11, set);
    return insert_hash(st, ts, c->tables[t], id, err);
}

/* The target a scan belongs to, into a caller's buffer. */
static int scan_target(sqlite_store *st, int64_t scan_id, char **target, dscat_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = prepare(st, &s, "SELECT target FROM scans WHERE id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(s, 1, scan_id);
    if (sqlite3_step(s) != SQLITE_ROW)
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "catalog store %s: no scan %lld", st->path,
                             (long long)scan_id);
    else if ((*target = dscat_strdup((const char *)sqlite3_column_text(s, 0))) == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    sqlite3_finalize(s);
    return rc;
}

/*
 * A database of a scan: its set of tables, found by its hash when an earlier scan had exactly
 * these tables (an unchanged database writes one row), else written with each table and column
 * set found or written the same way.
 */
static int sq_insert_database(dscat_store *base, int64_t scan_id, dscat_db_scan *d,
                              dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *q[Q_COUNT] = {NULL};
    column_batch b = {0};
    dscat_scan_content c = {0};
    char *target = NULL;
    int64_t set = 0;
    int rc;
    if (!st->has_content_key)
        return dscat_error_set(err, DSCAT_EINVALID, "catalog store %s has no content key",
                               st->path);
    if ((rc = scan_target(st, scan_id, &target, err)) ||
        (rc = dscat_scan_content_build(&c, d, target, st->content_key, err)))
        goto done;
    for (int i = 0; i < Q_COUNT && rc == 0; i++)
        rc = prepare(st, &q[i], insert_sql[i], err);
    if (rc || (rc = prepare(st, &b.one, COLUMNS_INSERT COLUMN_ROW, err)) ||
        (rc = prepare(st, &b.many, COLUMNS_INSERT COLUMN_ROWS32, err)) ||
        (rc = find_hash(st, q[Q_FIND_SET], c.table_set, &set, err)))
        goto done;
    if (set == 0) {
        rc = insert_hash(st, q[Q_NEW_SET], c.table_set, &set, err);
        for (size_t k = 0; k < c.order.ntables && rc == 0; k++) {
            int64_t id = 0;
            if ((rc = put_table(st, q, &b, d, &c, c.order.table_order[k], &id, err)))
                break;
            sqlite3_bind_int64(q[Q_MEMBER], 1, set);
            sqlite3_bind_int64(q[Q_MEMBER], 2, (int64_t)k + 1);
            sqlite3_bind_int64(q[Q_MEMBER], 3, id);
            rc = step_reset(st, q[Q_MEMBER], err);
        }
        if (rc == 0)
            rc = flush_columns(st, &b, d, &c, err);
    }
    if (rc == 0) {
        sqlite3_bind_int64(q[Q_DATABASE], 1, scan_id);
        bind_text(q[Q_DATABASE], 2, d->database);
        sqlite3_bind_int64(q[Q_DATABASE], 3, set);
        sqlite3_bind_int64(q[Q_DATABASE], 4, d->scanned_at_us);
        rc = step_reset(st, q[Q_DATABASE], err);
    }
done:
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(q[i]);
    sqlite3_finalize(b.one);
    sqlite3_finalize(b.many);
    dscat_scan_content_free(&c);
    dscat_free(target);
    return rc;
}

static int sq_set_current(dscat_store *base, const char *target, int64_t scan_id, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(st, &s,
                     "INSERT INTO targets(key, current_scan_id) VALUES (?1, ?2) "
                     "ON CONFLICT(key) DO UPDATE SET current_scan_id = excluded.current_scan_id",
                     err);
    if (rc)
        return rc;
    bind_text(s, 1, target);
    sqlite3_bind_int64(s, 2, scan_id);
    rc = step_reset(st, s, err);
    sqlite3_finalize(s);
    return rc;
}

static int sq_prune(dscat_store *base, const char *target, int keep, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc =
        prepare(st, &s,
                "DELETE FROM scans WHERE target = ?1 "
                "AND id NOT IN (SELECT id FROM scans WHERE target = ?1 ORDER BY id DESC LIMIT ?2) "
                "AND id IS NOT (SELECT current_scan_id FROM targets WHERE key = ?1)",
                err);
    if (rc)
        return rc;
    bind_text(s, 1, target);
    sqlite3_bind_int(s, 2, keep);
    rc = step_reset(st, s, err);
    sqlite3_finalize(s);
    /* Content no scan reaches any more goes with the scans: table sets no scan names, then
     * tables no set holds, then column sets no table names. */
    if (rc == 0 && sqlite3_changes(st->db) > 0)
        rc = exec(st,
                  "DELETE FROM table_sets WHERE id NOT IN (SELECT table_set FROM scan_databases);"
                  "DELETE FROM tables WHERE id NOT IN (SELECT table_id FROM table_set_members);"
                  "DELETE FROM column_sets WHERE id NOT IN (SELECT column_set FROM tables);",
                  err);
    return rc;
}

/* ANALYZE over a sample of each index (analysis_limit), a few milliseconds at any size. */
static int sq_analyze(dscat_store *base, dscat_error *err)
{
    return exec(S(base), "PRAGMA analysis_limit = 1000; ANALYZE", err);
}

/* Pending deletions: a path already scheduled keeps its first time. */
static int sq_schedule_deletion(dscat_store *base, const char *path, const char *delete_after,
                                dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(st, &s,
                     "INSERT INTO pending_deletions(path, delete_after, retry_count) "
                     "VALUES (?1, ?2, 0) ON CONFLICT(path) DO NOTHING",
                     err);
    if (rc)
        return rc;
    bind_text(s, 1, path);
    bind_text(s, 2, delete_after);
    rc = step_reset(st, s, err);
    sqlite3_finalize(s);
    return rc;
}

/*
 * The rows of table_cache that schema and table select, as the WHERE clause of the three
 * operations below: ?1 the connection, ?2 and ?3 the schema and the table. Two texts rather than
 * "?2 IS NULL OR ...", so that one table is found through the primary key.
 */
static const char *cached_match(const char *schema)
{
    return schema ? "connection_id = ?1 AND schema = ?2 AND name = ?3" : "connection_id = ?1";
}

/* Binds the match's parameters; the table counts only with its schema. */
static void bind_cached_match(sqlite3_stmt *s, const char *connection_id, const char *schema,
                              const char *table)
{
    bind_text(s, 1, connection_id);
    if (schema) {
        bind_text(s, 2, schema);
        bind_text(s, 3, table);
    }
}

/* Prepares head, the match and tail, one statement. */
static int prepare_cached(sqlite_store *st, sqlite3_stmt **out, const char *head,
                          const char *schema, const char *tail, dscat_error *err)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&sql, "%s%s%s", head, cached_match(schema), tail))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = prepare(st, out, dscat_buf_cstr(&sql), err);
    dscat_buf_free(&sql);
    return rc;
}

/* Runs a prepared write once and finalizes it; a failure is "query failed". */
static int step_finalize(sqlite_store *st, sqlite3_stmt *s, dscat_error *err)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_error(st, err, "query failed");
    sqlite3_finalize(s);
    return rc;
}

/* The paths of the matching cache rows join the pending deletions; one already there keeps its
 * time. */
static int sq_schedule_cached(dscat_store *base, const char *connection_id, const char *schema,
                              const char *table, const char *delete_after, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare_cached(st, &s,
                            "INSERT INTO pending_deletions(path, delete_after, retry_count) "
                            "SELECT path, ?4, 0 FROM table_cache WHERE ",
                            schema, " ON CONFLICT(path) DO NOTHING", err);
    if (rc)
        return rc;
    bind_cached_match(s, connection_id, schema, table);
    bind_text(s, 4, delete_after);
    return step_finalize(st, s, err);
}

static int sq_put_cached(dscat_store *base, const dscat_cache_row *row, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(
        st, &s,
        "INSERT INTO table_cache(connection_id, schema, name, version, path, rows, bytes, "
        "last_sync_us, fallbacks, files, layout, append_key, append_max, full_us) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT(connection_id, schema, name) DO UPDATE SET version = excluded.version, "
        "path = excluded.path, rows = excluded.rows, bytes = excluded.bytes, "
        "last_sync_us = excluded.last_sync_us, fallbacks = excluded.fallbacks, "
        "files = excluded.files, layout = excluded.layout, append_key = excluded.append_key, "
        "append_max = excluded.append_max, full_us = excluded.full_us",
        err);
    if (rc)
        return rc;
    bind_text(s, 1, row->connection_id);
    bind_text(s, 2, row->schema);
    bind_text(s, 3, row->table);
    bind_text(s, 4, row->version);
    bind_text(s, 5, row->path);
    sqlite3_bind_int64(s, 6, row->rows);
    sqlite3_bind_int64(s, 7, row->bytes);
    sqlite3_bind_int64(s, 8, row->last_sync_us);
    bind_text(s, 9, row->fallbacks);
    sqlite3_bind_int(s, 10, row->files > 0 ? row->files : 1);
    bind_text(s, 11, row->layout);
    bind_text(s, 12, row->append_key);
    bind_text(s, 13, row->append_max);
    sqlite3_bind_int64(s, 14, row->full_us);
    return step_finalize(st, s, err);
}

static int sq_delete_cached(dscat_store *base, const char *connection_id, const char *schema,
                            const char *table, size_t *deleted, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare_cached(st, &s, "DELETE FROM table_cache WHERE ", schema, "", err);
    if (rc)
        return rc;
    bind_cached_match(s, connection_id, schema, table);
    if ((rc = step_finalize(st, s, err)) == 0)
        *deleted = (size_t)sqlite3_changes(st->db);
    return rc;
}

/* A schedule's run replaces its previous one, while its process holds the claim (or the claim was
 * released and no other run was recorded since): a run taken over records nothing. */
static int sq_put_schedule_run(dscat_store *base, const dscat_schedule_record *r, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    int rc = prepare(st, &s,
                     "INSERT INTO schedule_runs(kind, target, schema, name, started_us, "
                     "finished_us, result, error, failures) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8, ?9) ON CONFLICT(kind, target, schema, name) DO UPDATE SET "
                     "started_us = excluded.started_us, finished_us = excluded.finished_us, "
                     "result = excluded.result, error = excluded.error, "
                     "failures = excluded.failures, claimed_us = NULL, claimed_by = NULL, "
                     "renewed_us = NULL "
                     "WHERE schedule_runs.claimed_by = ?10 OR (schedule_runs.claimed_by IS NULL "
                     "AND schedule_runs.finished_us IS ?11)",
                     err);
    if (rc)
        return rc;
    bind_text(s, 1, r->kind);
    bind_text(s, 2, r->target);
    bind_text(s, 3, r->schema ? r->schema : "");
    bind_text(s, 4, r->table ? r->table : "");
    sqlite3_bind_int64(s, 5, r->started_us);
    sqlite3_bind_int64(s, 6, r->finished_us);
    bind_text(s, 7, r->ok ? "ok" : "failed");
    bind_text(s, 8, r->ok ? NULL : r->error);
    sqlite3_bind_int(s, 9, r->failures);
    bind_text(s, 10, r->owner);
    bind_opt_int(s, 11, r->claimed_after_us);
    return step_finalize(st, s, err);
}

/*
 * Claims a schedule's next run for seen->owner, in one statement (SQLite runs one writer at a
 * time): only when no other process holds a claim renewed after stale_before_us (a claim of
 * seen->dead_owner, a process found gone, is taken whatever its age), and the last run is still
 * the one the caller saw (seen->finished_us, DSCAT_NULL for none). *claimed tells whether this
 * one got it.
 */
static int sq_claim_schedule_run(dscat_store *base, const dscat_schedule_record *seen,
                                 int64_t now_us, int64_t stale_before_us, bool *claimed,
                                 dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *s = NULL;
    *claimed = false;
    int rc = prepare(st, &s,
                     "INSERT INTO schedule_runs(kind, target, schema, name, claimed_us, "
                     "claimed_by, renewed_us) VALUES (?1, ?2, ?3, ?4, ?5, ?8, ?5) "
                     "ON CONFLICT(kind, target, schema, name) DO UPDATE SET "
                     "claimed_us = excluded.claimed_us, claimed_by = excluded.claimed_by, "
                     "renewed_us = excluded.renewed_us "
                     "WHERE (schedule_runs.claimed_us IS NULL OR "
                     "coalesce(schedule_runs.renewed_us, schedule_runs.claimed_us) < ?6 OR "
                     "schedule_runs.claimed_by = ?9) AND schedule_runs.finished_us IS ?7",
                     err);
    if (rc)
        return rc;
    bind_text(s, 1, seen->kind);
    bind_text(s, 2, seen->target);
    bind_text(s, 3, seen->schema ? seen->schema : "");
    bind_text(s, 4, seen->table ? seen->table : "");
    sqlite3_bind_int64(s, 5, now_us);
    sqlite3_bind_int64(s, 6, stale_before_us);
    bind_opt_int(s, 7, seen->finished_us);
    bind_text(s, 8, seen->owner);
    bind_text(s, 9, seen->dead_owner);
    if ((rc = step_finalize(st, s, err)) == 0)
        *claimed = sqlite3_changes(st->db) == 1;
    return rc;
}

/* A SQLite store lives on one machine: the data cache's lock files serve as table locks. */
static int sq_lock_table(dscat_store *base, const char *key, bool *waited, dscat_error *err)
{
    (void)base;
    (void)key;
    (void)err;
    *waited = false;
    return 0;
}

static void sq_unlock_table(dscat_store *base, const char *key)
{
    (void)base;
    (void)key;
}

static bool sq_table_locked(dscat_store *base, const char *key)
{
    (void)base;
    (void)key;
    return false;
}

/* Statements: a sqlite_stmt wraps the sqlite3_stmt; the calls map one to one. */
static int sq_prepare(dscat_stmt **out, dscat_store *base, const char *sql, dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite_stmt *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = prepare(st, &s->s, sql, err);
    if (rc) {
        dscat_free(s);
        return rc;
    }
    dscat_stmt__init(&s->base, base);
    *out = &s->base;
    return 0;
}

static void sq_bind_int64(dscat_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(T(s), i, v);
}

static void sq_bind_double(dscat_stmt *s, int i, double v)
{
    sqlite3_bind_double(T(s), i, v);
}

static void sq_bind_text(dscat_stmt *s, int i, const char *v, bool copy)
{
    if (v)
        sqlite3_bind_text(T(s), i, v, -1, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
    else
        sqlite3_bind_null(T(s), i);
}

static void sq_bind_null(dscat_stmt *s, int i)
{
    sqlite3_bind_null(T(s), i);
}

static int sq_step(dscat_stmt *s)
{
    switch (sqlite3_step(T(s))) {
    case SQLITE_ROW:
        return DSCAT_STMT_ROW;
    case SQLITE_DONE:
        return DSCAT_STMT_DONE;
    default:
        return DSCAT_EIO;
    }
}

static void sq_reset(dscat_stmt *s)
{
    sqlite3_reset(T(s));
    sqlite3_clear_bindings(T(s));
}

static bool sq_is_null(dscat_stmt *s, int i)
{
    return sqlite3_column_type(T(s), i) == SQLITE_NULL;
}

static int64_t sq_column_int64(dscat_stmt *s, int i)
{
    return sqlite3_column_int64(T(s), i);
}

static double sq_column_double(dscat_stmt *s, int i)
{
    return sqlite3_column_double(T(s), i);
}

static const char *sq_column_text(dscat_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(T(s), i);
}

static size_t sq_column_bytes(dscat_stmt *s, int i)
{
    return (size_t)sqlite3_column_bytes(T(s), i);
}

static void sq_finalize(dscat_stmt *s)
{
    sqlite3_finalize(T(s));
    dscat_free(s);
}

const dscat_store_table dscat_store__sqlite_table = {
    .version = DSCAT_STORE_TABLE_VERSION,
    .name = "sqlite",
    .known_version = NMIGRATIONS,
    .global_init = sq_global_init,
    .global_shutdown = sq_global_shutdown,
    .check_version = sq_check_version,
    .describe = sq_describe,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
    .exec = sq_exec,
    .error = sq_error,
    .generation = sq_generation,
    .exports_generation = sq_exports_generation,
    .set_exports_generation = sq_set_exports_generation,
    .catalog_id = sq_catalog_id,
    .fingerprint = sq_fingerprint,
    .insert_scan = sq_insert_scan,
    .insert_database = sq_insert_database,
    .set_current = sq_set_current,
    .prune = sq_prune,
    .analyze = sq_analyze,
    .put_schedule_run = sq_put_schedule_run,
    .claim_schedule_run = sq_claim_schedule_run,
    .schedule_deletion = sq_schedule_deletion,
    .schedule_cached = sq_schedule_cached,
    .put_cached = sq_put_cached,
    .delete_cached = sq_delete_cached,
    .shared_locks = false,
    .lock_table = sq_lock_table,
    .unlock_table = sq_unlock_table,
    .table_locked = sq_table_locked,
    .prepare = sq_prepare,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .reset = sq_reset,
    .is_null = sq_is_null,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_bytes = sq_column_bytes,
    .finalize = sq_finalize,
};
