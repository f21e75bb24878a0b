/*
 * MySQL / MariaDB source (libmariadb). A MySQL schema is a database: the `database` and `schema`
 * columns both carry its name. Per database, three set-based queries over information_schema,
 * each over one table (no join): columns on the scan's connection while tables and key column
 * usage (primary and foreign keys together) are read on a second connection, both driven at
 * once without blocking (my_scan_database); without a second connection the three run one
 * after the other.
 * Partitions are already folded by information_schema.TABLES.
 *
 * Connecting uses libmariadb's non-blocking API with our own poll deadline, so that
 * connect_timeout bounds the TCP connect and the whole handshake (a silent server times out).
 *
 * After the login every read and write on the socket waits at most query_timeout
 * (MYSQL_OPT_READ_TIMEOUT, MYSQL_OPT_WRITE_TIMEOUT; the catalog's queries, driven without
 * blocking, by our own poll deadline handed to libmariadb as its timeout): a query without an
 * answer, and a row stream that stops, end with the connection closed by libmariadb ("lost
 * connection"), reported as a stall when the deadline is what ended it. On MariaDB the catalog
 * queries are also bounded on the server by max_statement_time.
 */
#include "sources/source.h"
#include "sources/mysql_sql.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"

#include <ctype.h>
#include <errno.h>
#include <mysql.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct my_source {
    dscat_source base;
    MYSQL *conn;
    char *where;
    int query_timeout;      /* seconds: each read and write on the socket after the login */
    double connect_timeout; /* seconds: the login's deadline, also a scan's second connection's */
    dscat_target_conn peer; /* a copy of how we logged in, for a scan's second connection */
} my_source;

static void my_close(dscat_source *src);

static const char *const system_schemas =
    "('mysql', 'information_schema', 'performance_schema', 'sys')";

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for the socket events libmariadb asked for, until the deadline. */
static int wait_for(MYSQL *m, int status, double deadline)
{
    struct pollfd p = {mysql_get_socket(m), 0, 0};
    if (status & MYSQL_WAIT_READ)
        p.events |= POLLIN;
    if (status & MYSQL_WAIT_WRITE)
        p.events |= POLLOUT;
    if (status & MYSQL_WAIT_EXCEPT)
        p.events |= POLLPRI;
    for (;;) {
        double left = deadline - now_seconds();
        if (left <= 0)
            return -1;
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue;
        int ready = 0;
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            ready |= MYSQL_WAIT_READ;
        if (p.revents & POLLOUT)
            ready |= MYSQL_WAIT_WRITE;
        if (p.revents & POLLPRI)
            ready |= MYSQL_WAIT_EXCEPT;
        return ready;
    }
}

static int classify(unsigned int code)
{
    switch (code) {
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
    case 1251: /* ER_NOT_SUPPORTED_AUTH_MODE */
        return DSCAT_EAUTH;
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
    case 1142:
    case 1143:
        return DSCAT_EPERM;
    case 1049: /* ER_BAD_DB_ERROR */
        return DSCAT_ENOTFOUND;
    case 2003: /* CR_CONN_HOST_ERROR */
    case 2002:
    case 2005:
        return DSCAT_ECONNECT;
    default:
        return DSCAT_ECONNECT;
    }
}

static int my_connect(dscat_source **out, const dscat_target_config *target,
                      const dscat_target_conn *conn, const char *database,
                      const dscat_settings *settings, dscat_error *err)
{
    *out = NULL;
    int rc = 0;
    my_source *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    s->base.driver = &dscat_source_mysql;
    s->base.target = target;
    const char *db = database ? database : target->database;
    s->base.database = db ? dscat_strdup(db) : NULL;
    int port = conn->port ? conn->port : 3306;
    dscat_buf where = DSCAT_BUF_INIT;
    dscat_buf_printf(&where, "%s:%d", conn->host, port);
    s->where = dscat_buf_detach(&where);
    s->conn = mysql_init(NULL);
    if (s->conn == NULL || s->where == NULL || (db && s->base.database == NULL)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    unsigned int read_timeout = (unsigned int)settings->query_timeout;
    s->query_timeout = settings->query_timeout;
    s->connect_timeout = settings->connect_timeout;
    s->peer.port = port;
    s->peer.host = conn->host ? dscat_strdup(conn->host) : NULL;
    s->peer.user = conn->user ? dscat_strdup(conn->user) : NULL;
    s->peer.password = conn->password ? dscat_strdup(conn->password) : NULL;
    if ((conn->host && !s->peer.host) || (conn->user && !s->peer.user) ||
        (conn->password && !s->peer.password)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    mysql_options(s->conn, MYSQL_OPT_NONBLOCK, 0);
    mysql_options(s->conn, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    mysql_options(s->conn, MYSQL_OPT_WRITE_TIMEOUT, &read_timeout);
    mysql_options(s->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(s->conn, MYSQL_READ_DEFAULT_GROUP, "dscat-none");
    MYSQL *ret = NULL;
    double deadline = now_seconds() + settings->connect_timeout;
    int status = mysql_real_connect_start(&ret, s->conn, conn->host, conn->user, conn->password, db,
                                          (unsigned int)port, NULL, 0);
    while (status) {
        int ready = wait_for(s->conn, status, deadline);
        if (ready < 0) {
            rc = dscat_error_set(err, DSCAT_ETIMEOUT,
                                 "target %s: cannot connect to %s: timed out after %g s",
                                 target->key, s->where, settings->connect_timeout);
            goto fail;
        }
        status = mysql_real_connect_cont(&ret, s->conn, ready);
    }
    if (ret == NULL) {
        unsigned int code = mysql_errno(s->conn);
        rc = classify(code);
        char cause[600];
        snprintf(cause, sizeof(cause), "%s", mysql_error(s->conn));
        dscat_source__scrub_user(cause, sizeof(cause), conn->user);
        dscat_error_set(err, rc, "target %s: cannot connect to %s%s%s: %s", target->key, s->where,
                        db ? " database " : "", db ? db : "", cause);
        if (err)
            snprintf(err->sqlstate, sizeof(err->sqlstate), "%u", code);
        goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    dscat_source_mysql.close(&s->base);
    return rc;
}

/*
 * True when the connection was lost (CR_SERVER_LOST) by a socket timeout: libmariadb reports
 * both alike, so the time the call took tells them apart (started: now_seconds() before it).
 */
static bool stalled(const my_source *s, double started)
{
    return mysql_errno(s->conn) == 2013 && s->query_timeout > 0 &&
           now_seconds() - started >= s->query_timeout * 0.95;
}

/*
 * Fills err for a query (`what`: "table", "column", ...) that failed on s after starting at
 * `started` (now_seconds()): a stall when the deadline is what ended it. Returns the code.
 */
static int query_failed(my_source *s, const char *what, double started, dscat_error *err)
{
    unsigned int code = mysql_errno(s->conn);
    const char *in = s->base.database ? " in database " : "";
    const char *db = s->base.database ? s->base.database : "";
    if (stalled(s, started))
        return dscat_error_set(err, DSCAT_ETIMEOUT,
                               "target %s: %s query%s%s stalled: no answer from %s in %d s "
                               "(query_timeout)",
                               s->base.target->key, what, in, db, s->where, s->query_timeout);
    int rc = code == 2013 || code == 2006   ? DSCAT_ECONNECT
             : code == 1044 || code == 1142 ? DSCAT_EPERM
             : code == 1969                 ? DSCAT_ETIMEOUT /* ER_STATEMENT_TIMEOUT */
                                            : DSCAT_EQUERY;
    return dscat_error_set(err, rc, "target %s: %s query failed%s%s: %s", s->base.target->key, what,
                           in, db, code ? mysql_error(s->conn) : "no result");
}

/* Runs a query and stores its result; NULL on failure with err filled (always). */
static MYSQL_RES *run(my_source *s, const char *sql, const char *what, dscat_error *err)
{
    s->base.queries++;
    double started = now_seconds();
    MYSQL_RES *r = NULL;
    if (mysql_real_query(s->conn, sql, (unsigned long)strlen(sql)) == 0 &&
        ((r = mysql_store_result(s->conn)) != NULL || mysql_errno(s->conn) == 0))
        return r;
    query_failed(s, what, started, err);
    return NULL;
}

/* Appends 'value' as an escaped SQL string literal. */
static int put_literal(my_source *s, dscat_buf *b, const char *value)
{
    size_t n = strlen(value);
    char *esc = dscat_malloc(n * 2 + 1);
    if (esc == NULL)
        return DSCAT_ENOMEM;
    unsigned long len = mysql_real_escape_string(s->conn, esc, value, (unsigned long)n);
    int rc = dscat_buf_putc(b, '\'');
    if (rc == 0)
        rc = dscat_buf_put(b, esc, len);
    if (rc == 0)
        rc = dscat_buf_putc(b, '\'');
    dscat_free(esc);
    return rc;
}

static int my_list_databases(dscat_source *src, dscat_name_list *out, dscat_error *err)
{
    my_source *s = (my_source *)src;
    if (!src->target->include_databases.set && src->target->database)
        return dscat_name_list_add(out, src->target->database)
                   ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                   : 0;
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_buf_printf(&sql,
                     "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME "
                     "NOT IN %s ORDER BY SCHEMA_NAME",
                     system_schemas);
    if (dscat_buf_check(&sql, err, "the database list query"))
        return err->code;
    MYSQL_RES *r = run(s, dscat_buf_cstr(&sql), "database list", err);
    dscat_buf_free(&sql);
    if (r == NULL)
        return err ? err->code : DSCAT_EQUERY;
    MYSQL_ROW row;
    int rc = 0;
    while (rc == 0 && (row = mysql_fetch_row(r)) != NULL)
        if (dscat_name_list_add(out, row[0]))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    mysql_free_result(r);
    return rc;
}

static int64_t opt_int(const char *v)
{
    return v ? strtoll(v, NULL, 10) : DSCAT_NULL;
}

/* An empty comment (what InnoDB reports for none) or a view's "VIEW" marker is no comment. */
static const char *comment_of(const char *v, bool is_view)
{
    if (v == NULL || *v == '\0' || (is_view && strcmp(v, "VIEW") == 0))
        return NULL;
    return v;
}

/*
 * TABLE_TYPE as catalogued: VIEW (also information_schema's SYSTEM VIEW), SEQUENCE (MariaDB
 * 10.3+), else BASE TABLE (MariaDB reports system-versioned tables as SYSTEM VERSIONED).
 */
static const char *table_type(const char *type)
{
    if (type && (strcmp(type, "VIEW") == 0 || strcmp(type, "SYSTEM VIEW") == 0))
        return "VIEW";
    if (type && strcmp(type, "SEQUENCE") == 0)
        return "SEQUENCE";
    return "BASE TABLE";
}

/*
 * A view the server cannot open (a dropped table, a missing definer) is listed with the error
 * in TABLE_COMMENT where a good view has "VIEW", and has no columns: it is catalogued, without
 * that comment, and reported as a problem naming it.
 */
static int read_tables(MYSQL_RES *r, dscat_db_scan *out)
{
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)) != NULL) {
        const char *type = table_type(row[1]);
        bool view = strcmp(type, "VIEW") == 0;
        bool broken = view && row[4] && *row[4] && strcmp(row[4], "VIEW") != 0;
        dscat_table_info t = {.schema = out->database,
                              .name = row[0],
                              .type = type,
                              .row_estimate = view ? DSCAT_NULL : opt_int(row[2]),
                              .size_bytes = view ? DSCAT_NULL : opt_int(row[3]),
                              .comment = broken ? NULL : comment_of(row[4], view),
                              .last_modified_us =
                                  row[5] ? strtoll(row[5], NULL, 10) * 1000000 : DSCAT_NULL};
        if (dscat_db_scan_refused(out, dscat_db_scan_add_table(out, &t, NULL), t.schema, t.name,
                                  NULL))
            return DSCAT_ENOMEM;
        if (broken) {
            dscat_buf msg = DSCAT_BUF_INIT;
            int rc = dscat_buf_printf(&msg, "view %s.%s cannot be read: %s", out->database, row[0],
                                      row[4]);
            if (rc == 0)
                rc = dscat_db_scan_add_problem(out, out->database, dscat_buf_cstr(&msg));
            dscat_buf_free(&msg);
            if (rc)
                return DSCAT_ENOMEM;
        }
    }
    return 0;
}

/*
 * Whether PRIVILEGES (the current user's privileges on a column: "select,insert,...") holds
 * SELECT. A column listed without it (the user has another privilege on it) cannot be read.
 */
static bool has_select(const char *privileges)
{
    if (privileges == NULL)
        return true; /* a server that does not say: try */
    for (const char *p = privileges; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 6 && strncmp(p, "select", 6) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/*
 * The table called name in this database, or -1. Rows of one table come together: `last` (the
 * previous row's answer, -1 for none) is tried before the map.
 */
static long table_named(const dscat_db_scan *out, long last, const char *name)
{
    if (name == NULL)
        return -1;
    if (last >= 0 && strcmp(out->tables.items[last].name, name) == 0)
        return last;
    return dscat_db_scan_find_table(out, out->database, name);
}

/*
 * Invisible columns (MariaDB INVISIBLE, MySQL 8.0.23+) are listed like the others and are
 * profiled like them: the profile query names its columns, and a named invisible column reads.
 * A generated column (EXTRA) has no default, whatever COLUMN_DEFAULT holds: a server that shows
 * the generation expression there does not make it one.
 */
static int read_columns(MYSQL_RES *r, dscat_db_scan *out)
{
    MYSQL_ROW row;
    long t = -1;
    while ((row = mysql_fetch_row(r)) != NULL) {
        t = table_named(out, t, row[0]);
        if (t < 0)
            continue;
        /* MariaDB reports the default of a nullable column without one as the text NULL. */
        const char *generated = dscat_mysql__generated(row[12]);
        const char *def = row[6] && strcmp(row[6], "NULL") != 0 && !generated ? row[6] : NULL;
        dscat_column_info c = {.table = (size_t)t,
                               .name = row[1],
                               .ordinal = (int)dscat_text_ll_or(row[2], 0, INT32_MAX, 0),
                               .data_type = row[3] ? row[3] : "",
                               .column_type = row[4],
                               .nullable = row[5] && strcmp(row[5], "YES") == 0,
                               .generated = generated,
                               .default_value = def,
                               .max_length = opt_int(row[7]),
                               .precision = opt_int(row[8]),
                               .scale = opt_int(row[9]),
                               .comment = row[10] && *row[10] ? row[10] : NULL,
                               .null_count = DSCAT_NULL,
                               .distinct_count = DSCAT_NULL,
                               .profiled_rows = DSCAT_NULL,
                               .unprofileable = !has_select(row[11])};
        if (dscat_db_scan_refused(out, dscat_db_scan_add_column(out, &c),
                                  out->tables.items[t].schema, out->tables.items[t].name, c.name))
            return DSCAT_ENOMEM;
    }
    return 0;
}

static int read_keys(MYSQL_RES *r, dscat_db_scan *out)
{
    MYSQL_ROW row;
    long t = -1;
    while ((row = mysql_fetch_row(r)) != NULL) {
        t = table_named(out, t, row[0]);
        if (t < 0)
            continue;
        if (row[3] == NULL) {
            dscat_db_scan_mark_pk(out, (size_t)t, row[1]);
            continue;
        }
        dscat_fk_info fk = {(size_t)t, row[1], row[3], row[4], row[5] ? row[5] : ""};
        if (dscat_db_scan_add_fk(out, &fk))
            return DSCAT_ENOMEM;
    }
    return 0;
}

/* The query in sql (which ends with "TABLE_SCHEMA = ") for this database, then tail; NULL when
 * out of memory. Caller frees with dscat_free(). */
static char *sql_for_db(my_source *s, const char *sql, const char *tail)
{
    dscat_buf b = DSCAT_BUF_INIT;
    int rc = dscat_buf_puts(&b, sql);
    if (rc == 0)
        rc = put_literal(s, &b, s->base.database);
    if (rc == 0)
        rc = dscat_buf_puts(&b, tail);
    if (rc == 0 && dscat_buf_error(&b) == 0)
        return dscat_buf_detach(&b);
    dscat_buf_free(&b);
    return NULL;
}

/* A session statement's run (dscat_mysql_exec_fn): s, and where a lost connection is told. */
typedef struct session_run {
    my_source *s;
    dscat_error *err;
} session_run;

/*
 * Runs one SET on the connection (dscat_mysql_exec_fn): 0, the server's error code when it
 * refused it, or a lost connection's code with err filled (a stall when the deadline ended it).
 */
static int session_exec(const char *sql, void *payload)
{
    session_run *r = payload;
    r->s->base.queries++;
    double started = now_seconds();
    if (mysql_query(r->s->conn, sql) == 0)
        return 0;
    unsigned int code = mysql_errno(r->s->conn);
    if (code == 2013 || code == 2006 || code == 0)
        return query_failed(r->s, "session", started, r->err);
    return (int)code;
}

/*
 * Sets the session of s to settings[0..n) (dscat_mysql__prepare_session: one SET, and each
 * alone when the server refuses it). An essential setting refused fails with its variable named
 * and the server's message.
 */
static int set_session(my_source *s, const dscat_mysql_setting *settings, size_t n,
                       dscat_error *err)
{
    session_run run = {s, err};
    size_t refused = 0;
    int rc = dscat_mysql__prepare_session(settings, n, session_exec, &run, &refused);
    if (rc == DSCAT_ENOMEM)
        return dscat_error_set(err, rc, "out of memory");
    if (rc <= 0)
        return rc;
    rc = dscat_error_set(err, DSCAT_EQUERY,
                         "target %s: the server refused session variable %s (SET %s)%s%s: %s",
                         s->base.target->key, settings[refused].name, settings[refused].assignment,
                         s->base.database ? " in database " : "",
                         s->base.database ? s->base.database : "", mysql_error(s->conn));
    if (err)
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%u", mysql_errno(s->conn));
    return rc;
}

/*
 * The session of a catalog connection (dscat_mysql__session_settings): UTC, and what bounds and
 * freshens the catalog queries on this server, in one statement. A server or proxy that refuses
 * a variable gets each alone; only UTC is essential.
 */
static int prepare_session(my_source *s, dscat_error *err)
{
    dscat_mysql_setting settings[DSCAT_MYSQL_SETTINGS];
    size_t n = dscat_mysql__session_settings(settings, mysql_get_server_info(s->conn),
                                             mysql_get_server_version(s->conn), s->query_timeout);
    return set_session(s, settings, n, err);
}

/*
 * The catalog's queries, each over one information_schema table (no join: the server
 * materialises each of them for the query, and a join between two can cost a pass over one for
 * every row of the other). COLUMNS only reads each table's definition; TABLES (its sizes) and
 * KEY_COLUMN_USAGE (InnoDB's foreign keys) open every table, and so cost about as much as
 * COLUMNS although they return far fewer rows. The rows are matched to their table on our side,
 * by name, each table's rows together. A column's PRIVILEGES (whether it can be profiled) is
 * asked for only when the scan is profiled: it is 30 bytes of every column's row.
 */
static const char tables_sql[] =
    "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH, TABLE_COMMENT, "
    "UNIX_TIMESTAMP(UPDATE_TIME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ";
static const char columns_sql[] =
    "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
    "COLUMN_DEFAULT, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_COMMENT, "
    "PRIVILEGES, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ";
static const char columns_unprofiled_sql[] =
    "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
    "COLUMN_DEFAULT, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_COMMENT, "
    "NULL, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ";
static const char keys_sql[] =
    "SELECT TABLE_NAME, COLUMN_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA, "
    "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
    "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ";
static const char keys_tail[] =
    " AND (CONSTRAINT_NAME = 'PRIMARY' OR REFERENCED_TABLE_NAME IS NOT NULL) "
    "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION";

/*
 * The queries one connection runs in turn, driven without blocking (libmariadb's _start and
 * _cont calls) so that two connections run theirs at once on one thread: each query is sent,
 * then its result read whole (mysql_store_result). status is what libmariadb waits for
 * (MYSQL_WAIT_*), 0 when the lane is done or failed; each wait lasts at most query_timeout, as
 * each read and write of the blocking calls does.
 */
typedef struct lane {
    my_source *s;
    const char *sql[3]; /* borrowed */
    const char *what[3];
    MYSQL_RES *res[3]; /* caller frees */
    size_t n, at;      /* queries, and the one in flight */
    bool storing;      /* its result is being read */
    int status;        /* MYSQL_WAIT_* */
    double since;      /* when the current query started, for messages */
    double until;      /* the end of the current wait (0: none) */
    int rc;            /* 0, or the failure's code with err filled */
    dscat_error *err;
} lane;

/*
 * Drives l with the events that arrived (ready: MYSQL_WAIT_* flags, 0 to start the next query)
 * until libmariadb waits again, the last result is in, or a query fails.
 */
static void lane_step(lane *l, int ready)
{
    MYSQL *m = l->s->conn;
    for (;;) {
        if (!l->storing) {
            int ret = 0;
            if (ready == 0) {
                l->s->base.queries++;
                l->since = now_seconds();
                l->status = mysql_real_query_start(&ret, m, l->sql[l->at],
                                                   (unsigned long)strlen(l->sql[l->at]));
            } else {
                l->status = mysql_real_query_cont(&ret, m, ready);
            }
            if (l->status)
                break;
            if (ret != 0) {
                l->rc = query_failed(l->s, l->what[l->at], l->since, l->err);
                return;
            }
            l->storing = true;
            ready = 0;
        }
        MYSQL_RES *r = NULL;
        l->status =
            ready == 0 ? mysql_store_result_start(&r, m) : mysql_store_result_cont(&r, m, ready);
        if (l->status)
            break;
        if (r == NULL) {
            l->rc = query_failed(l->s, l->what[l->at], l->since, l->err);
            return;
        }
        l->res[l->at++] = r;
        l->storing = false;
        ready = 0;
        if (l->at == l->n)
            return;
    }
    l->until = l->s->query_timeout > 0 ? now_seconds() + l->s->query_timeout : 0;
}

/*
 * Waits for the sockets of the lanes still working and drives each with what arrived. A wait
 * that passes its lane's deadline is handed to libmariadb as a timeout: the query fails there
 * (the connection is lost) and is reported as a stall.
 */
static void lanes_run(lane *lanes, size_t n)
{
    for (;;) {
        struct pollfd p[2];
        lane *w[2];
        size_t k = 0;
        double now = now_seconds(), until = 0;
        for (size_t i = 0; i < n && k < 2; i++) {
            if (lanes[i].status == 0)
                continue;
            int st = lanes[i].status;
            p[k] = (struct pollfd){mysql_get_socket(lanes[i].s->conn), 0, 0};
            p[k].events = (short)(((st & MYSQL_WAIT_READ) ? POLLIN : 0) |
                                  ((st & MYSQL_WAIT_WRITE) ? POLLOUT : 0) |
                                  ((st & MYSQL_WAIT_EXCEPT) ? POLLPRI : 0));
            w[k++] = &lanes[i];
            if (lanes[i].until > 0 && (until == 0 || lanes[i].until < until))
                until = lanes[i].until;
        }
        if (k == 0)
            return;
        int ms = until > 0 ? (until > now ? (int)((until - now) * 1000) + 1 : 0) : -1;
        int r = poll(p, (nfds_t)k, ms);
        if (r < 0 && errno != EINTR)
            r = 0; /* treated as nothing ready: the deadlines still hold */
        now = now_seconds();
        for (size_t i = 0; i < k; i++) {
            int ready = 0;
            if (r > 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                ready |= MYSQL_WAIT_READ;
            if (r > 0 && (p[i].revents & POLLOUT))
                ready |= MYSQL_WAIT_WRITE;
            if (r > 0 && (p[i].revents & POLLPRI))
                ready |= MYSQL_WAIT_EXCEPT;
            if (ready == 0 && w[i]->until > 0 && now >= w[i]->until)
                ready = MYSQL_WAIT_TIMEOUT;
            if (ready)
                lane_step(w[i], ready);
        }
    }
}

/*
 * Per database: COLUMNS on the scan's connection while a second connection, as the same user,
 * reads TABLES and KEY_COLUMN_USAGE; both driven at once on this thread (lanes_run), so that the
 * server works on both: 5 statements (each connection's session, the three queries). Without a
 * second connection (a user's MAX_USER_CONNECTIONS, the server's max_connections) the three run
 * one after the other on the first, 4 statements. No thread is started: one started while
 * another thread loads DuckDB waits for the loader's lock. The results are decoded once all are
 * in: tables, columns, keys.
 */
static int my_scan_database(dscat_source *src, dscat_db_scan *out, dscat_error *err)
{
    my_source *s = (my_source *)src;
    dscat_source *peer = NULL;
    dscat_error side_err = {0}, ignored = {0};
    dscat_settings settings = {.connect_timeout = s->connect_timeout,
                               .query_timeout = s->query_timeout};
    char *columns = sql_for_db(s, src->profile ? columns_sql : columns_unprofiled_sql, "");
    char *tables = sql_for_db(s, tables_sql, "");
    char *keys = sql_for_db(s, keys_sql, keys_tail);
    lane lanes[2] = {{.s = s, .sql = {columns}, .what = {"column"}, .n = 1, .err = err},
                     {.sql = {tables, keys}, .what = {"table", "key"}, .n = 2, .err = &side_err}};
    int rc = columns && tables && keys ? prepare_session(s, err)
                                       : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0 &&
        my_connect(&peer, src->target, &s->peer, src->database, &settings, &ignored) == 0)
        rc = prepare_session((my_source *)peer, err);
    if (rc == 0 && peer) {
        lanes[1].s = (my_source *)peer;
        lane_step(&lanes[0], 0);
        lane_step(&lanes[1], 0);
        lanes_run(lanes, 2);
        rc = lanes[0].rc;
        if (rc == 0 && lanes[1].rc) {
            rc = lanes[1].rc;
            if (err)
                *err = side_err;
        }
    } else if (rc == 0) {
        /* No second connection: the three queries in turn on this one. */
        lanes[0] = (lane){.s = s,
                          .sql = {columns, tables, keys},
                          .what = {"column", "table", "key"},
                          .n = 3,
                          .err = err};
        lane_step(&lanes[0], 0);
        lanes_run(lanes, 1);
        rc = lanes[0].rc;
        lanes[1].res[0] = lanes[0].res[1];
        lanes[1].res[1] = lanes[0].res[2];
        lanes[0].res[1] = lanes[0].res[2] = NULL;
    }
    if (peer)
        s->base.queries += peer->queries;
    if (rc == 0 && (read_tables(lanes[1].res[0], out) || read_columns(lanes[0].res[0], out) ||
                    read_keys(lanes[1].res[1], out)))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < 3; i++)
            if (lanes[l].res[i])
                mysql_free_result(lanes[l].res[i]);
    dscat_free(columns);
    dscat_free(tables);
    dscat_free(keys);
    if (peer)
        my_close(peer);
    return rc;
}

static bool my_profileable(const char *data_type)
{
    static const char *const no[] = {"tinyblob",        "blob",         "mediumblob",
                                     "longblob",        "geometry",     "point",
                                     "linestring",      "polygon",      "multipoint",
                                     "multilinestring", "multipolygon", "geometrycollection"};
    return !dscat_profile_type_in(data_type, no, sizeof(no) / sizeof(no[0]));
}

static int my_quote(dscat_buf *b, const char *name, void *payload)
{
    (void)payload;
    int rc = dscat_buf_putc(b, '`');
    for (const char *p = name; *p && rc == 0; p++)
        rc = *p == '`' ? dscat_buf_puts(b, "``") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, '`');
}

static int my_hex(dscat_buf *b, const char *name, void *payload)
{
    /* as a binary string: a BIT(M) value gives its ceil(M/8) bytes, not a number */
    dscat_buf_puts(b, "HEX(CAST(");
    int rc = my_quote(b, name, payload);
    return rc ? rc : dscat_buf_puts(b, " AS BINARY))");
}

/* Runs one profile query (see dscat_profile_dialect.query). */
static int my_profile_query(void *payload, const char *sql, int64_t *values, size_t nvalues,
                            dscat_error *err)
{
    my_source *s = payload;
    MYSQL_RES *r = run(s, sql, "profile", err);
    if (r == NULL)
        return err && err->code ? err->code : DSCAT_EQUERY;
    MYSQL_ROW row = mysql_fetch_row(r);
    int rc = 0;
    if (row == NULL || mysql_num_fields(r) != nvalues)
        rc = dscat_error_set(err, DSCAT_EQUERY, "target %s: profile query gave no row",
                             s->base.target->key);
    for (size_t i = 0; i < nvalues && rc == 0; i++)
        values[i] = opt_int(row[i]);
    mysql_free_result(r);
    return rc;
}

/* A table holds at most 4,096 columns, and so does the temporary table of a derived table. */
static const dscat_profile_dialect my_dialect = {my_quote, false, my_profileable,
                                                 my_hex,   4096,  my_profile_query};

static int my_profile_table(dscat_source *src, dscat_db_scan *scan, size_t table,
                            const size_t *columns, size_t ncolumns, int sample, dscat_error *err)
{
    return dscat_profile_run(&my_dialect, (my_source *)src, scan, table, columns, ncolumns, sample,
                             err);
}

struct dscat_cursor {
    my_source *src;
    MYSQL_RES *res;
    char *name; /* "schema.table", for messages */
    bool done;
    /* the typed path: each column's form, the row's values, the columns (borrowed) */
    unsigned char *wires;
    dscat_value *typed;
    const dscat_cursor_column *columns;
    size_t n;
};

/*
 * An append refresh's predicate (source.h, key_predicate). Times are literals in the session's
 * time zone, which the cursor sets to UTC (a TIMESTAMP column compares in UTC). Text compares
 * as the cache's, byte by byte of its UTF-8: the column converted to utf8mb4 (whatever its
 * character set) and cast to a binary string, against the value's bytes in hex (no escaping,
 * whatever sql_mode says). A collation would not do: utf8mb4_bin and every other _bin collation
 * of MariaDB before 10.2 pad with spaces ('b ' = 'b', 'b\t' < 'b'). MariaDB has no infinities.
 */
static int my_key_predicate(dscat_buf *sql, const dscat_key_bound *k)
{
    static const char *const texts[] = {"char", "varchar",    "tinytext",
                                        "text", "mediumtext", "longtext"};
    bool ok = k->type != DSCAT_KEY_TEXT;
    for (size_t i = 0; !ok && i < sizeof(texts) / sizeof(texts[0]); i++)
        ok = k->data_type && strcasecmp(k->data_type, texts[i]) == 0;
    if (!ok || (k->value && !dscat_key_value_ok(k->type, k->value)))
        return DSCAT_EINVALID;
    if (k->value == NULL)
        return 0;
    if (k->type != DSCAT_KEY_TEXT && !isdigit((unsigned char)k->value[k->value[0] == '-']))
        return DSCAT_EINVALID; /* an infinity */
    int rc = 0;
    if (k->type == DSCAT_KEY_TEXT) {
        rc = dscat_buf_puts(sql, "CAST(CONVERT(");
        rc = rc ? rc : my_quote(sql, k->column, NULL);
        rc = rc ? rc : dscat_buf_puts(sql, " USING utf8mb4) AS BINARY) > X'");
        for (const unsigned char *p = (const unsigned char *)k->value; *p && rc == 0; p++)
            rc = dscat_buf_printf(sql, "%02X", *p);
        return rc ? rc : dscat_buf_putc(sql, '\'');
    }
    rc = my_quote(sql, k->column, NULL);
    rc = rc ? rc : dscat_buf_puts(sql, " > ");
    if (rc)
        return DSCAT_ENOMEM;
    switch (k->type) {
    case DSCAT_KEY_INTEGER:
    case DSCAT_KEY_DECIMAL:
        return dscat_buf_puts(sql, k->value);
    case DSCAT_KEY_DATE:
        return dscat_buf_printf(sql, "DATE '%s'", k->value);
    case DSCAT_KEY_TIMESTAMP:
    case DSCAT_KEY_TIMESTAMPTZ:
        return dscat_buf_printf(sql, "TIMESTAMP '%s'", k->value);
    case DSCAT_KEY_TEXT:
        break; /* above */
    }
    return DSCAT_EINVALID;
}

/*
 * The row cursor's SELECT: binary data in hex, FLOAT and DOUBLE columns as (col * 1e0), a DOUBLE
 * expression on every MySQL and MariaDB (CAST(... AS DOUBLE) needs MySQL 8.0.17), which keeps
 * the sign of a zero. The text protocol prints a FLOAT with 6 significant digits (1.2345678 as
 * 1.23457) and a DOUBLE(M,D) with D decimals; a double expression is printed with the shortest
 * digits that read back as the same double, and a FLOAT's value is a double exactly, so the
 * text read is the value.
 */
static int my_select_sql(dscat_buf *sql, const char *schema, const char *table,
                         const dscat_cursor_column *columns, size_t ncolumns)
{
    int rc = dscat_buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < ncolumns && rc == 0; i++) {
        const char *dt = columns[i].data_type ? columns[i].data_type : "";
        rc = i ? dscat_buf_puts(sql, ", ") : 0;
        if (rc)
            break;
        if (columns[i].hex) {
            rc = my_hex(sql, columns[i].name, NULL);
        } else if (strcasecmp(dt, "float") == 0 || strcasecmp(dt, "double") == 0) {
            rc = dscat_buf_puts(sql, "(");
            rc = rc ? rc : my_quote(sql, columns[i].name, NULL);
            rc = rc ? rc : dscat_buf_puts(sql, " * 1e0)");
        } else {
            rc = my_quote(sql, columns[i].name, NULL);
        }
    }
    rc = rc ? rc : dscat_buf_puts(sql, " FROM ");
    rc = rc ? rc : my_quote(sql, schema, NULL);
    rc = rc ? rc : dscat_buf_putc(sql, '.');
    rc = rc ? rc : my_quote(sql, table, NULL);
    return rc ? DSCAT_ENOMEM : 0;
}

static int my_cursor_open(dscat_cursor **out, dscat_source *src, const char *schema,
                          const char *table, const dscat_cursor_column *columns, size_t ncolumns,
                          dscat_error *err)
{
    my_source *s = (my_source *)src;
    dscat_buf sql = DSCAT_BUF_INIT;
    int rc = my_select_sql(&sql, schema, table, columns, ncolumns);
    rc = rc ? rc : dscat_source__where(&sql, src);
    rc = rc ? rc : dscat_buf_error(&sql);
    dscat_cursor *c = rc ? NULL : dscat_calloc(1, sizeof(*c));
    if (c == NULL) {
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    c->src = s;
    dscat_buf name = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&name, "%s.%s", schema, table) ||
        (c->name = dscat_buf_detach(&name)) == NULL) {
        dscat_buf_free(&name);
        dscat_free(c);
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    /* UTC, as the catalog's connections: TIMESTAMP values read as they are stored. */
    dscat_mysql_setting utc[DSCAT_MYSQL_SETTINGS];
    dscat_mysql__session_settings(utc, NULL, 0, 0);
    if ((rc = set_session(s, utc, 1, err))) {
        dscat_free(c->name);
        dscat_free(c);
        dscat_buf_free(&sql);
        return rc;
    }
    double started = now_seconds();
    if (mysql_real_query(s->conn, dscat_buf_cstr(&sql), (unsigned long)sql.len) != 0 ||
        (c->res = mysql_use_result(s->conn)) == NULL) {
        if (stalled(s, started))
            rc = dscat_error_set(err, DSCAT_ETIMEOUT,
                                 "target %s: cannot read %s: no answer from %s in %d s "
                                 "(query_timeout)",
                                 s->base.target->key, c->name, s->where, s->query_timeout);
        else
            rc = dscat_error_set(err, DSCAT_EQUERY, "target %s: cannot read %s: %s",
                                 s->base.target->key, c->name, mysql_error(s->conn));
        dscat_free(c->name);
        dscat_free(c);
        dscat_buf_free(&sql);
        return rc;
    }
    dscat_buf_free(&sql);
    *out = c;
    return 0;
}

/* The next row into *row: 1, 0 at the end, or the read's error. */
static int fetch_row(dscat_cursor *c, MYSQL_ROW *row, dscat_error *err)
{
    if (c->done)
        return 0;
    double started = now_seconds();
    if ((*row = mysql_fetch_row(c->res)) != NULL)
        return 1;
    c->done = true;
    my_source *s = c->src;
    if (stalled(s, started))
        return dscat_error_set(err, DSCAT_ETIMEOUT,
                               "target %s: reading rows of %s stalled: nothing from %s in %d s "
                               "(query_timeout)",
                               s->base.target->key, c->name, s->where, s->query_timeout);
    if (mysql_errno(s->conn))
        return dscat_error_set(err, DSCAT_EQUERY, "target %s: reading rows failed: %s",
                               s->base.target->key, mysql_error(s->conn));
    return 0;
}

static int my_cursor_next(dscat_cursor *c, const char *const **values, dscat_error *err)
{
    MYSQL_ROW row = NULL;
    int rc = fetch_row(c, &row, err);
    if (rc == 1)
        *values = (const char *const *)row;
    return rc;
}

static void my_cursor_close(dscat_cursor *c)
{
    if (c == NULL)
        return;
    if (c->res)
        mysql_free_result(c->res); /* reads and discards the rest of an unfinished result */
    dscat_free(c->name);
    dscat_free(c->wires);
    dscat_free(c->typed);
    dscat_free(c);
}

/* ---- the typed row path -----------------------------------------------------------------------
 */

/*
 * The server sends text either way (the text protocol); the typed path parses the numbers on
 * the reader thread instead of DuckDB casting them: integers (DSCAT_WIRE_INT), FLOAT and DOUBLE
 * (both selected as doubles, my_select_sql, read with strtod: a FLOAT's double is exactly a
 * float) and DECIMAL(p,s) with p <= 38 (its digits as an integer and its scale). Every other form
 * is the text path's text, with its length: binary strings, and text, may hold NUL bytes. A
 * column's text that is not such a number fails the read: it never becomes another value.
 */
static int my_cursor_open_typed(dscat_cursor **out, dscat_source *src, const char *schema,
                                const char *table, const dscat_cursor_column *columns,
                                size_t ncolumns, dscat_wire *wires, dscat_error *err)
{
    int rc = my_cursor_open(out, src, schema, table, columns, ncolumns, err);
    if (rc)
        return rc;
    dscat_cursor *c = *out;
    c->wires = dscat_calloc(ncolumns + 1, 1);
    c->typed = dscat_calloc(ncolumns + 1, sizeof(*c->typed));
    if (c->wires == NULL || c->typed == NULL) {
        my_cursor_close(c);
        *out = NULL;
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    c->columns = columns;
    c->n = ncolumns;
    for (size_t i = 0; i < ncolumns; i++) {
        bool parsed = wires[i] == DSCAT_WIRE_INT || wires[i] == DSCAT_WIRE_FLOAT4 ||
                      wires[i] == DSCAT_WIRE_FLOAT8 || wires[i] == DSCAT_WIRE_DECIMAL;
        if (!parsed || columns[i].hex)
            wires[i] = DSCAT_WIRE_TEXT;
        c->wires[i] = (unsigned char)wires[i];
    }
    return 0;
}

/*
 * A DECIMAL's text ("-12.340") into v: its digits as v.dec, the count after the point as
 * v.scale; special 1 past 38 digits. false when the text is not such a number.
 */
static bool parse_decimal(dscat_value *v, const char *p, size_t len)
{
    const char *end = p + len;
    bool negative = p < end && *p == '-', point = false, digits = false;
    int count = 0;
    dscat_int128 x = 0;
    v->scale = 0;
    v->special = 0;
    for (p += negative || (p < end && *p == '+'); p < end; p++) {
        if (*p == '.' && !point) {
            point = true;
            continue;
        }
        if (*p < '0' || *p > '9')
            return false;
        digits = true;
        if (x != 0 || *p != '0')
            count++;
        if (count > 38)
            v->special = 1;
        else
            x = x * 10 + (*p - '0');
        v->scale += point;
    }
    v->v.dec = negative ? -x : x;
    return digits;
}

static int my_cursor_next_typed(dscat_cursor *c, const dscat_value **values, dscat_error *err)
{
    MYSQL_ROW row = NULL;
    int rc = fetch_row(c, &row, err);
    if (rc != 1)
        return rc;
    const unsigned long *lengths = mysql_fetch_lengths(c->res);
    for (size_t i = 0; i < c->n; i++) {
        dscat_value *v = &c->typed[i];
        const char *p = row[i];
        char *end = NULL;
        bool ok = true;
        v->wire = c->wires[i];
        if (p == NULL) {
            v->wire = DSCAT_WIRE_NULL;
            continue;
        }
        errno = 0;
        switch (c->wires[i]) {
        case DSCAT_WIRE_INT:
            v->v.i = strtoll(p, &end, 10);
            ok = end == p + lengths[i] && end != p && errno == 0;
            break;
        case DSCAT_WIRE_FLOAT4: {
            /* a FLOAT's value as a double (my_select_sql): exactly a float */
            double d = strtod(p, &end);
            v->v.f = (float)d;
            ok = end == p + lengths[i] && end != p && (double)v->v.f == d;
            break;
        }
        case DSCAT_WIRE_FLOAT8:
            v->v.d = strtod(p, &end);
            ok = end == p + lengths[i] && end != p;
            break;
        case DSCAT_WIRE_DECIMAL:
            ok = parse_decimal(v, p, lengths[i]);
            break;
        default:
            v->v.p = p;
            v->len = lengths[i];
            break;
        }
        if (!ok)
            return dscat_error_set(
                err, DSCAT_EQUERY,
                "target %s: reading rows of %s failed: column %s holds \"%.40s\", "
                "not a number of its type",
                c->src->base.target->key, c->name, c->columns[i].name, p);
    }
    *values = c->typed;
    return 1;
}

static void my_close(dscat_source *src)
{
    if (src == NULL)
        return;
    my_source *s = (my_source *)src;
    if (s->conn)
        mysql_close(s->conn);
    dscat_free(s->where);
    dscat_free(s->base.database);
    dscat_free(s->peer.host);
    dscat_free(s->peer.user);
    if (s->peer.password) {
        explicit_bzero(s->peer.password, strlen(s->peer.password));
        dscat_free(s->peer.password);
    }
    dscat_free(s);
}

/* ---- configuration, process-wide set-up and the cache's types -------------------------------- */

static const char *const my_aliases[] = {"mariadb", NULL};

static const char *const my_keys[] = {
    "host", "host_env", "database",          "user",      "user_env", "password_env",
    "port", "port_env", "include_databases", "databases", NULL};

/* A host and a port in range; user and password are optional. */
static int my_check_target(const dscat_target_config *t, char *msg, size_t size)
{
    return dscat_source__check_server(t, false, 0, msg, size);
}

static int my_resolve(dscat_target_conn *out, const dscat_target_config *t, dscat_error *err)
{
    return dscat_source__resolve_server(out, t, 0, err);
}

/* The client library's global state, before any thread connects. */
static int my_global_init(dscat_error *err)
{
    if (mysql_library_init(0, NULL, NULL) != 0)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise the MariaDB client library");
    return 0;
}

static void my_global_shutdown(void)
{
    mysql_library_end();
}

static const dscat_type_map my_types[] = {
    {"tinyint", "TINYINT"},       {"smallint", "SMALLINT"},  {"mediumint", "INTEGER"},
    {"int", "INTEGER"},           {"bigint", "BIGINT"},      {"float", "FLOAT"},
    {"double", "DOUBLE"},         {"date", "DATE"},          {"datetime", "TIMESTAMP"},
    {"timestamp", "TIMESTAMPTZ"}, {"year", "SMALLINT"},      {"json", "JSON"},
    {"varchar", "VARCHAR"},       {"char", "VARCHAR"},       {"text", "VARCHAR"},
    {"tinytext", "VARCHAR"},      {"mediumtext", "VARCHAR"}, {"longtext", "VARCHAR"},
    {"enum", "VARCHAR"},          {"set", "VARCHAR"},
};

/* Unsigned integers need the next wider DuckDB type or its unsigned twin. */
static const dscat_type_map my_unsigned[] = {
    {"tinyint", "UTINYINT"}, {"smallint", "USMALLINT"}, {"mediumint", "UINTEGER"},
    {"int", "UINTEGER"},     {"bigint", "UBIGINT"},
};

/*
 * Binaries, bit and the geometry types (their stored bytes: a 4-byte SRID, then WKB) as BLOB;
 * decimal up to 38 digits; unsigned integers by column_type.
 */
static void my_cache_type(dscat_cache_type *out, const char *dt, const char *column_type,
                          int precision, int scale)
{
    static const char *const geometries[] = {
        "geometry",   "point",           "linestring",   "polygon",
        "multipoint", "multilinestring", "multipolygon", "geometrycollection"};
    const char *duck;
    bool geometry = false;
    for (size_t i = 0; i < sizeof(geometries) / sizeof(geometries[0]); i++)
        geometry = geometry || strcmp(dt, geometries[i]) == 0;
    if (strstr(dt, "blob") || strcmp(dt, "binary") == 0 || strcmp(dt, "varbinary") == 0 ||
        strcmp(dt, "bit") == 0 || geometry) {
        snprintf(out->duck_type, sizeof(out->duck_type), "BLOB");
        out->hex = true;
        return;
    }
    if (strcmp(dt, "decimal") == 0 && precision > 0 && precision <= 38 && scale >= 0) {
        snprintf(out->duck_type, sizeof(out->duck_type), "DECIMAL(%d,%d)", precision, scale);
        return;
    }
    if (column_type && strstr(column_type, "unsigned"))
        duck = dscat_type_map_find(my_unsigned, sizeof(my_unsigned) / sizeof(my_unsigned[0]), dt);
    else
        duck = dscat_type_map_find(my_types, sizeof(my_types) / sizeof(my_types[0]), dt);
    if (duck)
        snprintf(out->duck_type, sizeof(out->duck_type), "%s", duck);
}

const dscat_source_driver dscat_source_mysql = {
    .version = DSCAT_SOURCE_DRIVER_VERSION,
    .name = "mysql",
    .aliases = my_aliases,
    .keys = my_keys,
    .check_target = my_check_target,
    .resolve = my_resolve,
    .schema_is_database = true,
    .help = "[targets.shop]\n"
            "type = \"mysql\"                    # MySQL or MariaDB; a schema is a database\n"
            "host_env = \"SHOP_HOST\"\n"
            "user_env = \"SHOP_USER\"\n"
            "password_env = \"SHOP_PASSWORD\"\n",
    .global_init = my_global_init,
    .global_shutdown = my_global_shutdown,
    .cache_type = my_cache_type,
    .connect = my_connect,
    .list_databases = my_list_databases,
    .scan_database = my_scan_database,
    .profile_table = my_profile_table,
    .cursor_open = my_cursor_open,
    .key_predicate = my_key_predicate,
    .cursor_next = my_cursor_next,
    .cursor_close = my_cursor_close,
    .cursor_open_typed = my_cursor_open_typed,
    .cursor_next_typed = my_cursor_next_typed,
    .close = my_close,
};
