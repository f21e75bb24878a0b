/*
 * dscat: entry point and command dispatch.
 */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: dscat COMMAND [OPTIONS]\n"
    "\n"
    "A data catalog for the databases your team works with.\n"
    "\n"
    "Commands:\n"
    "  refresh    scan the configured targets and rewrite the catalog and its exports\n"
    "  status     is the catalog built, fresh or stale (exit 0 OK, 3 STALE, 4 NOT BUILT)\n"
    "  targets    list the configured targets and which of their variables are set\n"
    "  schedule   the schedules dscat serve runs, with their last and next runs\n"
    "  store      the catalog store: engine, location, version; `store migrate` upgrades it,\n"
    "             `store forget TARGET` removes a target taken out of targets.toml\n"
    "  snapshot   write a catalog snapshot into a project's artifacts/catalog/\n"
    "  find       search tables and columns by keyword (literal, any case)\n"
    "  table      one table's columns, keys, references, comments and annotations\n"
    "  joins      foreign keys from and to a table\n"
    "  diff       changes between two scans of a target (exit 0 none, 1 some, 2 trouble)\n"
    "  annotate   add a note, quality flag or deprecation to a table\n"
    "  annotations  list annotations\n"
    "  mcp        Model Context Protocol server on stdin/stdout\n"
    "  cache      copy tables into versioned Parquet files (refresh, ls, purge)\n"
    "  query      SQL over the cached tables\n"
    "  serve      the HTTP API (POST /refresh, search, tables, query, ...)\n"
    "  demo       build a small sample database, refresh it and print its summary\n"
    "\n"
    "The catalog directory is $DSCAT_HOME, else $DENG_CATALOG_DIR, else ~/.ds_catalog; its\n"
    "targets.toml names the servers to scan (dscat help targets shows a complete one).\n"
    "Credentials come only from environment variables.\n"
    "\n"
    "dscat COMMAND --help shows a command's options; dscat --version its version.\n";

/* dscat help targets: a complete, commented targets.toml (SPEC §2; docs/targets.md). */
static const char targets_toml_help[] = /* then one example target per engine, then: */
    "targets.toml, in the catalog directory ($DSCAT_HOME, else $DENG_CATALOG_DIR, else\n"
    "~/.ds_catalog), names the database servers to scan. Every key is shown below; see also\n"
    "docs/targets.md. Credentials are never written here: the *_env keys hold the NAMES of\n"
    "environment variables (set them, or put them in a .env file).\n"
    "\n"
    "[settings]                        # every key optional; shown with its default\n"
    "parallel_scans = 4                # targets and databases scanned at once "
    "(DSCAT_PARALLEL_SCANS)\n"
    "stale_after_days = 7              # status turns STALE after this (alias cache_ttl_days)\n"
    "default_scan_depth = \"metadata\"   # or \"profile\" (null and distinct counts of a sample)\n"
    "profile_sample_size = 1000        # rows per table when profiling\n"
    "max_tables_per_db = 0             # 0: no limit\n"
    "connect_timeout = 10              # seconds per connection attempt (DSCAT_CONNECT_TIMEOUT)\n"
    "query_timeout = 300               # seconds per catalog query\n"
    "keep_scans = 20                   # scans kept per target in the store (at least 2)\n"
    "# cache_root = \"s3://bucket/prefix\" # data cache; default "
    "${XDG_CACHE_HOME:-~/.cache}/dscat\n"
    "# s3_endpoint = \"http://127.0.0.1:9000\"\n"
    "# s3_region = \"us-east-1\"\n"
    "refresh_parallelism = 4           # tables copied at once by dscat cache refresh CONN\n"
    "deletion_grace_seconds = 60       # old cache versions kept this long for running readers\n"
    "deletion_interval_seconds = 30\n"
    "max_jobs = 4                      # dscat serve: refreshes and queries run at once\n"
    "max_queued_jobs = 64              # dscat serve: more wait; beyond them 503 Retry-After\n"
    "# store_url_env = \"DSCAT_STORE_URL\" # a shared catalog store at the URI this variable "
    "holds\n"
    "#                                   # (several dscat serve: docs/deploy.md); default "
    "catalog.db\n"
    "# store_schema = \"dscat\"           # the schema of that database holding the store\n"
    "\n";

static const char targets_toml_refused[] =
    "\n"
    "Refused: password, passwd, pwd, secret and token keys, and URLs holding a password. Any\n"
    "other unknown key is an error naming its line.\n";

static const char help_help[] = "usage: dscat help [COMMAND | targets]\n"
                                "\n"
                                "dscat help targets shows a complete, commented targets.toml;\n"
                                "dscat help COMMAND is dscat COMMAND --help.\n";

/*
 * Prints "dscat: " and the message made of fmt and ap on stderr, every control character in it
 * shown visibly (the message quotes names and servers' words), then `tail` as it is.
 */
static void print_message(const char *tail, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *msg = n < 0 ? NULL : dscat_malloc((size_t)n + 1);
    if (msg)
        vsnprintf(msg, (size_t)n + 1, fmt, again);
    va_end(again);
    char *shown = msg ? dscat_text_visible(msg, (size_t)n) : NULL;
    fprintf(stderr, "dscat: %s%s", shown ? shown : "out of memory", tail);
    dscat_string_free(shown);
    dscat_free(msg);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_message("\n", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_message("", fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see dscat %s --help)\n", command);
    return EXIT_USAGE;
}

/* Strings cli_show made, each freed when its slot comes round again (or left at exit). */
#define SHOWN_SLOTS 32
static char *shown[SHOWN_SLOTS];
static unsigned shown_next;

const char *cli_show(const char *s)
{
    if (s == NULL)
        return "";
    const unsigned char *p = (const unsigned char *)s;
    while (*p >= 0x20 && *p < 0x7f)
        p++;
    if (*p == '\0')
        return s; /* printable ASCII: nothing to show differently */
    char *v = dscat_text_visible(s, strlen(s));
    if (v == NULL)
        return "?";
    unsigned slot = shown_next++ % SHOWN_SLOTS;
    dscat_string_free(shown[slot]);
    shown[slot] = v;
    return v;
}

void cli_csv_field(const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            putchar('"');
        putchar(*p);
    }
    putchar('"');
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_open_catalog(dscat_catalog **out)
{
    dscat_error err = {0};
    int rc = dscat_catalog_open(out, NULL, DSCAT_CATALOG_DOTENV, &err);
    if (rc)
        cli_error("%s", err.message);
    return rc;
}

int cli_print_json_text(char *text)
{
    if (text == NULL) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    puts(text);
    dscat_string_free(text);
    return EXIT_OK;
}

/*
 * Before a command that reads the catalog: exports left behind the store by an interrupted
 * refresh are regenerated (and temporary files of dead processes removed), so every command
 * sees the store and its three exports describe the same scan.
 */
static void repair_exports(const char *command)
{
    static const char *const readers[] = {"status", "find",        "table",    "joins",
                                          "diff",   "annotations", "annotate", "snapshot",
                                          "mcp",    "serve",       "cache",    "query"};
    bool reads = false;
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
        reads |= strcmp(command, readers[i]) == 0;
    dscat_error err = {0};
    bool repaired = false;
    if (reads && dscat_catalog_repair_exports(NULL, &repaired, &err) == 0 && repaired)
        fprintf(stderr, "dscat: the exports were behind the store (a refresh by another "
                        "machine sharing the store, an interrupted refresh, or a file removed): "
                        "regenerated\n");
}

static int cmd_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int, char **);
} commands[] = {
    {"help", cmd_help},         {"refresh", cmd_refresh},
    {"status", cmd_status},     {"targets", cmd_targets},
    {"snapshot", cmd_snapshot}, {"demo", cmd_demo},
    {"schedule", cmd_schedule}, {"store", cmd_store},
    {"find", cmd_find},         {"table", cmd_table},
    {"joins", cmd_joins},       {"diff", cmd_diff},
    {"annotate", cmd_annotate}, {"annotations", cmd_annotations},
    {"mcp", cmd_mcp},           {"cache", cmd_cache},
    {"query", cmd_query},       {"serve", cmd_serve},
};

static int cmd_help(int argc, char **argv)
{
    if (argc == 1) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (argc == 2 && strcmp(argv[1], "targets") == 0) {
        char *examples = NULL;
        dscat_error err = {0};
        if (dscat_catalog_example_targets(&examples, &err)) {
            cli_error("%s", err.message);
            return EXIT_FAIL;
        }
        fputs(targets_toml_help, stdout);
        fputs(examples, stdout);
        fputs(targets_toml_refused, stdout);
        dscat_free(examples);
        return EXIT_OK;
    }
    if (argc == 2 && (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0)) {
        fputs(help_help, stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; argc == 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            char help[] = "--help";
            char *args[] = {argv[1], help, NULL};
            return commands[i].run(2, args);
        }
    return cli_usage("help", "no help on '%s'", argc > 1 ? argv[1] : "");
}

/* Runs the command argv[1] (or the global options), returning its exit status. */
static int run(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("dscat %s\n", dscat_version());
        return EXIT_OK;
    }
    dscat_error err = {0};
    if (dscat_catalog_global_init(&err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    int rc = -1;
    bool help = argc > 2 && cli_is_help(argv[2]);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (!help)
                repair_exports(argv[1]);
            rc = commands[i].run(argc - 1, argv + 1);
        }
    if (rc == -1) {
        cli_error("unknown command '%s' (see dscat --help)", argv[1]);
        rc = EXIT_USAGE;
    }
    dscat_catalog_global_shutdown();
    return rc;
}

/*
 * Standard output is this stream, over file descriptor 1, so that the cause of a failed write is
 * kept: stdio itself forgets it (errno moves on, and a chunk larger than its buffer is written
 * past the buffer and dropped when the write fails, so that the final fflush has nothing left to
 * fail on and ferror alone says something went wrong).
 */
static int stdout_errno;

static ssize_t stdout_write(void *cookie, const char *buf, size_t size)
{
    (void)cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(STDOUT_FILENO, buf + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (stdout_errno == 0)
                stdout_errno = w < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)size;
}

static int stdout_close(void *cookie)
{
    (void)cookie;
    if (close(STDOUT_FILENO) == 0 || errno == EBADF)
        return 0;
    if (stdout_errno == 0)
        stdout_errno = errno;
    return EOF;
}

/* Replaces stdout by the stream above, buffered as stdio would buffer it; on failure keeps it. */
static void wrap_stdout(void)
{
    cookie_io_functions_t io = {.write = stdout_write, .close = stdout_close};
    FILE *f = fopencookie(NULL, "w", io);
    if (f == NULL)
        return;
    setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
    stdout = f;
}

/*
 * Flushes and closes standard output once the command is done, so that output lost to a full
 * disk, a quota or an I/O error is a failure rather than a silent exit 0 (README, "Exit
 * codes"): "cannot write to standard output: <cause>" and exit 1 whatever the command's own
 * status (2, "trouble", for diff, whose 1 means "changes found"). A reader that went away
 * (EPIPE: `dscat find x | head -1` with SIGPIPE ignored) is no error to report: dscat ends as if
 * SIGPIPE had stopped it (with SIGPIPE not ignored, it has), quietly, status 141, as git does.
 */
static int finish_stdout(int rc, const char *command)
{
    errno = 0;
    bool failed = fflush(stdout) != 0;
    int e = errno;
    if (ferror(stdout))
        failed = true;
    errno = 0;
    if (fclose(stdout) != 0 && !failed) {
        failed = true;
        e = errno;
    }
    if (stdout_errno)
        e = stdout_errno;
    if (!failed)
        return rc;
    if (e == EPIPE) {
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
        return 128 + SIGPIPE;
    }
    char cause[128] = "write error";
    if (e) {
        snprintf(cause, sizeof(cause), "%s", strerror(e));
        if (cause[0] >= 'A' && cause[0] <= 'Z' && !(cause[1] >= 'A' && cause[1] <= 'Z'))
            cause[0] = (char)(cause[0] - 'A' + 'a');
    }
    cli_error("cannot write to standard output: %s", cause);
    return command && strcmp(command, "diff") == 0 ? EXIT_USAGE : EXIT_FAIL;
}

int main(int argc, char **argv)
{
    wrap_stdout();
    int rc = run(argc, argv);
    return finish_stdout(rc, argc > 1 ? argv[1] : NULL);
}
