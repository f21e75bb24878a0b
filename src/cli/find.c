/*
 * dscat find, table, joins, diff, annotate, annotations: questions answered from the store.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char find_help[] =
    "usage: dscat find KEYWORDS... [--top N] [--format table|json|csv] [--by-table]\n"
    "                  [--target T] [--database D] [--schema S]\n"
    "\n"
    "Searches table, column, database and schema names, data types, comments and annotations\n"
    "for the keywords (literal, any case; several keywords are OR-ed). Score per column: +3 table\n"
    "name, +2 column name, +1 database, +1 each schema, type, comment, annotation; relevance adds\n"
    "+2 for a primary key, +1 for a foreign key. After --, every argument is a keyword.\n";

/*
 * Opens the catalog and checks that its store is built; prints the error (a missing store as
 * NOT BUILT advice), then, with warn, the stale warning when there is one.
 */
static int open_built(dscat_catalog **cat, bool warn)
{
    dscat_error err = {0};
    if (cli_open_catalog(cat))
        return EXIT_FAIL;
    if (dscat_catalog_ready(*cat, &err)) {
        cli_error("%s", err.message);
        dscat_catalog_close(*cat);
        *cat = NULL;
        return EXIT_FAIL;
    }
    if (warn)
        cli_stale_warning(*cat);
    return EXIT_OK;
}

void cli_stale_warning(dscat_catalog *cat)
{
    const dscat_config *cfg = dscat_catalog_config(cat);
    dscat_status *s = NULL;
    dscat_error err = {0};
    if (dscat_catalog_status(&s, cat, true, &err) == 0 && s->state == DSCAT_STATE_STALE) {
        /* the older tool's words for an old catalog; what else made status STALE, said plainly */
        if (s->age_days >= cfg->settings.stale_after_days)
            fprintf(stderr,
                    "WARNING: Catalog is %ld days old. Consider running 'dscat refresh'.\n\n",
                    (long)s->age_days);
        else if (s->generation != s->exports_generation)
            fprintf(stderr, "WARNING: the exports are behind the catalog store (an interrupted "
                            "refresh). Consider running 'dscat refresh'.\n\n");
        else
            fprintf(stderr, "WARNING: a configured target has never been scanned. Consider "
                            "running 'dscat refresh'.\n\n");
    }
    dscat_catalog_status_free(s);
}

static void thousands(char *out, size_t size, long long n)
{
    char digits[32];
    snprintf(digits, sizeof(digits), "%lld", n);
    size_t len = strlen(digits), k = 0;
    for (size_t i = 0; i < len && k + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
}

/*
 * The older tool's table: the table name cut to 30 characters, the column (or the matching
 * columns) to 20, the type to 10, references longer than 30 to 27 and "...". Cuts count
 * characters of the text itself, before it is escaped for Markdown. Tables and references are
 * qualified names (db.schema.table), as everywhere in human output. With --by-table the second
 * column lists every column of the table that matched a keyword itself (uncut), or the best
 * column when the table matched by its name, database, schema or annotations only.
 */
static int print_table(const dscat_hits *r, bool by_table)
{
    if (r->count == 0) {
        printf("No matches found.\n");
        return EXIT_OK;
    }
    cli_md o = CLI_MD_INIT;
    cli_md_puts(&o, by_table ? "| Table | Matching Columns | Type | Keys | FK References | Rows | "
                               "Score |\n|-------|------------------|------|------|---------------|"
                               "------|-------|\n"
                             : "| Table | Column | Type | Keys | FK References | Rows | Score |\n"
                               "|-------|--------|------|------|---------------|------|-------|\n");
    for (size_t i = 0; i < r->count && o.rc == 0; i++) {
        const dscat_search_hit *h = &r->items[i];
        char rows[40];
        const char *name[] = {h->database, h->schema, h->table_name};
        char *full = dscat_text_qualified_name(name, 3);
        if (full == NULL) {
            o.rc = DSCAT_ENOMEM;
            break;
        }
        cli_md_puts(&o, "| ");
        cli_md_cut(&o, full, 30, NULL);
        dscat_string_free(full);
        cli_md_puts(&o, " | ");
        if (by_table && h->matching_columns && *h->matching_columns)
            cli_md_text(&o, h->matching_columns); /* every one, uncut */
        else
            cli_md_cut(&o, h->column_name, 20, NULL);
        cli_md_puts(&o, " | ");
        cli_md_cut(&o, h->data_type, 10, NULL);
        cli_md_puts(&o, h->is_primary_key && h->is_foreign_key ? " | PK,FK | "
                        : h->is_primary_key                    ? " | PK | "
                        : h->is_foreign_key                    ? " | FK | "
                                                               : " | - | ");
        char *refs = NULL;
        if (h->fk_references[0] == '\0')
            cli_md_puts(&o, "-");
        else if ((refs = cli_qualified_refs(h->database, h->schema, h->fk_references)) == NULL)
            o.rc = DSCAT_ENOMEM;
        else
            cli_md_cut(&o, refs, 30, "...");
        dscat_free(refs);
        if (h->row_count_estimate == DSCAT_NULL_ESTIMATE || h->row_count_estimate == 0)
            snprintf(rows, sizeof(rows), "-");
        else
            thousands(rows, sizeof(rows), (long long)h->row_count_estimate);
        cli_md_printf(&o, " | %s | %d |\n", rows, h->relevance);
    }
    cli_md_printf(&o, "\n%zu results (searched %zu columns)\n", r->count, r->searched);
    return cli_md_print(&o);
}

/* One CSV field and its separator (a comma, or a line break after the last). */
static void csv_field(const char *s, bool last)
{
    cli_csv_field(s);
    putchar(last ? '\n' : ',');
}

static void print_csv(const dscat_hits *r, bool by_table)
{
    printf("target,database,schema,table_name,column_name,data_type,is_primary_key,"
           "is_foreign_key,fk_references,row_count_estimate,relevance%s\n",
           by_table ? ",matching_columns" : "");
    for (size_t i = 0; i < r->count; i++) {
        const dscat_search_hit *h = &r->items[i];
        char rows[32] = "", rel[16];
        if (h->row_count_estimate != DSCAT_NULL_ESTIMATE)
            snprintf(rows, sizeof(rows), "%lld", (long long)h->row_count_estimate);
        snprintf(rel, sizeof(rel), "%d", h->relevance);
        const char *v[] = {h->target,
                           h->database,
                           h->schema,
                           h->table_name,
                           h->column_name,
                           h->data_type,
                           h->is_primary_key ? "true" : "false",
                           h->is_foreign_key ? "true" : "false",
                           h->fk_references,
                           rows,
                           rel};
        for (size_t k = 0; k < 11; k++)
            csv_field(v[k], k == 10 && !by_table);
        if (by_table)
            csv_field(h->matching_columns ? h->matching_columns : "", true);
    }
}

int cmd_find(int argc, char **argv)
{
    const char **kws = dscat_calloc((size_t)argc + 1, sizeof(char *));
    size_t nk = 0;
    if (kws == NULL) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    dscat_search_options o = {0};
    const char *format = "table";
    bool options = true; /* until "--": what follows is keywords, even "-x" */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!options || a[0] != '-' || (a[1] != '-' && !cli_is_help(a))) {
            if (a[strspn(a, " \t\r\n")] != '\0') /* a keyword that is only blanks is none */
                kws[nk++] = a;
        } else if (strcmp(a, "--") == 0) {
            options = false;
        } else if (cli_is_help(a)) {
            fputs(find_help, stdout);
            dscat_free(kws);
            return EXIT_OK;
        } else if (strcmp(a, "--by-table") == 0) {
            o.by_table = true;
        } else if (strcmp(a, "--top") == 0 && has_value) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 100000) {
                dscat_free(kws);
                return cli_usage("find", "--top takes a whole number from 1 to 100000");
            }
            o.top = (size_t)n;
        } else if (strcmp(a, "--format") == 0 && has_value) {
            format = argv[++i];
        } else if (strcmp(a, "--target") == 0 && has_value) {
            o.target = argv[++i];
        } else if (strcmp(a, "--database") == 0 && has_value) {
            o.database = argv[++i];
        } else if (strcmp(a, "--schema") == 0 && has_value) {
            o.schema = argv[++i];
        } else {
            dscat_free(kws);
            return cli_usage("find", "unknown or incomplete option '%s'", a);
        }
    }
    if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv")) {
        dscat_free(kws);
        return cli_usage("find", "--format must be table, json or csv");
    }
    if (nk == 0) {
        dscat_free(kws);
        return cli_usage("find", "give at least one keyword");
    }
    o.keywords = kws;
    o.nkeywords = nk;
    dscat_catalog *cat = NULL;
    dscat_hits *r = NULL;
    dscat_error err = {0};
    int rc = open_built(&cat, true);
    if (rc == 0 && dscat_catalog_search(&r, cat, &o, &err)) {
        cli_error("%s", err.message);
        rc = EXIT_FAIL;
    } else if (rc == 0) {
        if (strcmp(format, "json") == 0) {
            rc = cli_print_json_text(dscat_json_hits(r, o.by_table, DSCAT_JSON_PRETTY));
        } else if (strcmp(format, "csv") == 0) {
            print_csv(r, o.by_table);
        } else {
            rc = print_table(r, o.by_table);
        }
    }
    dscat_hits_free(r);
    dscat_catalog_close(cat);
    dscat_free(kws);
    return rc;
}

static const char *yes(bool b)
{
    return b ? "✓" : "";
}

/*
 * "- db.schema.table.column → db.schema.table.column": a foreign key, both ends as qualified
 * names.
 */
static void reference_line(cli_md *o, const dscat_reference *r)
{
    const char *from[] = {r->database, r->schema, r->table_name, r->column_name};
    const char *to[] = {cli_ref_database(r->database, r->schema, r->ref_schema), r->ref_schema,
                        r->ref_table, r->ref_column};
    cli_md_puts(o, "- ");
    cli_md_name(o, from, 4);
    cli_md_puts(o, " → ");
    cli_md_name(o, to, 4);
    cli_md_puts(o, "\n");
}

/* A table's detail in the older tool's Markdown; every name and text escaped. */
static int print_detail(const dscat_table_detail *d)
{
    cli_md o = CLI_MD_INIT;
    const char *name[] = {d->database, d->schema, d->table_name};
    cli_md_puts(&o, "# ");
    cli_md_name(&o, name, 3);
    cli_md_puts(&o, "\n\n**Target:** ");
    cli_md_text(&o, d->target);
    cli_md_puts(&o, " (");
    cli_md_text(&o, d->server);
    cli_md_puts(&o, ")  \n**Type:** ");
    cli_md_text(&o, d->table_type);
    cli_md_puts(&o, "  \n");
    if (d->row_count_estimate == DSCAT_NULL_ESTIMATE) {
        cli_md_puts(&o, "**Rows:** Unknown  \n");
    } else {
        char n[40];
        thousands(n, sizeof(n), (long long)d->row_count_estimate);
        cli_md_printf(&o, "**Rows:** %s  \n", n);
    }
    if (d->size_bytes != DSCAT_NULL_ESTIMATE) {
        char n[40];
        thousands(n, sizeof(n), (long long)d->size_bytes);
        cli_md_printf(&o, "**Size:** %s bytes  \n", n);
    }
    if (d->comment) {
        cli_md_puts(&o, "**Comment:** ");
        cli_md_text(&o, d->comment);
        cli_md_puts(&o, "  \n");
    }
    cli_md_puts(&o,
                "\n## Columns\n\n| Column | Type | Nullable | PK | FK | References | Comment |\n"
                "|--------|------|----------|----|----|------------|---------|\n");
    for (size_t i = 0; i < d->ncolumns; i++) {
        const dscat_column_detail *c = &d->columns[i];
        cli_md_puts(&o, "| ");
        cli_md_text(&o, c->name);
        cli_md_puts(&o, " | ");
        cli_md_text(&o, c->column_type && *c->column_type ? c->column_type : c->data_type);
        cli_md_printf(&o, " | %s | %s | %s | ", c->nullable ? "yes" : "no", yes(c->is_primary_key),
                      yes(c->is_foreign_key));
        char *refs = cli_qualified_refs(d->database, d->schema, c->fk_references);
        if (refs == NULL && o.rc == 0)
            o.rc = DSCAT_ENOMEM;
        cli_md_text(&o, refs);
        dscat_free(refs);
        cli_md_puts(&o, " | ");
        cli_md_text(&o, c->comment);
        cli_md_puts(&o, " |\n");
    }
    cli_md_puts(&o, "\n## Referenced by\n\n");
    if (d->ninbound == 0)
        cli_md_puts(&o, "*No foreign keys reference this table*\n");
    for (size_t i = 0; i < d->ninbound; i++)
        reference_line(&o, &d->inbound[i]);
    cli_md_puts(&o, "\n## Annotations\n\n");
    if (d->nannotations == 0)
        cli_md_puts(&o, "*None*\n");
    for (size_t i = 0; i < d->nannotations; i++) {
        cli_md_puts(&o, "- **");
        cli_md_text(&o, d->annotations[i].type);
        cli_md_puts(&o, "** by ");
        cli_md_text(&o, d->annotations[i].author);
        cli_md_puts(&o, ", ");
        cli_md_text(&o, d->annotations[i].created_at);
        cli_md_puts(&o, ": ");
        cli_md_text(&o, d->annotations[i].content);
        cli_md_puts(&o, "\n");
    }
    return cli_md_print(&o);
}

int cmd_table(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        printf("usage: dscat table NAME\n\nOne table (table when the name is unique, db.table "
               "or, when no database has that name, schema.table, db.schema.table or "
               "target:db.schema.table): columns, types, keys, references in "
               "and out, row "
               "estimate, comments and annotations. An ambiguous name lists the candidates.\n");
        return EXIT_OK;
    }
    if (argc != 2)
        return cli_usage("table", "give exactly one table name");
    dscat_catalog *cat = NULL;
    if (open_built(&cat, true))
        return EXIT_FAIL;
    dscat_table_detail *d = NULL;
    dscat_name_candidates cands;
    dscat_error err = {0};
    int rc = dscat_catalog_table(&d, &cands, cat, argv[1], &err);
    if (rc == DSCAT_ECONFLICT) {
        cli_error("%s; name one of these:", err.message);
        for (size_t i = 0; i < cands.count; i++)
            fprintf(stderr, "  %s\n", cli_show(cands.names[i]));
    } else if (rc) {
        cli_error("%s", err.message);
    } else {
        rc = print_detail(d) ? DSCAT_ENOMEM : 0;
    }
    dscat_catalog_table_free(d, &cands);
    dscat_catalog_close(cat);
    return rc ? EXIT_FAIL : EXIT_OK;
}

/* Outbound and inbound foreign keys in the older tool's Markdown; every name escaped. */
static int print_joins(const dscat_join_paths *j, const char *table)
{
    cli_md o = CLI_MD_INIT;
    cli_md_puts(&o, "# Join Paths for ");
    cli_md_text(&o, table);
    cli_md_puts(&o, "\n\n");
    if (j->noutbound == 0 && j->ninbound == 0)
        cli_md_puts(&o, "*No foreign key relationships found*\n");
    if (j->noutbound)
        cli_md_puts(&o, "## Outbound (this table references)\n\n");
    for (size_t i = 0; i < j->noutbound; i++)
        reference_line(&o, &j->outbound[i]);
    if (j->ninbound)
        cli_md_puts(&o, j->noutbound ? "\n## Inbound (referenced by)\n\n"
                                     : "## Inbound (referenced by)\n\n");
    for (size_t i = 0; i < j->ninbound; i++)
        reference_line(&o, &j->inbound[i]);
    return cli_md_print(&o);
}

int cmd_joins(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        printf("usage: dscat joins TABLE\n\nOutbound and inbound foreign keys of the tables "
               "named exactly TABLE, in every database; when no table has that name, of the "
               "table TABLE names as db.table, schema.table, db.schema.table or "
               "target:db.schema.table. A name no table has is an error.\n");
        return EXIT_OK;
    }
    if (argc != 2)
        return cli_usage("joins", "give exactly one table name");
    dscat_catalog *cat = NULL;
    if (open_built(&cat, true))
        return EXIT_FAIL;
    dscat_join_paths j;
    dscat_error err = {0};
    int rc = dscat_catalog_joins(&j, cat, argv[1], &err);
    if (rc) {
        cli_error("%s", err.message);
    } else {
        rc = print_joins(&j, argv[1]) ? DSCAT_ENOMEM : 0;
        dscat_catalog_joins_free(&j);
    }
    dscat_catalog_close(cat);
    return rc ? EXIT_FAIL : EXIT_OK;
}

int cmd_diff(int argc, char **argv)
{
    const char *target = NULL, *format = "md";
    int64_t scans[2] = {0, 0};
    int nscans = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: dscat diff [--target T] [SCAN_A [SCAN_B]] [--format md|json]\n\n"
                   "Changes between two kept scans of one target (default: its last two). Exit "
                   "0 no change, 1 changes found, 2 trouble.\n");
            return 0;
        } else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
            target = argv[++i];
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else {
            char *end;
            long long id = strtoll(argv[i], &end, 10);
            if (*end || id < 1 || nscans == 2)
                return cli_usage("diff", "unexpected argument '%s'", argv[i]);
            scans[nscans++] = id;
        }
    }
    if (strcmp(format, "md") && strcmp(format, "json"))
        return cli_usage("diff", "--format must be md or json");
    dscat_catalog *cat = NULL;
    if (open_built(&cat, false))
        return 2;
    dscat_diff d;
    dscat_error err = {0};
    int rc = dscat_catalog_diff(&d, cat, target, scans[0], scans[1], &err);
    if (rc) {
        cli_error("%s", err.message);
        rc = 2;
    } else if (strcmp(format, "json") == 0) {
        cli_print_json_text(dscat_json_diff(&d, DSCAT_JSON_PRETTY));
        rc = d.count ? 1 : 0;
    } else {
        cli_md o = CLI_MD_INIT;
        cli_md_puts(&o, "# Changes in ");
        cli_md_text(&o, d.target);
        cli_md_printf(&o, ": scan %lld -> %lld\n\n", (long long)d.from_scan, (long long)d.to_scan);
        if (d.count == 0)
            cli_md_puts(&o, "*No changes*\n");
        for (size_t i = 0; i < d.count; i++) {
            const dscat_change *c = &d.changes[i];
            const char *name[] = {c->database, c->schema, c->table_name, c->column_name};
            cli_md_printf(&o, "- %s: ", c->kind);
            cli_md_name(&o, name, 4);
            if (c->detail) {
                cli_md_puts(&o, " (");
                cli_md_text(&o, c->detail);
                cli_md_puts(&o, ")");
            }
            cli_md_puts(&o, "\n");
        }
        rc = cli_md_print(&o) ? 2 : d.count ? 1 : 0;
    }
    dscat_catalog_diff_free(&d);
    dscat_catalog_close(cat);
    return rc;
}

int cmd_annotate(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        printf("usage: dscat annotate TABLE TYPE CONTENT\n\nAdds a note, quality_flag (TRUSTED, "
               "STALE, INCOMPLETE, EXPERIMENTAL) or deprecation to Db.Schema.Table, in "
               "annotations/<user>.json of the catalog directory.\n");
        return EXIT_OK;
    }
    if (argc != 4)
        return cli_usage("annotate", "give TABLE TYPE CONTENT");
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    if (dscat_catalog_open(&cat, NULL, DSCAT_CATALOG_NO_CONFIG, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    dscat_annotation a;
    char *file = NULL;
    int rc = dscat_catalog_annotate(&a, &file, cat, argv[1], argv[2], argv[3], &err);
    if (rc)
        cli_error("%s", err.message);
    else
        printf("Added %s %s to %s in %s\n", cli_show(a.type), cli_show(a.id), cli_show(a.table),
               cli_show(file));
    /* A name no current table has is kept (the key may name a table yet to be catalogued), but
     * said, since it is more often a typo. */
    if (rc == 0 && dscat_catalog_table_known(cat, a.table) == 0)
        fprintf(stderr, "dscat: warning: no table of the catalog is named %s: check the name\n",
                cli_show(a.table));
    dscat_catalog_annotation_clear(&a);
    dscat_free(file);
    dscat_catalog_close(cat);
    return rc ? EXIT_FAIL : EXIT_OK;
}

int cmd_annotations(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        printf("usage: dscat annotations [TABLE]\n\nEvery user's annotations, merged (or one "
               "table's).\n");
        return EXIT_OK;
    }
    if (argc > 2)
        return cli_usage("annotations", "give at most one table");
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    if (dscat_catalog_open(&cat, NULL, DSCAT_CATALOG_NO_CONFIG, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    dscat_annotation_list l;
    int rc = dscat_catalog_annotations(&l, cat, argc == 2 ? argv[1] : NULL, &err);
    if (rc) {
        cli_error("%s", err.message);
    } else {
        for (size_t i = 0; i < l.nskipped; i++)
            fprintf(stderr, "dscat: warning: skipped unreadable annotations file %s\n",
                    cli_show(l.skipped[i]));
        if (l.count == 0)
            printf("No annotations.\n");
        for (size_t i = 0; i < l.count; i++) {
            const dscat_annotation *a = &l.items[i];
            printf("%s [%s] %s (%s, %s, %s)\n", cli_show(a->table), cli_show(a->type),
                   cli_show(a->content), cli_show(a->author), cli_show(a->created_at),
                   cli_show(a->id));
        }
        dscat_catalog_annotations_free(&l);
    }
    dscat_catalog_close(cat);
    return rc ? EXIT_FAIL : EXIT_OK;
}
