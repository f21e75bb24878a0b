/*
 * Atomic file replacement: write to "<path>.<pid>.tmp" in the same directory, fsync, rename over
 * path, fsync the directory. A reader sees the old file or the new one, never a torn one.
 */
#ifndef DSCAT_EXPORT_ATOMIC_H
#define DSCAT_EXPORT_ATOMIC_H

#include "dscat/common.h"

#include <stddef.h>

/* The temporary name for path. Caller frees with dscat_free(). */
char *dscat_atomic_tmp_name(const char *path);
/* Writes len bytes to path atomically. */
int dscat_atomic_write(const char *path, const char *data, size_t len, dscat_error *err);
/* Fsyncs tmp and renames it over path (and fsyncs the directory). Removes tmp on failure. */
int dscat_atomic_commit(const char *tmp, const char *path, dscat_error *err);

#endif
