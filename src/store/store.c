/*
 * The store table's dispatch: the one place an engine is chosen (dscat_store_open() and
 * dscat_store_check_version()), the read-transaction nesting every engine shares, and the
 * dscat_store__*() / dscat_stmt__*() functions that call the engine's table.
 */
#include "store/store.h"

#include <assert.h>
#include <string.h>

/* Every engine dscat is built with, for the process-wide initialisation. */
static const dscat_store_table *const engines[] = {&dscat_store__sqlite_table};

#define NENGINES (sizeof(engines) / sizeof(engines[0]))

/*
 * The engine of a catalog directory. SQLite is the only one today; a second one is chosen here
 * (from a setting or the catalog's location) and nowhere else.
 */
static const dscat_store_table *select_engine(const char *catalog_dir)
{
    (void)catalog_dir;
    const dscat_store_table *t = &dscat_store__sqlite_table;
    assert(t->version == DSCAT_STORE_TABLE_VERSION);
    return t;
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
    return select_engine(catalog_dir)->open(out, catalog_dir, mode, err);
}

int dscat_store_check_version(const char *catalog_dir, dscat_error *err)
{
    return select_engine(catalog_dir)->check_version(catalog_dir, err);
}

void dscat_store_close(dscat_store *st)
{
    if (st == NULL)
        return;
    st->table->close(st);
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
