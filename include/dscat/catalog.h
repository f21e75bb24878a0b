/*
 * The catalog: the store (catalog.db), the refresh job that fills it, the exports written from
 * it (metadata.parquet, last_scan.json, DATA_CATALOG_SUMMARY.md), status and snapshots.
 *
 * Threads: a dscat_store belongs to one thread at a time; open one per thread.
 */
#ifndef DSCAT_CATALOG_H
#define DSCAT_CATALOG_H

#include "dscat/common.h"
#include "dscat/config.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dscat_store dscat_store;

typedef enum dscat_store_mode {
    DSCAT_STORE_READ, /* fails with DSCAT_ENOTFOUND when there is no store yet */
    DSCAT_STORE_WRITE /* creates and migrates the store when needed */
} dscat_store_mode;

/* The store's schema version this dscat writes. */
#define DSCAT_STORE_VERSION 2

/*
 * Opens the store of catalog_dir: <catalog_dir>/catalog.db, or the shared store its settings
 * name (store_url_env). A store written by a newer dscat is refused with
 * DSCAT_EVERSION and left untouched. Caller closes with dscat_store_close().
 */
int dscat_store_open(dscat_store **out, const char *catalog_dir, dscat_store_mode mode,
                     dscat_error *err);
void dscat_store_close(dscat_store *st);

/*
 * Refuses (DSCAT_EVERSION) a store written by a newer dscat, reading only the file header so
 * that nothing is created or changed. No store yet is fine.
 */
int dscat_store_check_version(const char *catalog_dir, dscat_error *err);

/* What `dscat store` shows: the engine, where the store is (never a credential), its version. */
typedef struct dscat_store_info {
    char engine[16];    /* the engine's name: "sqlite" for catalog.db */
    char location[512]; /* the file, or the schema, database, host and port */
    char schema[128];   /* a shared store: the schema holding the tables; "" for catalog.db */
    int version;        /* the store's version; 0 when there is no store yet */
    int known;          /* the newest version this dscat knows */
} dscat_store_info;

/*
 * Describes the store of catalog_dir; with migrate, first creates it or brings it to this
 * dscat's version (a newer one is refused with DSCAT_EVERSION, unchanged).
 */
int dscat_store_describe(dscat_store_info *out, const char *catalog_dir, bool migrate,
                         dscat_error *err);

typedef enum dscat_scan_status {
    DSCAT_SCAN_OK,
    DSCAT_SCAN_PARTIAL,
    DSCAT_SCAN_FAILED
} dscat_scan_status;

/* "ok", "partial", "failed". Static string. */
const char *dscat_scan_status_name(dscat_scan_status s);

typedef struct dscat_scan_problem {
    char *database, *schema, *message; /* schema may be NULL */
    /* The problem is that the database as a whole could not be scanned (one of the target's
     * unscanned databases, whether or not it keeps an earlier catalog): a failed connection. */
    bool unscanned;
} dscat_scan_problem;

/* What one target's scan in a refresh did. */
typedef struct dscat_target_report {
    char *target;
    dscat_scan_status status;
    long databases, tables, columns;
    long queries; /* round trips to the source, connections and listings included */
    int64_t duration_ms;
    int64_t scan_id; /* the scan recorded in the store, 0 when nothing was written */
    dscat_scan_problem *problems;
    size_t nproblems;
    dscat_error error; /* when status is DSCAT_SCAN_FAILED */
    /* Databases the target listed that could not be scanned and that keep an earlier catalog in
     * the new scan (each one of the problems, which says from when), counted in databases,
     * tables and columns. A database that could not be scanned and has no earlier catalog is a
     * problem only. */
    long unscanned;
} dscat_target_report;

typedef struct dscat_refresh_report {
    char run_id[64];
    dscat_target_report *targets; /* in configuration order */
    size_t ntargets;
    bool written;       /* false when no target could be scanned: nothing was written */
    char *snapshot_dir; /* the project snapshot written, or NULL */
} dscat_refresh_report;

typedef struct dscat_refresh_options {
    const char *const *targets; /* keys to refresh; none = all */
    size_t ntargets;
    bool profile;        /* --depth profile */
    const char *project; /* --project, or NULL to detect from the working directory */
    /* Called from the refreshing threads with one line of progress; may be NULL. */
    void (*progress)(const char *line, void *payload);
    void *payload;
} dscat_refresh_options;

/*
 * Scans the chosen targets (parallel_scans at once), writes each scanned target's snapshot into
 * the store in one transaction, then rewrites the exports. Target failures are reported in the
 * report, not as an error; returns an error for unknown targets (DSCAT_ECONFIG, before anything
 * is contacted), a store that cannot be written, or failed exports. Caller frees *out with
 * dscat_refresh_report_free().
 */
int dscat_refresh(dscat_refresh_report **out, const dscat_config *cfg,
                  const dscat_refresh_options *opts, dscat_error *err);
void dscat_refresh_report_free(dscat_refresh_report *r);

/* What dscat_forget_target() removed of a target. */
typedef struct dscat_forget_report {
    int64_t scans;        /* its scans, with the content only they used */
    size_t cached_tables; /* its cached tables (their files deleted after the grace) */
} dscat_forget_report;
/*
 * Removes from the store, in one transaction, everything it holds of a target that is no longer
 * in targets.toml: its scans and current catalog, its schedule runs and its cached tables; then
 * writes the exports again. DSCAT_ECONFLICT for a configured target, DSCAT_ENOTFOUND when the
 * store holds nothing of it.
 */
int dscat_forget_target(const dscat_config *cfg, const char *key, dscat_forget_report *out,
                        dscat_error *err);

/*
 * Rewrites metadata.parquet, last_scan.json and DATA_CATALOG_SUMMARY.md in catalog_dir from the
 * store, each through a temporary file and a rename.
 */
int dscat_export_all(dscat_store *st, const char *catalog_dir, dscat_error *err);
/*
 * The store's generation (its last scan) and the generation its exports were completed at; equal
 * when the exports describe the store. Both 0 without a store.
 */
int dscat_exports_state(const char *catalog_dir, int64_t *generation, int64_t *exported,
                        dscat_error *err);
/*
 * Regenerates the exports from the store when they are behind it (a refresh died after its store
 * commit), and removes temporary files left by dead processes. *repaired tells whether it did.
 * DSCAT_ECONFLICT when they are behind and the directory cannot be written.
 */
int dscat_exports_repair(const char *catalog_dir, bool *repaired, dscat_error *err);

/* Writes metadata.parquet (SPEC §3) of the current catalog, or of one target, to path. */
int dscat_export_parquet(dscat_store *st, const char *path, const char *target, dscat_error *err);

/* Writes DATA_CATALOG_SUMMARY.md (SPEC §5) of the current catalog, or one target, to path. */
int dscat_export_summary(dscat_store *st, const char *path, const char *target, dscat_error *err);

/* Writes last_scan.json (SPEC §4) to path. */
int dscat_export_last_scan(dscat_store *st, const char *path, dscat_error *err);

typedef enum dscat_catalog_state {
    DSCAT_STATE_OK,
    DSCAT_STATE_STALE,
    DSCAT_STATE_NOT_BUILT
} dscat_catalog_state;

typedef struct dscat_target_status {
    char *target;
    char *status;            /* of the target's latest scan: ok, partial, failed; NULL if never */
    int64_t last_success_us; /* DSCAT_STATUS_NEVER when never scanned successfully */
    char *last_problem;      /* the latest failure or problem message, or NULL */
    long databases, tables, columns;
    bool configured; /* false: catalogued, but no longer in targets.toml (dscat store forget) */
} dscat_target_status;

#define DSCAT_STATUS_NEVER INT64_MIN

typedef struct dscat_status {
    dscat_catalog_state state;
    int64_t last_updated_us; /* newest successful scan; DSCAT_STATUS_NEVER when none */
    int64_t oldest_success_us;
    double age_days; /* of the oldest last successful scan among configured targets */
    long targets, databases, tables, columns;
    dscat_target_status *per_target;
    size_t ntargets;
    /* the store's last scan and the scan its exports describe: different when a refresh died
     * between the two and nothing could regenerate them yet (then STALE) */
    int64_t generation, exports_generation;
} dscat_status;

/*
 * Whether metadata.parquet, last_scan.json and DATA_CATALOG_SUMMARY.md are all in catalog_dir as
 * regular files. One removed by hand leaves the exports behind the store: status says STALE and
 * the next command that reads the catalog writes them again.
 */
bool dscat_exports_present(const char *catalog_dir);

/* SPEC §6.2, from the store (which may not exist yet). Caller frees with dscat_status_free(). */
int dscat_status_get(dscat_status **out, const dscat_config *cfg, dscat_error *err);
/* The same without the catalog totals (targets, databases, tables and columns stay 0; the
 * per-target lines are filled): the state and age alone, without counting every column row.
 * Caller frees with dscat_status_free(). */
int dscat_status_get_state(dscat_status **out, const dscat_config *cfg, dscat_error *err);
void dscat_status_free(dscat_status *s);
/* "OK", "STALE", "NOT BUILT" (json: "NOT_BUILT"). Static string. */
const char *dscat_catalog_state_name(dscat_catalog_state s, bool json);

/*
 * Finds the project root (SPEC §6.3): `explicit_root` when given, else the working directory or
 * up to 3 parents. Returns DSCAT_ENOTFOUND when there is none. Caller frees *out.
 */
int dscat_project_find(char **out, const char *explicit_root, dscat_error *err);

/*
 * Writes a snapshot into <root>/artifacts/catalog/ (SPEC §6.3): snapshot_YYYYMMDD[_HHMMSS[-N]]/
 * with metadata.parquet and scan_info.json, the summary beside it, and the `latest` link (to
 * the newest snapshot). The snapshot is written into a hidden directory of base and renamed to
 * its name whole at the end; on failure nothing of it is left (the directory is removed). `target`
 * limits it to one target (NULL: all). *dir_out (may be NULL) receives the snapshot directory,
 * which the caller frees with dscat_free(); *tables and *columns (may be NULL) the counts. st is
 * borrowed.
 */
int dscat_snapshot_write(dscat_store *st, const char *catalog_dir, const char *root,
                         const char *target, char **dir_out, long *tables, long *columns,
                         dscat_error *err);

/*
 * Orders two snapshot directory names (snapshot_YYYYMMDD, snapshot_YYYYMMDD_HHMMSS,
 * snapshot_YYYYMMDD_HHMMSS-N) as they were made: by their stem, then by the number of their -N
 * suffix as a number (-9 before -10), a name without one first; ties, and names of no such form,
 * by their bytes. Negative, 0 or positive, as strcmp. Every listing of snapshots and the choice
 * of the latest one use it.
 */
int dscat_snapshot_name_cmp(const char *a, const char *b);

/* Creates the demo shop database (SQLite) at path. */
int dscat_demo_create(const char *path, dscat_error *err);
/* The `type` of the demo database's target in targets.toml. Static string. */
const char *dscat_demo_source_type(void);

/* ---- schedules (targets.toml's refresh_every, run by dscat serve) ---------------------------- */

/* One schedule and its last run. */
typedef struct dscat_schedule {
    char *kind;           /* "schema" or "data" */
    char *target;         /* the target's key; for "data", the connection id too */
    char *schema, *table; /* the cached table; NULL for a schema refresh */
    int every;            /* seconds */
    /* A data refresh: "full" or "append" (targets.toml's mode), its key column (NULL for full)
     * and full_every in seconds (0: none). NULL, NULL, 0 for a schema refresh. */
    const char *mode;
    char *append_key;
    int full_every;
    /* The last run, from the store: DSCAT_STATUS_NEVER when the schedule never ran. */
    int64_t last_started_us, last_finished_us;
    char *result; /* "ok" or "failed"; NULL when never run */
    char *error;  /* the last failure's message, or NULL */
    int failures; /* consecutive failed runs */
    /* A run under way in some process (it claimed it in the store) since then;
     * DSCAT_STATUS_NEVER when none. A claim holds while its process lives: on the same machine
     * a claim whose process is gone holds no more, from another machine one its process has not
     * renewed (every quarter of the lease) within the lease. */
    int64_t running_since_us;
    /* A run under way: when its claim lapses unless its process renews it; DSCAT_STATUS_NEVER
     * when none. */
    int64_t claim_lapses_us;
    /* When it runs next: a period after the last run, plus a jitter (up to a tenth of the
     * period and at most a minute, the same in every process); after a failure a backoff from
     * 5 s, doubling, never past the period. A schedule that never ran runs when dscat serve
     * starts (plus up to 5 s): next_run_us is then computed from serve_started_us, or
     * DSCAT_STATUS_NEVER when that is 0. */
    int64_t next_run_us;
} dscat_schedule;

/* The lease of a schedule run's claim, in seconds: a claim not renewed for this long is taken
 * for that of a process (or a machine) gone. The environment variable DSCAT_SCHEDULE_LEASE_S
 * (a positive number of seconds) overrides it; every process sharing a store must agree. */
#define DSCAT_SCHEDULE_LEASE_S 120

typedef struct dscat_schedule_list {
    dscat_schedule *items; /* schema refreshes in target order, then each target's tables */
    size_t count;
} dscat_schedule_list;

/*
 * Every schedule of the configuration with its last run (a store not built yet: none ran).
 * serve_started_us: when the running dscat serve started, or 0. Caller frees with
 * dscat_schedule_list_free().
 */
int dscat_schedules(dscat_schedule_list *out, const dscat_config *cfg, int64_t serve_started_us,
                    dscat_error *err);
void dscat_schedule_list_free(dscat_schedule_list *l);
/* What one run of a schedule did. */
typedef struct dscat_schedule_outcome {
    bool skipped; /* another process claimed this run (or ran it since it was read): not run */
    bool joined;  /* a data refresh that joined one already running: its result, not a new run */
    bool ok;
    int64_t rows, bytes; /* written by a data refresh (0 for one that joined another) */
    /* A data refresh: what ran, "full" or "append" (an append entry runs full when full_every
     * asks, or on the table's first refresh); NULL for a schema refresh or none. Static. */
    const char *refresh_kind;
    bool unchanged;    /* an append that found no new row: no version published */
    dscat_error error; /* when not ok */
} dscat_schedule_outcome;

/*
 * Claims one schedule's run in the store, so that no other process runs it too (skipped when
 * one did), runs it now (a schema refresh of its target, or a full data refresh of its table:
 * one already running elsewhere is joined, not repeated; an append entry's run is an append
 * refresh, full_every honoured) and records the run in the store. The refresh's failure is the
 * run's outcome, not an error: returns an error only when the run could not be recorded.
 */
int dscat_schedule_run(dscat_schedule_outcome *out, const dscat_config *cfg,
                       const dscat_schedule *s, dscat_error *err);
/*
 * Releases every claim of a schedule run this process holds, so that another process may run
 * them at once: for a process that stops while a run is under way (the run, should it end
 * after all, still records its result unless another run was recorded meanwhile). Thread-safe.
 */
int dscat_schedule_release_claims(const dscat_config *cfg, dscat_error *err);

#endif
