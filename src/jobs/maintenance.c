/*
 * The maintenance job: the pending deletions (due ones deleted, failures retried up to 5 times,
 * unparsable times deferred 24 h), the orphan sweep that schedules versions no store row points to,
 * purge (a table's pointers removed, its files following after the grace) and the maintenance pass
 * that runs the first two.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RETRIES 5

/*
 * Deletes a version. Its path must lie inside the cache root, as a whole path segment:
 * "<root>/a/" never touches "<root>/ab"; the storage refuses what leads outside the root.
 */
static int delete_version(dscat_storage *sto, const char *path, dscat_error *err)
{
    const char *key = dscat_storage_key(sto, path);
    size_t n = strlen(path);
    if (key == NULL || strstr(path, "/../") || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
        return dscat_error_set(err, DSCAT_EINVALID,
                               "refusing to delete %s: it is not inside the cache root %s", path,
                               dscat_storage_root(sto));
    dscat_buf prefix = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&prefix, "%s/", key))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = dscat_storage_delete_prefix(sto, dscat_buf_cstr(&prefix), err);
    dscat_buf_free(&prefix);
    return rc;
}

static void process_deletions(dscat_store *st, dscat_storage *sto, dscat_warnings *w)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(&s, st, "SELECT path, delete_after, retry_count FROM pending_deletions",
                            NULL))
        return;
    int64_t now = dscat_now_us();
    typedef struct {
        char *path;
        int action; /* 0 delete row, 1 retry, 2 defer 24 h */
    } todo;
    todo *list = NULL;
    size_t n = 0;
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        const char *path = dscat_stmt__text(s, 0);
        const char *after = dscat_stmt__text(s, 1);
        int retries = dscat_stmt__int(s, 2);
        int64_t due;
        int action;
        if (!dscat_cache__parse_iso(after, &due)) {
            dscat_cache__warn(
                w, "pending deletion of %s has an unparsable delete_after '%s': deferred 24 h",
                path, after ? after : "");
            action = 2;
        } else if (due > now) {
            continue;
        } else {
            dscat_error e = {0};
            const char *why = e.message;
            if (delete_version(sto, path, &e) == 0) {
                action = 0;
            } else if (retries + 1 >= MAX_RETRIES) {
                dscat_cache__warn(w, "giving up deleting %s after %d failures: %s", path,
                                  retries + 1, why);
                action = 0;
            } else {
                dscat_cache__warn(w, "cannot delete %s (attempt %d of %d): %s", path, retries + 1,
                                  MAX_RETRIES, why);
                action = 1;
            }
        }
        todo *g = dscat_realloc(list, (n + 1) * sizeof(*g));
        if (g == NULL)
            break;
        list = g;
        list[n++] = (todo){dscat_strdup(path), action};
    }
    dscat_stmt__finalize(s);
    char later[40];
    dscat_cache__iso_after(86400, later, sizeof(later));
    /* One transaction for the updates; should the write lock not come within the busy timeout,
     * each update is tried on its own all the same. */
    bool begun = dscat_store__begin(st, NULL) == 0;
    for (size_t i = 0; i < n; i++) {
        const char *sql = list[i].action == 0 ? "DELETE FROM pending_deletions WHERE path = ?1"
                          : list[i].action == 1
                              ? "UPDATE pending_deletions SET retry_count = retry_count + 1 "
                                "WHERE path = ?1"
                              : "UPDATE pending_deletions SET delete_after = ?2 WHERE path = ?1";
        if (dscat_stmt__prepare(&s, st, sql, NULL) == 0) {
            dscat_stmt__bind_text(s, 1, list[i].path);
            if (list[i].action == 2)
                dscat_stmt__bind_text(s, 2, later);
            (void)dscat_stmt__step(s);
            dscat_stmt__finalize(s);
        }
        dscat_free(list[i].path);
    }
    if (begun && dscat_store__commit(st, NULL))
        dscat_store__rollback(st);
    dscat_free(list);
}

/* True when the store knows path (current or pending). */
static bool known_path(dscat_store *st, const char *path)
{
    dscat_stmt *s = NULL;
    bool known = false;
    if (dscat_stmt__prepare(&s, st,
                            "SELECT 1 FROM table_cache WHERE path = ?1 UNION ALL "
                            "SELECT 1 FROM pending_deletions WHERE path = ?1",
                            NULL) == 0) {
        dscat_stmt__bind_text(s, 1, path);
        known = dscat_stmt__step(s) == DSCAT_STMT_ROW;
    }
    dscat_stmt__finalize(s);
    return known;
}

static void schedule_path(dscat_store *st, const char *path, const char *when, dscat_warnings *w)
{
    if (dscat_store__schedule_deletion(st, path, when, NULL) == 0)
        dscat_cache__warn(w, "orphaned version %s scheduled for deletion", path);
}

typedef struct orphan_scan {
    dscat_store *st;
    dscat_storage *sto;
    const char *id, *when;
    int64_t now;
    dscat_warnings *w;
} orphan_scan;

/*
 * One version (its key, the entries e[0..n) below it, sorted): scheduled when it carries this
 * catalog's marker, is old enough, no refresh of its table is running and the store does not
 * know it. Its age is its directory's where the storage has directories, else its newest key's.
 */
static void consider_version(orphan_scan *o, const char *vkey, size_t vlen,
                             const dscat_storage_entry *e, size_t n)
{
    int64_t newest = 0, dir_time = -1;
    bool mine = false;
    size_t mlen = strlen(DSCAT_CACHE_MARKER);
    for (size_t j = 0; j < n; j++) {
        const char *rest = e[j].key + vlen + 1;
        if (*rest == '\0')
            dir_time = e[j].modified_us;
        if (e[j].modified_us > newest)
            newest = e[j].modified_us;
        mine |= o->id[0] && strncmp(rest, DSCAT_CACHE_MARKER, mlen) == 0 &&
                strcmp(rest + mlen, o->id) == 0;
    }
    int64_t age = o->now - (dir_time >= 0 ? dir_time : newest);
    if (!mine || age < dscat_cache__orphan_age_us())
        return;
    char *tkey = dscat_strndup(vkey, (size_t)((const char *)memrchr(vkey, '/', vlen) - vkey));
    char *path = dscat_strndup(vkey, vlen);
    char *full = path ? dscat_storage_path(o->sto, path) : NULL;
    if (tkey && full && !dscat_cache__table_locked(o->sto, tkey) && !known_path(o->st, full))
        schedule_path(o->st, full, o->when, o->w);
    dscat_free(tkey);
    dscat_free(path);
    dscat_free(full);
}

static void note_warning(const char *message, void *payload)
{
    dscat_cache__warn(payload, "%s", message);
}

/*
 * Orphans: version directories (<conn>/<schema>/<table>/<version>/, none of the parts starting
 * with ".") from one listing of the root, sorted so that the keys of a version are consecutive.
 * Then the staged files of killed refreshes.
 */
static void schedule_orphans(dscat_store *st, dscat_storage *sto, const dscat_config *cfg,
                             dscat_warnings *w)
{
    char id[64], when[40];
    dscat_storage_entry *e = NULL;
    size_t n = 0;
    dscat_error err = {0};
    if (dscat_store__catalog_id(st, id, sizeof(id)))
        return;
    dscat_cache__iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    if (dscat_storage_list(sto, "", &e, &n, &err))
        dscat_cache__warn(w, "cannot list the cache root for orphans: %s", err.message);
    orphan_scan o = {st, sto, id, when, dscat_now_us(), w};
    for (size_t i = 0; i < n;) {
        const char *p = e[i].key;
        bool dotted = false;
        for (int seg = 0; seg < 4 && p; seg++) {
            dotted |= *p == '.';
            p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL;
        }
        if (p == NULL || dotted) {
            i++;
            continue;
        }
        size_t vlen = (size_t)(p - 1 - e[i].key), j = i;
        while (j < n && strncmp(e[j].key, e[i].key, vlen + 1) == 0)
            j++;
        consider_version(&o, e[i].key, vlen, e + i, j - i);
        i = j;
    }
    dscat_storage_entries_free(e, n);
    dscat_storage_sweep_staging(sto, dscat_cache__orphan_age_us(), note_warning, w);
}

int dscat_cache_maintain(const dscat_config *cfg, dscat_warnings *warnings, dscat_error *err)
{
    dscat_store *st = NULL;
    dscat_storage *sto = NULL;
    int rc = dscat_cache__storage(&sto, cfg, true, err);
    if (rc == 0)
        rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0) {
        schedule_orphans(st, sto, cfg, warnings);
        process_deletions(st, sto, warnings);
    }
    dscat_store_close(st);
    dscat_storage_close(sto);
    return rc;
}

int dscat_cache_purge(const dscat_config *cfg, const char *connection_id, const char *schema,
                      const char *table, size_t *purged, dscat_error *err)
{
    dscat_store *st = NULL;
    const dscat_target_config *t;
    char *database = NULL;
    char when[40];
    *purged = 0;
    dscat_cache__iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    if (rc == 0)
        rc = dscat_connection_resolve(cfg, connection_id, &t, &database, err);
    if (rc == 0)
        rc = dscat_store__begin(st, err);
    /* Without a table, the whole connection (a schema alone selects nothing more). */
    const char *only = table ? schema : NULL;
    if (rc == 0)
        rc = dscat_store__schedule_cached(st, connection_id, only, table, when, err);
    if (rc == 0)
        rc = dscat_store__delete_cached(st, connection_id, only, table, purged, err);
    if (rc == 0)
        rc = dscat_store__commit(st, err);
    else if (st)
        dscat_store__rollback(st);
    if (rc == 0 && table && *purged == 0)
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "table '%s.%s' is not cached", schema, table);
    dscat_free(database);
    dscat_store_close(st);
    return rc;
}
