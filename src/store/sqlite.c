/*
 * The store's SQLite engine: SQLite in WAL mode, schema versioned with PRAGMA user_version and
 * migrated at open. Its table, dscat_store__sqlite_table, is at the end of this file.
 *
 * Every scan of a target is kept (up to keep_scans) with its tables, columns and foreign keys;
 * targets.current_scan_id points at the latest successful one, which is what "the catalog" is.
 */
#include "store/store.h"

#include "core/model.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <assert.h>
#include <sqlite3.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sqlite_store {
    dscat_store base; /* first: a dscat_store * is a sqlite_store * */
    sqlite3 *db;
    char *path;
    int application_id; /* as found at open */
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

/* Migration N takes the store from version N-1 to N. Never edit one that has shipped. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE targets("
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
    "CREATE INDEX foreign_keys_by_table ON foreign_keys(table_id);",
    /* 2: the data cache */
    "CREATE TABLE table_cache("
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
    "  retry_count INTEGER NOT NULL DEFAULT 0);",
    /* 3: generated and hidden columns (rows written before it are ordinary columns) */
    "ALTER TABLE columns ADD COLUMN generated TEXT"
    "  CHECK (generated IS NULL OR generated IN ('STORED', 'VIRTUAL'));"
    "ALTER TABLE columns ADD COLUMN is_hidden INTEGER NOT NULL DEFAULT 0;",
    /* 4: the columns of a cached version written in a lossless fallback (JSON array); the
     * catalog's id, which marks the cache versions it writes */
    "ALTER TABLE table_cache ADD COLUMN fallbacks TEXT NOT NULL DEFAULT '[]';"
    "CREATE TABLE catalog_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO catalog_meta VALUES ('catalog_id', lower(hex(randomblob(16))));",
};

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
            rc = exec(st, migrations[v], err);
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

static void sq_close(dscat_store *base)
{
    sqlite_store *st = S(base);
    sqlite3_close(st->db);
    dscat_free(st->path);
    dscat_free(st);
}

static int sq_open(dscat_store **out, const char *catalog_dir, dscat_store_mode mode,
                   dscat_error *err)
{
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
        /* Before migration 3, every column was an ordinary one: readers see the columns it
         * added through a view of that name, which SQLite finds before the stored table. */
        if (version < 3 &&
            (rc = exec(st,
                       "CREATE TEMP VIEW columns AS SELECT *, NULL AS generated, 0 AS is_hidden "
                       "FROM main.columns",
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
        chmod(st->path, 0600);
    }
    if ((rc = exec(st, "PRAGMA foreign_keys = ON", err)))
        goto fail;
    *out = &st->base;
    return 0;
fail:
    sq_close(&st->base);
    return rc;
}

static int sq_check_version(const char *catalog_dir, dscat_error *err)
{
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

/* Runs a prepared insert once and resets it. */
static int step_reset(sqlite_store *st, sqlite3_stmt *s, dscat_error *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : store_error(st, err, "insert failed");
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

/*
 * fk_references for every column of a database scan: "ref_schema.ref_table.ref_column", several
 * joined by ", " in the order the driver reported them. Returns an array parallel to columns
 * (NULL entries = not a foreign key), allocated in the scan's arena.
 */
static const char **build_fk_refs(dscat_db_scan *d)
{
    const char **refs = dscat_arena_alloc(&d->arena, (d->columns.count + 1) * sizeof(char *));
    if (refs == NULL)
        return NULL;
    memset(refs, 0, (d->columns.count + 1) * sizeof(char *));
    for (size_t i = 0; i < d->fks.count; i++) {
        const dscat_fk_info *fk = &d->fks.items[i];
        long c = dscat_db_scan_find_column(d, fk->table, fk->column);
        if (c < 0)
            continue;
        dscat_buf b = DSCAT_BUF_INIT;
        if (refs[c])
            dscat_buf_printf(&b, "%s, ", refs[c]);
        dscat_buf_printf(&b, "%s.%s.%s", fk->ref_schema, fk->ref_table, fk->ref_column);
        refs[c] = dscat_buf_error(&b) ? NULL : dscat_arena_strdup(&d->arena, dscat_buf_cstr(&b));
        dscat_buf_free(&b);
        if (refs[c] == NULL)
            return NULL;
    }
    return refs;
}

/* Mixes a string (with its terminator, so that "ab","c" differs from "a","bc") into a hash. */
static uint64_t mix_str(uint64_t h, const char *s)
{
    const char *p = s ? s : "\x01null";
    do {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    } while (*p++);
    return h;
}

static uint64_t mix_int(uint64_t h, int64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint64_t)(v >> (i * 8)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

/*
 * A signature per table over everything a schema change can touch: its type and each column's
 * position, name, types, nullability, generation, hiddenness, default and keys. Two scans' tables
 * with equal signatures are unchanged, so change detection compares columns only where signatures
 * differ. Returns an array parallel to tables; caller frees.
 */
static int64_t *table_signatures(const dscat_db_scan *d, const char **refs)
{
    uint64_t *h = dscat_calloc(d->tables.count + 1, sizeof(*h));
    if (h == NULL)
        return NULL;
    for (size_t i = 0; i < d->tables.count; i++)
        h[i] = mix_str(1469598103934665603ULL, d->tables.items[i].type);
    for (size_t i = 0; i < d->columns.count; i++) {
        const dscat_column_info *c = &d->columns.items[i];
        uint64_t x = mix_int(1469598103934665603ULL, c->ordinal);
        x = mix_str(x, c->name);
        x = mix_str(x, c->data_type);
        x = mix_str(x, c->column_type);
        x = mix_str(x, c->default_value);
        /* The generation and hidden bits are 0 for ordinary columns, so that their tables keep
         * the signatures they had before these facts were recorded. */
        int gen = c->generated == NULL ? 0 : strcmp(c->generated, "STORED") == 0 ? 4 : 8;
        x = mix_int(x, (c->nullable ? 1 : 0) | (c->is_pk ? 2 : 0) | gen | (c->hidden ? 16 : 0));
        x = mix_str(x, refs[i] ? refs[i] : "");
        h[c->table] += x * 0x9E3779B97F4A7C15ULL; /* order-independent over columns */
    }
    return (int64_t *)h;
}

static int sq_insert_database(dscat_store *base, int64_t scan_id, dscat_db_scan *d,
                              dscat_error *err)
{
    sqlite_store *st = S(base);
    sqlite3_stmt *ts = NULL, *cs = NULL, *fs = NULL;
    int64_t *ids = NULL, *sigs = NULL;
    int rc;
    const char **refs = build_fk_refs(d);
    if (refs == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if ((rc = prepare(
             st, &ts,
             "INSERT INTO tables(scan_id, database, schema, name, table_type, row_estimate, "
             "size_bytes, comment, last_modified_us, scanned_at_us, signature) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
             err)) ||
        (rc = prepare(
             st, &cs,
             "INSERT INTO columns(table_id, ordinal, name, data_type, column_type, is_nullable, "
             "is_primary_key, is_foreign_key, fk_references, max_length, numeric_precision, "
             "numeric_scale, column_default, column_comment, null_count, distinct_count, "
             "profiled_rows, generated, is_hidden) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
             "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
             err)) ||
        (rc = prepare(st, &fs,
                      "INSERT INTO foreign_keys(table_id, column_name, ref_schema, "
                      "ref_table, ref_column) VALUES (?1, ?2, ?3, ?4, ?5)",
                      err)))
        goto done;
    ids = dscat_calloc(d->tables.count + 1, sizeof(*ids));
    sigs = table_signatures(d, refs);
    if (ids == NULL || sigs == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < d->tables.count && rc == 0; i++) {
        const dscat_table_info *t = &d->tables.items[i];
        if (t->excluded)
            continue;
        sqlite3_bind_int64(ts, 1, scan_id);
        bind_text(ts, 2, d->database);
        bind_text(ts, 3, t->schema);
        bind_text(ts, 4, t->name);
        bind_text(ts, 5, t->type);
        bind_opt_int(ts, 6, t->row_estimate);
        bind_opt_int(ts, 7, t->size_bytes);
        bind_text(ts, 8, t->comment);
        bind_opt_int(ts, 9, t->last_modified_us);
        sqlite3_bind_int64(ts, 10, d->scanned_at_us);
        sqlite3_bind_int64(ts, 11, sigs[i]);
        rc = step_reset(st, ts, err);
        ids[i] = sqlite3_last_insert_rowid(st->db);
    }
    for (size_t i = 0; i < d->columns.count && rc == 0; i++) {
        const dscat_column_info *c = &d->columns.items[i];
        if (ids[c->table] == 0)
            continue;
        sqlite3_bind_int64(cs, 1, ids[c->table]);
        sqlite3_bind_int(cs, 2, c->ordinal);
        bind_text(cs, 3, c->name);
        bind_text(cs, 4, c->data_type);
        bind_text(cs, 5, c->column_type);
        sqlite3_bind_int(cs, 6, c->nullable);
        sqlite3_bind_int(cs, 7, c->is_pk);
        sqlite3_bind_int(cs, 8, refs[i] != NULL);
        bind_text(cs, 9, refs[i] ? refs[i] : "");
        bind_opt_int(cs, 10, c->max_length);
        bind_opt_int(cs, 11, c->precision);
        bind_opt_int(cs, 12, c->scale);
        bind_text(cs, 13, c->default_value);
        bind_text(cs, 14, c->comment);
        bind_opt_int(cs, 15, c->null_count);
        bind_opt_int(cs, 16, c->distinct_count);
        bind_opt_int(cs, 17, c->profiled_rows);
        bind_text(cs, 18, c->generated);
        sqlite3_bind_int(cs, 19, c->hidden);
        rc = step_reset(st, cs, err);
    }
    for (size_t i = 0; i < d->fks.count && rc == 0; i++) {
        const dscat_fk_info *f = &d->fks.items[i];
        if (ids[f->table] == 0)
            continue;
        sqlite3_bind_int64(fs, 1, ids[f->table]);
        bind_text(fs, 2, f->column);
        bind_text(fs, 3, f->ref_schema);
        bind_text(fs, 4, f->ref_table);
        bind_text(fs, 5, f->ref_column);
        rc = step_reset(st, fs, err);
    }
done:
    dscat_free(ids);
    dscat_free(sigs);
    sqlite3_finalize(ts);
    sqlite3_finalize(cs);
    sqlite3_finalize(fs);
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
    return rc;
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
        "last_sync_us, fallbacks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT(connection_id, schema, name) DO UPDATE SET version = excluded.version, "
        "path = excluded.path, rows = excluded.rows, bytes = excluded.bytes, "
        "last_sync_us = excluded.last_sync_us, fallbacks = excluded.fallbacks",
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
    .global_init = sq_global_init,
    .global_shutdown = sq_global_shutdown,
    .check_version = sq_check_version,
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
    .schedule_deletion = sq_schedule_deletion,
    .schedule_cached = sq_schedule_cached,
    .put_cached = sq_put_cached,
    .delete_cached = sq_delete_cached,
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
