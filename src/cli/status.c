/*
 * dscat status [--json], dscat targets [--json], dscat schedule [--json]
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char status_help[] =
    "usage: dscat status [--json]\n"
    "\n"
    "Whether the catalog is built and fresh: OK, STALE (the oldest last successful scan of a\n"
    "configured target is stale_after_days old or more, or a target was never scanned) or NOT\n"
    "BUILT (no target ever scanned). Exit status 0 OK, 3 STALE, 4 NOT BUILT, 1 failure.\n";

static const char store_help[] =
    "usage: dscat store [migrate] [--json]\n"
    "       dscat store forget TARGET\n"
    "\n"
    "Shows the catalog store: its engine (catalog.db, or the shared store at the URI the variable\n"
    "settings.store_url_env names holds), where it is (never a credential), its version and the\n"
    "newest this dscat knows. `migrate` first creates the store or brings it to\n"
    "this dscat's version; a store written by a newer dscat is refused and left unchanged.\n"
    "\n"
    "`forget TARGET` removes from the store a target taken out of targets.toml: its catalog "
    "(every\n"
    "scan), its schedule runs and its cached tables (their files deleted after\n"
    "deletion_grace_seconds), then writes the exports again. A target out of targets.toml is\n"
    "otherwise kept, and dscat status lists it as such. A configured target is refused.\n";

static const char targets_help[] =
    "usage: dscat targets [--json]\n"
    "\n"
    "Lists the configured targets: key, name, type, configured databases, and which of their\n"
    "environment variables are set (never their values).\n";

static const char schedule_help[] =
    "usage: dscat schedule [--json]\n"
    "\n"
    "Lists the schedules of targets.toml (a target's refresh_every, each [[targets.<name>.cache]]\n"
    "table's), which dscat serve runs: each with its period, its last run and result as the\n"
    "catalog recorded them, and its next run (\"at serve start\" for one that never ran).\n";

/* Parses the only option these commands take. Returns -1 to go on, else an exit code. */
static int parse_json_flag(int argc, char **argv, const char *cmd, const char *help, bool *json)
{
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--json") != 0)
            return cli_usage(cmd, "unknown option '%s'", argv[i]);
        *json = true;
    }
    return -1;
}

/* s as a JSON string. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* dscat store forget TARGET */
static int store_forget(int argc, char **argv)
{
    if (argc != 3 || argv[2][0] == '-')
        return cli_usage("store",
                         "store forget needs one TARGET (a key no longer in targets.toml)");
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    dscat_forget_report r;
    dscat_error err = {0};
    int rc = dscat_catalog_forget_target(cat, argv[2], &r, &err);
    dscat_catalog_close(cat);
    if (rc) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    printf("forgot target %s: %lld scan%s, %zu cached table%s (files deleted after the grace)\n",
           cli_show(argv[2]), (long long)r.scans, r.scans == 1 ? "" : "s", r.cached_tables,
           r.cached_tables == 1 ? "" : "s");
    return EXIT_OK;
}

int cmd_store(int argc, char **argv)
{
    bool json = false, migrate = false;
    if (argc > 1 && strcmp(argv[1], "forget") == 0) {
        for (int i = 2; i < argc; i++)
            if (cli_is_help(argv[i])) {
                fputs(store_help, stdout);
                return EXIT_OK;
            }
        return store_forget(argc, argv);
    }
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(store_help, stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "migrate") == 0 && i == 1)
            migrate = true;
        else
            return cli_usage("store", "unknown argument '%s'", argv[i]);
    }
    dscat_store_info info;
    dscat_error err = {0};
    int before = 0;
    if (migrate && dscat_catalog_store_describe(&info, NULL, false, &err) == 0)
        before = info.version;
    dscat_error_clear(&err);
    if (dscat_catalog_store_describe(&info, NULL, migrate, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    if (json) {
        printf("{\"engine\": ");
        print_json_string(info.engine);
        printf(", \"location\": ");
        print_json_string(info.location);
        printf(", \"schema\": ");
        print_json_string(info.schema);
        printf(", \"version\": %d, \"known\": %d}\n", info.version, info.known);
        return EXIT_OK;
    }
    printf("engine: %s\nlocation: %s\nversion: %d (this dscat knows up to %d)\n", info.engine,
           info.location, info.version, info.known);
    if (migrate)
        printf(before == info.version ? "migrate: already at version %d\n"
                                      : "migrate: now at version %d\n",
               info.version);
    return EXIT_OK;
}

static int exit_for(dscat_catalog_state s)
{
    return s == DSCAT_STATE_OK ? 0 : s == DSCAT_STATE_STALE ? 3 : 4;
}

static void print_status_human(const dscat_status *s)
{
    printf("Catalog status: %s\n", dscat_catalog_state_text(s->state, false));
    if (s->state == DSCAT_STATE_NOT_BUILT) {
        printf("Run 'dscat refresh' to build the catalog.\n");
    } else {
        char when[64];
        dscat_time_local(s->last_updated_us, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
        printf("Last updated: %s\n", when);
        printf("Age: %.1f days (oldest target scan)\n", s->age_days);
        if (s->generation != s->exports_generation)
            printf("Exports: behind the store (scan %lld, exported %lld): a refresh was "
                   "interrupted; any command that can write the catalog directory regenerates "
                   "them\n",
                   (long long)s->generation, (long long)s->exports_generation);
    }
    printf("\nCatalog contains:\n  - %ld targets\n  - %ld databases\n  - %ld tables\n"
           "  - %ld columns\n",
           s->targets, s->databases, s->tables, s->columns);
    if (s->ntargets)
        printf("\nTargets:\n");
    for (size_t i = 0; i < s->ntargets; i++) {
        const dscat_target_status *t = &s->per_target[i];
        char when[64] = "never";
        if (t->last_success_us != DSCAT_STATUS_NEVER)
            dscat_time_local(t->last_success_us, "%Y-%m-%d %H:%M", when, sizeof(when));
        printf("  %s: %s, last successful scan %s", cli_show(t->target),
               t->status ? cli_show(t->status) : "not scanned", when);
        if (t->last_problem)
            printf(", last problem: %s", cli_show(t->last_problem));
        if (!t->configured)
            printf("; not in targets.toml (its catalog is kept: `dscat store forget %s` "
                   "removes it)",
                   cli_show(t->target));
        putchar('\n');
    }
}

int cmd_status(int argc, char **argv)
{
    bool json = false;
    int rc = parse_json_flag(argc, argv, "status", status_help, &json);
    if (rc >= 0)
        return rc;
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    dscat_status *s = NULL;
    dscat_error err = {0};
    if (dscat_catalog_status(&s, cat, false, &err)) {
        cli_error("%s", err.message);
        dscat_catalog_close(cat);
        return EXIT_FAIL;
    }
    if (json)
        cli_print_json_text(dscat_json_status(s, DSCAT_JSON_PRETTY));
    else
        print_status_human(s);
    rc = exit_for(s->state);
    dscat_catalog_status_free(s);
    dscat_catalog_close(cat);
    return rc;
}

int cmd_targets(int argc, char **argv)
{
    bool json = false;
    int rc = parse_json_flag(argc, argv, "targets", targets_help, &json);
    if (rc >= 0)
        return rc;
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    const dscat_config *cfg = dscat_catalog_config(cat);
    if (json) {
        rc = cli_print_json_text(dscat_json_targets(cfg, DSCAT_JSON_PRETTY));
        dscat_catalog_close(cat);
        return rc;
    }
    if (cfg->ntargets == 0)
        printf("No targets configured in %s\n", cli_show(cfg->path));
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const dscat_target_config *t = &cfg->targets[i];
        printf("%s: %s (%s)", cli_show(t->key), cli_show(t->name), cli_show(t->type));
        if (t->include_databases.set && t->include_databases.count) {
            printf(", databases:");
            for (size_t k = 0; k < t->include_databases.count; k++)
                printf("%s%s", k ? ", " : " ", cli_show(t->include_databases.items[k]));
        } else if (!t->include_databases.set && t->database) {
            printf(", databases: %s", cli_show(t->database));
        }
        putchar('\n');
        const struct {
            const char *key, *variable;
        } vars[] = {{"host", t->host_env},
                    {"user", t->user_env},
                    {"password", t->password_env},
                    {"port", t->port_env},
                    {"path", t->path_env}};
        for (size_t k = 0; k < sizeof(vars) / sizeof(vars[0]); k++) {
            if (vars[k].variable == NULL)
                continue;
            const char *v = getenv(vars[k].variable);
            printf("  %s: %s (%s)\n", vars[k].key, cli_show(vars[k].variable),
                   v != NULL && *v != '\0' ? "set" : "not set");
        }
    }
    dscat_catalog_close(cat);
    return EXIT_OK;
}

/* "2026-11-29 12:00:05", or `none` for DSCAT_STATUS_NEVER. */
static void local_time(int64_t us, const char *none, char *out, size_t size)
{
    if (us == DSCAT_STATUS_NEVER)
        snprintf(out, size, "%s", none);
    else
        dscat_time_local(us, "%Y-%m-%d %H:%M:%S", out, size);
}

int cmd_schedule(int argc, char **argv)
{
    bool json = false;
    int rc = parse_json_flag(argc, argv, "schedule", schedule_help, &json);
    if (rc >= 0)
        return rc;
    dscat_catalog *cat = NULL;
    if (cli_open_catalog(&cat))
        return EXIT_FAIL;
    dscat_schedule_list l = {0};
    dscat_error err = {0};
    if (dscat_catalog_schedules(&l, cat, 0, &err)) {
        cli_error("%s", err.message);
        dscat_catalog_close(cat);
        return EXIT_FAIL;
    }
    rc = EXIT_OK;
    if (json) {
        rc = cli_print_json_text(dscat_json_schedules(&l, DSCAT_JSON_PRETTY));
    } else if (l.count == 0) {
        printf("No schedules: give a target refresh_every, or cached tables their own "
               "([[targets.<name>.cache]]), in %s\n",
               cli_show(dscat_catalog_config(cat)->path));
    } else {
        for (size_t i = 0; i < l.count; i++) {
            const dscat_schedule *s = &l.items[i];
            char last[64], next[64];
            local_time(s->last_finished_us, "never", last, sizeof(last));
            local_time(s->next_run_us, "at serve start", next, sizeof(next));
            if (s->table) {
                const char *parts[] = {s->schema, s->table};
                char *name = dscat_join_qualified(parts, 2); /* quoted where it must be */
                printf("data %s %s", cli_show(s->target), name ? cli_show(name) : "?");
                dscat_free(name);
                if (s->append_key && s->full_every)
                    printf(" (append by %s, full every %ds)", cli_show(s->append_key),
                           s->full_every);
                else if (s->append_key)
                    printf(" (append by %s)", cli_show(s->append_key));
            } else
                printf("schema %s", cli_show(s->target));
            printf(": every %ds, last run %s%s%s, next run %s", s->every, last,
                   s->result ? " " : "", cli_show(s->result), next);
            if (s->error)
                printf(" (%d failed in a row: %s)", s->failures, cli_show(s->error));
            if (s->running_since_us != DSCAT_STATUS_NEVER) {
                char since[64];
                local_time(s->running_since_us, "", since, sizeof(since));
                printf(", running since %s", since);
            }
            putchar('\n');
        }
    }
    dscat_catalog_schedule_list_free(&l);
    dscat_catalog_close(cat);
    return rc;
}
