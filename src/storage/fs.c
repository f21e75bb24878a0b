/*
 * The storage table on a local directory (storage.h). Directories are created 0700 and files
 * 0600; a staged file is written next to its key and renamed into place after an fsync, so a
 * reader never sees half a file; deletions never go through a symlink.
 */
#include "storage/storage.h"

#include "core/alloc.h"
#include "core/buf.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fs_storage {
    dscat_storage base;
} fs_storage;

static bool fs_handles(const char *root)
{
    (void)root;
    return true;
}

static int fs_open(dscat_storage **out, const char *root, const dscat_settings *settings,
                   dscat_error *err)
{
    (void)settings;
    fs_storage *s = dscat_calloc(1, sizeof(*s));
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (s == NULL || (s->base.root = dscat_strndup(root, n)) == NULL) {
        dscat_free(s);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    s->base.backend = &dscat_storage_fs;
    *out = &s->base;
    return 0;
}

static void fs_close(dscat_storage *s)
{
    dscat_free(s->root);
    dscat_free(s);
}

static int fs_check(dscat_storage *s, dscat_error *err)
{
    (void)s;
    (void)err;
    return 0;
}

/* <root>/<key> without the final "/" of a prefix. Caller frees. */
static char *full_path(const dscat_storage *s, const char *key)
{
    dscat_buf b = DSCAT_BUF_INIT;
    size_t n = strlen(key);
    while (n > 0 && key[n - 1] == '/')
        n--;
    dscat_buf_printf(&b, "%s/%.*s", s->root, (int)n, key);
    return dscat_buf_detach(&b);
}

/*
 * True when every part of path below the root is a real directory (the last one too when
 * last_too): a symlink planted in the cache would lead outside it. A part that does not exist
 * is false; ENOENT is left in errno for the caller to tell.
 */
static bool real_dirs(const dscat_storage *s, const char *path, bool last_too)
{
    size_t n = strlen(s->root);
    char *walk = dscat_strdup(path);
    bool ok = walk != NULL && strlen(walk) > n && walk[n] == '/';
    for (char *p = ok ? walk + n + 1 : NULL; p && ok;) {
        char *slash = strchr(p, '/');
        if (slash == NULL && !last_too)
            break;
        if (slash)
            *slash = '\0';
        struct stat sb;
        ok = lstat(walk, &sb) == 0 && S_ISDIR(sb.st_mode);
        if (slash == NULL)
            break;
        *slash = '/';
        p = slash + 1;
    }
    dscat_free(walk);
    return ok;
}

static int make_dirs(const dscat_storage *s, const char *dir, dscat_error *err);

static int fs_lock_path(dscat_storage *s, const char *key, bool create, char **out,
                        dscat_error *err)
{
    *out = NULL;
    char *dir = full_path(s, key);
    dscat_buf b = DSCAT_BUF_INIT;
    if (dir == NULL || dscat_buf_printf(&b, "%s/.lock", dir)) {
        dscat_free(dir);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    int rc = create ? make_dirs(s, dir, err) : 0;
    if (rc) {
        dscat_free(dir);
        dscat_buf_free(&b);
        return rc;
    }
    dscat_free(dir);
    *out = dscat_buf_detach(&b);
    return 0;
}

/*
 * Creates the directory dir (a path below the root) and its missing parents, mode 0700. A part
 * that exists must be a real directory: nothing is ever created through a symlink planted in the
 * cache. The root itself is taken as it is.
 */
static int make_dirs(const dscat_storage *s, const char *dir, dscat_error *err)
{
    size_t n = strlen(s->root);
    char *walk = dscat_strdup(dir);
    int rc = 0;
    if (walk == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (strncmp(walk, s->root, n) != 0 || walk[n] != '/') {
        dscat_free(walk);
        return dscat_error_set(err, DSCAT_EINVALID, "%s is not inside the cache root", dir);
    }
    if (dscat_storage__mkdirs(s->root))
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", s->root, strerror(errno));
    for (char *p = walk + n + 1; rc == 0 && *p;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        struct stat sb;
        if (mkdir(walk, 0700) != 0 && errno != EEXIST)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", walk, strerror(errno));
        else if (lstat(walk, &sb) != 0 || !S_ISDIR(sb.st_mode))
            rc = dscat_error_set(err, DSCAT_EIO,
                                 "cannot create %s: a part of it is not a directory of the cache "
                                 "(a symlink?)",
                                 dir);
        if (slash == NULL)
            break;
        *slash = '/';
        p = slash + 1;
    }
    dscat_free(walk);
    return rc;
}

/* Creates the directory of the file at path (see make_dirs). */
static int make_parent(const dscat_storage *s, const char *path, dscat_error *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = dscat_strndup(path, slash ? (size_t)(slash - path) : 0);
    int rc = dir ? make_dirs(s, dir, err) : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    dscat_free(dir);
    return rc;
}

static int fs_stage(dscat_storage *s, const char *key, char **out, dscat_error *err)
{
    *out = NULL;
    char *path = full_path(s, key);
    dscat_buf b = DSCAT_BUF_INIT;
    if (path == NULL || dscat_buf_printf(&b, "%s.tmp-%ld", path, (long)getpid())) {
        dscat_free(path);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    int rc = make_parent(s, path, err);
    dscat_free(path);
    if (rc) {
        dscat_buf_free(&b);
        return rc;
    }
    *out = dscat_buf_detach(&b);
    return 0;
}

/* fsync of an open file or directory; 0 or -1 with errno. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int fs_put(dscat_storage *s, const char *staged, const char *key, char *warning,
                  size_t wsize, dscat_error *err)
{
    if (wsize)
        warning[0] = '\0';
    char *path = full_path(s, key);
    int rc = 0;
    if (path == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    } else if (sync_path(staged, 0) != 0 || rename(staged, path) != 0) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot publish %s: %s", path, strerror(errno));
    } else {
        /* the rename itself is durable once the directory is synced */
        char *slash = strrchr(path, '/');
        *slash = '\0';
        if (sync_path(path, O_DIRECTORY) != 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot sync %s: %s", path, strerror(errno));
    }
    if (rc)
        unlink(staged);
    dscat_free(path);
    return rc;
}

static int fs_put_empty(dscat_storage *s, const char *key, dscat_error *err)
{
    char *path = full_path(s, key);
    if (path == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = make_parent(s, path, err);
    if (rc == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", path, strerror(errno));
        else
            close(fd);
    }
    dscat_free(path);
    return rc;
}

/*
 * A hard link: the new key names the same file, which lives until its last name goes, so
 * deleting the version that held `from` never touches `to`. Neither path may pass through a
 * symlink, and `from` must be a regular file.
 */
static int fs_copy(dscat_storage *s, const char *from, const char *to, dscat_error *err)
{
    char *src = full_path(s, from), *dst = full_path(s, to);
    int rc =
        src && dst ? make_parent(s, dst, err) : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    struct stat sb;
    if (rc == 0 && (!real_dirs(s, src, false) || lstat(src, &sb) != 0 || !S_ISREG(sb.st_mode)))
        rc = dscat_error_set(err, DSCAT_EIO, "cannot link %s: not a regular file inside %s", src,
                             s->root);
    if (rc == 0 && link(src, dst) != 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot link %s to %s: %s", src, dst, strerror(errno));
    if (rc == 0) {
        char *slash = strrchr(dst, '/');
        *slash = '\0';
        if (sync_path(dst, O_DIRECTORY) != 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot sync %s: %s", dst, strerror(errno));
    }
    dscat_free(src);
    dscat_free(dst);
    return rc;
}

static int fs_get(dscat_storage *s, const char *key, const char *path, dscat_error *err)
{
    char *from = full_path(s, key);
    if (from == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int out = in >= 0 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int rc = 0;
    if (in < 0)
        rc = dscat_error_set(err, errno == ENOENT ? DSCAT_ENOTFOUND : DSCAT_EIO,
                             "cannot read %s: %s", from, strerror(errno));
    else if (out < 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", path, strerror(errno));
    char chunk[65536];
    ssize_t got;
    while (rc == 0 && (got = read(in, chunk, sizeof(chunk))) != 0) {
        if (got < 0 || write(out, chunk, (size_t)got) != got)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot copy %s to %s: %s", from, path,
                                 strerror(errno));
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc && out >= 0)
        unlink(path);
    dscat_free(from);
    return rc;
}

static int fs_read_path(dscat_storage *s, const char *key, char **out, dscat_error *err)
{
    *out = full_path(s, key);
    return *out ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}

typedef struct listing {
    dscat_storage_entry *items;
    size_t count;
    size_t rootlen; /* of "<root>/" */
    int rc;
} listing;

static int add_entry(listing *l, const char *path, const struct stat *sb, bool dir)
{
    dscat_storage_entry *g = dscat_realloc(l->items, (l->count + 1) * sizeof(*g));
    if (g == NULL)
        return DSCAT_ENOMEM;
    l->items = g;
    dscat_buf k = DSCAT_BUF_INIT;
    dscat_buf_printf(&k, "%s%s", path + l->rootlen, dir ? "/" : "");
    g[l->count] = (dscat_storage_entry){dscat_buf_detach(&k), (int64_t)sb->st_size,
                                        (int64_t)sb->st_mtime * 1000000};
    if (g[l->count].key == NULL)
        return DSCAT_ENOMEM;
    l->count++;
    return 0;
}

/*
 * Lists dir into l, depth first: directories (not those starting with ".") and regular files;
 * lstat, so a symlink planted in the cache is neither listed nor followed. A directory that
 * cannot be read lists nothing.
 */
static void walk(listing *l, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && l->rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        dscat_buf p = DSCAT_BUF_INIT;
        struct stat sb;
        if (dscat_buf_printf(&p, "%s/%s", dir, e->d_name)) {
            l->rc = DSCAT_ENOMEM;
        } else if (lstat(dscat_buf_cstr(&p), &sb) != 0) {
            /* gone meanwhile */
        } else if (S_ISDIR(sb.st_mode) && e->d_name[0] != '.') {
            if ((l->rc = add_entry(l, dscat_buf_cstr(&p), &sb, true)) == 0)
                walk(l, dscat_buf_cstr(&p));
        } else if (S_ISREG(sb.st_mode)) {
            l->rc = add_entry(l, dscat_buf_cstr(&p), &sb, false);
        }
        dscat_buf_free(&p);
    }
    if (d)
        closedir(d);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const dscat_storage_entry *)a)->key, ((const dscat_storage_entry *)b)->key);
}

static int fs_list(dscat_storage *s, const char *prefix, dscat_storage_entry **out, size_t *n,
                   dscat_error *err)
{
    *out = NULL;
    *n = 0;
    listing l = {NULL, 0, strlen(s->root) + 1, 0};
    char *dir = *prefix ? full_path(s, prefix) : dscat_strdup(s->root);
    if (dir == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (*prefix == '\0' || real_dirs(s, dir, true))
        walk(&l, dir);
    dscat_free(dir);
    if (l.rc) {
        dscat_storage_entries_free(l.items, l.count);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    if (l.count > 1)
        qsort(l.items, l.count, sizeof(*l.items), by_key);
    *out = l.items;
    *n = l.count;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int fs_delete_prefix(dscat_storage *s, const char *prefix, dscat_error *err)
{
    char *path = full_path(s, prefix);
    struct stat sb;
    int rc = 0;
    if (path == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else if (lstat(path, &sb) != 0)
        rc = errno == ENOENT
                 ? 0
                 : dscat_error_set(err, DSCAT_EIO, "cannot delete %s: %s", path, strerror(errno));
    /* Every part below the root must be a real directory: a symlink would lead outside it. */
    else if (!real_dirs(s, path, true))
        rc = dscat_error_set(err, DSCAT_EIO,
                             "refusing to delete %s: a part of it is not a directory of the "
                             "cache (a symlink?)",
                             path);
    else if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot delete %s: %s", path, strerror(errno));
    dscat_free(path);
    return rc;
}

const dscat_storage_backend dscat_storage_fs = {
    .version = DSCAT_STORAGE_VERSION,
    .name = "fs",
    .flags = 0,
    .handles = fs_handles,
    .open = fs_open,
    .close = fs_close,
    .check = fs_check,
    .lock_path = fs_lock_path,
    .stage = fs_stage,
    .put = fs_put,
    .put_empty = fs_put_empty,
    .copy = fs_copy,
    .get = fs_get,
    .read_path = fs_read_path,
    .list = fs_list,
    .delete_prefix = fs_delete_prefix,
    .sweep_staging = NULL,
};
