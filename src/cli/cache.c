/*
 * dscat cache refresh|ls|purge, dscat query
 */
#include "cli/cli.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char cache_help[] =
    "usage: dscat cache refresh CONN [SCHEMA.TABLE] [--include-uncached] [--json]\n"
    "       dscat cache refresh CONN SCHEMA.TABLE --append-key COLUMN [--json]\n"
    "       dscat cache ls [CONN] [--json]\n"
    "       dscat cache purge CONN [SCHEMA.TABLE]\n"
    "\n"
    "Copies chosen tables into versioned Parquet files under cache_root (DSCAT_CACHE_ROOT) and\n"
    "refreshes them atomically: readers see the old version or the new one, never a mix. Old\n"
    "versions are deleted after deletion_grace_seconds. CONN is a target key when the target\n"
    "names one database, else TARGET.DATABASE. A name holding a dot is quoted: main.\"a.b\".\n"
    "\n"
    "--append-key COLUMN reads only the rows whose COLUMN is greater than the cached version's\n"
    "greatest, and publishes a version made of the old files and one new file (no new rows: no\n"
    "new version). COLUMN must only grow (an id, a timestamp); updates and deletes are seen at\n"
    "the next full refresh. See docs/cache.md.\n";

/* Splits "schema.table" (quotes allowed). */
static int split_table(const char *arg, char **schema, char **table)
{
    char *parts[2] = {0}, *target = NULL;
    int n = dscat_split_qualified(arg, &target, parts, 2);
    dscat_free(target);
    if (n != 2) {
        for (int i = 0; i < 2; i++)
            dscat_free(parts[i]);
        return -1;
    }
    *schema = parts[0];
    *table = parts[1];
    return 0;
}

/* Runs the deletion work every cache command does before it exits; prints its warnings. */
static void maintain(dscat_catalog *cat, dscat_warnings *into)
{
    dscat_warnings w = {0};
    dscat_error err = {0};
    /* In a catalog this user cannot write, there is no deletion it could do: said by nothing. */
    if (dscat_catalog_maintain(cat, &w, &err) && err.code != DSCAT_EPERM)
        fprintf(stderr, "dscat: warning: cache maintenance failed: %s\n", cli_show(err.message));
    for (size_t i = 0; i < w.count; i++)
        fprintf(stderr, "dscat: warning: %s\n", cli_show(w.items[i].message));
    if (into) {
        *into = w;
        return;
    }
    dscat_catalog_warnings_free(&w);
}

/* 1234567 as "1,234,567". */
static void with_commas(char *out, size_t size, long long n)
{
    char digits[32];
    snprintf(digits, sizeof(digits), "%lld", n);
    size_t len = strlen(digits), k = 0;
    for (size_t i = 0; i < len && k + 2 < size; i++) {
        if (i > 0 && digits[i - 1] != '-' && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
}

/*
 * Progress on stderr: each finished table logs "Loaded 1,204,331 rows (84.2 MiB) in 1.9 s:
 * schema.table" as it finishes; on a terminal, one live line (rewritten in place) shows the rows
 * copied so far, the rate and the tables done. Called from the refreshing threads.
 */
typedef struct cache_live {
    pthread_mutex_t lock;
    bool tty, shown;
    size_t done;
    int64_t rows_done;
} cache_live;

static void cache_progress(const dscat_cache_progress *p, void *payload)
{
    cache_live *l = payload;
    char rows[40];
    pthread_mutex_lock(&l->lock);
    if (l->shown) {
        fputs("\r\033[K", stderr); /* the live line gives way */
        l->shown = false;
    }
    if (p->done) {
        l->done++;
        if (p->rc == 0) {
            l->rows_done += p->rows;
            with_commas(rows, sizeof(rows), (long long)p->rows);
            fprintf(stderr, "Loaded %s rows (%.1f MiB) in %.1f s: %s.%s\n", rows,
                    (double)p->bytes / 1048576.0, (double)p->elapsed_ms / 1000.0,
                    cli_show(p->schema), cli_show(p->table));
        }
    } else if (l->tty) {
        with_commas(rows, sizeof(rows), (long long)p->rows);
        double s = (double)p->elapsed_ms / 1000.0;
        fprintf(stderr, "cache refresh: %s.%s: %s rows, %.1f s, %.0f rows/s | %zu tables done",
                cli_show(p->schema), cli_show(p->table), rows, s, s > 0 ? (double)p->rows / s : 0.0,
                l->done);
        l->shown = true;
    }
    fflush(stderr);
    pthread_mutex_unlock(&l->lock);
}

static int cache_refresh(dscat_catalog *cat, int argc, char **argv)
{
    const char *conn = NULL, *name = NULL, *append_key = NULL;
    bool json = false, all = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--append-key") == 0 && i + 1 < argc)
            append_key = argv[++i];
        else if (strcmp(argv[i], "--append-key") == 0)
            return cli_usage("cache", "--append-key needs a column");
        else if (strcmp(argv[i], "--include-uncached") == 0)
            all = true;
        else if (argv[i][0] == '-')
            return cli_usage("cache", "unknown option '%s'", argv[i]);
        else if (conn == NULL)
            conn = argv[i];
        else if (name == NULL)
            name = argv[i];
        else
            return cli_usage("cache", "unexpected argument '%s'", argv[i]);
    }
    if (conn == NULL)
        return cli_usage("cache", "cache refresh needs a connection");
    char *schema = NULL, *table = NULL;
    if (name && split_table(name, &schema, &table))
        return cli_usage("cache", "give the table as SCHEMA.TABLE (a name holding a dot or a colon "
                                  "in double quotes: main.\"a.b\")");
    if (append_key && (name == NULL || all)) {
        dscat_free(schema);
        dscat_free(table);
        return cli_usage("cache", "--append-key refreshes one table: give SCHEMA.TABLE");
    }
    dscat_cache_report *rep = NULL;
    dscat_error err = {0};
    cache_live live = {PTHREAD_MUTEX_INITIALIZER, isatty(STDERR_FILENO) != 0, false, 0, 0};
    dscat_cache_refresh_opts opts = {.include_uncached = all,
                                     .append_key = append_key,
                                     .progress = cache_progress,
                                     .payload = &live};
    int rc = dscat_catalog_data_refresh_with(&rep, cat, conn, schema, table, &opts, &err);
    if (live.shown)
        fputs("\r\033[K", stderr);
    dscat_warnings w = {0};
    for (size_t i = 0; rc == 0 && i < rep->warnings.count; i++)
        fprintf(stderr, "dscat: warning: %s.%s: %s\n", cli_show(rep->warnings.items[i].schema),
                cli_show(rep->warnings.items[i].table), cli_show(rep->warnings.items[i].message));
    if (rc ==
        0) /* a refresh refused outright (no access, no such table) leaves the rest for later */
        maintain(cat, &w);
    if (rc) {
        cli_error("%s", err.message);
    } else if (json) {
        rc = cli_print_json_text(dscat_json_cache_report(rep, conn, &w, DSCAT_JSON_PRETTY));
    } else {
        if (rep->count == 0)
            printf("No cached tables in %s (use --include-uncached to cache all its tables)\n",
                   cli_show(conn));
        for (size_t i = 0; i < rep->count; i++) {
            const dscat_table_sync *t = &rep->tables[i];
            if (t->rc)
                fprintf(stderr, "dscat: %s %s.%s: %s\n", cli_show(conn), cli_show(t->schema),
                        cli_show(t->table), cli_show(t->error.message));
            else if (t->unchanged)
                printf("%s %s.%s: no new rows: no version published (version %s stays, %lld "
                       "rows)\n",
                       cli_show(conn), cli_show(t->schema), cli_show(t->table),
                       cli_show(t->version), (long long)t->version_rows);
            else if (t->kind && strcmp(t->kind, "append") == 0)
                printf("%s %s.%s: %lld rows appended, %lld bytes in %.2f s (version %s: %lld "
                       "rows in %d files)\n",
                       cli_show(conn), cli_show(t->schema), cli_show(t->table), (long long)t->rows,
                       (long long)t->bytes, (double)t->duration_ms / 1000.0, cli_show(t->version),
                       (long long)t->version_rows, t->files);
            else
                printf("%s %s.%s: %lld rows, %lld bytes in %.2f s (version %s%s)\n", cli_show(conn),
                       cli_show(t->schema), cli_show(t->table), (long long)t->rows,
                       (long long)t->bytes, (double)t->duration_ms / 1000.0, cli_show(t->version),
                       t->joined ? ", from the refresh already running" : "");
        }
    }
    for (size_t i = 0; rc == 0 && !json && i < rep->count; i++)
        if (rep->tables[i].rc == 0 && rep->tables[i].note)
            printf("%s %s.%s: %s\n", cli_show(conn), cli_show(rep->tables[i].schema),
                   cli_show(rep->tables[i].table), cli_show(rep->tables[i].note));
    if (rc == 0 && rep->failed)
        rc = 1;
    dscat_catalog_warnings_free(&w);
    dscat_catalog_data_refresh_free(rep);
    dscat_free(schema);
    dscat_free(table);
    return rc ? EXIT_FAIL : EXIT_OK;
}

static int cache_ls(dscat_catalog *cat, int argc, char **argv)
{
    const char *conn = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (conn == NULL && argv[i][0] != '-')
            conn = argv[i];
        else
            return cli_usage("cache", "unexpected argument '%s'", argv[i]);
    }
    dscat_warnings w = {0};
    maintain(cat, &w);
    dscat_cache_listing l;
    dscat_error err = {0};
    if (dscat_catalog_cache_list(&l, cat, conn, &err)) {
        cli_error("%s", err.message);
        dscat_catalog_warnings_free(&w);
        return EXIT_FAIL;
    }
    if (json) {
        cli_print_json_text(dscat_json_cache_listing(&l, &w, DSCAT_JSON_PRETTY));
    } else {
        if (l.count == 0)
            printf("No cached tables.\n");
        for (size_t i = 0; i < l.count; i++) {
            const dscat_cached_table *t = &l.tables[i];
            char when[40];
            dscat_time_local(t->last_sync_us, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
            printf("%s %s.%s: version %s, %lld rows, %lld bytes, synced %s\n",
                   cli_show(t->connection_id), cli_show(t->schema), cli_show(t->table),
                   cli_show(t->version), (long long)t->rows, (long long)t->bytes, when);
            if (t->files > 1 || t->append_key)
                printf("  %d file%s%s%s\n", t->files, t->files == 1 ? "" : "s",
                       t->append_key ? ", appended by " : "", cli_show(t->append_key));
            for (size_t k = 0; k < t->fallbacks.count; k++)
                printf("  column %s stored as %s: %s\n", cli_show(t->fallbacks.items[k].column),
                       cli_show(t->fallbacks.items[k].storage),
                       cli_show(t->fallbacks.items[k].reason));
        }
        if (l.npending)
            printf("\nPending deletions:\n");
        for (size_t i = 0; i < l.npending; i++)
            printf("  %s after %s (%d failed attempts)\n", cli_show(l.pending[i].path),
                   cli_show(l.pending[i].delete_after), l.pending[i].retry_count);
    }
    dscat_catalog_warnings_free(&w);
    dscat_catalog_cache_list_free(&l);
    return EXIT_OK;
}

static int cache_purge(dscat_catalog *cat, int argc, char **argv)
{
    if (argc < 1 || argc > 2)
        return cli_usage("cache", "cache purge needs CONN [SCHEMA.TABLE]");
    char *schema = NULL, *table = NULL;
    if (argc == 2 && split_table(argv[1], &schema, &table))
        return cli_usage("cache", "give the table as SCHEMA.TABLE (a name holding a dot or a colon "
                                  "in double quotes: main.\"a.b\")");
    size_t n = 0;
    dscat_error err = {0};
    int rc = dscat_catalog_purge(cat, argv[0], schema, table, &n, &err);
    if (rc)
        cli_error("%s", err.message);
    else
        printf("Purged %zu table%s of %s; files are deleted after the grace period\n", n,
               n == 1 ? "" : "s", cli_show(argv[0]));
    maintain(cat, NULL);
    dscat_free(schema);
    dscat_free(table);
    return rc ? EXIT_FAIL : EXIT_OK;
}

int cmd_cache(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(cache_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "refresh") && strcmp(sub, "ls") && strcmp(sub, "purge"))
        return cli_usage("cache", "unknown subcommand '%s'", sub);
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    int rc = strcmp(sub, "refresh") == 0 ? cache_refresh(cat, argc - 2, argv + 2)
             : strcmp(sub, "ls") == 0    ? cache_ls(cat, argc - 2, argv + 2)
                                         : cache_purge(cat, argc - 2, argv + 2);
    dscat_catalog_close(cat);
    return rc;
}

int cmd_query(int argc, char **argv)
{
    const char *sql = NULL, *format = "table";
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: dscat query SQL [--format table|json|csv]\n\nSQL over the cached "
                   "tables, each named \"<connection id>\".\"<schema>\".\"<table>\".\n");
            return EXIT_OK;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (sql == NULL) {
            sql = argv[i];
        } else {
            return cli_usage("query", "unexpected argument '%s'", argv[i]);
        }
    }
    if (sql == NULL)
        return cli_usage("query", "give the SQL to run");
    if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv"))
        return cli_usage("query", "--format must be table, json or csv");
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    dscat_query_result r;
    dscat_error err = {0};
    int rc = dscat_catalog_query(&r, cat, sql, 0, &err);
    if (rc) {
        cli_error("%s", err.message);
    } else if (strcmp(format, "json") == 0) {
        rc = cli_print_json_text(dscat_json_query_rows(&r, DSCAT_JSON_PRETTY));
    } else if (strcmp(format, "csv") == 0) {
        for (size_t c = 0; c < r.ncolumns; c++) {
            cli_csv_field(r.columns[c]);
            putchar(c + 1 < r.ncolumns ? ',' : '\n');
        }
        for (size_t i = 0; i < r.nrows; i++)
            for (size_t c = 0; c < r.ncolumns; c++) {
                cli_csv_field(r.cells[i * r.ncolumns + c]);
                putchar(c + 1 < r.ncolumns ? ',' : '\n');
            }
    } else {
        cli_md o = CLI_MD_INIT;
        for (size_t c = 0; c < r.ncolumns; c++) {
            cli_md_puts(&o, "| ");
            cli_md_text(&o, r.columns[c]);
            cli_md_puts(&o, " ");
        }
        cli_md_puts(&o, "|\n");
        for (size_t c = 0; c < r.ncolumns; c++)
            cli_md_puts(&o, "|---");
        cli_md_puts(&o, "|\n");
        for (size_t i = 0; i < r.nrows; i++) {
            for (size_t c = 0; c < r.ncolumns; c++) {
                const char *v = r.cells[i * r.ncolumns + c];
                cli_md_puts(&o, "| ");
                if (v)
                    cli_md_text(&o, v);
                else
                    cli_md_puts(&o, "NULL");
                cli_md_puts(&o, " ");
            }
            cli_md_puts(&o, "|\n");
        }
        rc = cli_md_print(&o) ? DSCAT_ENOMEM : 0;
        printf("\n%zu row%s in %lld ms\n", r.nrows, r.nrows == 1 ? "" : "s",
               (long long)r.duration_ms);
    }
    dscat_catalog_query_free(&r);
    dscat_catalog_close(cat);
    return rc ? EXIT_FAIL : EXIT_OK;
}
