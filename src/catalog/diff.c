/*
 * `dscat diff`: the changes between two kept scans of one target.
 */
#include "dscat/find.h"

#include "catalog/changes.h"
#include "store/store.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <string.h>

/* The only target with successful scans, when there is exactly one. */
static int only_target(dscat_store *st, char **out, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(
        &s, st, "SELECT DISTINCT target FROM scans WHERE status <> 'failed' ORDER BY target", err);
    if (rc)
        return rc;
    dscat_buf names = DSCAT_BUF_INIT;
    int n = 0;
    while (dscat_stmt__step(s) == DSCAT_STMT_ROW) {
        const char *t = dscat_stmt__text(s, 0);
        if (n++ == 0)
            *out = dscat_strdup(t);
        dscat_buf_printf(&names, "%s%s", n > 1 ? ", " : "", t);
    }
    dscat_stmt__finalize(s);
    if (n == 0)
        rc = dscat_error_set(err, DSCAT_ENOTFOUND, "the catalog has no scans yet");
    else if (n > 1)
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "a target is required: the catalog holds several targets (%s)",
                             dscat_buf_cstr(&names));
    if (rc) {
        dscat_free(*out);
        *out = NULL;
    }
    dscat_buf_free(&names);
    return rc;
}

/* Checks that scan `id` is a successful scan of `target`. */
static int check_scan(dscat_store *st, const char *target, int64_t id, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(
        &s, st, "SELECT 1 FROM scans WHERE id = ?1 AND target = ?2 AND status <> 'failed'", err);
    if (rc)
        return rc;
    dscat_stmt__bind_int64(s, 1, id);
    dscat_stmt__bind_text(s, 2, target);
    bool ok = dscat_stmt__step(s) == DSCAT_STMT_ROW;
    dscat_stmt__finalize(s);
    return ok ? 0
              : dscat_error_set(err, DSCAT_ENOTFOUND,
                                "scan %lld is not a kept, successful scan of target %s",
                                (long long)id, target);
}

static int pick_scans(dscat_store *st, const char *target, int64_t *from, int64_t *to,
                      dscat_error *err)
{
    if (*from && *to)
        return 0;
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(&s, st,
                                 "SELECT id FROM scans WHERE target = ?1 AND status <> 'failed' "
                                 "ORDER BY id DESC LIMIT 2",
                                 err);
    if (rc)
        return rc;
    dscat_stmt__bind_text(s, 1, target);
    int64_t ids[2] = {0, 0};
    int n = 0;
    while (n < 2 && dscat_stmt__step(s) == DSCAT_STMT_ROW)
        ids[n++] = dscat_stmt__int64(s, 0);
    dscat_stmt__finalize(s);
    if (*from) { /* only SCAN_A: compare it with the newest */
        *to = ids[0];
        return n ? 0
                 : dscat_error_set(err, DSCAT_ENOTFOUND,
                                   "target %s has no successful scan in the catalog", target);
    }
    if (n == 0)
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "target %s has no successful scan in the catalog", target);
    if (n < 2)
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "target %s has fewer than two successful scans to compare", target);
    *to = ids[0];
    *from = ids[1];
    return 0;
}

int dscat_diff_get(dscat_diff *out, dscat_store *st, const char *target, int64_t from, int64_t to,
                   dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    dscat_stmt *s = NULL;
    /* The scans are picked, checked and compared in one snapshot: a refresh that commits
     * meanwhile cannot prune one of them between the check and the comparison. */
    int rc = dscat_store__read_begin(st, err);
    if (rc)
        return rc;
    if (target)
        rc = (out->target = dscat_strdup(target))
                 ? 0
                 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    else
        rc = only_target(st, &out->target, err);
    if (rc == 0)
        rc = pick_scans(st, out->target, &from, &to, err);
    if (rc == 0 && (rc = check_scan(st, out->target, from, err)) == 0)
        rc = check_scan(st, out->target, to, err);
    if (rc == 0)
        rc = dscat_stmt__prepare(&s, st, DSCAT_CHANGES_SQL_PAIR, err);
    if (rc)
        goto done;
    out->from_scan = from;
    out->to_scan = to;
    dscat_stmt__bind_text(s, 1, out->target);
    dscat_stmt__bind_int64(s, 2, to);
    dscat_stmt__bind_int64(s, 3, from);
    int step;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        dscat_change *g = dscat_realloc(out->changes, (out->count + 1) * sizeof(*g));
        if (g == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        out->changes = g;
        dscat_change *c = &out->changes[out->count++];
        const char *v[7];
        for (int i = 0; i < 7; i++)
            v[i] = dscat_stmt__text(s, i);
        c->target = dscat_strdup(v[0]);
        c->kind = dscat_strdup(v[1]);
        c->database = dscat_strdup(v[2]);
        c->schema = dscat_strdup(v[3]);
        c->table_name = dscat_strdup(v[4]);
        c->column_name = v[5] ? dscat_strdup(v[5]) : NULL;
        c->detail = v[6] && *v[6] ? dscat_strdup(v[6]) : NULL;
    }
    if (step != DSCAT_STMT_DONE)
        rc = dscat_store__step_error(st, err);
done:
    dscat_stmt__finalize(s);
    dscat_store__read_end(st);
    if (rc)
        dscat_diff_free(out);
    return rc;
}

void dscat_diff_free(dscat_diff *d)
{
    for (size_t i = 0; i < d->count; i++) {
        dscat_change *c = &d->changes[i];
        dscat_free(c->target);
        dscat_free(c->kind);
        dscat_free(c->database);
        dscat_free(c->schema);
        dscat_free(c->table_name);
        dscat_free(c->column_name);
        dscat_free(c->detail);
    }
    dscat_free(d->changes);
    dscat_free(d->target);
    memset(d, 0, sizeof(*d));
}
