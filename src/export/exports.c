/*
 * The exports as a set, and project snapshots (SPEC §1, §6.3).
 */
#include "catalog/search_index.h"
#include "export/ahead.h"
#include "store/store.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/testhooks.h"
#include "core/timeutil.h"
#include "core/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Test hook (test build only): DSCAT_TEST_CRASH_AT=<stage> kills the process there. */
static void test_crash(const char *stage)
{
    dscat_test__crash_at(stage);
}

static char *join(const char *dir, const char *name)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&b, "%s/%s", dir, name))
        return NULL;
    return dscat_buf_detach(&b);
}

/*
 * An export written on a thread of its own, through its own read-only store connection, in one
 * read transaction whose fingerprint it notes: the caller compares it with its own snapshot's
 * and writes the export again from that when they differ.
 */
typedef struct export_job {
    const char *catalog_dir;
    const char *path;
    int (*write)(dscat_store *st, const struct export_job *job, dscat_error *err);
    char fingerprint[1024]; /* of the snapshot the export was written from */
    int64_t generation;     /* that snapshot's */
    dscat_error err;
    int rc;
    pthread_t thread;
    bool threaded;
} export_job;

static int write_parquet(dscat_store *st, const export_job *job, dscat_error *err)
{
    return dscat_export_parquet(st, job->path, NULL, err);
}

static int write_search(dscat_store *st, const export_job *job, dscat_error *err)
{
    return dscat_search__write(st, job->catalog_dir, err);
}

static void *export_thread(void *arg)
{
    export_job *job = arg;
    dscat_store *st = NULL;
    job->rc = dscat_store_open(&st, job->catalog_dir, DSCAT_STORE_READ, &job->err);
    if (job->rc == 0 && (job->rc = dscat_store__read_begin(st, &job->err)) == 0) {
        job->generation = dscat_store__generation(st);
        job->rc =
            dscat_store__fingerprint(st, job->fingerprint, sizeof(job->fingerprint), &job->err);
        if (job->rc == 0)
            job->rc = job->write(st, job, &job->err);
        dscat_store__read_end(st);
    }
    dscat_store_close(st);
    return NULL;
}

/* Starts job on its thread (or, failing that, runs it here). */
static void job_start(export_job *job)
{
    job->threaded = pthread_create(&job->thread, NULL, export_thread, job) == 0;
    if (!job->threaded)
        export_thread(job);
}

/*
 * Waits for job, then writes its export again from st's snapshot when the job's snapshot was
 * another. rc is the caller's result so far: an error there is kept, and nothing is redone.
 */
static int job_finish(export_job *job, dscat_store *st, const char *fingerprint, int rc,
                      dscat_error *err)
{
    if (job->threaded)
        pthread_join(job->thread, NULL);
    job->threaded = false;
    if (rc)
        return rc;
    if (job->rc) {
        if (err)
            *err = job->err;
        return job->rc;
    }
    bool same = strcmp(job->fingerprint, fingerprint) == 0 &&
                job->generation == dscat_store__generation(st);
    return same ? 0 : job->write(st, job, err);
}

/*
 * The three exports and search.idx (the persisted search index) are one unit with the store:
 * written under <catalog>/.exports.lock (one exporter at a time, across processes), each stamped
 * with the store generation it was made from, and the store records that generation once all
 * four are in place. A refresh killed
 * between its store commit and that record leaves a difference the next command sees and
 * repairs (dscat_exports_repair).
 */
static int exports_lock(const char *catalog_dir)
{
    char *path = join(catalog_dir, ".exports.lock");
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    dscat_free(path);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/*
 * The Parquet file is written on a second thread while this one writes last_scan.json and the
 * summary, each through its own connection. The three must describe one catalog: this thread
 * reads in one read transaction, and when the other thread's snapshot turns out to be a
 * different one (a refresh committed between the two starts), the Parquet file is written again
 * from this thread's snapshot.
 */
int dscat_export_all(dscat_store *st, const char *catalog_dir, dscat_error *err)
{
    return dscat_export__all_ahead(st, catalog_dir, NULL, err);
}

int dscat_export__all_ahead(dscat_store *st, const char *catalog_dir, dscat_export_ahead *ahead,
                            dscat_error *err)
{
    char *parquet = join(catalog_dir, "metadata.parquet");
    char *json = join(catalog_dir, "last_scan.json");
    char *md = join(catalog_dir, "DATA_CATALOG_SUMMARY.md");
    export_job pq = {.catalog_dir = catalog_dir, .path = parquet, .write = write_parquet};
    export_job idx = {.catalog_dir = catalog_dir, .write = write_search};
    char fingerprint[sizeof(pq.fingerprint)];
    bool reading = false, written_ahead = false;
    char *ahead_tmp = NULL;
    int rc = 0;
    int lock = exports_lock(catalog_dir);
    int64_t generation = 0;
    if (!parquet || !json || !md) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    dscat_atomic_remove_stale(catalog_dir);
    if ((rc = dscat_store__read_begin(st, err)))
        goto done;
    reading = true;
    generation = dscat_store__generation(st); /* of the snapshot the exports are made from */
    if ((rc = dscat_store__fingerprint(st, fingerprint, sizeof(fingerprint), err)))
        goto done;
    /* The search index on a thread, and the Parquet file on another unless the refresh wrote it
     * ahead, while this one writes last_scan.json and the summary. */
    job_start(&idx);
    if (ahead == NULL)
        job_start(&pq);
    if ((rc = dscat_export_last_scan(st, json, err)) == 0)
        rc = dscat_export_summary(st, md, NULL, err);
    rc = job_finish(&idx, st, fingerprint, rc, err);
    if (ahead == NULL) {
        rc = job_finish(&pq, st, fingerprint, rc, err);
    } else if (dscat_export__ahead_take(ahead, st, fingerprint, &ahead_tmp) && rc == 0) {
        test_crash("parquet_ahead_taken");
        /* renamed into place; should that fail (the file gone meanwhile), written here */
        written_ahead = dscat_atomic_commit(ahead_tmp, parquet, NULL) == 0;
        if (!written_ahead)
            rc = dscat_export_parquet(st, parquet, NULL, err);
    } else if (rc == 0) {
        rc = dscat_export_parquet(st, parquet, NULL, err);
    }
    test_crash("exports_written");
done:
    if (reading)
        dscat_store__read_end(st);
    /* Recorded only while the store is still at that generation: a refresh that committed
     * meanwhile writes (and records) its own exports. */
    if (rc == 0 && dscat_store__generation(st) == generation)
        rc = dscat_store__set_exports_generation(st, generation, err);
    if (lock >= 0)
        close(lock);
    if (ahead_tmp && !written_ahead)
        unlink(ahead_tmp);
    dscat_free(ahead_tmp);
    dscat_export__ahead_free(ahead);
    dscat_free(parquet);
    dscat_free(json);
    dscat_free(md);
    return rc;
}

int dscat_exports_state(const char *catalog_dir, int64_t *generation, int64_t *exported,
                        dscat_error *err)
{
    dscat_store *st = NULL;
    *generation = *exported = 0;
    int rc = dscat_store_open(&st, catalog_dir, DSCAT_STORE_READ, err);
    if (rc == DSCAT_ENOTFOUND) {
        dscat_error_clear(err);
        return 0; /* no store: nothing to be in step with */
    }
    if (rc)
        return rc;
    *generation = dscat_store__generation(st);
    *exported = dscat_store__exports_generation(st);
    dscat_store_close(st);
    return 0;
}

int dscat_exports_repair(const char *catalog_dir, bool *repaired, dscat_error *err)
{
    int64_t generation, exported;
    *repaired = false;
    int rc = dscat_exports_state(catalog_dir, &generation, &exported, err);
    if (rc || generation == 0)
        return rc;
    /* An export removed by hand is behind the store too. */
    bool present = dscat_exports_present(catalog_dir);
    if (generation == exported && present) {
        /* In step; a refresh killed before its store commit may have left the Parquet file it
         * was writing ahead of it. */
        if (access(catalog_dir, W_OK) == 0)
            dscat_atomic_remove_stale(catalog_dir);
        return 0;
    }
    if (access(catalog_dir, W_OK) != 0)
        return present ? dscat_error_set(err, DSCAT_ECONFLICT,
                                         "the exports are behind the store (scan %lld, exported "
                                         "%lld) and %s cannot be written",
                                         (long long)generation, (long long)exported, catalog_dir)
                       : dscat_error_set(err, DSCAT_ECONFLICT,
                                         "an export of %s is missing and the directory cannot be "
                                         "written",
                                         catalog_dir);
    dscat_store *st = NULL;
    if ((rc = dscat_store_open(&st, catalog_dir, DSCAT_STORE_WRITE, err)))
        return rc;
    /* Under the lock, another exporter may have finished meanwhile. */
    int lock = exports_lock(catalog_dir);
    bool behind = dscat_store__generation(st) != dscat_store__exports_generation(st) ||
                  !dscat_exports_present(catalog_dir);
    if (lock >= 0)
        close(lock);
    if (behind) {
        rc = dscat_export_all(st, catalog_dir, err);
        *repaired = rc == 0;
    }
    dscat_store_close(st);
    return rc;
}

static bool exists(const char *dir, const char *rel, bool want_dir)
{
    char *p = join(dir, rel);
    struct stat sb;
    bool ok = p && stat(p, &sb) == 0 && (want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
    dscat_free(p);
    return ok;
}

/* A project root holds configs/project.toml, or src/ beside .claude/settings.json or artifacts/. */
static bool is_project(const char *dir)
{
    return exists(dir, "configs/project.toml", false) ||
           (exists(dir, "src", true) &&
            (exists(dir, ".claude/settings.json", false) || exists(dir, "artifacts", true)));
}

int dscat_project_find(char **out, const char *explicit_root, dscat_error *err)
{
    *out = NULL;
    char buf[PATH_MAX];
    if (explicit_root) {
        if (realpath(explicit_root, buf) == NULL)
            return dscat_error_set(err, DSCAT_ENOTFOUND, "project %s: %s", explicit_root,
                                   strerror(errno));
        *out = dscat_strdup(buf);
        return *out ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    if (getcwd(buf, sizeof(buf)) == NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "cannot read the working directory");
    for (int up = 0; up <= 3; up++) {
        if (is_project(buf)) {
            *out = dscat_strdup(buf);
            return *out ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
        char *slash = strrchr(buf, '/');
        if (slash == NULL || slash == buf)
            break;
        *slash = '\0';
    }
    return dscat_error_set(err, DSCAT_ENOTFOUND, "could not detect project root");
}

static int mkdirs(const char *path, dscat_error *err)
{
    char *copy = dscat_strdup(path);
    if (copy == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(copy, 0755);
        *p = '/';
    }
    int rc = 0;
    if (mkdir(copy, 0755) != 0 && errno != EEXIST)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", copy, strerror(errno));
    dscat_free(copy);
    return rc;
}

static int copy_file(const char *from, const char *to, dscat_error *err)
{
    FILE *f = fopen(from, "rb");
    if (f == NULL)
        return errno == ENOENT ? 0 : dscat_error_set(err, DSCAT_EIO, "cannot read %s", from);
    dscat_buf b = DSCAT_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        dscat_buf_put(&b, chunk, n);
    int rc = ferror(f)
                 ? dscat_error_set(err, DSCAT_EIO, "cannot read %s: %s", from, strerror(errno))
                 : 0;
    fclose(f);
    if (rc) {
        dscat_buf_free(&b);
        return rc;
    }
    rc = dscat_buf_check(&b, err, from);
    if (rc == 0)
        rc = dscat_atomic_write(to, dscat_buf_cstr(&b), b.len, err);
    dscat_buf_free(&b);
    return rc;
}

/* Counts tables and columns of the catalog (or one target). */
static void counts(dscat_store *st, const char *target, long *tables, long *columns)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(&s, st,
                            "SELECT count(DISTINCT t.id), count(*) FROM " DSCAT_CURRENT_TABLES
                            " t JOIN columns c ON c.set_id = t.column_set "
                            "WHERE ?1 IS NULL OR t.target = ?1",
                            NULL))
        return;
    if (target)
        dscat_stmt__bind_text(s, 1, target);
    if (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        if (tables)
            *tables = (long)dscat_stmt__int64(s, 0);
        if (columns)
            *columns = (long)dscat_stmt__int64(s, 1);
    }
    dscat_stmt__finalize(s);
}

/*
 * The parts of a snapshot directory's name that order it: the stem (snapshot_YYYYMMDD or
 * snapshot_YYYYMMDD_HHMMSS) and the number of its -N suffix (1 without one: the first of its
 * stem). *stem_len is the stem's length in bytes.
 */
static void snapshot_name_parts(const char *name, size_t *stem_len, unsigned long long *n)
{
    size_t len = strlen(name);
    const char *dash = strrchr(name, '-');
    *stem_len = len;
    *n = 1;
    if (dash == NULL || dash[1] == '\0' || dash[1] == '0' || strlen(dash + 1) > 18)
        return;
    unsigned long long v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return;
        v = v * 10 + (unsigned long long)(*p - '0');
    }
    *stem_len = (size_t)(dash - name);
    *n = v;
}

int dscat_snapshot_name_cmp(const char *a, const char *b)
{
    size_t la, lb;
    unsigned long long na, nb;
    snapshot_name_parts(a, &la, &na);
    snapshot_name_parts(b, &lb, &nb);
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c == 0 && la != lb)
        c = la < lb ? -1 : 1;
    if (c == 0 && na != nb)
        c = na < nb ? -1 : 1;
    return c ? c : strcmp(a, b);
}

/* Whether two snapshot names have the same stem (made in the same second). */
static bool same_stem(const char *a, const char *b)
{
    size_t la, lb;
    unsigned long long na, nb;
    snapshot_name_parts(a, &la, &na);
    snapshot_name_parts(b, &lb, &nb);
    return la == lb && memcmp(a, b, la) == 0;
}

/*
 * Points <dir>/latest at `name` (relative), the snapshot just made, replacing the old link
 * atomically; but when latest already points at a newer snapshot of the same second (-10 after
 * -9: one another process named after this one and linked first), it stays there, so that
 * snapshots finishing out of order never leave latest on the older one. Names of different
 * seconds are not compared: local time may go back (a clock change), the one just made is then
 * still the latest.
 */
static int relink(const char *dir, const char *name, dscat_error *err)
{
    char *link = join(dir, "latest");
    char now[256];
    ssize_t n = link ? readlink(link, now, sizeof(now) - 1) : -1;
    if (n > 0) {
        now[n] = '\0';
        if (same_stem(now, name) && dscat_snapshot_name_cmp(now, name) > 0) {
            dscat_free(link);
            return 0;
        }
    }
    char *tmp = link ? dscat_atomic_tmp_name(link) : NULL;
    int rc = 0;
    if (tmp == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else if (unlink(tmp), symlink(name, tmp) != 0 || rename(tmp, link) != 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot update %s: %s", link, strerror(errno));
    dscat_free(tmp);
    dscat_free(link);
    return rc;
}

/* Removes a snapshot's directory and the files in it (a snapshot holds files only). */
static void remove_snapshot_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *f = join(path, e->d_name);
        if (f)
            unlink(f);
        dscat_free(f);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

/* The hidden directory a snapshot is written into: TMP_PREFIX<pid>-XXXXXX in base. */
#define TMP_PREFIX ".snapshot-tmp-"

/*
 * Removes the hidden directories of snapshots whose process is gone (killed while writing one):
 * their pid is in their name. One of a live process, this one's included, is left alone.
 */
static void remove_abandoned(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    size_t plen = strlen(TMP_PREFIX);
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, TMP_PREFIX, plen) != 0)
            continue;
        long long pid = 0;
        const char *p = e->d_name + plen;
        for (; *p >= '0' && *p <= '9' && pid < INT_MAX; p++)
            pid = pid * 10 + (*p - '0');
        if (*p != '-' || pid <= 0 || pid >= INT_MAX || (pid_t)pid == getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *path = join(base, e->d_name);
        if (path)
            remove_snapshot_dir(path);
        dscat_free(path);
    }
    if (d)
        closedir(d);
}

/* Attempts at a snapshot name before giving up: far more than snapshots in one second. */
#define SNAPSHOT_NAME_TRIES 1000

/*
 * Moves the finished snapshot at tmp to its name under base, and sets *dir to its path and name
 * (size bytes) to its name: snapshot_YYYYMMDD (local date), snapshot_YYYYMMDD_HHMMSS when that
 * exists, then snapshot_YYYYMMDD_HHMMSS-2, -3, ... (dscat_snapshot_name_cmp orders them, -10
 * after -9). Each name is taken by mkdir, which fails with EEXIST when the directory exists, so
 * that no two snapshots (of this process or another, a manual one and a refresh's) ever share a
 * directory, even in the same second; the rename then replaces that empty directory with the
 * whole snapshot at once. Fills err on failure (tmp is then still there).
 */
static int name_snapshot_dir(dscat_buf *dir, char *name, size_t size, const char *base,
                             const char *tmp, dscat_error *err)
{
    int64_t now = dscat_now_us();
    char stamp[64];
    dscat_format_local(now, "snapshot_%Y%m%d_%H%M%S", stamp, sizeof(stamp));
    for (int n = 0; n <= SNAPSHOT_NAME_TRIES; n++) {
        if (n == 0)
            dscat_format_local(now, "snapshot_%Y%m%d", name, size);
        else if (n == 1)
            snprintf(name, size, "%s", stamp);
        else
            snprintf(name, size, "%s-%d", stamp, n);
        dscat_buf_reset(dir);
        if (dscat_buf_printf(dir, "%s/%s", base, name))
            return dscat_buf_check(dir, err, "the snapshot's path");
        if (mkdir(dscat_buf_cstr(dir), 0755) == 0) {
            if (rename(tmp, dscat_buf_cstr(dir)) == 0)
                return 0;
            int e = errno;
            rmdir(dscat_buf_cstr(dir));
            return dscat_error_set(err, DSCAT_EIO, "cannot move %s to %s: %s", tmp,
                                   dscat_buf_cstr(dir), strerror(e));
        }
        if (errno != EEXIST)
            return dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dscat_buf_cstr(dir),
                                   strerror(errno));
    }
    return dscat_error_set(err, DSCAT_ECONFLICT,
                           "cannot name a new snapshot in %s: %s-2 to -%d "
                           "exist",
                           base, stamp, SNAPSHOT_NAME_TRIES);
}

/* The summary's name, beside the snapshots. */
#define SUMMARY_NAME "DATA_CATALOG_SUMMARY.md"

int dscat_snapshot_write(dscat_store *st, const char *catalog_dir, const char *root,
                         const char *target, char **dir_out, long *tables, long *columns,
                         dscat_error *err)
{
    char *base = join(root, "artifacts/catalog");
    dscat_buf dir = DSCAT_BUF_INIT;
    char *tmp = NULL, *parquet = NULL, *info = NULL, *scan = NULL, *md = NULL, *md_tmp = NULL;
    bool named = false;
    int rc;
    if (base == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = mkdirs(base, err)))
        goto done;
    /* Everything is written into a hidden directory of its own first (never listed: its name
     * does not start with snapshot_), which becomes the snapshot whole, or is removed; one a
     * killed process left is removed by the next snapshot. */
    remove_abandoned(base);
    char hidden[64];
    snprintf(hidden, sizeof(hidden), TMP_PREFIX "%ld-XXXXXX", (long)getpid());
    tmp = join(base, hidden);
    if (tmp == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (mkdtemp(tmp) == NULL) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create a directory in %s: %s", base,
                             strerror(errno));
        tmp[0] = '\0';
        goto done;
    }
    parquet = join(tmp, "metadata.parquet");
    info = join(tmp, "scan_info.json");
    md_tmp = join(tmp, SUMMARY_NAME);
    scan = join(catalog_dir, "last_scan.json");
    md = join(base, SUMMARY_NAME);
    if (!parquet || !info || !scan || !md || !md_tmp) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    /* The snapshot's Parquet file, summary and counts from one snapshot of the store. */
    if ((rc = dscat_store__read_begin(st, err)))
        goto done;
    if ((rc = dscat_export_parquet(st, parquet, target, err)) == 0 &&
        (rc = copy_file(scan, info, err)) == 0 &&
        (rc = dscat_export_summary(st, md_tmp, target, err)) == 0)
        counts(st, target, tables, columns);
    dscat_store__read_end(st);
    test_crash("snapshot_written");
    char name[80];
    if (rc || (rc = name_snapshot_dir(&dir, name, sizeof(name), base, tmp, err)))
        goto done;
    named = true;
    /* The summary goes beside the snapshots, replacing the last one's at once. */
    dscat_free(md_tmp);
    if ((md_tmp = join(dscat_buf_cstr(&dir), SUMMARY_NAME)) == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (rename(md_tmp, md) != 0) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", md, strerror(errno));
        goto done;
    }
    if ((rc = relink(base, name, err)))
        goto done;
    if (dir_out && (*dir_out = dscat_buf_detach(&dir)) == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    /* A failed snapshot leaves no directory behind: neither the hidden one nor its name. */
    if (rc && named)
        remove_snapshot_dir(dscat_buf_cstr(&dir));
    else if (rc && tmp && tmp[0])
        remove_snapshot_dir(tmp);
    dscat_buf_free(&dir);
    dscat_free(base);
    dscat_free(tmp);
    dscat_free(parquet);
    dscat_free(info);
    dscat_free(scan);
    dscat_free(md);
    dscat_free(md_tmp);
    return rc;
}
