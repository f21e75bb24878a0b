/*
 * The store table's dispatch: the one place an engine is chosen (dscat_store_open() and
 * dscat_store_check_version()), the read-transaction nesting every engine shares, and the
 * dscat_store__*() / dscat_stmt__*() functions that call the engine's table.
 */
#include "store/store.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/siphash.h"
#include "core/testhooks.h"
#include "core/toml.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Every engine dscat is built with, for the process-wide initialisation. */
static const dscat_store_table *const engines[] = {&dscat_store__sqlite_table,
                                                   &dscat_store__postgres_table};

#define NENGINES (sizeof(engines) / sizeof(engines[0]))

void dscat_store_location_free(dscat_store_location *loc)
{
    dscat_free(loc->url);
    dscat_free(loc->schema);
    dscat_free(loc->env);
    loc->url = loc->schema = loc->env = NULL;
}

/* A string setting of [settings], or NULL; a value of another type is refused. */
static int string_setting(const dscat_toml_value *settings, const char *key, const char *path,
                          const char **out, dscat_error *err)
{
    *out = NULL;
    const dscat_toml_value *v = settings ? dscat_toml_get(settings, key) : NULL;
    if (v == NULL)
        return 0;
    if (v->type != DSCAT_TOML_STRING || v->u.str.len == 0 || strlen(v->u.str.ptr) != v->u.str.len)
        return dscat_error_set(err, DSCAT_ECONFIG,
                               "%s: line %d: settings.%s must be a non-empty string", path, v->line,
                               key);
    *out = v->u.str.ptr;
    return 0;
}

/* The test build's shared PostgreSQL store: one schema per catalog directory. */
static int test_location(dscat_store_location *loc, const char *catalog_dir, const char *url)
{
    char real[PATH_MAX];
    const char *dir = realpath(catalog_dir, real) ? real : catalog_dir;
    static const uint8_t zero[16] = {0};
    uint8_t h[DSCAT_SIPHASH_BYTES];
    dscat_siphash128(h, zero, dir, strlen(dir));
    char schema[40];
    int n = snprintf(schema, sizeof(schema), "c_");
    for (int i = 0; i < 8; i++)
        n += snprintf(schema + n, sizeof(schema) - (size_t)n, "%02x", h[i]);
    loc->url = dscat_strdup(url);
    loc->schema = dscat_strdup(schema);
    loc->env = dscat_strdup("DSCAT_TEST_PG_STORE");
    return loc->url && loc->schema && loc->env ? 0 : DSCAT_ENOMEM;
}

int dscat_store__location(dscat_store_location *loc, const char *catalog_dir, dscat_error *err)
{
    loc->url = loc->schema = loc->env = NULL;
    const char *test = dscat_test__pg_store();
    if (test)
        return test_location(loc, catalog_dir, test)
                   ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                   : 0;
    dscat_buf path = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&path, "%s/targets.toml", catalog_dir))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = 0;
    char *text = NULL;
    size_t len = 0;
    dscat_toml_doc *doc = NULL;
    FILE *f = fopen(dscat_buf_cstr(&path), "rb");
    if (f == NULL) {
        if (errno != ENOENT)
            rc = dscat_error_set(err, DSCAT_EINVALID, "cannot read %s: %s", dscat_buf_cstr(&path),
                                 strerror(errno));
        goto done; /* no configuration: the SQLite store */
    }
    dscat_buf t = DSCAT_BUF_INIT;
    int read = dscat_buf_read(&t, f);
    fclose(f);
    if (read) {
        dscat_buf_free(&t);
        rc = read == DSCAT_ENOMEM
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : dscat_error_set(err, DSCAT_EINVALID, "cannot read %s", dscat_buf_cstr(&path));
        goto done;
    }
    len = t.len;
    text = dscat_buf_detach(&t);
    if ((rc = dscat_toml_parse(&doc, text ? text : "", len, err))) {
        /* A broken targets.toml beside a catalog.db: that store is the one there, and its
         * questions still answer (the commands that need the configuration refuse it). */
        dscat_buf db = DSCAT_BUF_INIT;
        struct stat sb;
        if (rc != DSCAT_ENOMEM && dscat_buf_printf(&db, "%s/catalog.db", catalog_dir) == 0 &&
            lstat(dscat_buf_cstr(&db), &sb) == 0) {
            dscat_error_clear(err);
            rc = 0;
        } else {
            dscat_error_prefix(err, "%s", dscat_buf_cstr(&path));
        }
        dscat_buf_free(&db);
        goto done;
    }
    const dscat_toml_value *settings = dscat_toml_get(doc->root, "settings");
    if (settings && settings->type != DSCAT_TOML_TABLE)
        settings = NULL;
    const char *env = NULL, *schema = NULL;
    if ((rc = string_setting(settings, "store_url_env", dscat_buf_cstr(&path), &env, err)) ||
        (rc = string_setting(settings, "store_schema", dscat_buf_cstr(&path), &schema, err)) ||
        env == NULL)
        goto done;
    const char *url = getenv(env);
    if (url == NULL || *url == '\0') {
        rc = dscat_error_set(err, DSCAT_EUNSET,
                             "%s: settings.store_url_env names %s, which is not set in the "
                             "environment (it holds the PostgreSQL store's connection URI)",
                             dscat_buf_cstr(&path), env);
        goto done;
    }
    /* A URI, as docs/deploy.md says: libpq would take any other text as a database name (or a
     * key=value string) on its default server, the one PGHOST or the local socket names. */
    if (strncasecmp(url, "postgresql://", 13) != 0 && strncasecmp(url, "postgres://", 11) != 0) {
        rc = dscat_error_set(err, DSCAT_ECONFIG,
                             "%s: the store location in %s (settings.store_url_env) is not a "
                             "postgresql:// URI",
                             dscat_buf_cstr(&path), env);
        goto done;
    }
    loc->url = dscat_strdup(url);
    loc->schema = dscat_strdup(schema ? schema : "dscat");
    loc->env = dscat_strdup(env);
    if (loc->url == NULL || loc->schema == NULL || loc->env == NULL)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    dscat_toml_free(doc);
    dscat_free(text);
    dscat_buf_free(&path);
    return rc;
}

/*
 * The engine of a catalog directory: PostgreSQL when its settings name a store URI, else SQLite.
 * Chosen here and nowhere else. *loc receives the location, which the engine is given (so that
 * targets.toml is read once per open); free it with dscat_store_location_free() either way.
 */
static int select_engine(const dscat_store_table **out, dscat_store_location *loc,
                         const char *catalog_dir, dscat_error *err)
{
    int rc = dscat_store__location(loc, catalog_dir, err);
    *out = loc->url ? &dscat_store__postgres_table : &dscat_store__sqlite_table;
    assert((*out)->version == DSCAT_STORE_TABLE_VERSION);
    return rc;
}

void dscat_store__init(dscat_store *st, const dscat_store_table *table)
{
    st->table = table;
    st->read_depth = 0;
    st->read_owned = false;
    st->trace = NULL;
    st->trace_payload = NULL;
}

void dscat_stmt__init(dscat_stmt *s, dscat_store *st)
{
    s->store = st;
}

const char *dscat_store__engine(const dscat_store *st)
{
    return st->table->name;
}

int dscat_store__global_init(dscat_error *err)
{
    for (size_t i = 0; i < NENGINES; i++) {
        assert(engines[i]->version == DSCAT_STORE_TABLE_VERSION);
        int rc = engines[i]->global_init(err);
        if (rc)
            return rc;
    }
    return 0;
}

void dscat_store__global_shutdown(void)
{
    for (size_t i = NENGINES; i > 0; i--)
        engines[i - 1]->global_shutdown();
}

void dscat_store__trace(dscat_store *st, dscat_store_trace_fn fn, void *payload)
{
    st->trace = fn;
    st->trace_payload = payload;
}

int dscat_store_open(dscat_store **out, const char *catalog_dir, dscat_store_mode mode,
                     dscat_error *err)
{
    *out = NULL;
    const dscat_store_table *t = NULL;
    dscat_store_location loc = {0};
    int rc = select_engine(&t, &loc, catalog_dir, err);
    if (rc == 0)
        rc = t->open(out, catalog_dir, &loc, mode, err);
    dscat_store_location_free(&loc);
    return rc;
}

int dscat_store_check_version(const char *catalog_dir, dscat_error *err)
{
    const dscat_store_table *t = NULL;
    dscat_store_location loc = {0};
    int rc = select_engine(&t, &loc, catalog_dir, err);
    if (rc == 0)
        rc = t->check_version(catalog_dir, &loc, err);
    dscat_store_location_free(&loc);
    return rc;
}

int dscat_store_describe(dscat_store_info *out, const char *catalog_dir, bool migrate,
                         dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    const dscat_store_table *t = NULL;
    dscat_store_location loc = {0};
    dscat_store *st = NULL;
    int rc = select_engine(&t, &loc, catalog_dir, err);
    if (rc)
        goto done;
    snprintf(out->engine, sizeof(out->engine), "%s", t->name);
    rc = t->open(&st, catalog_dir, &loc, migrate ? DSCAT_STORE_WRITE : DSCAT_STORE_READ, err);
    out->known = t->known_version;
    if (rc == DSCAT_ENOTFOUND && !migrate) {
        /* no store yet: version 0, where it will be */
        if (loc.url)
            snprintf(out->location, sizeof(out->location),
                     "schema %s of the database %s names (not created yet)", loc.schema, loc.env);
        else
            snprintf(out->location, sizeof(out->location), "%s/catalog.db (not created yet)",
                     catalog_dir);
        snprintf(out->schema, sizeof(out->schema), "%s", loc.schema ? loc.schema : "");
        dscat_error_clear(err);
        rc = 0;
        goto done;
    }
    if (rc == 0) {
        t->describe(st, out);
        dscat_store_close(st);
    }
done:
    dscat_store_location_free(&loc);
    return rc;
}

void dscat_store_close(dscat_store *st)
{
    if (st == NULL)
        return;
    st->table->close(st);
}

bool dscat_store__shared_locks(const dscat_store *st)
{
    return st->table->shared_locks;
}

int dscat_store__lock_table(dscat_store *st, const char *key, bool *waited, dscat_error *err)
{
    *waited = false;
    return st->table->lock_table(st, key, waited, err);
}

void dscat_store__unlock_table(dscat_store *st, const char *key)
{
    st->table->unlock_table(st, key);
}

bool dscat_store__table_locked(dscat_store *st, const char *key)
{
    return st->table->table_locked(st, key);
}

int dscat_store__begin(dscat_store *st, dscat_error *err)
{
    return st->table->begin(st, err);
}

int dscat_store__commit(dscat_store *st, dscat_error *err)
{
    return st->table->commit(st, err);
}

void dscat_store__rollback(dscat_store *st)
{
    st->table->rollback(st);
}

bool dscat_store__in_transaction(dscat_store *st)
{
    return st->table->in_transaction(st);
}

int dscat_store__read_begin(dscat_store *st, dscat_error *err)
{
    if (st->read_depth == 0) {
        st->read_owned = !st->table->in_transaction(st);
        int rc = st->read_owned ? st->table->snapshot_begin(st, err) : 0;
        if (rc) {
            st->read_owned = false;
            return rc;
        }
    }
    st->read_depth++;
    return 0;
}

void dscat_store__read_end(dscat_store *st)
{
    assert(st->read_depth > 0);
    if (--st->read_depth > 0 || !st->read_owned)
        return;
    st->read_owned = false;
    st->table->snapshot_end(st);
}

/*
 * Opens the store for reading and begins its read transaction; *st stays NULL when there is no
 * catalog yet, which is not an error. Close with dscat_store__close_reading().
 */
int dscat_store__open_reading(dscat_store **st, const char *catalog_dir, dscat_error *err)
{
    int rc = dscat_store_open(st, catalog_dir, DSCAT_STORE_READ, err);
    if (rc == DSCAT_ENOTFOUND) {
        if (err)
            memset(err, 0, sizeof(*err));
        return 0; /* no catalog yet */
    }
    if (rc == 0 && (rc = dscat_store__read_begin(*st, err))) {
        dscat_store_close(*st);
        *st = NULL;
    }
    return rc;
}

void dscat_store__close_reading(dscat_store *st)
{
    if (st)
        dscat_store__read_end(st);
    dscat_store_close(st);
}

int dscat_store__exec(dscat_store *st, const char *sql, dscat_error *err)
{
    return st->table->exec(st, sql, err);
}

int dscat_store__step_error(dscat_store *st, dscat_error *err)
{
    return st->table->error(st, err, "query failed");
}

int64_t dscat_store__generation(dscat_store *st)
{
    return st->table->generation(st);
}

int64_t dscat_store__exports_generation(dscat_store *st)
{
    return st->table->exports_generation(st);
}

int dscat_store__set_exports_generation(dscat_store *st, int64_t generation, dscat_error *err)
{
    return st->table->set_exports_generation(st, generation, err);
}

int dscat_store__catalog_id(dscat_store *st, char *out, size_t size)
{
    return st->table->catalog_id(st, out, size);
}

int dscat_store__fingerprint(dscat_store *st, char *out, size_t size, dscat_error *err)
{
    return st->table->fingerprint(st, out, size, err);
}

int dscat_store__insert_scan(dscat_store *st, const dscat_scan_row *row, int64_t *scan_id,
                             dscat_error *err)
{
    return st->table->insert_scan(st, row, scan_id, err);
}

int dscat_store__insert_database(dscat_store *st, int64_t scan_id, dscat_db_scan *d,
                                 dscat_error *err)
{
    return st->table->insert_database(st, scan_id, d, err);
}

int dscat_store__set_current(dscat_store *st, const char *target, int64_t scan_id, dscat_error *err)
{
    return st->table->set_current(st, target, scan_id, err);
}

int dscat_store__prune(dscat_store *st, const char *target, int keep, dscat_error *err)
{
    return st->table->prune(st, target, keep, err);
}

int dscat_store__analyze(dscat_store *st, dscat_error *err)
{
    return st->table->analyze(st, err);
}

int dscat_store__claim_schedule_run(dscat_store *st, const dscat_schedule_record *seen,
                                    int64_t now_us, int64_t stale_before_us, bool *claimed,
                                    dscat_error *err)
{
    return st->table->claim_schedule_run(st, seen, now_us, stale_before_us, claimed, err);
}

int dscat_store__put_schedule_run(dscat_store *st, const dscat_schedule_record *run,
                                  dscat_error *err)
{
    return st->table->put_schedule_run(st, run, err);
}

int dscat_store__schedule_deletion(dscat_store *st, const char *path, const char *delete_after,
                                   dscat_error *err)
{
    return st->table->schedule_deletion(st, path, delete_after, err);
}

int dscat_store__schedule_cached(dscat_store *st, const char *connection_id, const char *schema,
                                 const char *table, const char *delete_after, dscat_error *err)
{
    return st->table->schedule_cached(st, connection_id, schema, table, delete_after, err);
}

int dscat_store__put_cached(dscat_store *st, const dscat_cache_row *row, dscat_error *err)
{
    return st->table->put_cached(st, row, err);
}

int dscat_store__delete_cached(dscat_store *st, const char *connection_id, const char *schema,
                               const char *table, size_t *deleted, dscat_error *err)
{
    *deleted = 0;
    return st->table->delete_cached(st, connection_id, schema, table, deleted, err);
}

int dscat_stmt__prepare(dscat_stmt **out, dscat_store *st, const char *sql, dscat_error *err)
{
    *out = NULL;
    if (st->trace)
        st->trace(sql, st->trace_payload);
    return st->table->prepare(out, st, sql, err);
}

void dscat_stmt__bind_int64(dscat_stmt *s, int i, int64_t v)
{
    s->store->table->bind_int64(s, i, v);
}

void dscat_stmt__bind_double(dscat_stmt *s, int i, double v)
{
    s->store->table->bind_double(s, i, v);
}

void dscat_stmt__bind_text(dscat_stmt *s, int i, const char *v)
{
    s->store->table->bind_text(s, i, v, false);
}

void dscat_stmt__bind_text_copy(dscat_stmt *s, int i, const char *v)
{
    s->store->table->bind_text(s, i, v, true);
}

void dscat_stmt__bind_null(dscat_stmt *s, int i)
{
    s->store->table->bind_null(s, i);
}

int dscat_stmt__step(dscat_stmt *s)
{
    return s->store->table->step(s);
}

void dscat_stmt__reset(dscat_stmt *s)
{
    s->store->table->reset(s);
}

bool dscat_stmt__is_null(dscat_stmt *s, int i)
{
    return s->store->table->is_null(s, i);
}

int64_t dscat_stmt__int64(dscat_stmt *s, int i)
{
    return s->store->table->column_int64(s, i);
}

int dscat_stmt__int(dscat_stmt *s, int i)
{
    return (int)s->store->table->column_int64(s, i);
}

double dscat_stmt__double(dscat_stmt *s, int i)
{
    return s->store->table->column_double(s, i);
}

const char *dscat_stmt__text(dscat_stmt *s, int i)
{
    return s->store->table->column_text(s, i);
}

size_t dscat_stmt__bytes(dscat_stmt *s, int i)
{
    return s->store->table->column_bytes(s, i);
}

void dscat_stmt__finalize(dscat_stmt *s)
{
    if (s == NULL)
        return;
    s->store->table->finalize(s);
}

const char *dscat_scan_status_name(dscat_scan_status s)
{
    switch (s) {
    case DSCAT_SCAN_OK:
        return "ok";
    case DSCAT_SCAN_PARTIAL:
        return "partial";
    case DSCAT_SCAN_FAILED:
        return "failed";
    }
    return "failed";
}
