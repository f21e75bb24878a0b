/*
 * The dscat_catalog handle: configuration, the store and a shared, reference-counted search
 * index with the annotations it was built with, reloaded only when the store's generation or the
 * annotations changed. Every front end asks its questions here, so that they answer them alike.
 *
 * Each question opens a store connection of its own and closes it before it returns: a SQLite
 * connection belongs to one thread, questions from several threads then never wait for one
 * another, and an idle server leaves no -wal/-shm files beside catalog.db.
 */
#include "dscat/api.h"

#include "store/store.h"
#include "core/alloc.h"
#include "core/buf.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The one message for a store not built yet, followed by the front end's advice. */
#define NOT_BUILT "the catalog is not built yet"
#define DEFAULT_ADVICE "run 'dscat refresh' first"

/* An index with the annotations read at the same time, shared by the searches using it. */
typedef struct shared_index {
    dscat_search_index *idx;
    dscat_annotation_list notes;
    char generation[160];
    int refs; /* atomic: the catalog's reference and one per dscat_hits */
} shared_index;

struct dscat_catalog {
    dscat_config *cfg;
    char *dir;
    const char *advice;       /* after NOT_BUILT: static text, set before the threads start */
    pthread_mutex_t index_mu; /* guards index; held while a new index is loaded */
    shared_index *index;
};

static void index_release(shared_index *si)
{
    if (si && __atomic_sub_fetch(&si->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        dscat_search_index_free(si->idx);
        dscat_annotation_list_free(&si->notes);
        dscat_free(si);
    }
}

int dscat_catalog_open(dscat_catalog **out, const char *catalog_dir, unsigned flags,
                       dscat_error *err)
{
    *out = NULL;
    dscat_catalog *cat = dscat_calloc(1, sizeof(*cat));
    if (cat == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    pthread_mutex_init(&cat->index_mu, NULL);
    cat->advice = DEFAULT_ADVICE;
    int rc = 0;
    if (catalog_dir) {
        if ((cat->dir = dscat_strdup(catalog_dir)) == NULL)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    } else {
        rc = dscat_catalog_dir(&cat->dir, err);
    }
    if (rc == 0 && (flags & DSCAT_CATALOG_DOTENV))
        rc = dscat_dotenv_load(cat->dir, err);
    if (rc == 0 && !(flags & DSCAT_CATALOG_NO_CONFIG))
        rc = dscat_config_load(&cat->cfg, cat->dir, err);
    if (rc) {
        dscat_catalog_close(cat);
        return rc;
    }
    *out = cat;
    return 0;
}

void dscat_catalog_close(dscat_catalog *cat)
{
    if (cat == NULL)
        return;
    index_release(cat->index);
    dscat_config_free(cat->cfg);
    dscat_free(cat->dir);
    pthread_mutex_destroy(&cat->index_mu);
    dscat_free(cat);
}

void dscat_catalog_set_advice(dscat_catalog *cat, const char *advice)
{
    cat->advice = advice ? advice : DEFAULT_ADVICE;
}

const dscat_config *dscat_catalog_config(const dscat_catalog *cat)
{
    return cat->cfg;
}

const char *dscat_catalog_path(const dscat_catalog *cat)
{
    return cat->cfg ? cat->cfg->catalog_dir : cat->dir;
}

/*
 * Opens a store connection for one question, read-only: close it with store_put() whatever this
 * returns. A store not built yet is DSCAT_ENOTFOUND with the advice every front end gives.
 */
static int store_get(dscat_catalog *cat, dscat_store **st, dscat_error *err)
{
    *st = NULL;
    int rc = dscat_store_open(st, dscat_catalog_path(cat), DSCAT_STORE_READ, err);
    if (rc == DSCAT_ENOTFOUND)
        dscat_error_set(err, rc, NOT_BUILT ": %s", cat->advice);
    return rc;
}

static void store_put(dscat_store *st)
{
    dscat_store_close(st);
}

int dscat_catalog_ready(dscat_catalog *cat, dscat_error *err)
{
    dscat_store *st = NULL;
    int rc = store_get(cat, &st, err);
    store_put(st);
    return rc;
}

/*
 * What an index is loaded from, as text: the store's generation (its last scan), its targets'
 * current scans (a target forgotten leaves the generation as it was, or lets a later scan take
 * its id again) and its identity, and the annotations directory (every annotation is written by
 * a rename into it, which changes its modification time). A data refresh changes none of them,
 * so it never costs a reload. Call with the store taken.
 */
static void generation_of(dscat_catalog *cat, dscat_store *st, char *out, size_t size)
{
    char id[48] = "";
    dscat_store__catalog_id(st, id, sizeof(id));
    long long ntargets = -1, current = -1;
    dscat_stmt *q = NULL;
    if (dscat_stmt__prepare(
            &q, st, "SELECT count(*), coalesce(sum(current_scan_id), 0) FROM targets", NULL) == 0 &&
        dscat_stmt__step(q) == DSCAT_STMT_ROW) {
        ntargets = (long long)dscat_stmt__int64(q, 0);
        current = (long long)dscat_stmt__int64(q, 1);
    }
    dscat_stmt__finalize(q);
    dscat_buf path = DSCAT_BUF_INIT;
    struct stat sb;
    if (dscat_buf_printf(&path, "%s/annotations", dscat_catalog_path(cat)) ||
        stat(dscat_buf_cstr(&path), &sb) != 0)
        memset(&sb, 0, sizeof(sb));
    dscat_buf_free(&path);
    snprintf(out, size, "%lld.%lld.%lld;%s;%llu.%lld.%ld.%lld",
             (long long)dscat_store__generation(st), ntargets, current, id,
             (unsigned long long)sb.st_ino, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec,
             (long long)sb.st_size);
}

/*
 * The current index (a reference the caller releases), loaded again when the generation
 * changed. One loader at a time: whoever waited finds the fresh index and takes it. The
 * generation is read before the index and the annotations, so an index is never labelled newer
 * than what it holds (at worst a change made meanwhile costs one more reload).
 */
static int index_acquire(dscat_catalog *cat, shared_index **out, dscat_error *err)
{
    *out = NULL;
    dscat_store *st = NULL;
    shared_index *fresh = NULL;
    char gen[160];
    int rc = store_get(cat, &st, err);
    if (rc) {
        store_put(st);
        return rc;
    }
    generation_of(cat, st, gen, sizeof(gen));
    pthread_mutex_lock(&cat->index_mu);
    shared_index *si = cat->index;
    if (si && strcmp(si->generation, gen) == 0) {
        __atomic_add_fetch(&si->refs, 1, __ATOMIC_ACQ_REL);
        *out = si;
        goto done;
    }
    if ((fresh = dscat_calloc(1, sizeof(*fresh))) == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(fresh->generation, sizeof(fresh->generation), "%s", gen);
    fresh->refs = 2; /* the catalog's and the caller's */
    rc = dscat_search_index_open(&fresh->idx, st, dscat_catalog_path(cat), DSCAT_SEARCH_INDEX_WRITE,
                                 err);
    if (rc == 0)
        rc = dscat_annotations_read(&fresh->notes, dscat_catalog_path(cat), NULL, err);
    if (rc) {
        fresh->refs = 1;
        index_release(fresh);
        goto done;
    }
    cat->index = fresh;
    *out = fresh;
    index_release(si); /* searches still using the old index keep it until they are done */
done:
    pthread_mutex_unlock(&cat->index_mu);
    store_put(st);
    return rc;
}

/* ---- search --------------------------------------------------------------------------------- */

typedef struct dscat_hits_owner {
    dscat_hits pub;
    shared_index *si;
    dscat_search_result r;
    dscat_hit_notes *notes;
    const dscat_annotation **ptrs; /* the notes' items, one run per hit */
} hits_owner;

/*
 * Attaches to each hit the annotations of its table (Db.Schema.Table, as annotations name it),
 * oldest first: every front end shows the same ones.
 */
static int attach_notes(hits_owner *h, dscat_error *err)
{
    const dscat_annotation_list *l = &h->si->notes;
    size_t total = 0;
    char **keys = dscat_calloc(h->r.count + 1, sizeof(char *));
    h->notes = dscat_calloc(h->r.count + 1, sizeof(*h->notes));
    int rc = keys && h->notes ? 0 : DSCAT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < h->r.count; i++) {
        const dscat_search_hit *x = &h->r.hits[i];
        const char *parts[] = {x->database, x->schema, x->table_name};
        if ((keys[i] = dscat_join_qualified(parts, 3)) == NULL)
            rc = DSCAT_ENOMEM;
        for (size_t k = 0; rc == 0 && k < l->count; k++)
            total += strcmp(l->items[k].table, keys[i]) == 0;
    }
    if (rc == 0 && (h->ptrs = dscat_calloc(total + 1, sizeof(*h->ptrs))) == NULL)
        rc = DSCAT_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; rc == 0 && i < h->r.count; i++) {
        h->notes[i].items = h->ptrs + used;
        for (size_t k = 0; k < l->count; k++)
            if (strcmp(l->items[k].table, keys[i]) == 0)
                h->ptrs[used++] = &l->items[k];
        h->notes[i].count = (size_t)(h->ptrs + used - h->notes[i].items);
    }
    for (size_t i = 0; keys && i < h->r.count; i++)
        dscat_free(keys[i]);
    dscat_free(keys);
    return rc ? dscat_error_set(err, rc, "out of memory") : 0;
}

int dscat_catalog_search(dscat_hits **out, dscat_catalog *cat, const dscat_search_options *opts,
                         dscat_error *err)
{
    *out = NULL;
    hits_owner *h = dscat_calloc(1, sizeof(*h));
    if (h == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    h->pub.owner_ = h;
    int rc = index_acquire(cat, &h->si, err);
    if (rc == 0)
        rc = dscat_search(&h->r, h->si->idx, opts, err);
    if (rc == 0)
        rc = attach_notes(h, err);
    if (rc) {
        dscat_hits_free(&h->pub);
        return rc;
    }
    h->pub.items = h->r.hits;
    h->pub.count = h->r.count;
    h->pub.searched = h->r.searched;
    h->pub.notes = h->notes;
    *out = &h->pub;
    return 0;
}

void dscat_hits_free(dscat_hits *pub)
{
    if (pub == NULL)
        return;
    hits_owner *h = pub->owner_;
    dscat_search_result_free(&h->r);
    dscat_free(h->notes);
    dscat_free(h->ptrs);
    index_release(h->si);
    dscat_free(h);
}

/* ---- questions answered from the store ------------------------------------------------------ */

int dscat_catalog_table(dscat_table_detail **out, dscat_name_candidates *candidates,
                        dscat_catalog *cat, const char *name, dscat_error *err)
{
    dscat_store *st = NULL;
    *out = NULL;
    memset(candidates, 0, sizeof(*candidates));
    int rc = store_get(cat, &st, err);
    if (rc == 0)
        rc = dscat_table_lookup(out, candidates, st, dscat_catalog_path(cat), name, err);
    store_put(st);
    return rc;
}

int dscat_catalog_table_known(dscat_catalog *cat, const char *name)
{
    dscat_store *st = NULL;
    dscat_table_detail *d = NULL;
    dscat_name_candidates candidates = {0};
    dscat_error err = {0};
    if (store_get(cat, &st, &err)) {
        store_put(st);
        return -1; /* no store: nothing to tell */
    }
    int rc = dscat_table_lookup(&d, &candidates, st, dscat_catalog_path(cat), name, &err);
    store_put(st);
    dscat_table_detail_free(d);
    dscat_name_candidates_free(&candidates);
    return rc == 0 || rc == DSCAT_ECONFLICT ? 1 : rc == DSCAT_ENOTFOUND ? 0 : -1;
}

int dscat_catalog_joins(dscat_join_paths *out, dscat_catalog *cat, const char *table,
                        dscat_error *err)
{
    dscat_store *st = NULL;
    memset(out, 0, sizeof(*out));
    int rc = store_get(cat, &st, err);
    if (rc == 0)
        rc = dscat_join_paths_get(out, st, table, err);
    store_put(st);
    return rc;
}

int dscat_catalog_diff(dscat_diff *out, dscat_catalog *cat, const char *target, int64_t from,
                       int64_t to, dscat_error *err)
{
    dscat_store *st = NULL;
    memset(out, 0, sizeof(*out));
    int rc = store_get(cat, &st, err);
    if (rc == 0)
        rc = dscat_diff_get(out, st, target, from, to, err);
    store_put(st);
    return rc;
}

int dscat_catalog_annotations(dscat_annotation_list *out, dscat_catalog *cat, const char *table,
                              dscat_error *err)
{
    return dscat_annotations_read(out, dscat_catalog_path(cat), table, err);
}

int dscat_catalog_annotate(dscat_annotation *created, char **file, dscat_catalog *cat,
                           const char *table, const char *type, const char *content,
                           dscat_error *err)
{
    return dscat_annotation_add(created, file, dscat_catalog_path(cat), table, type, content, err);
}

int dscat_catalog_status(dscat_status **out, dscat_catalog *cat, bool state_only, dscat_error *err)
{
    assert(cat->cfg != NULL); /* not for a DSCAT_CATALOG_NO_CONFIG catalog */
    return state_only ? dscat_status_get_state(out, cat->cfg, err)
                      : dscat_status_get(out, cat->cfg, err);
}

int dscat_catalog_snapshot(char **dir_out, long *tables, long *columns, dscat_catalog *cat,
                           const char *root, const char *target, dscat_error *err)
{
    *dir_out = NULL;
    assert(cat->cfg != NULL); /* not for a DSCAT_CATALOG_NO_CONFIG catalog */
    if (target && dscat_config_target(cat->cfg, target) == NULL)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "No data found for target '%s'", target);
    dscat_store *st = NULL;
    int rc = store_get(cat, &st, err);
    if (rc == 0)
        rc = dscat_snapshot_write(st, dscat_catalog_path(cat), root, target, dir_out, tables,
                                  columns, err);
    store_put(st);
    return rc;
}

int dscat_catalog_cache_list(dscat_cache_listing *out, dscat_catalog *cat,
                             const char *connection_id, dscat_error *err)
{
    assert(cat->cfg != NULL); /* not for a DSCAT_CATALOG_NO_CONFIG catalog */
    return dscat_cache_list(out, cat->cfg, connection_id, err);
}

int dscat_catalog_query(dscat_query_result *out, dscat_catalog *cat, const char *sql,
                        size_t max_rows, dscat_error *err)
{
    assert(cat->cfg != NULL); /* not for a DSCAT_CATALOG_NO_CONFIG catalog */
    return dscat_cache_query(out, cat->cfg, sql, max_rows, err);
}
