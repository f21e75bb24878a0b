/*
 * The data cache (SPEC §9): names, times and warnings shared by its files, and the connection ids.
 *
 * A table version lives under the key <conn>/<schema>/<table>/<version>/data.parquet of the cache
 * root, every part encoded by dscat_cache_encode(). A refresh streams rows from the source
 * through a DuckDB table function (text values, cast in SQL to each column's type) into DuckDB's
 * Parquet writer, so memory stays bounded whatever the table size (writer.c). Then one store
 * transaction points the table at the new version and schedules the old one in
 * pending_deletions (versions.c). A crash at any moment leaves the previous version current; what
 * it wrote is an orphan, scheduled once it is an hour old (src/jobs/maintenance.c).
 *
 * One writer per table: an exclusive flock on the table's lock file. A refresh that had to wait
 * for the lock returns the result of the refresh it waited for instead of starting another.
 *
 * Where the files are (a local directory, S3) is the storage table's business
 * (storage/storage.h): the files of src/cache/ speak in keys and never ask.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/testhooks.h"
#include "core/timeutil.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORPHAN_AGE_S 3600

/* Orphans are versions older than an hour; the test build can shorten that
 * (DSCAT_TEST_ORPHAN_AGE) for tests on storage whose object times cannot be set back. */
int64_t dscat_cache__orphan_age_us(void)
{
    return dscat_test__orphan_age_s(ORPHAN_AGE_S) * 1000000LL;
}

char *dscat_cache_encode(const char *name)
{
    return dscat_storage_encode(name);
}

int dscat_cache__storage(dscat_storage **out, const dscat_config *cfg, bool check, dscat_error *err)
{
    int rc = dscat_storage_open(out, cfg->settings.cache_root, &cfg->settings, err);
    if (rc == 0 && check && (rc = dscat_storage_check(*out, err)) != 0) {
        dscat_storage_close(*out);
        *out = NULL;
    }
    return rc;
}

char *dscat_cache__table_key(const char *conn, const char *schema, const char *table)
{
    char *a = dscat_cache_encode(conn), *b = dscat_cache_encode(schema),
         *c = dscat_cache_encode(table);
    dscat_buf out = DSCAT_BUF_INIT;
    if (a && b && c)
        dscat_buf_printf(&out, "%s/%s/%s", a, b, c);
    dscat_free(a);
    dscat_free(b);
    dscat_free(c);
    return out.len ? dscat_buf_detach(&out) : NULL;
}

void dscat_cache__iso_after(int64_t seconds, char *out, size_t size)
{
    /* A grace is rounded up, never down: the form keeps whole seconds (the rows already written
     * read the same, and the text sorts as the times do), and a time cut down to its second
     * would let a version be deleted up to a second before its grace has passed, under a reader
     * that bound it just in time. No grace (a retry, deletion_grace_seconds = 0) is due now. */
    int64_t us = dscat_now_us() + seconds * 1000000;
    if (seconds > 0)
        us = (us + 999999) / 1000000 * 1000000;
    dscat_format_utc_iso(us, out, size);
}

bool dscat_cache__parse_iso(const char *s, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (end == NULL || *end != '\0')
        return false;
    *us = (int64_t)timegm(&tm) * 1000000;
    return true;
}

void dscat_cache__test_crash(const char *stage)
{
    dscat_test__crash_at(stage);
}

void dscat_warnings_free(dscat_warnings *w)
{
    for (size_t i = 0; i < w->count; i++) {
        dscat_free(w->items[i].schema);
        dscat_free(w->items[i].table);
        dscat_free(w->items[i].message);
    }
    dscat_free(w->items);
    memset(w, 0, sizeof(*w));
}

void dscat_cache__warn(dscat_warnings *w, const char *fmt, ...)
{
    dscat_warning *g = dscat_realloc(w->items, (w->count + 1) * sizeof(*g));
    if (g == NULL)
        return;
    w->items = g;
    dscat_buf b = DSCAT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    dscat_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *message = dscat_buf_detach(&b);
    if (message == NULL)
        return; /* out of memory: a warning is dropped, as when the array cannot grow */
    g[w->count++] = (dscat_warning){NULL, NULL, message};
}

void dscat_cache__table_warn(dscat_warnings *w, const char *schema, const char *table,
                             const char *message)
{
    dscat_warning *g = dscat_realloc(w->items, (w->count + 1) * sizeof(*g));
    if (g == NULL)
        return;
    w->items = g;
    g[w->count++] =
        (dscat_warning){dscat_strdup(schema), dscat_strdup(table), dscat_strdup(message)};
}

/* ---- connections ---------------------------------------------------------------------------- */

const char *dscat_connection_database(const dscat_target_config *t, char *buf, size_t size)
{
    if (t->driver->config_database)
        return t->driver->config_database(t, buf, size);
    if (t->include_databases.set) {
        if (t->include_databases.count == 1 && !strpbrk(t->include_databases.items[0], "*?["))
            return t->include_databases.items[0];
        return NULL;
    }
    return t->database ? t->database : t->driver->default_database;
}

int dscat_connection_resolve(const dscat_config *cfg, const char *id,
                             const dscat_target_config **target, char **database, dscat_error *err)
{
    *target = NULL;
    *database = NULL;
    const char *dot = strchr(id, '.');
    size_t keylen = dot ? (size_t)(dot - id) : strlen(id);
    const dscat_target_config *t = NULL;
    for (size_t i = 0; i < cfg->ntargets && t == NULL; i++)
        if (strlen(cfg->targets[i].key) == keylen && memcmp(cfg->targets[i].key, id, keylen) == 0)
            t = &cfg->targets[i];
    if (t == NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "connection '%s' not found", id);
    char buf[4096];
    const char *single = dscat_connection_database(t, buf, sizeof(buf));
    if (dot == NULL && single == NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "connection '%s' not found (target %s names several databases: "
                               "use %s.<database>)",
                               id, t->key, t->key);
    if (dot != NULL && single != NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "connection '%s' not found (target %s names one database: its "
                               "connection id is %s)",
                               id, t->key, t->key);
    /* <target>.<database>: only a database the target's filters select (SPEC §0) */
    if (dot != NULL &&
        (dot[1] == '\0' || !dscat_glob_list_match(&t->include_databases, dot + 1, true) ||
         dscat_glob_list_match(&t->exclude_databases, dot + 1, false)))
        return dscat_error_set(err, DSCAT_ENOTFOUND,
                               "connection '%s' not found (target %s does not include database "
                               "'%s')",
                               id, t->key, dot + 1);
    *target = t;
    *database = dscat_strdup(dot ? dot + 1 : single);
    return *database ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}
