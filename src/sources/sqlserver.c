/*
 * SQL Server source (FreeTDS db-lib). The older tool's semantics as set-based queries, one batch
 * per query and database, each starting with USE [db] (brackets, "]" doubled):
 *   tables   sys.objects (U, V) with row estimates from sys.partitions (index 0/1), sizes from
 *            sys.allocation_units and MS_Description comments;
 *   columns  INFORMATION_SCHEMA.COLUMNS with column comments and computed columns (STORED when
 *            persisted, else VIRTUAL; sys.computed_columns);
 *   keys     primary keys (sys.indexes) and foreign keys (sys.foreign_key_columns) together;
 *   usage    last data change from sys.dm_db_index_usage_stats (needs VIEW SERVER STATE; without
 *            it last_modified stays null and a problem is noted).
 *
 * db-lib reports errors through process-wide handlers. They never exit: they copy the message into
 * a thread-local slot, read back by the connection that caused it (a connection belongs to one
 * thread at a time, see docs/threading.md), and cancel the operation.
 */
#include "sources/sqlserver_sql.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sybdb.h>
#include <sybfront.h>

typedef struct ms_source {
    dscat_source base;
    DBPROCESS *proc;
    char *where;
} ms_source;

/* The last db-lib error or server message on this thread. */
static _Thread_local char last_error[400];
static _Thread_local int last_dberr;
static _Thread_local bool timed_out;

static int err_handler(DBPROCESS *proc, int severity, int dberr, int oserr, char *dberrstr,
                       char *oserrstr)
{
    (void)proc;
    (void)severity;
    if (dberr == SYBETIME)
        timed_out = true;
    last_dberr = dberr;
    if (oserr != 0 && oserrstr && *oserrstr && oserr != DBNOERR)
        snprintf(last_error, sizeof(last_error), "%s (%s)", dberrstr ? dberrstr : "error",
                 oserrstr);
    else
        snprintf(last_error, sizeof(last_error), "%s", dberrstr ? dberrstr : "error");
    return INT_CANCEL;
}

static int msg_handler(DBPROCESS *proc, DBINT msgno, int msgstate, int severity, char *msgtext,
                       char *srvname, char *procname, int line)
{
    (void)proc;
    (void)msgstate;
    (void)srvname;
    (void)procname;
    (void)line;
    /* Severity up to 10 is information ("changed database context to ..."). */
    if (severity > 10 && msgtext) {
        last_dberr = (int)msgno;
        snprintf(last_error, sizeof(last_error), "%s", msgtext);
    }
    return 0;
}

/* db-lib (FreeTDS) once per process: dbinit and the handlers that keep the last message. */
static int ms_global_init(dscat_error *err)
{
    if (dbinit() == FAIL)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise FreeTDS");
    dberrhandle(err_handler);
    dbmsghandle(msg_handler);
    return 0;
}

static void ms_global_shutdown(void)
{
    dbexit();
}

/* Maps a failed login to an error code from the last message. */
static int classify(void)
{
    if (last_dberr == 18456 || strstr(last_error, "Login failed"))
        return DSCAT_EAUTH;
    if (timed_out || last_dberr == SYBETIME)
        return DSCAT_ETIMEOUT;
    return DSCAT_ECONNECT;
}

static int ms_connect(dscat_source **out, const dscat_target_config *target,
                      const dscat_target_conn *conn, const char *database,
                      const dscat_settings *settings, dscat_error *err)
{
    *out = NULL;
    int rc = 0;
    LOGINREC *login = NULL;
    ms_source *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    s->base.driver = &dscat_source_sqlserver;
    s->base.target = target;
    s->base.database = database ? dscat_strdup(database) : NULL;
    dscat_buf where = DSCAT_BUF_INIT;
    dscat_sqlserver__server_name(&where, conn->host, conn->port, conn->instance);
    s->where = dscat_buf_detach(&where);
    login = dblogin();
    if (s->where == NULL || login == NULL || (database && s->base.database == NULL)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    DBSETLUSER(login, conn->user ? conn->user : "");
    DBSETLPWD(login, conn->password ? conn->password : "");
    DBSETLAPP(login, "dscat");
    DBSETLCHARSET(login, "UTF-8");
    DBSETLVERSION(login, DBVERSION_74);
    /* db-lib's timeouts are whole seconds: round up, never below one. */
    dbsetlogintime((int)ceil(settings->connect_timeout));
    dbsettime(settings->query_timeout);
    last_error[0] = '\0';
    last_dberr = 0;
    timed_out = false;
    s->proc = dbopen(login, s->where);
    if (s->proc == NULL) {
        rc = classify();
        if (rc == DSCAT_ETIMEOUT)
            dscat_error_set(err, rc, "target %s: cannot connect to %s: timed out after %g s",
                            target->key, s->where, settings->connect_timeout);
        else {
            dscat_source__scrub_user(last_error, sizeof(last_error), conn->user);
            dscat_error_set(err, rc, "target %s: cannot connect to %s: %s", target->key, s->where,
                            last_error[0] ? last_error : "connection failed");
        }
        goto done;
    }
done:
    if (login)
        dbloginfree(login);
    if (rc) {
        dscat_source_sqlserver.close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* One result row as strings (NULL for SQL NULL), valid until the next row. */
typedef struct ms_row {
    char **cols;
    int ncols;
} ms_row;

#define MS_CELL 4096

typedef int (*row_fn)(const ms_row *row, void *payload);

/* Converts column i of the current row to text in buf (NULL for NULL). */
static char *column_text(DBPROCESS *proc, int i, char *buf, size_t size)
{
    BYTE *data = dbdata(proc, i);
    DBINT len = dbdatlen(proc, i);
    if (data == NULL && len == 0)
        return NULL;
    int type = dbcoltype(proc, i);
    if (type == SYBCHAR || type == SYBVARCHAR || type == SYBTEXT) {
        size_t n = (size_t)len < size - 1 ? (size_t)len : size - 1;
        memcpy(buf, data, n);
        buf[n] = '\0';
        return buf;
    }
    DBINT n = dbconvert(proc, type, data, len, SYBCHAR, (BYTE *)buf, (DBINT)(size - 1));
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

/* Sends a batch and feeds every row of its results to fn. */
static int run(ms_source *s, const char *sql, const char *what, row_fn fn, void *payload,
               dscat_error *err)
{
    char *cells = NULL;
    char **cols = NULL;
    s->base.queries++;
    last_error[0] = '\0';
    if (dbcmd(s->proc, sql) == FAIL || dbsqlexec(s->proc) == FAIL)
        goto fail;
    RETCODE rc;
    while ((rc = dbresults(s->proc)) != NO_MORE_RESULTS) {
        if (rc == FAIL)
            goto fail;
        int ncols = dbnumcols(s->proc);
        dscat_free(cells);
        dscat_free(cols);
        cells = dscat_malloc((size_t)(ncols + 1) * MS_CELL);
        cols = dscat_calloc((size_t)ncols + 1, sizeof(char *));
        if (cells == NULL || cols == NULL) {
            dbcancel(s->proc);
            dscat_free(cells);
            dscat_free(cols);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        RETCODE row;
        while ((row = dbnextrow(s->proc)) != NO_MORE_ROWS) {
            if (row == FAIL)
                goto fail;
            ms_row r = {cols, ncols};
            for (int i = 0; i < ncols; i++)
                cols[i] = column_text(s->proc, i + 1, cells + (size_t)i * MS_CELL, MS_CELL);
            if (fn && fn(&r, payload)) {
                dbcancel(s->proc);
                dscat_free(cells);
                dscat_free(cols);
                return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            }
        }
    }
    dscat_free(cells);
    dscat_free(cols);
    return 0;
fail:
    dscat_free(cells);
    dscat_free(cols);
    dbcancel(s->proc);
    return dscat_error_set(err, strstr(last_error, "permission") ? DSCAT_EPERM : DSCAT_EQUERY,
                           "target %s: %s query failed in database %s: %s", s->base.target->key,
                           what, s->base.database ? s->base.database : "?",
                           last_error[0] ? last_error : "query failed");
}

static int64_t opt_int(const char *v)
{
    return v ? strtoll(v, NULL, 10) : DSCAT_NULL;
}

static int add_database(const ms_row *r, void *payload)
{
    return r->cols[0] ? dscat_name_list_add(payload, r->cols[0]) : 0;
}

static int add_table(const ms_row *r, void *payload)
{
    dscat_db_scan *out = payload;
    bool view = r->cols[2] && strncmp(r->cols[2], "V", 1) == 0;
    dscat_table_info t = {.schema = r->cols[0],
                          .name = r->cols[1],
                          .type = view ? "VIEW" : "BASE TABLE",
                          .row_estimate = view ? DSCAT_NULL : opt_int(r->cols[3]),
                          .size_bytes = view ? DSCAT_NULL : opt_int(r->cols[4]),
                          .comment = r->cols[5],
                          .last_modified_us = DSCAT_NULL};
    if (!t.schema || !t.name)
        return 0;
    return dscat_db_scan_refused(out, dscat_db_scan_add_table(out, &t, NULL), t.schema, t.name,
                                 NULL);
}

static int add_column(const ms_row *r, void *payload)
{
    dscat_db_scan *out = payload;
    if (!r->cols[0] || !r->cols[1] || !r->cols[2])
        return 0;
    long t = dscat_db_scan_find_table(out, r->cols[0], r->cols[1]);
    if (t < 0)
        return 0;
    dscat_buf full = DSCAT_BUF_INIT;
    if (dscat_sqlserver__column_type(&full, r->cols[4] ? r->cols[4] : "", opt_int(r->cols[7]),
                                     opt_int(r->cols[8]), opt_int(r->cols[9]),
                                     opt_int(r->cols[10]))) {
        dscat_buf_free(&full);
        return DSCAT_ENOMEM;
    }
    const char *generated = dscat_sqlserver__generated(r->ncols > 12 ? r->cols[12] : NULL);
    dscat_column_info c = {.table = (size_t)t,
                           .name = r->cols[2],
                           .ordinal = (int)dscat_text_ll_or(r->cols[3], 0, INT32_MAX, 0),
                           .data_type = r->cols[4] ? r->cols[4] : "",
                           .column_type = dscat_buf_cstr(&full),
                           .nullable = r->cols[5] && strcmp(r->cols[5], "YES") == 0,
                           .generated = generated,
                           .default_value = generated ? NULL : r->cols[6],
                           .max_length = opt_int(r->cols[7]),
                           .precision = opt_int(r->cols[8]),
                           .scale = opt_int(r->cols[9]),
                           .comment = r->cols[11],
                           .null_count = DSCAT_NULL,
                           .distinct_count = DSCAT_NULL,
                           .profiled_rows = DSCAT_NULL};
    int rc = dscat_db_scan_refused(out, dscat_db_scan_add_column(out, &c),
                                   out->tables.items[t].schema, out->tables.items[t].name, c.name);
    dscat_buf_free(&full);
    return rc;
}

static int add_key(const ms_row *r, void *payload)
{
    dscat_db_scan *out = payload;
    if (!r->cols[0] || !r->cols[1] || !r->cols[2] || !r->cols[3])
        return 0;
    long t = dscat_db_scan_find_table(out, r->cols[1], r->cols[2]);
    if (t < 0)
        return 0;
    if (strcmp(r->cols[0], "P") == 0) {
        dscat_db_scan_mark_pk(out, (size_t)t, r->cols[3]);
        return 0;
    }
    if (!r->cols[4] || !r->cols[5] || !r->cols[6])
        return 0;
    dscat_fk_info fk = {(size_t)t, r->cols[3], r->cols[4], r->cols[5], r->cols[6]};
    return dscat_db_scan_add_fk(out, &fk);
}

static int add_usage(const ms_row *r, void *payload)
{
    dscat_db_scan *out = payload;
    if (!r->cols[0] || !r->cols[1] || !r->cols[2])
        return 0;
    long t = dscat_db_scan_find_table(out, r->cols[0], r->cols[1]);
    if (t >= 0)
        out->tables.items[t].last_modified_us = strtoll(r->cols[2], NULL, 10) * 1000000;
    return 0;
}

static int ms_list_databases(dscat_source *src, dscat_name_list *out, dscat_error *err)
{
    ms_source *s = (ms_source *)src;
    return run(s, dscat_sqlserver__databases_sql, "database list", add_database, out, err);
}

static int ms_scan_database(dscat_source *src, dscat_db_scan *out, dscat_error *err)
{
    ms_source *s = (ms_source *)src;
    static const struct {
        dscat_sqlserver_query q;
        const char *what;
        row_fn fn;
    } steps[] = {{DSCAT_MSSQL_TABLES, "table", add_table},
                 {DSCAT_MSSQL_COLUMNS, "column", add_column},
                 {DSCAT_MSSQL_KEYS, "key", add_key}};
    dscat_buf sql = DSCAT_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == 0; i++) {
        dscat_buf_reset(&sql);
        if (dscat_sqlserver__scan_sql(&sql, out->database, steps[i].q))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else
            rc = run(s, dscat_buf_cstr(&sql), steps[i].what, steps[i].fn, out, err);
    }
    if (rc == 0) {
        /* Index usage needs VIEW SERVER STATE: without it, a problem, not a failure. */
        dscat_error usage_err = {0};
        dscat_buf_reset(&sql);
        dscat_sqlserver__scan_sql(&sql, out->database, DSCAT_MSSQL_USAGE);
        if (run(s, dscat_buf_cstr(&sql), "index usage", add_usage, out, &usage_err))
            dscat_db_scan_add_problem(out, NULL, usage_err.message);
    }
    dscat_buf_free(&sql);
    return rc;
}

static int ms_quote(dscat_buf *b, const char *name, void *payload)
{
    (void)payload;
    return dscat_sqlserver__quote_ident(b, name);
}

/* Reads the profile query's single row into values (see dscat_profile_dialect.query). */
typedef struct ms_profile {
    int64_t *values;
    size_t n;
    bool seen;
} ms_profile;

static int store_profile(const ms_row *r, void *payload)
{
    ms_profile *p = payload;
    for (size_t i = 0; i < p->n; i++)
        p->values[i] = (int)i < r->ncols ? opt_int(r->cols[i]) : DSCAT_NULL;
    p->seen = true;
    return 0;
}

static int ms_profile_query(void *payload, const char *sql, int64_t *values, size_t nvalues,
                            dscat_error *err)
{
    ms_source *s = payload;
    ms_profile p = {values, nvalues, false};
    int rc = run(s, sql, "profile", store_profile, &p, err);
    if (rc == 0 && !p.seen)
        rc = dscat_error_set(err, DSCAT_EQUERY, "target %s: profile query gave no row",
                             s->base.target->key);
    return rc;
}

/* A SELECT list holds at most 4,096 columns. */
static const dscat_profile_dialect ms_dialect = {ms_quote, true, dscat_sqlserver__profileable,
                                                 NULL,     4096, ms_profile_query};

static int ms_profile_table(dscat_source *src, dscat_db_scan *scan, size_t table,
                            const size_t *columns, size_t ncolumns, int sample, dscat_error *err)
{
    return dscat_profile_run(&ms_dialect, (ms_source *)src, scan, table, columns, ncolumns, sample,
                             err);
}

/*
 * Row cursor: one SELECT converting every column to text on the server (see
 * dscat_sqlserver__select_sql), rows taken one at a time with dbnextrow. Values are copied whole
 * (no cell limit) into one buffer per row. Errors land in this thread's slot, read back here.
 */
struct dscat_cursor {
    ms_source *src;
    char *text; /* the current row's values, each ending in NUL */
    size_t cap;
    size_t *offset;
    const char **values;
    int n;
    bool done;
};

static int ms_cursor_fail(dscat_cursor *c, const char *what, dscat_error *err)
{
    dbcancel(c->src->proc);
    c->done = true;
    return dscat_error_set(err, timed_out ? DSCAT_ETIMEOUT : DSCAT_EQUERY, "target %s: %s: %s",
                           c->src->base.target->key, what,
                           last_error[0] ? last_error : "the server gave no reason");
}

/*
 * An append refresh's predicate (source.h, key_predicate). A time is cast from datetime2(7),
 * which takes any fraction, to the column's own type, so that a datetime's value rounds to the
 * tick it was read from; text compares under Latin1_General_BIN2 (code units).
 */
static int ms_key_predicate(dscat_buf *sql, const dscat_key_bound *k)
{
    static const char *const texts[] = {"char", "varchar", "nchar", "nvarchar"};
    static const char *const times[] = {"date", "datetime", "datetime2", "smalldatetime",
                                        "datetimeoffset"};
    const char *type = k->data_type ? k->data_type : "";
    bool ok = k->type == DSCAT_KEY_INTEGER || k->type == DSCAT_KEY_DECIMAL;
    for (size_t i = 0; !ok && k->type == DSCAT_KEY_TEXT && i < 4; i++)
        ok = strcmp(type, texts[i]) == 0;
    for (size_t i = 0; !ok && k->type != DSCAT_KEY_TEXT && i < 5; i++)
        ok = strcmp(type, times[i]) == 0;
    if (!ok || (k->value && !dscat_key_value_ok(k->type, k->value)))
        return DSCAT_EINVALID;
    if (k->value == NULL)
        return 0;
    if (k->type != DSCAT_KEY_TEXT && k->value[0] != '-' && k->value[0] != '.' &&
        (k->value[0] < '0' || k->value[0] > '9'))
        return DSCAT_EINVALID; /* an infinity */
    int rc = dscat_sqlserver__quote_ident(sql, k->column);
    rc = rc ? rc : dscat_buf_puts(sql, " > ");
    if (rc)
        return DSCAT_ENOMEM;
    switch (k->type) {
    case DSCAT_KEY_INTEGER:
    case DSCAT_KEY_DECIMAL:
        return dscat_buf_puts(sql, k->value);
    case DSCAT_KEY_DATE:
        return dscat_buf_printf(sql, "CAST(N'%s' AS date)", k->value);
    case DSCAT_KEY_TIMESTAMP:
        return dscat_buf_printf(sql, "CAST(CAST(N'%s' AS datetime2(7)) AS %s)", k->value, type);
    case DSCAT_KEY_TIMESTAMPTZ:
        return dscat_buf_printf(sql, "CAST(N'%s +00:00' AS datetimeoffset(7))", k->value);
    case DSCAT_KEY_TEXT:
        rc = dscat_source__sql_string(sql, "N", k->value, false);
        return rc ? rc : dscat_buf_puts(sql, " COLLATE Latin1_General_BIN2");
    }
    return DSCAT_EINVALID;
}

static int ms_cursor_open(dscat_cursor **out, dscat_source *src, const char *schema,
                          const char *table, const dscat_cursor_column *columns, size_t ncolumns,
                          dscat_error *err)
{
    ms_source *s = (ms_source *)src;
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_cursor *c = dscat_calloc(1, sizeof(*c));
    if (c == NULL || (c->values = dscat_calloc(ncolumns + 1, sizeof(char *))) == NULL ||
        (c->offset = dscat_calloc(ncolumns + 1, sizeof(size_t))) == NULL ||
        dscat_sqlserver__select_sql(&sql, schema, table, columns, ncolumns) ||
        dscat_source__where(&sql, src)) {
        if (c) {
            dscat_free(c->values);
            dscat_free(c->offset);
        }
        dscat_free(c);
        dscat_buf_free(&sql);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    c->src = s;
    c->n = (int)ncolumns;
    s->base.queries++;
    last_error[0] = '\0';
    timed_out = false;
    int rc = 0;
    char what[300];
    snprintf(what, sizeof(what), "cannot read %s.%s", schema, table);
    if (dbcmd(s->proc, dscat_buf_cstr(&sql)) == FAIL || dbsqlexec(s->proc) == FAIL ||
        dbresults(s->proc) != SUCCEED)
        rc = ms_cursor_fail(c, what, err);
    else if (dbnumcols(s->proc) != c->n)
        rc = ms_cursor_fail(c, "the row cursor returned an unexpected number of columns", err);
    dscat_buf_free(&sql);
    if (rc) {
        dscat_free(c->values);
        dscat_free(c->offset);
        dscat_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int ms_cursor_next(dscat_cursor *c, const char *const **values, dscat_error *err)
{
    if (c->done)
        return 0;
    last_error[0] = '\0';
    RETCODE row = dbnextrow(c->src->proc);
    if (row == NO_MORE_ROWS) {
        c->done = true;
        while (dbresults(c->src->proc) == SUCCEED)
            while (dbnextrow(c->src->proc) != NO_MORE_ROWS) {
            }
        return 0;
    }
    if (row != REG_ROW)
        return ms_cursor_fail(c, "reading rows failed", err);
    size_t len = 0;
    for (int i = 0; i < c->n; i++) {
        BYTE *data = dbdata(c->src->proc, i + 1);
        DBINT n = dbdatlen(c->src->proc, i + 1);
        if (data == NULL && n <= 0) {
            c->offset[i] = 0;
            continue;
        }
        /* Every column arrives as character data: copy it as it is. */
        if (len + (size_t)n + 1 > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < len + (size_t)n + 1)
                cap *= 2;
            char *t = dscat_realloc(c->text, cap);
            if (t == NULL) {
                dbcancel(c->src->proc);
                c->done = true;
                return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            }
            c->text = t;
            c->cap = cap;
        }
        memcpy(c->text + len, data, (size_t)n);
        c->text[len + (size_t)n] = '\0';
        c->offset[i] = len + 1;
        len += (size_t)n + 1;
    }
    for (int i = 0; i < c->n; i++)
        c->values[i] = c->offset[i] ? c->text + c->offset[i] - 1 : NULL;
    *values = c->values;
    return 1;
}

static void ms_cursor_close(dscat_cursor *c)
{
    if (c == NULL)
        return;
    if (!c->done)
        dbcancel(c->src->proc);
    dscat_free(c->text);
    dscat_free(c->offset);
    dscat_free(c->values);
    dscat_free(c);
}

static void ms_close(dscat_source *src)
{
    if (src == NULL)
        return;
    ms_source *s = (ms_source *)src;
    if (s->proc)
        dbclose(s->proc);
    dscat_free(s->where);
    dscat_free(s->base.database);
    dscat_free(s);
}

/* ---- configuration and the cache's types ---------------------------------------------------- */

static const char *const ms_aliases[] = {"mssql", NULL};

static const char *const ms_keys[] = {"host",         "host_env", "user",     "user_env",
                                      "password_env", "port",     "port_env", "include_databases",
                                      "databases",    NULL};

/* A host, a login (user and password variable) and a port in range. */
static int ms_check_target(const dscat_target_config *t, char *msg, size_t size)
{
    return dscat_source__check_server(t, true, DSCAT_HOST_INSTANCE, msg, size);
}

/* "host", "host:port" or "host\instance" (a named instance: its port is found by the browser). */
static int ms_resolve(dscat_target_conn *out, const dscat_target_config *t, dscat_error *err)
{
    return dscat_source__resolve_server(out, t, DSCAT_HOST_INSTANCE, err);
}

static const dscat_type_map ms_types[] = {
    {"tinyint", "UTINYINT"},
    {"smallint", "SMALLINT"},
    {"int", "INTEGER"},
    {"bigint", "BIGINT"},
    {"real", "FLOAT"},
    {"float", "DOUBLE"},
    {"bit", "BOOLEAN"},
    {"money", "DECIMAL(19,4)"},
    {"smallmoney", "DECIMAL(10,4)"},
    {"date", "DATE"},
    {"datetime", "TIMESTAMP"},
    {"datetime2", "TIMESTAMP"},
    {"smalldatetime", "TIMESTAMP"},
    {"datetimeoffset", "TIMESTAMPTZ"},
    {"time", "TIME"},
    {"uniqueidentifier", "UUID"},
    {"char", "VARCHAR"},
    {"varchar", "VARCHAR"},
    {"text", "VARCHAR"},
    {"nchar", "VARCHAR"},
    {"nvarchar", "VARCHAR"},
    {"ntext", "VARCHAR"},
};

/* Binaries (binary, varbinary, image, timestamp/rowversion) as BLOB; decimals up to 38 digits. */
static void ms_cache_type(dscat_cache_type *out, const char *dt, const char *column_type,
                          int precision, int scale)
{
    static const char *const binaries[] = {"binary", "varbinary", "image", "timestamp",
                                           "rowversion"};
    (void)column_type;
    for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); i++)
        if (strcmp(dt, binaries[i]) == 0) {
            snprintf(out->duck_type, sizeof(out->duck_type), "BLOB");
            out->hex = true;
            return;
        }
    if ((strcmp(dt, "decimal") == 0 || strcmp(dt, "numeric") == 0) && precision > 0 &&
        precision <= 38 && scale >= 0) {
        snprintf(out->duck_type, sizeof(out->duck_type), "DECIMAL(%d,%d)", precision, scale);
        return;
    }
    const char *duck = dscat_type_map_find(ms_types, sizeof(ms_types) / sizeof(ms_types[0]), dt);
    if (duck)
        snprintf(out->duck_type, sizeof(out->duck_type), "%s", duck);
}

const dscat_source_driver dscat_source_sqlserver = {
    .version = DSCAT_SOURCE_DRIVER_VERSION,
    .name = "sqlserver",
    .aliases = ms_aliases,
    .keys = ms_keys,
    .check_target = ms_check_target,
    .resolve = ms_resolve,
    .help =
        "name = \"RCOOMSSQL001\"             # display name (the server column); default: the key\n"
        "host_env = \"OMS_HOST\"             # host, host:port or host\\instance\n"
        "user_env = \"OMS_USER\"             # required for sqlserver\n"
        "password_env = \"OMS_PASSWORD\"     # required for sqlserver, optional elsewhere\n"
        "# port = 1433                     # or port_env = \"OMS_PORT\"\n"
        "include_databases = [\"Orders\", \"Quotes*\"]   # exact names or shell globs; default "
        "all\n"
        "exclude_databases = [\"*_archive\"]\n"
        "include_schemas = [\"dbo\", \"sales\"]\n"
        "exclude_schemas = [\"tmp*\"]\n"
        "include_tables = [\"*\"]\n"
        "exclude_tables = [\"*_bak\"]\n",
    .global_init = ms_global_init,
    .global_shutdown = ms_global_shutdown,
    .cache_type = ms_cache_type,
    .connect = ms_connect,
    .list_databases = ms_list_databases,
    .scan_database = ms_scan_database,
    .profile_table = ms_profile_table,
    .cursor_open = ms_cursor_open,
    .key_predicate = ms_key_predicate,
    .cursor_next = ms_cursor_next,
    .cursor_close = ms_cursor_close,
    .close = ms_close,
};
