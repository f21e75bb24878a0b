/*
 * Configuration: the catalog directory, targets.toml (SPEC §2) and the optional .env file.
 *
 * dscat_config_load() validates the whole file before anything is contacted: a configuration
 * error names the file, the line and the key. Credentials are never read here: a target holds
 * the NAMES of its environment variables, resolved by dscat_target_resolve() when it is scanned.
 */
#ifndef DSCAT_CONFIG_H
#define DSCAT_CONFIG_H

#include "dscat/common.h"

#include <stdbool.h>

/* A source engine's driver; opaque outside the library (src/sources/source.h). */
struct dscat_source_driver;

/* A list of strings; `set` tells an empty list written in the file from an absent key. */
typedef struct dscat_string_list {
    char **items;
    size_t count;
    bool set;
} dscat_string_list;

typedef struct dscat_target_config {
    char *key;        /* [targets.<key>] */
    char *name;       /* display name, default: the key */
    const char *type; /* the engine's name, as the registry spells it; static */
    const struct dscat_source_driver *driver; /* the engine, found by `type` at load */
    int line;                                 /* where the target's table starts in targets.toml */
    char *host, *host_env;
    char *user, *user_env;
    char *password_env;
    int port; /* 0 = the engine's default */
    char *port_env;
    char *database; /* where to connect first, for engines that take it; NULL when absent */
    dscat_string_list include_databases, exclude_databases;
    dscat_string_list include_schemas, exclude_schemas;
    dscat_string_list include_tables, exclude_tables;
    char *path, *path_env; /* engines whose database is a file */
    char *sslmode;         /* engines that take it: passed to the client library */
    bool exact_sizes;      /* engines that take it: exact table sizes, read from each table */
    /* Schedules that `dscat serve` runs: the target's schema refresh every refresh_every seconds
     * (0: none), and its cached tables', each on its own period ([[targets.<key>.cache]]). */
    int refresh_every;
    struct dscat_cache_schedule *cache;
    size_t ncache;
} dscat_target_config;

/* How a cached table is refreshed (targets.toml `mode`, docs/cache.md). */
typedef enum dscat_cache_mode {
    DSCAT_CACHE_FULL = 0, /* every row read again, a new version of one file */
    DSCAT_CACHE_APPEND    /* rows whose append_key is above the version's maximum, added */
} dscat_cache_mode;

/*
 * One cached table's schedule: a data refresh of schema.table every `every` seconds, full or
 * append. An append entry names its key column (append_key) and may ask for a full refresh
 * whenever the table's last full one is older than full_every seconds (0: never).
 */
typedef struct dscat_cache_schedule {
    char *schema, *table;
    int every;
    int line; /* of its table in targets.toml */
    dscat_cache_mode mode;
    char *append_key; /* mode append: the key column; NULL otherwise */
    int full_every;   /* mode append: seconds, 0 for none */
} dscat_cache_schedule;

typedef struct dscat_settings {
    int parallel_scans;
    int stale_after_days;
    bool profile_by_default; /* default_scan_depth = "profile" */
    int profile_sample_size;
    int max_tables_per_db;
    double connect_timeout; /* seconds */
    int query_timeout;      /* seconds: a catalog query, and a query over the cache */
    int64_t query_memory;   /* bytes a query over the cache may use */
    int keep_scans;
    char *cache_root;
    char *s3_endpoint;
    char *s3_region;
    int refresh_parallelism;
    int deletion_grace_seconds;
    int deletion_interval_seconds;
    int max_jobs;        /* dscat serve: refreshes, queries and purges running at once */
    int max_queued_jobs; /* dscat serve: those waiting for one to end; beyond them, 503 */
    dscat_string_list allowed_hosts; /* Host names the HTTP server answers besides loopback */
    dscat_string_list cors_origins;  /* origins allowed cross-origin access (exact) */
    char *store_url_env; /* the variable holding a shared store's URI; NULL: catalog.db */
    char *store_schema;  /* the shared store's schema; NULL: "dscat" */
} dscat_settings;

typedef struct dscat_config {
    char *catalog_dir;
    char *path; /* targets.toml */
    dscat_settings settings;
    dscat_target_config *targets; /* in file order */
    size_t ntargets;
} dscat_config;

/* Credentials and address of one target, resolved from the environment at scan time. */
typedef struct dscat_target_conn {
    char *host; /* NULL for a database file */
    int port;
    char *instance; /* "host\instance" for engines with named instances, else NULL */
    char *user;
    char *password; /* never logged, stored or put in a message */
    char *path;     /* a database file */
} dscat_target_conn;

/*
 * The catalog directory: $DSCAT_HOME, else $DENG_CATALOG_DIR, else ~/.ds_catalog. Caller frees
 * *out with dscat_free().
 */
int dscat_catalog_dir(char **out, dscat_error *err);

/* Creates the catalog directory (mode 0700) and its .gitignore when absent. */
int dscat_catalog_dir_prepare(const char *dir, dscat_error *err);

/*
 * Loads the first of ./.env, ~/.env, <catalog_dir>/.env that exists. Variables already set are
 * never overridden. Returns 0 also when there is no file.
 */
int dscat_dotenv_load(const char *catalog_dir, dscat_error *err);

/*
 * Reads and validates <catalog_dir>/targets.toml and applies environment overrides. On failure
 * returns DSCAT_ECONFIG and err names file, line and key. Caller frees with dscat_config_free().
 */
int dscat_config_load(dscat_config **out, const char *catalog_dir, dscat_error *err);

/* Same, from text already in memory; `path` is only used in messages. Caller frees with
 * dscat_config_free(). */
int dscat_config_parse(dscat_config **out, const char *catalog_dir, const char *path,
                       const char *text, size_t len, dscat_error *err);

void dscat_config_free(dscat_config *cfg);

/* The target called key, or NULL. Borrowed from cfg. */
const dscat_target_config *dscat_config_target(const dscat_config *cfg, const char *key);

/*
 * The example targets of `dscat help targets`: one commented [targets.*] table per engine of this
 * build, the first (a target without `type`) with the list of engine names. Caller frees *out
 * with dscat_free().
 */
int dscat_config_example_targets(char **out, dscat_error *err);

/*
 * Resolves a target's address and credentials from the environment. A variable that is not set
 * fails with DSCAT_EUNSET naming it; a host or user value that is not only a host or a user name
 * (a URI, a connection string, "user:password@host") fails with DSCAT_ECONFIG naming its
 * variable, never its value. Caller frees with dscat_target_conn_free().
 */
int dscat_target_resolve(dscat_target_conn *out, const dscat_target_config *t, dscat_error *err);

/* Frees the strings of conn, wiping the password first. */
void dscat_target_conn_free(dscat_target_conn *conn);

/* True when name matches one of the shell globs in list (an unset list matches everything). */
bool dscat_glob_list_match(const dscat_string_list *list, const char *name, bool empty_matches);

#endif
