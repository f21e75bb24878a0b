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
#include "jobs/owner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A claim on a pending deletion is dropped when its process is found gone (on this machine) or
 * when it is this old (on another). */
#define CLAIM_LEASE_US (600 * 1000000LL)

/* True when claim (an owner id, claimed at claimed_us) no longer holds: its process is gone
 * from this machine, or the lease has passed. */
static bool claim_stale(const char *claim, int64_t claimed_us, const char *me, int64_t now)
{
    return now - claimed_us > CLAIM_LEASE_US || dscat_jobs__owner_gone(claim, me);
}

/* A pending deletion as read, and what became of it. */
typedef struct todo {
    char *path, *after, *claim; /* claim: NULL when none */
    int64_t claimed_us;
    int retries;
} todo;

/*
 * Claims the deletion of t (due, as it was read): one statement, compared and set at once, so
 * that of the processes sharing the store (several `dscat serve`, cache commands) exactly one
 * deletes the version, and none before its time. A claim whose process died is taken over (at
 * once on the same machine, after CLAIM_LEASE_US from another); the row stays until the version
 * is gone, so that a deletion cut short is done again.
 */
static bool claim_deletion(dscat_store *st, const todo *t, const char *me, int64_t now)
{
    dscat_stmt *s = NULL;
    bool claimed = false;
    if (dscat_stmt__prepare(
            &s, st,
            "UPDATE pending_deletions SET claimed_by = ?3, claimed_us = ?4 "
            "WHERE path = ?1 AND delete_after = ?2 AND claimed_by IS NOT DISTINCT FROM ?5 "
            "RETURNING path",
            NULL) == 0) {
        dscat_stmt__bind_text(s, 1, t->path);
        dscat_stmt__bind_text(s, 2, t->after);
        dscat_stmt__bind_text(s, 3, me);
        dscat_stmt__bind_int64(s, 4, now);
        if (t->claim)
            dscat_stmt__bind_text(s, 5, t->claim);
        else
            dscat_stmt__bind_null(s, 5);
        claimed = dscat_stmt__step(s) == DSCAT_STMT_ROW;
    }
    dscat_stmt__finalize(s);
    return claimed;
}

/* Reads every pending deletion into *list (n of them). Returns 0 or -1 (nothing read). */
static int read_deletions(dscat_store *st, todo **list, size_t *n)
{
    dscat_stmt *s = NULL;
    *list = NULL;
    *n = 0;
    if (dscat_stmt__prepare(&s, st,
                            "SELECT path, delete_after, retry_count, claimed_by, claimed_us "
                            "FROM pending_deletions",
                            NULL))
        return -1;
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        const char *path = dscat_stmt__text(s, 0), *after = dscat_stmt__text(s, 1);
        const char *claim = dscat_stmt__text(s, 3);
        todo *g = dscat_realloc(*list, (*n + 1) * sizeof(*g));
        if (g == NULL)
            break;
        *list = g;
        todo *t = &g[*n];
        *t = (todo){dscat_strdup(path ? path : ""), dscat_strdup(after ? after : ""),
                    claim ? dscat_strdup(claim) : NULL, dscat_stmt__int64(s, 4),
                    dscat_stmt__int(s, 2)};
        if (t->path == NULL || t->after == NULL || (claim && t->claim == NULL)) {
            dscat_free(t->path);
            dscat_free(t->after);
            dscat_free(t->claim);
            break;
        }
        (*n)++;
    }
    dscat_stmt__finalize(s);
    return 0;
}

/* Runs one statement on path (?1), binding ?2, ?3 and ?4 to those of p2, p3, p4 given. */
static void on_path(dscat_store *st, const char *sql, const char *path, const char *p2,
                    const int64_t *p3, const char *p4)
{
    dscat_stmt *s = NULL;
    if (dscat_stmt__prepare(&s, st, sql, NULL) == 0) {
        dscat_stmt__bind_text(s, 1, path);
        if (p2)
            dscat_stmt__bind_text(s, 2, p2);
        if (p3)
            dscat_stmt__bind_int64(s, 3, *p3);
        if (p4)
            dscat_stmt__bind_text(s, 4, p4);
        (void)dscat_stmt__step(s);
        dscat_stmt__finalize(s);
    }
}

static void process_deletions(dscat_store *st, dscat_storage *sto, dscat_warnings *w)
{
    todo *list = NULL;
    size_t n = 0;
    if (read_deletions(st, &list, &n))
        return;
    int64_t now = dscat_now_us();
    char me[128], later[40], again[40];
    dscat_jobs__owner_id(me, sizeof(me));
    dscat_cache__iso_after(86400, later, sizeof(later));
    dscat_cache__iso_after(0, again, sizeof(again));
    for (size_t i = 0; i < n; i++) {
        todo *t = &list[i];
        int64_t due;
        if (!dscat_cache__parse_iso(t->after, &due)) {
            dscat_cache__warn(
                w, "pending deletion of %s has an unparsable delete_after '%s': deferred 24 h",
                t->path, t->after);
            on_path(st,
                    "UPDATE pending_deletions SET delete_after = ?2 "
                    "WHERE path = ?1 AND claimed_by IS NULL",
                    t->path, later, NULL, NULL);
            continue;
        }
        if (due > now || (t->claim && !claim_stale(t->claim, t->claimed_us, me, now)) ||
            !claim_deletion(st, t, me, now))
            continue;
        dscat_error e = {0};
        const char *why = e.message;
        bool gone = delete_version(sto, t->path, &e) == 0;
        if (!gone && t->retries + 1 >= MAX_RETRIES) {
            dscat_cache__warn(w, "giving up deleting %s after %d failures: %s", t->path,
                              t->retries + 1, why);
            gone = true;
        } else if (!gone) {
            dscat_cache__warn(w, "cannot delete %s (attempt %d of %d): %s", t->path, t->retries + 1,
                              MAX_RETRIES, why);
        }
        int64_t retries = t->retries + 1;
        if (gone)
            on_path(st, "DELETE FROM pending_deletions WHERE path = ?1 AND claimed_by = ?2",
                    t->path, me, NULL, NULL);
        else
            on_path(st,
                    "UPDATE pending_deletions SET delete_after = ?2, retry_count = ?3, "
                    "claimed_by = NULL, claimed_us = NULL WHERE path = ?1 AND claimed_by = ?4",
                    t->path, again, &retries, me);
    }
    for (size_t i = 0; i < n; i++) {
        dscat_free(list[i].path);
        dscat_free(list[i].after);
        dscat_free(list[i].claim);
    }
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
    /* A version directory with nothing in it is a refresh killed between making it and marking
     * it: whoever made it, removing it loses nothing once it is old enough. */
    mine |= n == 1 && dir_time >= 0;
    int64_t age = o->now - (dir_time >= 0 ? dir_time : newest);
    if (!mine || age < dscat_cache__orphan_age_us())
        return;
    char *tkey = dscat_strndup(vkey, (size_t)((const char *)memrchr(vkey, '/', vlen) - vkey));
    char *path = dscat_strndup(vkey, vlen);
    char *full = path ? dscat_storage_path(o->sto, path) : NULL;
    if (tkey && full && !dscat_cache__table_locked(o->st, o->sto, tkey) && !known_path(o->st, full))
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
    int rc = dscat_store_open(&st, cfg->catalog_dir, DSCAT_STORE_WRITE, err);
    /* A connection of a target no longer in targets.toml: what the store has cached of it can
     * still be purged (nothing cached: the error of an unknown connection stands). */
    dscat_error unknown = {0};
    if (rc == 0 && dscat_connection_resolve(cfg, connection_id, &t, &database, &unknown)) {
        size_t keylen = strcspn(connection_id, ".");
        bool configured = false;
        for (size_t i = 0; i < cfg->ntargets; i++)
            configured |= strlen(cfg->targets[i].key) == keylen &&
                          memcmp(cfg->targets[i].key, connection_id, keylen) == 0;
        if (configured || unknown.code != DSCAT_ENOTFOUND) {
            rc = unknown.code;
            if (err)
                *err = unknown;
        }
    }
    if (rc == 0)
        rc = dscat_store__begin(st, err);
    /* the grace counts from inside the transaction, as a swap's does */
    dscat_cache__iso_after(cfg->settings.deletion_grace_seconds, when, sizeof(when));
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
    if (rc == 0 && *purged == 0 && t == NULL) {
        rc = unknown.code; /* a connection nobody configures, with nothing cached */
        if (err)
            *err = unknown;
    } else if (rc == 0 && table && *purged == 0) {
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "table '%s.%s' is not cached", schema, table);
    }
    dscat_free(database);
    dscat_store_close(st);
    return rc;
}
