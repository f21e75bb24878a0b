/*
 * Content addresses of a database scan (content.h). Each hashed record is a sequence of fields,
 * each written with its kind and length, so that no two different contents serialise alike:
 * a text as 'T', its length (8 bytes) and its bytes, a NULL text as 'N', an integer as 'I' and
 * 8 bytes (DSCAT_NULL included, as it is stored: NULL).
 */
#include "store/content.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

/* A record on its way into the hash, gathered in a block so that the hash is fed in long runs
 * rather than field by field. */
typedef struct feed {
    dscat_siphash h;
    size_t n;
    uint8_t block[1024];
} feed;

static void feed_init(feed *f, const uint8_t key[16])
{
    dscat_siphash_init(&f->h, key);
    f->n = 0;
}

static void feed_bytes(feed *f, const void *data, size_t len)
{
    if (f->n + len > sizeof(f->block)) {
        dscat_siphash_update(&f->h, f->block, f->n);
        f->n = 0;
        if (len > sizeof(f->block)) {
            dscat_siphash_update(&f->h, data, len);
            return;
        }
    }
    memcpy(f->block + f->n, data, len);
    f->n += len;
}

static void feed_final(feed *f, dscat_content_hash out)
{
    dscat_siphash_update(&f->h, f->block, f->n);
    dscat_siphash_final(&f->h, out);
}

/* Makes room for len bytes (at most the block's size) in the block. */
static inline void feed_room(feed *f, size_t len)
{
    if (f->n + len > sizeof(f->block)) {
        dscat_siphash_update(&f->h, f->block, f->n);
        f->n = 0;
    }
}

/* A kind byte and v's 8 bytes, little-endian, into a block with room for them. */
static inline void block_field(feed *f, char kind, uint64_t v)
{
    uint8_t *p = f->block + f->n;
    p[0] = (uint8_t)kind;
    for (int i = 0; i < 8; i++)
        p[1 + i] = (uint8_t)(v >> (8 * i));
    f->n += 9;
}

static void put_kind(feed *f, char kind)
{
    feed_room(f, 1);
    f->block[f->n++] = (uint8_t)kind;
}

/* Fields are written straight into the block (the hot path: a column's ~18 fields); a text too
 * long for the block goes through feed_bytes. */
static inline void put_text(feed *f, const char *s)
{
    if (s == NULL) {
        put_kind(f, 'N');
        return;
    }
    size_t n = strlen(s);
    if (n > sizeof(f->block) - 9) {
        feed_room(f, 9);
        block_field(f, 'T', n);
        feed_bytes(f, s, n);
        return;
    }
    feed_room(f, 9 + n);
    block_field(f, 'T', n);
    memcpy(f->block + f->n, s, n);
    f->n += n;
}

static inline void put_int(feed *f, int64_t v)
{
    if (v == DSCAT_NULL) {
        put_kind(f, 'N');
        return;
    }
    feed_room(f, 9);
    block_field(f, 'I', (uint64_t)v);
}

static void put_hash(feed *f, const dscat_content_hash x)
{
    put_kind(f, 'H');
    feed_bytes(f, x, sizeof(dscat_content_hash));
}

/* Builds the fk_refs array (see content.h). Returns NULL when out of memory. */
static char **build_fk_refs(const dscat_db_scan *d)
{
    char **refs = dscat_calloc(d->columns.count + 1, sizeof(char *));
    for (size_t i = 0; refs && i < d->fks.count; i++) {
        const dscat_fk_info *fk = &d->fks.items[i];
        long c = dscat_db_scan_find_column(d, fk->table, fk->column);
        if (c < 0)
            continue;
        dscat_buf b = DSCAT_BUF_INIT;
        if (refs[c])
            dscat_buf_printf(&b, "%s, ", refs[c]);
        dscat_buf_printf(&b, "%s.%s.%s", fk->ref_schema, fk->ref_table, fk->ref_column);
        dscat_free(refs[c]);
        refs[c] = dscat_buf_error(&b) ? NULL : dscat_buf_detach(&b);
        dscat_buf_free(&b);
        if (refs[c] == NULL) {
            for (size_t k = 0; k < d->columns.count; k++)
                dscat_free(refs[k]);
            dscat_free(refs);
            return NULL;
        }
    }
    return refs;
}

/* Mixes a string (with its terminator, so that "ab","c" differs from "a","bc") into a hash. */
static uint64_t mix_str(uint64_t h, const char *s)
{
    const char *p = s ? s : "\x01null";
    do {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    } while (*p++);
    return h;
}

static uint64_t mix_int(uint64_t h, int64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint64_t)(v >> (i * 8)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

/*
 * A signature per table over everything a schema change can touch: its type and each column's
 * position, name, types, nullability, generation, hiddenness, default and keys. Two scans' tables
 * with equal signatures are unchanged, so change detection compares columns only where signatures
 * differ. It is not a content address (statistics, comments and sizes are not in it); it keeps
 * the values earlier stores hold, so that a scan compares with one written before.
 */
static int64_t *table_signatures(const dscat_db_scan *d, char *const *refs)
{
    uint64_t *h = dscat_calloc(d->tables.count + 1, sizeof(*h));
    if (h == NULL)
        return NULL;
    for (size_t i = 0; i < d->tables.count; i++)
        h[i] = mix_str(1469598103934665603ULL, d->tables.items[i].type);
    for (size_t i = 0; i < d->columns.count; i++) {
        const dscat_column_info *c = &d->columns.items[i];
        uint64_t x = mix_int(1469598103934665603ULL, c->ordinal);
        x = mix_str(x, c->name);
        x = mix_str(x, c->data_type);
        x = mix_str(x, c->column_type);
        x = mix_str(x, c->default_value);
        /* The generation and hidden bits are 0 for ordinary columns, so that their tables keep
         * the signatures they had before these facts were recorded. */
        int gen = c->generated == NULL ? 0 : strcmp(c->generated, "STORED") == 0 ? 4 : 8;
        x = mix_int(x, (c->nullable ? 1 : 0) | (c->is_pk ? 2 : 0) | gen | (c->hidden ? 16 : 0));
        x = mix_str(x, refs[i] ? refs[i] : "");
        h[c->table] += x * 0x9E3779B97F4A7C15ULL; /* order-independent over columns */
    }
    return (int64_t *)h;
}

/* Groups items by their table (a counting sort that keeps the driver's order within a table):
 * start[t] .. start[t + 1] index order[]. */
static int group_by_table(size_t **start_out, size_t **order_out, size_t ntables, size_t n,
                          const void *items, size_t size, size_t table_offset)
{
    size_t *start = dscat_calloc(ntables + 2, sizeof(*start));
    size_t *order = dscat_calloc(n + 1, sizeof(*order));
    *start_out = start;
    *order_out = order;
    if (start == NULL || order == NULL)
        return DSCAT_ENOMEM;
    const char *base = items;
    for (size_t i = 0; i < n; i++) {
        size_t t;
        memcpy(&t, base + i * size + table_offset, sizeof(t));
        start[t + 2]++;
    }
    for (size_t t = 2; t < ntables + 2; t++)
        start[t] += start[t - 1];
    for (size_t i = 0; i < n; i++) {
        size_t t;
        memcpy(&t, base + i * size + table_offset, sizeof(t));
        order[start[t + 1]++] = i;
    }
    return 0;
}

static int compare_hash(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(dscat_content_hash));
}

/* Sorts a[0..n) by key[a[i]], equal keys kept in their order (insertion sort: a table's columns
 * come nearly always in order already). */
static void sort_by_ordinal(size_t *a, size_t n, const dscat_column_info *cols)
{
    for (size_t i = 1; i < n; i++) {
        size_t x = a[i], k = i;
        for (; k > 0 && cols[a[k - 1]].ordinal > cols[x].ordinal; k--)
            a[k] = a[k - 1];
        a[k] = x;
    }
}

/* qsort_r over table indexes by (schema, name), the byte order of SQLite's BINARY collation. */
static int compare_tables(const void *a, const void *b, void *scan)
{
    const dscat_db_scan *d = scan;
    const dscat_table_info *x = &d->tables.items[*(const size_t *)a];
    const dscat_table_info *y = &d->tables.items[*(const size_t *)b];
    int c = strcmp(x->schema, y->schema);
    if (c == 0)
        c = strcmp(x->name, y->name);
    if (c == 0)
        c = *(const size_t *)a < *(const size_t *)b ? -1 : 1;
    return c;
}

int dscat_scan_order_build(dscat_scan_order *o, const dscat_db_scan *d, dscat_error *err)
{
    memset(o, 0, sizeof(*o));
    size_t nt = d->tables.count;
    o->ncolumns = d->columns.count;
    if ((o->fk_refs = build_fk_refs(d)) == NULL ||
        group_by_table(&o->column_start, &o->column_order, nt, d->columns.count, d->columns.items,
                       sizeof(dscat_column_info), offsetof(dscat_column_info, table)) ||
        group_by_table(&o->fk_start, &o->fk_order, nt, d->fks.count, d->fks.items,
                       sizeof(dscat_fk_info), offsetof(dscat_fk_info, table)) ||
        (o->table_order = dscat_calloc(nt + 1, sizeof(size_t))) == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    for (size_t t = 0; t < nt; t++) {
        /* Columns by position: the same table hashes alike whatever order a server sent them. */
        sort_by_ordinal(o->column_order + o->column_start[t],
                        o->column_start[t + 1] - o->column_start[t], d->columns.items);
        if (!d->tables.items[t].excluded)
            o->table_order[o->ntables++] = t;
    }
    qsort_r(o->table_order, o->ntables, sizeof(size_t), compare_tables, (void *)d);
    return 0;
}

void dscat_scan_order_free(dscat_scan_order *o)
{
    for (size_t i = 0; o->fk_refs && i < o->ncolumns; i++)
        dscat_free(o->fk_refs[i]);
    dscat_free(o->fk_refs);
    dscat_free(o->column_start);
    dscat_free(o->column_order);
    dscat_free(o->fk_start);
    dscat_free(o->fk_order);
    dscat_free(o->table_order);
    memset(o, 0, sizeof(*o));
}

int dscat_scan_content_build(dscat_scan_content *c, const dscat_db_scan *d, const char *target,
                             const uint8_t key[16], dscat_error *err)
{
    memset(c, 0, sizeof(*c));
    const dscat_scan_order *o = &c->order;
    size_t nt = d->tables.count;
    dscat_content_hash *sorted = NULL;
    size_t nsorted = 0;
    feed h;
    int rc = dscat_scan_order_build(&c->order, d, err);
    if (rc)
        return rc;
    if ((c->signatures = table_signatures(d, o->fk_refs)) == NULL ||
        (c->column_sets = dscat_calloc(nt + 1, sizeof(dscat_content_hash))) == NULL ||
        (c->tables = dscat_calloc(nt + 1, sizeof(dscat_content_hash))) == NULL ||
        (sorted = dscat_calloc(nt + 1, sizeof(dscat_content_hash))) == NULL) {
        dscat_free(sorted);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    for (size_t t = 0; t < nt; t++) {
        const dscat_table_info *ti = &d->tables.items[t];
        feed_init(&h, key);
        for (size_t k = o->column_start[t]; k < o->column_start[t + 1]; k++) {
            size_t i = o->column_order[k];
            const dscat_column_info *col = &d->columns.items[i];
            put_kind(&h, 'C');
            put_int(&h, col->ordinal);
            put_text(&h, col->name);
            put_text(&h, col->data_type);
            put_text(&h, col->column_type);
            put_int(&h, col->nullable);
            put_int(&h, col->is_pk);
            put_text(&h, o->fk_refs[i]);
            put_int(&h, col->max_length);
            put_int(&h, col->precision);
            put_int(&h, col->scale);
            put_text(&h, col->default_value);
            put_text(&h, col->comment);
            put_int(&h, col->null_count);
            put_int(&h, col->distinct_count);
            put_int(&h, col->profiled_rows);
            put_text(&h, col->generated);
            put_int(&h, col->hidden);
        }
        for (size_t k = o->fk_start[t]; k < o->fk_start[t + 1]; k++) {
            const dscat_fk_info *fk = &d->fks.items[o->fk_order[k]];
            put_kind(&h, 'F');
            put_text(&h, fk->column);
            put_text(&h, fk->ref_schema);
            put_text(&h, fk->ref_table);
            put_text(&h, fk->ref_column);
        }
        feed_final(&h, c->column_sets[t]);
        feed_init(&h, key);
        put_text(&h, target);
        put_text(&h, d->database);
        put_text(&h, ti->schema);
        put_text(&h, ti->name);
        put_text(&h, ti->type);
        put_int(&h, ti->row_estimate);
        put_int(&h, ti->size_bytes);
        put_text(&h, ti->comment);
        put_int(&h, ti->last_modified_us);
        put_int(&h, c->signatures[t]);
        put_hash(&h, c->column_sets[t]);
        feed_final(&h, c->tables[t]);
        if (!ti->excluded)
            memcpy(sorted[nsorted++], c->tables[t], sizeof(dscat_content_hash));
    }
    /* A set of tables: the same tables reported in another order are the same set. */
    qsort(sorted, nsorted, sizeof(dscat_content_hash), compare_hash);
    feed_init(&h, key);
    put_text(&h, target);
    put_text(&h, d->database);
    for (size_t i = 0; i < nsorted; i++)
        put_hash(&h, sorted[i]);
    feed_final(&h, c->table_set);
    dscat_free(sorted);
    return 0;
}

void dscat_scan_content_free(dscat_scan_content *c)
{
    dscat_scan_order_free(&c->order);
    dscat_free(c->signatures);
    dscat_free(c->column_sets);
    dscat_free(c->tables);
    memset(c, 0, sizeof(*c));
}

bool dscat_content_key_parse(const char *hex, uint8_t key[16])
{
    bool ok = hex != NULL && strlen(hex) == 32;
    for (int i = 0; ok && i < 16; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2 && ok; k++) {
            char ch = hex[2 * i + k];
            int x = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            ok = x >= 0;
            v = v * 16 + (unsigned)(ok ? x : 0);
        }
        key[i] = (uint8_t)v;
    }
    return ok;
}
