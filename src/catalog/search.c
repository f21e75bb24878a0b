/*
 * Search (SPEC §8): literal, case-insensitive keyword matching with the older tool's weights.
 *
 * The index holds the current catalog in memory, dictionary-encoded: each distinct column name,
 * data type and comment is stored (lower-cased) once, and column rows refer to them by number.
 * A keyword is matched against the distinct strings only (tens of thousands, not every column
 * row), and scoring a column row is then a few array look-ups. The best `top` rows are kept in a
 * bounded heap, so a search costs one pass over the column rows whatever the number of hits.
 */
#include "dscat/find.h"

#include "catalog/search_index.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/strmap.h"
#include "core/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_KEYWORDS 64

static int blob_build(s_blob *b, const char *const *strings, size_t stride, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = *(const char *const *)((const char *)strings + i * stride);
        total += (s ? strlen(s) : 0) + 1;
    }
    b->text = dscat_malloc(total + 1);
    b->start = dscat_calloc(n + 1, sizeof(size_t));
    if (b->text == NULL || b->start == NULL)
        return DSCAT_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = *(const char *const *)((const char *)strings + i * stride);
        size_t l = s ? strlen(s) : 0;
        b->start[i] = k;
        memcpy(b->text + k, s ? s : "", l);
        k += l;
        b->text[k++] = '\0';
    }
    b->len = k;
    b->count = n;
    return 0;
}

static void blob_free(s_blob *b)
{
    dscat_free(b->text);
    dscat_free(b->start);
}

/* Adds weight to points[i] for every entry i holding kw (once per entry). */
static void blob_add(const s_blob *b, const char *kw, int *points, int weight)
{
    size_t kwlen = strlen(kw), pos = 0;
    while (kwlen && pos < b->len) {
        const char *hit = memmem(b->text + pos, b->len - pos, kw, kwlen);
        if (hit == NULL)
            break;
        size_t at = (size_t)(hit - b->text), lo = 0, hi = b->count;
        while (hi - lo > 1) { /* the last entry starting at or before the hit */
            size_t mid = (lo + hi) / 2;
            if (b->start[mid] <= at)
                lo = mid;
            else
                hi = mid;
        }
        points[lo] += weight;
        pos = lo + 1 < b->count ? b->start[lo + 1] : b->len;
    }
}

/* s case-folded for all of Unicode (dscat_text_fold), once, when the index is loaded. */
static char *lower_dup(dscat_arena *a, const char *s)
{
    if (s == NULL)
        return NULL;
    dscat_buf b = DSCAT_BUF_INIT;
    char *d = NULL;
    if (dscat_text_fold(&b, s, strlen(s)) == 0)
        d = dscat_arena_strndup(a, dscat_buf_cstr(&b), b.len);
    dscat_buf_free(&b);
    return d;
}

/* Makes room for one more entry; a new dictionary starts with id 0 = "". */
static int dict_reserve(s_dict *d)
{
    if (d->count < d->cap)
        return 0;
    size_t cap = d->cap ? d->cap * 2 : 256;
    const char **lower = dscat_realloc(d->lower, cap * sizeof(char *));
    if (lower == NULL)
        return DSCAT_ENOMEM;
    d->lower = lower;
    const char **text = dscat_realloc(d->text, cap * sizeof(char *));
    if (text == NULL)
        return DSCAT_ENOMEM;
    d->text = text;
    d->cap = cap;
    if (d->count == 0) {
        d->lower[0] = d->text[0] = "";
        d->count = 1;
    }
    return 0;
}

/* The id of s in a dictionary, adding it when new. 0 is the empty string. */
static int dict_id(s_dict *d, dscat_arena *a, const char *s, uint32_t *id)
{
    if (s == NULL || *s == '\0') {
        *id = 0;
        return 0;
    }
    size_t n = strlen(s), found;
    if (dscat_strmap_get(&d->map, s, n, &found)) {
        *id = (uint32_t)found;
        return 0;
    }
    if (dict_reserve(d))
        return DSCAT_ENOMEM;
    const char *t = dscat_arena_strndup(a, s, n);
    const char *l = lower_dup(a, s);
    if (t == NULL || l == NULL || dscat_strmap_put(&d->map, s, n, d->count))
        return DSCAT_ENOMEM;
    d->text[d->count] = t;
    d->lower[d->count] = l;
    *id = (uint32_t)d->count++;
    return 0;
}

/*
 * The current tables, once each, by (scan, table id): a table row may belong to the current
 * scans of two targets (the same database seen twice), as two tables of the index.
 */
static const char *const tables_sql =
    "SELECT t.scan_id, t.id, t.target, t.database, t.schema, t.name, t.row_estimate, t.comment "
    "FROM " DSCAT_CURRENT_TABLES " t ORDER BY t.scan_id, t.id";

/*
 * The column rows. Only the table's scan and id come with each row; the table's own fields come
 * once from tables_sql rather than again with each of its columns. SQLite's plan gives the rows
 * table by table and by position within a table, the order the index keeps; no ORDER BY asks
 * for it (that would sort every column row), so another engine's plan may give them in another
 * order, which the build puts right (the ordinal comes along for that).
 */
static const char *const load_sql =
    "SELECT t.scan_id, t.id, c.name, c.data_type, c.is_primary_key, c.is_foreign_key, "
    "c.fk_references, c.column_comment, c.ordinal "
    "FROM " DSCAT_CURRENT_TABLES " t CROSS JOIN columns c WHERE c.set_id = t.column_set";

/* A current table as tables_sql reads it (strings in the index's arena). */
typedef struct table_row {
    int64_t scan_id, id, rows;
    const char *target, *database, *schema, *name, *comment;
    bool added;     /* its s_table is in the index ... */
    uint32_t index; /* ... at this position */
} table_row;

typedef struct table_rows {
    table_row *items;
    size_t count, cap;
} table_rows;

static const char *col_text(dscat_stmt *s, int i)
{
    return dscat_stmt__text(s, i);
}

/*
 * Attaches every annotation's content (lower-cased, joined) to its table. Annotations name a
 * table as Db.Schema.Table; the map from those names to tables is built only when there are
 * annotations, in table order (so when two targets hold the same name, the later table has it).
 */
static int attach_annotations(dscat_search_index *idx, const char *catalog_dir, dscat_error *err)
{
    dscat_annotation_list list;
    dscat_strmap by_key = DSCAT_STRMAP_INIT;
    int rc = dscat_annotations_read(&list, catalog_dir, NULL, err);
    if (rc)
        return rc;
    for (size_t t = 0; list.count && t < idx->ntables; t++) {
        const s_table *x = &idx->tables[t];
        const char *parts[] = {x->database, x->schema, x->name};
        char *key = dscat_join_qualified(parts, 3);
        rc = key == NULL || dscat_strmap_put(&by_key, key, strlen(key), t);
        dscat_free(key);
        if (rc) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
    }
    for (size_t i = 0; i < list.count; i++) {
        size_t t;
        const char *key = list.items[i].table;
        if (!dscat_strmap_get(&by_key, key, strlen(key), &t))
            continue;
        s_table *st = &idx->tables[t];
        dscat_buf b = DSCAT_BUF_INIT;
        if (st->l_annotations)
            dscat_buf_printf(&b, "%s\n", st->l_annotations);
        dscat_buf_puts(&b, list.items[i].content);
        st->l_annotations = dscat_buf_error(&b) ? NULL : lower_dup(&idx->arena, dscat_buf_cstr(&b));
        dscat_buf_free(&b);
        if (st->l_annotations == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    dscat_strmap_free(&by_key);
    dscat_annotation_list_free(&list);
    return rc;
}

int dscat_search__finish(dscat_search_index *idx, const char *catalog_dir, dscat_error *err)
{
    int rc = attach_annotations(idx, catalog_dir, err);
    if (rc == 0 &&
        (blob_build(&idx->name_blob, idx->names.lower, sizeof(char *), idx->names.count) ||
         blob_build(&idx->table_blob, &idx->tables[0].l_name, sizeof(s_table), idx->ntables)))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return rc;
}

int dscat_search__stamp(dscat_store *st, dscat_search_stamp *stamp, dscat_error *err)
{
    memset(stamp, 0, sizeof(*stamp));
    stamp->generation = dscat_store__generation(st);
    dscat_store__catalog_id(st, stamp->catalog_id, sizeof(stamp->catalog_id));
    return dscat_store__fingerprint(st, stamp->fingerprint, sizeof(stamp->fingerprint), err);
}

/* Reads every current table into *rows (sorted by scan and id), strings into a. */
static int read_tables(table_rows *rows, dscat_store *st, dscat_arena *a, dscat_error *err)
{
    dscat_stmt *s = NULL;
    int rc = dscat_stmt__prepare(&s, st, tables_sql, err), step = DSCAT_STMT_DONE;
    while (rc == 0 && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        if (dscat_grow((void **)&rows->items, &rows->cap, rows->count, sizeof(table_row))) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        table_row *r = &rows->items[rows->count++];
        memset(r, 0, sizeof(*r));
        r->scan_id = dscat_stmt__int64(s, 0);
        r->id = dscat_stmt__int64(s, 1);
        r->target = dscat_arena_strdup(a, col_text(s, 2));
        r->database = dscat_arena_strdup(a, col_text(s, 3));
        r->schema = dscat_arena_strdup(a, col_text(s, 4));
        r->name = dscat_arena_strdup(a, col_text(s, 5));
        r->rows = dscat_stmt__is_null(s, 6) ? DSCAT_NULL_ESTIMATE : dscat_stmt__int64(s, 6);
        r->comment = dscat_stmt__is_null(s, 7) ? NULL : dscat_arena_strdup(a, col_text(s, 7));
        if (!r->target || !r->database || !r->schema || !r->name ||
            (r->comment == NULL && !dscat_stmt__is_null(s, 7)))
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    if (rc == 0 && step != DSCAT_STMT_DONE)
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    return rc;
}

/* The table (scan, id) of rows, or NULL. */
static table_row *find_table(const table_rows *rows, int64_t scan_id, int64_t id)
{
    size_t lo = 0, hi = rows->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        table_row *r = &rows->items[mid];
        if (r->scan_id == scan_id && r->id == id)
            return r;
        if (r->scan_id < scan_id || (r->scan_id == scan_id && r->id < id))
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Adds table r to the index: *t receives its position. 0 or DSCAT_ENOMEM (err left to the
 * caller). */
static int add_table(dscat_search_index *idx, size_t *tcap, table_row *r, size_t *t)
{
    if (idx->ntables == *tcap) {
        size_t cap = *tcap ? *tcap * 2 : 1024;
        s_table *g = dscat_realloc(idx->tables, cap * sizeof(*g));
        if (g == NULL)
            return DSCAT_ENOMEM;
        idx->tables = g;
        *tcap = cap;
    }
    *t = idx->ntables++;
    s_table *x = &idx->tables[*t];
    memset(x, 0, sizeof(*x));
    dscat_arena *a = &idx->arena;
    x->target = r->target;
    x->database = r->database;
    x->schema = r->schema;
    x->name = r->name;
    x->rows = r->rows;
    x->l_name = lower_dup(a, x->name);
    x->l_comment = lower_dup(a, r->comment);
    r->added = true;
    r->index = (uint32_t)*t;
    if (!x->l_name || (r->comment && !x->l_comment) ||
        dict_id(&idx->places, a, x->database, &x->database_id) ||
        dict_id(&idx->places, a, x->schema, &x->schema_id))
        return DSCAT_ENOMEM;
    return 0;
}

typedef struct column_key {
    uint32_t table;
    int ordinal;
    size_t at;
} column_key;

static int column_key_cmp(const void *a, const void *b)
{
    const column_key *x = a, *y = b;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    if (x->ordinal != y->ordinal)
        return x->ordinal < y->ordinal ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Puts the column rows table by table (in the tables' order) and by ordinal within a table. */
static int sort_columns(dscat_search_index *idx, const int *ordinals)
{
    size_t n = idx->ncolumns;
    column_key *k = dscat_calloc(n + 1, sizeof(*k));
    s_column *sorted = dscat_calloc(n + 1, sizeof(*sorted));
    if (k == NULL || sorted == NULL) {
        dscat_free(k);
        dscat_free(sorted);
        return DSCAT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (column_key){idx->columns[i].table, ordinals[i], i};
    qsort(k, n, sizeof(*k), column_key_cmp);
    for (size_t i = 0; i < n; i++)
        sorted[i] = idx->columns[k[i].at];
    dscat_free(idx->columns);
    idx->columns = sorted;
    dscat_free(k);
    return 0;
}

int dscat_search__build(dscat_search_index **out, dscat_store *st, dscat_search_stamp *stamp,
                        dscat_error *err)
{
    *out = NULL;
    dscat_stmt *s = NULL;
    table_rows rows = {NULL, 0, 0};
    size_t tcap = 0, ccap = 0, t = 0;
    int64_t last_scan = -1, last_id = -1;
    int *ordinals = NULL; /* of the column rows, for sort_columns */
    int last_ordinal = 0;
    bool unordered = false;
    int rc;
    bool reading = false;
    dscat_search_index *idx = dscat_calloc(1, sizeof(*idx));
    if (idx == NULL || dict_reserve(&idx->names) || dict_reserve(&idx->types) ||
        dict_reserve(&idx->comments) || dict_reserve(&idx->refs) || dict_reserve(&idx->places)) {
        dscat_search_index_free(idx);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    /* One snapshot: the current scans' tables and columns as one commit left them. */
    if ((rc = dscat_store__read_begin(st, err)))
        goto done;
    reading = true;
    if ((stamp && (rc = dscat_search__stamp(st, stamp, err))) ||
        (rc = read_tables(&rows, st, &idx->arena, err)) ||
        (rc = dscat_stmt__prepare(&s, st, load_sql, err)))
        goto done;
    int step;
    while ((step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        int64_t scan_id = dscat_stmt__int64(s, 0), id = dscat_stmt__int64(s, 1);
        int ordinal = dscat_stmt__int(s, 8);
        if (id != last_id || scan_id != last_scan) {
            last_id = id;
            last_scan = scan_id;
            table_row *r = find_table(&rows, scan_id, id);
            if (r == NULL) { /* not in the same snapshot: cannot be */
                rc = dscat_error_set(err, DSCAT_EIO,
                                     "catalog store: a column row of table %lld has no current "
                                     "table",
                                     (long long)id);
                goto done;
            }
            if (r->added) { /* the table's rows did not come together */
                t = r->index;
                unordered = true;
            } else if (add_table(idx, &tcap, r, &t)) {
                goto nomem;
            }
        } else if (ordinal <= last_ordinal) {
            unordered = true; /* not by position */
        }
        last_ordinal = ordinal;
        if (idx->ncolumns == ccap) {
            ccap = ccap ? ccap * 2 : 8192;
            s_column *g = dscat_realloc(idx->columns, ccap * sizeof(*g));
            int *o = dscat_realloc(ordinals, ccap * sizeof(*o));
            if (g)
                idx->columns = g;
            if (o)
                ordinals = o;
            if (g == NULL || o == NULL)
                goto nomem;
        }
        ordinals[idx->ncolumns] = ordinal;
        s_column *c = &idx->columns[idx->ncolumns++];
        c->table = (uint32_t)t;
        c->pk = dscat_stmt__int(s, 4) != 0;
        c->fk = dscat_stmt__int(s, 5) != 0;
        c->unused = 0;
        if (dict_id(&idx->names, &idx->arena, col_text(s, 2), &c->name_id) ||
            dict_id(&idx->types, &idx->arena, col_text(s, 3), &c->type_id) ||
            dict_id(&idx->comments, &idx->arena, col_text(s, 7), &c->comment_id) ||
            dict_id(&idx->refs, &idx->arena, col_text(s, 6), &c->refs_id))
            goto nomem;
    }
    if (step != DSCAT_STMT_DONE) {
        rc = dscat_store__step_error(st, err);
        goto done;
    }
    dscat_stmt__finalize(s);
    s = NULL;
    if (unordered && sort_columns(idx, ordinals))
        goto nomem;
    goto done;
nomem:
    rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    dscat_stmt__finalize(s);
    if (reading)
        dscat_store__read_end(st);
    dscat_free(rows.items);
    dscat_free(ordinals);
    /* The maps were only needed while loading. */
    dscat_strmap_free(&idx->names.map);
    dscat_strmap_free(&idx->types.map);
    dscat_strmap_free(&idx->comments.map);
    dscat_strmap_free(&idx->refs.map);
    dscat_strmap_free(&idx->places.map);
    if (rc) {
        dscat_search_index_free(idx);
        return rc;
    }
    *out = idx;
    return 0;
}

int dscat_search_index_load(dscat_search_index **out, dscat_store *st, const char *catalog_dir,
                            dscat_error *err)
{
    int rc = dscat_search__build(out, st, NULL, err);
    if (rc == 0 && (rc = dscat_search__finish(*out, catalog_dir, err))) {
        dscat_search_index_free(*out);
        *out = NULL;
    }
    return rc;
}

void dscat_search_index_free(dscat_search_index *idx)
{
    if (idx == NULL)
        return;
    dscat_free(idx->tables);
    if (idx->map)
        munmap(idx->map, idx->map_len);
    else
        dscat_free(idx->columns);
    blob_free(&idx->name_blob);
    blob_free(&idx->table_blob);
    s_dict *dicts[] = {&idx->names, &idx->types, &idx->comments, &idx->refs, &idx->places};
    for (size_t i = 0; i < 5; i++) {
        dscat_free(dicts[i]->lower);
        dscat_free(dicts[i]->text);
        dscat_strmap_free(&dicts[i]->map);
    }
    dscat_arena_free(&idx->arena);
    dscat_free(idx);
}

size_t dscat_search_index_columns(const dscat_search_index *idx)
{
    return idx->ncolumns;
}

static bool has(const char *haystack, const char *kw)
{
    return haystack && strstr(haystack, kw) != NULL;
}

/*
 * Splits the keywords on white space and case-folds each (as the index was); returns how many
 * (at most MAX_KEYWORDS). The keywords are NUL-separated in *folded, which the caller frees.
 */
static size_t split_keywords(const dscat_search_options *o, dscat_buf *folded, const char **kws)
{
    size_t n = 0, offsets[MAX_KEYWORDS];
    for (size_t i = 0; i < o->nkeywords; i++) {
        const char *p = o->keywords[i];
        while (*p && n < MAX_KEYWORDS) {
            while (*p && isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            const char *start = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
            offsets[n] = folded->len;
            if (dscat_text_fold(folded, start, (size_t)(p - start)) || dscat_buf_putc(folded, '\0'))
                return 0; /* the caller finds the failure in *folded */
            n++;
        }
    }
    for (size_t k = 0; k < n; k++)
        kws[k] = dscat_buf_cstr(folded) + offsets[k];
    return n;
}

/* One scored column row. */
typedef struct cand {
    uint32_t column;
    int relevance;
    int own; /* points from the column's own fields (name, type, comment) */
} cand;

/* Ranking: relevance, then larger row estimate, then names. Negative when a ranks before b. */
static int rank_cmp(const dscat_search_index *idx, const cand *a, const cand *b)
{
    if (a->relevance != b->relevance)
        return a->relevance > b->relevance ? -1 : 1;
    const s_column *ca = &idx->columns[a->column], *cb = &idx->columns[b->column];
    const s_table *ta = &idx->tables[ca->table], *tb = &idx->tables[cb->table];
    if (ta->rows != tb->rows)
        return ta->rows > tb->rows ? -1 : 1;
    int c;
    if ((c = strcmp(ta->database, tb->database)) || (c = strcmp(ta->schema, tb->schema)) ||
        (c = strcmp(ta->name, tb->name)) ||
        (c = strcmp(idx->names.text[ca->name_id], idx->names.text[cb->name_id])))
        return c;
    return strcmp(ta->target, tb->target);
}

/* A bounded max-heap of the best `cap` candidates, the worst at the root. */
typedef struct heap {
    cand *items;
    size_t count, cap;
    const dscat_search_index *idx;
} heap;

static void sift_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, worst = i;
        if (l < h->count && rank_cmp(h->idx, &h->items[l], &h->items[worst]) > 0)
            worst = l;
        if (r < h->count && rank_cmp(h->idx, &h->items[r], &h->items[worst]) > 0)
            worst = r;
        if (worst == i)
            return;
        cand t = h->items[i];
        h->items[i] = h->items[worst];
        h->items[worst] = t;
        i = worst;
    }
}

static void heap_offer(heap *h, cand c)
{
    if (h->count < h->cap) {
        size_t i = h->count++;
        h->items[i] = c;
        while (i > 0 && rank_cmp(h->idx, &h->items[(i - 1) / 2], &h->items[i]) < 0) {
            cand t = h->items[i];
            h->items[i] = h->items[(i - 1) / 2];
            h->items[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (h->cap && rank_cmp(h->idx, &c, &h->items[0]) < 0) {
        h->items[0] = c;
        sift_down(h, 0);
    }
}

static int sort_cmp(const void *a, const void *b, void *idx)
{
    return rank_cmp(idx, a, b);
}

/* Per-keyword match tables over the dictionaries and tables. */
typedef struct matches {
    int *table_points;  /* name 3, database 1, schema 1, annotation 1, per keyword */
    uint64_t *tcomment; /* keywords found in the table comment */
    int *name_points;   /* column names: 2 per keyword */
    int *type_points;   /* data types: 1 per keyword */
    uint64_t *ccomment; /* keywords found in the column comment */
    int *place_points;  /* database and schema names: 1 per keyword */
    bool *allowed;      /* the filters */
} matches;

static void free_matches(matches *m)
{
    dscat_free(m->table_points);
    dscat_free(m->tcomment);
    dscat_free(m->name_points);
    dscat_free(m->type_points);
    dscat_free(m->ccomment);
    dscat_free(m->allowed);
    dscat_free(m->place_points);
}

static int compute_matches(matches *m, const dscat_search_index *idx, const dscat_search_options *o,
                           const char **kws, size_t nk)
{
    memset(m, 0, sizeof(*m));
    m->table_points = dscat_calloc(idx->ntables + 1, sizeof(int));
    m->tcomment = dscat_calloc(idx->ntables + 1, sizeof(uint64_t));
    m->allowed = dscat_calloc(idx->ntables + 1, sizeof(bool));
    m->name_points = dscat_calloc(idx->names.count + 1, sizeof(int));
    m->type_points = dscat_calloc(idx->types.count + 1, sizeof(int));
    m->ccomment = dscat_calloc(idx->comments.count + 1, sizeof(uint64_t));
    m->place_points = dscat_calloc(idx->places.count + 1, sizeof(int));
    if (!m->table_points || !m->tcomment || !m->allowed || !m->name_points || !m->type_points ||
        !m->ccomment || !m->place_points)
        return DSCAT_ENOMEM;
    for (size_t k = 0; k < nk; k++)
        for (size_t i = 1; i < idx->places.count; i++)
            m->place_points[i] += has(idx->places.lower[i], kws[k]);
    for (size_t k = 0; k < nk; k++)
        blob_add(&idx->table_blob, kws[k], m->table_points, 3);
    for (size_t t = 0; t < idx->ntables; t++) {
        const s_table *x = &idx->tables[t];
        m->allowed[t] = (!o->target || strcmp(o->target, x->target) == 0) &&
                        (!o->database || strcmp(o->database, x->database) == 0) &&
                        (!o->schema || strcmp(o->schema, x->schema) == 0);
        if (!m->allowed[t])
            continue;
        m->table_points[t] += m->place_points[x->database_id] + m->place_points[x->schema_id];
        for (size_t k = 0; k < nk; k++) {
            m->table_points[t] += has(x->l_annotations, kws[k]);
            if (has(x->l_comment, kws[k]))
                m->tcomment[t] |= 1ULL << k;
        }
    }
    for (size_t k = 0; k < nk; k++) {
        blob_add(&idx->name_blob, kws[k], m->name_points, 2);
        for (size_t i = 1; i < idx->types.count; i++)
            m->type_points[i] += has(idx->types.lower[i], kws[k]);
        for (size_t i = 1; i < idx->comments.count; i++)
            if (has(idx->comments.lower[i], kws[k]))
                m->ccomment[i] |= 1ULL << k;
    }
    return 0;
}

static void fill_hit(dscat_search_hit *h, const dscat_search_index *idx, const cand *c)
{
    const s_column *col = &idx->columns[c->column];
    const s_table *t = &idx->tables[col->table];
    *h = (dscat_search_hit){.target = t->target,
                            .database = t->database,
                            .schema = t->schema,
                            .table_name = t->name,
                            .column_name = idx->names.text[col->name_id],
                            .data_type = idx->types.text[col->type_id],
                            .is_primary_key = col->pk,
                            .is_foreign_key = col->fk,
                            .fk_references = idx->refs.text[col->refs_id],
                            .row_count_estimate = t->rows,
                            .relevance = c->relevance};
}

int dscat_search(dscat_search_result *out, const dscat_search_index *idx,
                 const dscat_search_options *o, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    /* The keywords, case-folded, each whole however long (a name of any length is a keyword). */
    dscat_buf buf = DSCAT_BUF_INIT;
    const char *kws[MAX_KEYWORDS];
    size_t nk = split_keywords(o, &buf, kws);
    size_t top = o->top ? o->top : 20;
    if (nk == 0) {
        int failed = dscat_buf_check(&buf, err, "the search keywords");
        dscat_buf_free(&buf);
        return failed;
    }
    matches m;
    heap h = {dscat_calloc(top + 1, sizeof(cand)), 0, top, idx};
    cand *per_table = NULL;
    dscat_buf *lists = NULL;
    int rc = compute_matches(&m, idx, o, kws, nk);
    if (rc || h.items == NULL)
        goto nomem;
    if (o->by_table) {
        per_table = dscat_calloc(idx->ntables + 1, sizeof(cand));
        lists = dscat_calloc(idx->ntables + 1, sizeof(dscat_buf));
        if (per_table == NULL || lists == NULL)
            goto nomem;
    }
    for (size_t i = 0; i < idx->ncolumns; i++) {
        const s_column *c = &idx->columns[i];
        if (!m.allowed[c->table])
            continue;
        out->searched++; /* "searched N columns" counts what the filters left */
        uint64_t comment = m.tcomment[c->table] | m.ccomment[c->comment_id];
        int own = m.name_points[c->name_id] + m.type_points[c->type_id];
        int score = m.table_points[c->table] + own;
        if (comment) /* rare: keep the count out of the common path */
            score += __builtin_popcountll(comment);
        if (score == 0)
            continue;
        cand cd = {(uint32_t)i, score + 2 * c->pk + c->fk, own + (m.ccomment[c->comment_id] != 0)};
        if (!o->by_table) {
            heap_offer(&h, cd);
            continue;
        }
        cand *pt = &per_table[c->table];
        if (pt->relevance == 0 || rank_cmp(idx, &cd, pt) < 0)
            *pt = cd;
        if (cd.own > 0)
            dscat_buf_printf(&lists[c->table], "%s%s", lists[c->table].len ? ", " : "",
                             idx->names.text[c->name_id]);
    }
    if (o->by_table)
        for (size_t t = 0; t < idx->ntables; t++)
            if (per_table[t].relevance > 0)
                heap_offer(&h, per_table[t]);
    qsort_r(h.items, h.count, sizeof(cand), sort_cmp, (void *)idx);
    out->hits = dscat_calloc(h.count + 1, sizeof(*out->hits));
    if (out->hits == NULL)
        goto nomem;
    dscat_buf all = DSCAT_BUF_INIT;
    size_t *offsets = dscat_calloc(h.count + 1, sizeof(size_t));
    for (size_t i = 0; i < h.count && offsets; i++) {
        fill_hit(&out->hits[i], idx, &h.items[i]);
        if (o->by_table) {
            offsets[i] = all.len;
            dscat_buf_puts(&all, dscat_buf_cstr(&lists[idx->columns[h.items[i].column].table]));
            dscat_buf_putc(&all, '\0');
        }
    }
    out->count = h.count;
    /* Whole or nothing: a lost list of matching columns fails the search. */
    bool lost = offsets == NULL;
    for (size_t t = 0; o->by_table && t < idx->ntables; t++)
        lost = lost || dscat_buf_error(&lists[t]);
    if (!lost && o->by_table && (out->arena_ = dscat_buf_detach(&all)) == NULL)
        lost = true;
    dscat_buf_free(&all);
    if (lost) {
        dscat_free(offsets);
        dscat_search_result_free(out);
        goto nomem;
    }
    for (size_t i = 0; i < h.count && o->by_table; i++)
        out->hits[i].matching_columns = out->arena_ + offsets[i];
    dscat_free(offsets);
    goto done;
nomem:
    rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
done:
    if (lists)
        for (size_t t = 0; t < idx->ntables; t++)
            dscat_buf_free(&lists[t]);
    dscat_free(lists);
    dscat_free(per_table);
    dscat_free(h.items);
    free_matches(&m);
    dscat_buf_free(&buf);
    return rc;
}

void dscat_search_result_free(dscat_search_result *r)
{
    dscat_free(r->hits);
    dscat_free(r->arena_);
    memset(r, 0, sizeof(*r));
}
