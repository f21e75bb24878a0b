/*
 * dscat refresh [--target T]... [--depth metadata|profile] [--project P] [--json]
 */
#include "cli/cli.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
    "usage: dscat refresh [--target T]... [--depth metadata|profile] [--project P] [--json]\n"
    "\n"
    "Scans the configured targets (all, or each --target), writes their catalog into the store\n"
    "and rewrites metadata.parquet, last_scan.json and DATA_CATALOG_SUMMARY.md. Inside a project\n"
    "(or with --project) it also writes a project snapshot. Never prompts.\n"
    "\n"
    "Exit status: 0 when every database of every target was scanned (possibly with problems in\n"
    "a schema or a table), 1 when a target failed or a database could not be scanned (the\n"
    "others are still written; such a database keeps its earlier catalog) or nothing could be\n"
    "scanned (nothing is written).\n";

/*
 * Live progress on a terminal (stderr only, never on a pipe): one status line rewritten in place
 * with the targets and databases done so far, the elapsed time and the rate, followed by the
 * latest event. Called from the refreshing threads, hence the lock.
 */
typedef struct live {
    pthread_mutex_t lock;
    size_t targets, targets_failed, databases, skipped;
    double started;
    bool shown;
} live;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

static void progress_line(const char *line, void *payload)
{
    live *l = payload;
    pthread_mutex_lock(&l->lock);
    if (ends_with(line, " scanned"))
        l->databases++;
    else if (strstr(line, ": failed: "))
        l->targets_failed++;
    else if (strstr(line, " skipped: "))
        l->skipped++;
    double elapsed = now_s() - l->started;
    fprintf(stderr,
            "\r\033[Krefresh: %zu of %zu targets failed, %zu databases scanned, %zu skipped, "
            "%.1f s, %.1f databases/s | %.60s",
            l->targets_failed, l->targets, l->databases, l->skipped, elapsed,
            elapsed > 0 ? (double)l->databases / elapsed : 0.0, cli_show(line));
    l->shown = true;
    pthread_mutex_unlock(&l->lock);
}

/* The failure message, prefixed with the target when the driver did not name it. */
static void print_failure(const dscat_target_report *t)
{
    size_t n = strlen(t->target);
    if (strncmp(t->error.message, "target ", 7) == 0 &&
        strncmp(t->error.message + 7, t->target, n) == 0)
        cli_error("%s", t->error.message);
    else
        cli_error("target %s: %s", t->target, t->error.message);
}

static void print_human(const dscat_refresh_report *r, const dscat_config *cfg)
{
    for (size_t i = 0; i < r->ntargets; i++) {
        const dscat_target_report *t = &r->targets[i];
        if (t->status == DSCAT_SCAN_FAILED)
            continue;
        printf("%s: %s, %ld database%s, %ld table%s, %ld column%s in %.1f s (%ld queries)\n",
               cli_show(t->target), dscat_catalog_scan_status_text(t->status), t->databases,
               t->databases == 1 ? "" : "s", t->tables, t->tables == 1 ? "" : "s", t->columns,
               t->columns == 1 ? "" : "s", (double)t->duration_ms / 1000.0, t->queries);
        for (size_t k = 0; k < t->nproblems; k++) {
            const dscat_scan_problem *p = &t->problems[k];
            printf("  problem: %s%s%s%s%s\n", cli_show(p->database), p->schema ? "." : "",
                   cli_show(p->schema), p->database ? ": " : "", cli_show(p->message));
        }
    }
    if (r->written) {
        printf("catalog: %s/metadata.parquet, last_scan.json, DATA_CATALOG_SUMMARY.md\n",
               cli_show(cfg->catalog_dir));
        if (r->snapshot_dir)
            printf("snapshot: %s\n", cli_show(r->snapshot_dir));
    }
}

int cmd_refresh(int argc, char **argv)
{
    const char **targets = dscat_calloc((size_t)argc, sizeof(char *));
    size_t ntargets = 0;
    bool json = false;
    const char *depth = NULL, *project = NULL;
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(help, stdout);
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if ((strcmp(a, "--target") == 0 || strcmp(a, "--depth") == 0 ||
                    strcmp(a, "--project") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 't')
                targets[ntargets++] = v;
            else if (a[2] == 'd')
                depth = v;
            else
                project = v;
        } else {
            rc = cli_usage("refresh", "unknown or incomplete option '%s'", a);
            goto done;
        }
    }
    if (depth && strcmp(depth, "metadata") != 0 && strcmp(depth, "profile") != 0) {
        rc = cli_usage("refresh", "--depth must be metadata or profile");
        goto done;
    }
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat)) {
        rc = EXIT_FAIL;
        goto done;
    }
    const dscat_config *cfg = dscat_catalog_config(cat);
    bool profile = depth ? strcmp(depth, "profile") == 0 : cfg->settings.profile_by_default;
    live l = {.lock = PTHREAD_MUTEX_INITIALIZER,
              .targets = ntargets ? ntargets : cfg->ntargets,
              .started = now_s()};
    dscat_refresh_options opts = {.targets = targets,
                                  .ntargets = ntargets,
                                  .profile = profile,
                                  .project = project,
                                  .progress = isatty(STDERR_FILENO) ? progress_line : NULL,
                                  .payload = &l};
    dscat_refresh_report *rep = NULL;
    dscat_error err = {0};
    int failed = dscat_catalog_refresh(&rep, cat, &opts, &err);
    if (l.shown) /* end the live line: what follows starts on a line of its own */
        fprintf(stderr, "\r\033[Krefresh: %zu database%s scanned in %.1f s\n", l.databases,
                l.databases == 1 ? "" : "s", now_s() - l.started);
    if (failed) {
        cli_error("%s", err.message);
        rc = EXIT_FAIL;
    } else {
        for (size_t i = 0; i < rep->ntargets; i++)
            if (rep->targets[i].status == DSCAT_SCAN_FAILED) {
                print_failure(&rep->targets[i]);
                rc = EXIT_FAIL;
            } else if (rep->targets[i].unscanned > 0) {
                /* Its other databases are written, a stale one keeps its earlier catalog: not a
                 * success all the same (docs/status.md, "Exit status of refresh"). */
                cli_error("target %s: %ld database%s could not be scanned (see its problems)",
                          rep->targets[i].target, rep->targets[i].unscanned,
                          rep->targets[i].unscanned == 1 ? "" : "s");
                rc = EXIT_FAIL;
            }
        if (json) {
            if (cli_print_json_text(
                    dscat_json_refresh_report(rep, cfg->catalog_dir, DSCAT_JSON_PRETTY)))
                rc = EXIT_FAIL;
        } else if (rep->written)
            print_human(rep, cfg);
        if (!rep->written)
            rc = EXIT_FAIL;
    }
    dscat_catalog_refresh_free(rep);
    dscat_catalog_close(cat);
done:
    dscat_free(targets);
    return rc;
}
