/*
 * Store internals shared by the catalog modules (refresh, exports, status). The public side is
 * in include/dscat/catalog.h.
 */
#ifndef DSCAT_CATALOG_STORE_H
#define DSCAT_CATALOG_STORE_H

#include "catalog/model.h"
#include "dscat/catalog.h"

#include <sqlite3.h>

/* The store's SQLite handle. Borrowed: valid until dscat_store_close(). */
sqlite3 *dscat_store__db(dscat_store *st);
int dscat_store__exec(dscat_store *st, const char *sql, dscat_error *err);
int dscat_store__prepare(dscat_store *st, sqlite3_stmt **out, const char *sql, dscat_error *err);
/*
 * The store's generation: the id of the last scan written (0 for none). Every export records the
 * generation it was made from, and the store records the generation its exports were last
 * completed at (-1: unknown); a difference means a refresh died between the two.
 */
int64_t dscat_store__generation(dscat_store *st);
int64_t dscat_store__exports_generation(dscat_store *st);
int dscat_store__set_exports_generation(dscat_store *st, int64_t generation, dscat_error *err);
/* The catalog's id (32 hex digits) into out; DSCAT_ENOTFOUND for a store not yet migrated. */
int dscat_store__catalog_id(dscat_store *st, char *out, size_t size);
/* Fills err after a failed sqlite3_step. Returns DSCAT_EIO. */
int dscat_store__step_error(dscat_store *st, dscat_error *err);

/*
 * Starts a read transaction: every statement until the matching dscat_store__read_end() sees one
 * snapshot of the store, so the current-scan pointers and the rows they point to are read as
 * one commit left them, whatever a refresh in another thread or process commits meanwhile.
 * Every read that answers one question runs inside one. Nests: inside a transaction already
 * open on this connection (an outer read, or a writer's own), it only counts. Returns 0, or
 * DSCAT_EIO with err filled. Not thread-safe: a connection belongs to one thread.
 */
int dscat_store__read_begin(dscat_store *st, dscat_error *err);
/* Ends what the matching successful dscat_store__read_begin() started. */
void dscat_store__read_end(dscat_store *st);
/*
 * What the snapshot of the current read transaction holds, as text: each target's current scan
 * and the newest scan. Two read transactions (on two connections) with equal fingerprints read
 * the same catalog. Call inside a read transaction. Returns 0 or DSCAT_EIO.
 */
int dscat_store__fingerprint(dscat_store *st, char *out, size_t size, dscat_error *err);

/* One scan row to record. */
typedef struct dscat_scan_row {
    const char *run_id;
    const dscat_target_config *target;
    const dscat_target_report *report;
    int64_t started_us, finished_us;
    bool profile;
} dscat_scan_row;

/* Inserts a scan and its problems; *scan_id receives its id. Call inside a transaction. */
int dscat_store__insert_scan(dscat_store *st, const dscat_scan_row *row, int64_t *scan_id,
                             dscat_error *err);
/* Inserts one database's tables, columns and foreign keys under scan_id. */
int dscat_store__insert_database(dscat_store *st, int64_t scan_id, dscat_db_scan *d,
                                 dscat_error *err);
/* Makes scan_id the target's current catalog. */
int dscat_store__set_current(dscat_store *st, const char *target, int64_t scan_id,
                             dscat_error *err);
/* Deletes all but the newest `keep` scans of a target (never the current one). */
int dscat_store__prune(dscat_store *st, const char *target, int keep, dscat_error *err);

/* Renders DATA_CATALOG_SUMMARY.md of the catalog (or one target). Caller frees *out. */
int dscat_summary_render(dscat_store *st, const char *target, char **out, dscat_error *err);

/* SQL for the current catalog's tables: current scan of each target. */
#define DSCAT_CURRENT_TABLES                                                                       \
    "(SELECT t.*, s.target AS target, s.server AS server FROM tables t "                           \
    "JOIN targets g ON g.current_scan_id = t.scan_id JOIN scans s ON s.id = t.scan_id)"

#endif
