/*
 * PostgreSQL source (libpq). Per database, inside a read-only repeatable-read transaction, four
 * catalog queries over pg_catalog: tables, columns (with the primary-key flag), foreign keys,
 * then the types of the columns. The columns stream on the scan's connection while the tables
 * and foreign keys are read on a second connection to the same database, in a transaction that
 * imports the first one's snapshot; the types follow on the first (pg_scan_database). Without a
 * second connection the four run one after the other. Partitions are folded into their parent;
 * views, materialized views and foreign tables are catalogued.
 *
 * Connecting is non-blocking (PQconnectStartParams + poll) so that connect_timeout is honoured
 * to the millisecond, including the login: a server that accepts and never answers times out.
 *
 * After the login the connection stays non-blocking and every exchange has a deadline of our own:
 * a query is sent (PQsendQuery, PQflush) and its result awaited (PQconsumeInput, PQisBusy) with
 * poll() until query_timeout has passed; a COPY stream (PQgetCopyData with async=1: a cache's
 * rows, and the catalog's column query) waits at most query_timeout for each piece of data. A
 * network that stops (a silent proxy, a half-dead link) is then an error naming the target, never a
 * hang. A connection that missed a deadline is broken: nothing more is sent or awaited on it (no
 * cancel, no drain), it is only closed. On the server side, statement_timeout ends a query that
 * runs past query_timeout, and TCP keepalives on both ends find a peer that has gone away.
 *
 * Server notices (NOTICE, WARNING from the server) are dropped by a notice processor: libpq's
 * default one prints them to stderr, and library code never prints. The catalog queries raise
 * none in normal operation; nothing a notice could say changes a scan.
 */
#include "sources/source.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/glob.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

typedef struct pg_source {
    dscat_source base;
    PGconn *conn;
    char *where;       /* "host:port" for messages */
    char *filter;      /* the target's schema and table globs as SQL conditions, or "" */
    int query_timeout; /* seconds; the deadline of each query and of each wait in a row stream */
    double connect_timeout; /* seconds; the login's deadline, also a scan's second connection's */
    bool broken;            /* a deadline passed: the connection is only closed now */
    bool raw_text;          /* the database is SQL_ASCII: its text arrives as its bytes */
    PGconn *drain;  /* while this connection waits for input: another one of the same scan whose
                     * input is read meanwhile (borrowed), or NULL */
    size_t drained; /* bytes read for the drain connection: libpq keeps them until it is read */
} pg_source;

/* What a scan reads ahead for its other connection, at most: past it, that server waits. */
#define DRAIN_MAX ((size_t)64 << 20)

/* Objects never catalogued: the system schemas, TOAST and other sessions' temporary schemas. */
#define PG_USER_SCHEMAS                                                                            \
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "                                       \
    "AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "

#define PG_RELATIONS "c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition "

/*
 * Row estimates come from the planner (reltuples; -1 when never analysed). Sizes are the
 * planner's too by default: the pages (relpages) of the table, its TOAST table and every index of
 * both, times the block size, unknown (NULL) when the table was never analysed or vacuumed, as its
 * row estimate is. They are read from pg_class alone: no relation is opened, so no lock is taken
 * and a table held under ACCESS EXCLUSIVE cannot delay the scan. With exact_sizes they are
 * pg_total_relation_size (the same relations, measured on disk), which opens each relation in
 * turn with a lock released at once: a relcache entry built per relation, most of the query's
 * time on a big catalog, and a wait behind any ACCESS EXCLUSIVE lock.
 *
 * A partitioned table sums its leaf partitions, recursively; when one leaf's figure is unknown
 * the parent's is unknown too, never a partial sum.
 */
/* "(SELECT <sum over leaves> FROM (SELECT <figure of leaf pc> AS v FROM <leaves of c>) l)" */
#define PG_LEAF_SUM                                                                                \
    "(SELECT CASE WHEN count(*) = count(l.v) THEN coalesce(sum(l.v), 0) END FROM (SELECT "
#define PG_OF_LEAVES                                                                               \
    " AS v FROM pg_partition_tree(c.oid) pt JOIN pg_class pc ON pc.oid = pt.relid "                \
    "WHERE pt.isleaf) l)"

/* The planner's size of relation r (an alias of pg_class), through two index lookups. */
#define PG_PLANNER_SIZE(r)                                                                         \
    "CASE WHEN " r ".reltuples >= 0 THEN (" r ".relpages::int8 "                                   \
    "  + coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = " r ".reltoastrelid), 0) "      \
    "  + coalesce((SELECT sum(ic.relpages) FROM pg_index i JOIN pg_class ic "                      \
    "    ON ic.oid = i.indexrelid WHERE i.indrelid IN (" r ".oid, " r ".reltoastrelid)), 0)) "     \
    "  * current_setting('block_size')::int8 END"
#define PG_EXACT_SIZE(r) "pg_total_relation_size(" r ".oid)"

/* The tables query, with size(r) the size of relation r and `readable` whether the role may
 * SELECT from the relation: PG_READABLE when the scan is profiled (it says whether the columns
 * can be), checked here, on the connection that does not stream the columns, rather than in the
 * columns query, whose rows wait for it; else NULL, as no one asks (the check costs a catalog
 * cache entry per relation on the server). */
#define PG_READABLE "has_table_privilege(c.oid, 'SELECT')"
#define PG_TABLES_SQL(size_c, size_pc, readable)                                                   \
    "SELECT n.nspname, c.relname, c.relkind, "                                                     \
    "  CASE WHEN c.relkind = 'p' THEN " PG_LEAF_SUM "CASE WHEN pc.relkind IN ('r', 'm', 'f') "     \
    "    AND pc.reltuples >= 0 THEN pc.reltuples::float8 END" PG_OF_LEAVES                         \
    "  WHEN c.relkind IN ('r', 'm', 'f') AND c.reltuples >= 0 THEN c.reltuples::float8 END, "      \
    "  CASE WHEN c.relkind = 'p' THEN " PG_LEAF_SUM "CASE WHEN pc.relkind IN ('r', 'm') "          \
    "    THEN " size_pc " END" PG_OF_LEAVES "  WHEN c.relkind IN ('r', 'm') THEN " size_c " END, " \
    "  d.description, has_schema_privilege(n.oid, 'USAGE'), c.oid, " readable " "                  \
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "                               \
    "LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass "        \
    "  AND d.objsubid = 0 "                                                                        \
    "WHERE " PG_RELATIONS "AND " PG_USER_SCHEMAS

/* [exact_sizes][profiled] */
static const char *const tables_sql[2][2] = {
    {PG_TABLES_SQL(PG_PLANNER_SIZE("c"), PG_PLANNER_SIZE("pc"), "NULL"),
     PG_TABLES_SQL(PG_PLANNER_SIZE("c"), PG_PLANNER_SIZE("pc"), PG_READABLE)},
    {PG_TABLES_SQL(PG_EXACT_SIZE("c"), PG_EXACT_SIZE("pc"), "NULL"),
     PG_TABLES_SQL(PG_EXACT_SIZE("c"), PG_EXACT_SIZE("pc"), PG_READABLE)}};

/*
 * What a column takes from its type is read once per distinct (type, typmod) pair of the
 * catalogued columns, by the types query, and joined to the columns on our side: the columns
 * query returns each column's type and typmod only, which halves its cost on the server. The
 * types query runs once the columns have been read, on the pairs they hold, sent with it as two
 * arrays: finding the pairs on the server would read every attribute of the database again.
 *
 * data_type follows information_schema.columns, with ARRAY and USER-DEFINED spelled out, and
 * the SQL-standard names of pg_catalog types (format_type without a typmod: bpchar is
 * "character"). The element and base types are looked up only for the types that need them.
 * A column is non-nullable when it is declared NOT NULL or its domain (or the domain's own base
 * domain) is.
 *
 * A column can be profiled when the user may read it. Its distinct count needs its type (an
 * array's element; a domain's base, recursively) to have a default btree operator class, the
 * ordering COUNT(DISTINCT) sorts with (directly, through a type it is binary-coercible to
 * implicitly, as varchar has text's, or as every enum, range and multirange has): the types query
 * says which types are orderable, found set-based, as the server's own lookup
 * (GetDefaultOpClass) finds them. Only an implicit cast counts: xml's cast to text is binary but
 * an assignment cast, and xml has no equality. A composite type compares field by field (record's
 * operator class): it is orderable when each of its fields' types (an array field's element) is,
 * one level deep (a composite field makes it unorderable: its distinct count is left null). A
 * type without (json, xml, point, box, polygon, txid_snapshot, an array, domain or composite of
 * one, a user type without an operator class) has its null count profiled and its distinct count
 * left null.
 */
static const char *const types_head =
    "WITH RECURSIVE ordered AS (SELECT DISTINCT oc.opcintype AS oid FROM pg_opclass oc "
    "  JOIN pg_am am ON am.oid = oc.opcmethod WHERE am.amname = 'btree' AND oc.opcdefault), "
    "orderable(oid) AS (SELECT oid FROM ordered UNION SELECT k.castsource FROM pg_cast k "
    "  JOIN ordered o ON o.oid = k.casttarget WHERE k.castmethod = 'b' AND k.castcontext = 'i' "
    "  UNION SELECT oid FROM pg_type WHERE typtype IN ('e', 'r', 'm') "
    "  UNION SELECT d.oid FROM pg_type d JOIN orderable b ON b.oid = d.typbasetype "
    "  WHERE d.typtype = 'd') "
    "SELECT p.id, p.tmod, ty.full_type, ty.data_type, ty.notnull, ty.max_length, "
    "  ty.num_precision, ty.num_scale, ty.orderable "
    "FROM ";

/* The pairs, as unnest('{oid,...}'::oid[], '{typmod,...}'::int4[]), come between the two. */
static const char *const types_tail =
    " AS p(id, tmod) "
    "CROSS JOIN LATERAL (SELECT f.full_type, "
    "  CASE WHEN t.typtype = 'd' THEN (SELECT "
    "    CASE WHEN bt.typelem <> 0 AND bt.typlen = -1 "
    "         THEN (SELECT bet.typname FROM pg_type bet WHERE bet.oid = bt.typelem) || '[]' "
    "         WHEN bt.typnamespace = 'pg_catalog'::regnamespace "
    "         THEN format_type(t.typbasetype, NULL) ELSE bt.typname END "
    "    FROM pg_type bt WHERE bt.oid = t.typbasetype) "
    "  WHEN t.typelem <> 0 AND t.typlen = -1 "
    "    THEN (SELECT et.typname FROM pg_type et WHERE et.oid = t.typelem) || '[]' "
    "  WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN CASE WHEN p.tmod = -1 "
    "    AND p.id <> 'bpchar'::regtype THEN f.full_type "
    "    ELSE format_type(p.id, NULL) END "
    "  ELSE t.typname END AS data_type, "
    "  t.typnotnull OR coalesce(xt.typnotnull, false) AS notnull, "
    /* information_schema's _pg_char_max_length, _pg_numeric_precision and _pg_numeric_scale,
     * inlined: as function calls they cost more than the rest of the query together. The scale
     * is decoded as numeric's own typmod code does (PostgreSQL 15 allows a scale from -1000 to
     * 1000, whatever the precision): the low 11 bits, sign-extended. information_schema reads
     * them unsigned and says 2046 for numeric(5,-2). */
    "  CASE WHEN x.tmod = -1 THEN NULL WHEN x.tid IN (1042, 1043) THEN x.tmod - 4 "
    "       WHEN x.tid IN (1560, 1562) THEN x.tmod END AS max_length, "
    "  CASE x.tid WHEN 21 THEN 16 WHEN 23 THEN 32 WHEN 20 THEN 64 WHEN 700 THEN 24 "
    "       WHEN 701 THEN 53 WHEN 1700 THEN CASE WHEN x.tmod = -1 THEN NULL "
    "       ELSE ((x.tmod - 4) >> 16) & 65535 END END AS num_precision, "
    "  CASE WHEN x.tid IN (21, 23, 20) THEN 0 WHEN x.tid = 1700 THEN CASE WHEN x.tmod = -1 "
    "       THEN NULL ELSE (((x.tmod - 4) & 2047) # 1024) - 1024 END END AS num_scale, "
    "  EXISTS (SELECT FROM orderable ob WHERE ob.oid = et.oid) OR (et.typtype = 'c' "
    "    AND NOT EXISTS (SELECT FROM pg_attribute fa JOIN pg_type ft ON ft.oid = fa.atttypid "
    "    WHERE fa.attrelid = et.typrelid AND fa.attnum > 0 AND NOT fa.attisdropped "
    "    AND NOT EXISTS (SELECT FROM orderable fo WHERE fo.oid = CASE WHEN ft.typelem <> 0 "
    "      AND ft.typlen = -1 THEN ft.typelem ELSE ft.oid END))) AS orderable "
    "  FROM pg_type t "
    "  CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype "
    "    ELSE p.id END AS tid, "
    "    CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE p.tmod END AS tmod) x "
    "  CROSS JOIN LATERAL (SELECT format_type(p.id, p.tmod) AS full_type) f "
    "  LEFT JOIN pg_type xt ON xt.oid = x.tid AND t.typtype = 'd' "
    "  JOIN pg_type et ON et.oid = CASE WHEN coalesce(xt.typelem, t.typelem) <> 0 "
    "    AND coalesce(xt.typlen, t.typlen) = -1 THEN coalesce(xt.typelem, t.typelem) "
    "    ELSE x.tid END "
    "  WHERE t.oid = p.id) ty";

/*
 * The columns, each with its type by oid and typmod (see types_head). For a profile, a column is
 * readable when its table is (the tables query says so, once per table) or when its own ACL
 * grants SELECT: only columns with an ACL of their own need a check here.
 *
 * Rows name their table by oid, not by name: the decoder keeps the last table it saw and finds
 * others by number. The primary-key flag comes along (a relation has at most one primary key,
 * so the join adds no rows). A column default cannot reference columns, so pg_get_expr needs no
 * relation to resolve names against: passing 0 gives the same text without opening every table
 * that has a default. The default is looked up through pg_attrdef's index only for the columns
 * that have one (atthasdef): a join would hash every default's expression tree, wide enough to
 * spill to disk on a large catalog. A generated column's expression is no default (SQLite's and
 * MariaDB's catalogs show none for one either): it has no default, and attgenerated says which
 * kind it is ('s' stored; 'v' virtual, PostgreSQL 18), read from pg_attribute's own row. The
 * catalogued relations come from a subquery (OFFSET 0 keeps it whole) that the target's filter
 * ends.
 */
#define PG_COLUMNS_HEAD(readable)                                                                  \
    "SELECT a.attrelid, a.attname, a.attnum, a.attnotnull, a.atttypid, a.atttypmod, "              \
    "  CASE WHEN a.atthasdef AND a.attgenerated = '' THEN (SELECT pg_get_expr(ad.adbin, 0) "       \
    "    FROM pg_attrdef ad WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum) END, "          \
    "  ds.description, " readable ", coalesce(a.attnum = ANY (pk.conkey), false), "                \
    "  a.attgenerated "                                                                            \
    "FROM (SELECT c.oid "                                                                          \
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "                             \
    "  WHERE " PG_RELATIONS "AND " PG_USER_SCHEMAS

/* [profiled]: whether a column's own ACL lets the role read it, asked only for a profile. */
static const char *const columns_head[2] = {
    PG_COLUMNS_HEAD("NULL"),
    PG_COLUMNS_HEAD("a.attacl IS NOT NULL AND has_column_privilege(c.oid, a.attnum, 'SELECT')")};

static const char *const columns_tail =
    " OFFSET 0) c "
    "JOIN pg_attribute a ON a.attrelid = c.oid "
    "LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p' "
    "LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass "
    "  AND ds.objsubid = a.attnum "
    "WHERE a.attnum > 0 AND NOT a.attisdropped";

/*
 * Foreign keys name their table by oid (as columns do) and their own column by attribute number
 * (ordinal_position): the decoder finds both among what it has read, and drops the keys of
 * relations that are not catalogued. The referenced table and column are named here (the
 * column through pg_attribute's (attrelid, attnum) index): they may be outside the catalogued
 * relations. The target's schema and table filter, when it has one, narrows the keys on the
 * server too, through their table; without one, no table need be joined.
 */
static const char *const fkeys_head =
    "SELECT con.conrelid, k.attnum, rn.nspname, rc.relname, "
    "  (SELECT ra.attname FROM pg_attribute ra WHERE ra.attrelid = con.confrelid "
    "    AND ra.attnum = k.refnum) "
    "FROM pg_constraint con "
    "JOIN pg_class rc ON rc.oid = con.confrelid "
    "JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
    "CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord) ";
static const char *const fkeys_filtered =
    "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace ";
static const char *const fkeys_where = "WHERE con.contype = 'f' AND con.conparentid = 0";
static const char *const fkeys_order = " ORDER BY con.conrelid, con.conname, k.ord";

/* Appends the foreign-key query of s to q. 0 or DSCAT_ENOMEM. */
static int fkeys_query(dscat_buf *q, const pg_source *s)
{
    bool filtered = s->filter[strspn(s->filter, " ")] != '\0';
    if (dscat_buf_puts(q, fkeys_head) || (filtered && dscat_buf_puts(q, fkeys_filtered)) ||
        dscat_buf_puts(q, fkeys_where) || (filtered && dscat_buf_puts(q, s->filter)) ||
        dscat_buf_puts(q, fkeys_order))
        return DSCAT_ENOMEM;
    return 0;
}

/*
 * Appends a condition on column for a list of globs that only narrows what the server returns:
 * the globs themselves are applied to the results on our side (dscat_glob_match, the one
 * matcher), so nothing is decided here that the server's regex or collation could get wrong.
 * An include list becomes "column LIKE 'prefix%' OR ..." over each glob's ASCII literal prefix
 * (nothing at all when a glob has none, as "*" or "[ab]x"); an exclude list drops only the names
 * its wholly literal globs name. LIKE runs under the C collation, byte for byte.
 */
static int filter_clause(PGconn *conn, dscat_buf *out, const char *column,
                         const dscat_string_list *globs, bool include)
{
    if (!globs->set)
        return 0;
    dscat_buf cond = DSCAT_BUF_INIT;
    int rc = 0;
    size_t used = 0;
    for (size_t i = 0; i < globs->count && rc == 0; i++) {
        dscat_buf prefix = DSCAT_BUF_INIT, like = DSCAT_BUF_INIT;
        bool whole = false;
        rc = dscat_glob_prefix(&prefix, &whole, globs->items[i]);
        if (rc == 0 && include && prefix.len == 0 && !whole) {
            dscat_buf_free(&prefix);
            dscat_buf_free(&cond);
            return 0; /* this glob can match any name: the list narrows nothing */
        }
        if (rc == 0 && (include || whole)) {
            for (size_t k = 0; k < prefix.len && rc == 0; k++) {
                char c = prefix.ptr[k];
                if (c == '%' || c == '_' || c == '\\')
                    rc = dscat_buf_putc(&like, '\\');
                if (rc == 0)
                    rc = dscat_buf_putc(&like, c);
            }
            if (rc == 0 && !whole)
                rc = dscat_buf_putc(&like, '%');
            char *lit = rc ? NULL : PQescapeLiteral(conn, dscat_buf_cstr(&like), like.len);
            if (rc == 0 && lit == NULL)
                rc = DSCAT_ENOMEM;
            if (rc == 0)
                rc = dscat_buf_printf(&cond, "%s%s COLLATE \"C\" LIKE %s", used++ ? " OR " : "",
                                      column, lit);
            PQfreemem(lit);
        }
        dscat_buf_free(&like);
        dscat_buf_free(&prefix);
    }
    if (rc == 0 && used)
        rc = dscat_buf_error(&cond);
    if (rc == 0 && used)
        rc = dscat_buf_printf(out, " AND %s(%s)", include ? "" : "NOT ", cond.ptr);
    dscat_buf_free(&cond);
    return rc;
}

static int build_filter(pg_source *s, const dscat_target_config *t)
{
    dscat_buf f = DSCAT_BUF_INIT;
    int rc = dscat_buf_puts(&f, " ");
    if (rc == 0)
        rc = filter_clause(s->conn, &f, "n.nspname", &t->include_schemas, true);
    if (rc == 0)
        rc = filter_clause(s->conn, &f, "n.nspname", &t->exclude_schemas, false);
    if (rc == 0)
        rc = filter_clause(s->conn, &f, "c.relname", &t->include_tables, true);
    if (rc == 0)
        rc = filter_clause(s->conn, &f, "c.relname", &t->exclude_tables, false);
    if (rc) {
        dscat_buf_free(&f);
        return DSCAT_ENOMEM;
    }
    s->filter = dscat_buf_detach(&f);
    return s->filter ? 0 : DSCAT_ENOMEM;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Turns libpq's connection message into the cause alone: drops the "connection to server at
 * ... failed:" preamble and the "FATAL:" severity, keeps the first line.
 */
static void clean_message(const char *raw, char *out, size_t size)
{
    const char *m = raw ? raw : "unknown error";
    const char *failed = strstr(m, " failed: ");
    if (failed && strncmp(m, "connection to server", 20) == 0)
        m = failed + 9;
    while (strncmp(m, "FATAL:", 6) == 0 || strncmp(m, "ERROR:", 6) == 0 || *m == ' ')
        m += (*m == ' ') ? 1 : 6;
    size_t n = strcspn(m, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, m, n);
    out[n] = '\0';
}

/* Maps a failed connection to an error code by its SQLSTATE or, failing that, its text. */
static int classify(PGconn *c, const char *msg)
{
    (void)c;
    if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied") ||
        strstr(msg, "authentication failed") || strstr(msg, "no pg_hba.conf entry"))
        return DSCAT_EAUTH;
    if (strstr(msg, "Connection refused") || strstr(msg, "could not translate host") ||
        strstr(msg, "No route to host") || strstr(msg, "Network is unreachable"))
        return DSCAT_ECONNECT;
    if (strstr(msg, "timeout expired") || strstr(msg, "timed out"))
        return DSCAT_ETIMEOUT;
    if (strstr(msg, "does not exist"))
        return DSCAT_ENOTFOUND;
    if (strstr(msg, "permission denied"))
        return DSCAT_EPERM;
    return DSCAT_ECONNECT;
}

/* Drives PQconnectPoll until the connection is up, fails, or `timeout` seconds have passed. */
static int poll_connect(PGconn *c, double timeout)
{
    double deadline = now_seconds() + timeout;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return DSCAT_ECONNECT;
        double left = deadline - now_seconds();
        if (left <= 0)
            return DSCAT_ETIMEOUT;
        struct pollfd p = {PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue; /* loop re-checks the deadline */
        st = PQconnectPoll(c);
    }
    return 0;
}

/* Drops a server notice (see the top of this file): libpq's default prints it to stderr. */
static void drop_notice(void *payload, const char *message)
{
    (void)payload;
    (void)message;
}

/* The end of a wait of query_timeout seconds from now; 0 when there is no timeout. */
static double deadline_after(const pg_source *s)
{
    return s->query_timeout > 0 ? now_seconds() + s->query_timeout : 0;
}

/*
 * Waits until the connection's socket is ready for `events` or the deadline (0: none) passes.
 * Returns 1 when ready, 0 when the deadline passed, -1 when the socket is gone.
 */
static int wait_socket(PGconn *c, short events, double deadline)
{
    int fd = PQsocket(c);
    if (fd < 0)
        return -1;
    for (;;) {
        int ms = -1;
        if (deadline > 0) {
            double left = deadline - now_seconds();
            if (left <= 0)
                return 0;
            ms = (int)(left * 1000) + 1;
        }
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/*
 * Waits for input on s's connection, as wait_socket does. When s->drain is set (the other
 * connection of a scan), whatever arrives there meanwhile is read into libpq's buffer for it, so
 * that its server never stops for want of a reader while this connection is waited for, up to
 * DRAIN_MAX bytes (libpq holds them until they are read: past it, that server waits). A drain
 * connection that cannot be read is left alone: its own results say what went wrong.
 */
static int wait_input(pg_source *s, double deadline)
{
    int fd = PQsocket(s->conn);
    if (fd < 0)
        return -1;
    for (;;) {
        if (s->drain == NULL || PQsocket(s->drain) < 0)
            return wait_socket(s->conn, POLLIN, deadline);
        int ms = -1;
        if (deadline > 0) {
            double left = deadline - now_seconds();
            if (left <= 0)
                return 0;
            ms = (int)(left * 1000) + 1;
        }
        struct pollfd p[2] = {{fd, POLLIN, 0}, {PQsocket(s->drain), POLLIN, 0}};
        int r = poll(p, 2, ms);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0 && p[1].revents) {
            int pending = 0;
            if (ioctl(p[1].fd, FIONREAD, &pending) == 0 && pending > 0)
                s->drained += (size_t)pending;
            if (!PQconsumeInput(s->drain) || s->drained >= DRAIN_MAX)
                s->drain = NULL;
        }
        if (r > 0 && p[0].revents)
            return 1;
    }
}

/*
 * Sends what libpq has buffered (a query) without blocking past the deadline, reading input
 * meanwhile so that a server answering early cannot deadlock with us. 0, DSCAT_ETIMEOUT (the
 * connection is then broken) or DSCAT_ECONNECT (libpq's message says why).
 */
static int flush_until(pg_source *s, double deadline)
{
    int f;
    while ((f = PQflush(s->conn)) == 1) {
        int w = wait_socket(s->conn, POLLOUT | POLLIN, deadline);
        if (w == 0) {
            s->broken = true;
            return DSCAT_ETIMEOUT;
        }
        if (w < 0 || !PQconsumeInput(s->conn))
            return DSCAT_ECONNECT;
    }
    return f == 0 ? 0 : DSCAT_ECONNECT;
}

/*
 * The next result of the query in flight (NULL when there are no more), read without blocking
 * past the deadline: 0, or DSCAT_ETIMEOUT with the connection broken. A lost connection is
 * not an error here: PQgetResult then gives the error result that says so.
 */
static int next_result(pg_source *s, double deadline, PGresult **out)
{
    *out = NULL;
    while (PQisBusy(s->conn)) {
        int w = wait_input(s, deadline);
        if (w == 0) {
            s->broken = true;
            return DSCAT_ETIMEOUT;
        }
        if (w < 0 || !PQconsumeInput(s->conn))
            break;
    }
    *out = PQgetResult(s->conn);
    return 0;
}

/*
 * PQexec with a deadline of query_timeout: sends sql and waits for its results. Fills *out with
 * the last result (as PQexec does; a COPY result ends the wait, its data follows), which may be
 * an error result, or NULL when nothing came. Returns 0, DSCAT_ETIMEOUT (no answer in time: the
 * connection is broken) or DSCAT_ECONNECT (the query could not be sent).
 */
static int exec_until(pg_source *s, const char *sql, PGresult **out)
{
    *out = NULL;
    if (s->broken)
        return DSCAT_ETIMEOUT;
    double deadline = deadline_after(s);
    if (!PQsendQuery(s->conn, sql))
        return DSCAT_ECONNECT;
    int rc = flush_until(s, deadline);
    PGresult *r = NULL;
    while (rc == 0 && (rc = next_result(s, deadline, &r)) == 0 && r != NULL) {
        PQclear(*out);
        *out = r;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH ||
            PQstatus(s->conn) == CONNECTION_BAD)
            break;
    }
    if (rc) {
        PQclear(*out);
        *out = NULL;
    }
    return rc;
}

static PGresult *run(pg_source *s, const char *sql, const char *what, dscat_error *err);

/*
 * A database in SQL_ASCII holds bytes in no encoding: the server cannot convert them to the
 * UTF8 the connection asks for, and one name or value that is not UTF-8 fails the whole query
 * that reads it ("invalid byte sequence for encoding"), every table of the catalog with it. Such
 * a connection takes the bytes as they are (client_encoding SQL_ASCII, one statement, only for
 * such a database): the scan checks them (names that are not UTF-8 are problems, comments and
 * defaults are shown with \xNN escapes) and the cache stores text that is not UTF-8 in its
 * binary fallback. Every other server encoding converts to UTF8. 0, or the failure in err.
 */
static int raw_encoding(pg_source *s, dscat_error *err)
{
    const char *enc = PQparameterStatus(s->conn, "server_encoding");
    if (enc == NULL || strcmp(enc, "SQL_ASCII") != 0)
        return 0;
    PGresult *r = run(s, "SET client_encoding = 'SQL_ASCII'", "client encoding", err);
    if (r == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    PQclear(r);
    s->raw_text = true;
    return 0;
}

static int pg_connect(dscat_source **out, const dscat_target_config *target,
                      const dscat_target_conn *conn, const char *database,
                      const dscat_settings *settings, dscat_error *err)
{
    *out = NULL;
    char port[16], options[256], timeout[16];
    int rc = 0;
    snprintf(port, sizeof(port), "%d", conn->port ? conn->port : 5432);
    snprintf(options, sizeof(options),
             "-c statement_timeout=%d -c default_transaction_read_only=on -c jit=off "
             "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c bytea_output=hex "
             "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3",
             settings->query_timeout * 1000);
    /* JIT compilation costs more than it saves on catalog queries (half a second each on big
     * catalogs, where the subplans inflate the cost estimate). */
    /* libpq's own timeout (whole seconds, at least 2) is only a backstop for our deadline. */
    snprintf(timeout, sizeof(timeout), "%d", (int)settings->connect_timeout + 2);
    const char *db = database ? database : target->database ? target->database : "postgres";
    const char *keys[] = {"host",
                          "port",
                          "user",
                          "password",
                          "dbname",
                          "sslmode",
                          "options",
                          "connect_timeout",
                          "application_name",
                          "client_encoding",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          NULL};
    const char *vals[] = {conn->host,     port,    conn->user,
                          conn->password, db,      target->sslmode ? target->sslmode : "prefer",
                          options,        timeout, "dscat",
                          "UTF8",         "1",     "30",
                          "10",           "3",     NULL};
    pg_source *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    s->base.driver = &dscat_source_postgres;
    s->base.target = target;
    s->base.database = dscat_strdup(db);
    dscat_buf where = DSCAT_BUF_INIT;
    dscat_buf_printf(&where, "%s:%s", conn->host, port);
    s->where = dscat_buf_detach(&where);
    if (s->base.database == NULL || s->where == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    s->query_timeout = settings->query_timeout;
    s->connect_timeout = settings->connect_timeout;
    s->conn = PQconnectStartParams(keys, vals, 0);
    if (s->conn == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    PQsetNoticeProcessor(s->conn, drop_notice, NULL);
    if (PQstatus(s->conn) == CONNECTION_BAD)
        rc = DSCAT_ECONNECT;
    else
        rc = poll_connect(s->conn, settings->connect_timeout);
    if (rc == DSCAT_ETIMEOUT) {
        dscat_error_set(err, rc, "target %s: cannot connect to %s: timed out after %g s",
                        target->key, s->where, settings->connect_timeout);
        goto fail;
    }
    if (rc) {
        char cause[400];
        clean_message(PQerrorMessage(s->conn), cause, sizeof(cause));
        rc = classify(s->conn, cause);
        dscat_source__scrub_user(cause, sizeof(cause), conn->user);
        dscat_error_set(err, rc, "target %s: cannot connect to %s (database %s): %s", target->key,
                        s->where, db, cause);
        goto fail;
    }
    if (PQsetnonblocking(s->conn, 1) != 0) {
        rc = dscat_error_set(err, DSCAT_ECONNECT, "target %s: cannot connect to %s: %s",
                             target->key, s->where, "cannot make the connection non-blocking");
        goto fail;
    }
    if ((rc = raw_encoding(s, err)))
        goto fail;
    if (build_filter(s, target)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    dscat_source_postgres.close(&s->base);
    return rc;
}

/* Runs base + the target's filter + tail as one catalog query (see run()). */
static PGresult *run_filtered(pg_source *s, const char *base, const char *tail, const char *what,
                              dscat_error *err);

static void query_failed(pg_source *s, PGresult *r, const char *what, dscat_error *err);

/* Fills err for the catalog query called `what` that got no answer within query_timeout. */
static int query_stalled(const pg_source *s, const char *what, dscat_error *err)
{
    return dscat_error_set(err, DSCAT_ETIMEOUT,
                           "target %s: %s query in database %s stalled: no answer from %s in %d s "
                           "(query_timeout)",
                           s->base.target->key, what, s->base.database, s->where, s->query_timeout);
}

/* Runs one catalog query; on failure fills err (naming the target and database) and clears. */
static PGresult *run(pg_source *s, const char *sql, const char *what, dscat_error *err)
{
    s->base.queries++;
    PGresult *r = NULL;
    if (exec_until(s, sql, &r) == DSCAT_ETIMEOUT) {
        query_stalled(s, what, err);
        return NULL;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    query_failed(s, r, what, err);
    PQclear(r);
    return NULL;
}

/*
 * Fills err for a catalog query that failed: the server's cause (from r, or from the connection
 * when r says nothing or is NULL), its SQLSTATE, and a code for it.
 */
static void query_failed(pg_source *s, PGresult *r, const char *what, dscat_error *err)
{
    char cause[400];
    clean_message(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn), cause, sizeof(cause));
    if (cause[0] == '\0')
        clean_message(PQerrorMessage(s->conn), cause, sizeof(cause));
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int code = PQstatus(s->conn) == CONNECTION_BAD      ? DSCAT_ECONNECT
               : (state && strcmp(state, "42501") == 0) ? DSCAT_EPERM
               : (state && strcmp(state, "57014") == 0) ? DSCAT_ETIMEOUT
                                                        : DSCAT_EQUERY;
    dscat_error_set(err, code, "target %s: %s query failed in database %s: %s", s->base.target->key,
                    what, s->base.database, cause);
    if (err && state)
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
}

static PGresult *run_filtered(pg_source *s, const char *base, const char *tail, const char *what,
                              dscat_error *err)
{
    dscat_buf q = DSCAT_BUF_INIT;
    PGresult *r = NULL;
    if (dscat_buf_puts(&q, base) || dscat_buf_puts(&q, s->filter) || dscat_buf_puts(&q, tail))
        dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else
        r = run(s, dscat_buf_cstr(&q), what, err);
    dscat_buf_free(&q);
    return r;
}

static int64_t opt_int(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return DSCAT_NULL;
    return (int64_t)strtod(PQgetvalue(r, row, col), NULL);
}

static const char *opt_str(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static const char *relkind_name(char k)
{
    switch (k) {
    case 'v':
        return "VIEW";
    case 'm':
        return "MATERIALIZED VIEW";
    case 'p':
        return "PARTITIONED TABLE";
    case 'f':
        return "FOREIGN TABLE";
    default:
        return "BASE TABLE";
    }
}

/*
 * The integer written in decimal in v (an oid, a typmod, an attribute number: the server's own
 * output, an optional minus sign and digits), without strtol's locale and overflow machinery:
 * the column rows hold three of them each.
 */
static long decimal(const char *v)
{
    bool minus = *v == '-';
    long n = 0;
    for (v += minus; *v >= '0' && *v <= '9'; v++)
        n = n * 10 + (*v - '0');
    return minus ? -n : n;
}

/* A catalogued relation by its oid: how columns and foreign keys name their table. */
typedef struct table_oid {
    unsigned long oid;
    size_t table;  /* index into the scan's tables */
    bool readable; /* the role may SELECT from it */
} table_oid;

/* The catalogued relations, sorted by oid, and the last one looked up. */
typedef struct table_oids {
    table_oid *items;
    size_t count;
    unsigned long last_oid;
    long last;
    bool last_readable;
} table_oids;

static int compare_oid(const void *a, const void *b)
{
    unsigned long x = ((const table_oid *)a)->oid, y = ((const table_oid *)b)->oid;
    return x < y ? -1 : x > y;
}

/*
 * The table of the relation whose oid is the text `value`, or -1 when it is not catalogued, and
 * whether it is readable (readable may be NULL). Rows of one relation come together, so the last
 * answer is kept and most rows need no search.
 */
static long table_of(table_oids *m, const char *value, bool *readable)
{
    unsigned long oid = (unsigned long)decimal(value);
    if (m->last < 0 || oid != m->last_oid) {
        table_oid key = {oid, 0, false};
        const table_oid *hit =
            m->count ? bsearch(&key, m->items, m->count, sizeof(key), compare_oid) : NULL;
        m->last_oid = oid;
        m->last = hit ? (long)hit->table : -1;
        m->last_readable = hit && hit->readable;
    }
    if (readable)
        *readable = m->last_readable;
    return m->last;
}

/*
 * Text that must be UTF-8 in the store (a comment, a default), as read: itself, or, from a
 * database in SQL_ASCII (raw_encoding), a copy in the scan with its invalid bytes written as
 * \xNN. *escaped says which; NULL stays NULL. 0 or DSCAT_ENOMEM.
 */
static int store_text(dscat_db_scan *out, const char **text, bool *escaped)
{
    *escaped = *text && !dscat_db_scan_valid_utf8(*text);
    if (*escaped && (*text = dscat_db_scan_strdup_escaped(out, *text)) == NULL)
        return DSCAT_ENOMEM;
    return 0;
}

/* Reports the table (column NULL) or column whose `what` (its comment, its default) store_text
 * escaped. 0 or DSCAT_ENOMEM. */
static int escaped_problem(dscat_db_scan *out, const dscat_table_info *t, const char *column,
                           const char *what)
{
    dscat_buf name = DSCAT_BUF_INIT, cause = DSCAT_BUF_INIT;
    int rc = column ? dscat_buf_printf(&name, "%s.%s.%s", t->schema, t->name, column)
                    : dscat_buf_printf(&name, "%s.%s", t->schema, t->name);
    rc = rc ? rc
            : dscat_buf_printf(&cause,
                               "its %s is not valid UTF-8; catalogued with each invalid byte "
                               "written as \\xNN",
                               what);
    rc = rc ? rc
            : dscat_db_scan_add_object_problem(out, t->schema, column ? "column" : "table",
                                               dscat_buf_cstr(&name), dscat_buf_cstr(&cause));
    dscat_buf_free(&name);
    dscat_buf_free(&cause);
    return rc ? DSCAT_ENOMEM : 0;
}

/*
 * Tables in a schema the role has no USAGE on are listed by pg_class but cannot be read: they
 * are left out, and the schema is reported once as a problem. Fills oids with every table added.
 * A name that is not UTF-8 (from a database in SQL_ASCII) is a problem naming the table with its
 * invalid bytes escaped (dscat_db_scan_refused); a comment that is not is escaped (store_text).
 */
static int read_tables(PGresult *r, dscat_db_scan *out, table_oids *oids)
{
    const char *last_denied = NULL;
    oids->items = PQntuples(r) ? dscat_malloc((size_t)PQntuples(r) * sizeof(table_oid)) : NULL;
    if (PQntuples(r) && oids->items == NULL)
        return DSCAT_ENOMEM;
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetvalue(r, i, 6)[0] == 'f') {
            const char *schema = PQgetvalue(r, i, 0);
            bool seen = last_denied && strcmp(last_denied, schema) == 0;
            for (size_t k = 0; k < out->problems.count && !seen; k++)
                seen = out->problems.items[k].schema &&
                       strcmp(out->problems.items[k].schema, schema) == 0;
            if (!seen &&
                dscat_db_scan_add_problem(out, schema, "permission denied: no USAGE on the schema"))
                return DSCAT_ENOMEM;
            last_denied = schema;
            continue;
        }
        dscat_table_info t = {.schema = PQgetvalue(r, i, 0),
                              .name = PQgetvalue(r, i, 1),
                              .type = relkind_name(PQgetvalue(r, i, 2)[0]),
                              .row_estimate = opt_int(r, i, 3),
                              .size_bytes = opt_int(r, i, 4),
                              .comment = opt_str(r, i, 5),
                              .last_modified_us = DSCAT_NULL};
        size_t index;
        bool escaped = false;
        int rc = store_text(out, &t.comment, &escaped);
        if (rc == 0 && (rc = dscat_db_scan_add_table(out, &t, &index)) == 0) {
            oids->items[oids->count++] = (table_oid){strtoul(PQgetvalue(r, i, 7), NULL, 10), index,
                                                     PQgetvalue(r, i, 8)[0] == 't'};
            if (escaped && escaped_problem(out, &t, NULL, "comment"))
                return DSCAT_ENOMEM;
        } else if (dscat_db_scan_refused(out, rc, t.schema, t.name, NULL)) {
            return DSCAT_ENOMEM;
        }
    }
    if (oids->count) /* an empty database has no array: qsort takes no NULL */
        qsort(oids->items, oids->count, sizeof(table_oid), compare_oid);
    oids->last = -1;
    return 0;
}

/* What a column takes from its type: one row of the types query. */
typedef struct pg_type_info {
    unsigned long oid;
    long tmod;
    const char *full_type, *data_type;        /* borrowed from the types query's result */
    const char *column_type, *scan_data_type; /* the same, copied into the scan once used */
    int64_t max_length, precision, scale;
    bool notnull, orderable;
} pg_type_info;

/* The rows of the types query, sorted by (oid, typmod). */
typedef struct type_infos {
    pg_type_info *items;
    size_t count;
} type_infos;

static int compare_type(const void *a, const void *b)
{
    const pg_type_info *x = a, *y = b;
    if (x->oid != y->oid)
        return x->oid < y->oid ? -1 : 1;
    return x->tmod < y->tmod ? -1 : x->tmod > y->tmod;
}

/* Fills types from a result of the types query, which must outlive it. 0 or DSCAT_ENOMEM. */
static int read_types(PGresult *r, type_infos *types)
{
    int n = PQntuples(r);
    types->items = n ? dscat_malloc((size_t)n * sizeof(pg_type_info)) : NULL;
    if (n && types->items == NULL)
        return DSCAT_ENOMEM;
    for (int i = 0; i < n; i++)
        types->items[i] = (pg_type_info){strtoul(PQgetvalue(r, i, 0), NULL, 10),
                                         strtol(PQgetvalue(r, i, 1), NULL, 10),
                                         PQgetvalue(r, i, 2),
                                         PQgetvalue(r, i, 3),
                                         NULL,
                                         NULL,
                                         opt_int(r, i, 5),
                                         opt_int(r, i, 6),
                                         opt_int(r, i, 7),
                                         PQgetvalue(r, i, 4)[0] == 't',
                                         PQgetvalue(r, i, 8)[0] == 't'};
    types->count = (size_t)n;
    if (types->count)
        qsort(types->items, types->count, sizeof(pg_type_info), compare_type);
    return 0;
}

/* The type of a column by its type's oid and typmod, or NULL when the types query did not
 * return it. */
static pg_type_info *type_of(const type_infos *types, unsigned long oid, long tmod)
{
    pg_type_info key = {.oid = oid, .tmod = tmod};
    return types->count ? bsearch(&key, types->items, types->count, sizeof(key), compare_type)
                        : NULL;
}

/*
 * The columns as they are read: each is added to the scan with its type left blank, and noted
 * here with its (type, typmod) pair and what its row said; resolve_types completes them from the
 * types query, which asks for the pairs seen, each once.
 */
typedef struct col_pending {
    uint32_t pair;
    bool notnull;  /* declared NOT NULL */
    bool readable; /* its table, or its own ACL, lets the role SELECT it */
} col_pending;

typedef struct col_types {
    uint64_t *pairs; /* (oid << 32) | (uint32_t)typmod, in the order first seen */
    size_t npairs, pairs_cap;
    uint32_t *slots; /* open addressing over pairs: index + 1, 0 when empty */
    size_t nslots;   /* a power of two, more than twice npairs */
    uint64_t last_key;
    uint32_t last_pair;
    bool has_last;
    col_pending *cols; /* parallel to the scan's columns */
    size_t ncols, cols_cap;
} col_types;

static void col_types_free(col_types *ct)
{
    dscat_free(ct->pairs);
    dscat_free(ct->slots);
    dscat_free(ct->cols);
}

/* The first slot to try for key (Fibonacci hashing) among nslots, a power of two. */
static size_t pair_slot(uint64_t key, size_t nslots)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (nslots - 1);
}

/* Rebuilds the slots at twice the size. 0 or DSCAT_ENOMEM. */
static int pairs_grow(col_types *ct)
{
    size_t n = ct->nslots ? ct->nslots * 2 : 64;
    uint32_t *slots = dscat_calloc(n, sizeof(*slots));
    if (slots == NULL)
        return DSCAT_ENOMEM;
    for (size_t i = 0; i < ct->npairs; i++) {
        size_t k = pair_slot(ct->pairs[i], n);
        while (slots[k])
            k = (k + 1) & (n - 1);
        slots[k] = (uint32_t)i + 1;
    }
    dscat_free(ct->slots);
    ct->slots = slots;
    ct->nslots = n;
    return 0;
}

/* The index of the pair (oid, tmod), added when new. 0 or DSCAT_ENOMEM. Columns of one type
 * often come together, so the last answer is tried first. */
static int pair_of(col_types *ct, unsigned long oid, long tmod, uint32_t *out)
{
    uint64_t key = ((uint64_t)(oid & 0xffffffffu) << 32) | (uint32_t)tmod;
    if (ct->has_last && ct->last_key == key) {
        *out = ct->last_pair;
        return 0;
    }
    if ((ct->npairs + 1) * 2 >= ct->nslots && pairs_grow(ct))
        return DSCAT_ENOMEM;
    size_t k = pair_slot(key, ct->nslots);
    while (ct->slots[k] && ct->pairs[ct->slots[k] - 1] != key)
        k = (k + 1) & (ct->nslots - 1);
    if (ct->slots[k] == 0) {
        if (dscat_grow((void **)&ct->pairs, &ct->pairs_cap, ct->npairs, sizeof(*ct->pairs)))
            return DSCAT_ENOMEM;
        ct->pairs[ct->npairs++] = key;
        ct->slots[k] = (uint32_t)ct->npairs;
    }
    *out = ct->last_pair = ct->slots[k] - 1;
    ct->last_key = key;
    ct->has_last = true;
    return 0;
}

/* Notes c as the column the scan has just added. 0 or DSCAT_ENOMEM. */
static int pending_push(col_types *ct, col_pending c)
{
    if (dscat_grow((void **)&ct->cols, &ct->cols_cap, ct->ncols, sizeof(*ct->cols)))
        return DSCAT_ENOMEM;
    ct->cols[ct->ncols++] = c;
    return 0;
}

/* The types query for the pairs of ct: types_head, the pairs as two arrays, types_tail. */
static int types_query(dscat_buf *q, const col_types *ct)
{
    int rc = dscat_buf_puts(q, types_head) || dscat_buf_puts(q, "unnest('{");
    for (size_t i = 0; i < ct->npairs && rc == 0; i++)
        rc = dscat_buf_printf(q, "%s%lu", i ? "," : "", (unsigned long)(ct->pairs[i] >> 32));
    rc = rc || dscat_buf_puts(q, "}'::oid[], '{");
    for (size_t i = 0; i < ct->npairs && rc == 0; i++)
        rc = dscat_buf_printf(q, "%s%ld", i ? "," : "",
                              (long)(int32_t)(uint32_t)(ct->pairs[i] & 0xffffffffu));
    rc = rc || dscat_buf_puts(q, "}'::int4[])") || dscat_buf_puts(q, types_tail);
    return rc || dscat_buf_error(q) ? DSCAT_ENOMEM : 0;
}

/*
 * Completes the columns of the scan from the types query's rows (types): each column's types,
 * nullability, lengths and whether it can be profiled. Columns of a type the types query did
 * not describe (a type without its element or base type; the catalog queries of earlier versions
 * left those out too) are dropped. 0 or DSCAT_ENOMEM.
 */
static int resolve_types(dscat_db_scan *out, const col_types *ct, const type_infos *types)
{
    assert(ct->ncols == out->columns.count); /* each column added was noted (add_column_row) */
    pg_type_info **of = ct->npairs ? dscat_calloc(ct->npairs, sizeof(*of)) : NULL;
    if (ct->npairs && of == NULL)
        return DSCAT_ENOMEM;
    for (size_t p = 0; p < ct->npairs; p++) {
        pg_type_info *ty = type_of(types, (unsigned long)(ct->pairs[p] >> 32),
                                   (long)(int32_t)(uint32_t)(ct->pairs[p] & 0xffffffffu));
        if (ty && ty->scan_data_type == NULL) { /* the names join the scan, once */
            /* a type's name is no more UTF-8 than a table's in a database in SQL_ASCII */
            ty->column_type = dscat_db_scan_strdup_escaped(out, ty->full_type);
            ty->scan_data_type = dscat_db_scan_strdup_escaped(out, ty->data_type);
            if (ty->column_type == NULL || ty->scan_data_type == NULL) {
                dscat_free(of);
                return DSCAT_ENOMEM;
            }
        }
        of[p] = ty;
    }
    size_t kept = 0;
    for (size_t i = 0; i < ct->ncols; i++) {
        const col_pending *cp = &ct->cols[i];
        const pg_type_info *ty = of[cp->pair];
        if (ty == NULL)
            continue;
        dscat_column_info c = out->columns.items[i];
        c.nullable = !cp->notnull && !ty->notnull;
        c.column_type = ty->column_type;
        c.data_type = ty->scan_data_type;
        c.max_length = ty->max_length;
        c.precision = ty->precision;
        c.scale = ty->scale;
        c.unprofileable = !cp->readable;
        c.no_distinct = !ty->orderable;
        out->columns.items[kept++] = c;
    }
    dscat_free(of);
    return dscat_db_scan_truncate_columns(out, kept);
}

/* What pg_attribute.attgenerated says: 's' stored, 'v' virtual, '' (or NULL) an ordinary column. */
static const char *generated_kind(const char *attgenerated)
{
    if (attgenerated == NULL)
        return NULL;
    return attgenerated[0] == 's' ? "STORED" : attgenerated[0] == 'v' ? "VIRTUAL" : NULL;
}

/*
 * Adds the column of one row of the columns query (values as copy_split gives them, NULL for SQL
 * NULL), its type left for resolve_types. Columns of relations that are not catalogued (a schema
 * without USAGE, a refused name) are skipped. 0 or DSCAT_ENOMEM.
 */
static int add_column_row(dscat_db_scan *out, table_oids *oids, col_types *ct, const char *const *v)
{
    bool readable = false;
    long t = v[0] ? table_of(oids, v[0], &readable) : -1;
    uint32_t pair;
    if (t < 0 || v[4] == NULL || v[5] == NULL)
        return 0;
    if (pair_of(ct, (unsigned long)decimal(v[4]), decimal(v[5]), &pair))
        return DSCAT_ENOMEM;
    dscat_column_info c = {.table = (size_t)t,
                           .name = v[1] ? v[1] : "",
                           .ordinal = v[2] ? (int)decimal(v[2]) : 0,
                           .nullable = true,
                           /* until resolve_types; a literal outlives the scan as its
                            * strings do (add_column_shared copies neither type) */
                           .data_type = "",
                           .default_value = v[6],
                           .comment = v[7],
                           .max_length = DSCAT_NULL,
                           .precision = DSCAT_NULL,
                           .scale = DSCAT_NULL,
                           .null_count = DSCAT_NULL,
                           .distinct_count = DSCAT_NULL,
                           .profiled_rows = DSCAT_NULL,
                           .is_pk = v[9] && v[9][0] == 't',
                           .generated = generated_kind(v[10])};
    size_t before = out->columns.count;
    bool bad_default = false, bad_comment = false;
    if (store_text(out, &c.default_value, &bad_default) ||
        store_text(out, &c.comment, &bad_comment))
        return DSCAT_ENOMEM;
    const dscat_table_info *ti = &out->tables.items[t];
    int rc = dscat_db_scan_refused(out, dscat_db_scan_add_column_shared(out, &c), ti->schema,
                                   ti->name, c.name);
    if (rc == 0 && out->columns.count > before) {
        rc = pending_push(
            ct, (col_pending){pair, v[3] && v[3][0] == 't', readable || (v[8] && v[8][0] == 't')});
        if (rc == 0 && bad_default)
            rc = escaped_problem(out, ti, c.name, "default");
        if (rc == 0 && bad_comment)
            rc = escaped_problem(out, ti, c.name, "comment");
    }
    return rc;
}

#define COLUMN_VALUES 11 /* result columns of the columns query */

static bool copy_split(char *p, char *end, const char **values, size_t n);

/*
 * Sends the columns query as COPY (...) TO STDOUT and waits for the server to start the copy. Its
 * rows are then read by column_rows. Counts as one query; fills err as run() does.
 */
static int start_columns(pg_source *s, dscat_error *err)
{
    dscat_buf q = DSCAT_BUF_INIT;
    if (dscat_buf_puts(&q, "COPY (") || dscat_buf_puts(&q, columns_head[s->base.profile]) ||
        dscat_buf_puts(&q, s->filter) || dscat_buf_puts(&q, columns_tail) ||
        dscat_buf_puts(&q, ") TO STDOUT")) {
        dscat_buf_free(&q);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    s->base.queries++;
    PGresult *r = NULL;
    int rc = exec_until(s, dscat_buf_cstr(&q), &r);
    dscat_buf_free(&q);
    if (rc == DSCAT_ETIMEOUT)
        return query_stalled(s, "column", err);
    if (rc == 0 && PQresultStatus(r) != PGRES_COPY_OUT) {
        query_failed(s, r, "column", err);
        PQclear(r);
        double deadline = deadline_after(s);
        while (next_result(s, deadline, &r) == 0 && r != NULL)
            PQclear(r);
        return err && err->code ? err->code : DSCAT_EQUERY;
    }
    if (rc) {
        query_failed(s, r, "column", err);
        rc = err && err->code ? err->code : DSCAT_EQUERY;
    }
    PQclear(r);
    return rc;
}

/*
 * Reads the rows of the columns query started by start_columns and adds each as it arrives, so
 * that the decoding overlaps the server's work and no result holds every column at once. Each
 * wait for data has a deadline of query_timeout, as in a row cursor; a stall leaves the connection
 * broken. After an allocation failure the rest of the rows are read and dropped, so that the
 * connection can still roll back. Fills err as run() does.
 */
static int column_rows(pg_source *s, dscat_db_scan *out, table_oids *oids, col_types *ct,
                       dscat_error *err)
{
    PGresult *r = NULL;
    int rc = 0;
    const char *values[COLUMN_VALUES];
    char *buf = NULL;
    int len = 0;
    double deadline = 0; /* taken when a wait starts: most rows are already buffered */
    while (rc == 0) {
        len = PQgetCopyData(s->conn, &buf, 1);
        if (len > 0) {
            char *end = buf + len;
            if (end[-1] == '\n')
                end--;
            int row = 0;
            if (out && !copy_split(buf, end, values, COLUMN_VALUES))
                row = DSCAT_EQUERY;
            else if (out)
                row = add_column_row(out, oids, ct, values);
            PQfreemem(buf);
            if (row == DSCAT_ENOMEM)
                out = NULL; /* read the rest, keep nothing */
            else if (row)
                rc = DSCAT_EQUERY;
            deadline = 0;
            continue;
        }
        if (len < 0)
            break;
        if (deadline == 0)
            deadline = deadline_after(s);
        int w = wait_input(s, deadline);
        if (w == 0) {
            s->broken = true;
            rc = DSCAT_ETIMEOUT;
        } else if (w < 0 || !PQconsumeInput(s->conn)) {
            break; /* PQgetCopyData or PQgetResult says what went wrong */
        }
    }
    if (rc == DSCAT_ETIMEOUT || (rc == 0 && next_result(s, deadline_after(s), &r))) {
        s->broken = true;
        return dscat_error_set(err, DSCAT_ETIMEOUT,
                               "target %s: column query in database %s stalled: no answer from %s "
                               "in %d s (query_timeout)",
                               s->base.target->key, s->base.database, s->where, s->query_timeout);
    }
    if (rc == DSCAT_EQUERY) {
        /* A row that does not split: leave the COPY unread, the connection is only closed. */
        s->broken = true;
        return dscat_error_set(err, DSCAT_EQUERY,
                               "target %s: column query failed in database %s: a row without "
                               "%d values",
                               s->base.target->key, s->base.database, COLUMN_VALUES);
    }
    if (len == -2 || PQresultStatus(r) != PGRES_COMMAND_OK) {
        query_failed(s, r, "column", err);
        rc = err && err->code ? err->code : DSCAT_EQUERY;
    } else if (out == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    PQclear(r);
    double end_by = deadline_after(s);
    while (next_result(s, end_by, &r) == 0 && r != NULL)
        PQclear(r);
    return rc;
}

/* Reads the foreign keys, once the columns have been read: their columns are found among them
 * by ordinal (a column the scan refused takes its keys with it, as it is reported itself). */
static int read_fkeys(PGresult *r, dscat_db_scan *out, table_oids *oids)
{
    for (int i = 0; i < PQntuples(r); i++) {
        long t = table_of(oids, PQgetvalue(r, i, 0), NULL);
        if (t < 0 || PQgetisnull(r, i, 1) || PQgetisnull(r, i, 4))
            continue;
        long c = dscat_db_scan_find_ordinal(out, (size_t)t, (int)decimal(PQgetvalue(r, i, 1)));
        if (c < 0)
            continue;
        /* the referenced names as a problem names them when they are not UTF-8 (SQL_ASCII) */
        dscat_fk_info fk = {(size_t)t, out->columns.items[c].name, PQgetvalue(r, i, 2),
                            PQgetvalue(r, i, 3), PQgetvalue(r, i, 4)};
        const char **names[] = {&fk.ref_schema, &fk.ref_table, &fk.ref_column};
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (!dscat_db_scan_valid_utf8(*names[k]) &&
                (*names[k] = dscat_db_scan_strdup_escaped(out, *names[k])) == NULL)
                return DSCAT_ENOMEM;
        if (dscat_db_scan_add_fk(out, &fk))
            return DSCAT_ENOMEM;
    }
    return 0;
}

/* The tables query of the target: sizes from the planner, or exact ones (exact_sizes). */
static const char *tables_query(const pg_source *s)
{
    return tables_sql[s->base.target->exact_sizes][s->base.profile];
}

/* A query's result (or NULL: its error is in err) read by `read` into the scan, then cleared. */
static int take_result(PGresult *r, int (*read)(PGresult *, dscat_db_scan *, table_oids *),
                       dscat_db_scan *out, table_oids *oids, dscat_error *err)
{
    if (r == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    int rc = read(r, out, oids);
    PQclear(r);
    return rc ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory") : 0;
}

/* The types' result, kept in *types_result (its strings are borrowed) and read into types. */
static int take_types(PGresult *r, PGresult **types_result, type_infos *types, dscat_error *err)
{
    if ((*types_result = r) == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    return read_types(r, types) ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory") : 0;
}

/* Runs the query built in q (built: what building it returned, 0 or DSCAT_ENOMEM) and frees
 * q; as run(), with err filled when it could not be built. */
static PGresult *run_built(pg_source *s, dscat_buf *q, int built, const char *what,
                           dscat_error *err)
{
    PGresult *r = built ? NULL : run(s, dscat_buf_cstr(q), what, err);
    if (built)
        dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_free(q);
    return r;
}

/* Runs the foreign-key query on s and reads it into out; as take_result. */
static int run_fkeys(pg_source *s, dscat_db_scan *out, table_oids *oids, dscat_error *err)
{
    dscat_buf q = DSCAT_BUF_INIT;
    PGresult *r = run_built(s, &q, fkeys_query(&q, s), "foreign key", err);
    return take_result(r, read_fkeys, out, oids, err);
}

/* Runs the types query for the pairs of ct on s (with none, too: the count of statements does
 * not depend on the catalog); as take_types. */
static int run_types(pg_source *s, const col_types *ct, PGresult **types_result, type_infos *types,
                     dscat_error *err)
{
    dscat_buf q = DSCAT_BUF_INIT;
    PGresult *r = run_built(s, &q, types_query(&q, ct), "type", err);
    return take_types(r, types_result, types, err);
}

/*
 * The catalog queries one after the other on one connection, inside the transaction the caller
 * began: tables, then the streamed columns (which name their tables by oid and their types by
 * oid and typmod), then foreign keys, then the types of the columns. *types_result holds the
 * types' strings until the caller clears it. 0, or an error code with err filled.
 */
static int scan_sequential(pg_source *s, dscat_db_scan *out, table_oids *oids, col_types *ct,
                           type_infos *types, PGresult **types_result, dscat_error *err)
{
    int rc;
    if ((rc = take_result(run_filtered(s, tables_query(s), "", "table", err), read_tables, out,
                          oids, err)) ||
        (rc = start_columns(s, err)) || (rc = column_rows(s, out, oids, ct, err)) ||
        (rc = run_fkeys(s, out, oids, err)))
        return rc;
    return run_types(s, ct, types_result, types, err);
}

/*
 * Starts a second connection to the same server, database and role as s, its parameters read
 * back from s's own connection, without waiting: its login proceeds while s begins the scan's
 * transaction. It goes to the address s is connected to (hostaddr), not to the host name again:
 * a name that resolves to several servers (a pool of replicas) must give the same server, whose
 * snapshot the second connection imports. NULL when it cannot even start (the scan then runs on
 * s alone).
 */
static PGconn *side_start(pg_source *s)
{
    PQconninfoOption *opts = PQconninfo(s->conn);
    if (opts == NULL)
        return NULL;
    size_t n = 0;
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        n++;
    const char **keys = dscat_calloc(n + 2, sizeof(char *));
    const char **vals = dscat_calloc(n + 2, sizeof(char *));
    /* One host (not a list, not a socket directory) connected over TCP: pinned to its address. */
    const char *addr = PQhostaddr(s->conn), *host = NULL;
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
    bool pin = addr && addr[0] && host && host[0] && host[0] != '/' && !strchr(host, ',');
    PGconn *c = NULL;
    if (keys && vals) {
        size_t k = 0;
        for (const PQconninfoOption *o = opts; o->keyword; o++)
            if (o->val && o->val[0] && !(pin && strcmp(o->keyword, "hostaddr") == 0)) {
                keys[k] = o->keyword;
                vals[k++] = strcmp(o->keyword, "client_encoding") == 0 && s->raw_text
                                ? "SQL_ASCII" /* as s's (raw_encoding) */
                                : o->val;
            }
        if (pin) {
            keys[k] = "hostaddr";
            vals[k++] = addr;
        }
        c = PQconnectStartParams(keys, vals, 0);
    }
    dscat_free(keys);
    dscat_free(vals);
    PQconninfoFree(opts);
    if (c)
        PQsetNoticeProcessor(c, drop_notice, NULL);
    if (c && PQstatus(c) == CONNECTION_BAD) {
        PQfinish(c);
        c = NULL;
    }
    return c;
}

/*
 * The next result of the second connection's query string, which must have status `want`: the
 * result, or NULL with err filled as run() does for the query called `what`.
 */
static PGresult *side_result(pg_source *side, ExecStatusType want, const char *what,
                             dscat_error *err)
{
    PGresult *r = NULL;
    if (next_result(side, deadline_after(side), &r) == DSCAT_ETIMEOUT) {
        query_stalled(side, what, err);
        return NULL;
    }
    if (r && PQresultStatus(r) == want)
        return r;
    query_failed(side, r, what, err);
    PQclear(r);
    return NULL;
}

/* scan_concurrent: the second connection could not begin its transaction in s's snapshot. */
#define SIDE_REFUSED 1

/*
 * The catalog queries on two connections at once: the columns query streams on s while the
 * tables and foreign-key queries run on side, in one query string inside a transaction that
 * imports s's snapshot (so both see the same catalog) and ends with it: neither connection is
 * ever idle inside a transaction while the other works (a server's
 * idle_in_transaction_session_timeout would end it). The column rows name their tables by oid:
 * they wait in libpq's buffer until the tables have been read, then are decoded as they come,
 * while the foreign keys arrive on side. The types of the columns are asked for last, on s.
 * Counts the queries as scan_sequential does; *types_result as there. 0, or an error code with
 * err filled; a failure on side while the tables are read leaves s broken mid-copy (it is only
 * closed). SIDE_REFUSED, with nothing sent on s, when side fails before that: it cannot import
 * the snapshot (it reached another server, as through a proxy over replicas) or was lost. The
 * caller then goes on with s alone. A stall (no answer within query_timeout) is an error, not a
 * reason to wait again.
 */
static int scan_concurrent(pg_source *s, pg_source *side, const char *snapshot, dscat_db_scan *out,
                           table_oids *oids, col_types *ct, type_infos *types,
                           PGresult **types_result, dscat_error *err)
{
    char *lit = PQescapeLiteral(side->conn, snapshot, strlen(snapshot));
    dscat_buf q = DSCAT_BUF_INIT;
    int rc = lit == NULL ? DSCAT_ENOMEM : 0;
    if (rc == 0)
        rc = dscat_buf_printf(&q,
                              "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                              "SET TRANSACTION SNAPSHOT %s; %s%s; ",
                              lit, tables_query(s), s->filter);
    PQfreemem(lit);
    rc = rc ? rc : fkeys_query(&q, s);
    rc = rc ? rc : dscat_buf_puts(&q, "; COMMIT");
    rc = rc ? rc : dscat_buf_error(&q);
    if (rc) {
        dscat_buf_free(&q);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    bool sent = PQsendQuery(side->conn, dscat_buf_cstr(&q));
    dscat_buf_free(&q);
    rc = sent ? flush_until(side, deadline_after(side)) : DSCAT_ECONNECT;
    if (rc == DSCAT_ETIMEOUT)
        return query_stalled(side, "table", err);
    if (rc)
        return SIDE_REFUSED; /* the connection was lost: s alone will say why, if it can */
    PGresult *r = NULL;
    for (int i = 0; i < 2; i++) { /* BEGIN, SET TRANSACTION SNAPSHOT */
        if ((r = side_result(side, PGRES_COMMAND_OK, "begin", err)) == NULL)
            return side->broken ? DSCAT_ETIMEOUT : SIDE_REFUSED;
        PQclear(r);
    }
    s->base.queries += 2; /* the tables and the foreign keys (the types: run_types) */
    if ((rc = start_columns(s, err)))
        return rc;
    s->broken = true; /* until the copy is read to its end */
    side->drain = s->conn;
    if ((rc = take_result(side_result(side, PGRES_TUPLES_OK, "table", err), read_tables, out, oids,
                          err)))
        return rc;
    side->drain = NULL;
    s->broken = false;
    s->drain = side->conn;
    rc = column_rows(s, out, oids, ct, err);
    s->drain = NULL;
    if (rc || (rc = take_result(side_result(side, PGRES_TUPLES_OK, "foreign key", err), read_fkeys,
                                out, oids, err)))
        return rc;
    if ((r = side_result(side, PGRES_COMMAND_OK, "commit", err)) == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    PQclear(r);
    return run_types(s, ct, types_result, types, err);
}

/*
 * Reads one database's catalog in a read-only repeatable-read transaction. A second connection
 * is started at once; when it is up by the time the transaction has begun, the tables and foreign
 * keys are read on it while the columns stream on the first (scan_concurrent), else everything
 * runs on the first connection (scan_sequential): a server or role at its connection limit costs
 * time, not the scan.
 */
static int pg_scan_database(dscat_source *src, dscat_db_scan *out, dscat_error *err)
{
    pg_source *s = (pg_source *)src;
    pg_source side = *s; /* the target, database, filter and deadlines, borrowed from s */
    side.conn = side_start(s);
    side.broken = false;
    side.drain = NULL;
    side.drained = s->drained = 0; /* per database scan */
    PGresult *r = NULL;
    table_oids oids = {NULL, 0, 0, -1, false};
    type_infos types = {NULL, 0};
    col_types ct = {0};
    PGresult *types_result = NULL;
    char *snapshot = NULL;
    int rc = 0;
    r = run(s,
            side.conn ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                        "SELECT pg_export_snapshot()"
                      : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            "begin", err);
    if (r == NULL && side.conn && !s->broken && PQstatus(s->conn) == CONNECTION_OK) {
        /* The server would not export its snapshot (a standby in recovery does not, nor do
         * some poolers and servers that speak the protocol): one connection, as before. */
        PQfinish(side.conn);
        side.conn = NULL;
        dscat_error_clear(err);
        if (exec_until(s, "ROLLBACK", &r) == 0)
            PQclear(r);
        r = run(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin", err);
    }
    if (r == NULL) {
        PQfinish(side.conn);
        return err && err->code ? err->code : DSCAT_EQUERY;
    }
    if (side.conn && PQntuples(r) == 1 && PQnfields(r) == 1)
        snapshot = dscat_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (side.conn && (snapshot == NULL || poll_connect(side.conn, s->connect_timeout) != 0 ||
                      PQsetnonblocking(side.conn, 1) != 0)) {
        PQfinish(side.conn);
        side.conn = NULL;
    }
    rc = side.conn
             ? scan_concurrent(s, &side, snapshot, out, &oids, &ct, &types, &types_result, err)
             : SIDE_REFUSED;
    if (rc == SIDE_REFUSED) {
        dscat_error_clear(err);
        rc = scan_sequential(s, out, &oids, &ct, &types, &types_result, err);
    }
    if (rc == 0 && resolve_types(out, &ct, &types))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    PQfinish(side.conn);
    PQclear(types_result);
    dscat_free(types.items);
    col_types_free(&ct);
    dscat_free(snapshot);
    dscat_free(oids.items);
    if (rc) {
        if (!s->broken && exec_until(s, "ROLLBACK", &r) == 0)
            PQclear(r);
        return rc;
    }
    if ((r = run(s, "COMMIT", "commit", err)) == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    PQclear(r);
    return 0;
}

static int pg_list_databases(dscat_source *src, dscat_name_list *out, dscat_error *err)
{
    pg_source *s = (pg_source *)src;
    if (!src->target->include_databases.set)
        return dscat_name_list_add(out, src->database)
                   ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                   : 0;
    PGresult *r = run(s,
                      "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                      "ORDER BY datname",
                      "database list", err);
    if (r == NULL)
        return err ? err->code : DSCAT_EQUERY;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        if (dscat_name_list_add(out, PQgetvalue(r, i, 0)))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    PQclear(r);
    return rc;
}

/*
 * bytea has an ordering but is binary, not worth profiling. Types without an ordering (json,
 * xml, geometric and PostGIS types, ...) are found from the catalog instead (types_head): their
 * null counts are profiled, their distinct counts are not (no_distinct).
 */
static bool pg_profileable(const char *data_type)
{
    static const char *const no[] = {"bytea"};
    return !dscat_profile_type_in(data_type, no, sizeof(no) / sizeof(no[0]));
}

static int pg_quote(dscat_buf *b, const char *name, void *payload)
{
    pg_source *s = payload;
    char *q = PQescapeIdentifier(s->conn, name, strlen(name));
    if (q == NULL)
        return DSCAT_ENOMEM;
    int rc = dscat_buf_puts(b, q);
    PQfreemem(q);
    return rc;
}

static int pg_hex(dscat_buf *b, const char *name, void *payload)
{
    dscat_buf_puts(b, "encode(");
    int rc = pg_quote(b, name, payload);
    return rc ? rc : dscat_buf_puts(b, "::bytea, 'hex')");
}

/* Runs one profile query (see dscat_profile_dialect.query). */
static int pg_profile_query(void *payload, const char *sql, int64_t *values, size_t nvalues,
                            dscat_error *err)
{
    pg_source *s = payload;
    PGresult *r = run(s, sql, "profile", err);
    if (r == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    int rc = 0;
    if (PQntuples(r) != 1 || (size_t)PQnfields(r) != nvalues)
        rc = dscat_error_set(err, DSCAT_EQUERY, "target %s: profile query gave no row",
                             s->base.target->key);
    for (size_t i = 0; i < nvalues && rc == 0; i++)
        values[i] = opt_int(r, 0, (int)i);
    PQclear(r);
    return rc;
}

/* A query's target list holds at most 1,664 entries (MaxTupleAttributeNumber). */
static const dscat_profile_dialect pg_dialect = {pg_quote, false, pg_profileable,
                                                 pg_hex,   1664,  pg_profile_query};

static int pg_profile_table(dscat_source *src, dscat_db_scan *scan, size_t table,
                            const size_t *columns, size_t ncolumns, int sample, dscat_error *err)
{
    return dscat_profile_run(&pg_dialect, (pg_source *)src, scan, table, columns, ncolumns, sample,
                             err);
}

/*
 * Row cursors. The text path (cursor_open, cursor_next): COPY (SELECT ...) TO STDOUT in text
 * format, one buffer per row from libpq (no result object per row), each row split and unescaped
 * in place. The typed path (cursor_open_typed, cursor_next_typed): COPY ... (FORMAT binary),
 * each field decoded by its type on the server into a dscat_value, no text made or parsed on
 * either side; a column whose type has no exact binary decoding here arrives as its text.
 */

/* How a field of a binary COPY row is decoded (the column's type on the server). */
enum {
    DEC_STRING, /* text, varchar, bpchar, name, or an expression of type text: its bytes */
    DEC_INT2,
    DEC_INT4,
    DEC_INT8,
    DEC_FLOAT4,
    DEC_FLOAT8,
    DEC_BOOL,
    DEC_DATE,
    DEC_TIME,
    DEC_TIMESTAMP,
    DEC_TIMESTAMPTZ,
    DEC_NUMERIC,
    DEC_UUID,
    DEC_BYTEA
};

struct dscat_cursor {
    pg_source *src;
    char *name; /* "schema.table", for messages */
    char *line; /* the current row, from PQgetCopyData */
    const char **values;
    size_t n;
    bool done;
    /* the typed path */
    bool binary;         /* COPY in binary format */
    bool header_seen;    /* the binary COPY's signature has been read */
    bool in_transaction; /* the describe and the COPY share a transaction, ended by close */
    unsigned char *dec;  /* per column: DEC_* */
    dscat_value *typed;  /* per column: the current row's values */
};

static int pg_cursor_fail(dscat_cursor *c, PGresult *r, const char *what, dscat_error *err)
{
    char cause[400];
    clean_message(r ? PQresultErrorMessage(r) : PQerrorMessage(c->src->conn), cause, sizeof(cause));
    if (cause[0] == '\0')
        clean_message(PQerrorMessage(c->src->conn), cause, sizeof(cause));
    return dscat_error_set(err,
                           PQstatus(c->src->conn) == CONNECTION_BAD ? DSCAT_ECONNECT : DSCAT_EQUERY,
                           "target %s: %s: %s", c->src->base.target->key, what, cause);
}

static void pg_cursor_close(dscat_cursor *c);

/* Frees a cursor whose COPY never started. */
static void cursor_free(dscat_cursor *c)
{
    if (c == NULL)
        return;
    dscat_free(c->name);
    dscat_free(c->values);
    dscat_free(c->dec);
    dscat_free(c->typed);
    dscat_free(c);
}

/* A cursor for ncolumns columns of schema.table, its COPY not started; NULL when out of memory. */
static dscat_cursor *cursor_new(pg_source *s, const char *schema, const char *table,
                                size_t ncolumns)
{
    dscat_cursor *c = dscat_calloc(1, sizeof(*c));
    dscat_buf name = DSCAT_BUF_INIT;
    if (c == NULL)
        return NULL;
    c->src = s;
    c->n = ncolumns;
    c->values = dscat_calloc(ncolumns + 1, sizeof(char *));
    if (dscat_buf_printf(&name, "%s.%s", schema, table) == 0)
        c->name = dscat_buf_detach(&name);
    dscat_buf_free(&name);
    if (c->values == NULL || c->name == NULL) {
        cursor_free(c);
        return NULL;
    }
    return c;
}

/*
 * Starts the COPY of sql on cursor c (which it frees on failure): 0, or the failure with err
 * naming the table.
 */
static int cursor_start(dscat_cursor *c, const char *sql, const char *schema, const char *table,
                        dscat_error *err)
{
    pg_source *s = c->src;
    s->base.queries++;
    PGresult *r = NULL;
    int rc = exec_until(s, sql, &r);
    if (rc == DSCAT_ETIMEOUT) {
        rc = dscat_error_set(err, rc,
                             "target %s: cannot read %s.%s: no answer from %s in %d s "
                             "(query_timeout)",
                             s->base.target->key, schema, table, s->where, s->query_timeout);
    } else if (PQresultStatus(r) != PGRES_COPY_OUT) {
        char what[300];
        snprintf(what, sizeof(what), "cannot read %s.%s", schema, table);
        rc = pg_cursor_fail(c, r, what, err);
        PQclear(r);
        double deadline = deadline_after(s);
        while (next_result(s, deadline, &r) == 0 && r != NULL)
            PQclear(r);
    }
    PQclear(r);
    if (rc)
        cursor_free(c);
    return rc;
}

/*
 * An append refresh's predicate (source.h, key_predicate). Text compares byte by byte through
 * COLLATE "C" on the literal (text, varchar and name only: char(n) ignores trailing spaces,
 * citext case); the literal is an E'' string, so standard_conforming_strings does not matter.
 * Times are typed literals: a timestamptz's value is in UTC.
 */
static int pg_key_predicate(dscat_buf *sql, const dscat_key_bound *k)
{
    static const char *const texts[] = {"text", "character varying", "varchar", "name"};
    bool ok = k->type != DSCAT_KEY_TEXT;
    for (size_t i = 0; !ok && i < sizeof(texts) / sizeof(texts[0]); i++)
        ok = k->data_type && strcmp(k->data_type, texts[i]) == 0;
    if (!ok || (k->value && !dscat_key_value_ok(k->type, k->value)))
        return DSCAT_EINVALID;
    if (k->value == NULL)
        return 0;
    int rc = dscat_buf_putc(sql, '"');
    for (const char *p = k->column; *p && rc == 0; p++)
        rc = *p == '"' ? dscat_buf_puts(sql, "\"\"") : dscat_buf_putc(sql, *p);
    rc = rc ? rc : dscat_buf_puts(sql, "\" > ");
    if (rc)
        return DSCAT_ENOMEM;
    switch (k->type) {
    case DSCAT_KEY_INTEGER:
    case DSCAT_KEY_DECIMAL:
        return dscat_buf_puts(sql, k->value);
    case DSCAT_KEY_DATE: /* validated: digits, '-', ':', '.', ' ' or an infinity */
        return dscat_buf_printf(sql, "DATE '%s'", k->value);
    case DSCAT_KEY_TIMESTAMP:
        return dscat_buf_printf(sql, "TIMESTAMP '%s'", k->value);
    case DSCAT_KEY_TIMESTAMPTZ:
        return dscat_buf_printf(sql, "TIMESTAMPTZ '%s%s'", k->value,
                                isdigit((unsigned char)k->value[0]) ? "+00" : "");
    case DSCAT_KEY_TEXT:
        rc = dscat_source__sql_string(sql, "E", k->value, true);
        return rc ? rc : dscat_buf_puts(sql, " COLLATE \"C\"");
    }
    return DSCAT_EINVALID;
}

static int pg_cursor_open(dscat_cursor **out, dscat_source *src, const char *schema,
                          const char *table, const dscat_cursor_column *columns, size_t ncolumns,
                          dscat_error *err)
{
    pg_source *s = (pg_source *)src;
    dscat_buf sql = DSCAT_BUF_INIT;
    int rc = dscat_buf_puts(&sql, "COPY (");
    rc = rc ? rc : dscat_select_sql(&sql, &pg_dialect, s, schema, table, columns, ncolumns);
    rc = rc ? rc : dscat_source__where(&sql, src);
    rc = rc ? rc : dscat_buf_puts(&sql, ") TO STDOUT");
    rc = rc ? rc : dscat_buf_error(&sql);
    dscat_cursor *c = rc ? NULL : cursor_new(s, schema, table, ncolumns);
    if (c == NULL) {
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    rc = cursor_start(c, dscat_buf_cstr(&sql), schema, table, err);
    dscat_buf_free(&sql);
    if (rc == 0)
        *out = c;
    return rc;
}

/* The decoding of a column of type oid for the form the caller wants, or -1: as text. */
static int decoder_for(dscat_wire want, Oid oid)
{
    static const struct {
        dscat_wire wire;
        Oid oid;
        int dec;
    } known[] = {
        {DSCAT_WIRE_INT, 21, DEC_INT2},
        {DSCAT_WIRE_INT, 23, DEC_INT4},
        {DSCAT_WIRE_INT, 20, DEC_INT8},
        {DSCAT_WIRE_FLOAT4, 700, DEC_FLOAT4},
        {DSCAT_WIRE_FLOAT8, 701, DEC_FLOAT8},
        {DSCAT_WIRE_BOOL, 16, DEC_BOOL},
        {DSCAT_WIRE_DATE, 1082, DEC_DATE},
        {DSCAT_WIRE_TIME, 1083, DEC_TIME},
        {DSCAT_WIRE_TIMESTAMP, 1114, DEC_TIMESTAMP},
        {DSCAT_WIRE_TIMESTAMPTZ, 1184, DEC_TIMESTAMPTZ},
        {DSCAT_WIRE_DECIMAL, 1700, DEC_NUMERIC},
        {DSCAT_WIRE_UUID, 2950, DEC_UUID},
        {DSCAT_WIRE_BYTES, 17, DEC_BYTEA},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].wire == want && known[i].oid == oid)
            return known[i].dec;
    return -1;
}

/* Appends " FROM schema.table", quoted. */
static int from_clause(dscat_buf *b, pg_source *s, const char *schema, const char *table)
{
    int rc = dscat_buf_puts(b, " FROM ");
    rc = rc ? rc : pg_quote(b, schema, s);
    rc = rc ? rc : dscat_buf_putc(b, '.');
    return rc ? rc : pg_quote(b, table, s);
}

/*
 * Appends the select-list entry of a column that arrives as text, exactly the text the text
 * path's COPY has for it: the column itself for the string types (their binary form is their
 * text), encode(..., 'hex') for a hex column, else the type's output function (concat() calls it;
 * a cast to text may differ: boolean, char(n), inet).
 */
static int text_expr(dscat_buf *b, pg_source *s, const dscat_cursor_column *col, Oid oid)
{
    if (col->hex)
        return pg_hex(b, col->name, s);
    if (oid == 25 || oid == 1043 || oid == 1042 || oid == 19)
        return pg_quote(b, col->name, s);
    int rc = dscat_buf_puts(b, "CASE WHEN ");
    rc = rc ? rc : pg_quote(b, col->name, s);
    rc = rc ? rc : dscat_buf_puts(b, " IS NULL THEN NULL ELSE concat(");
    rc = rc ? rc : pg_quote(b, col->name, s);
    return rc ? rc : dscat_buf_puts(b, ") END");
}

/*
 * The typed path: one transaction holds the table (its column types cannot change under the
 * COPY) while a query without rows gives each column's type, then the binary COPY starts.
 */
static int pg_cursor_open_typed(dscat_cursor **out, dscat_source *src, const char *schema,
                                const char *table, const dscat_cursor_column *columns,
                                size_t ncolumns, dscat_wire *wires, dscat_error *err)
{
    pg_source *s = (pg_source *)src;
    dscat_buf sql = DSCAT_BUF_INIT;
    PGresult *r = NULL;
    /* the columns themselves (a hex column too): their types decide */
    int rc = dscat_buf_puts(&sql, "BEGIN; SELECT ");
    for (size_t i = 0; i < ncolumns && rc == 0; i++) {
        if (i)
            dscat_buf_puts(&sql, ", ");
        rc = pg_quote(&sql, columns[i].name, s);
    }
    rc = rc ? rc : from_clause(&sql, s, schema, table);
    rc = rc ? rc : dscat_buf_puts(&sql, " LIMIT 0");
    rc = rc ? rc : dscat_buf_error(&sql);
    dscat_cursor *c = rc ? NULL : cursor_new(s, schema, table, ncolumns);
    if (c) {
        c->dec = dscat_calloc(ncolumns + 1, 1);
        c->typed = dscat_calloc(ncolumns + 1, sizeof(*c->typed));
    }
    if (c == NULL || c->dec == NULL || c->typed == NULL) {
        cursor_free(c);
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    c->binary = c->in_transaction = true;
    s->base.queries++;
    rc = exec_until(s, dscat_buf_cstr(&sql), &r);
    if (rc == DSCAT_ETIMEOUT) {
        rc = dscat_error_set(err, rc,
                             "target %s: cannot read %s.%s: no answer from %s in %d s "
                             "(query_timeout)",
                             s->base.target->key, schema, table, s->where, s->query_timeout);
    } else if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQnfields(r) != ncolumns) {
        char what[300];
        snprintf(what, sizeof(what), "cannot read %s.%s", schema, table);
        rc = pg_cursor_fail(c, r, what, err);
    }
    dscat_buf_reset(&sql);
    int built = dscat_buf_puts(&sql, "COPY (SELECT ");
    for (size_t i = 0; rc == 0 && built == 0 && i < ncolumns; i++) {
        Oid oid = PQftype(r, (int)i);
        int dec = decoder_for(wires[i], oid);
        if (i)
            dscat_buf_puts(&sql, ", ");
        if (dec < 0) {
            wires[i] = DSCAT_WIRE_TEXT;
            c->dec[i] = DEC_STRING;
            built = text_expr(&sql, s, &columns[i], oid);
        } else {
            c->dec[i] = (unsigned char)dec;
            built = pg_quote(&sql, columns[i].name, s);
        }
    }
    PQclear(r);
    built = built ? built : from_clause(&sql, s, schema, table);
    built = built ? built : dscat_source__where(&sql, src);
    built = built ? built : dscat_buf_puts(&sql, ") TO STDOUT (FORMAT binary)");
    if (rc == 0 && (built || dscat_buf_error(&sql)))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0) {
        dscat_cursor *started = c;
        c = NULL; /* cursor_start frees it on failure */
        if ((rc = cursor_start(started, dscat_buf_cstr(&sql), schema, table, err)) == 0)
            *out = started;
    }
    dscat_buf_free(&sql);
    if (rc) {
        cursor_free(c);
        if (!s->broken && exec_until(s, "ROLLBACK", &r) == 0)
            PQclear(r);
        return rc;
    }
    return 0;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}
/* Splits one COPY text row (without its newline) into values, unescaping in place. */
static bool copy_split(char *p, char *end, const char **values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *start = p, *w = p;
        if (end - p >= 2 && p[0] == '\\' && p[1] == 'N' && (end - p == 2 || p[2] == '\t')) {
            values[i] = NULL;
            p += 2;
        } else {
            while (p < end && *p != '\t') {
                if (*p != '\\' || p + 1 >= end) {
                    *w++ = *p++;
                    continue;
                }
                char e = p[1];
                p += 2;
                switch (e) {
                case 'b':
                    *w++ = '\b';
                    break;
                case 'f':
                    *w++ = '\f';
                    break;
                case 'n':
                    *w++ = '\n';
                    break;
                case 'r':
                    *w++ = '\r';
                    break;
                case 't':
                    *w++ = '\t';
                    break;
                case 'v':
                    *w++ = '\v';
                    break;
                case 'x': {
                    int v = 0, k = 0, h;
                    while (k < 2 && p < end && (h = hexval(*p)) >= 0) {
                        v = v * 16 + h;
                        p++, k++;
                    }
                    *w++ = k ? (char)v : 'x';
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {
                        int v = e - '0', k = 1;
                        while (k < 3 && p < end && *p >= '0' && *p <= '7')
                            v = v * 8 + (*p++ - '0'), k++;
                        *w++ = (char)v;
                    } else {
                        *w++ = e;
                    }
                }
            }
            values[i] = start;
        }
        if (i + 1 < n) {
            if (p >= end || *p != '\t')
                return false;
            p++;
        }
        *w = '\0'; /* w < p, or the row's end (libpq ends the buffer with NUL) */
    }
    return p == end;
}

/*
 * The next CopyData message of the stream into c->line (*len bytes): 1, or 0 at the end of the
 * rows (the COPY's result checked), or an error. A wait for data has query_timeout.
 */
static int copy_message(dscat_cursor *c, int *len_out, dscat_error *err)
{
    if (c->line) {
        PQfreemem(c->line);
        c->line = NULL;
    }
    if (c->done)
        return 0;
    pg_source *s = c->src;
    char *buf = NULL;
    int len;
    double deadline = 0; /* taken when a wait starts: most rows are already buffered */
    while ((len = PQgetCopyData(s->conn, &buf, 1)) == 0) {
        if (deadline == 0)
            deadline = deadline_after(s);
        int w = wait_socket(s->conn, POLLIN, deadline);
        if (w == 0) {
            s->broken = true;
            return dscat_error_set(err, DSCAT_ETIMEOUT,
                                   "target %s: reading rows of %s stalled: nothing from %s in %d s "
                                   "(query_timeout)",
                                   s->base.target->key, c->name, s->where, s->query_timeout);
        }
        if (w < 0 || !PQconsumeInput(s->conn))
            break; /* PQgetCopyData or PQgetResult says what went wrong */
    }
    if (len > 0) {
        c->line = buf;
        *len_out = len;
        return 1;
    }
    int rc = 0;
    PGresult *r = NULL;
    deadline = deadline_after(s);
    c->done = true;
    if (next_result(s, deadline, &r) == DSCAT_ETIMEOUT)
        return dscat_error_set(err, DSCAT_ETIMEOUT,
                               "target %s: reading rows of %s stalled: no end of the rows from %s "
                               "in %d s (query_timeout)",
                               s->base.target->key, c->name, s->where, s->query_timeout);
    if (len == -2 || PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_cursor_fail(c, r, "reading rows failed", err);
    PQclear(r);
    while (next_result(s, deadline, &r) == 0 && r != NULL)
        PQclear(r);
    return rc;
}

static int pg_cursor_next(dscat_cursor *c, const char *const **values, dscat_error *err)
{
    assert(!c->binary);
    int len = 0;
    int rc = copy_message(c, &len, err);
    if (rc <= 0)
        return rc;
    char *end = c->line + len;
    if (end > c->line && end[-1] == '\n')
        end--;
    if (!copy_split(c->line, end, c->values, c->n)) {
        return dscat_error_set(err, DSCAT_EQUERY,
                               "target %s: reading rows failed: a row without %zu columns",
                               c->src->base.target->key, c->n); /* close() drains the rest */
    }
    *values = c->values;
    return 1;
}

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/*
 * *v = *v * 10^k + a (a < 10^k, 1 <= k <= 4), unless that reaches 10^38, the bound of a DuckDB
 * DECIMAL's unscaled digits: false then. No division: *v must stay below 10^(38 - k).
 */
static bool muladd(dscat_int128 *v, int k, int a)
{
    static const int pow10[] = {1, 10, 100, 1000, 10000};
    static const dscat_int128 below[] = {
        0,
        (dscat_int128)1000000000000000000ULL * 10000000000000000000ULL, /* 10^37 */
        (dscat_int128)100000000000000000ULL * 10000000000000000000ULL,  /* 10^36 */
        (dscat_int128)10000000000000000ULL * 10000000000000000000ULL,   /* 10^35 */
        (dscat_int128)1000000000000000ULL * 10000000000000000000ULL,    /* 10^34 */
    };
    if (*v >= below[k])
        return false;
    *v = *v * pow10[k] + a;
    return true;
}

/*
 * numeric's binary form: ndigits, weight (of the first base-10000 digit), sign (0x4000 negative,
 * 0xC000 NaN, 0xD000 / 0xF000 +-Infinity), dscale, then the digits, most significant first. The
 * value goes out as an unscaled integer and the fewest fraction digits that hold it (trailing
 * zeros dropped, dscale ignored: the text path drops them too); special when it is NaN, an
 * infinity, or needs more than 38 digits. false for a malformed value.
 */
static bool decode_numeric(dscat_value *v, const unsigned char *p, int32_t len)
{
    if (len < 8)
        return false;
    int ndigits = (int16_t)rd16(p), weight = (int16_t)rd16(p + 2);
    uint16_t sign = rd16(p + 4);
    if (ndigits < 0 || len != 8 + 2 * ndigits)
        return false;
    v->wire = DSCAT_WIRE_DECIMAL;
    v->special = 0;
    v->scale = 0;
    v->v.dec = 0;
    if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000) {
        v->special = 1;
        return true;
    }
    if (sign != 0 && sign != 0x4000)
        return false;
    const unsigned char *d = p + 8;
    int last = ndigits - 1;
    while (last >= 0 && rd16(d + 2 * last) == 0)
        last--;
    if (last < 0)
        return true; /* zero */
    dscat_int128 x = 0;
    bool ok = true;
    for (int i = 0; i < last && ok; i++) {
        int dig = rd16(d + 2 * i);
        if (dig > 9999)
            return false;
        ok = muladd(&x, 4, dig);
    }
    int dig = rd16(d + 2 * last), e = weight - last; /* the last digit is dig * 10000^e */
    if (dig > 9999)
        return false;
    if (e >= 0) {
        ok = ok && muladd(&x, 4, dig);
        for (int k = 0; k < e && ok; k++)
            ok = muladd(&x, 4, 0);
    } else {
        int tz = 0;
        while (dig % 10 == 0)
            dig /= 10, tz++;
        ok = ok && muladd(&x, 4 - tz, dig);
        v->scale = -4 * e - tz;
    }
    if (!ok) {
        v->special = 1;
        return true;
    }
    v->v.dec = sign == 0x4000 ? -x : x;
    return true;
}

/* Microseconds since 2000-01-01 (PostgreSQL's epoch) to a value of 1970's epoch. */
static void decode_timestamp(dscat_value *v, int64_t pg)
{
    v->special = pg == INT64_MAX ? 1 : pg == INT64_MIN ? -1 : 0;
    if (v->special == 0 && __builtin_add_overflow(pg, INT64_C(946684800000000), &v->v.i))
        v->special = 2;
}

/* Decodes one binary COPY row (c->line, len bytes) into c->typed; false when malformed. */
static bool decode_row(dscat_cursor *c, const unsigned char *p, const unsigned char *end)
{
    if (end - p < 2 || rd16(p) != c->n)
        return false;
    p += 2;
    for (size_t i = 0; i < c->n; i++) {
        dscat_value *v = &c->typed[i];
        if (end - p < 4)
            return false;
        int32_t len = (int32_t)rd32(p);
        p += 4;
        if (len == -1) {
            v->wire = DSCAT_WIRE_NULL;
            continue;
        }
        if (len < 0 || end - p < len)
            return false;
        /* the length of each fixed-size binary form; 0: any length */
        static const signed char size[DEC_BYTEA + 1] = {
            [DEC_INT2] = 2,      [DEC_INT4] = 4,        [DEC_INT8] = 8,  [DEC_FLOAT4] = 4,
            [DEC_FLOAT8] = 8,    [DEC_BOOL] = 1,        [DEC_DATE] = 4,  [DEC_TIME] = 8,
            [DEC_TIMESTAMP] = 8, [DEC_TIMESTAMPTZ] = 8, [DEC_UUID] = 16,
        };
        int dec = c->dec[i];
        if (size[dec] && len != size[dec])
            return false;
        v->special = 0;
        switch (dec) {
        case DEC_STRING:
        case DEC_BYTEA:
            v->wire = dec == DEC_STRING ? DSCAT_WIRE_TEXT : DSCAT_WIRE_BYTES;
            v->v.p = (const char *)p;
            v->len = (size_t)len;
            break;
        case DEC_INT2:
            v->wire = DSCAT_WIRE_INT;
            v->v.i = (int16_t)rd16(p);
            break;
        case DEC_INT4:
            v->wire = DSCAT_WIRE_INT;
            v->v.i = (int32_t)rd32(p);
            break;
        case DEC_INT8:
            v->wire = DSCAT_WIRE_INT;
            v->v.i = (int64_t)rd64(p);
            break;
        case DEC_FLOAT4: {
            uint32_t bits = rd32(p);
            v->wire = DSCAT_WIRE_FLOAT4;
            memcpy(&v->v.f, &bits, 4);
            break;
        }
        case DEC_FLOAT8: {
            uint64_t bits = rd64(p);
            v->wire = DSCAT_WIRE_FLOAT8;
            memcpy(&v->v.d, &bits, 8);
            break;
        }
        case DEC_BOOL:
            v->wire = DSCAT_WIRE_BOOL;
            v->v.b = p[0] != 0;
            break;
        case DEC_DATE: {
            int32_t days = (int32_t)rd32(p);
            v->wire = DSCAT_WIRE_DATE;
            v->special = days == INT32_MAX ? 1 : days == INT32_MIN ? -1 : 0;
            v->v.i = (int64_t)days + 10957; /* 2000-01-01 is day 10957 of 1970 */
            break;
        }
        case DEC_TIME:
            v->wire = DSCAT_WIRE_TIME;
            v->v.i = (int64_t)rd64(p);
            break;
        case DEC_TIMESTAMP:
        case DEC_TIMESTAMPTZ:
            v->wire = dec == DEC_TIMESTAMP ? DSCAT_WIRE_TIMESTAMP : DSCAT_WIRE_TIMESTAMPTZ;
            decode_timestamp(v, (int64_t)rd64(p));
            break;
        case DEC_NUMERIC:
            if (!decode_numeric(v, p, len))
                return false;
            break;
        case DEC_UUID:
            v->wire = DSCAT_WIRE_UUID;
            memcpy(v->v.uuid, p, 16);
            break;
        default:
            return false;
        }
        p += len;
    }
    return p == end;
}

static const unsigned char copy_signature[11] = {'P',  'G',  'C',  'O',  'P', 'Y',
                                                 '\n', 0xff, '\r', '\n', 0};

/*
 * The binary COPY: the first message starts with the signature, flags and a header extension;
 * then one message per row; a field count of -1 ends the rows.
 */
static int pg_cursor_next_typed(dscat_cursor *c, const dscat_value **values, dscat_error *err)
{
    assert(c->binary);
    for (;;) {
        int len = 0;
        int rc = copy_message(c, &len, err);
        if (rc <= 0)
            return rc;
        const unsigned char *p = (const unsigned char *)c->line, *end = p + len;
        if (!c->header_seen) {
            if (len < 19 || memcmp(p, copy_signature, sizeof(copy_signature)) != 0 ||
                (uint32_t)(len - 19) < rd32(p + 15))
                break;
            p += 19 + rd32(p + 15);
            c->header_seen = true;
        }
        if (p == end)
            continue;
        if (end - p == 2 && rd16(p) == 0xffff)
            continue; /* the end of the rows: copy_message reads the COPY's result next */
        if (!decode_row(c, p, end))
            break;
        *values = c->typed;
        return 1;
    }
    return dscat_error_set(err, DSCAT_EQUERY,
                           "target %s: reading rows of %s failed: a malformed binary row",
                           c->src->base.target->key, c->name); /* close() drains the rest */
}

static void pg_cursor_close(dscat_cursor *c)
{
    if (c == NULL)
        return;
    if (c->line)
        PQfreemem(c->line);
    c->line = NULL;
    pg_source *s = c->src;
    if (!c->done && !s->broken) {
        /* Stop the server sending the rest, then drain what is in flight, within query_timeout:
         * a server that stops answering leaves the connection broken, never a wait. */
        PGcancel *cancel = PQgetCancel(s->conn);
        char buf[256];
        if (cancel) {
            PQcancel(cancel, buf, sizeof(buf));
            PQfreeCancel(cancel);
        }
        double deadline = deadline_after(s);
        char *line = NULL;
        int len;
        while ((len = PQgetCopyData(s->conn, &line, 1)) >= 0) {
            if (len > 0) {
                PQfreemem(line);
                continue;
            }
            int w = wait_socket(s->conn, POLLIN, deadline);
            if (w == 0)
                s->broken = true;
            if (w <= 0 || !PQconsumeInput(s->conn))
                break;
        }
        PGresult *r;
        while (!s->broken && next_result(s, deadline, &r) == 0 && r != NULL)
            PQclear(r);
    }
    if (c->in_transaction && !s->broken) {
        PGresult *r = NULL;
        if (exec_until(s, "ROLLBACK", &r) == 0)
            PQclear(r);
    }
    cursor_free(c);
}

static void pg_close(dscat_source *src)
{
    if (src == NULL)
        return;
    pg_source *s = (pg_source *)src;
    PQfinish(s->conn);
    dscat_free(s->where);
    dscat_free(s->filter);
    dscat_free(s->base.database);
    dscat_free(s);
}

/* ---- configuration, process-wide set-up and the cache's types -------------------------------- */

static const char *const pg_aliases[] = {"postgresql", NULL};

static const char *const pg_keys[] = {
    "host", "host_env", "database",          "user",      "user_env", "password_env",
    "port", "port_env", "include_databases", "databases", "sslmode",  "exact_sizes",
    NULL};

/* libpq's host may also be a socket directory or a comma-separated list of hosts. */
#define PG_HOST_FORMS (DSCAT_HOST_SOCKET | DSCAT_HOST_LIST)

/* A host and a port in range; user and password may come from libpq's own defaults. */
static int pg_check_target(const dscat_target_config *t, char *msg, size_t size)
{
    return dscat_source__check_server(t, false, PG_HOST_FORMS, msg, size);
}

static int pg_resolve(dscat_target_conn *out, const dscat_target_config *t, dscat_error *err)
{
    return dscat_source__resolve_server(out, t, PG_HOST_FORMS, err);
}

/* libpq needs no initialisation, but connections are opened from several threads. */
static int pg_global_init(dscat_error *err)
{
    if (!PQisthreadsafe())
        return dscat_error_set(err, DSCAT_EINVALID, "libpq was built without thread support");
    return 0;
}

static const dscat_type_map pg_types[] = {
    {"smallint", "SMALLINT"},
    {"integer", "INTEGER"},
    {"bigint", "BIGINT"},
    {"real", "FLOAT"},
    {"double precision", "DOUBLE"},
    {"boolean", "BOOLEAN"},
    {"date", "DATE"},
    {"timestamp without time zone", "TIMESTAMP"},
    {"timestamp with time zone", "TIMESTAMPTZ"},
    {"time without time zone", "TIME"},
    {"uuid", "UUID"},
    {"json", "JSON"},
    {"jsonb", "JSON"},
    {"text", "VARCHAR"},
    {"character varying", "VARCHAR"},
    {"character", "VARCHAR"},
};

/*
 * The DECIMAL(width,scale) that holds every value of numeric(precision,scale) exactly, or false
 * when none does (more than 38 digits). PostgreSQL 15 allows any scale from -1000 to 1000 with
 * any precision, which DuckDB's DECIMAL (0 <= scale <= width <= 38) does not: numeric(5,-2)
 * holds integers rounded to hundreds, below 10^7 (DECIMAL(7,0)); numeric(3,5) holds values
 * below 10^-2 with 5 fraction digits (DECIMAL(5,5)). precision is 1..1000 for a numeric with a
 * typmod, and its scale is then always known: -1 is a scale here, not "none".
 */
static bool numeric_decimal(int precision, int scale, int *width, int *dscale)
{
    if (precision < 1 || precision > 1000 || scale < -1000 || scale > 1000)
        return false;
    *width = scale < 0 ? precision - scale : scale > precision ? scale : precision;
    *dscale = scale < 0 ? 0 : scale;
    return *width <= 38;
}

/*
 * bytea as BLOB; numeric(p,s) as the DECIMAL that holds it (numeric_decimal), else its text; the
 * rest by name. numeric's is the only typmod that shapes a cache type: a time's or timestamp's
 * precision (0..6, microseconds at most, as DuckDB's TIME and TIMESTAMP), varchar(n), char(n),
 * bit(n), varbit(n) and interval's fields and precision map to a type without one.
 */
static void pg_cache_type(dscat_cache_type *out, const char *dt, const char *column_type,
                          int precision, int scale)
{
    (void)column_type;
    if (strcmp(dt, "bytea") == 0) {
        snprintf(out->duck_type, sizeof(out->duck_type), "BLOB");
        out->hex = true;
        return;
    }
    int width, dscale;
    if (strcmp(dt, "numeric") == 0 && numeric_decimal(precision, scale, &width, &dscale)) {
        snprintf(out->duck_type, sizeof(out->duck_type), "DECIMAL(%d,%d)", width, dscale);
        return;
    }
    const char *duck = dscat_type_map_find(pg_types, sizeof(pg_types) / sizeof(pg_types[0]), dt);
    if (duck)
        snprintf(out->duck_type, sizeof(out->duck_type), "%s", duck);
}

const dscat_source_driver dscat_source_postgres = {
    .version = DSCAT_SOURCE_DRIVER_VERSION,
    .name = "postgres",
    .aliases = pg_aliases,
    .keys = pg_keys,
    .check_target = pg_check_target,
    .resolve = pg_resolve,
    .default_database = "postgres",
    .help = "[targets.app]\n"
            "type = \"postgres\"\n"
            "host_env = \"APP_PG_HOST\"\n"
            "user_env = \"APP_PG_USER\"\n"
            "password_env = \"APP_PG_PASSWORD\"\n"
            "database = \"app\"                  # where to connect first (default postgres)\n"
            "# include_databases = [\"app*\"]    # default: only `database`; with several,\n"
            "#                                   # no cache entries\n"
            "sslmode = \"prefer\"                # passed to libpq\n"
            "exact_sizes = false               # true: pg_total_relation_size, not the planner's\n"
            "refresh_every = \"6h\"              # dscat serve refreshes its schema this often\n"
            "\n"
            "[[targets.app.cache]]             # a cached table dscat serve refreshes on its own\n"
            "table = \"public.orders\"           # schema.table\n"
            "refresh_every = \"15m\"             # 90s, 15m, 6h, 1d\n"
            "mode = \"full\"                     # the whole table copied into a new version\n",
    .global_init = pg_global_init,
    .cache_type = pg_cache_type,
    .connect = pg_connect,
    .list_databases = pg_list_databases,
    .scan_database = pg_scan_database,
    .profile_table = pg_profile_table,
    .cursor_open = pg_cursor_open,
    .cursor_next = pg_cursor_next,
    .cursor_close = pg_cursor_close,
    .close = pg_close,
    .cursor_open_typed = pg_cursor_open_typed,
    .key_predicate = pg_key_predicate,
    .cursor_next_typed = pg_cursor_next_typed,
};
