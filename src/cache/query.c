/*
 * SQL over the cache (dscat query, POST /query): one DuckDB database where every cached table is
 * a view over its current version's Parquet files, named "<connection id>"."<schema>"."<table>"
 * (an attached in-memory catalog per connection, a schema per source schema). The views are bound
 * when the query starts: a refresh that swaps versions meanwhile does not disturb it, and the old
 * version stays on disk for the grace period.
 *
 * The SQL is confined (docs/api.md, "Security"). Once the views exist, DuckDB may read only their
 * files (allowed_paths), external access is off and the configuration is locked, so no statement
 * can reach another file, attach a database, load an extension or change a setting. Before it
 * runs, DuckDB's own parser decides what the text is: exactly one statement, a query
 * (json_serialize_sql serialises nothing else), and no table function but the few that compute
 * rows (range, unnest, ...). Results stream: rows are fetched a chunk at a time and fetching stops
 * at the limit; a watchdog interrupts a query that runs past query_timeout, and DuckDB's
 * memory_limit (query_memory, no spilling to disk) bounds what one query may hold.
 */
#include "dscat/cache.h"

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/duck.h"
#include "core/json.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdlib.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Table functions that compute rows and touch nothing outside the query. */
static const char *const allowed_table_functions[] = {
    "range", "generate_series", "unnest", "repeat", "repeat_row",
};

/* The catalog of the views of tables whose names DuckDB cannot tell from another's. No
 * connection id can be it: a target key holds no '~', a "<target>.<database>" id holds a dot. */
#define APART_CATALOG "~case"

/* One cached table in the order views_apart() groups them. */
typedef struct by_fold {
    const dscat_cached_table *t;
    size_t i;
} by_fold;

/* Compares two names as DuckDB matches them (ASCII case ignored). */
static int fold_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        x = x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x;
        y = y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y;
        if (x != y || x == 0)
            return x - y;
    }
}

static int by_fold_cmp(const void *pa, const void *pb)
{
    const dscat_cached_table *a = ((const by_fold *)pa)->t, *b = ((const by_fold *)pb)->t;
    int c = fold_cmp(a->connection_id, b->connection_id);
    if (c == 0)
        c = fold_cmp(a->schema, b->schema);
    return c ? c : fold_cmp(a->table, b->table);
}

/* Marks apart[] for the tables of one group (sorted[from..to)) when their `field`s differ. */
static void mark_group(const by_fold *sorted, size_t from, size_t to, bool *apart,
                       const char *(*field)(const dscat_cached_table *))
{
    for (size_t k = from + 1; k < to; k++)
        if (strcmp(field(sorted[k].t), field(sorted[from].t)) != 0) {
            for (size_t m = from; m < to; m++)
                apart[sorted[m].i] = true;
            return;
        }
}

static const char *conn_of(const dscat_cached_table *t)
{
    return t->connection_id;
}
static const char *schema_of(const dscat_cached_table *t)
{
    return t->schema;
}
static const char *table_of(const dscat_cached_table *t)
{
    return t->table;
}

/*
 * Which cached tables need a view apart (apart[i]): those whose connection id, schema or name
 * DuckDB takes for another cached table's (they differ only in case). Their views are
 * "~case"."main"."<n>:<connection>.<schema>.<table>" (n: 1 + the table's place in the listing),
 * and check_query points every reference to them there; every other table's view has its own
 * name. NULL when out of memory.
 */
static bool *views_apart(const dscat_cache_listing *l)
{
    bool *apart = dscat_calloc(l->count + 1, sizeof(bool));
    by_fold *sorted = dscat_calloc(l->count + 1, sizeof(*sorted));
    if (apart == NULL || sorted == NULL) {
        dscat_free(apart);
        dscat_free(sorted);
        return NULL;
    }
    for (size_t i = 0; i < l->count; i++)
        sorted[i] = (by_fold){&l->tables[i], i};
    qsort(sorted, l->count, sizeof(*sorted), by_fold_cmp);
    /* Groups of one connection id, schema, name to DuckDB are runs of the sorted list: a run
     * whose members are spelled differently is apart, at each level. */
    for (size_t a = 0, b; a < l->count; a = b) {
        for (b = a + 1;
             b < l->count && fold_cmp(sorted[b].t->connection_id, sorted[a].t->connection_id) == 0;
             b++) {
        }
        mark_group(sorted, a, b, apart, conn_of);
        for (size_t c = a, d; c < b; c = d) {
            for (d = c + 1; d < b && fold_cmp(sorted[d].t->schema, sorted[c].t->schema) == 0; d++) {
            }
            mark_group(sorted, c, d, apart, schema_of);
            for (size_t e = c, f; e < d; e = f) {
                for (f = e + 1; f < d && fold_cmp(sorted[f].t->table, sorted[e].t->table) == 0;
                     f++) {
                }
                mark_group(sorted, e, f, apart, table_of);
            }
        }
    }
    dscat_free(sorted);
    return apart;
}

/* Appends the name of table i's view: "conn"."schema"."table", or its name apart. Returns 0 or
 * DSCAT_ENOMEM. */
static int qualified(dscat_buf *b, const dscat_cache_listing *l, const bool *apart, size_t i)
{
    const dscat_cached_table *t = &l->tables[i];
    if (apart[i]) {
        dscat_buf n = DSCAT_BUF_INIT;
        dscat_buf_printf(&n, "%zu:%s.%s.%s", i + 1, t->connection_id, t->schema, t->table);
        int rc = dscat_buf_error(&n);
        dscat_buf_puts(b, "\"" APART_CATALOG "\".\"main\".");
        if (rc == 0)
            dscat_cache_quote_ident(b, dscat_buf_cstr(&n));
        dscat_buf_free(&n);
        return rc ? rc : dscat_buf_error(b);
    }
    dscat_cache_quote_ident(b, t->connection_id);
    dscat_buf_putc(b, '.');
    dscat_cache_quote_ident(b, t->schema);
    dscat_buf_putc(b, '.');
    dscat_cache_quote_ident(b, t->table);
    return dscat_buf_error(b);
}

/* True when sql may name the table (any case, or quoted): only those are fetched from S3. */
static bool mentions(const char *sql, const char *table)
{
    if (strcasestr(sql, table) != NULL)
        return true;
    dscat_buf quoted = DSCAT_BUF_INIT;
    dscat_cache_quote_ident(&quoted, table); /* "q""uote" for q"uote */
    /* out of memory: taken as named, so that the query fails on memory, not on a missing table */
    bool found = dscat_buf_error(&quoted) != 0 ||
                 (quoted.len > 2 && memmem(sql, strlen(sql), quoted.ptr + 1, quoted.len - 2));
    dscat_buf_free(&quoted);
    return found;
}

/* The top-level column names of a local Parquet file, in order. Caller frees *names. */
static int file_columns(dscat_duck *duck, const char *file, char ***names, size_t *n,
                        dscat_error *err)
{
    dscat_buf q = DSCAT_BUF_INIT;
    duckdb_result res;
    *names = NULL;
    *n = 0;
    dscat_buf_puts(&q, "SELECT name FROM parquet_schema(");
    dscat_duck_quote_literal(&q, file);
    if (dscat_buf_putc(&q, ')')) {
        dscat_buf_free(&q);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    int rc = 0;
    if (duckdb_query(dscat_duck_connection(duck), dscat_buf_cstr(&q), &res) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot read the columns of %s: %s", file,
                             duckdb_result_error(&res));
        goto done;
    }
    idx_t rows = duckdb_row_count(&res);
    *n = rows > 0 ? (size_t)rows - 1 : 0; /* row 0 is the schema's root; the columns are flat */
    if ((*names = dscat_calloc(*n + 1, sizeof(char *))) == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < *n && rc == 0; i++) {
        char *v = duckdb_value_varchar(&res, 0, i + 1);
        if (((*names)[i] = dscat_strdup(v ? v : "")) == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        duckdb_free(v);
    }
done:
    duckdb_destroy_result(&res);
    dscat_buf_free(&q);
    return rc;
}

/*
 * The source's column names of the cached table's current version as the store keeps them (its
 * layout: [[name, type], ...]), when it still is version `version`; *names NULL when there is
 * none (a version written before layouts were kept, or replaced meanwhile). A version written
 * before files kept names that differ only in case holds DuckDB's renamed ones (id, ID_1): its
 * layout still has the source's, in the files' order.
 */
static int layout_columns(dscat_store *st, const dscat_cached_table *t, char ***names, size_t *n,
                          dscat_error *err)
{
    cache_current cur;
    *names = NULL;
    *n = 0;
    int rc = dscat_cache__current(st, t->connection_id, t->schema, t->table, &cur, err);
    if (rc <= 0)
        return rc;
    json_t *layout = NULL;
    rc = 0;
    if (cur.layout && strcmp(cur.version, t->version) == 0 &&
        (layout = json_loads(cur.layout, 0, NULL)) != NULL && json_is_array(layout)) {
        size_t count = json_array_size(layout);
        if ((*names = dscat_calloc(count + 1, sizeof(char *))) == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < count; i++) {
            const char *name = json_string_value(json_array_get(json_array_get(layout, i), 0));
            if (name == NULL) { /* not a layout this code wrote: not used */
                dscat_cache__free_names(*names, count);
                *names = NULL;
                break;
            }
            if (((*names)[i] = dscat_strdup(name)) == NULL)
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        if (*names)
            *n = count;
    }
    json_decref(layout);
    dscat_cache__current_free(&cur);
    return rc;
}

/*
 * The column list "(...)" of a view whose columns hold names DuckDB cannot tell apart ("id" and
 * "ID"): each of those is "<name>~<position>" in SQL over the cache, so that no reference
 * reaches one for another (DuckDB's reader would call them id, ID_1, and "id_1" could then be
 * another column). *out stays empty otherwise.
 */
static int view_columns(char **names, size_t n, dscat_buf *out, dscat_error *err)
{
    if (!dscat_cache__names_collide((const char *const *)names, n))
        return 0;
    char **renamed = dscat_cache__query_columns((const char *const *)names, n);
    if (renamed == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_putc(out, '(');
    for (size_t i = 0; i < n; i++) {
        if (i)
            dscat_buf_puts(out, ", ");
        dscat_cache_quote_ident(out, renamed[i]);
    }
    dscat_cache__free_names(renamed, n);
    return dscat_buf_putc(out, ')') ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory") : 0;
}

/* What setup_views keeps of each table's view: where its rows come from. */
typedef struct view_source {
    char *from;  /* "read_parquet([...])" over the version's files; NULL: no view */
    char *first; /* the version's first local file */
} view_source;

/* Names view i as DuckDB lists it (duckdb_columns()): true when it is catalog.schema.name. */
static bool is_view(const dscat_cache_listing *l, const bool *apart, size_t i, const char *catalog,
                    const char *schema, const char *name)
{
    const dscat_cached_table *t = &l->tables[i];
    if (!apart[i])
        return strcmp(t->connection_id, catalog) == 0 && strcmp(t->schema, schema) == 0 &&
               strcmp(t->table, name) == 0;
    char n[32];
    snprintf(n, sizeof(n), "%zu:", i + 1);
    return strcmp(catalog, APART_CATALOG) == 0 && strcmp(schema, "main") == 0 &&
           strncmp(name, n, strlen(n)) == 0;
}

/*
 * Gives the views over files whose columns DuckDB cannot tell apart their column lists
 * (view_columns). DuckDB renames such columns when it reads them (id, ID_1): only views with a
 * column name ending in _<digits> can be one, so only their names are looked at: the source's as
 * the store keeps them with the version (its layout), else the file's. A view that cannot be
 * read is left as it is unless the query names its table (used[i]).
 */
static int rename_columns(dscat_duck *duck, const dscat_config *cfg, const dscat_cache_listing *l,
                          const bool *apart, const bool *used, const view_source *v,
                          dscat_error *err)
{
    duckdb_result res;
    dscat_store *st = NULL;
    bool no_store = false;
    if (duckdb_query(dscat_duck_connection(duck),
                     "SELECT DISTINCT database_name, schema_name, table_name FROM "
                     "duckdb_columns() WHERE regexp_matches(column_name, '_[0-9]+$')",
                     &res) == DuckDBError) {
        int rc = dscat_error_set(err, DSCAT_EIO, "cannot list the views' columns: %s",
                                 duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return rc;
    }
    int rc = 0;
    for (idx_t r = 0; r < duckdb_row_count(&res) && rc == 0; r++) {
        char *catalog = duckdb_value_varchar(&res, 0, r),
             *schema = duckdb_value_varchar(&res, 1, r), *name = duckdb_value_varchar(&res, 2, r);
        bool whole = catalog && schema && name;
        size_t i = 0;
        while (whole && i < l->count && !(v[i].from && is_view(l, apart, i, catalog, schema, name)))
            i++;
        duckdb_free(catalog);
        duckdb_free(schema);
        duckdb_free(name);
        if (!whole) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        if (i >= l->count)
            continue;
        dscat_buf list = DSCAT_BUF_INIT, sql = DSCAT_BUF_INIT;
        char **names = NULL;
        size_t n = 0;
        /* the source's names as the store keeps them, else the file's */
        if (st == NULL && !no_store) {
            if ((rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_READ, err))) {
                no_store = true;
                dscat_error_clear(err);
                rc = 0;
            }
        }
        if (st)
            rc = layout_columns(st, &l->tables[i], &names, &n, err);
        if (rc == 0 && names == NULL)
            rc = file_columns(duck, v[i].first, &names, &n, err);
        if (rc == 0 && (rc = view_columns(names, n, &list, err)) == 0 && list.len) {
            dscat_buf_puts(&sql, "CREATE OR REPLACE VIEW ");
            qualified(&sql, l, apart, i);
            dscat_buf_put(&sql, list.ptr, list.len);
            dscat_buf_puts(&sql, " AS SELECT * FROM ");
            if (dscat_buf_puts(&sql, v[i].from))
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            else
                rc = dscat_duck_exec(duck, dscat_buf_cstr(&sql), err);
        }
        if (rc && rc != DSCAT_ENOMEM && !used[i]) {
            dscat_error_clear(err); /* not named by the query: the rest may run */
            rc = 0;
        }
        dscat_cache__free_names(names, n);
        dscat_buf_free(&list);
        dscat_buf_free(&sql);
    }
    duckdb_destroy_result(&res);
    dscat_store_close(st);
    return rc;
}

/* Appends the statements that make room for table i's view: its catalog and schema. */
static void view_room(dscat_buf *sql, const dscat_cache_listing *l, const bool *apart, size_t i,
                      const char **attached, bool *apart_attached)
{
    const dscat_cached_table *t = &l->tables[i];
    if (apart[i]) {
        if (!*apart_attached)
            dscat_buf_puts(sql, "ATTACH ':memory:' AS \"" APART_CATALOG "\"; ");
        *apart_attached = true;
        return;
    }
    if (*attached == NULL || strcmp(*attached, t->connection_id) != 0) {
        *attached = t->connection_id; /* the listing is sorted by connection */
        dscat_buf_puts(sql, "ATTACH ':memory:' AS ");
        dscat_cache_quote_ident(sql, t->connection_id);
        dscat_buf_puts(sql, "; ");
    }
    dscat_buf_puts(sql, "CREATE SCHEMA IF NOT EXISTS ");
    dscat_cache_quote_ident(sql, t->connection_id);
    dscat_buf_putc(sql, '.');
    dscat_cache_quote_ident(sql, t->schema);
    dscat_buf_puts(sql, "; ");
}

/*
 * Defines a view per cached table (apart: views_apart()), then closes DuckDB to everything else:
 * only the views' files may be read, external access is off, the configuration is locked. A
 * view that cannot be made fails the query only where the query names its table (used[i]).
 */
static int setup_views(dscat_duck *duck, dscat_storage *sto, const dscat_config *cfg,
                       const dscat_cache_listing *l, const bool *apart, const bool *used,
                       const char *query, dscat_error *err)
{
    /* Where reading a version downloads it, only the tables the query may name are read. */
    bool remote = dscat_storage_has(sto, DSCAT_STORAGE_REMOTE);
    const char *attached = NULL;
    bool apart_attached = false;
    dscat_buf allowed = DSCAT_BUF_INIT;
    view_source *v = dscat_calloc(l->count + 1, sizeof(*v));
    int rc = v ? dscat_duck_exec(duck, "SET TimeZone = 'UTC'", err)
               : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_puts(&allowed, "SET allowed_paths = [");
    size_t nallowed = 0;
    for (size_t i = 0; i < l->count && rc == 0; i++) {
        const dscat_cached_table *t = &l->tables[i];
        dscat_buf sql = DSCAT_BUF_INIT, from = DSCAT_BUF_INIT;
        char *file = NULL;
        if (remote && !mentions(query, t->table))
            continue;
        /* A version is one file, and one more per append refresh: one view over all of them. */
        dscat_buf_puts(&from, "read_parquet([");
        for (int f = 0; f < t->files && rc == 0; f++) {
            if ((rc = dscat_cache__local_file(sto, t->path, f, &file, err)))
                break;
            if (f)
                dscat_buf_puts(&from, ", ");
            dscat_duck_quote_literal(&from, file);
            if (nallowed++)
                dscat_buf_puts(&allowed, ", ");
            dscat_duck_quote_literal(&allowed, file);
            if (f == 0)
                v[i].first = file;
            else
                dscat_free(file);
            file = NULL;
        }
        view_room(&sql, l, apart, i, &attached, &apart_attached);
        dscat_buf_puts(&sql, "CREATE VIEW ");
        qualified(&sql, l, apart, i);
        dscat_buf_puts(&sql, " AS SELECT * FROM ");
        dscat_buf_puts(&from, "])");
        dscat_buf_put(&sql, from.ptr, from.len);
        if (rc == 0 && (dscat_buf_error(&from) || dscat_buf_error(&sql) ||
                        (v[i].from = dscat_buf_detach(&from)) == NULL))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        /* Every view can be made: a name DuckDB would confuse with another's has its view
         * apart. One that cannot (its file unreadable) fails the query if the query names it. */
        if (rc == 0 && dscat_duck_exec(duck, dscat_buf_cstr(&sql), err) != 0) {
            dscat_free(v[i].from);
            v[i].from = NULL;
            if (used[i])
                rc = err->code ? err->code : DSCAT_EIO;
            else
                dscat_error_clear(err);
        }
        dscat_buf_free(&sql);
        dscat_buf_free(&from);
    }
    if (rc == 0)
        rc = rename_columns(duck, cfg, l, apart, used, v, err);
    if (rc == 0 && dscat_buf_putc(&allowed, ']'))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0 && nallowed)
        rc = dscat_duck_exec(duck, dscat_buf_cstr(&allowed), err);
    if (rc == 0)
        rc = dscat_duck_exec(duck, "SET enable_external_access = false", err);
    if (rc == 0)
        rc = dscat_duck_exec(duck, "SET lock_configuration = true", err);
    for (size_t i = 0; v && i < l->count; i++) {
        dscat_free(v[i].from);
        dscat_free(v[i].first);
    }
    dscat_free(v);
    dscat_buf_free(&allowed);
    return rc;
}

/* Skips spaces and comments from p. */
static const char *skip_space(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (end == NULL)
                return p;
            p = end + 2;
        } else {
            return p;
        }
    }
}

/* The statement's first keyword, upper case, for naming it in a refusal ("COPY"). */
static void first_keyword(const char *sql, char *out, size_t size)
{
    const char *p = skip_space(sql);
    size_t n = 0;
    while (n + 1 < size && isalpha((unsigned char)p[n])) {
        out[n] = (char)toupper((unsigned char)p[n]);
        n++;
    }
    out[n] = '\0';
}

static int refuse_statement(const char *sql, dscat_error *err)
{
    char kw[32];
    first_keyword(sql, kw, sizeof(kw));
    return dscat_error_set(err, DSCAT_EINVALID,
                           "%s%s is not allowed: SQL over the cache runs one query (SELECT, "
                           "WITH ... SELECT or VALUES) over the cached tables",
                           kw[0] ? kw : "this statement", kw[0] ? " statement" : "");
}

/*
 * Calls visit on every object of a parsed tree, depth first, until one returns non-NULL; that
 * value is returned.
 */
static const char *walk(json_t *node, const char *(*visit)(json_t *object, void *payload),
                        void *payload)
{
    const char *found = NULL;
    size_t i;
    const char *key;
    json_t *v;
    if (json_is_array(node)) {
        json_array_foreach(node, i, v)
        {
            if ((found = walk(v, visit, payload)) != NULL)
                return found;
        }
        return NULL;
    }
    if (!json_is_object(node) || (found = visit(node, payload)) != NULL)
        return found;
    json_object_foreach(node, key, v)
    {
        if ((found = walk(v, visit, payload)) != NULL)
            return found;
    }
    return NULL;
}

/* Collects the names of the common table expressions an object defines (walk's visitor). */
static const char *cte_names(json_t *object, void *payload)
{
    json_t *names = payload, *map = json_object_get(json_object_get(object, "cte_map"), "map");
    size_t i;
    json_t *v;
    json_array_foreach(map, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "key"));
        if (name)
            json_array_append_new(names, json_string(name));
    }
    return NULL;
}

/* A reference to a table whose view is apart: where it is written, and what to write there. */
typedef struct ref_move {
    size_t at;    /* byte offset of the reference in the SQL */
    size_t parts; /* its names: 2 or 3 */
    size_t table; /* the cached table (its place in the listing) */
    bool aliased; /* written with an alias */
    const char *names[3];
} ref_move;

/* What a table reference may name: the cached tables, and the CTEs the statement defines. */
typedef struct ref_scope {
    const dscat_cache_listing *cached;
    const bool *apart; /* views_apart() */
    bool *used;        /* the cached tables the statement names */
    json_t *ctes;
    bool is_function; /* what forbidden_ref found: a table function, else a table name */
    bool ambiguous;   /* what forbidden_ref found: a name several cached tables answer to */
    const char *conn, *schema; /* that name's connection and schema (borrowed from the tree) */
    ref_move *moves;           /* the references to rewrite, to views apart */
    size_t nmoves, capacity;
    bool nomem;
} ref_scope;

static bool empty(const char *s)
{
    return s == NULL || *s == '\0';
}

#define REF_NONE ((size_t)-1)
#define REF_AMBIGUOUS ((size_t)-2)

/*
 * The cached table that conn.schema.name names (conn.name: schema main): the one spelled exactly
 * so; else the only one DuckDB's rule (ASCII case ignored) would match; REF_AMBIGUOUS when several
 * match and none exactly, REF_NONE when none.
 */
static size_t resolve(const dscat_cache_listing *l, const char *conn, const char *schema,
                      const char *name)
{
    size_t found = REF_NONE;
    for (size_t i = 0; i < l->count; i++) {
        const dscat_cached_table *t = &l->tables[i];
        if (!dscat_cache__same_name(t->table, name) ||
            !dscat_cache__same_name(t->connection_id, conn) ||
            !dscat_cache__same_name(t->schema, schema))
            continue;
        if (strcmp(t->table, name) == 0 && strcmp(t->connection_id, conn) == 0 &&
            strcmp(t->schema, schema) == 0)
            return i;
        found = found == REF_NONE ? i : REF_AMBIGUOUS;
    }
    return found;
}

/*
 * The cached table catalog.schema.name (parts may be empty) names ("conn"."schema"."table", or
 * "conn"."table" for a table in schema main), REF_NONE for a CTE or DuckDB's information_schema,
 * or REF_AMBIGUOUS. *allowed is false when it is none of these: anything else DuckDB would try as
 * a file name.
 */
static size_t ref_table(const ref_scope *sc, const char *catalog, const char *schema,
                        const char *name, bool *allowed)
{
    *allowed = false;
    if (name == NULL)
        return REF_NONE;
    if (empty(catalog) && empty(schema)) {
        size_t i;
        json_t *v;
        json_array_foreach(sc->ctes, i, v)
        {
            if (strcasecmp(json_string_value(v), name) == 0)
                *allowed = true;
        }
        return REF_NONE;
    }
    if (empty(catalog) &&
        (strcasecmp(schema, "information_schema") == 0 || strcasecmp(schema, "pg_catalog") == 0)) {
        *allowed = true;
        return REF_NONE;
    }
    size_t t = empty(catalog) ? resolve(sc->cached, schema, "main", name)
                              : resolve(sc->cached, catalog, schema, name);
    *allowed = t != REF_NONE;
    return t;
}

/* Records that the reference object (to cached table t) must point to t's view apart. */
static void move_ref(ref_scope *sc, json_t *object, size_t t, const char *catalog,
                     const char *schema, const char *name)
{
    json_t *loc = json_object_get(object, "query_location");
    const char *alias = json_string_value(json_object_get(object, "alias"));
    if (sc->nmoves == sc->capacity) {
        size_t capacity = sc->capacity ? sc->capacity * 2 : 8;
        ref_move *grown = dscat_realloc(sc->moves, capacity * sizeof(*grown));
        if (grown == NULL) {
            sc->nomem = true;
            return;
        }
        sc->moves = grown;
        sc->capacity = capacity;
    }
    ref_move *m = &sc->moves[sc->nmoves++];
    /* a location DuckDB does not know is 2^64-1: no position, the rewrite refuses it */
    double at = json_is_number(loc) ? json_number_value(loc) : -1;
    m->at = at >= 0 && at < 1e15 ? (size_t)at : (size_t)-1;
    m->table = t;
    m->aliased = !empty(alias);
    m->parts = empty(catalog) ? 2 : 3;
    m->names[0] = empty(catalog) ? schema : catalog;
    m->names[1] = empty(catalog) ? name : schema;
    m->names[2] = name;
}

/*
 * Finds the first table reference in a parsed tree that is not allowed: a table function not in
 * the list, a table name that is neither a cached table, a CTE nor information_schema (DuckDB
 * reads such a name as a file: FROM 'data.parquet'), or a name several cached tables answer to.
 * Its name goes to *what; NULL when all are allowed. Marks the cached tables named, and records
 * the references to views apart.
 */
static const char *forbidden_ref(json_t *object, void *payload)
{
    ref_scope *sc = payload;
    const char *type = json_string_value(json_object_get(object, "type"));
    if (type && strcmp(type, "BASE_TABLE") == 0) {
        const char *name = json_string_value(json_object_get(object, "table_name"));
        const char *schema = json_string_value(json_object_get(object, "schema_name"));
        const char *catalog = json_string_value(json_object_get(object, "catalog_name"));
        bool allowed;
        size_t t = ref_table(sc, catalog, schema, name, &allowed);
        if (!allowed || t == REF_AMBIGUOUS) {
            sc->is_function = false;
            sc->ambiguous = t == REF_AMBIGUOUS;
            sc->conn = empty(catalog) ? schema : catalog;
            sc->schema = empty(catalog) ? "main" : schema;
            return name ? name : "?";
        }
        if (t != REF_NONE) {
            sc->used[t] = true;
            if (sc->apart[t])
                move_ref(sc, object, t, catalog, schema, name);
        }
    }
    if (type && strcmp(type, "TABLE_FUNCTION") == 0) {
        json_t *fn = json_object_get(object, "function");
        const char *name = json_string_value(json_object_get(fn, "function_name"));
        bool ok = false;
        size_t n = sizeof(allowed_table_functions) / sizeof(allowed_table_functions[0]);
        for (size_t i = 0; name && i < n; i++)
            ok |= strcasecmp(name, allowed_table_functions[i]) == 0;
        if (!ok) {
            sc->is_function = true;
            return name ? name : "?";
        }
    }
    return NULL;
}

/* The error for a name that several cached tables answer to, naming each of them. */
static int ambiguous(const ref_scope *sc, const char *name, dscat_error *err)
{
    dscat_buf b = DSCAT_BUF_INIT;
    const dscat_cache_listing *l = sc->cached;
    for (size_t i = 0, n = 0; i < l->count; i++) {
        const dscat_cached_table *t = &l->tables[i];
        if (!dscat_cache__same_name(t->connection_id, sc->conn) ||
            !dscat_cache__same_name(t->schema, sc->schema) ||
            !dscat_cache__same_name(t->table, name))
            continue;
        if (n++)
            dscat_buf_puts(&b, ", ");
        dscat_cache_quote_ident(&b, t->connection_id);
        dscat_buf_putc(&b, '.');
        dscat_cache_quote_ident(&b, t->schema);
        dscat_buf_putc(&b, '.');
        dscat_cache_quote_ident(&b, t->table);
    }
    int rc = dscat_buf_error(&b)
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : dscat_error_set(err, DSCAT_EINVALID,
                                   "table %s.%s.%s is ambiguous: the cached tables %s differ from "
                                   "it and from each other only in case; name one exactly as it "
                                   "is spelled",
                                   sc->conn, sc->schema, name, dscat_buf_cstr(&b));
    dscat_buf_free(&b);
    return rc;
}

/*
 * Reads one identifier at p, quoted ("a""b") or not, into out; returns the byte after it, or NULL
 * when there is none.
 */
static const char *read_ident(const char *p, dscat_buf *out)
{
    dscat_buf_reset(out);
    if (*p == '"') {
        for (p++;; p++) {
            if (*p == '\0')
                return NULL;
            if (*p == '"' && p[1] == '"')
                p++;
            else if (*p == '"')
                break;
            dscat_buf_putc(out, *p);
        }
        return p + 1;
    }
    const char *start = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80)
        p++;
    if (p == start)
        return NULL;
    dscat_buf_put(out, start, (size_t)(p - start));
    return p;
}

/*
 * Rewrites sql so that each recorded reference names its table's view apart (and keeps the name
 * written as its alias, so that name.column still binds). A reference is replaced only where the
 * text at its location is exactly the names the parser read; anything else is refused, never
 * guessed. *out: the new SQL, caller frees.
 */
/* True when the word before position at in sql is DESCRIBE, DESC, SHOW or SUMMARIZE: a table
 * named there takes no alias ("DESCRIBE t AS t" does not parse). */
static bool after_show(const char *sql, size_t at)
{
    static const char *const words[] = {"DESCRIBE", "DESC", "SHOW", "SUMMARIZE"};
    size_t end = at;
    while (end > 0 && isspace((unsigned char)sql[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && isalpha((unsigned char)sql[start - 1]))
        start--;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (end - start == strlen(words[i]) && strncasecmp(sql + start, words[i], end - start) == 0)
            return true;
    return false;
}

static int rewrite_refs(char **out, const char *sql, ref_scope *sc, dscat_error *err)
{
    dscat_buf b = DSCAT_BUF_INIT, ident = DSCAT_BUF_INIT;
    size_t done = 0, len = strlen(sql);
    int rc = 0;
    /* in order of location (a few references: insertion sort) */
    for (size_t i = 1; i < sc->nmoves; i++)
        for (size_t j = i; j > 0 && sc->moves[j - 1].at > sc->moves[j].at; j--) {
            ref_move m = sc->moves[j];
            sc->moves[j] = sc->moves[j - 1];
            sc->moves[j - 1] = m;
        }
    for (size_t i = 0; i < sc->nmoves && rc == 0; i++) {
        const ref_move *m = &sc->moves[i];
        if (i > 0 && m->at == sc->moves[i - 1].at && m->table == sc->moves[i - 1].table)
            continue; /* one reference met twice in the tree */
        const char *p = m->at < len && m->at >= done ? sql + m->at : NULL;
        for (size_t k = 0; p && k < m->parts; k++) {
            if (k && *(p = skip_space(p)) == '.')
                p = skip_space(p + 1);
            else if (k)
                p = NULL;
            if (p && (p = read_ident(p, &ident)) != NULL &&
                (dscat_buf_error(&ident) || strcmp(dscat_buf_cstr(&ident), m->names[k]) != 0))
                p = NULL;
        }
        if (dscat_buf_error(&ident)) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        if (p == NULL) {
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "cannot find the reference to %s.%s.%s in the SQL: write cached "
                                 "tables as \"<connection>\".\"<schema>\".\"<table>\"",
                                 sc->cached->tables[m->table].connection_id,
                                 sc->cached->tables[m->table].schema,
                                 sc->cached->tables[m->table].table);
            break;
        }
        dscat_buf_put(&b, sql + done, m->at - done);
        qualified(&b, sc->cached, sc->apart, m->table);
        if (!m->aliased && !after_show(sql, m->at)) {
            dscat_buf_puts(&b, " AS ");
            dscat_cache_quote_ident(&b, m->names[m->parts - 1]);
        }
        done = (size_t)(p - sql);
    }
    dscat_buf_puts(&b, sql + done);
    if (rc == 0 && dscat_buf_error(&b))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0 && (*out = dscat_buf_detach(&b)) == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_free(&b);
    dscat_buf_free(&ident);
    return rc;
}

/*
 * DuckDB's message for the user, without its advice to change a setting ("Use \"SET x TO y\" to
 * ..."): the configuration is locked here, so that advice can only fail.
 */
static int duck_error(dscat_error *err, const char *msg)
{
    const char *use = strstr(msg, " Use \"SET ");
    int n = use ? (int)(use - msg) : (int)strlen(msg);
    if (use && n > 0 && msg[n - 1] == '.')
        n--;
    return dscat_error_set(err, DSCAT_EINVALID, "%.*s%s", n, msg,
                           use ? " (settings cannot be changed in a query: simplify it)" : "");
}

/*
 * Decides, by DuckDB's parser, whether sql may run: exactly one statement, a query, and no table
 * function but the allowed ones. Nothing is bound or run here.
 */
static int check_query(duckdb_connection con, const char *sql, const dscat_cache_listing *cached,
                       const bool *apart, bool *used, char **rewritten, dscat_error *err)
{
    *rewritten = NULL;
    duckdb_extracted_statements ex = NULL;
    duckdb_prepared_statement ser = NULL;
    duckdb_result res;
    bool have_res = false;
    json_t *tree = NULL;
    int rc = 0;
    idx_t n = duckdb_extract_statements(con, sql, &ex);
    if (n == 0) {
        const char *msg = duckdb_extract_statements_error(ex);
        rc = duck_error(err, msg ? msg : "no statement in the SQL");
        goto done;
    }
    if (n > 1) {
        /* DuckDB runs a PIVOT whose values it must find first as several statements. */
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "one statement only: DuckDB reads the SQL as %llu statements%s",
                             (unsigned long long)n,
                             strcasestr(sql, "pivot") ? " (a PIVOT without an IN list is run as "
                                                        "several: name its values, ON col IN "
                                                        "(...))"
                                                      : "");
        goto done;
    }
    if (duckdb_prepare(con, "SELECT json_serialize_sql($1::VARCHAR)", &ser) == DuckDBError ||
        duckdb_bind_varchar(ser, 1, sql) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot parse the SQL with DuckDB");
        goto done;
    }
    have_res = true;
    if (duckdb_execute_prepared(ser, &res) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot parse the SQL with DuckDB: %s",
                             duckdb_result_error(&res));
        goto done;
    }
    char *text = duckdb_row_count(&res) == 1 ? duckdb_value_varchar(&res, 0, 0) : NULL;
    /* query_location may be 2^64-1: read integers as reals, their values are not used. The
     * checks below must never judge a tree with a node missing: dscat_json_parse refuses one
     * parsed while an allocation failed. */
    unsigned long failures = dscat_alloc_failures();
    rc = text ? dscat_json_parse(&tree, text, strlen(text), JSON_DECODE_INT_AS_REAL, NULL)
              : DSCAT_EINVALID;
    duckdb_free(text);
    if (rc) {
        rc = rc == DSCAT_ENOMEM
                 ? dscat_error_set(err, rc, "out of memory")
                 : dscat_error_set(err, DSCAT_EIO, "cannot parse the SQL with DuckDB");
        goto done;
    }
    if (json_is_true(json_object_get(tree, "error"))) {
        const char *kind = json_string_value(json_object_get(tree, "error_type"));
        const char *msg = json_string_value(json_object_get(tree, "error_message"));
        if (kind && strcmp(kind, "not implemented") == 0)
            rc = refuse_statement(sql, err); /* only SELECT statements serialise */
        else
            rc = duck_error(err, msg ? msg : "the SQL does not parse");
        goto done;
    }
    json_t *ctes = json_array();
    json_t *statements = json_object_get(tree, "statements");
    walk(statements, cte_names, ctes);
    ref_scope sc = {.cached = cached, .apart = apart, .used = used, .ctes = ctes};
    const char *what = walk(statements, forbidden_ref, &sc);
    bool is_function = sc.is_function;
    if (what && sc.ambiguous)
        rc = ambiguous(&sc, what, err);
    else if (!what && sc.nomem)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else if (!what && sc.nmoves)
        rc = rewrite_refs(rewritten, sql, &sc, err);
    dscat_free(sc.moves);
    if (rc)
        ; /* said above */
    else if (what && is_function)
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "table function %s() is not allowed: SQL over the cache reads only "
                             "the cached tables (\"<connection>\".\"<schema>\".\"<table>\"); "
                             "allowed table functions: range, generate_series, unnest",
                             what);
    else if (what)
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "table '%s' is not a cached table: name cached tables in full, "
                             "\"<connection>\".\"<schema>\".\"<table>\" (files are never read "
                             "by name; cache a table with: dscat cache refresh CONNECTION "
                             "SCHEMA.TABLE)",
                             what);
    json_decref(ctes);
    if (dscat_alloc_failures() != failures) /* a CTE name lost: its uses would be refused */
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    json_decref(tree);
    if (have_res)
        duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&ser);
    duckdb_destroy_extracted(&ex);
    return rc;
}

/* ---- the watchdog: interrupts a query past its time limit -------------------------------------
 */

typedef struct watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    duckdb_connection con;
    int seconds;
    bool done, fired;
} watchdog;

static void *watch(void *arg)
{
    watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += w->seconds;
    pthread_mutex_lock(&w->mu);
    while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
    }
    if (!w->done) {
        w->fired = true;
        duckdb_interrupt(w->con);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- running it ---------------------------------------------------------------------------- */

/* Appends a chunk's rows (every column VARCHAR) to the result, up to the limit. */
/* The answer's cells as they are read, row after row; a failed growth keeps what it holds. */
typedef struct cell_list {
    char **items;
    size_t count, capacity;
} cell_list;

static int cell_add(cell_list *l, char *cell)
{
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 256;
        char **grown = dscat_realloc(l->items, capacity * sizeof(char *));
        if (grown == NULL)
            return DSCAT_ENOMEM;
        l->items = grown;
        l->capacity = capacity;
    }
    l->items[l->count++] = cell;
    return 0;
}

static int take_rows(dscat_query_result *out, cell_list *cells, duckdb_data_chunk chunk,
                     size_t limit, int64_t *budget, dscat_error *err)
{
    idx_t rows = duckdb_data_chunk_get_size(chunk), ncols = out->ncolumns;
    for (idx_t r = 0; r < rows; r++) {
        if (limit && out->nrows == limit) {
            out->truncated = true;
            return 0;
        }
        for (idx_t c = 0; c < ncols; c++) {
            duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
            uint64_t *valid = duckdb_vector_get_validity(vec);
            char *cell = NULL;
            if (valid == NULL || duckdb_validity_row_is_valid(valid, r)) {
                duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(vec) + r;
                uint32_t len = duckdb_string_t_length(*s);
                const char *p = duckdb_string_t_data(s);
                /* the answer's text counts against query_memory too */
                if ((*budget -= (int64_t)len + 16) < 0)
                    return dscat_error_set(err, DSCAT_EINVALID,
                                           "the answer is larger than query_memory allows; "
                                           "narrow the query or lower its row limit");
                if ((cell = dscat_malloc((size_t)len + 1)) == NULL)
                    return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                memcpy(cell, p, len);
                cell[len] = '\0';
            }
            if (cell_add(cells, cell)) {
                dscat_free(cell);
                return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            }
        }
        out->nrows++;
    }
    return 0;
}

static int query_error(const char *msg, const watchdog *w, const dscat_config *cfg,
                       dscat_error *err)
{
    if (w->fired)
        return dscat_error_set(err, DSCAT_ETIMEOUT,
                               "the query ran past query_timeout (%d s) and was stopped; narrow "
                               "it or raise query_timeout in [settings]",
                               w->seconds);
    if (msg && strstr(msg, "Out of Memory"))
        return dscat_error_set(err, DSCAT_EINVALID,
                               "the query needs more than query_memory (%lld MiB) and was "
                               "stopped; narrow it or raise query_memory in [settings]",
                               (long long)(cfg->settings.query_memory >> 20));
    if (msg && strstr(msg, " Use \"SET "))
        return duck_error(err, msg);
    bool missing = msg && strstr(msg, "does not exist");
    /* a column of a group DuckDB cannot tell apart, named as in the source */
    bool renamed = msg && strstr(msg, "not found in FROM clause") && strstr(msg, "~");
    /* DuckDB's pointer into the statement ("LINE 1: ...") shows the wrapper, not the user's SQL */
    const char *line = msg ? strstr(msg, "LINE 1:") : NULL;
    int n = line ? (int)(line - msg) : msg ? (int)strlen(msg) : 0;
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return dscat_error_set(err, DSCAT_EINVALID, "%.*s%s", msg ? n : 12, msg ? msg : "query failed",
                           missing   ? " (cached tables are named \"<connection>\".\"<schema>\"."
                                       "\"<table>\"; cache one with: dscat cache refresh "
                                       "CONNECTION SCHEMA.TABLE)"
                           : renamed ? " (columns whose names differ only in case are "
                                       "\"<name>~<position>\" in SQL over the cache)"
                                     : "");
}

/* Runs the checked SQL, every value as text, streaming; keeps at most limit rows. */
static int run_query(dscat_query_result *out, dscat_duck *duck, const dscat_config *cfg,
                     const char *sql, size_t limit, dscat_error *err)
{
    duckdb_connection con = dscat_duck_connection(duck);
    duckdb_prepared_statement stmt = NULL;
    duckdb_result res;
    bool have_res = false;
    dscat_buf wrapped = DSCAT_BUF_INIT;
    cell_list cells = {NULL, 0, 0};
    watchdog w = {.con = con,
                  .seconds = cfg->settings.query_timeout > 0 ? cfg->settings.query_timeout : 300};
    pthread_t thread;
    bool watching = false;
    int rc = 0;
    int64_t budget = cfg->settings.query_memory;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    /* query() runs the text as written (one SELECT, or DuckDB refuses); the outer select casts
     * every column with DuckDB's own formatting. */
    dscat_buf_puts(&wrapped, "SELECT COLUMNS(*)::VARCHAR FROM query(");
    dscat_duck_quote_literal(&wrapped, sql);
    if (dscat_buf_putc(&wrapped, ')')) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    watching = pthread_create(&thread, NULL, watch, &w) == 0;
    if (!watching) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "cannot start the query's watchdog");
        goto done;
    }
    if (duckdb_prepare(con, dscat_buf_cstr(&wrapped), &stmt) == DuckDBError) {
        rc = query_error(duckdb_prepare_error(stmt), &w, cfg, err);
        goto done;
    }
    if (duckdb_prepared_statement_type(stmt) != DUCKDB_STATEMENT_TYPE_SELECT) {
        rc = refuse_statement(sql, err);
        goto done;
    }
    have_res = true;
    if (duckdb_execute_prepared_streaming(stmt, &res) == DuckDBError) {
        rc = query_error(duckdb_result_error(&res), &w, cfg, err);
        goto done;
    }
    idx_t ncols = duckdb_column_count(&res);
    out->columns = dscat_calloc(ncols + 1, sizeof(char *));
    if (out->columns == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    out->ncolumns = ncols;
    for (idx_t c = 0; c < ncols; c++)
        if ((out->columns[c] = dscat_strdup(duckdb_column_name(&res, c))) == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
    for (;;) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
        if (chunk == NULL) {
            const char *msg = duckdb_result_error(&res);
            if (msg || w.fired)
                rc = query_error(msg, &w, cfg, err);
            break;
        }
        rc = take_rows(out, &cells, chunk, limit, &budget, err);
        duckdb_destroy_data_chunk(&chunk);
        if (rc || out->truncated)
            break;
    }
done:
    if (watching) {
        pthread_mutex_lock(&w.mu);
        w.done = true;
        pthread_cond_signal(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(thread, NULL);
    }
    if (have_res)
        duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&stmt);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    dscat_buf_free(&wrapped);
    /* Hand the cells over as the array, whole rows only (a row cut short by a failure is freed
     * here). */
    size_t whole = out->nrows * out->ncolumns;
    for (size_t i = whole; i < cells.count; i++)
        dscat_free(cells.items[i]);
    out->cells = cells.items ? cells.items : dscat_calloc(1, sizeof(char *));
    if (out->cells == NULL) {
        out->nrows = 0;
        if (rc == 0)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    return rc;
}

int dscat_cache_query(dscat_query_result *out, const dscat_config *cfg, const char *sql,
                      size_t limit, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_cache_listing l;
    dscat_duck *duck = NULL;
    dscat_storage *sto = NULL;
    int64_t t0 = dscat_monotonic_ms();
    int rc = dscat_cache_list(&l, cfg, NULL, err);
    if (rc)
        return rc;
    bool *apart = views_apart(&l), *used = dscat_calloc(l.count + 1, sizeof(bool));
    char *rewritten = NULL;
    if (apart == NULL || used == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dscat_duck_open_bounded(&duck, cfg->settings.query_memory, err)) ||
        (rc = check_query(dscat_duck_connection(duck), sql, &l, apart, used, &rewritten, err)) ||
        (rc = dscat_cache__storage(&sto, cfg, false, err)) ||
        (rc = setup_views(duck, sto, cfg, &l, apart, used, sql, err)))
        goto done;
    /* The SQL as written, or with its references to views apart pointed there. */
    rc = run_query(out, duck, cfg, rewritten ? rewritten : sql, limit, err);
done:
    dscat_free(apart);
    dscat_free(used);
    dscat_free(rewritten);
    out->duration_ms = dscat_monotonic_ms() - t0;
    dscat_storage_close(sto);
    dscat_duck_close(duck);
    dscat_cache_listing_free(&l);
    if (rc)
        dscat_query_result_free(out);
    return rc;
}

void dscat_query_result_free(dscat_query_result *r)
{
    for (size_t i = 0; r->columns && i < r->ncolumns; i++)
        dscat_free(r->columns[i]);
    for (size_t i = 0; r->cells && i < r->ncolumns * r->nrows; i++)
        dscat_free(r->cells[i]);
    dscat_free(r->columns);
    dscat_free(r->cells);
    memset(r, 0, sizeof(*r));
}
