/*
 * Table details and join paths, read from the current catalog.
 */
#include "dscat/find.h"

#include "store/store.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "sources/source.h"

#include <string.h>

static char *dup_col(dscat_stmt *s, int i)
{
    const char *v = dscat_stmt__text(s, i);
    return dscat_strdup(v ? v : "");
}

static char *dup_opt(dscat_stmt *s, int i)
{
    const char *v = dscat_stmt__text(s, i);
    return v ? dscat_strdup(v) : NULL;
}

static int64_t opt_int(dscat_stmt *s, int i)
{
    return dscat_stmt__is_null(s, i) ? DSCAT_NULL_ESTIMATE : dscat_stmt__int64(s, i);
}

static void free_reference(dscat_reference *r)
{
    dscat_free(r->target);
    dscat_free(r->database);
    dscat_free(r->schema);
    dscat_free(r->table_name);
    dscat_free(r->column_name);
    dscat_free(r->ref_schema);
    dscat_free(r->ref_table);
    dscat_free(r->ref_column);
}

/* Appends the rows of a foreign-key query (target, db, schema, table, column, ref_*) to refs. */
static int read_references(dscat_stmt *s, dscat_reference **refs, size_t *n)
{
    int step;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        dscat_reference *grown = dscat_realloc(*refs, (*n + 1) * sizeof(**refs));
        if (grown == NULL)
            return DSCAT_ENOMEM;
        *refs = grown;
        dscat_reference *r = &(*refs)[(*n)++];
        r->target = dup_col(s, 0);
        r->database = dup_col(s, 1);
        r->schema = dup_col(s, 2);
        r->table_name = dup_col(s, 3);
        r->column_name = dup_col(s, 4);
        r->ref_schema = dup_col(s, 5);
        r->ref_table = dup_col(s, 6);
        r->ref_column = dup_col(s, 7);
        if (!r->target || !r->database || !r->schema || !r->table_name || !r->column_name ||
            !r->ref_schema || !r->ref_table || !r->ref_column)
            return DSCAT_ENOMEM;
    }
    return step == DSCAT_STMT_DONE ? 0 : DSCAT_EIO;
}

#define REF_COLUMNS                                                                                \
    "t.target, t.database, t.schema, t.name, f.column_name, f.ref_schema, f.ref_table, "           \
    "f.ref_column"

/* Candidate tables for a name: (target?, db?, schema?, table); a bare name has no db. */
static const char *const find_sql =
    "SELECT t.id, t.target, t.database, t.schema, t.name FROM " DSCAT_CURRENT_TABLES " t "
    "WHERE (?2 IS NULL OR t.database = ?2) AND t.name = ?4 AND (?1 IS NULL OR t.target = ?1) "
    "AND (?3 IS NULL OR t.schema = ?3) ORDER BY t.target, t.database, t.schema, t.name";

/*
 * Fills d with table `id` of the current catalog: its row, its columns and the foreign keys that
 * point at it. Call inside the read transaction that found the id: outside one, a refresh that
 * commits in between can take the table out of the current catalog, and the row is then missing
 * (DSCAT_ENOTFOUND) or its columns gone. On failure d may hold part of the answer; the caller
 * frees it.
 */
static int load_detail(dscat_table_detail *d, dscat_store *st, int64_t id, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int64_t column_set = 0;
    int rc = dscat_stmt__prepare(
        &s, st,
        "SELECT t.target, t.server, t.database, t.schema, t.name, t.table_type, t.comment, "
        "t.row_estimate, t.size_bytes, t.last_modified_us, t.scanned_at_us, t.column_set "
        "FROM " DSCAT_CURRENT_TABLES " t WHERE t.id = ?1",
        err);
    if (rc)
        return rc;
    dscat_stmt__bind_int64(s, 1, id);
    int step = dscat_stmt__step(s);
    if (step == DSCAT_STMT_ROW) {
        d->target = dup_col(s, 0);
        d->server = dup_col(s, 1);
        d->database = dup_col(s, 2);
        d->schema = dup_col(s, 3);
        d->table_name = dup_col(s, 4);
        d->table_type = dup_col(s, 5);
        d->comment = dup_opt(s, 6);
        d->row_count_estimate = opt_int(s, 7);
        d->size_bytes = opt_int(s, 8);
        d->last_modified_us = opt_int(s, 9);
        d->scanned_at_us = opt_int(s, 10);
        column_set = dscat_stmt__int64(s, 11);
        if (!d->target || !d->server || !d->database || !d->schema || !d->table_name ||
            !d->table_type)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    } else if (step == DSCAT_STMT_DONE) {
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "table %lld is not in the current catalog",
                             (long long)id);
    } else {
        rc = dscat_store__step_error(st, err);
    }
    dscat_stmt__finalize(s);
    if (rc)
        return rc;
    if ((rc = dscat_stmt__prepare(
             &s, st,
             "SELECT name, data_type, column_type, fk_references, column_default, column_comment, "
             "is_nullable, is_primary_key, is_foreign_key, ordinal, null_count, distinct_count, "
             "profiled_rows, generated, is_hidden FROM columns WHERE set_id = ?1 "
             "ORDER BY ordinal",
             err)))
        return rc;
    dscat_stmt__bind_int64(s, 1, column_set);
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        dscat_column_detail *g = dscat_realloc(d->columns, (d->ncolumns + 1) * sizeof(*g));
        if (g == NULL) {
            dscat_stmt__finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        d->columns = g;
        dscat_column_detail *c = &d->columns[d->ncolumns++];
        c->name = dup_col(s, 0);
        c->data_type = dup_col(s, 1);
        c->column_type = dup_col(s, 2);
        c->fk_references = dup_col(s, 3);
        c->default_value = dup_opt(s, 4);
        c->comment = dup_opt(s, 5);
        c->nullable = dscat_stmt__int(s, 6) != 0;
        c->is_primary_key = dscat_stmt__int(s, 7) != 0;
        c->is_foreign_key = dscat_stmt__int(s, 8) != 0;
        c->ordinal = dscat_stmt__int(s, 9);
        c->null_count = opt_int(s, 10);
        c->distinct_count = opt_int(s, 11);
        c->profiled_rows = opt_int(s, 12);
        c->generated = dup_opt(s, 13);
        c->hidden = dscat_stmt__int(s, 14) != 0;
        if (!c->name || !c->data_type || !c->column_type || !c->fk_references) {
            dscat_stmt__finalize(s);
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
    }
    rc = step == DSCAT_STMT_DONE ? 0 : dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    if (rc)
        return rc;
    /*
     * Inbound: foreign keys of the same target's tables that point at this table. They come from
     * the same database, except in engines where a schema is a database (MySQL) and a foreign key
     * may reference a table in another one (ref_schema then names this table's database).
     */
    dscat_buf sql = DSCAT_BUF_INIT;
    rc = dscat_source__schema_is_database_sql(
        &sql,
        "SELECT " REF_COLUMNS " FROM " DSCAT_CURRENT_TABLES
        " t JOIN foreign_keys f ON f.set_id = t.column_set "
        "WHERE t.target = ?1 AND f.ref_schema = ?3 AND f.ref_table = ?4 "
        "AND (t.database = ?2 OR (SELECT source_type FROM scans WHERE id = t.scan_id) ",
        ") ORDER BY t.database, t.schema, t.name, f.column_name");
    if (rc == 0)
        rc = dscat_stmt__prepare(&s, st, dscat_buf_cstr(&sql), err);
    else
        dscat_error_set(err, rc, "out of memory");
    dscat_buf_free(&sql);
    if (rc)
        return rc;
    dscat_stmt__bind_text(s, 1, d->target);
    dscat_stmt__bind_text(s, 2, d->database);
    dscat_stmt__bind_text(s, 3, d->schema);
    dscat_stmt__bind_text(s, 4, d->table_name);
    rc = read_references(s, &d->inbound, &d->ninbound);
    dscat_stmt__finalize(s);
    return rc ? dscat_error_set(err, rc, "cannot read references") : 0;
}

/*
 * The candidates for a parsed name, into `candidates`; *id receives the last one's table id.
 * Returns the number found, or a negative error code with err filled.
 */
static int find_candidates(dscat_name_candidates *candidates, int64_t *id, dscat_store *st,
                           const char *target, char **parts, int n, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(&s, st, find_sql, err), found = 0, step;
    if (rc)
        return rc;
    if (target)
        dscat_stmt__bind_text(s, 1, target);
    if (n >= 2) /* a bare table name matches in every database */
        dscat_stmt__bind_text(s, 2, parts[0]);
    if (n == 3)
        dscat_stmt__bind_text(s, 3, parts[1]);
    dscat_stmt__bind_text(s, 4, parts[n - 1]);
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        found++;
        *id = dscat_stmt__int64(s, 0);
        const char *qp[] = {dscat_stmt__text(s, 2), dscat_stmt__text(s, 3), dscat_stmt__text(s, 4)};
        const char *t = dscat_stmt__text(s, 1);
        char *q = t && qp[0] && qp[1] && qp[2] ? dscat_join_qualified(qp, 3) : NULL;
        dscat_buf full = DSCAT_BUF_INIT;
        char **g =
            q ? dscat_realloc(candidates->names, (candidates->count + 1) * sizeof(char *)) : NULL;
        if (g)
            candidates->names = g;
        if (g == NULL || dscat_buf_printf(&full, "%s:%s", t, q)) {
            dscat_free(q);
            dscat_buf_free(&full);
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        dscat_free(q);
        candidates->names[candidates->count++] = dscat_buf_detach(&full);
    }
    if (rc == 0 && step != DSCAT_STMT_DONE)
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    return rc ? rc : found;
}

int dscat_table_lookup(dscat_table_detail **out, dscat_name_candidates *candidates, dscat_store *st,
                       const char *catalog_dir, const char *name, dscat_error *err)
{
    *out = NULL;
    memset(candidates, 0, sizeof(*candidates));
    char *parts[3] = {0}, *target = NULL;
    int n = dscat_split_qualified(name, &target, parts, 3);
    dscat_table_detail *d = NULL;
    int64_t id = 0;
    int rc = 0, found = 0;
    bool reading = false;
    if (n == DSCAT_ENOMEM) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (n < 1) {
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "table name '%s': use table, db.table, db.schema.table or "
                             "target:db.schema.table",
                             name);
        goto done;
    }
    /* The name's candidates and the table's details come from one snapshot of the store. */
    if ((rc = dscat_store__read_begin(st, err)))
        goto done;
    reading = true;
    if ((found = find_candidates(candidates, &id, st, target, parts, n, err)) == 0 && n == 2) {
        /* db.table names no table: schema.table, as a PostgreSQL user writes it */
        char *as_schema[3] = {NULL, parts[0], parts[1]};
        found = find_candidates(candidates, &id, st, target, as_schema, 3, err);
    }
    if (found < 0) {
        rc = found;
        goto done;
    }
    if (found == 0) {
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "Table not found: %s", name);
        goto done;
    }
    if (found > 1) {
        rc = dscat_error_set(err, DSCAT_ECONFLICT, "table name '%s' is ambiguous (%d tables)", name,
                             found);
        goto done;
    }
    dscat_name_candidates_free(candidates);
    d = dscat_calloc(1, sizeof(*d));
    if (d == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = load_detail(d, st, id, err))) {
        if (rc == DSCAT_ENOTFOUND)
            dscat_error_set(err, rc, "Table not found: %s", name);
        goto done;
    }
    dscat_store__read_end(st);
    reading = false;
    char *key_parts[] = {d->database, d->schema, d->table_name};
    char *key = dscat_join_qualified((const char *const *)key_parts, 3);
    dscat_annotation_list list;
    if (key && dscat_annotations_read(&list, catalog_dir, key, err) == 0) {
        d->annotations = list.items;
        d->nannotations = list.count;
        list.items = NULL;
        list.count = 0;
        dscat_annotation_list_free(&list);
    }
    dscat_error_clear(err);
    dscat_free(key);
    *out = d;
    d = NULL;
done:
    if (reading)
        dscat_store__read_end(st);
    if (rc && rc != DSCAT_ECONFLICT)
        dscat_name_candidates_free(candidates);
    for (int i = 0; i < 3; i++)
        dscat_free(parts[i]);
    dscat_free(target);
    dscat_table_detail_free(d);
    return rc;
}

void dscat_table_detail_free(dscat_table_detail *d)
{
    if (d == NULL)
        return;
    char *strs[] = {d->target,     d->server,     d->database, d->schema,
                    d->table_name, d->table_type, d->comment};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        dscat_free(strs[i]);
    for (size_t i = 0; i < d->ncolumns; i++) {
        dscat_column_detail *c = &d->columns[i];
        dscat_free(c->name);
        dscat_free(c->data_type);
        dscat_free(c->column_type);
        dscat_free(c->fk_references);
        dscat_free(c->default_value);
        dscat_free(c->comment);
        dscat_free(c->generated);
    }
    dscat_free(d->columns);
    for (size_t i = 0; i < d->ninbound; i++)
        free_reference(&d->inbound[i]);
    dscat_free(d->inbound);
    for (size_t i = 0; i < d->nannotations; i++)
        dscat_annotation_clear(&d->annotations[i]);
    dscat_free(d->annotations);
    dscat_free(d);
}

void dscat_name_candidates_free(dscat_name_candidates *c)
{
    for (size_t i = 0; i < c->count; i++)
        dscat_free(c->names[i]);
    dscat_free(c->names);
    memset(c, 0, sizeof(*c));
}

/* The current tables named (target, db, schema, name); NULL parts match any. */
static const char *const count_sql =
    "SELECT count(*) FROM " DSCAT_CURRENT_TABLES " t WHERE t.name = ?4 AND "
    "(?1 IS NULL OR t.target = ?1) AND (?2 IS NULL OR t.database = ?2) AND "
    "(?3 IS NULL OR t.schema = ?3)";

/* The name's parts bound to ?1..?4 of s (target, db, schema, table). */
static void bind_name(dscat_stmt *s, char *const *name)
{
    for (int i = 0; i < 4; i++)
        if (name[i])
            dscat_stmt__bind_text(s, i + 1, name[i]);
}

/* The number of current tables the name's parts (target, db, schema, table) denote, or a
 * negative error code. */
static int64_t count_tables(dscat_store *st, char *const *name, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(&s, st, count_sql, err);
    if (rc)
        return rc;
    bind_name(s, name);
    int64_t n = dscat_stmt__step(s) == DSCAT_STMT_ROW ? dscat_stmt__int64(s, 0) : -1;
    dscat_stmt__finalize(s);
    return n < 0 ? dscat_store__step_error(st, err) : n;
}

/*
 * Resolves a joins name into name[0..3] (target, db, schema, table; NULL matches any): the exact
 * table name when a current table has it (SPEC: joins match exact names, in every database),
 * else the name read as [target:]table, db.table (then schema.table) or db.schema.table. 0, or
 * DSCAT_ENOTFOUND when no current table has that name, or another error code; err filled.
 */
static int resolve_joins_name(char **name, dscat_store *st, const char *table, dscat_error *err)
{
    char *parts[3] = {NULL, NULL, NULL}, *target = NULL;
    if ((name[3] = dscat_strdup(table)) == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int64_t found = count_tables(st, name, err);
    if (found != 0)
        return found < 0 ? (int)found : 0;
    int n = dscat_split_qualified(table, &target, parts, 3);
    if (n == DSCAT_ENOMEM)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (n >= 1) {
        dscat_free(name[3]);
        /* parts 0..n-1 are the name's: table, db.table or db.schema.table */
        name[0] = target;
        name[1] = n >= 2 ? parts[0] : NULL;
        name[2] = n == 3 ? parts[1] : NULL;
        name[3] = parts[n - 1];
        found = count_tables(st, name, err);
        if (found == 0 && n == 2) { /* db.table names no table: schema.table */
            name[2] = name[1];
            name[1] = NULL;
            found = count_tables(st, name, err);
        }
    } else {
        dscat_free(target); /* malformed: no table has that name */
    }
    if (found < 0)
        return (int)found;
    return found ? 0 : dscat_error_set(err, DSCAT_ENOTFOUND, "Table not found: %s", table);
}

int dscat_join_paths_get(dscat_join_paths *out, dscat_store *st, const char *table,
                         dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_stmt *s = NULL;
    char *name[4] = {NULL, NULL, NULL, NULL};
    dscat_buf inbound = DSCAT_BUF_INIT;
    /* The name, the outbound and the inbound keys from one snapshot of the store. */
    int rc = dscat_store__read_begin(st, err);
    if (rc)
        return rc;
    if ((rc = resolve_joins_name(name, st, table, err)))
        goto done;
    rc =
        dscat_stmt__prepare(&s, st,
                            "SELECT " REF_COLUMNS " FROM " DSCAT_CURRENT_TABLES
                            " t JOIN foreign_keys f ON f.set_id = t.column_set WHERE t.name = ?4 "
                            "AND (?1 IS NULL OR t.target = ?1) AND (?2 IS NULL OR t.database = ?2) "
                            "AND (?3 IS NULL OR t.schema = ?3) "
                            "ORDER BY t.target, t.database, t.schema, f.column_name",
                            err);
    if (rc)
        goto done;
    bind_name(s, name);
    rc = read_references(s, &out->outbound, &out->noutbound);
    dscat_stmt__finalize(s);
    s = NULL;
    /* Inbound: keys to a table of that name, in the named database (where a schema is a
     * database, the key's ref_schema names it) and schema. */
    if (rc == 0 &&
        dscat_source__schema_is_database_sql(
            &inbound,
            "SELECT " REF_COLUMNS " FROM " DSCAT_CURRENT_TABLES
            " t JOIN foreign_keys f ON f.set_id = t.column_set WHERE f.ref_table = ?4 "
            "AND (?1 IS NULL OR t.target = ?1) AND (?3 IS NULL OR f.ref_schema = ?3) "
            "AND (?2 IS NULL OR ?2 = CASE WHEN (SELECT source_type FROM scans WHERE id = "
            "t.scan_id) ",
            " THEN f.ref_schema ELSE t.database END) ORDER BY t.target, t.database, t.schema, "
            "t.name, f.column_name"))
        rc = DSCAT_ENOMEM;
    if (rc == 0 && (rc = dscat_stmt__prepare(&s, st, dscat_buf_cstr(&inbound), err)) == 0) {
        bind_name(s, name);
        rc = read_references(s, &out->inbound, &out->ninbound);
        dscat_stmt__finalize(s);
    }
    if (rc && (err == NULL || err->code == 0))
        rc = dscat_error_set(err, rc,
                             rc == DSCAT_ENOMEM ? "out of memory" : "cannot read join paths");
done:
    dscat_store__read_end(st);
    dscat_buf_free(&inbound);
    for (int i = 0; i < 4; i++)
        dscat_free(name[i]);
    if (rc)
        dscat_join_paths_free(out);
    return rc;
}

void dscat_join_paths_free(dscat_join_paths *j)
{
    for (size_t i = 0; i < j->noutbound; i++)
        free_reference(&j->outbound[i]);
    for (size_t i = 0; i < j->ninbound; i++)
        free_reference(&j->inbound[i]);
    dscat_free(j->outbound);
    dscat_free(j->inbound);
    memset(j, 0, sizeof(*j));
}
