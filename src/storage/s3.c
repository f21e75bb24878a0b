/*
 * The storage table on S3 (storage.h), over the client of s3_client.c.
 *
 * A root s3://bucket[/prefix] holds key k at the object "<prefix>/k". What has to be local lives
 * in one local directory (DSCAT_S3_LOCAL_DIR, else ${XDG_CACHE_HOME:-~/.cache}/dscat-s3):
 * locks/ (the writers' lock files, mirroring the keys), staging/ (files written before their
 * upload, named "<name>-<pid>" so that those of killed writers can be swept) and read/ (the
 * bounded read cache of downloaded objects, least recently used evicted first).
 *
 * The client is opened on first use: an object that only reads cached copies needs no
 * credentials, as before.
 */
#include "storage/storage.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/timeutil.h"
#include "storage/s3_client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

typedef struct s3_storage {
    dscat_storage base;
    const dscat_settings *settings;
    char *objects;    /* "<prefix>/" of the keys in the bucket, or "" */
    dscat_s3 *client; /* NULL until first needed */
} s3_storage;

static bool s3_handles(const char *root)
{
    return strncmp(root, "s3://", 5) == 0;
}

static int s3_open(dscat_storage **out, const char *root, const dscat_settings *settings,
                   dscat_error *err)
{
    s3_storage *s = dscat_calloc(1, sizeof(*s));
    size_t n = strlen(root);
    while (n > 5 && root[n - 1] == '/')
        n--;
    const char *slash = n > 5 ? memchr(root + 5, '/', n - 5) : NULL;
    dscat_buf objects = DSCAT_BUF_INIT;
    if (slash)
        dscat_buf_printf(&objects, "%.*s/", (int)(n - (size_t)(slash + 1 - root)), slash + 1);
    else
        dscat_buf_puts(&objects, "");
    if (s == NULL || (s->base.root = dscat_strndup(root, n)) == NULL ||
        (s->objects = dscat_buf_detach(&objects)) == NULL) {
        if (s)
            dscat_free(s->base.root);
        dscat_buf_free(&objects);
        dscat_free(s);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    s->base.backend = &dscat_storage_s3;
    s->settings = settings;
    *out = &s->base;
    return 0;
}

static void s3_close(dscat_storage *base)
{
    s3_storage *s = (s3_storage *)base;
    dscat_s3_close(s->client);
    dscat_free(s->objects);
    dscat_free(s->base.root);
    dscat_free(s);
}

/* The client, opened on first use (the root and the credentials are checked then). */
static dscat_s3 *client(s3_storage *s, dscat_error *err)
{
    if (s->client == NULL && dscat_s3_open(&s->client, s->base.root, s->settings, err))
        return NULL;
    return s->client;
}

/* The object key of key. Caller frees. */
static char *object_key(const s3_storage *s, const char *key)
{
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_buf_printf(&b, "%s%s", s->objects, key);
    return dscat_buf_detach(&b);
}

/*
 * Where the local files of an S3 root live: DSCAT_S3_LOCAL_DIR, else
 * ${XDG_CACHE_HOME:-~/.cache}/dscat-s3, and sub below it. Caller frees.
 */
static char *local_dir(const char *sub)
{
    dscat_buf b = DSCAT_BUF_INIT;
    const char *dir = getenv("DSCAT_S3_LOCAL_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    if (dir && *dir)
        dscat_buf_puts(&b, dir);
    else if (xdg && *xdg)
        dscat_buf_printf(&b, "%s/dscat-s3", xdg);
    else
        dscat_buf_printf(&b, "%s/.cache/dscat-s3", getenv("HOME") ? getenv("HOME") : "/tmp");
    dscat_buf_printf(&b, "/%s", sub);
    return dscat_buf_detach(&b);
}

static int s3_check(dscat_storage *base, dscat_error *err)
{
    dscat_s3 *c = client((s3_storage *)base, err);
    return c ? dscat_s3_check(c, err) : err->code;
}

static int s3_lock_path(dscat_storage *base, const char *key, bool create, char **out,
                        dscat_error *err)
{
    (void)base;
    *out = NULL;
    char *locks = local_dir("locks");
    dscat_buf dir = DSCAT_BUF_INIT, b = DSCAT_BUF_INIT;
    size_t n = strlen(key);
    while (n > 0 && key[n - 1] == '/')
        n--;
    int rc = 0;
    if (locks == NULL || dscat_buf_printf(&dir, "%s/%.*s", locks, (int)n, key) ||
        dscat_buf_printf(&b, "%s/.lock", dscat_buf_cstr(&dir)))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else if (create && dscat_storage__mkdirs(dscat_buf_cstr(&dir)))
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dscat_buf_cstr(&dir),
                             strerror(errno));
    dscat_free(locks);
    dscat_buf_free(&dir);
    if (rc) {
        dscat_buf_free(&b);
        return rc;
    }
    *out = dscat_buf_detach(&b);
    return 0;
}

/* A staging path for key: "<staging>/<last directory>-<base name>-<pid>". Caller frees. */
static int staging_path(const char *key, char **out, dscat_error *err)
{
    *out = NULL;
    char *staging = local_dir("staging");
    const char *base = strrchr(key, '/');
    const char *parent = base ? base - 1 : NULL;
    while (parent && parent > key && parent[-1] != '/')
        parent--;
    dscat_buf b = DSCAT_BUF_INIT;
    if (staging == NULL ||
        dscat_buf_printf(&b, "%s/%.*s%s%s-%ld", staging, parent ? (int)(base - parent) : 0,
                         parent ? parent : "", parent ? "-" : "", base ? base + 1 : key,
                         (long)getpid())) {
        dscat_free(staging);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    if (dscat_storage__mkdirs(staging)) {
        int rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", staging, strerror(errno));
        dscat_free(staging);
        dscat_buf_free(&b);
        return rc;
    }
    dscat_free(staging);
    *out = dscat_buf_detach(&b);
    return 0;
}

static int s3_stage(dscat_storage *base, const char *key, char **out, dscat_error *err)
{
    (void)base;
    return staging_path(key, out, err);
}

static int s3_put(dscat_storage *base, const char *staged, const char *key, char *warning,
                  size_t wsize, dscat_error *err)
{
    s3_storage *s = (s3_storage *)base;
    if (wsize)
        warning[0] = '\0';
    char *object = object_key(s, key);
    dscat_s3 *c = object ? client(s, err) : NULL;
    int rc = object == NULL ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
             : c == NULL    ? err->code
                            : dscat_s3_put_file(c, object, staged, warning, wsize, err);
    unlink(staged);
    dscat_free(object);
    return rc;
}

static int s3_put_empty(dscat_storage *base, const char *key, dscat_error *err)
{
    char *path = NULL;
    char warning[600];
    int rc = staging_path(key, &path, err);
    if (rc)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", path, strerror(errno));
    else
        close(fd);
    if (rc == 0)
        rc = s3_put(base, path, key, warning, sizeof(warning), err);
    unlink(path);
    dscat_free(path);
    return rc;
}

/* CopyObject within the bucket: the bytes never come here. */
static int s3_copy(dscat_storage *base, const char *from, const char *to, dscat_error *err)
{
    s3_storage *s = (s3_storage *)base;
    char *a = object_key(s, from), *b = object_key(s, to);
    dscat_s3 *c = a && b ? client(s, err) : NULL;
    int rc = a == NULL || b == NULL ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
             : c == NULL            ? err->code
                                    : dscat_s3_copy(c, a, b, err);
    dscat_free(a);
    dscat_free(b);
    return rc;
}

static int s3_get(dscat_storage *base, const char *key, const char *path, dscat_error *err)
{
    s3_storage *s = (s3_storage *)base;
    char *object = object_key(s, key);
    dscat_s3 *c = object ? client(s, err) : NULL;
    int rc = object == NULL ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
             : c == NULL    ? err->code
                            : dscat_s3_get_file(c, object, path, err);
    dscat_free(object);
    return rc;
}

/* ---- the read cache ------------------------------------------------------------------------- */

/* The read cache's bound in bytes: DSCAT_READ_CACHE_MB, default 2048. */
static int64_t read_cache_bound(void)
{
    const char *v = getenv("DSCAT_READ_CACHE_MB");
    long long mb = dscat_text_ll_or(v, 1, INT32_MAX, 0);
    return (mb > 0 ? mb : 2048) * 1024 * 1024;
}

typedef struct cached_file {
    char *path;
    int64_t size;
    time_t used;
} cached_file;

static int by_use(const void *a, const void *b)
{
    const cached_file *x = a, *y = b;
    return x->used < y->used ? -1 : x->used > y->used;
}

/*
 * Calls fn with the path and stat of every entry of dir but the dot entries; lstat, symlinks
 * skipped; nothing when dir cannot be read.
 */
static void each_entry(const char *dir,
                       void (*fn)(const char *path, const char *name, const struct stat *sb,
                                  void *payload),
                       void *payload)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        dscat_buf p = DSCAT_BUF_INIT;
        struct stat sb;
        if (dscat_buf_printf(&p, "%s/%s", dir, e->d_name) == 0 &&
            lstat(dscat_buf_cstr(&p), &sb) == 0 && !S_ISLNK(sb.st_mode))
            fn(dscat_buf_cstr(&p), e->d_name, &sb, payload);
        dscat_buf_free(&p);
    }
    if (d)
        closedir(d);
}

typedef struct file_list {
    cached_file *items;
    size_t count;
    int64_t total;
} file_list;

static void add_copy(const char *path, const char *name, const struct stat *sb, void *payload)
{
    file_list *l = payload;
    if (strstr(name, ".tmp")) /* a download in progress */
        return;
    cached_file *g = dscat_realloc(l->items, (l->count + 1) * sizeof(*g));
    if (g == NULL)
        return;
    l->items = g;
    g[l->count] = (cached_file){dscat_strdup(path), (int64_t)sb->st_size, sb->st_mtime};
    if (g[l->count].path) {
        l->total += (int64_t)sb->st_size;
        l->count++;
    }
}

/* Evicts the least recently used copies until the read cache fits its bound; keep stays. */
static void evict(const char *dir, const char *keep)
{
    file_list l = {NULL, 0, 0};
    each_entry(dir, add_copy, &l);
    if (l.count > 1)
        qsort(l.items, l.count, sizeof(*l.items), by_use);
    int64_t bound = read_cache_bound();
    for (size_t i = 0; i < l.count; i++) {
        if (l.total > bound && strcmp(l.items[i].path, keep) != 0 && unlink(l.items[i].path) == 0)
            l.total -= l.items[i].size;
        dscat_free(l.items[i].path);
    }
    dscat_free(l.items);
}

static int s3_read_path(dscat_storage *base, const char *key, char **out, dscat_error *err)
{
    *out = NULL;
    /* Objects never change, so a copy named after the object's path is never stale. */
    char *dir = local_dir("read");
    char *path = dscat_storage_path(base, key);
    char *name = path ? dscat_storage_encode(path) : NULL;
    dscat_buf b = DSCAT_BUF_INIT;
    if (dir == NULL || name == NULL || dscat_buf_printf(&b, "%s/%s", dir, name) ||
        dscat_storage__mkdirs(dir)) {
        /* a path that could not be built is out of memory, never a read cache problem */
        int rc = dir == NULL || name == NULL || dscat_buf_error(&b)
                     ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                     : dscat_error_set(err, DSCAT_EIO, "cannot prepare the S3 read cache for %s",
                                       path ? path : key);
        dscat_free(dir);
        dscat_free(name);
        dscat_free(path);
        dscat_buf_free(&b);
        return rc;
    }
    int rc = 0;
    if (utime(dscat_buf_cstr(&b), NULL) != 0) { /* not there yet (else: marked as used now) */
        dscat_buf tmp = DSCAT_BUF_INIT;
        if (dscat_buf_printf(&tmp, "%s.%ld.tmp", dscat_buf_cstr(&b), (long)getpid()))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        else if ((rc = s3_get(base, key, dscat_buf_cstr(&tmp), err)) == 0 &&
                 rename(dscat_buf_cstr(&tmp), dscat_buf_cstr(&b)) != 0)
            rc = dscat_error_set(err, DSCAT_EIO, "cannot keep the download of %s: %s", path,
                                 strerror(errno));
        if (dscat_buf_error(&tmp) == 0)
            unlink(dscat_buf_cstr(&tmp));
        dscat_buf_free(&tmp);
    }
    if (rc == 0)
        evict(dir, dscat_buf_cstr(&b));
    dscat_free(dir);
    dscat_free(name);
    dscat_free(path);
    if (rc) {
        dscat_buf_free(&b);
        return rc;
    }
    *out = dscat_buf_detach(&b);
    return 0;
}

/* ---- listing, deleting ---------------------------------------------------------------------- */

static int s3_list(dscat_storage *base, const char *prefix, dscat_storage_entry **out, size_t *n,
                   dscat_error *err)
{
    s3_storage *s = (s3_storage *)base;
    *out = NULL;
    *n = 0;
    char *object = object_key(s, prefix);
    dscat_s3 *c = object ? client(s, err) : NULL;
    dscat_s3_object *o = NULL;
    size_t no = 0;
    int rc = object == NULL ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
             : c == NULL    ? err->code
                            : dscat_s3_list(c, object, &o, &no, err);
    dscat_free(object);
    if (rc)
        return rc;
    size_t skip = strlen(s->objects);
    dscat_storage_entry *e = dscat_calloc(no + 1, sizeof(*e));
    for (size_t i = 0; e && i < no; i++) {
        /* the listing's keys are the object keys: the root's prefix comes off */
        char *k = strncmp(o[i].key, s->objects, skip) == 0 ? dscat_strdup(o[i].key + skip) : NULL;
        if (k == NULL && strncmp(o[i].key, s->objects, skip) == 0) {
            dscat_storage_entries_free(e, *n);
            e = NULL;
            break;
        }
        if (k)
            e[(*n)++] = (dscat_storage_entry){k, o[i].size, o[i].modified_us};
    }
    dscat_s3_objects_free(o, no);
    if (e == NULL) {
        *n = 0;
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    *out = e;
    return 0;
}

static int s3_delete_prefix(dscat_storage *base, const char *prefix, dscat_error *err)
{
    s3_storage *s = (s3_storage *)base;
    char *object = object_key(s, prefix);
    dscat_s3 *c = object ? client(s, err) : NULL;
    int rc = object == NULL ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
             : c == NULL    ? err->code
                            : dscat_s3_delete_prefix(c, object, err);
    dscat_free(object);
    return rc;
}

typedef struct sweep {
    int64_t older_than_us;
    dscat_storage_note_fn note;
    void *payload;
} sweep;

/*
 * A staging file a killed writer left behind (named <name>-<pid>): removed once older than the
 * bound and its process is gone.
 */
static void remove_if_stale(const char *path, const char *name, const struct stat *sb,
                            void *payload)
{
    sweep *w = payload;
    const char *dash = strrchr(name, '-');
    long long pid = 0;
    const char *stop;
    if (dash && dscat_text_to_ll(&pid, dash + 1, &stop, 1, INT32_MAX) != 0)
        pid = 0;
    if (dash && dscat_now_us() - (int64_t)sb->st_mtime * 1000000 >= w->older_than_us &&
        (pid <= 0 || kill((pid_t)pid, 0) != 0) && unlink(path) == 0 && w->note) {
        dscat_buf m = DSCAT_BUF_INIT;
        if (dscat_buf_printf(&m, "removed %s, left by an interrupted refresh", path) == 0)
            w->note(dscat_buf_cstr(&m), w->payload);
        dscat_buf_free(&m);
    }
}

static void s3_sweep_staging(dscat_storage *base, int64_t older_than_us, dscat_storage_note_fn note,
                             void *payload)
{
    (void)base;
    sweep w = {older_than_us, note, payload};
    char *dir = local_dir("staging");
    each_entry(dir, remove_if_stale, &w);
    dscat_free(dir);
}

const dscat_storage_backend dscat_storage_s3 = {
    .version = DSCAT_STORAGE_VERSION,
    .name = "s3",
    .flags = DSCAT_STORAGE_REMOTE,
    .handles = s3_handles,
    .open = s3_open,
    .close = s3_close,
    .check = s3_check,
    .lock_path = s3_lock_path,
    .stage = s3_stage,
    .put = s3_put,
    .put_empty = s3_put_empty,
    .copy = s3_copy,
    .get = s3_get,
    .read_path = s3_read_path,
    .list = s3_list,
    .delete_prefix = s3_delete_prefix,
    .sweep_staging = s3_sweep_staging,
};
