/*
 * DATA_CATALOG_SUMMARY.md (SPEC §5), over the current catalog (or one target's part of it).
 * Every section is one or two queries over the store. Every name and message is written through
 * dscat_text_md_escape (Markdown) or mermaid_text (inside the diagrams), so none can break a
 * table, start a block or end a code block.
 */
#include "catalog/changes.h"
#include "store/store.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/timeutil.h"
#include "core/atomic.h"
#include "sources/source.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct summary {
    dscat_store *st;
    const char *target; /* NULL = whole catalog */
    dscat_buf out;
    dscat_error *err;
    int rc;
} summary;

/* Appends s; a failed append (out of memory) is kept in sm->rc and later appends are skipped. */
static void put(summary *sm, const char *s)
{
    if (sm->rc == 0 && dscat_buf_puts(&sm->out, s))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
}

static void putch(summary *sm, char c)
{
    char s[2] = {c, '\0'};
    put(sm, s);
}

static void putf(summary *sm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(summary *sm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (sm->rc == 0 && dscat_buf_vprintf(&sm->out, fmt, ap))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
    va_end(ap);
}

/* Appends a name or message as Markdown text (a table cell, a list item, a heading). */
static void md(summary *sm, const char *s)
{
    if (sm->rc == 0 && dscat_text_md_escapes(&sm->out, s))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
}

/* Appends n with thousands separators: 1234567 -> "1,234,567". */
/*
 * The n parts (NULL ones left out) as one qualified name (dscat_text_qualified), escaped for
 * Markdown: the one form of a table reference in human output.
 */
static void qname(summary *sm, const char *const *parts, size_t n)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (sm->rc == 0 && dscat_text_qualified(&b, parts, n))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
    if (sm->rc == 0 && dscat_text_md_escape(&sm->out, dscat_buf_cstr(&b), b.len))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
    dscat_buf_free(&b);
}

static void thousands(summary *sm, long long n)
{
    char digits[32], out[48];
    size_t k = 0;
    snprintf(digits, sizeof(digits), "%lld", n < 0 ? -n : n);
    if (n < 0)
        out[k++] = '-';
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
    put(sm, out);
}

static const char *col(dscat_stmt *s, int i)
{
    return dscat_stmt__text(s, i);
}

/* Prepares sql with ?1 bound to the target filter (NULL = all). */
static dscat_stmt *query(summary *sm, const char *sql)
{
    dscat_stmt *s = NULL;
    if (sm->rc)
        return NULL;
    if ((sm->rc = dscat_stmt__prepare(&s, sm->st, sql, sm->err)))
        return NULL;
    if (sm->target)
        dscat_stmt__bind_text(s, 1, sm->target);
    return s;
}

/* query() of before + "IN (<engines where a schema is a database>)" + after. */
static dscat_stmt *query_schema_db(summary *sm, const char *before, const char *after)
{
    dscat_buf sql = DSCAT_BUF_INIT;
    dscat_stmt *s = NULL;
    if (sm->rc == 0 && dscat_source__schema_is_database_sql(&sql, before, after))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
    else
        s = query(sm, dscat_buf_cstr(&sql));
    dscat_buf_free(&sql);
    return s;
}

static bool finish(summary *sm, dscat_stmt *s, int step)
{
    dscat_stmt__finalize(s);
    if (step != DSCAT_STMT_DONE && sm->rc == 0)
        sm->rc = dscat_store__step_error(sm->st, sm->err);
    return sm->rc == 0;
}

#define FILTER " WHERE (?1 IS NULL OR t.target = ?1) "

static long long count_of(summary *sm, const char *sql)
{
    dscat_stmt *s = query(sm, sql);
    if (s == NULL)
        return 0;
    long long n = dscat_stmt__step(s) == DSCAT_STMT_ROW ? dscat_stmt__int64(s, 0) : 0;
    dscat_stmt__finalize(s);
    return n;
}

/*
 * The databases table, and the overview above it. The overview's counts are those of the
 * databases table's rows (targets, rows, the sum of their columns), so the databases are read
 * first, into a buffer of their own: counting the columns again would read every column row of
 * the catalog a second time.
 */
static void overview_and_databases(summary *sm, long long tables)
{
    dscat_stmt *s = query(
        sm, "SELECT t.target, t.database, count(*), "
            "  (SELECT count(*) FROM scan_tables t2 JOIN columns c ON c.set_id = t2.column_set "
            "   WHERE t2.scan_id = t.scan_id AND t2.database = t.database), max(t.row_estimate) "
            "FROM " DSCAT_CURRENT_TABLES " t" FILTER
            "GROUP BY t.target, t.database, t.scan_id ORDER BY t.target, t.database");
    if (s == NULL)
        return;
    dscat_buf page = sm->out; /* the summary so far; the table goes to sm->out meanwhile */
    dscat_buf last_target = DSCAT_BUF_INIT;
    long long targets = 0, dbs = 0, cols = 0;
    sm->out = (dscat_buf)DSCAT_BUF_INIT;
    put(sm, "## Databases\n\n| Target | Database | Tables | Columns | Max Rows |\n"
            "|--------|----------|--------|---------|----------|\n");
    int step;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        /* rows come by target: a new target is one more */
        const char *target = col(s, 0) ? col(s, 0) : "";
        if (dbs++ == 0 || strcmp(target, dscat_buf_cstr(&last_target)) != 0) {
            targets++;
            dscat_buf_reset(&last_target);
            if (dscat_buf_puts(&last_target, target) && sm->rc == 0)
                sm->rc = dscat_buf_check(&last_target, sm->err, "the summary");
        }
        cols += dscat_stmt__int64(s, 3);
        put(sm, "| ");
        md(sm, col(s, 0));
        put(sm, " | ");
        md(sm, col(s, 1));
        put(sm, " | ");
        thousands(sm, dscat_stmt__int64(s, 2));
        put(sm, " | ");
        thousands(sm, dscat_stmt__int64(s, 3));
        put(sm, " | ");
        if (dscat_stmt__is_null(s, 4))
            put(sm, "N/A");
        else
            thousands(sm, dscat_stmt__int64(s, 4));
        put(sm, " |\n");
    }
    putch(sm, '\n');
    dscat_buf_free(&last_target);
    dscat_buf table = sm->out;
    sm->out = page;
    if (finish(sm, s, step)) {
        putf(sm,
             "## Overview\n\n- **Targets:** %lld\n- **Databases:** %lld\n"
             "- **Tables:** %lld\n- **Columns:** %lld\n\n",
             targets, dbs, tables, cols);
        if (sm->rc == 0 && dscat_buf_put(&sm->out, table.ptr, table.len))
            sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
    }
    dscat_buf_free(&table);
}

static void large_tables(summary *sm)
{
    dscat_stmt *s =
        query(sm, "SELECT t.database, t.schema, t.name, t.row_estimate FROM " DSCAT_CURRENT_TABLES
                  " t" FILTER "AND t.row_estimate > 1000000 "
                  "ORDER BY t.row_estimate DESC, t.database, t.schema, t.name "
                  "LIMIT 20");
    if (s == NULL)
        return;
    put(sm, "## Large Tables (>1M rows)\n\n");
    int step, n = 0;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        if (n++ == 0)
            put(sm, "| Table | Rows |\n|-------|------|\n");
        const char *name[] = {col(s, 0), col(s, 1), col(s, 2)};
        put(sm, "| ");
        qname(sm, name, 3);
        put(sm, " | ");
        thousands(sm, dscat_stmt__int64(s, 3));
        put(sm, " |\n");
    }
    put(sm, n ? "\n" : "*No tables with >1M rows*\n\n");
    finish(sm, s, step);
}

/*
 * Foreign keys, both ends as qualified names. The referenced table is in the same database,
 * except where a schema is a database (MySQL) and ref_schema names it.
 */
static void relationships(summary *sm)
{
    dscat_stmt *s = query_schema_db(
        sm,
        "SELECT DISTINCT t.database, t.schema, t.name, f.column_name, "
        "CASE WHEN (SELECT source_type FROM scans WHERE id = t.scan_id) ",
        " THEN f.ref_schema ELSE t.database END, f.ref_schema, f.ref_table, f.ref_column "
        "FROM " DSCAT_CURRENT_TABLES " t JOIN foreign_keys f ON f.set_id = t.column_set" FILTER
        "ORDER BY 1, 2, 3, 4, 5, 6, 7, 8 LIMIT 30");
    if (s == NULL)
        return;
    put(sm, "## Key Relationships\n\n");
    int step, n = 0;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        if (n++ == 0)
            put(sm, "| From | To |\n|------|-----|\n");
        const char *from[] = {col(s, 0), col(s, 1), col(s, 2), col(s, 3)};
        const char *to[] = {col(s, 4), col(s, 5), col(s, 6), col(s, 7)};
        put(sm, "| ");
        qname(sm, from, 4);
        put(sm, " | ");
        qname(sm, to, 4);
        put(sm, " |\n");
    }
    put(sm, n ? "\n" : "*No foreign keys found*\n\n");
    finish(sm, s, step);
}

/*
 * Changes between each target's current scan and its previous successful one: tables added and
 * removed, columns added and removed, and columns whose type, nullability, default or keys
 * changed. The previous scan is the newest successful scan older than the current one.
 */
static const char *const changes_sql = DSCAT_CHANGES_SQL_ALL;

static void changes(summary *sm)
{
    dscat_stmt *s = query(sm, changes_sql);
    if (s == NULL)
        return;
    put(sm, "## Changes Since Previous Scan\n\n");
    int step, n = 0;
    dscat_buf last_target = DSCAT_BUF_INIT; /* target keys may be of any length */
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        const char *target = col(s, 0);
        if (n++ == 0 || strcmp(target, dscat_buf_cstr(&last_target)) != 0) {
            if (n > 1)
                putch(sm, '\n');
            putf(sm, "### %s\n\n", target);
            dscat_buf_reset(&last_target);
            if (dscat_buf_puts(&last_target, target) && sm->rc == 0)
                sm->rc = dscat_buf_check(&last_target, sm->err, "the summary");
        }
        putf(sm, "- %s: ", col(s, 1));
        const char *name[] = {col(s, 2), col(s, 3), col(s, 4), col(s, 5)};
        qname(sm, name, 4);
        if (col(s, 6) && *col(s, 6)) {
            put(sm, " (");
            md(sm, col(s, 6));
            putch(sm, ')');
        }
        putch(sm, '\n');
    }
    put(sm, n ? "\n" : "*No changes*\n\n");
    dscat_buf_free(&last_target);
    finish(sm, s, step);
}

/* Problems and failures of each target's latest scan. */
static void problems(summary *sm)
{
    dscat_stmt *s = query(sm, "SELECT l.target, l.status, l.error, p.database, p.schema, p.message "
                              "FROM scans l LEFT JOIN scan_problems p ON p.scan_id = l.id "
                              "WHERE l.id = (SELECT max(id) FROM scans WHERE target = l.target) "
                              "AND (?1 IS NULL OR l.target = ?1) "
                              "AND (l.status = 'failed' OR p.message IS NOT NULL) "
                              "ORDER BY l.target, p.rowid");
    if (s == NULL)
        return;
    put(sm, "## Scan Problems\n\n");
    int step, n = 0;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        n++;
        put(sm, "- **");
        md(sm, col(s, 0));
        put(sm, "**");
        if (col(s, 3)) {
            put(sm, " database ");
            md(sm, col(s, 3));
            if (col(s, 4)) {
                put(sm, ", schema ");
                md(sm, col(s, 4));
            }
            put(sm, ": ");
            md(sm, col(s, 5));
        } else if (col(s, 5)) {
            put(sm, ": ");
            md(sm, col(s, 5));
        } else {
            put(sm, " failed: ");
            md(sm, col(s, 2));
        }
        putch(sm, '\n');
    }
    put(sm, n ? "\n" : "*None*\n\n");
    finish(sm, s, step);
}

/* Tables drawn per database in a diagram. */
#define DIAGRAM_TABLES 40
#define DIAGRAM_TABLES_SQL "40"

/*
 * The entities of one diagram, in name order, and each one's Mermaid identifier (entities_name).
 */
typedef struct diagram_entities {
    struct {
        char *schema, *name, *id;
    } items[DIAGRAM_TABLES];
    size_t count;
} diagram_entities;

static void entities_clear(diagram_entities *e)
{
    for (size_t i = 0; i < e->count; i++) {
        dscat_free(e->items[i].schema);
        dscat_free(e->items[i].name);
        dscat_free(e->items[i].id);
    }
    e->count = 0;
}

/* Folds an ASCII letter to lower case; every other byte is itself. */
static int fold(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

/* Whether id is already some entity's identifier, ignoring ASCII case. */
static bool id_taken(const diagram_entities *e, const char *id)
{
    for (size_t i = 0; i < e->count; i++) {
        const char *a = e->items[i].id, *b = id;
        while (a && *a && fold(*a) == fold(*b))
            a++, b++;
        if (a && *a == '\0' && *b == '\0')
            return true;
    }
    return false;
}

/* Appends schema.name as "schema__name", every character Mermaid does not take in an
 * identifier ([A-Za-z0-9_]) as '_'; *replaced says whether any was. */
static void sanitized(dscat_buf *b, const char *schema, const char *name, bool *replaced)
{
    *replaced = false;
    for (int part = 0; part < 2; part++) {
        const char *s = part ? name : schema;
        if (part)
            dscat_buf_puts(b, "__");
        for (const char *p = s; *p; p++) {
            char c = *p;
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_';
            *replaced |= !ok;
            dscat_buf_putc(b, ok ? c : '_');
        }
    }
}

/* Lists the table schema.name as the next entity of e, its identifier not given yet. */
static int entity_add(diagram_entities *e, const char *schema, const char *name)
{
    size_t i = e->count++;
    e->items[i].schema = dscat_strdup(schema);
    e->items[i].name = dscat_strdup(name);
    e->items[i].id = NULL;
    return e->items[i].schema && e->items[i].name ? 0 : DSCAT_ENOMEM;
}

/*
 * Gives every entity of e its identifier: the sanitized "schema__name" (readable in the diagram's
 * source), with "_2", "_3", ... added until it is no other entity's, compared ignoring case
 * ("order-lines" and "order_lines", "Orders" and "orders" are different tables). Tables whose
 * names needed no replacement choose first, in name order, so "sales.order_lines" keeps
 * "sales__order_lines" whatever other names are beside it; then the others, in name order. The
 * label shows each table's real name. 0 or DSCAT_ENOMEM.
 */
static int entities_name(diagram_entities *e)
{
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t i = 0; i < e->count && rc == 0; i++) {
            dscat_buf b = DSCAT_BUF_INIT;
            bool replaced;
            sanitized(&b, e->items[i].schema, e->items[i].name, &replaced);
            if (replaced != (pass == 1)) {
                dscat_buf_free(&b);
                continue;
            }
            size_t base = b.len;
            for (unsigned n = 2; dscat_buf_error(&b) == 0 && id_taken(e, dscat_buf_cstr(&b)); n++) {
                b.len = base;
                dscat_buf_printf(&b, "_%u", n);
            }
            /* NULL when an append failed; seen by id_taken from now on */
            e->items[i].id = dscat_buf_detach(&b);
            dscat_buf_free(&b);
            if (e->items[i].id == NULL)
                rc = DSCAT_ENOMEM;
        }
    }
    return rc;
}

/* The identifier given to schema.name, or NULL when it is not one of the diagram's entities. */
static const char *entity_id(const diagram_entities *e, const char *schema, const char *name)
{
    for (size_t i = 0; i < e->count; i++)
        if (strcmp(e->items[i].schema, schema) == 0 && strcmp(e->items[i].name, name) == 0)
            return e->items[i].id;
    return NULL;
}

/*
 * Text inside a Mermaid double-quoted string (an entity's label, a relationship's label). The
 * grammar takes any character but '"' there, and the code block ends at a line break followed by
 * a fence, so '"' becomes '\'' and every line break (CR, LF, NEL, LS, PS, ...) a space; any other
 * control character is shown as "\x1b" (dscat_text_show_control), never written raw. Markdown
 * escapes would show as written inside the code block, so none are used.
 */
static void mermaid_text(summary *sm, const char *s)
{
    const char *end = s + strlen(s);
    while (s < end && sm->rc == 0) {
        size_t nl = dscat_text_line_break(s, end), ctl = nl ? 0 : dscat_text_control(s, end);
        const char *plain = s;
        while (s < end && *s != '"' && nl == 0 && ctl == 0) {
            nl = dscat_text_line_break(++s, end);
            ctl = nl ? 0 : dscat_text_control(s, end);
        }
        if (s > plain && dscat_buf_put(&sm->out, plain, (size_t)(s - plain)))
            sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
        if (s == end)
            break;
        if (ctl && sm->rc == 0 && dscat_text_show_control(&sm->out, s, ctl))
            sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
        if (!ctl)
            putch(sm, nl ? ' ' : '\'');
        s += nl ? nl : ctl ? ctl : 1;
    }
}

/*
 * A Mermaid label: the real name as a qualified name "db.schema.table" in double quotes (a quote
 * of the qualified form shows as "'", which is all Mermaid allows there).
 */
static void entity_label(summary *sm, const char *database, const char *schema, const char *name)
{
    const char *parts[] = {database, schema, name};
    dscat_buf b = DSCAT_BUF_INIT;
    if (sm->rc == 0 && dscat_text_qualified(&b, parts, 3))
        sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
    put(sm, "[\"");
    if (sm->rc == 0)
        mermaid_text(sm, dscat_buf_cstr(&b));
    put(sm, "\"]");
    dscat_buf_free(&b);
}

static void diagram(summary *sm)
{
    /* The five databases with the most foreign keys; per database up to 40 tables, taken from
     * the foreign keys in name order. */
    dscat_stmt *dbs = query_schema_db(sm,
                                      "SELECT t.target, t.database, t.scan_id, count(*) AS n, "
                                      "(SELECT source_type FROM scans WHERE id = t.scan_id) ",
                                      " FROM " DSCAT_CURRENT_TABLES
                                      " t JOIN foreign_keys f ON f.set_id = t.column_set" FILTER
                                      "GROUP BY t.target, t.database, t.scan_id "
                                      "ORDER BY n DESC, t.target, t.database LIMIT 5");
    if (dbs == NULL)
        return;
    put(sm, "## Relationships Diagram\n\n");
    int step, n = 0;
    while ((step = dscat_stmt__step(dbs)) == DSCAT_STMT_ROW) {
        n++;
        put(sm, "### ");
        md(sm, col(dbs, 0));
        put(sm, " / ");
        md(sm, col(dbs, 1));
        put(sm, "\n\n```mermaid\nerDiagram\n");
        dscat_stmt *rel = NULL;
        if (dscat_stmt__prepare(
                &rel, sm->st,
                "WITH e AS (SELECT t.schema, t.name, f.ref_schema, f.ref_table, f.column_name "
                "  FROM scan_tables t JOIN foreign_keys f ON f.set_id = t.column_set "
                "  WHERE t.scan_id = ?1 AND t.database = ?2),"
                " ents AS (SELECT s, n FROM (SELECT schema AS s, name AS n FROM e UNION "
                "  SELECT ref_schema, ref_table FROM e) u ORDER BY s, n LIMIT " DIAGRAM_TABLES_SQL
                ") "
                "SELECT 0, s, n, NULL, NULL, NULL FROM ents "
                "UNION ALL SELECT 1, e.schema, e.name, e.ref_schema, e.ref_table, e.column_name "
                "FROM e WHERE EXISTS (SELECT 1 FROM ents WHERE s = e.schema AND n = e.name) "
                "AND EXISTS (SELECT 1 FROM ents WHERE s = e.ref_schema AND n = e.ref_table) "
                "ORDER BY 1, 2, 3, 4, 5, 6",
                sm->err)) {
            sm->rc = DSCAT_EIO;
            break;
        }
        dscat_stmt__bind_int64(rel, 1, dscat_stmt__int64(dbs, 2));
        dscat_stmt__bind_text_copy(rel, 2, col(dbs, 1));
        diagram_entities ents = {.count = 0};
        /* The entities come first (in name order), then the relationships: every entity is
         * named before any is drawn, so that a name can depend on all the others. */
        int more = dscat_stmt__step(rel);
        for (; more == DSCAT_STMT_ROW && dscat_stmt__int(rel, 0) == 0; more = dscat_stmt__step(rel))
            if (ents.count < DIAGRAM_TABLES && sm->rc == 0 &&
                entity_add(&ents, col(rel, 1), col(rel, 2)))
                sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
        if (sm->rc == 0 && entities_name(&ents))
            sm->rc = dscat_error_set(sm->err, DSCAT_ENOMEM, "out of memory");
        for (size_t i = 0; i < ents.count && sm->rc == 0; i++) {
            put(sm, "    ");
            put(sm, ents.items[i].id);
            /* Where a schema is a database: the entity's own schema names it. */
            entity_label(sm, dscat_stmt__int(dbs, 4) ? ents.items[i].schema : col(dbs, 1),
                         ents.items[i].schema, ents.items[i].name);
            put(sm, " {\n    }\n");
        }
        for (; more == DSCAT_STMT_ROW && sm->rc == 0; more = dscat_stmt__step(rel)) {
            const char *parent = entity_id(&ents, col(rel, 3), col(rel, 4));
            const char *child = entity_id(&ents, col(rel, 1), col(rel, 2));
            if (parent == NULL || child == NULL)
                continue; /* the query draws only relationships between listed entities */
            putf(sm, "    %s ||--o{ %s : \"", parent, child);
            mermaid_text(sm, col(rel, 5));
            put(sm, "\"\n");
        }
        entities_clear(&ents);
        dscat_stmt__finalize(rel);
        put(sm, "```\n\n");
    }
    if (n == 0)
        put(sm, "*No foreign keys found*\n\n");
    finish(sm, dbs, step);
}

/* Renders DATA_CATALOG_SUMMARY.md of the catalog (or one target). Caller frees *out. */
static int summary_render(dscat_store *st, const char *target, char **out, dscat_error *err)
{
    summary sm = {.st = st, .target = target, .out = DSCAT_BUF_INIT, .err = err};
    /* Every section from one snapshot of the store: the counts, tables and changes agree. */
    int rc = dscat_store__read_begin(st, err);
    if (rc)
        return rc;
    char when[32];
    dscat_format_local(dscat_now_us(), "%Y-%m-%d %H:%M", when, sizeof(when));
    long long tables = count_of(&sm, "SELECT count(*) FROM " DSCAT_CURRENT_TABLES " t" FILTER);
    put(&sm, "# Data Catalog Summary\n\n");
    if (sm.rc == 0 && tables == 0) {
        put(&sm, "No data in catalog.\n");
    } else {
        putf(&sm, "*Generated: %s*\n\n", when);
        overview_and_databases(&sm, tables);
        large_tables(&sm);
        relationships(&sm);
        changes(&sm);
        problems(&sm);
        diagram(&sm);
        /* One trailing newline at the end of the file, not two. */
        if (sm.out.len >= 2 && sm.out.ptr[sm.out.len - 1] == '\n' &&
            sm.out.ptr[sm.out.len - 2] == '\n')
            sm.out.ptr[--sm.out.len] = '\0';
    }
    dscat_store__read_end(st);
    if (sm.rc == 0) /* whatever appended without checking: the summary is whole or nothing */
        sm.rc = dscat_buf_check(&sm.out, err, "the summary");
    if (sm.rc) {
        dscat_buf_free(&sm.out);
        return sm.rc;
    }
    if ((*out = dscat_buf_detach(&sm.out)) == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return 0;
}

int dscat_export_summary(dscat_store *st, const char *path, const char *target, dscat_error *err)
{
    char *text = NULL;
    dscat_buf out = DSCAT_BUF_INIT;
    int64_t generation = dscat_store__generation(st);
    int rc = summary_render(st, target, &text, err);
    /* invisible when rendered: the store generation it was made from */
    if (rc == 0) {
        dscat_buf_printf(&out, "%s\n<!-- dscat generation %lld -->\n", text, (long long)generation);
        rc = dscat_buf_check(&out, err, "the summary");
    }
    if (rc == 0)
        rc = dscat_atomic_write(path, dscat_buf_cstr(&out), out.len, err);
    dscat_buf_free(&out);
    dscat_free(text);
    return rc;
}
