/*
 * Names that DuckDB cannot tell apart. DuckDB matches identifiers without regard to ASCII case,
 * quoted or not, and has no setting that changes this: two source columns "id" and "ID", two
 * tables sales."CaseT" and sales.caset, two schemas "Sales" and sales are one name to it.
 *
 * Columns: DuckDB's COPY renames such columns (id, ID_1, Id_2) when it writes a Parquet file.
 * The file must keep the source's names exactly (any Parquet reader is case-sensitive), so the
 * writer puts them back into the file's footer afterwards: dscat_cache__parquet_rename() copies
 * the footer (Thrift compact protocol) field by field and replaces the column names in the schema
 * and in each column chunk's path. SQL over the cache then names each column of such a group
 * "<name>~<position>" (dscat_cache__query_columns()), so that no reference ever reaches one
 * column for another.
 */
#include "cache/internal.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool dscat_cache__same_name(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
        if (x == '\0')
            return true;
    }
}

bool dscat_cache__names_collide(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (dscat_cache__same_name(names[i], names[j]))
                return true;
    return false;
}

/* True when name is one DuckDB confuses with another of names[0..n) than names[self]. */
static bool clashes(char *const *names, size_t n, size_t self, const char *name)
{
    for (size_t j = 0; j < n; j++)
        if (j != self && names[j] && dscat_cache__same_name(names[j], name))
            return true;
    return false;
}

char **dscat_cache__query_columns(const char *const *names, size_t n)
{
    char **out = dscat_calloc(n + 1, sizeof(char *));
    bool *group = dscat_calloc(n + 1, sizeof(bool));
    bool ok = out != NULL && group != NULL;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t j = 0; j < n; j++)
            group[i] |= j != i && dscat_cache__same_name(names[i], names[j]);
    /* First the names that stay, then the renamed ones, each made unique against all others. */
    for (size_t i = 0; ok && i < n; i++)
        if (!group[i])
            ok = (out[i] = dscat_strdup(names[i])) != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        if (!group[i])
            continue;
        dscat_buf b = DSCAT_BUF_INIT;
        dscat_buf_printf(&b, "%s~%zu", names[i], i + 1);
        while (!dscat_buf_error(&b) && clashes(out, n, i, dscat_buf_cstr(&b)))
            dscat_buf_printf(&b, "~%zu", i + 1);
        ok = dscat_buf_error(&b) == 0 && (out[i] = dscat_buf_detach(&b)) != NULL;
        dscat_buf_free(&b);
    }
    dscat_free(group);
    if (!ok) {
        dscat_cache__free_names(out, n);
        return NULL;
    }
    return out;
}

void dscat_cache__free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        dscat_free(names[i]);
    dscat_free(names);
}

/* ---- the Parquet footer: a Thrift compact-protocol copy that renames the columns ---------- */

/* Where the copy is in the footer: the fields whose strings are column names. */
typedef enum footer_at {
    AT_OTHER,
    AT_FILE,       /* FileMetaData */
    AT_SCHEMA,     /* FileMetaData.schema: list<SchemaElement> */
    AT_ELEMENT,    /* a SchemaElement: field 4 is its name */
    AT_ROW_GROUPS, /* FileMetaData.row_groups */
    AT_ROW_GROUP,  /* RowGroup: field 1 its columns */
    AT_CHUNKS,     /* RowGroup.columns: list<ColumnChunk> */
    AT_CHUNK,      /* ColumnChunk: field 3 its meta_data */
    AT_CHUNK_META, /* ColumnMetaData: field 3 path_in_schema */
    AT_PATH,       /* path_in_schema: list<string> */
} footer_at;

typedef struct footer_copy {
    const unsigned char *p, *end;
    dscat_buf out;
    const char *const *names;
    size_t n;
    size_t element; /* the SchemaElement being copied (0: the root) */
    size_t chunk;   /* the ColumnChunk being copied, in its row group */
    int depth;
    bool bad;       /* not a footer this copy understands */
    size_t renamed; /* schema names replaced */
} footer_copy;

static uint64_t varint(footer_copy *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) {
            c->bad = true;
            return 0;
        }
        unsigned char byte = *c->p++;
        dscat_buf_putc(&c->out, (char)byte);
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

static void put_varint(dscat_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        dscat_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    dscat_buf_putc(b, (char)v);
}

static void copy_bytes(footer_copy *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->bad = true;
        return;
    }
    dscat_buf_put(&c->out, c->p, n);
    c->p += n;
}

/* A string: copied, or replaced by name when one is given. */
static void copy_binary(footer_copy *c, const char *name)
{
    if (name == NULL) {
        uint64_t len = varint(c);
        if (!c->bad)
            copy_bytes(c, (size_t)len);
        return;
    }
    /* read the old length without copying it */
    uint64_t len = 0;
    for (int shift = 0;; shift += 7) {
        if (c->p >= c->end || shift >= 64) {
            c->bad = true;
            return;
        }
        unsigned char byte = *c->p++;
        len |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    if ((uint64_t)(c->end - c->p) < len) {
        c->bad = true;
        return;
    }
    c->p += len;
    put_varint(&c->out, strlen(name));
    dscat_buf_puts(&c->out, name);
}

static void copy_value(footer_copy *c, int type, footer_at at);

/* A list or set; its elements at `at`. */
static void copy_list(footer_copy *c, footer_at at)
{
    if (c->depth > 64) { /* lists of lists: bounded like structs */
        c->bad = true;
        return;
    }
    if (c->p >= c->end) {
        c->bad = true;
        return;
    }
    unsigned char head = *c->p++;
    dscat_buf_putc(&c->out, (char)head);
    uint64_t size = head >> 4;
    if (size == 15)
        size = varint(c);
    int type = head & 0x0f;
    c->depth++;
    for (uint64_t i = 0; i < size && !c->bad; i++) {
        if (at == AT_ELEMENT)
            c->element = (size_t)i;
        if (at == AT_CHUNK)
            c->chunk = (size_t)i;
        if (at == AT_PATH) {
            /* a column's path: one part, its name (the schema is flat) */
            if (type != 8 || size != 1 || c->chunk >= c->n) {
                c->bad = true;
                return;
            }
            copy_binary(c, c->names[c->chunk]);
            continue;
        }
        if (type == 1 || type == 2) /* a boolean element is one byte */
            copy_bytes(c, 1);
        else
            copy_value(c, type, at);
    }
    c->depth--;
}

/* What field id of a struct at `at` holds. */
static footer_at field_at(footer_at at, int id)
{
    switch (at) {
    case AT_FILE:
        return id == 2 ? AT_SCHEMA : id == 4 ? AT_ROW_GROUPS : AT_OTHER;
    case AT_ROW_GROUP:
        return id == 1 ? AT_CHUNKS : AT_OTHER;
    case AT_CHUNK:
        return id == 3 ? AT_CHUNK_META : AT_OTHER;
    case AT_CHUNK_META:
        return id == 3 ? AT_PATH : AT_OTHER;
    default:
        return AT_OTHER;
    }
}

static void copy_struct(footer_copy *c, footer_at at)
{
    if (++c->depth > 64) {
        c->bad = true;
        return;
    }
    int id = 0;
    while (!c->bad) {
        if (c->p >= c->end) {
            c->bad = true;
            break;
        }
        unsigned char head = *c->p++;
        dscat_buf_putc(&c->out, (char)head);
        if (head == 0)
            break;
        int type = head & 0x0f, delta = head >> 4;
        if (delta)
            id += delta;
        else {
            uint64_t z = varint(c);
            id = (int)((z >> 1) ^ (~(z & 1) + 1));
        }
        if (type == 1 || type == 2) /* a boolean field's value is its type */
            continue;
        footer_at inner = field_at(at, id);
        if (at == AT_ELEMENT && id == 4 && type == 8) {
            /* a SchemaElement's name: element 0 is the root, element i column i - 1 */
            if (c->element == 0) {
                copy_binary(c, NULL);
            } else if (c->element - 1 < c->n) {
                copy_binary(c, c->names[c->element - 1]);
                c->renamed++;
            } else {
                c->bad = true;
            }
            continue;
        }
        if (inner == AT_SCHEMA || inner == AT_ROW_GROUPS || inner == AT_CHUNKS ||
            inner == AT_PATH) {
            if (type != 9) {
                c->bad = true;
                break;
            }
            copy_list(c, inner == AT_SCHEMA       ? AT_ELEMENT
                         : inner == AT_ROW_GROUPS ? AT_ROW_GROUP
                         : inner == AT_CHUNKS     ? AT_CHUNK
                                                  : AT_PATH);
            continue;
        }
        copy_value(c, type, inner);
    }
    c->depth--;
}

static void copy_value(footer_copy *c, int type, footer_at at)
{
    switch (type) {
    case 3:
        copy_bytes(c, 1);
        break;
    case 4:
    case 5:
    case 6:
        varint(c);
        break;
    case 7:
        copy_bytes(c, 8);
        break;
    case 8:
        copy_binary(c, NULL);
        break;
    case 9:
    case 10:
        copy_list(c, AT_OTHER);
        break;
    case 11: {
        uint64_t size = varint(c);
        if (size == 0 || c->bad)
            break;
        if (c->p >= c->end) {
            c->bad = true;
            break;
        }
        unsigned char kv = *c->p++;
        dscat_buf_putc(&c->out, (char)kv);
        for (uint64_t i = 0; i < size && !c->bad; i++) {
            copy_value(c, kv >> 4, AT_OTHER);
            copy_value(c, kv & 0x0f, AT_OTHER);
        }
        break;
    }
    case 12:
        copy_struct(c, at == AT_ELEMENT || at == AT_ROW_GROUP || at == AT_CHUNK ? at
                       : at == AT_CHUNK_META                                    ? AT_CHUNK_META
                                                                                : AT_OTHER);
        break;
    case 1:
    case 2:
        copy_bytes(c, 1);
        break;
    default:
        c->bad = true;
    }
}

int dscat_cache__parquet_rename(const char *path, const char *const *names, size_t n,
                                dscat_error *err)
{
    errno = 0; /* a footer that is not Parquet's has no errno to report */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    unsigned char *footer = NULL;
    footer_copy c = {.out = DSCAT_BUF_INIT, .names = names, .n = n};
    unsigned char tail[8];
    struct stat st;
    int rc = 0;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 12 ||
        pread(fd, tail, 8, st.st_size - 8) != 8 || memcmp(tail + 4, "PAR1", 4) != 0) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot read the Parquet footer of %s%s%s", path,
                             errno ? ": " : "", errno ? strerror(errno) : "");
        goto done;
    }
    uint32_t len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                   (uint32_t)tail[3] << 24;
    off_t at = st.st_size - 8 - (off_t)len;
    if (at < 4 || (footer = dscat_malloc((size_t)len + 1)) == NULL ||
        pread(fd, footer, len, at) != (ssize_t)len) {
        rc = footer == NULL && at >= 4
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : dscat_error_set(err, DSCAT_EIO, "cannot read the Parquet footer of %s", path);
        goto done;
    }
    c.p = footer;
    c.end = footer + len;
    copy_struct(&c, AT_FILE);
    if (dscat_buf_error(&c.out)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (c.bad || c.p != c.end || c.renamed != n) {
        rc = dscat_error_set(err, DSCAT_EIO,
                             "cannot name the columns of %s: its Parquet footer is not as "
                             "expected",
                             path);
        goto done;
    }
    uint32_t newlen = (uint32_t)c.out.len;
    unsigned char trailer[8] = {(unsigned char)newlen,
                                (unsigned char)(newlen >> 8),
                                (unsigned char)(newlen >> 16),
                                (unsigned char)(newlen >> 24),
                                'P',
                                'A',
                                'R',
                                '1'};
    if (pwrite(fd, c.out.ptr, c.out.len, at) != (ssize_t)c.out.len ||
        pwrite(fd, trailer, 8, at + (off_t)c.out.len) != 8 ||
        ftruncate(fd, at + (off_t)c.out.len + 8) != 0)
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write the Parquet footer of %s: %s", path,
                             strerror(errno));
done:
    if (fd >= 0)
        close(fd);
    dscat_free(footer);
    dscat_buf_free(&c.out);
    return rc;
}
