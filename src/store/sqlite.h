/*
 * TRANSITIONAL. The SQLite store's own handle, for the code that still runs SQLite statements on
 * the catalog store directly: the files of src/cache/ (through catalog/store.h) and tests that
 * trace or write the store's file. New code uses the statement interface of store/store.h instead;
 * this header goes when src/cache has moved to it. Both functions require a store whose engine is
 * "sqlite" (asserted).
 */
#ifndef DSCAT_STORE_SQLITE_H
#define DSCAT_STORE_SQLITE_H

#include "store/store.h"

#include <sqlite3.h>

/* The store's SQLite handle. Borrowed: valid until dscat_store_close(). */
sqlite3 *dscat_store__db(dscat_store *st);
/* sqlite3_prepare_v2 on the store's handle; err as dscat_stmt__prepare(). Caller finalizes. */
int dscat_store__prepare(dscat_store *st, sqlite3_stmt **out, const char *sql, dscat_error *err);

#endif
