/*
 * Storage backends of the data cache: one table of operations, shaped like SQLite's VFS table
 * or libgit2's odb backends, implemented on a local directory (fs.c) and on S3 (s3.c). The cache
 * (src/cache/) only ever talks to this table and never asks which backend it has.
 *
 * Keys. Everything under the cache root is named by a key relative to it, "/"-separated, never
 * starting with "/" ("conn/schema/table/version/data.parquet"). A prefix that stands for a
 * directory ends in "/". The cache stores full paths (dscat_storage_path(): the root, "/", the
 * key); dscat_storage_key() gives a path's key back, or NULL for a path outside the root.
 *
 * Selection. dscat_storage_open() picks the backend from the root: "s3://..." is S3, anything
 * else a local directory. A backend is a static const dscat_storage_backend; its open() returns
 * an object whose first member is a struct dscat_storage (the common part) pointing back at it.
 *
 * The operations (every one returns 0 or a negative DSCAT_E* code and fills err, unless it says
 * otherwise; a storage object belongs to one thread at a time; keys are borrowed):
 *
 *   open(out, root, settings, err)  Parses and remembers the root; nothing is touched yet. The
 *       caller closes *out with dscat_storage_close(). settings are borrowed for the object's life.
 *   close(s)                        Frees s; NULL does nothing.
 *   check(s, err)                   One cheap round trip before work starts (S3: credentials,
 *       endpoint, bucket); a local root has nothing to check.
 *   lock_path(s, key, create, out, err)  The local file a writer of the directory `key` takes an
 *       exclusive flock() on (a local root: <root>/<key>/.lock; S3: a local directory mirroring
 *       the keys). create makes its directories (mode 0700). Caller frees *out with dscat_free().
 *   stage(s, key, out, err)         A local path to write the object `key` to before put(); its
 *       directory exists (0700) and is a real directory, never a symlink. Nothing is created at
 *       the path itself. Caller frees *out with dscat_free(); a staged file never published is
 *       the caller's to unlink.
 *   put(s, staged, key, warning, wsize, err)  Publishes the staged file as `key` (local: fsync,
 *       rename into place, fsync of the directory; S3: an upload, multipart when large, retried).
 *       Takes the staged file: it is gone afterwards, whatever the result. warning (wsize bytes,
 *       always written, "" for none) receives a cleanup that failed without failing the put.
 *   put_empty(s, key, err)          Creates `key` as an empty object (the version markers): a
 *       local file is created exclusively (O_EXCL, mode 0600).
 *   copy(s, from, to, err)          Makes `to` an object with the bytes of `from`, inside the
 *       storage and without reading them here: a local root makes a hard link (the file lives
 *       while either name does; never through a symlink), S3 a server-side CopyObject. `to` must
 *       not exist yet. Versions stay immutable: deleting the prefix that holds `from` later
 *       never touches `to` (an append refresh builds its version from the previous one's files
 *       this way).
 *   get(s, key, path, err)          Copies `key` into the local file path, whole or not at all.
 *   read_path(s, key, out, err)     The local file DuckDB reads for `key`: the file itself on a
 *       local root; on S3 a copy in the bounded read cache, downloaded when missing (objects
 *       never change: a copy is never stale). Caller frees *out with dscat_free().
 *   list(s, prefix, out, n, err)    Every key under prefix ("" for the whole root), sorted, with
 *       size and modification time. A local root also lists its directories (key ending in "/",
 *       the directory's own mtime), never follows or lists a symlink and skips directories whose
 *       name starts with "."; S3 lists objects only. Caller frees with
 *       dscat_storage_entries_free().
 *   delete_prefix(s, prefix, err)   Deletes every key under prefix, which must end in "/": whole
 *       path segments only. A local root refuses a path through a symlink and deletes nothing
 *       through one; a prefix already gone is success.
 *   sweep_staging(s, older_than_us, note, payload)  Removes staged files that killed writers
 *       left (older than older_than_us and their process gone); note(message, payload) is called
 *       for each. May be NULL (nothing is ever left).
 */
#ifndef DSCAT_STORAGE_STORAGE_H
#define DSCAT_STORAGE_STORAGE_H

#include "dscat/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSCAT_STORAGE_VERSION 2 /* 2: copy */

/* flags of a backend */
#define DSCAT_STORAGE_REMOTE 0x1u /* read_path() downloads: read only the keys a query needs */

typedef struct dscat_storage dscat_storage;

typedef struct dscat_storage_entry {
    char *key; /* relative to the root; a local directory's ends in "/" */
    int64_t size, modified_us;
} dscat_storage_entry;

typedef void (*dscat_storage_note_fn)(const char *message, void *payload);

typedef struct dscat_storage_backend {
    int version; /* DSCAT_STORAGE_VERSION */
    const char *name;
    unsigned flags;
    bool (*handles)(const char *root);
    int (*open)(dscat_storage **out, const char *root, const dscat_settings *settings,
                dscat_error *err);
    void (*close)(dscat_storage *s);
    int (*check)(dscat_storage *s, dscat_error *err);
    int (*lock_path)(dscat_storage *s, const char *key, bool create, char **out, dscat_error *err);
    int (*stage)(dscat_storage *s, const char *key, char **out, dscat_error *err);
    int (*put)(dscat_storage *s, const char *staged, const char *key, char *warning, size_t wsize,
               dscat_error *err);
    int (*put_empty)(dscat_storage *s, const char *key, dscat_error *err);
    int (*copy)(dscat_storage *s, const char *from, const char *to, dscat_error *err);
    int (*get)(dscat_storage *s, const char *key, const char *path, dscat_error *err);
    int (*read_path)(dscat_storage *s, const char *key, char **out, dscat_error *err);
    int (*list)(dscat_storage *s, const char *prefix, dscat_storage_entry **out, size_t *n,
                dscat_error *err);
    int (*delete_prefix)(dscat_storage *s, const char *prefix, dscat_error *err);
    void (*sweep_staging)(dscat_storage *s, int64_t older_than_us, dscat_storage_note_fn note,
                          void *payload);
} dscat_storage_backend;

/* The common part of every storage object: a backend's object starts with it. */
struct dscat_storage {
    const dscat_storage_backend *backend;
    char *root; /* as configured, without trailing "/" */
};

extern const dscat_storage_backend dscat_storage_fs;
extern const dscat_storage_backend dscat_storage_s3;

/* The selection point: opens the backend that handles root. Caller closes *out. */
int dscat_storage_open(dscat_storage **out, const char *root, const dscat_settings *settings,
                       dscat_error *err);
void dscat_storage_close(dscat_storage *s);

/* The root as stored in paths (trailing "/" removed). Borrowed: valid until close. */
const char *dscat_storage_root(const dscat_storage *s);
/* True when the backend has flag (DSCAT_STORAGE_REMOTE...). */
bool dscat_storage_has(const dscat_storage *s, unsigned flag);
/* The full path of key: root "/" key. Caller frees with dscat_free(); NULL when out of memory. */
char *dscat_storage_path(const dscat_storage *s, const char *key);
/* The key of a full path of this root (borrowed: a pointer into path), or NULL when path does not
 * lie inside the root as a whole path segment. */
const char *dscat_storage_key(const dscat_storage *s, const char *path);

/* The operations of the table above, through the object's backend. */
int dscat_storage_check(dscat_storage *s, dscat_error *err);
int dscat_storage_lock_path(dscat_storage *s, const char *key, bool create, char **out,
                            dscat_error *err);
int dscat_storage_stage(dscat_storage *s, const char *key, char **out, dscat_error *err);
int dscat_storage_put(dscat_storage *s, const char *staged, const char *key, char *warning,
                      size_t wsize, dscat_error *err);
int dscat_storage_put_empty(dscat_storage *s, const char *key, dscat_error *err);
int dscat_storage_copy(dscat_storage *s, const char *from, const char *to, dscat_error *err);
int dscat_storage_get(dscat_storage *s, const char *key, const char *path, dscat_error *err);
int dscat_storage_read_path(dscat_storage *s, const char *key, char **out, dscat_error *err);
int dscat_storage_list(dscat_storage *s, const char *prefix, dscat_storage_entry **out, size_t *n,
                       dscat_error *err);
void dscat_storage_entries_free(dscat_storage_entry *e, size_t n);
int dscat_storage_delete_prefix(dscat_storage *s, const char *prefix, dscat_error *err);
void dscat_storage_sweep_staging(dscat_storage *s, int64_t older_than_us,
                                 dscat_storage_note_fn note, void *payload);

/*
 * A name as one path segment: injective, never "." or ".." or holding "/" (bytes but
 * [A-Za-z0-9_-] as %XX; a long one cut and followed by "~" and its SHA-256). Caller frees with
 * dscat_free(); NULL when out of memory.
 */
char *dscat_storage_encode(const char *name);

/* Shared by the backends (storage.c). */
/* mkdir -p with mode 0700: every missing directory of path; 0, or -1 with errno. */
int dscat_storage__mkdirs(const char *path);

#endif
