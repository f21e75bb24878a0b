/*
 * DuckDB, configured the one way dscat uses it: in memory, extensions never installed or loaded
 * automatically and their directory inside the build, so nothing reaches for the network or
 * writes to ~/.duckdb. One dscat_duck per thread.
 */
#ifndef DSCAT_CORE_DUCK_H
#define DSCAT_CORE_DUCK_H

#include "core/buf.h"
#include "dscat/common.h"

#include "core/duck_api.h"
#include <stdint.h>

typedef struct dscat_duck dscat_duck;

/* Opens an in-memory database and a connection. Caller closes with dscat_duck_close(). */
int dscat_duck_open(dscat_duck **out, dscat_error *err);
/* The same with a memory limit in bytes (0: DuckDB's default) and no temporary files. */
int dscat_duck_open_bounded(dscat_duck **out, int64_t memory_bytes, dscat_error *err);
void dscat_duck_close(dscat_duck *d);
/* The connection. Borrowed: valid until dscat_duck_close(). */
duckdb_connection dscat_duck_connection(dscat_duck *d);
/* Runs a statement and discards its result. */
int dscat_duck_exec(dscat_duck *d, const char *sql, dscat_error *err);
/* Appends s as a single-quoted SQL string literal. */
int dscat_duck_quote_literal(dscat_buf *b, const char *s);

#endif
