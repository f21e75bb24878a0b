/*
 * One handle on a catalog for every front end (CLI, HTTP, MCP), in the spirit of libgit2's
 * git_repository: dscat_catalog_open() loads the configuration once, every question reads the
 * store through the handle, and the in-memory search index is loaded once and reloaded only when
 * the store's generation (or the annotations) changed. Then one function per question, so that
 * every front end answers it the same way, and one renderer (JSON text) for their results.
 *
 * Threads: a dscat_catalog may be shared by several threads (the HTTP server does): each question
 * opens a store connection of its own for its duration (a SQLite connection belongs to one
 * thread), and searches run on a shared, reference-counted index. Results belong to the caller
 * and are used by one thread at a time.
 *
 * No vendor type crosses this header: JSON comes back as text.
 */
#ifndef DSCAT_API_H
#define DSCAT_API_H

#include "dscat/cache.h"
#include "dscat/catalog.h"
#include "dscat/common.h"
#include "dscat/config.h"
#include "dscat/find.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dscat_catalog dscat_catalog;

/* dscat_catalog_open flags. */
/* Load <catalog_dir>/.env into the environment first. */
#define DSCAT_CATALOG_DOTENV 1u
/*
 * No configuration: targets.toml is not read (it may be missing or broken) and
 * dscat_catalog_config() is NULL. Only the questions answered from the catalog directory, the
 * store and the annotations may be asked: dscat_catalog_ready(), _search(), _table(), _joins(),
 * _diff(), _annotations() and _annotate(); the others need a handle with a configuration.
 */
#define DSCAT_CATALOG_NO_CONFIG 2u

/*
 * Opens the catalog in catalog_dir, or in the default directory (DSCAT_HOME, ...) when NULL:
 * loads targets.toml (and .env with DSCAT_CATALOG_DOTENV). A store that is not built yet is not
 * an error here: the questions that need it answer DSCAT_ENOTFOUND ("the catalog is not built
 * yet: " and the advice of dscat_catalog_set_advice()). Caller closes *out with
 * dscat_catalog_close().
 */
int dscat_catalog_open(dscat_catalog **out, const char *catalog_dir, unsigned flags,
                       dscat_error *err);
/* Frees the index (searches' results keep their own reference) and the configuration. NULL does
 * nothing. */
void dscat_catalog_close(dscat_catalog *cat);

/*
 * The advice that follows "the catalog is not built yet: " in the DSCAT_ENOTFOUND of a store not
 * built yet: "run 'dscat refresh' first" unless set (NULL restores it). Each front end names its
 * own way to build the catalog (the HTTP API: "run a schema refresh first", POST /refresh).
 * advice is borrowed (static text); set it before other threads use the handle.
 */
void dscat_catalog_set_advice(dscat_catalog *cat, const char *advice);

/*
 * Checks that the store can be opened: 0, or DSCAT_ENOTFOUND ("the catalog is not built yet: " and
 * the advice) or another error. Every question checks this itself; this lets a front
 * end tell a missing catalog apart before it asks (and before it warns about a stale one).
 */
int dscat_catalog_ready(dscat_catalog *cat, dscat_error *err);

/* The loaded configuration (NULL with DSCAT_CATALOG_NO_CONFIG). Borrowed: valid until
 * dscat_catalog_close(). */
const dscat_config *dscat_catalog_config(const dscat_catalog *cat);
/* The catalog directory. Borrowed: valid until dscat_catalog_close(). */
const char *dscat_catalog_path(const dscat_catalog *cat);

/* ---- search ------------------------------------------------------------------------------- */

/* The annotations of one hit's table, oldest first (pointers into the dscat_hits). */
typedef struct dscat_hit_notes {
    const dscat_annotation *const *items;
    size_t count;
} dscat_hit_notes;

typedef struct dscat_hits {
    const dscat_search_hit *items; /* best first */
    size_t count;
    size_t searched;              /* column rows considered */
    const dscat_hit_notes *notes; /* notes[i]: annotations of items[i]'s table */
    struct dscat_hits_owner *owner_;
} dscat_hits;

/*
 * Searches the catalog (SPEC §8), each hit with its table's annotations attached. The index is
 * reloaded first when the store's generation or the annotations changed. Caller frees *out with
 * dscat_hits_free(); it stays valid across reloads and dscat_catalog_close().
 */
int dscat_catalog_search(dscat_hits **out, dscat_catalog *cat, const dscat_search_options *opts,
                         dscat_error *err);
void dscat_hits_free(dscat_hits *h);

/* ---- one table, join paths, differences, annotations -------------------------------------- */

/*
 * dscat_table_lookup on the catalog's store: see include/dscat/find.h for names and errors.
 * Caller frees both with dscat_catalog_table_free(). Thread-safe, as
 * every question below.
 */
int dscat_catalog_table(dscat_table_detail **out, dscat_name_candidates *candidates,
                        dscat_catalog *cat, const char *name, dscat_error *err);
/* Whether a current table has this name (as dscat_catalog_table reads it): 1, also when several
 * have; 0 when none has; -1 when the catalog cannot tell (no store yet, an error). */
int dscat_catalog_table_known(dscat_catalog *cat, const char *name);
/* dscat_join_paths_get on the catalog's store. Caller frees with dscat_catalog_joins_free(). */
int dscat_catalog_joins(dscat_join_paths *out, dscat_catalog *cat, const char *table,
                        dscat_error *err);
/* dscat_diff_get on the catalog's store. Caller frees with dscat_catalog_diff_free(). */
int dscat_catalog_diff(dscat_diff *out, dscat_catalog *cat, const char *target, int64_t from,
                       int64_t to, dscat_error *err);
/* Every annotation (table NULL) or one table's. Caller frees with
 * dscat_catalog_annotations_free(). */
int dscat_catalog_annotations(dscat_annotation_list *out, dscat_catalog *cat, const char *table,
                              dscat_error *err);
/* Adds an annotation (dscat_annotation_add). Caller frees *created with
 * dscat_catalog_annotation_clear() and *file with dscat_string_free(). */
int dscat_catalog_annotate(dscat_annotation *created, char **file, dscat_catalog *cat,
                           const char *table, const char *type, const char *content,
                           dscat_error *err);

/* ---- status and snapshots ----------------------------------------------------------------- */

/* SPEC §6.2 status (state_only: the state and its reasons only, cheaper). Caller frees *out with
 * dscat_catalog_status_free(). */
int dscat_catalog_status(dscat_status **out, dscat_catalog *cat, bool state_only, dscat_error *err);

/*
 * Writes a project snapshot of the catalog (dscat_snapshot_write) under root; target NULL = all.
 * An unknown target is DSCAT_ENOTFOUND "No data found for target 'x'". Caller frees *dir_out with
 * dscat_string_free().
 */
int dscat_catalog_snapshot(char **dir_out, long *tables, long *columns, dscat_catalog *cat,
                           const char *root, const char *target, dscat_error *err);

typedef struct dscat_snapshot_info {
    char *name;           /* snapshot_YYYYMMDD */
    bool has_metadata;    /* metadata.parquet could be read */
    long tables, columns; /* counted in metadata.parquet */
} dscat_snapshot_info;

typedef struct dscat_snapshot_list {
    dscat_snapshot_info *items; /* by name */
    size_t count;
} dscat_snapshot_list;

/* The snapshots in <root>/artifacts/catalog. Needs no catalog. Caller frees with
 * dscat_snapshot_list_free(). */
int dscat_snapshots_list(dscat_snapshot_list *out, const char *root, dscat_error *err);
void dscat_snapshot_list_free(dscat_snapshot_list *l);

/* ---- the data cache ----------------------------------------------------------------------- */

/* dscat_cache_list on the catalog's configuration. Caller frees with
 * dscat_catalog_cache_list_free(). */
int dscat_catalog_cache_list(dscat_cache_listing *out, dscat_catalog *cat,
                             const char *connection_id, dscat_error *err);
/* SQL over the cache (dscat_cache_query). Caller frees with dscat_catalog_query_free(). */
int dscat_catalog_query(dscat_query_result *out, dscat_catalog *cat, const char *sql,
                        size_t max_rows, dscat_error *err);

/* ---- releasing the questions' results ----------------------------------------------------- */

/* Each frees what the question of the same name returned; NULL (or a zeroed result) does
 * nothing. */
void dscat_catalog_status_free(dscat_status *s);
void dscat_catalog_table_free(dscat_table_detail *d, dscat_name_candidates *candidates);
void dscat_catalog_joins_free(dscat_join_paths *j);
void dscat_catalog_diff_free(dscat_diff *d);
void dscat_catalog_annotations_free(dscat_annotation_list *l);
/* Frees what dscat_catalog_annotate() filled in *created. */
void dscat_catalog_annotation_clear(dscat_annotation *a);
void dscat_catalog_cache_list_free(dscat_cache_listing *l);
void dscat_catalog_query_free(dscat_query_result *r);

/* "OK", "STALE", "NOT BUILT" (json: "NOT_BUILT"). Static text. */
const char *dscat_catalog_state_text(dscat_catalog_state s, bool json);
/* "ok", "partial", "failed". Static text. */
const char *dscat_catalog_scan_status_text(dscat_scan_status s);

/* ---- connections (SPEC §0) and the jobs, on the catalog's configuration -------------------- */
/* None of these may be asked of a DSCAT_CATALOG_NO_CONFIG catalog. */

/* The configured target called key, or NULL. Borrowed: valid until dscat_catalog_close(). */
const dscat_target_config *dscat_catalog_target(const dscat_catalog *cat, const char *key);
/*
 * dscat_connection_resolve on the catalog's configuration: *target is borrowed (valid until
 * dscat_catalog_close()), the caller frees *database with dscat_string_free().
 */
int dscat_catalog_resolve(const dscat_target_config **target, char **database, dscat_catalog *cat,
                          const char *connection_id, dscat_error *err);
/* dscat_connections_list (only: one id, or NULL). Caller frees with
 * dscat_catalog_connections_free(). */
int dscat_catalog_connections(dscat_connection_list *out, dscat_catalog *cat, const char *only,
                              dscat_error *err);
void dscat_catalog_connections_free(dscat_connection_list *l);
/* dscat_information_schema: JSON text the caller frees with dscat_string_free(). */
int dscat_catalog_information_schema(char **out, dscat_catalog *cat, const char *only,
                                     dscat_error *err);

/* A schema refresh (dscat_refresh: SPEC §4) of the configured targets. Caller frees *out with
 * dscat_catalog_refresh_free(). */
int dscat_catalog_refresh(dscat_refresh_report **out, dscat_catalog *cat,
                          const dscat_refresh_options *opts, dscat_error *err);
void dscat_catalog_refresh_free(dscat_refresh_report *r);
/* A schema refresh of connections (dscat_schema_refresh: SPEC §11.1 rows 6 and 7). Caller frees
 * *out with dscat_catalog_schema_refresh_free(). */
int dscat_catalog_schema_refresh(dscat_schema_refresh_result *out, dscat_catalog *cat,
                                 const char *connection_id, dscat_error *err);
void dscat_catalog_schema_refresh_free(dscat_schema_refresh_result *r);
/* A data refresh (dscat_cache_refresh_progress; progress may be NULL). *out may be set on an
 * error too: the caller frees it with dscat_catalog_data_refresh_free() whatever this returns. */
int dscat_catalog_data_refresh(dscat_cache_report **out, dscat_catalog *cat,
                               const char *connection_id, const char *schema, const char *table,
                               bool include_uncached, dscat_cache_progress_fn progress,
                               void *payload, dscat_error *err);
/* A data refresh with options (dscat_cache_refresh_with: an append refresh of one table by a
 * key column; opts NULL: a full refresh). Freed as dscat_catalog_data_refresh's. */
int dscat_catalog_data_refresh_with(dscat_cache_report **out, dscat_catalog *cat,
                                    const char *connection_id, const char *schema,
                                    const char *table, const dscat_cache_refresh_opts *opts,
                                    dscat_error *err);
void dscat_catalog_data_refresh_free(dscat_cache_report *r);
/* dscat_cache_purge: removes one table's (or a connection's) cache pointers now. */
int dscat_catalog_purge(dscat_catalog *cat, const char *connection_id, const char *schema,
                        const char *table, size_t *purged, dscat_error *err);
/* dscat_forget_target on the catalog's configuration: a target out of targets.toml removed from
 * the store. */
int dscat_catalog_forget_target(dscat_catalog *cat, const char *key, dscat_forget_report *out,
                                dscat_error *err);
/* dscat_cache_maintain: the due deletions and orphans. Caller frees *warnings with
 * dscat_catalog_warnings_free() whatever this returns. */
int dscat_catalog_maintain(dscat_catalog *cat, dscat_warnings *warnings, dscat_error *err);
void dscat_catalog_warnings_free(dscat_warnings *w);
/* dscat_schedules on the catalog's configuration (serve_started_us: when dscat serve started,
 * or 0). Caller frees with dscat_catalog_schedule_list_free(). */
int dscat_catalog_schedules(dscat_schedule_list *out, dscat_catalog *cat, int64_t serve_started_us,
                            dscat_error *err);
void dscat_catalog_schedule_list_free(dscat_schedule_list *l);
/* dscat_schedule_run on the catalog's configuration: one schedule, now, recorded. */
int dscat_catalog_schedule_run(dscat_schedule_outcome *out, dscat_catalog *cat,
                               const dscat_schedule *s, dscat_error *err);
/* dscat_schedule_release_claims on the catalog's configuration: for a stopping dscat serve that
 * leaves a scheduled run under way. */
int dscat_catalog_schedule_release(dscat_catalog *cat, dscat_error *err);

/* ---- without a handle ----------------------------------------------------------------------- */

/* Process-wide initialisation (dscat_global_init): once from main, before threads. */
int dscat_catalog_global_init(dscat_error *err);
/* Undoes dscat_catalog_global_init(). */
void dscat_catalog_global_shutdown(void);
/* The default catalog directory (DSCAT_HOME, ...). Caller frees *out with dscat_string_free(). */
int dscat_catalog_default_dir(char **out, dscat_error *err);
/*
 * Regenerates the exports of the catalog in catalog_dir (NULL: the default directory) when they
 * are behind its store (dscat_exports_repair); *repaired tells whether it did.
 */
int dscat_catalog_repair_exports(const char *catalog_dir, bool *repaired, dscat_error *err);
/*
 * `dscat store`: describes the store of catalog_dir (NULL: the default directory); with migrate,
 * creates it or brings it to this dscat's version first (dscat_store_describe).
 */
int dscat_catalog_store_describe(dscat_store_info *out, const char *catalog_dir, bool migrate,
                                 dscat_error *err);
/* The example targets of `dscat help targets`. Caller frees *out with dscat_string_free(). */
int dscat_catalog_example_targets(char **out, dscat_error *err);
/* Creates the demo shop database (SQLite) at db_path and prepares the catalog directory
 * catalog_dir (mode 0700, .gitignore). */
int dscat_catalog_demo_create(const char *db_path, const char *catalog_dir, dscat_error *err);
/* The `type` of the demo database's target in targets.toml. Static string. */
const char *dscat_catalog_demo_source_type(void);
/* The project root (dscat_project_find: SPEC §6.3). Caller frees *out with dscat_string_free(). */
int dscat_catalog_project_find(char **out, const char *explicit_root, dscat_error *err);

/* ---- the one renderer (JSON text) --------------------------------------------------------- */

/* Rendering flags: JSON text as the CLI prints it (indented, keys in order) or compact. */
#define DSCAT_JSON_PRETTY 1u

/*
 * Each returns JSON text that the caller frees with dscat_string_free(), or NULL when out of
 * memory. The shapes are those of SPEC §6.2, §8 and §11, the same for every front end.
 */
char *dscat_json_status(const dscat_status *s, unsigned flags);
/* {"schedules": [...]}: GET /schedule and `dscat schedule --json`. */
char *dscat_json_schedules(const dscat_schedule_list *l, unsigned flags);
/* The hits as a JSON array (by_table: with matching_columns). */
char *dscat_json_hits(const dscat_hits *h, bool by_table, unsigned flags);
char *dscat_json_diff(const dscat_diff *d, unsigned flags);
/* A query's rows, one object per row ({column: text or null}): `dscat query --format json`. */
char *dscat_json_query_rows(const dscat_query_result *r, unsigned flags);
/* A data refresh: connection_id, tables_refreshed, tables_failed, total_rows, duration_ms,
 * tables, warnings (the report's, then `more`, which may be NULL). */
char *dscat_json_cache_report(const dscat_cache_report *rep, const char *connection_id,
                              const dscat_warnings *more, unsigned flags);
/* The cached tables (with connection_id and path), pending_deletions and warnings (w may be
 * NULL). */
char *dscat_json_cache_listing(const dscat_cache_listing *l, const dscat_warnings *w,
                               unsigned flags);
/* A schema refresh's report: run_id, written, targets (status, counts, problems, error per
 * target), catalog_dir, snapshot: `dscat refresh --json`. */
char *dscat_json_refresh_report(const dscat_refresh_report *r, const char *catalog_dir,
                                unsigned flags);
/* The configured targets: key, name, type, databases, and for each credential variable its name
 * and whether it is set (never its value): `dscat targets --json`. */
char *dscat_json_targets(const dscat_config *cfg, unsigned flags);
void dscat_string_free(char *s);

/* ---- text helpers for front ends ---------------------------------------------------------- */

/* An ISO 8601 UTC time ("2026-01-02T03:04:05Z") of us into out (size bytes). */
void dscat_time_utc(int64_t us, char *out, size_t size);
/* A local time of us in strftime's fmt into out (size bytes). */
void dscat_time_local(int64_t us, const char *fmt, char *out, size_t size);
/*
 * The n parts (NULL ones left out) joined by "." as one qualified name, parts holding a dot, a
 * quote or white space in double quotes (db.schema.table[.column]). Caller frees with
 * dscat_string_free(); NULL when out of memory.
 */
char *dscat_text_qualified_name(const char *const *parts, size_t n);
/* s[0..len) as literal Markdown text (every syntax character escaped). Caller frees with
 * dscat_string_free(); NULL when out of memory. */
char *dscat_text_markdown(const char *s, size_t len);
/*
 * s[0..len) as plain text safe to print on a terminal: every control character (C0 including
 * tab and line breaks, DEL, C1) and every byte that is not valid UTF-8 written visibly ("\x1b",
 * "\u009b"), the rest as it is. Caller frees with dscat_string_free(); NULL when out of memory.
 */
char *dscat_text_visible(const char *s, size_t len);
/* The byte length of the first `chars` characters (UTF-8) of s[0..len). */
size_t dscat_text_prefix_len(const char *s, size_t len, size_t chars);

#endif
