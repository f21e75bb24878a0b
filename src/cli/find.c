/*
 * dscat find, table, joins, diff, annotate, annotations: questions answered from the store.
 */
#include "cli/cli.h"

#include "server/render.h"

#include "dscat/find.h"

#include "core/text.h"

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
    "+2 for a primary key, +1 for a foreign key.\n";

/* Opens the store read-only; prints the error (a missing store as NOT BUILT advice). */
static int open_store(dscat_store **st, dscat_config **cfg)
{
    if (cli_load_config(cfg))
        return EXIT_FAIL;
    dscat_error err = {0};
    if (dscat_store_open(st, (*cfg)->catalog_dir, DSCAT_STORE_READ, &err)) {
        if (err.code == DSCAT_ENOTFOUND)
            cli_error("the catalog is not built yet: run 'dscat refresh' first");
        else
            cli_error("%s", err.message);
        dscat_config_free(*cfg);
        *cfg = NULL;
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

void cli_stale_warning(const dscat_config *cfg)
{
    dscat_status *s = NULL;
    dscat_error err = {0};
    if (dscat_status_get_state(&s, cfg, &err) == 0 && s->state == DSCAT_STATE_STALE) {
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
    dscat_status_free(s);
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
static int print_table(const dscat_search_result *r, bool by_table)
{
    if (r->count == 0) {
        printf("No matches found.\n");
        return EXIT_OK;
    }
    cli_md o = CLI_MD_INIT;
    dscat_buf full = DSCAT_BUF_INIT;
    cli_md_puts(&o, by_table ? "| Table | Matching Columns | Type | Keys | FK References | Rows | "
                               "Score |\n|-------|------------------|------|------|---------------|"
                               "------|-------|\n"
                             : "| Table | Column | Type | Keys | FK References | Rows | Score |\n"
                               "|-------|--------|------|------|---------------|------|-------|\n");
    for (size_t i = 0; i < r->count && o.rc == 0; i++) {
        const dscat_search_hit *h = &r->hits[i];
        char rows[40];
        dscat_buf_reset(&full);
        const char *name[] = {h->database, h->schema, h->table_name};
        if ((o.rc = dscat_text_qualified(&full, name, 3)))
            break;
        cli_md_puts(&o, "| ");
        cli_md_cut(&o, dscat_buf_cstr(&full), 30, NULL);
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
        dscat_buf_reset(&full);
        if (h->fk_references[0] == '\0')
            cli_md_puts(&o, "-");
        else if ((o.rc = cli_qualified_refs(&full, h->database, h->schema, h->fk_references)))
            break;
        else
            cli_md_cut(&o, dscat_buf_cstr(&full), 30, "...");
        if (h->row_count_estimate == DSCAT_NULL_ESTIMATE || h->row_count_estimate == 0)
            snprintf(rows, sizeof(rows), "-");
        else
            thousands(rows, sizeof(rows), (long long)h->row_count_estimate);
        cli_md_printf(&o, " | %s | %d |\n", rows, h->relevance);
    }
    cli_md_printf(&o, "\n%zu results (searched %zu columns)\n", r->count, r->searched);
    dscat_buf_free(&full);
    return cli_md_print(&o);
}

/* One CSV field and its separator (a comma, or a line break after the last). */
static void csv_field(const char *s, bool last)
{
    cli_csv_field(s);
    putchar(last ? '\n' : ',');
}

static void print_csv(const dscat_search_result *r, bool by_table)
{
    printf("target,database,schema,table_name,column_name,data_type,is_primary_key,"
           "is_foreign_key,fk_references,row_count_estimate,relevance%s\n",
           by_table ? ",matching_columns" : "");
    for (size_t i = 0; i < r->count; i++) {
        const dscat_search_hit *h = &r->hits[i];
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (cli_is_help(a)) {
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
        } else if (strncmp(a, "--", 2) == 0) {
            dscat_free(kws);
            return cli_usage("find", "unknown or incomplete option '%s'", a);
        } else {
            kws[nk++] = a;
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
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    dscat_search_index *idx = NULL;
    dscat_search_result r = {0};
    dscat_error err = {0};
    int rc = open_store(&st, &cfg);
    if (rc == 0)
        cli_stale_warning(cfg);
    if (rc == 0 &&
        (dscat_search_index_open(&idx, st, cfg->catalog_dir, DSCAT_SEARCH_INDEX_WRITE, &err) ||
         dscat_search(&r, idx, &o, &err))) {
        cli_error("%s", err.message);
        rc = EXIT_FAIL;
    }
    if (rc == 0) {
        if (strcmp(format, "json") == 0) {
            json_t *arr = json_array();
            for (size_t i = 0; i < r.count; i++)
                json_array_append_new(arr, dscat_render_hit(&r.hits[i], o.by_table));
            cli_print_json(arr);
        } else if (strcmp(format, "csv") == 0) {
            print_csv(&r, o.by_table);
        } else {
            rc = print_table(&r, o.by_table);
        }
    }
    dscat_search_result_free(&r);
    dscat_search_index_free(idx);
    dscat_store_close(st);
    dscat_config_free(cfg);
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
        dscat_buf refs = DSCAT_BUF_INIT;
        if (o.rc == 0)
            o.rc = cli_qualified_refs(&refs, d->database, d->schema, c->fk_references);
        cli_md_text(&o, dscat_buf_cstr(&refs));
        dscat_buf_free(&refs);
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
        printf("usage: dscat table NAME\n\nOne table (table when the name is unique, db.table, "
               "db.schema.table or target:db.schema.table): columns, types, keys, references in "
               "and out, row "
               "estimate, comments and annotations. An ambiguous name lists the candidates.\n");
        return EXIT_OK;
    }
    if (argc != 2)
        return cli_usage("table", "give exactly one table name");
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    if (open_store(&st, &cfg))
        return EXIT_FAIL;
    cli_stale_warning(cfg);
    dscat_table_detail *d = NULL;
    dscat_name_candidates cands;
    dscat_error err = {0};
    int rc = dscat_table_lookup(&d, &cands, st, cfg->catalog_dir, argv[1], &err);
    if (rc == DSCAT_ECONFLICT) {
        cli_error("%s; name one of these:", err.message);
        for (size_t i = 0; i < cands.count; i++)
            fprintf(stderr, "  %s\n", cands.names[i]);
    } else if (rc) {
        cli_error("%s", err.message);
    } else {
        rc = print_detail(d) ? DSCAT_ENOMEM : 0;
    }
    dscat_name_candidates_free(&cands);
    dscat_table_detail_free(d);
    dscat_store_close(st);
    dscat_config_free(cfg);
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
               "named exactly TABLE.\n");
        return EXIT_OK;
    }
    if (argc != 2)
        return cli_usage("joins", "give exactly one table name");
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    if (open_store(&st, &cfg))
        return EXIT_FAIL;
    cli_stale_warning(cfg);
    dscat_join_paths j;
    dscat_error err = {0};
    int rc = dscat_join_paths_get(&j, st, argv[1], &err);
    if (rc) {
        cli_error("%s", err.message);
    } else {
        rc = print_joins(&j, argv[1]) ? DSCAT_ENOMEM : 0;
        dscat_join_paths_free(&j);
    }
    dscat_store_close(st);
    dscat_config_free(cfg);
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
    dscat_config *cfg = NULL;
    dscat_store *st = NULL;
    if (open_store(&st, &cfg))
        return 2;
    dscat_diff d;
    dscat_error err = {0};
    int rc = dscat_diff_get(&d, st, target, scans[0], scans[1], &err);
    if (rc) {
        cli_error("%s", err.message);
        rc = 2;
    } else if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < d.count; i++) {
            const dscat_change *c = &d.changes[i];
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "change",
                                                 c->kind, "database", c->database, "schema",
                                                 c->schema, "table", c->table_name, "column",
                                                 c->column_name, "detail", c->detail));
        }
        cli_print_json(json_pack("{s:s, s:I, s:I, s:o}", "target", d.target, "from_scan",
                                 (json_int_t)d.from_scan, "to_scan", (json_int_t)d.to_scan,
                                 "changes", arr));
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
    dscat_diff_free(&d);
    dscat_store_close(st);
    dscat_config_free(cfg);
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
    char *dir = NULL;
    dscat_error err = {0};
    if (dscat_catalog_dir(&dir, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    dscat_annotation a;
    char *file = NULL;
    int rc = dscat_annotation_add(&a, &file, dir, argv[1], argv[2], argv[3], &err);
    if (rc)
        cli_error("%s", err.message);
    else
        printf("Added %s %s to %s in %s\n", a.type, a.id, a.table, file);
    dscat_annotation_clear(&a);
    dscat_free(file);
    dscat_free(dir);
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
    char *dir = NULL;
    dscat_error err = {0};
    if (dscat_catalog_dir(&dir, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    dscat_annotation_list l;
    int rc = dscat_annotations_read(&l, dir, argc == 2 ? argv[1] : NULL, &err);
    if (rc) {
        cli_error("%s", err.message);
    } else {
        for (size_t i = 0; i < l.nskipped; i++)
            fprintf(stderr, "dscat: warning: skipped unreadable annotations file %s\n",
                    l.skipped[i]);
        if (l.count == 0)
            printf("No annotations.\n");
        for (size_t i = 0; i < l.count; i++) {
            const dscat_annotation *a = &l.items[i];
            printf("%s [%s] %s (%s, %s, %s)\n", a->table, a->type, a->content, a->author,
                   a->created_at, a->id);
        }
        dscat_annotation_list_free(&l);
    }
    dscat_free(dir);
    return rc ? EXIT_FAIL : EXIT_OK;
}
