/*
 * metadata.parquet written ahead, from a refresh's own scans: the refresh's store write and the
 * Parquet file, the two longest steps of a refresh, then run at once on two threads.
 *
 * The file shows the current catalog (SPEC §3). Once a refresh has made its scans current (inside
 * its write transaction, before it writes their databases), that catalog is known: when every
 * current scan is one of the refresh's, its rows are the refresh's scans, and the file can be
 * written from them. dscat_export__ahead_start() checks that, notes what the store will hold
 * (its fingerprint and each target's place in the file's order) and starts the thread;
 * dscat_export__all_ahead() uses the file only when the committed store is exactly what was noted
 * (nothing committed in between), and otherwise writes it from the store as always.
 */
#ifndef DSCAT_EXPORT_AHEAD_H
#define DSCAT_EXPORT_AHEAD_H

#include "core/model.h"
#include "dscat/catalog.h"

#include <stddef.h>
#include <stdint.h>

/* One target's new scan: its key, its server name (the target's `name`), the scan's id in the
 * store, its databases. All borrowed until the writer is freed. */
typedef struct dscat_export_scan {
    const char *target, *server;
    int64_t scan_id;
    dscat_db_scan *const *databases;
    size_t ndatabases;
} dscat_export_scan;

typedef struct dscat_export_ahead dscat_export_ahead;
typedef struct dscat_export_warmup dscat_export_warmup;

/*
 * Starts loading DuckDB and opening the in-memory database the file will be written through, on
 * a thread of their own: called when a refresh starts, so that they are done while the sources
 * are read, not after. Sets *out to NULL when no thread could be started (the writer then opens
 * its own). Never fails the refresh.
 */
void dscat_export__warmup_start(dscat_export_warmup **out);
/* Waits for a warm-up and frees it, closing its database. NULL does nothing. */
void dscat_export__warmup_free(dscat_export_warmup *w);

/*
 * Called in the refresh's write transaction on st, once each scan is its target's current one
 * and before the old scans are pruned (keep_scans of each target are then kept). Sets *out to a
 * running writer of catalog_dir's metadata.parquet (to a temporary file), or to NULL when the
 * file cannot be written ahead: a current scan that is not one of these, or anything failing.
 * Takes ownership of warmup (NULL for none): the writer uses its database. Never fails the
 * refresh.
 */
void dscat_export__ahead_start(dscat_export_ahead **out, dscat_store *st, const char *catalog_dir,
                               const dscat_export_scan *scans, size_t n, int keep_scans,
                               dscat_export_warmup *warmup);
/* Stops (as soon as it can) and frees a writer, removing its file unless it was taken
 * (dscat_export__ahead_take()). NULL does nothing. */
void dscat_export__ahead_free(dscat_export_ahead *a);
/*
 * dscat_export_all(), taking the file from `ahead` (which it frees; NULL for none) when the store
 * is what dscat_export__ahead_start() noted and the file was written.
 */
int dscat_export__all_ahead(dscat_store *st, const char *catalog_dir, dscat_export_ahead *ahead,
                            dscat_error *err);

/*
 * For exports.c: waits for the writer; true, with *tmp the written file (the caller's to rename
 * or remove, and free), when the file was written and st's snapshot (of the given fingerprint)
 * is the store it was written for. a is still to be freed with dscat_export__ahead_free().
 */
bool dscat_export__ahead_take(dscat_export_ahead *a, dscat_store *st, const char *fingerprint,
                              char **tmp);

#endif
