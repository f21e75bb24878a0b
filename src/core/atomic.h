/*
 * Atomic file replacement: write to "<path>.<pid>.<random>.tmp" in the same directory (created
 * with O_EXCL, never through a symlink), fsync, rename over path, fsync the directory. A reader
 * sees the old file or the new one, never a torn one.
 */
#ifndef DSCAT_CORE_ATOMIC_H
#define DSCAT_CORE_ATOMIC_H

#include "dscat/common.h"

#include <stddef.h>

/* The temporary name for path. Caller frees with dscat_free(). */
char *dscat_atomic_tmp_name(const char *path);
/* Creates a new temporary file for path (O_EXCL, O_NOFOLLOW) into *fd; its name, or NULL. */
char *dscat_atomic_tmp_create(const char *path, int *fd, dscat_error *err);
/* Removes the temporary files in dir whose writing process is gone; how many. */
int dscat_atomic_remove_stale(const char *dir);
/* Writes len bytes to path atomically. */
int dscat_atomic_write(const char *path, const char *data, size_t len, dscat_error *err);
/* Fsyncs tmp and renames it over path (and fsyncs the directory). Removes tmp on failure. */
int dscat_atomic_commit(const char *tmp, const char *path, dscat_error *err);

#endif
