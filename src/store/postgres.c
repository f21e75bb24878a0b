/*
 * The store's PostgreSQL engine: the catalog store shared by several dscat processes, on any
 * number of machines. Chosen by the `store_url_env` setting (store.c); its table,
 * dscat_store__postgres_table, is at the end of this file.
 *
 * The tables are those of the SQLite engine at store version 8 (sqlite.c's migrations), in one
 * schema of the database the URI names (`store_schema`, default "dscat"), with PostgreSQL's
 * types: BIGINT for SQLite's INTEGER, BYTEA for BLOB, and every text column in the "C"
 * collation, so that ORDER BY sorts bytes as SQLite's BINARY does. Row ids a reader orders by
 * (scan_problems.rowid) are columns of that name.
 *
 * - Version: catalog_meta's 'store_version'; a newer one is refused, an older one migrated by a
 *   writer under an advisory lock of the schema (so that two processes never migrate at once);
 *   an up-to-date store is opened without creating anything.
 * - Write transactions take a transaction-level advisory lock of the store at BEGIN: one writer
 *   at a time, as SQLite's BEGIN IMMEDIATE. Read snapshots are REPEATABLE READ transactions,
 *   their snapshot taken at once.
 * - No lock is waited for without a bound (session_settings(): lock_timeout, a minute; a data
 *   cache table's lock, ten minutes); a wait that reaches it fails with a message naming what
 *   was waited for.
 * - Statements translate `?N` and `?` to `$N` and run with PQexecParams in text format when
 *   first stepped: a query inside a transaction through a cursor, read in batches (bounded
 *   memory), anything else with its whole result.
 * - The content-addressed catalog (content.h) is written set-based: the known hashes in one
 *   query per kind, the new rows with COPY.
 * - The data cache's table locks are session advisory locks (dscat_store__lock_table()).
 * - Each catalog directory keeps its exports generation under an id of its own
 *   (<catalog>/.store-dir-id), since each writes its own exports.
 * - Messages name the store as a URI without credentials; a connection error never shows the
 *   password.
 */
#include "store/store.h"

#include "store/content.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/model.h"
#include "core/strmap.h"
#include "core/testhooks.h"
#include "core/timeutil.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The store version this engine creates and knows (that of sqlite.c's last migration). */
#define PG_STORE_VERSION 8

/* The first key of the store's two-key advisory locks ("dsct"): with the schema's oid, its write
 * lock; with a hash of its name, its migration lock. (Table locks take one bigint key.) */
#define PG_LOCK_CLASS 0x64736374

/* Type oids of bound parameters (pg_type.h). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

typedef struct pg_store {
    dscat_store base; /* first: a dscat_store * is a pg_store * */
    PGconn *conn;
    char *name;   /* "postgresql://<host>:<port>/<db> (schema <schema>)", for messages */
    char *schema; /* the schema holding the tables */
    char *exports_key;
    unsigned schema_oid;
    uint8_t content_key[16];
    bool has_content_key;
    int64_t changes;  /* rows the last write statement changed */
    long cursors;     /* cursors declared on the connection, for their names */
    long txn;         /* changes whenever a transaction may have begun or ended */
    dscat_buf closes; /* "CLOSE dscat_cN; " for cursors done with in transaction close_txn */
    long close_txn;
    char *url;          /* the location's URI (credentials included): the pool's key */
    long session_locks; /* session advisory locks taken and not known released */
    char state[6];      /* the SQLSTATE of the last failed statement, or "" */
} pg_store;

typedef struct pg_stmt {
    dscat_stmt base; /* first: a dscat_stmt * is a pg_stmt * */
    char *sql;       /* with $N placeholders */
    int nparams;
    char **values; /* owned copies, or borrowed texts (owned[i] false) */
    bool *owned;
    unsigned *types;
    PGresult *res; /* the whole result, or the cursor's current batch */
    int row, nrows;
    bool ran;
    bool query;  /* a SELECT or WITH: read through a cursor inside a transaction */
    long cursor; /* its cursor's number once declared, else 0 */
    bool more;   /* the cursor may hold more rows */
    bool failed; /* its run failed: every step says so until a reset */
} pg_stmt;

/*
 * The bounds of the store's lock waits, in seconds (docs/deploy.md): the write lock, the
 * migration lock and any lock a statement waits for (the session's lock_timeout), and a data
 * cache table's lock, held by another process while it refreshes that table. The test build's
 * DSCAT_TEST_STORE_LOCK_WAIT sets both.
 */
#define LOCK_WAIT_S 60
#define TABLE_LOCK_WAIT_S 600

static int lock_wait_s(int bound)
{
    return (int)dscat_test__store_lock_wait_s(bound);
}

/* Rows a cursor fetches at a time: a reader's memory stays bounded whatever the store holds. */
#define FETCH_ROWS 4096

static pg_store *P(dscat_store *st)
{
    assert(st->table == &dscat_store__postgres_table);
    return (pg_store *)st;
}

static pg_stmt *Q(dscat_stmt *s)
{
    return (pg_stmt *)s;
}

/* The first line of the connection's last message. */
static void last_message(PGconn *conn, char *out, size_t size)
{
    const char *m = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n = strcspn(m, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, m, n);
    out[n] = '\0';
    if (out[0] == '\0')
        snprintf(out, size, "no message");
}

/* SQLSTATE 55P03, lock_not_available: a lock wait reached lock_timeout. */
static bool lock_timed_out(const pg_store *st)
{
    return strcmp(st->state, "55P03") == 0;
}

/*
 * Keeps the SQLSTATE of a failed statement's result r (NULL: none) for store_error(). A statement
 * refused because an earlier one aborted the transaction (25P02) keeps that one's: a lock wait
 * that ended a read transaction is named by whichever of its statements reports the failure.
 */
static void note_failure(pg_store *st, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "25P02") == 0 && st->state[0])
        return;
    snprintf(st->state, sizeof(st->state), "%s", state ? state : "");
}

static int store_error(pg_store *st, dscat_error *err, const char *what)
{
    char m[512];
    last_message(st->conn, m, sizeof(m));
    if (lock_timed_out(st))
        return dscat_error_set(err, DSCAT_ECONFLICT,
                               "catalog store %s is locked by another session (waited %d s): %s",
                               st->name, lock_wait_s(LOCK_WAIT_S), what);
    return dscat_error_set(err, DSCAT_EIO, "catalog store %s: %s: %s", st->name, what, m);
}

/* Runs SQL without parameters; a result with rows or none is success. */
static int exec(pg_store *st, const char *sql, dscat_error *err)
{
    st->txn++; /* the SQL may begin or end a transaction */
    PGresult *r = PQexec(st->conn, sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : 1;
    if (rc == 0 && s == PGRES_COMMAND_OK) {
        const char *n = PQcmdTuples(r);
        st->changes = n && *n ? strtoll(n, NULL, 10) : 0;
    }
    if (rc)
        note_failure(st, r);
    else
        st->state[0] = '\0'; /* an earlier failure's SQLSTATE names no later one */
    PQclear(r);
    return rc ? store_error(st, err, "query failed") : 0;
}

/*
 * Runs SQL with text parameters (NULL for NULL); *out receives the result when it has rows
 * (the caller clears it). Returns 0 or DSCAT_EIO with err filled.
 */
static int run(pg_store *st, const char *sql, int n, const char *const *values, PGresult **out,
               dscat_error *err)
{
    if (out)
        *out = NULL;
    PGresult *r = PQexecParams(st->conn, sql, n, NULL, values, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        note_failure(st, r);
        PQclear(r);
        return store_error(st, err, "query failed");
    }
    const char *c = PQcmdTuples(r);
    st->changes = c && *c ? strtoll(c, NULL, 10) : 0;
    st->state[0] = '\0';
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/* The first column of the first row as an integer, or `none` when there is no row or NULL. */
static int run_int(pg_store *st, const char *sql, int n, const char *const *values, int64_t none,
                   int64_t *v, dscat_error *err)
{
    PGresult *r = NULL;
    int rc = run(st, sql, n, values, &r, err);
    *v = none;
    if (rc == 0 && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        *v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/* An integer parameter as text. */
typedef struct num {
    char s[24];
} num;

static const char *numtext(num *n, int64_t v)
{
    snprintf(n->s, sizeof(n->s), "%lld", (long long)v);
    return n->s;
}

static const char *opt_num(num *n, int64_t v)
{
    return v == DSCAT_NULL ? NULL : numtext(n, v);
}

static void hex16(char out[33], const uint8_t *h)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[32] = '\0';
}

/* The tables of store version 8. T is a text column sorted as bytes. */
#define T " TEXT COLLATE \"C\""

static const char *const schema_sql[] = {
    "CREATE TABLE catalog_meta(key" T " PRIMARY KEY, value" T " NOT NULL);"
    "CREATE TABLE targets(key" T " PRIMARY KEY, current_scan_id BIGINT);"
    "CREATE TABLE scans("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  run_id" T " NOT NULL, target" T " NOT NULL, server" T " NOT NULL,"
    "  source_type" T " NOT NULL, started_us BIGINT NOT NULL, finished_us BIGINT NOT NULL,"
    "  status" T " NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),"
    "  depth" T " NOT NULL DEFAULT 'metadata', databases BIGINT NOT NULL DEFAULT 0,"
    "  tables BIGINT NOT NULL DEFAULT 0, columns BIGINT NOT NULL DEFAULT 0,"
    "  queries BIGINT NOT NULL DEFAULT 0, duration_ms BIGINT NOT NULL DEFAULT 0, error" T ");"
    "CREATE INDEX scans_by_target ON scans(target, id);"
    "CREATE TABLE scan_problems("
    "  rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
    "  database" T ", schema" T ", message" T " NOT NULL);"
    "CREATE INDEX scan_problems_by_scan ON scan_problems(scan_id);",
    "CREATE TABLE column_sets(id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  hash BYTEA NOT NULL UNIQUE);"
    "CREATE TABLE columns("
    "  set_id BIGINT NOT NULL REFERENCES column_sets(id) ON DELETE CASCADE,"
    "  ordinal BIGINT NOT NULL, name" T " NOT NULL, data_type" T " NOT NULL, column_type" T ","
    "  is_nullable BIGINT NOT NULL, is_primary_key BIGINT NOT NULL,"
    "  is_foreign_key BIGINT NOT NULL, fk_references" T " NOT NULL, max_length BIGINT,"
    "  numeric_precision BIGINT, numeric_scale BIGINT, column_default" T ","
    "  column_comment" T ", null_count BIGINT, distinct_count BIGINT, profiled_rows BIGINT,"
    "  generated" T " CHECK (generated IS NULL OR generated IN ('STORED', 'VIRTUAL')),"
    "  is_hidden BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (set_id, ordinal));"
    "CREATE TABLE foreign_keys("
    "  set_id BIGINT NOT NULL REFERENCES column_sets(id) ON DELETE CASCADE,"
    "  position BIGINT NOT NULL, column_name" T " NOT NULL, ref_schema" T " NOT NULL,"
    "  ref_table" T " NOT NULL, ref_column" T " NOT NULL,"
    "  PRIMARY KEY (set_id, position));"
    "CREATE TABLE tables("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, hash BYTEA NOT NULL UNIQUE,"
    "  database" T " NOT NULL, schema" T " NOT NULL, name" T " NOT NULL,"
    "  table_type" T " NOT NULL, row_estimate BIGINT, size_bytes BIGINT, comment" T ","
    "  last_modified_us BIGINT, signature BIGINT NOT NULL DEFAULT 0,"
    "  column_set BIGINT NOT NULL REFERENCES column_sets(id));"
    "CREATE INDEX tables_by_column_set ON tables(column_set);"
    "CREATE INDEX tables_by_name ON tables(name, schema, database);",
    "CREATE TABLE table_sets(id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  hash BYTEA NOT NULL UNIQUE);"
    "CREATE TABLE table_set_members("
    "  set_id BIGINT NOT NULL REFERENCES table_sets(id) ON DELETE CASCADE,"
    "  position BIGINT NOT NULL, table_id BIGINT NOT NULL REFERENCES tables(id),"
    "  PRIMARY KEY (set_id, position));"
    "CREATE INDEX table_set_members_by_table ON table_set_members(table_id, set_id);"
    "CREATE TABLE scan_databases("
    "  scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
    "  database" T " NOT NULL, table_set BIGINT NOT NULL REFERENCES table_sets(id),"
    "  scanned_at_us BIGINT NOT NULL, PRIMARY KEY (scan_id, database));"
    "CREATE INDEX scan_databases_by_set ON scan_databases(table_set);"
    "CREATE VIEW scan_tables AS SELECT d.scan_id AS scan_id, t.id AS id, t.database AS database,"
    "  t.schema AS schema, t.name AS name, t.table_type AS table_type,"
    "  t.row_estimate AS row_estimate, t.size_bytes AS size_bytes, t.comment AS comment,"
    "  t.last_modified_us AS last_modified_us, d.scanned_at_us AS scanned_at_us,"
    "  t.signature AS signature, t.column_set AS column_set"
    "  FROM scan_databases d JOIN table_set_members m ON m.set_id = d.table_set"
    "  JOIN tables t ON t.id = m.table_id;",
    "CREATE TABLE table_cache("
    "  connection_id" T " NOT NULL, schema" T " NOT NULL, name" T " NOT NULL,"
    "  version" T " NOT NULL, path" T " NOT NULL, rows BIGINT NOT NULL, bytes BIGINT NOT NULL,"
    "  last_sync_us BIGINT NOT NULL, fallbacks" T " NOT NULL DEFAULT '[]',"
    "  files BIGINT NOT NULL DEFAULT 1, layout" T ", append_key" T ", append_max" T ","
    "  full_us BIGINT, PRIMARY KEY (connection_id, schema, name));"
    "CREATE TABLE pending_deletions(path" T " PRIMARY KEY, delete_after" T " NOT NULL,"
    "  retry_count BIGINT NOT NULL DEFAULT 0, claimed_by" T ", claimed_us BIGINT);"
    "CREATE TABLE schedule_runs("
    "  kind" T " NOT NULL CHECK (kind IN ('schema', 'data')), target" T " NOT NULL,"
    "  schema" T " NOT NULL, name" T " NOT NULL, started_us BIGINT, finished_us BIGINT,"
    "  result" T " CHECK (result IS NULL OR result IN ('ok', 'failed')), error" T ","
    "  failures BIGINT NOT NULL DEFAULT 0, claimed_us BIGINT,"
    "  PRIMARY KEY (kind, target, schema, name));",
    NULL};

#undef T

/*
 * Migrations after version 8: migrations[i] takes the store from version 8 + i to 9 + i, in one
 * transaction. Never edit one that has shipped.
 */
static const char *const migrations[] = {
    /* 9 (sqlite.c's 9): a schedule run's claim names its process and when it was last renewed */
    "ALTER TABLE schedule_runs ADD COLUMN claimed_by TEXT COLLATE \"C\","
    "  ADD COLUMN renewed_us BIGINT",
    NULL};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])) - 1)
#define KNOWN_VERSION (PG_STORE_VERSION + NMIGRATIONS)

static int exec_all(pg_store *st, const char *const *pieces, dscat_error *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && pieces[i]; i++)
        rc = exec(st, pieces[i], err);
    return rc;
}

/* 16 random bytes as 32 hex digits. */
static int random_hex(char out[33], dscat_error *err)
{
    uint8_t b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && read(fd, b, sizeof(b)) == (ssize_t)sizeof(b);
    if (fd >= 0)
        close(fd);
    if (!ok)
        return dscat_error_set(err, DSCAT_EIO, "cannot read /dev/urandom: %s", strerror(errno));
    hex16(out, b);
    return 0;
}

/* The schema's oid, or 0 when it does not exist. */
static int find_schema(pg_store *st, unsigned *oid, dscat_error *err)
{
    int64_t v = 0;
    const char *p[1] = {st->schema};
    int rc = run_int(st, "SELECT oid FROM pg_namespace WHERE nspname = $1", 1, p, 0, &v, err);
    *oid = (unsigned)v;
    return rc;
}

/*
 * The store version: 0 for a schema with no table, -1 for a schema holding another program's
 * tables (no catalog_meta, or one without a version).
 */
static int store_version(pg_store *st, int *version, dscat_error *err)
{
    PGresult *r = NULL;
    const char *p[1] = {st->schema};
    int rc = run(st,
                 "SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid "
                 "  AND c.relkind IN ('r', 'v', 'p')), "
                 "  to_regclass(quote_ident(n.nspname) || '.catalog_meta') IS NOT NULL "
                 "FROM pg_namespace n WHERE n.nspname = $1",
                 1, p, &r, err);
    if (rc)
        return rc;
    *version = 0;
    bool has_meta = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    long relations = PQntuples(r) > 0 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (!has_meta) {
        *version = relations > 0 ? -1 : 0;
        return 0;
    }
    int64_t v = -1;
    rc = run_int(st, "SELECT CAST(value AS BIGINT) FROM catalog_meta WHERE key = 'store_version'",
                 0, NULL, -1, &v, err);
    *version = (int)v;
    return rc;
}

/* Creates the tables (version 0) or migrates them, each step in its own transaction. */
static int migrate(pg_store *st, int version, dscat_error *err)
{
    char id[33], key[33];
    int rc = 0;
    if (version == 0) {
        if ((rc = random_hex(id, err)) || (rc = random_hex(key, err)))
            return rc;
        const char *p[3] = {id, key, NULL};
        char v[16];
        snprintf(v, sizeof(v), "%d", PG_STORE_VERSION);
        p[2] = v;
        if ((rc = exec(st, "BEGIN", err)) || (rc = exec_all(st, schema_sql, err)) ||
            (rc = run(st,
                      "INSERT INTO catalog_meta(key, value) VALUES ('catalog_id', $1), "
                      "('content_key', $2), ('store_version', $3)",
                      3, p, NULL, err)) ||
            (rc = exec(st, "COMMIT", err))) {
            PQclear(PQexec(st->conn, "ROLLBACK"));
            return rc;
        }
        version = PG_STORE_VERSION;
    }
    for (int v = version; v < KNOWN_VERSION; v++) {
        char set[96];
        snprintf(set, sizeof(set),
                 "UPDATE catalog_meta SET value = '%d' WHERE key = 'store_version'", v + 1);
        if ((rc = exec(st, "BEGIN", err)) ||
            (rc = exec(st, migrations[v - PG_STORE_VERSION], err)) || (rc = exec(st, set, err)) ||
            (rc = exec(st, "COMMIT", err))) {
            PQclear(PQexec(st->conn, "ROLLBACK"));
            return rc;
        }
    }
    return 0;
}

static int read_content_key(pg_store *st, dscat_error *err)
{
    PGresult *r = NULL;
    int rc = run(st, "SELECT value FROM catalog_meta WHERE key = 'content_key'", 0, NULL, &r, err);
    if (rc)
        return rc;
    st->has_content_key =
        dscat_content_key_parse(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : NULL, st->content_key);
    PQclear(r);
    return st->has_content_key
               ? 0
               : dscat_error_set(err, DSCAT_EINVALID,
                                 "catalog store %s: its content key is missing or malformed",
                                 st->name);
}

/*
 * Idle connections, kept for the next store opened at the same location in this process: a
 * server answers each API question through a store of its own, and a login (TCP and SCRAM) costs
 * more than the question. A connection is kept only when it is idle and clean: no transaction,
 * no session lock (a table's, the migration's), its per-open settings (search_path) set again
 * when it is taken. One kept longer than POOL_IDLE_MS, or that fails its first statement when
 * taken, is closed and a new one made.
 */
#define POOL_SIZE 4
#define POOL_IDLE_MS 30000

static struct {
    PGconn *conn;
    char *url;
    int64_t since_ms;
} pool[POOL_SIZE];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* An idle connection to url from the pool, or NULL; the expired ones are closed on the way. */
static PGconn *pool_take(const char *url)
{
    PGconn *found = NULL, *expired[POOL_SIZE];
    char *urls[POOL_SIZE];
    int nexpired = 0;
    int64_t now = dscat_monotonic_ms();
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SIZE; i++) {
        if (pool[i].conn == NULL)
            continue;
        bool old = now - pool[i].since_ms > POOL_IDLE_MS;
        if (old || (found == NULL && strcmp(pool[i].url, url) == 0)) {
            if (old) {
                expired[nexpired] = pool[i].conn;
                urls[nexpired++] = pool[i].url;
            } else {
                found = pool[i].conn;
                dscat_free(pool[i].url);
            }
            pool[i].conn = NULL;
            pool[i].url = NULL;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < nexpired; i++) {
        PQfinish(expired[i]);
        dscat_free(urls[i]);
    }
    return found;
}

/* Keeps st's connection in the pool when it is clean and there is room: true when kept. */
static bool pool_keep(pg_store *st)
{
    if (st->conn == NULL || st->url == NULL || st->session_locks != 0 ||
        PQstatus(st->conn) != CONNECTION_OK || PQtransactionStatus(st->conn) != PQTRANS_IDLE)
        return false;
    bool kept = false;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SIZE && !kept; i++)
        if (pool[i].conn == NULL) {
            pool[i].conn = st->conn;
            pool[i].url = st->url;
            pool[i].since_ms = dscat_monotonic_ms();
            kept = true;
        }
    pthread_mutex_unlock(&pool_lock);
    if (kept)
        st->url = NULL; /* the pool's now */
    return kept;
}

static void pg_close(dscat_store *base)
{
    pg_store *st = P(base);
    if (!pool_keep(st))
        PQfinish(st->conn);
    dscat_free(st->url);
    dscat_free(st->name);
    dscat_free(st->schema);
    dscat_free(st->exports_key);
    dscat_buf_free(&st->closes);
    dscat_free(st);
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* True when the len bytes at p in msg stand alone: no letter or digit touches them. */
static bool stands_alone(const char *msg, const char *p, size_t len)
{
    return (p == msg || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[len]);
}

/*
 * msg with every occurrence of each secret replaced by "***", in one forward pass into a copy of
 * the same size. A secret shorter than 4 bytes cannot be told from parts of ordinary words: where
 * it stands alone in msg (as a URI or a parameter would quote it), nothing of msg is kept but
 * `instead`; inside words ("x" in "connection"), msg is kept as it is.
 */
static void redact(char *msg, size_t size, const char *const *secrets, size_t n,
                   const char *instead)
{
    for (size_t k = 0; k < n; k++) {
        size_t len = secrets[k] ? strlen(secrets[k]) : 0;
        if (len == 0 || len >= 4)
            continue;
        for (const char *p = strstr(msg, secrets[k]); p; p = strstr(p + 1, secrets[k]))
            if (stands_alone(msg, p, len)) {
                snprintf(msg, size, "%s", instead);
                return;
            }
    }
    char out[2048];
    size_t o = 0;
    for (const char *p = msg; *p && o + 1 < sizeof(out);) {
        size_t hit = 0;
        for (size_t k = 0; k < n && hit == 0; k++)
            if (secrets[k] && strlen(secrets[k]) >= 4 &&
                strncmp(p, secrets[k], strlen(secrets[k])) == 0)
                hit = strlen(secrets[k]);
        if (hit) {
            for (const char *r = "***"; *r && o + 1 < sizeof(out); r++)
                out[o++] = *r;
            p += hit;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    snprintf(msg, size, "%s", out);
}

/*
 * The password a URI holds, as libpq decodes it (its user info or a password parameter), and as
 * it is written there (percent-encoded), for redact(). NULL where there is none. Caller frees
 * both. Returns false when libpq cannot parse the URI.
 */
static bool uri_passwords(const char *url, char **decoded, char **raw)
{
    char *err = NULL;
    *decoded = *raw = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            *decoded = dscat_strdup(o->val);
    bool parsed = opts != NULL;
    PQconninfoFree(opts);
    PQfreemem(err);
    const char *auth = strstr(url, "://");
    if (auth) {
        auth += 3;
        size_t len = strcspn(auth, "/?#");
        const char *colon = memchr(auth, ':', len), *at = NULL;
        for (const char *p = auth; p < auth + len; p++)
            if (*p == '@')
                at = p;
        if (colon && at && colon < at && at - colon > 1)
            *raw = dscat_strndup(colon + 1, (size_t)(at - colon - 1));
    }
    const char *q = strstr(url, "password=");
    if (*raw == NULL && q)
        *raw = dscat_strndup(q + 9, strcspn(q + 9, "&#"));
    return parsed;
}

/*
 * The store's name in messages, a URI without credentials: "postgresql://host:port/db (schema
 * s)", from the connection when it is made, else from what the URI says.
 */
static void store_name(dscat_buf *b, PGconn *conn, const char *url, const char *schema)
{
    const char *host = NULL, *port = NULL, *db = NULL;
    PQconninfoOption *opts = NULL;
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        host = PQhost(conn), port = PQport(conn), db = PQdb(conn);
    } else if ((opts = PQconninfoParse(url, NULL)) != NULL) {
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            if (strcmp(o->keyword, "host") == 0)
                host = o->val;
            else if (strcmp(o->keyword, "port") == 0)
                port = o->val;
            else if (strcmp(o->keyword, "dbname") == 0)
                db = o->val;
        }
    }
    dscat_buf_printf(b, "postgresql://%s%s%s/%s (schema %s)", host && *host ? host : "",
                     port && *port ? ":" : "", port && *port ? port : "", db ? db : "", schema);
    PQconninfoFree(opts);
}

/*
 * The settings of every store session, in one round trip:
 * - keepalives (new connections): the server gives up on the connection of a lost machine, and
 *   on its locks, after about a minute;
 * - lock_timeout: no statement waits for a lock longer than LOCK_WAIT_S (the store's write and
 *   migration locks, a table another session locked, a row another transaction holds); the
 *   wait ends with SQLSTATE 55P03, which store_error() names;
 * - idle_in_transaction_session_timeout = 0: dscat's read transactions span work on its own
 *   side (the exports write their files from one snapshot, a question's answer is rendered from
 *   one), and a role's timeout would end the session in the middle of it. Every transaction
 *   dscat opens, dscat ends; any role may set this for its own session.
 * Set again on a kept connection when it is taken (a table lock's wait changed lock_timeout).
 */
static int session_settings(pg_store *st, bool keepalives, dscat_error *err)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "%sSET lock_timeout = '%ds'; SET idle_in_transaction_session_timeout = 0",
             keepalives ? "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; "
                          "SET tcp_keepalives_count = 3; "
                        : "",
             lock_wait_s(LOCK_WAIT_S));
    return exec(st, sql, err);
}

/*
 * Connects to the store at loc (a catalog directory's, as dscat_store__location() read it), with
 * the session settings every store connection has.
 */
static int pg_connect(pg_store **out, const dscat_store_location *location, dscat_error *err)
{
    *out = NULL;
    const dscat_store_location loc = *location; /* borrowed */
    int rc = 0;
    pg_store *st = dscat_calloc(1, sizeof(*st));
    if (st == NULL || (st->schema = dscat_strdup(loc.schema)) == NULL) {
        dscat_free(st);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    dscat_store__init(&st->base, &dscat_store__postgres_table);
    /* A kept connection serves when its first statement does (the server may have ended it
     * while it was idle: idle_session_timeout, a restart, pg_terminate_backend). */
    if ((st->conn = pool_take(loc.url)) != NULL && session_settings(st, false, NULL) != 0) {
        PQfinish(st->conn);
        st->conn = NULL;
    }
    bool reused = st->conn != NULL;
    const char *const keys[] = {"dbname", "connect_timeout", "application_name", "client_encoding",
                                NULL};
    const char *const values[] = {loc.url, "10", "dscat", "UTF8", NULL};
    if (!reused)
        st->conn = PQconnectdbParams(keys, values, 1);
    st->url = dscat_strdup(loc.url);
    dscat_buf name = DSCAT_BUF_INIT;
    store_name(&name, st->conn, loc.url, st->schema);
    st->name = dscat_buf_detach(&name);
    if (st->name == NULL || st->url == NULL) {
        pg_close(&st->base);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK) {
        /* libpq's message may quote the URI it could not use: never its password. A URI it
         * cannot parse is not quoted at all. */
        char *pw[2];
        if (!uri_passwords(loc.url, &pw[0], &pw[1])) {
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "catalog store %s: cannot connect: the URI in %s is not a "
                                 "valid PostgreSQL connection URI",
                                 st->name, loc.env ? loc.env : "settings.store_url_env");
        } else {
            /* redacted whole, before the message is cut to its size */
            char m[2048];
            last_message(st->conn, m, sizeof(m));
            redact(m, sizeof(m), (const char *const *)pw, 2,
                   "the server's message is withheld: it may quote the password");
            rc = dscat_error_set(err, DSCAT_EIO, "catalog store %s: cannot connect: %s", st->name,
                                 m);
        }
        dscat_free(pw[0]);
        dscat_free(pw[1]);
        pg_close(&st->base);
        return rc;
    }
    if (reused) {
        *out = st;
        return 0;
    }
    /* Notices (an existing schema, say) are not ours to print. */
    PQsetNoticeProcessor(st->conn, ignore_notice, NULL);
    if ((rc = session_settings(st, true, err))) {
        pg_close(&st->base);
        return rc;
    }
    *out = st;
    return 0;
}

/* Runs `head` followed by the store's schema, quoted as an identifier. */
static int exec_on_schema(pg_store *st, const char *head, dscat_error *err)
{
    char *q = PQescapeIdentifier(st->conn, st->schema, strlen(st->schema));
    dscat_buf sql = DSCAT_BUF_INIT;
    int rc = q ? dscat_buf_printf(&sql, "%s%s", head, q) : DSCAT_ENOMEM;
    PQfreemem(q);
    if (rc == 0)
        rc = exec(st, dscat_buf_cstr(&sql), err);
    else
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_free(&sql);
    return rc;
}

static int set_search_path(pg_store *st, dscat_error *err)
{
    return exec_on_schema(st, "SET search_path TO ", err);
}

static int create_schema(pg_store *st, dscat_error *err)
{
    int rc = exec_on_schema(st, "CREATE SCHEMA IF NOT EXISTS ", NULL);
    return rc ? store_error(st, err,
                            "cannot create its schema (create it for the store's role, or grant "
                            "the role CREATE on the database)")
              : 0;
}

static int refuse_version(pg_store *st, int version, dscat_error *err)
{
    if (version < 0)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "%s holds another program's tables, not a dscat catalog store; "
                               "it is left untouched",
                               st->name);
    if (version > KNOWN_VERSION)
        return dscat_error_set(err, DSCAT_EVERSION,
                               "catalog store %s was written by a newer dscat (store version %d, "
                               "this dscat knows up to %d); upgrade dscat",
                               st->name, version, KNOWN_VERSION);
    return 0;
}

/*
 * The migration lock of the store's schema (a session advisory lock keyed by its name), waited
 * for at most the session's lock_timeout: one process creates or migrates the store, the others
 * wait for it and find it done. The DDL under it waits for its tables' locks (a reader's) as
 * long at most.
 */
static int migration_lock(pg_store *st, bool take, dscat_error *err)
{
    char fn[64];
    snprintf(fn, sizeof(fn), "SELECT pg_advisory_%slock(%d, hashtext($1))", take ? "" : "un",
             PG_LOCK_CLASS);
    const char *p[1] = {st->schema};
    int rc = run(st, fn, 1, p, NULL, err);
    if (rc && take && lock_timed_out(st))
        rc = dscat_error_set(err, DSCAT_ECONFLICT,
                             "catalog store %s is being created or migrated by another process "
                             "(waited %d s); try again",
                             st->name, lock_wait_s(LOCK_WAIT_S));
    if (rc == 0)
        st->session_locks += take ? 1 : -1;
    return rc;
}

/*
 * A writer creates the schema and tables when they are missing, or migrates them, under the
 * migration lock; an up-to-date store needs neither (nor the database's CREATE privilege).
 */
static int prepare_for_writing(pg_store *st, unsigned *oid, int *version, dscat_error *err)
{
    int rc = 0;
    if (*oid != 0 && ((rc = set_search_path(st, err)) || (rc = store_version(st, version, err)) ||
                      (rc = refuse_version(st, *version, err))))
        return rc;
    if (*oid != 0 && *version == KNOWN_VERSION)
        return 0;
    if ((rc = migration_lock(st, true, err)))
        return rc;
    if ((*oid != 0 ||
         ((rc = create_schema(st, err)) == 0 && (rc = find_schema(st, oid, err)) == 0)) &&
        (rc = set_search_path(st, err)) == 0 && (rc = store_version(st, version, err)) == 0 &&
        (rc = refuse_version(st, *version, err)) == 0 && *version < KNOWN_VERSION)
        rc = migrate(st, *version, err);
    migration_lock(st, false, NULL);
    return rc;
}

/*
 * The catalog directory's own id (32 hex digits in <catalog_dir>/.store-dir-id, made once), so
 * that each directory sharing the store keys its exports generation apart, whatever machine and
 * path it is on. A directory that cannot hold it is named by its real path.
 */
static char *dir_id(const char *catalog_dir)
{
    dscat_buf path = DSCAT_BUF_INIT, id = DSCAT_BUF_INIT;
    char hex[33] = "", real[PATH_MAX];
    if (dscat_buf_printf(&path, "%s/.store-dir-id", catalog_dir))
        return NULL;
    for (int attempt = 0; attempt < 2 && hex[0] == '\0'; attempt++) {
        int fd = open(dscat_buf_cstr(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            ssize_t n = read(fd, hex, 32);
            close(fd);
            hex[n == 32 ? 32 : 0] = '\0';
            if (strspn(hex, "0123456789abcdef") != 32)
                hex[0] = '\0';
            if (hex[0] || n != 0)
                break; /* found, or a file that is not one: the real path serves */
        }
        char made[33];
        if (random_hex(made, NULL))
            break;
        fd =
            open(dscat_buf_cstr(&path), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
        if (fd >= 0) {
            bool ok = write(fd, made, 32) == 32 && fsync(fd) == 0;
            close(fd);
            if (ok)
                memcpy(hex, made, sizeof(made));
            else
                break;
        } /* EEXIST: another process made it meanwhile; read it */
    }
    if (hex[0])
        dscat_buf_printf(&id, "exports_generation %s", hex);
    else
        dscat_buf_printf(&id, "exports_generation %s",
                         realpath(catalog_dir, real) ? real : catalog_dir);
    dscat_buf_free(&path);
    return dscat_buf_detach(&id);
}

static int pg_open(dscat_store **out, const char *catalog_dir, const dscat_store_location *loc,
                   dscat_store_mode mode, dscat_error *err)
{
    *out = NULL;
    pg_store *st = NULL;
    int rc = pg_connect(&st, loc, err);
    if (rc)
        return rc;
    int version = 0;
    unsigned oid = 0;
    if ((rc = find_schema(st, &oid, err)))
        goto fail;
    if (mode == DSCAT_STORE_WRITE) {
        if ((rc = prepare_for_writing(st, &oid, &version, err)) || (rc = read_content_key(st, err)))
            goto fail;
    } else {
        if (oid == 0) {
            rc = dscat_error_set(err, DSCAT_ENOTFOUND, "no catalog store in %s", st->name);
            goto fail;
        }
        if ((rc = set_search_path(st, err)) || (rc = store_version(st, &version, err)) ||
            (rc = refuse_version(st, version, err)))
            goto fail;
        if (version == 0) {
            rc =
                dscat_error_set(err, DSCAT_ENOTFOUND,
                                "catalog store %s is not initialised: run dscat refresh", st->name);
            goto fail;
        }
    }
    st->schema_oid = oid;
    if ((st->exports_key = dir_id(catalog_dir)) == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    *out = &st->base;
    return 0;
fail:
    pg_close(&st->base);
    return rc;
}

static int pg_check_version(const char *catalog_dir, const dscat_store_location *loc,
                            dscat_error *err)
{
    (void)catalog_dir;
    pg_store *st = NULL;
    int rc = pg_connect(&st, loc, err);
    if (rc)
        return rc;
    int version = 0;
    if ((rc = set_search_path(st, err)) == 0 && (rc = store_version(st, &version, err)) == 0)
        rc = refuse_version(st, version, err);
    pg_close(&st->base);
    return rc;
}

static void pg_describe(dscat_store *base, dscat_store_info *info)
{
    pg_store *st = P(base);
    int version = 0;
    store_version(st, &version, NULL);
    snprintf(info->location, sizeof(info->location), "schema %s of database %s at %s:%s",
             st->schema, PQdb(st->conn), PQhost(st->conn), PQport(st->conn));
    snprintf(info->schema, sizeof(info->schema), "%s", st->schema);
    info->version = version;
    info->known = KNOWN_VERSION;
}

/* libpq needs no process-wide set-up beyond what the source engine already relies on. */
static int pg_global_init(dscat_error *err)
{
    (void)err;
    return 0;
}

/*
 * At process exit (dscat_global_shutdown(), from the CLI's main once its command, the server's
 * included, has returned): the kept connections are closed, each with a Terminate message, so
 * that the server sees a client that said goodbye rather than one that vanished.
 */
static void pg_global_shutdown(void)
{
    PGconn *conns[POOL_SIZE];
    int n = 0;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SIZE; i++) {
        if (pool[i].conn)
            conns[n++] = pool[i].conn;
        dscat_free(pool[i].url);
        pool[i].conn = NULL;
        pool[i].url = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < n; i++)
        PQfinish(conns[i]);
}

static int pg_exec(dscat_store *base, const char *sql, dscat_error *err)
{
    return exec(P(base), sql, err);
}

static int pg_error(dscat_store *base, dscat_error *err, const char *what)
{
    return store_error(P(base), err, what);
}

/*
 * The store's write lock: a transaction-level advisory lock, taken at once. A writer waits for
 * another at most the session's lock_timeout (LOCK_WAIT_S), as SQLite's busy timeout does; the
 * transaction's other lock waits are bounded by it too.
 */
static int pg_begin(dscat_store *base, dscat_error *err)
{
    pg_store *st = P(base);
    char sql[96];
    snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", PG_LOCK_CLASS,
             (int)st->schema_oid);
    st->txn++;
    PGresult *r = PQexec(st->conn, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        note_failure(st, r);
        if (lock_timed_out(st))
            rc = dscat_error_set(err, DSCAT_ECONFLICT,
                                 "catalog store %s is locked by another writer (waited %d s); "
                                 "try again",
                                 st->name, lock_wait_s(LOCK_WAIT_S));
        else
            rc = store_error(st, err, "cannot take the store's write lock");
        if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
            PQclear(PQexec(st->conn, "ROLLBACK"));
    }
    PQclear(r);
    return rc;
}

/* A transaction a failed statement aborted answers COMMIT with ROLLBACK: that is a failure. */
static int pg_commit(dscat_store *base, dscat_error *err)
{
    pg_store *st = P(base);
    st->txn++;
    PGresult *r = PQexec(st->conn, "COMMIT");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok)
        note_failure(st, r);
    PQclear(r);
    if (ok)
        return 0;
    if (PQtransactionStatus(st->conn) == PQTRANS_IDLE)
        return dscat_error_set(err, DSCAT_EIO,
                               "catalog store %s: the transaction was rolled back after a "
                               "failed statement",
                               st->name);
    return store_error(st, err, "commit failed");
}

static void pg_rollback(dscat_store *base)
{
    pg_store *st = P(base);
    st->txn++;
    if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
        PQclear(PQexec(st->conn, "ROLLBACK"));
}

static bool pg_in_transaction(dscat_store *base)
{
    return PQtransactionStatus(P(base)->conn) != PQTRANS_IDLE;
}

/* REPEATABLE READ takes its snapshot at the first statement: SELECT 1 is it. */
static int pg_snapshot_begin(dscat_store *base, dscat_error *err)
{
    pg_store *st = P(base);
    if (exec(st, "BEGIN ISOLATION LEVEL REPEATABLE READ", err) || exec(st, "SELECT 1", err)) {
        pg_rollback(base);
        return DSCAT_EIO;
    }
    return 0;
}

static void pg_snapshot_end(dscat_store *base)
{
    pg_rollback(base);
}

static int64_t pg_generation(dscat_store *base)
{
    int64_t g = 0;
    run_int(P(base), "SELECT coalesce(max(id), 0) FROM scans", 0, NULL, 0, &g, NULL);
    return g;
}

/* The generation the exports of this catalog directory were completed at (dir_id()). */
static int64_t pg_exports_generation(dscat_store *base)
{
    pg_store *st = P(base);
    int64_t g = -1;
    const char *p[1] = {st->exports_key};
    run_int(st, "SELECT CAST(value AS BIGINT) FROM catalog_meta WHERE key = $1", 1, p, -1, &g,
            NULL);
    return g;
}

/*
 * Records this directory's exports generation, and removes the other directories' rows of an
 * older generation: those directories are behind the store whether their row says so or is gone
 * (dscat_exports_state() compares it with the store's generation, which never goes back), and a
 * directory that is gone for good (a container's, a temporary one) leaves no row forever. What
 * stays is one row per directory in step with the store.
 */
static int pg_set_exports_generation(dscat_store *base, int64_t generation, dscat_error *err)
{
    pg_store *st = P(base);
    num n;
    const char *p[2] = {st->exports_key, numtext(&n, generation)};
    return run(st,
               /* the CASE keeps the cast to exports rows, whatever order the planner tests in */
               "WITH stale AS (DELETE FROM catalog_meta WHERE left(key, 19) = "
               "'exports_generation ' AND key <> $1 AND CASE WHEN left(key, 19) = "
               "'exports_generation ' THEN CAST(value AS BIGINT) < CAST($2 AS BIGINT) END) "
               "INSERT INTO catalog_meta(key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE "
               "SET value = excluded.value",
               2, p, NULL, err);
}

static int pg_catalog_id(dscat_store *base, char *out, size_t size)
{
    PGresult *r = NULL;
    out[0] = '\0';
    if (run(P(base), "SELECT value FROM catalog_meta WHERE key = 'catalog_id'", 0, NULL, &r,
            NULL) == 0 &&
        PQntuples(r) > 0)
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return out[0] ? 0 : DSCAT_ENOTFOUND;
}

static int pg_fingerprint(dscat_store *base, char *out, size_t size, dscat_error *err)
{
    pg_store *st = P(base);
    PGresult *r = NULL;
    int rc = run(st,
                 "SELECT coalesce((SELECT string_agg(key || '=' || coalesce(current_scan_id::text, "
                 "''), ';' ORDER BY key) FROM targets), '') || '/' || "
                 "coalesce((SELECT max(id) FROM scans), 0)",
                 0, NULL, &r, err);
    if (rc == 0 && PQntuples(r) > 0)
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    else if (rc == 0)
        rc = dscat_error_set(err, DSCAT_EIO, "catalog store %s: cannot read the current scans",
                             st->name);
    PQclear(r);
    return rc;
}

static int pg_insert_scan(dscat_store *base, const dscat_scan_row *row, int64_t *scan_id,
                          dscat_error *err)
{
    pg_store *st = P(base);
    const dscat_target_report *r = row->report;
    num n[8];
    const char *p[14] = {row->run_id,
                         row->target->key,
                         row->target->name,
                         row->target->type,
                         numtext(&n[0], row->started_us),
                         numtext(&n[1], row->finished_us),
                         dscat_scan_status_name(r->status),
                         row->profile ? "profile" : "metadata",
                         numtext(&n[2], r->databases),
                         numtext(&n[3], r->tables),
                         numtext(&n[4], r->columns),
                         numtext(&n[5], r->queries),
                         numtext(&n[6], r->duration_ms),
                         r->status == DSCAT_SCAN_FAILED ? r->error.message : NULL};
    int rc = run_int(st,
                     "INSERT INTO scans(run_id, target, server, source_type, started_us, "
                     "finished_us, status, depth, databases, tables, columns, queries, "
                     "duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                     "$12, $13, $14) RETURNING id",
                     14, p, 0, scan_id, err);
    for (size_t i = 0; i < r->nproblems && rc == 0; i++) {
        const char *q[4] = {numtext(&n[7], *scan_id), r->problems[i].database,
                            r->problems[i].schema, r->problems[i].message};
        rc = run(st,
                 "INSERT INTO scan_problems(scan_id, database, schema, message) "
                 "VALUES ($1, $2, $3, $4)",
                 4, q, NULL, err);
    }
    return rc;
}

/* COPY's text format: a field escaped (backslash, tab, newline, carriage return), \N for NULL. */
static void copy_text(dscat_buf *b, const char *v)
{
    if (v == NULL) {
        dscat_buf_puts(b, "\\N");
        return;
    }
    for (const char *p = v; *p; p++) {
        switch (*p) {
        case '\\':
            dscat_buf_puts(b, "\\\\");
            break;
        case '\t':
            dscat_buf_puts(b, "\\t");
            break;
        case '\n':
            dscat_buf_puts(b, "\\n");
            break;
        case '\r':
            dscat_buf_puts(b, "\\r");
            break;
        default:
            dscat_buf_putc(b, *p);
        }
    }
}

static void copy_int(dscat_buf *b, int64_t v)
{
    if (v == DSCAT_NULL)
        dscat_buf_puts(b, "\\N");
    else
        dscat_buf_printf(b, "%lld", (long long)v);
}

static void copy_hash(dscat_buf *b, const uint8_t *h)
{
    char x[33];
    hex16(x, h);
    dscat_buf_printf(b, "\\\\x%s", x);
}

/* Sends rows (COPY text) into `sql`, a COPY ... FROM STDIN. */
static int copy_in(pg_store *st, const char *sql, const dscat_buf *rows, dscat_error *err)
{
    int rc = dscat_buf_check(rows, err, "store rows");
    if (rc)
        return rc;
    PGresult *r = PQexec(st->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok)
        note_failure(st, r);
    PQclear(r);
    if (!ok)
        return store_error(st, err, "insert failed");
    const char *data = dscat_buf_cstr(rows);
    size_t len = strlen(data);
    for (size_t off = 0; ok && off < len; off += 1 << 20) {
        size_t n = len - off < (1u << 20) ? len - off : 1u << 20;
        ok = PQputCopyData(st->conn, data + off, (int)n) == 1;
    }
    ok = PQputCopyEnd(st->conn, ok ? NULL : "cancelled") == 1 && ok;
    while ((r = PQgetResult(st->conn)) != NULL) {
        if (ok && PQresultStatus(r) != PGRES_COMMAND_OK) {
            note_failure(st, r);
            ok = false;
        }
        PQclear(r);
    }
    return ok ? 0 : store_error(st, err, "insert failed");
}

/* `count` new ids of a table's identity column, into ids. */
static int new_ids(pg_store *st, const char *table, size_t count, int64_t *ids, dscat_error *err)
{
    if (count == 0)
        return 0;
    num n;
    const char *p[2] = {table, numtext(&n, (int64_t)count)};
    PGresult *r = NULL;
    int rc = run(st,
                 "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, "
                 "CAST($2 AS BIGINT))",
                 2, p, &r, err);
    if (rc == 0 && (size_t)PQntuples(r) != count)
        rc = dscat_error_set(err, DSCAT_EIO, "catalog store %s: cannot allocate ids", st->name);
    for (size_t i = 0; rc == 0 && i < count; i++)
        ids[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/*
 * Looks up many hashes of one table at once: known[i] receives the id of hashes[idx[i]], or 0
 * (every index holding that hash alike). n hashes, their indexes in idx. Linear in n.
 */
static int find_hashes(pg_store *st, const char *table, dscat_content_hash *hashes,
                       const size_t *idx, size_t n, int64_t *known, dscat_error *err)
{
    for (size_t i = 0; i < n; i++)
        known[i] = 0;
    if (n == 0)
        return 0;
    dscat_buf arr = DSCAT_BUF_INIT, sql = DSCAT_BUF_INIT;
    dscat_strmap at = DSCAT_STRMAP_INIT; /* hash (16 bytes) -> its first index in idx */
    size_t *first = dscat_calloc(n, sizeof(size_t));
    int rc = first ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_putc(&arr, '{');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *h = (const char *)hashes[idx[i]];
        size_t f;
        if (dscat_strmap_get(&at, h, sizeof(dscat_content_hash), &f) == 1) {
            first[i] = f;
            continue;
        }
        first[i] = i;
        char x[33];
        hex16(x, hashes[idx[i]]);
        dscat_buf_printf(&arr, "%s%s", arr.len > 1 ? "," : "", x);
        if (dscat_strmap_put(&at, h, sizeof(dscat_content_hash), i))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    dscat_buf_putc(&arr, '}');
    dscat_buf_printf(&sql,
                     "SELECT h, t.id FROM %s t JOIN unnest(CAST($1 AS TEXT[])) h "
                     "ON t.hash = decode(h, 'hex')",
                     table);
    if (rc == 0 && (rc = dscat_buf_check(&arr, err, "store lookup")) == 0)
        rc = dscat_buf_check(&sql, err, "store lookup");
    PGresult *r = NULL;
    const char *p[1] = {dscat_buf_cstr(&arr)};
    if (rc == 0)
        rc = run(st, dscat_buf_cstr(&sql), 1, p, &r, err);
    for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
        /* the hash as it was sent: 32 hex digits */
        uint8_t bin[sizeof(dscat_content_hash)];
        if (!dscat_content_key_parse(PQgetvalue(r, row, 0), bin))
            continue;
        size_t i;
        if (dscat_strmap_get(&at, (const char *)bin, sizeof(bin), &i) == 1)
            known[i] = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        known[i] = known[first[i]];
    PQclear(r);
    dscat_free(first);
    dscat_strmap_free(&at);
    dscat_buf_free(&arr);
    dscat_buf_free(&sql);
    return rc;
}

/* Appends the COPY rows of table t's columns and foreign keys under column set `set`. */
static void column_rows(dscat_buf *cols, dscat_buf *fks, const dscat_db_scan *d,
                        const dscat_scan_content *c, size_t t, int64_t set)
{
    for (size_t k = c->order.column_start[t]; k < c->order.column_start[t + 1]; k++) {
        size_t i = c->order.column_order[k];
        const dscat_column_info *col = &d->columns.items[i];
        dscat_buf_printf(cols, "%lld\t%d\t", (long long)set, col->ordinal);
        copy_text(cols, col->name);
        dscat_buf_putc(cols, '\t');
        copy_text(cols, col->data_type);
        dscat_buf_putc(cols, '\t');
        copy_text(cols, col->column_type);
        dscat_buf_printf(cols, "\t%d\t%d\t%d\t", col->nullable ? 1 : 0, col->is_pk ? 1 : 0,
                         c->order.fk_refs[i] != NULL);
        copy_text(cols, c->order.fk_refs[i] ? c->order.fk_refs[i] : "");
        dscat_buf_putc(cols, '\t');
        copy_int(cols, col->max_length);
        dscat_buf_putc(cols, '\t');
        copy_int(cols, col->precision);
        dscat_buf_putc(cols, '\t');
        copy_int(cols, col->scale);
        dscat_buf_putc(cols, '\t');
        copy_text(cols, col->default_value);
        dscat_buf_putc(cols, '\t');
        copy_text(cols, col->comment);
        dscat_buf_putc(cols, '\t');
        copy_int(cols, col->null_count);
        dscat_buf_putc(cols, '\t');
        copy_int(cols, col->distinct_count);
        dscat_buf_putc(cols, '\t');
        copy_int(cols, col->profiled_rows);
        dscat_buf_putc(cols, '\t');
        copy_text(cols, col->generated);
        dscat_buf_printf(cols, "\t%d\n", col->hidden ? 1 : 0);
    }
    for (size_t k = c->order.fk_start[t]; k < c->order.fk_start[t + 1]; k++) {
        const dscat_fk_info *f = &d->fks.items[c->order.fk_order[k]];
        dscat_buf_printf(fks, "%lld\t%lld\t", (long long)set,
                         (long long)(k - c->order.fk_start[t] + 1));
        copy_text(fks, f->column);
        dscat_buf_putc(fks, '\t');
        copy_text(fks, f->ref_schema);
        dscat_buf_putc(fks, '\t');
        copy_text(fks, f->ref_table);
        dscat_buf_putc(fks, '\t');
        copy_text(fks, f->ref_column);
        dscat_buf_putc(fks, '\n');
    }
}

/* Appends table t's COPY row, with id and column set. */
static void table_row(dscat_buf *b, const dscat_db_scan *d, const dscat_scan_content *c, size_t t,
                      int64_t id, int64_t set)
{
    const dscat_table_info *ti = &d->tables.items[t];
    dscat_buf_printf(b, "%lld\t", (long long)id);
    copy_hash(b, c->tables[t]);
    const char *texts[] = {d->database, ti->schema, ti->name, ti->type};
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        dscat_buf_putc(b, '\t');
        copy_text(b, texts[k]);
    }
    dscat_buf_putc(b, '\t');
    copy_int(b, ti->row_estimate);
    dscat_buf_putc(b, '\t');
    copy_int(b, ti->size_bytes);
    dscat_buf_putc(b, '\t');
    copy_text(b, ti->comment);
    dscat_buf_putc(b, '\t');
    copy_int(b, ti->last_modified_us);
    dscat_buf_printf(b, "\t%lld\t%lld\n", (long long)c->signatures[t], (long long)set);
}

/*
 * Numbers the distinct hashes of hashes[idx[0..n)] that known[] does not hold: first[i] is the
 * index of the first entry with entry i's hash, and *count how many such first entries there
 * are. Linear in n.
 */
static int first_of_each(dscat_content_hash *hashes, const size_t *idx, size_t n,
                         const int64_t *known, size_t *first, size_t *count, dscat_error *err)
{
    dscat_strmap seen = DSCAT_STRMAP_INIT;
    int rc = 0;
    *count = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *h = (const char *)hashes[idx[i]];
        size_t f;
        first[i] = i;
        if (known[i])
            continue;
        if (dscat_strmap_get(&seen, h, sizeof(dscat_content_hash), &f) == 1)
            first[i] = f;
        else if (dscat_strmap_put(&seen, h, sizeof(dscat_content_hash), i))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else
            (*count)++;
    }
    dscat_strmap_free(&seen);
    return rc;
}

/*
 * Writes a new table set's members: the tables and column sets the store has are found by hash
 * (one query each); the others, each distinct one once, get ids and go in with COPY.
 */
static int write_table_set(pg_store *st, const dscat_db_scan *d, const dscat_scan_content *c,
                           int64_t set, dscat_error *err)
{
    size_t n = c->order.ntables;
    const size_t *order = c->order.table_order;
    int64_t *table_id = dscat_calloc(n + 1, sizeof(int64_t)); /* by member position */
    size_t *tfirst = dscat_calloc(n + 1, sizeof(size_t));
    size_t *missing = dscat_calloc(n + 1, sizeof(size_t)); /* scan table indexes */
    size_t *cfirst = dscat_calloc(n + 1, sizeof(size_t));
    int64_t *ids = dscat_calloc(n + 1, sizeof(int64_t));
    int64_t *sets = dscat_calloc(n + 1, sizeof(int64_t)); /* by missing entry */
    dscat_buf cols = DSCAT_BUF_INIT, fks = DSCAT_BUF_INIT, setrows = DSCAT_BUF_INIT;
    dscat_buf tables = DSCAT_BUF_INIT, members = DSCAT_BUF_INIT;
    size_t ntables = 0, nsets = 0, nmissing = 0;
    int rc = 0;
    if (!table_id || !tfirst || !missing || !cfirst || !ids || !sets) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    /* the tables: those stored, and each distinct missing one once */
    if ((rc = find_hashes(st, "tables", c->tables, order, n, table_id, err)) ||
        (rc = first_of_each(c->tables, order, n, table_id, tfirst, &ntables, err)))
        goto done;
    for (size_t k = 0; k < n; k++)
        if (table_id[k] == 0 && tfirst[k] == k)
            missing[nmissing++] = order[k];
    /* their column sets: those stored, and each distinct missing one once (tables may share) */
    if ((rc = find_hashes(st, "column_sets", c->column_sets, missing, nmissing, sets, err)) ||
        (rc = first_of_each(c->column_sets, missing, nmissing, sets, cfirst, &nsets, err)) ||
        (rc = new_ids(st, "column_sets", nsets, ids, err)))
        goto done;
    for (size_t i = 0, next = 0; i < nmissing; i++) {
        if (sets[i] || cfirst[i] != i)
            continue;
        sets[i] = ids[next++];
        dscat_buf_printf(&setrows, "%lld\t", (long long)sets[i]);
        copy_hash(&setrows, c->column_sets[missing[i]]);
        dscat_buf_putc(&setrows, '\n');
        column_rows(&cols, &fks, d, c, missing[i], sets[i]);
    }
    for (size_t i = 0; i < nmissing; i++)
        if (sets[i] == 0)
            sets[i] = sets[cfirst[i]];
    /* the missing tables, then every member */
    if ((rc = new_ids(st, "tables", nmissing, ids, err)))
        goto done;
    for (size_t i = 0; i < nmissing; i++)
        table_row(&tables, d, c, missing[i], ids[i], sets[i]);
    for (size_t k = 0, i = 0; k < n; k++)
        if (table_id[k] == 0 && tfirst[k] == k)
            table_id[k] = ids[i++];
    for (size_t k = 0; k < n; k++) {
        if (table_id[k] == 0)
            table_id[k] = table_id[tfirst[k]];
        dscat_buf_printf(&members, "%lld\t%lld\t%lld\n", (long long)set, (long long)k + 1,
                         (long long)table_id[k]);
    }
    if (nsets && ((rc = copy_in(st, "COPY column_sets(id, hash) FROM STDIN", &setrows, err)) ||
                  (rc = copy_in(st,
                                "COPY columns(set_id, ordinal, name, data_type, column_type, "
                                "is_nullable, is_primary_key, is_foreign_key, fk_references, "
                                "max_length, numeric_precision, numeric_scale, column_default, "
                                "column_comment, null_count, distinct_count, profiled_rows, "
                                "generated, is_hidden) FROM STDIN",
                                &cols, err)) ||
                  (fks.len && (rc = copy_in(st,
                                            "COPY foreign_keys(set_id, position, column_name, "
                                            "ref_schema, ref_table, ref_column) FROM STDIN",
                                            &fks, err)))))
        goto done;
    if (nmissing &&
        (rc = copy_in(st,
                      "COPY tables(id, hash, database, schema, name, table_type, row_estimate, "
                      "size_bytes, comment, last_modified_us, signature, column_set) FROM STDIN",
                      &tables, err)))
        goto done;
    if (n)
        rc = copy_in(st, "COPY table_set_members(set_id, position, table_id) FROM STDIN", &members,
                     err);
done:
    dscat_free(table_id);
    dscat_free(tfirst);
    dscat_free(missing);
    dscat_free(cfirst);
    dscat_free(ids);
    dscat_free(sets);
    dscat_buf_free(&cols);
    dscat_buf_free(&fks);
    dscat_buf_free(&setrows);
    dscat_buf_free(&tables);
    dscat_buf_free(&members);
    return rc;
}

static int pg_insert_database(dscat_store *base, int64_t scan_id, dscat_db_scan *d,
                              dscat_error *err)
{
    pg_store *st = P(base);
    dscat_scan_content c = {0};
    PGresult *r = NULL;
    char *target = NULL;
    int64_t set = 0;
    num n[3];
    char hex[33];
    int rc;
    if (!st->has_content_key)
        return dscat_error_set(err, DSCAT_EINVALID, "catalog store %s has no content key",
                               st->name);
    const char *p[1] = {numtext(&n[0], scan_id)};
    if ((rc = run(st, "SELECT target FROM scans WHERE id = $1", 1, p, &r, err)))
        goto done;
    if (PQntuples(r) == 0) {
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "catalog store %s: no scan %lld", st->name,
                             (long long)scan_id);
        goto done;
    }
    if ((target = dscat_strdup(PQgetvalue(r, 0, 0))) == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dscat_scan_content_build(&c, d, target, st->content_key, err)))
        goto done;
    hex16(hex, c.table_set);
    const char *h[1] = {hex};
    if ((rc = run_int(st, "SELECT id FROM table_sets WHERE hash = decode($1, 'hex')", 1, h, 0, &set,
                      err)))
        goto done;
    if (set == 0 && ((rc = run_int(st,
                                   "INSERT INTO table_sets(hash) VALUES (decode($1, 'hex')) "
                                   "RETURNING id",
                                   1, h, 0, &set, err)) ||
                     (rc = write_table_set(st, d, &c, set, err))))
        goto done;
    const char *q[4] = {numtext(&n[0], scan_id), d->database, numtext(&n[1], set),
                        numtext(&n[2], d->scanned_at_us)};
    rc = run(st,
             "INSERT INTO scan_databases(scan_id, database, table_set, scanned_at_us) "
             "VALUES ($1, $2, $3, $4)",
             4, q, NULL, err);
done:
    PQclear(r);
    dscat_scan_content_free(&c);
    dscat_free(target);
    return rc;
}

static int pg_set_current(dscat_store *base, const char *target, int64_t scan_id, dscat_error *err)
{
    num n;
    const char *p[2] = {target, numtext(&n, scan_id)};
    return run(P(base),
               "INSERT INTO targets(key, current_scan_id) VALUES ($1, $2) ON CONFLICT(key) DO "
               "UPDATE SET current_scan_id = excluded.current_scan_id",
               2, p, NULL, err);
}

static int pg_prune(dscat_store *base, const char *target, int keep, dscat_error *err)
{
    pg_store *st = P(base);
    num n;
    const char *p[2] = {target, numtext(&n, keep)};
    int rc = run(st,
                 "DELETE FROM scans WHERE target = $1 "
                 "AND id NOT IN (SELECT id FROM scans WHERE target = $1 ORDER BY id DESC "
                 "LIMIT CAST($2 AS BIGINT)) "
                 "AND id IS DISTINCT FROM (SELECT current_scan_id FROM targets WHERE key = $1)",
                 2, p, NULL, err);
    if (rc == 0 && st->changes > 0)
        rc = exec(st,
                  "DELETE FROM table_sets s WHERE NOT EXISTS (SELECT 1 FROM scan_databases d "
                  "WHERE d.table_set = s.id);"
                  "DELETE FROM tables t WHERE NOT EXISTS (SELECT 1 FROM table_set_members m "
                  "WHERE m.table_id = t.id);"
                  "DELETE FROM column_sets s WHERE NOT EXISTS (SELECT 1 FROM tables t "
                  "WHERE t.column_set = s.id);",
                  err);
    return rc;
}

static int pg_analyze(dscat_store *base, dscat_error *err)
{
    return exec(P(base),
                "ANALYZE scans, targets, scan_databases, table_sets, table_set_members, tables, "
                "column_sets",
                err);
}

static int pg_schedule_deletion(dscat_store *base, const char *path, const char *delete_after,
                                dscat_error *err)
{
    const char *p[2] = {path, delete_after};
    return run(P(base),
               "INSERT INTO pending_deletions(path, delete_after, retry_count) "
               "VALUES ($1, $2, 0) ON CONFLICT(path) DO NOTHING",
               2, p, NULL, err);
}

/* As sqlite.c: the rows schema and table select ($1 the connection, $2 and $3 the table). */
static const char *cached_match(const char *schema)
{
    return schema ? "connection_id = $1 AND schema = $2 AND name = $3" : "connection_id = $1";
}

static int run_cached(pg_store *st, const char *head, const char *connection_id, const char *schema,
                      const char *table, const char *tail, const char *extra, dscat_error *err)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_buf_printf(&sql, "%s%s%s", head, cached_match(schema), tail);
    int rc = dscat_buf_check(&sql, err, "store query");
    /* extra is $4 with a schema, $2 without */
    const char *p[4] = {connection_id, schema ? schema : extra, table, extra};
    if (rc == 0)
        rc =
            run(st, dscat_buf_cstr(&sql), schema ? (extra ? 4 : 3) : (extra ? 2 : 1), p, NULL, err);
    dscat_buf_free(&sql);
    return rc;
}

static int pg_schedule_cached(dscat_store *base, const char *connection_id, const char *schema,
                              const char *table, const char *delete_after, dscat_error *err)
{
    return run_cached(P(base),
                      schema ? "INSERT INTO pending_deletions(path, delete_after, retry_count) "
                               "SELECT path, $4, 0 FROM table_cache WHERE "
                             : "INSERT INTO pending_deletions(path, delete_after, retry_count) "
                               "SELECT path, $2, 0 FROM table_cache WHERE ",
                      connection_id, schema, table, " ON CONFLICT(path) DO NOTHING", delete_after,
                      err);
}

static int pg_put_cached(dscat_store *base, const dscat_cache_row *row, dscat_error *err)
{
    num n[5];
    const char *p[14] = {row->connection_id,
                         row->schema,
                         row->table,
                         row->version,
                         row->path,
                         numtext(&n[0], row->rows),
                         numtext(&n[1], row->bytes),
                         numtext(&n[2], row->last_sync_us),
                         row->fallbacks,
                         numtext(&n[3], row->files > 0 ? row->files : 1),
                         row->layout,
                         row->append_key,
                         row->append_max,
                         numtext(&n[4], row->full_us)};
    return run(
        P(base),
        "INSERT INTO table_cache(connection_id, schema, name, version, path, rows, bytes, "
        "last_sync_us, fallbacks, files, layout, append_key, append_max, full_us) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
        "ON CONFLICT(connection_id, schema, name) DO UPDATE SET version = excluded.version, "
        "path = excluded.path, rows = excluded.rows, bytes = excluded.bytes, "
        "last_sync_us = excluded.last_sync_us, fallbacks = excluded.fallbacks, "
        "files = excluded.files, layout = excluded.layout, append_key = excluded.append_key, "
        "append_max = excluded.append_max, full_us = excluded.full_us",
        14, p, NULL, err);
}

static int pg_delete_cached(dscat_store *base, const char *connection_id, const char *schema,
                            const char *table, size_t *deleted, dscat_error *err)
{
    pg_store *st = P(base);
    int rc = run_cached(st, "DELETE FROM table_cache WHERE ", connection_id, schema, table, "",
                        NULL, err);
    if (rc == 0)
        *deleted = (size_t)st->changes;
    return rc;
}

/* As sqlite.c: recorded while this process holds the claim, or the claim was released and no
 * other run was recorded since; a run taken over records nothing. */
static int pg_put_schedule_run(dscat_store *base, const dscat_schedule_record *r, dscat_error *err)
{
    num n[4];
    const char *p[11] = {r->kind,
                         r->target,
                         r->schema ? r->schema : "",
                         r->table ? r->table : "",
                         numtext(&n[0], r->started_us),
                         numtext(&n[1], r->finished_us),
                         r->ok ? "ok" : "failed",
                         r->ok ? NULL : r->error,
                         numtext(&n[2], r->failures),
                         r->owner,
                         opt_num(&n[3], r->claimed_after_us)};
    return run(P(base),
               "INSERT INTO schedule_runs(kind, target, schema, name, started_us, finished_us, "
               "result, error, failures) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
               "ON CONFLICT(kind, target, schema, name) DO UPDATE SET "
               "started_us = excluded.started_us, finished_us = excluded.finished_us, "
               "result = excluded.result, error = excluded.error, failures = excluded.failures, "
               "claimed_us = NULL, claimed_by = NULL, renewed_us = NULL "
               "WHERE schedule_runs.claimed_by = CAST($10 AS TEXT) OR "
               "(schedule_runs.claimed_by IS NULL AND "
               "schedule_runs.finished_us IS NOT DISTINCT FROM CAST($11 AS BIGINT))",
               11, p, NULL, err);
}

/* As sqlite.c, in one statement: the row's lock makes concurrent claims take turns. */
static int pg_claim_schedule_run(dscat_store *base, const dscat_schedule_record *seen,
                                 int64_t now_us, int64_t stale_before_us, bool *claimed,
                                 dscat_error *err)
{
    pg_store *st = P(base);
    num n[3];
    const char *p[9] = {seen->kind,
                        seen->target,
                        seen->schema ? seen->schema : "",
                        seen->table ? seen->table : "",
                        numtext(&n[0], now_us),
                        numtext(&n[1], stale_before_us),
                        opt_num(&n[2], seen->finished_us),
                        seen->owner,
                        seen->dead_owner};
    *claimed = false;
    int rc = run(st,
                 "INSERT INTO schedule_runs(kind, target, schema, name, claimed_us, claimed_by, "
                 "renewed_us) VALUES ($1, $2, $3, $4, $5, $8, $5) "
                 "ON CONFLICT(kind, target, schema, name) DO UPDATE SET "
                 "claimed_us = excluded.claimed_us, claimed_by = excluded.claimed_by, "
                 "renewed_us = excluded.renewed_us "
                 "WHERE (schedule_runs.claimed_us IS NULL OR "
                 "coalesce(schedule_runs.renewed_us, schedule_runs.claimed_us) < "
                 "CAST($6 AS BIGINT) OR schedule_runs.claimed_by = CAST($9 AS TEXT)) "
                 "AND schedule_runs.finished_us IS NOT DISTINCT FROM CAST($7 AS BIGINT)",
                 9, p, NULL, err);
    if (rc == 0)
        *claimed = st->changes == 1;
    return rc;
}

/*
 * Table locks: session advisory locks (one bigint key: a hash of the schema's oid and the
 * table's key), held by the store's connection until unlocked or the connection ends, so a
 * killed process releases them at once, and a lost machine when the server's keepalives give up
 * on its connection (set at connect: about a minute).
 */
static int lock_sql(pg_store *st, const char *fn, const char *key, PGresult **r, dscat_error *err)
{
    char oid[16], sql[128];
    snprintf(oid, sizeof(oid), "%u", st->schema_oid);
    snprintf(sql, sizeof(sql), "SELECT %s(hashtextextended($1 || '/' || $2, %d))", fn,
             PG_LOCK_CLASS);
    const char *p[2] = {oid, key};
    return run(st, sql, 2, p, r, err);
}

static int pg_lock_table(dscat_store *base, const char *key, bool *waited, dscat_error *err)
{
    pg_store *st = P(base);
    PGresult *r = NULL;
    *waited = false;
    int rc = lock_sql(st, "pg_try_advisory_lock", key, &r, err);
    bool got = rc == 0 && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (rc == 0 && !got) {
        /* another process refreshes the table: wait for it, at most TABLE_LOCK_WAIT_S */
        *waited = true;
        char set[64];
        snprintf(set, sizeof(set), "SET lock_timeout = '%ds'", lock_wait_s(TABLE_LOCK_WAIT_S));
        if ((rc = exec(st, set, err)) == 0) {
            rc = lock_sql(st, "pg_advisory_lock", key, NULL, err);
            if (rc && lock_timed_out(st))
                rc = dscat_error_set(err, DSCAT_ECONFLICT,
                                     "catalog store %s: table %s is being cached by another "
                                     "process (waited %d s); try again",
                                     st->name, key, lock_wait_s(TABLE_LOCK_WAIT_S));
            snprintf(set, sizeof(set), "SET lock_timeout = '%ds'", lock_wait_s(LOCK_WAIT_S));
            exec(st, set, NULL);
        }
    }
    st->session_locks += rc == 0;
    return rc;
}

static void pg_unlock_table(dscat_store *base, const char *key)
{
    pg_store *st = P(base);
    /* A connection whose transaction a failed statement aborted runs nothing more: the lock is
     * then released when the caller ends that transaction's connection (its store), never by
     * ending the caller's transaction here. */
    if (PQtransactionStatus(st->conn) != PQTRANS_INERROR &&
        lock_sql(st, "pg_advisory_unlock", key, NULL, NULL) == 0)
        st->session_locks--;
}

/* Held by another connection; a failed check answers "held" (the safe answer for the sweep). */
static bool pg_table_locked(dscat_store *base, const char *key)
{
    pg_store *st = P(base);
    PGresult *r = NULL;
    if (lock_sql(st, "pg_try_advisory_lock", key, &r, NULL))
        return true;
    bool got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got) {
        st->session_locks++;
        pg_unlock_table(base, key);
    }
    return !got;
}

/*
 * Statements. The SQL's `?N` become `$N` and each bare `?` the number after the largest so far
 * (SQLite's rule); quoted texts and names are copied as they are.
 */
static int translate(const char *sql, char **out, int *nparams)
{
    dscat_buf b = DSCAT_BUF_INIT;
    int max = 0;
    for (const char *p = sql; *p;) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            const char *e = p + 1;
            while (*e && *e != q)
                e++;
            if (*e)
                e++;
            dscat_buf_put(&b, p, (size_t)(e - p));
            p = e;
        } else if (*p == '?') {
            p++;
            int v = 0;
            if (*p >= '0' && *p <= '9') {
                while (*p >= '0' && *p <= '9' && v < 100000)
                    v = v * 10 + (*p++ - '0');
            } else {
                v = max + 1;
            }
            if (v > max)
                max = v;
            dscat_buf_printf(&b, "$%d", v);
        } else {
            dscat_buf_putc(&b, *p++);
        }
    }
    *nparams = max;
    *out = dscat_buf_detach(&b);
    return *out ? 0 : DSCAT_ENOMEM;
}

static void clear_binds(pg_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        if (s->owned[i])
            dscat_free(s->values[i]);
        s->values[i] = NULL;
        s->owned[i] = false;
        s->types[i] = OID_TEXT;
    }
}

/*
 * A cursor done with (read to its end, or left) is closed with the next FETCH on the connection,
 * in the same round trip; one whose transaction has ended went with it.
 */
static void close_cursor(pg_stmt *s)
{
    pg_store *st = P(s->base.store);
    if (s->cursor && PQtransactionStatus(st->conn) == PQTRANS_INTRANS) {
        if (st->close_txn != st->txn) {
            dscat_buf_reset(&st->closes);
            st->close_txn = st->txn;
        }
        dscat_buf_printf(&st->closes, "CLOSE dscat_c%ld; ", s->cursor);
    }
    s->cursor = 0;
    s->more = false;
}

static void pg_finalize(dscat_stmt *base)
{
    pg_stmt *s = Q(base);
    if (s->base.store)
        close_cursor(s);
    PQclear(s->res);
    if (s->values)
        clear_binds(s);
    dscat_free(s->values);
    dscat_free(s->owned);
    dscat_free(s->types);
    dscat_free(s->sql);
    dscat_free(s);
}

static int pg_prepare(dscat_stmt **out, dscat_store *base, const char *sql, dscat_error *err)
{
    pg_store *st = P(base);
    *out = NULL;
    if (sql == NULL || strspn(sql, " \t\r\n;") == strlen(sql))
        return dscat_error_set(err, DSCAT_EINVALID, "cannot prepare a query: no statement");
    pg_stmt *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL || translate(sql, &s->sql, &s->nparams)) {
        if (s)
            pg_finalize(&s->base);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    size_t n = (size_t)s->nparams + 1;
    s->values = dscat_calloc(n, sizeof(char *));
    s->owned = dscat_calloc(n, sizeof(bool));
    s->types = dscat_calloc(n, sizeof(unsigned));
    if (!s->values || !s->owned || !s->types) {
        pg_finalize(&s->base);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    clear_binds(s);
    const char *first = s->sql + strspn(s->sql, " \t\r\n(");
    s->query = strncasecmp(first, "SELECT", 6) == 0 || strncasecmp(first, "WITH", 4) == 0;
    dscat_stmt__init(&s->base, &st->base);
    *out = &s->base;
    return 0;
}

static void set_param(pg_stmt *s, int i, char *v, bool owned, unsigned type)
{
    if (i < 1 || i > s->nparams) {
        if (owned)
            dscat_free(v);
        return;
    }
    if (s->owned[i - 1])
        dscat_free(s->values[i - 1]);
    s->values[i - 1] = v;
    s->owned[i - 1] = owned;
    s->types[i - 1] = type;
}

static void pg_bind_int64(dscat_stmt *base, int i, int64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%lld", (long long)v);
    set_param(Q(base), i, dscat_strdup(t), true, OID_INT8);
}

static void pg_bind_double(dscat_stmt *base, int i, double v)
{
    char t[40];
    snprintf(t, sizeof(t), "%.17g", v);
    set_param(Q(base), i, dscat_strdup(t), true, OID_FLOAT8);
}

static void pg_bind_text(dscat_stmt *base, int i, const char *v, bool copy)
{
    if (v == NULL)
        set_param(Q(base), i, NULL, false, OID_TEXT);
    else if (copy)
        set_param(Q(base), i, dscat_strdup(v), true, OID_TEXT);
    else
        set_param(Q(base), i, (char *)v, false, OID_TEXT);
}

static void pg_bind_null(dscat_stmt *base, int i)
{
    set_param(Q(base), i, NULL, false, 0);
}

/* The next batch of the statement's cursor. */
static int fetch(pg_store *st, pg_stmt *s)
{
    if (st->close_txn != st->txn)
        dscat_buf_reset(&st->closes);
    dscat_buf_printf(&st->closes, "FETCH FORWARD %d FROM dscat_c%ld", FETCH_ROWS, s->cursor);
    PQclear(s->res);
    s->res = dscat_buf_error(&st->closes) ? NULL : PQexec(st->conn, dscat_buf_cstr(&st->closes));
    dscat_buf_reset(&st->closes);
    st->close_txn = st->txn;
    if (PQresultStatus(s->res) != PGRES_TUPLES_OK) {
        note_failure(st, s->res);
        PQclear(s->res);
        s->res = NULL;
        s->nrows = s->row = 0;
        s->cursor = 0;
        s->more = false;
        return DSCAT_EIO;
    }
    s->nrows = PQntuples(s->res);
    s->row = 0;
    s->more = s->nrows == FETCH_ROWS;
    if (!s->more)
        close_cursor(s); /* read to its end */
    return 0;
}

/*
 * Runs the statement: a query inside a transaction through a cursor (DECLARE, then FETCH in
 * batches), anything else in one round trip with its whole result.
 */
static int run_stmt(pg_store *st, pg_stmt *s)
{
    const char *const *values = (const char *const *)s->values;
    if (s->query && PQtransactionStatus(st->conn) == PQTRANS_INTRANS) {
        dscat_buf sql = DSCAT_BUF_INIT;
        long n = st->cursors + 1;
        if (dscat_buf_printf(&sql, "DECLARE dscat_c%ld NO SCROLL CURSOR FOR %s", n, s->sql))
            return DSCAT_ENOMEM;
        PGresult *r = PQexecParams(st->conn, dscat_buf_cstr(&sql), s->nparams, s->types, values,
                                   NULL, NULL, 0);
        dscat_buf_free(&sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            note_failure(st, r);
        else
            st->state[0] = '\0';
        PQclear(r);
        if (!ok)
            return DSCAT_EIO;
        st->cursors = n;
        s->cursor = n;
        return fetch(st, s);
    }
    s->res = PQexecParams(st->conn, s->sql, s->nparams, s->types, values, NULL, NULL, 0);
    ExecStatusType r = PQresultStatus(s->res);
    if (r != PGRES_TUPLES_OK && r != PGRES_COMMAND_OK) {
        note_failure(st, s->res);
        PQclear(s->res);
        s->res = NULL;
        return DSCAT_EIO;
    }
    const char *c = PQcmdTuples(s->res);
    st->changes = c && *c ? strtoll(c, NULL, 10) : 0;
    s->nrows = r == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
    s->row = 0;
    st->state[0] = '\0'; /* as in exec() */
    return 0;
}

static int pg_step(dscat_stmt *base)
{
    pg_stmt *s = Q(base);
    pg_store *st = P(base->store);
    int rc = 0;
    if (s->failed)
        return DSCAT_EIO;
    if (!s->ran) {
        s->ran = true;
        rc = run_stmt(st, s);
    } else if (s->row < s->nrows && ++s->row == s->nrows && s->more) {
        rc = fetch(st, s);
    }
    if (rc) {
        s->failed = true;
        return rc;
    }
    return s->row < s->nrows ? DSCAT_STMT_ROW : DSCAT_STMT_DONE;
}

static void pg_reset(dscat_stmt *base)
{
    pg_stmt *s = Q(base);
    close_cursor(s);
    PQclear(s->res);
    s->res = NULL;
    s->ran = false;
    s->failed = false;
    s->row = s->nrows = 0;
    clear_binds(s);
}

static bool has_value(pg_stmt *s, int i)
{
    return s->res && s->row < s->nrows && i >= 0 && i < PQnfields(s->res) &&
           !PQgetisnull(s->res, s->row, i);
}

static bool pg_is_null(dscat_stmt *base, int i)
{
    return !has_value(Q(base), i);
}

static int64_t pg_column_int64(dscat_stmt *base, int i)
{
    pg_stmt *s = Q(base);
    if (!has_value(s, i))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, i);
    if (PQftype(s->res, i) == OID_BOOL)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static double pg_column_double(dscat_stmt *base, int i)
{
    pg_stmt *s = Q(base);
    return has_value(s, i) ? strtod(PQgetvalue(s->res, s->row, i), NULL) : 0.0;
}

static const char *pg_column_text(dscat_stmt *base, int i)
{
    pg_stmt *s = Q(base);
    if (!has_value(s, i))
        return NULL;
    if (PQftype(s->res, i) == OID_BOOL)
        return PQgetvalue(s->res, s->row, i)[0] == 't' ? "1" : "0";
    return PQgetvalue(s->res, s->row, i);
}

static size_t pg_column_bytes(dscat_stmt *base, int i)
{
    pg_stmt *s = Q(base);
    const char *t = pg_column_text(base, i);
    return t == NULL                        ? 0
           : PQftype(s->res, i) == OID_BOOL ? 1
                                            : (size_t)PQgetlength(s->res, s->row, i);
}

const dscat_store_table dscat_store__postgres_table = {
    .version = DSCAT_STORE_TABLE_VERSION,
    .name = "postgres",
    .known_version = KNOWN_VERSION,
    .global_init = pg_global_init,
    .global_shutdown = pg_global_shutdown,
    .check_version = pg_check_version,
    .describe = pg_describe,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .snapshot_begin = pg_snapshot_begin,
    .snapshot_end = pg_snapshot_end,
    .exec = pg_exec,
    .error = pg_error,
    .generation = pg_generation,
    .exports_generation = pg_exports_generation,
    .set_exports_generation = pg_set_exports_generation,
    .catalog_id = pg_catalog_id,
    .fingerprint = pg_fingerprint,
    .insert_scan = pg_insert_scan,
    .insert_database = pg_insert_database,
    .set_current = pg_set_current,
    .prune = pg_prune,
    .analyze = pg_analyze,
    .put_schedule_run = pg_put_schedule_run,
    .claim_schedule_run = pg_claim_schedule_run,
    .schedule_deletion = pg_schedule_deletion,
    .schedule_cached = pg_schedule_cached,
    .put_cached = pg_put_cached,
    .delete_cached = pg_delete_cached,
    .shared_locks = true,
    .lock_table = pg_lock_table,
    .unlock_table = pg_unlock_table,
    .table_locked = pg_table_locked,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .reset = pg_reset,
    .is_null = pg_is_null,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_bytes = pg_column_bytes,
    .finalize = pg_finalize,
};
