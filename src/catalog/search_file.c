/*
 * search.idx: the search index persisted beside the store, so that a process answering one
 * search maps a file instead of reading 200,000 column rows out of SQLite and dictionary-encoding
 * them. The format is in docs/search-index.md.
 *
 * The file holds the catalog part of the index only (tables, column rows, the dictionaries);
 * annotations change without a refresh and are attached when the file is opened, exactly as when
 * the index is built from the store. The file is input: every section, offset, length and id is
 * checked before use, and a file that fails a check is ignored (and rebuilt).
 */
#include "catalog/search_index.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAGIC "DSCATSIX"
#define IDX_VERSION 2u
#define IDX_BYTE_ORDER 0x01020304u
#define IDX_NULL UINT32_MAX /* a string offset for "no string" */

/* Sections, in file order. */
enum {
    SEC_FINGERPRINT, /* the stamp's fingerprint, NUL-terminated */
    SEC_CONTENT,     /* the content key (content_key) */
    SEC_TABLES,      /* f_table records */
    SEC_TABLE_TEXT,  /* the tables' strings, each NUL-terminated */
    SEC_COLUMNS,     /* s_column records */
    SEC_DICT0,       /* per dictionary: f_entry records, then its strings */
    NSECTIONS = SEC_DICT0 + 2 * S_NDICTS
};

typedef struct f_section {
    uint64_t offset, length, count;
} f_section;

typedef struct f_header {
    char magic[8];
    uint32_t version, byte_order;
    int64_t generation;
    char catalog_id[48];
    uint64_t file_size;
    uint64_t checksum; /* of every byte of the file, this field counted as zero */
    uint32_t nsections, unused;
    f_section sections[NSECTIONS];
} f_header;

typedef struct f_table {
    uint32_t target, database, schema, name, l_name, l_comment; /* offsets in SEC_TABLE_TEXT */
    uint32_t database_id, schema_id;
    int64_t rows;
} f_table;

typedef struct f_entry {
    uint32_t text, lower; /* offsets in the dictionary's strings */
} f_entry;

_Static_assert(sizeof(s_column) == 24, "s_column is the file's column record");
_Static_assert(sizeof(f_table) == 40, "f_table has no padding");
_Static_assert(sizeof(f_header) % 8 == 0, "sections start 8-aligned");

static char *idx_path(const char *catalog_dir)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&b, "%s/search.idx", catalog_dir))
        return NULL;
    return dscat_buf_detach(&b);
}

/* Mixes len bytes (a multiple of 8) into the running checksum h. */
static uint64_t mix(uint64_t h, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* The checksum of a file of header hdr and body (len bytes, a multiple of 8), the header's
 * checksum field counted as zero: cheap enough to run per open. */
static uint64_t checksum(const f_header *hdr, const unsigned char *body, size_t len)
{
    f_header z;
    memcpy(&z, hdr, sizeof(z));
    z.checksum = 0;
    uint64_t h = mix(0x9e3779b97f4a7c15ULL, (const unsigned char *)&z, sizeof(z));
    return mix(h, body, len) ^ (len + sizeof(z));
}

/* ---- writing ------------------------------------------------------------------------------- */

/* A growing string area with uint32 offsets; too large for uint32 is an error. */
static int text_add(dscat_buf *b, const char *s, uint32_t *off)
{
    if (s == NULL) {
        *off = IDX_NULL;
        return 0;
    }
    size_t at = b->len, n = strlen(s);
    if (at + n + 1 >= IDX_NULL)
        return DSCAT_EINVALID;
    *off = (uint32_t)at;
    return dscat_buf_put(b, s, n + 1) ? DSCAT_ENOMEM : 0;
}

/* Pads b with zeros to a multiple of 8 bytes. */
static int pad8(dscat_buf *b)
{
    static const char zeros[8] = {0};
    return b->len % 8 ? dscat_buf_put(b, zeros, 8 - b->len % 8) : 0;
}

/*
 * Appends one section to the file being assembled in memory (its header's room first), at the
 * offset it will have in the file. The sections are small next to the catalog itself, so the
 * file is assembled once.
 */
static int add_section(dscat_buf *body, f_section *sec, const void *data, size_t len, size_t count)
{
    sec->offset = body->len;
    sec->length = len;
    sec->count = count;
    if ((len && dscat_buf_put(body, data, len)) || pad8(body))
        return DSCAT_ENOMEM;
    return 0;
}

static int serialise(dscat_buf *body, f_header *h, const dscat_search_index *idx,
                     const dscat_search_stamp *stamp, const dscat_buf *key)
{
    dscat_buf text = DSCAT_BUF_INIT, recs = DSCAT_BUF_INIT;
    int rc = add_section(body, &h->sections[SEC_FINGERPRINT], stamp->fingerprint,
                         strlen(stamp->fingerprint) + 1, 0);
    if (rc == 0)
        rc = add_section(body, &h->sections[SEC_CONTENT], key->ptr, key->len, 0);
    for (size_t t = 0; rc == 0 && t < idx->ntables; t++) {
        const s_table *x = &idx->tables[t];
        f_table r = {.database_id = x->database_id, .schema_id = x->schema_id, .rows = x->rows};
        if ((rc = text_add(&text, x->target, &r.target)) ||
            (rc = text_add(&text, x->database, &r.database)) ||
            (rc = text_add(&text, x->schema, &r.schema)) ||
            (rc = text_add(&text, x->name, &r.name)) ||
            (rc = text_add(&text, x->l_name, &r.l_name)) ||
            (rc = text_add(&text, x->l_comment, &r.l_comment)))
            break;
        if (dscat_buf_put(&recs, &r, sizeof(r)))
            rc = DSCAT_ENOMEM;
    }
    if (rc == 0 &&
        (rc = add_section(body, &h->sections[SEC_TABLES], recs.ptr, recs.len, idx->ntables)) == 0)
        rc = add_section(body, &h->sections[SEC_TABLE_TEXT], text.ptr, text.len, 0);
    if (rc == 0)
        rc = add_section(body, &h->sections[SEC_COLUMNS], idx->columns,
                         idx->ncolumns * sizeof(s_column), idx->ncolumns);
    const s_dict *dicts[] = S_DICTS(idx);
    for (size_t d = 0; rc == 0 && d < S_NDICTS; d++) {
        dscat_buf_reset(&text);
        dscat_buf_reset(&recs);
        for (size_t i = 0; rc == 0 && i < dicts[d]->count; i++) {
            f_entry e;
            if ((rc = text_add(&text, dicts[d]->text[i], &e.text)) ||
                (rc = text_add(&text, dicts[d]->lower[i], &e.lower)))
                break;
            if (dscat_buf_put(&recs, &e, sizeof(e)))
                rc = DSCAT_ENOMEM;
        }
        if (rc == 0 && (rc = add_section(body, &h->sections[SEC_DICT0 + 2 * d], recs.ptr, recs.len,
                                         dicts[d]->count)) == 0)
            rc = add_section(body, &h->sections[SEC_DICT0 + 2 * d + 1], text.ptr, text.len, 0);
    }
    dscat_buf_free(&text);
    dscat_buf_free(&recs);
    return rc;
}

/* Writes idx (built from the snapshot `stamp` describes, whose content key is key) to path,
 * atomically. */
static int write_file(const char *path, const dscat_search_index *idx,
                      const dscat_search_stamp *stamp, const dscat_buf *key, dscat_error *err)
{
    f_header h;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, IDX_MAGIC, 8);
    h.version = IDX_VERSION;
    h.byte_order = IDX_BYTE_ORDER;
    h.generation = stamp->generation;
    memcpy(h.catalog_id, stamp->catalog_id, sizeof(h.catalog_id));
    h.nsections = NSECTIONS;
    /* The whole file in one buffer: the header's room, then the sections; the header last. */
    dscat_buf file = DSCAT_BUF_INIT;
    int rc =
        dscat_buf_put(&file, &h, sizeof(h)) ? DSCAT_ENOMEM : serialise(&file, &h, idx, stamp, key);
    if (rc == DSCAT_EINVALID)
        rc = dscat_error_set(err, rc, "cannot write %s: the catalog's strings exceed 4 GiB", path);
    else if (rc)
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (rc == 0) {
        h.file_size = file.len;
        h.checksum =
            checksum(&h, (const unsigned char *)file.ptr + sizeof(h), file.len - sizeof(h));
        memcpy(file.ptr, &h, sizeof(h));
        rc = dscat_atomic_write(path, file.ptr, file.len, err);
    }
    dscat_buf_free(&file);
    return rc;
}

/*
 * What the index is made of, as the store names it: per current scan (in target order), each
 * database's name and the content hash of its table set (store/content.h). The index holds the
 * tables and column rows of those sets and nothing else of the store, and a set's content never
 * changes once written: two snapshots with one key have one index, whatever their generations.
 */
static const char *const content_sql =
    "SELECT s.target, d.database, ts.hash FROM targets g JOIN scans s ON s.id = g.current_scan_id "
    "JOIN scan_databases d ON d.scan_id = s.id JOIN table_sets ts ON ts.id = d.table_set "
    "ORDER BY s.target, d.database";

/*
 * How the index is built from the store: part of the content key, so that a file a build of
 * another rule made (what is lower-cased, which tables are in) is never written again as it is.
 * Raise it with any change to what dscat_search__build makes of the same rows.
 */
#define IDX_BUILD_RULES "dscat search index build 1"

/* The content key of the store's snapshot into key: the build rules, then each value as a uint32
 * length and its bytes. Call inside a read transaction. */
static int content_key(dscat_buf *key, dscat_store *st, dscat_error *err)
{
    dscat_stmt *s = NULL;
    if (dscat_buf_put(key, IDX_BUILD_RULES, sizeof(IDX_BUILD_RULES)))
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int rc = dscat_stmt__prepare(&s, st, content_sql, err), step = DSCAT_STMT_DONE;
    while (rc == 0 && (step = dscat_stmt__step(s)) == DSCAT_STMT_ROW) {
        for (int i = 0; i < 3 && rc == 0; i++) {
            const char *v = dscat_stmt__text(s, i);
            size_t n = v ? dscat_stmt__bytes(s, i) : 0;
            uint32_t n32 = (uint32_t)n;
            if (n >= IDX_NULL)
                rc = dscat_error_set(err, DSCAT_EINVALID, "a database name exceeds 4 GiB");
            else if (dscat_buf_put(key, &n32, sizeof(n32)) || (n && dscat_buf_put(key, v, n)))
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        }
    }
    if (rc == 0 && step != DSCAT_STMT_DONE)
        rc = dscat_store__step_error(st, err);
    dscat_stmt__finalize(s);
    return rc;
}

static void map_file(dscat_search_index **out, const char *path, const dscat_search_stamp *stamp,
                     const dscat_buf *key);

int dscat_search__write(dscat_store *st, const char *catalog_dir, dscat_error *err)
{
    dscat_search_index *idx = NULL;
    dscat_search_stamp stamp;
    dscat_buf key = DSCAT_BUF_INIT;
    char *path = idx_path(catalog_dir);
    int rc = path ? dscat_store__read_begin(st, err)
                  : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    bool reading = rc == 0;
    /* The file already there is written again with the new stamp when it holds the same
     * content: a refresh that finds nothing changed rebuilds nothing. */
    if (rc == 0 && (rc = dscat_search__stamp(st, &stamp, err)) == 0 &&
        (rc = content_key(&key, st, err)) == 0)
        map_file(&idx, path, &stamp, &key);
    if (rc == 0 && idx == NULL)
        rc = dscat_search__build(&idx, st, NULL, err);
    if (reading)
        dscat_store__read_end(st);
    if (rc == 0)
        rc = write_file(path, idx, &stamp, &key, err);
    dscat_search_index_free(idx);
    dscat_buf_free(&key);
    dscat_free(path);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The section's bytes when it lies inside the file, is 8-aligned and holds count records of
 * size rec (rec 0: any length, count unchecked); NULL otherwise. */
static const unsigned char *section(const unsigned char *base, size_t size, const f_section *s,
                                    size_t rec)
{
    if (s->offset < sizeof(f_header) || s->offset > size || s->length > size - s->offset ||
        s->offset % 8)
        return NULL;
    if (rec ? s->count > s->length / rec || s->count * rec != s->length : s->count != 0)
        return NULL;
    return base + s->offset;
}

/* A string area: non-empty and ending in NUL, so that any offset inside it starts a C string. */
static const char *text_section(const unsigned char *base, size_t size, const f_section *s)
{
    const unsigned char *p = section(base, size, s, 0);
    return p && s->length > 0 && p[s->length - 1] == '\0' ? (const char *)p : NULL;
}

/* The string at off in an area of len bytes; NULL for IDX_NULL; *ok false when out of range. */
static const char *text_at(const char *area, uint64_t len, uint32_t off, bool *ok)
{
    if (off == IDX_NULL)
        return NULL;
    if (off >= len) {
        *ok = false;
        return NULL;
    }
    return area + off;
}

/* The dictionaries' pointer arrays, checked: entry 0 is "" as in a built index. */
static bool read_dicts(dscat_search_index *idx, const unsigned char *base, size_t size,
                       const f_header *h)
{
    s_dict *dicts[] = S_DICTS(idx);
    for (size_t d = 0; d < S_NDICTS; d++) {
        const f_section *es = &h->sections[SEC_DICT0 + 2 * d];
        const f_section *ts = &h->sections[SEC_DICT0 + 2 * d + 1];
        const unsigned char *e = section(base, size, es, sizeof(f_entry));
        const char *text = text_section(base, size, ts);
        if (e == NULL || text == NULL || es->count < 1 || es->count >= IDX_NULL)
            return false;
        s_dict *x = dicts[d];
        x->count = x->cap = (size_t)es->count;
        x->text = dscat_calloc(x->count, sizeof(char *));
        x->lower = dscat_calloc(x->count, sizeof(char *));
        if (x->text == NULL || x->lower == NULL)
            return false;
        bool ok = true;
        for (size_t i = 0; i < x->count && ok; i++) {
            f_entry r;
            memcpy(&r, e + i * sizeof(r), sizeof(r));
            x->text[i] = text_at(text, ts->length, r.text, &ok);
            x->lower[i] = text_at(text, ts->length, r.lower, &ok);
            ok = ok && x->text[i] && x->lower[i];
        }
        if (!ok || x->text[0][0] || x->lower[0][0])
            return false;
    }
    return true;
}

static bool read_tables(dscat_search_index *idx, const unsigned char *base, size_t size,
                        const f_header *h)
{
    const f_section *rs = &h->sections[SEC_TABLES], *ts = &h->sections[SEC_TABLE_TEXT];
    const unsigned char *recs = section(base, size, rs, sizeof(f_table));
    const char *text = rs->count ? text_section(base, size, ts) : "";
    if (recs == NULL || text == NULL || rs->count >= IDX_NULL)
        return false;
    idx->ntables = (size_t)rs->count;
    idx->tables = dscat_calloc(idx->ntables + 1, sizeof(s_table));
    if (idx->tables == NULL)
        return false;
    bool ok = true;
    for (size_t t = 0; t < idx->ntables && ok; t++) {
        f_table r;
        memcpy(&r, recs + t * sizeof(r), sizeof(r));
        s_table *x = &idx->tables[t];
        x->target = text_at(text, ts->length, r.target, &ok);
        x->database = text_at(text, ts->length, r.database, &ok);
        x->schema = text_at(text, ts->length, r.schema, &ok);
        x->name = text_at(text, ts->length, r.name, &ok);
        x->l_name = text_at(text, ts->length, r.l_name, &ok);
        x->l_comment = text_at(text, ts->length, r.l_comment, &ok);
        x->database_id = r.database_id;
        x->schema_id = r.schema_id;
        x->rows = r.rows;
        ok = ok && x->target && x->database && x->schema && x->name && x->l_name &&
             r.database_id < idx->places.count && r.schema_id < idx->places.count;
    }
    return ok;
}

static bool read_columns(dscat_search_index *idx, const unsigned char *base, size_t size,
                         const f_header *h)
{
    const f_section *cs = &h->sections[SEC_COLUMNS];
    const unsigned char *p = section(base, size, cs, sizeof(s_column));
    if (p == NULL)
        return false;
    idx->columns = (s_column *)(uintptr_t)p; /* 8-aligned in a page-aligned mapping */
    idx->ncolumns = (size_t)cs->count;
    for (size_t i = 0; i < idx->ncolumns; i++) {
        const s_column *c = &idx->columns[i];
        if (c->table >= idx->ntables || c->name_id >= idx->names.count ||
            c->type_id >= idx->types.count || c->comment_id >= idx->comments.count ||
            c->refs_id >= idx->refs.count || c->pk > 1 || c->fk > 1)
            return false;
    }
    return true;
}

/*
 * Maps path and checks it against stamp: the index it holds (without annotations and blobs) in
 * *out, or *out NULL when the file is missing, unreadable, malformed, of another format
 * version or byte order, or describes another snapshot of the store. With key, another snapshot
 * of the same catalog will do when its content key is key.
 */
static void map_file(dscat_search_index **out, const char *path, const dscat_search_stamp *stamp,
                     const dscat_buf *key)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0)
        return;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < (off_t)sizeof(f_header) ||
        (uint64_t)sb.st_size > SIZE_MAX / 2) {
        close(fd);
        return;
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    const unsigned char *base = map;
    f_header h;
    memcpy(&h, base, sizeof(h));
    const char *fp = NULL;
    const unsigned char *content = NULL;
    const f_section *cs = &h.sections[SEC_CONTENT];
    bool ok =
        memcmp(h.magic, IDX_MAGIC, 8) == 0 && h.version == IDX_VERSION &&
        h.byte_order == IDX_BYTE_ORDER && h.nsections == NSECTIONS && h.file_size == size &&
        size % 8 == 0 && memchr(h.catalog_id, '\0', sizeof(h.catalog_id)) != NULL &&
        strcmp(h.catalog_id, stamp->catalog_id) == 0 &&
        (fp = text_section(base, size, &h.sections[SEC_FINGERPRINT])) != NULL &&
        strlen(fp) + 1 == h.sections[SEC_FINGERPRINT].length &&
        (content = section(base, size, cs, 0)) != NULL &&
        (key ? cs->length == key->len && (key->len == 0 || memcmp(content, key->ptr, key->len) == 0)
             : h.generation == stamp->generation && strcmp(fp, stamp->fingerprint) == 0) &&
        checksum(&h, base + sizeof(h), size - sizeof(h)) == h.checksum;
    dscat_search_index *idx = ok ? dscat_calloc(1, sizeof(*idx)) : NULL;
    if (idx == NULL) { /* out of memory here: the rebuild reports it */
        munmap(map, size);
        return;
    }
    idx->map = map;
    idx->map_len = size;
    idx->persisted = true;
    if (!read_dicts(idx, base, size, &h) || !read_tables(idx, base, size, &h) ||
        !read_columns(idx, base, size, &h)) {
        dscat_search_index_free(idx); /* unmaps */
        return;
    }
    *out = idx;
}

/* Tries the exports lock without waiting: a refresh writing the exports will write the file. */
static int try_lock(const char *catalog_dir)
{
    dscat_buf b = DSCAT_BUF_INIT;
    int fd = -1;
    if (dscat_buf_printf(&b, "%s/.exports.lock", catalog_dir) == 0)
        fd = open(dscat_buf_cstr(&b), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    dscat_buf_free(&b);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int dscat_search_index_open(dscat_search_index **out, dscat_store *st, const char *catalog_dir,
                            unsigned flags, dscat_error *err)
{
    *out = NULL;
    dscat_search_stamp stamp;
    dscat_search_index *idx = NULL;
    char *path = idx_path(catalog_dir);
    if (path == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    /* The stamp and, when the file is stale, the rebuild come from one snapshot. */
    int rc = dscat_store__read_begin(st, err);
    if (rc == 0) {
        if ((rc = dscat_search__stamp(st, &stamp, err)) == 0)
            map_file(&idx, path, &stamp, NULL);
        if (rc == 0 && idx == NULL) {
            rc = dscat_search__build(&idx, st, NULL, err);
            if (rc == 0 && (flags & DSCAT_SEARCH_INDEX_WRITE) && access(catalog_dir, W_OK) == 0) {
                int lock = try_lock(catalog_dir);
                dscat_error ignored = {0};
                dscat_buf key = DSCAT_BUF_INIT;
                if (lock >= 0 && content_key(&key, st, &ignored) == 0)
                    (void)write_file(path, idx, &stamp, &key, &ignored); /* best effort */
                dscat_buf_free(&key);
                if (lock >= 0)
                    close(lock);
            }
        }
        dscat_store__read_end(st);
    }
    if (rc == 0)
        rc = dscat_search__finish(idx, catalog_dir, err);
    if (rc)
        dscat_search_index_free(idx);
    else
        *out = idx;
    dscat_free(path);
    return rc;
}

bool dscat_search_index_persisted(const dscat_search_index *idx)
{
    return idx->persisted;
}
