#include "core/model.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"
#include "dscat/common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Grows a DSCAT_VEC by doubling; elements are plain structs. */
#define VEC_PUSH(v, value)                                                                         \
    (dscat_grow((void **)&(v).items, &(v).cap, (v).count, sizeof(*(v).items))                      \
         ? DSCAT_ENOMEM                                                                            \
         : ((v).items[(v).count++] = (value), 0))

int dscat_db_scan_init(dscat_db_scan *s, const char *database)
{
    memset(s, 0, sizeof(*s));
    s->database = dscat_arena_strdup(&s->arena, database);
    return s->database ? 0 : DSCAT_ENOMEM;
}

void dscat_db_scan_free(dscat_db_scan *s)
{
    if (s == NULL)
        return;
    dscat_free(s->tables.items);
    dscat_free(s->columns.items);
    dscat_free(s->fks.items);
    dscat_free(s->problems.items);
    dscat_free(s->last_column);
    dscat_free(s->column_before);
    dscat_strmap_free(&s->table_index);
    dscat_arena_free(&s->arena);
    memset(s, 0, sizeof(*s));
}

/*
 * The map key for a table: schema, a NUL byte, name (NUL cannot occur in either), allocated to
 * its exact size so that names of any length can be matched. Caller frees with dscat_free();
 * NULL when out of memory.
 */
static char *table_key(const char *schema, const char *name, size_t *len)
{
    size_t a = strlen(schema), b = strlen(name);
    char *key = dscat_malloc(a + b + 1);
    if (key == NULL)
        return NULL;
    memcpy(key, schema, a);
    key[a] = '\0';
    memcpy(key + a + 1, name, b);
    *len = a + b + 1;
    return key;
}

/* The length of the UTF-8 character starting at p (NUL-terminated) when it is valid, else 0. */
static size_t utf8_sequence(const unsigned char *p)
{
    const char *c = (const char *)p;
    return *p ? dscat_utf8_char(c, c + strnlen(c, 4)) : 0;
}

bool dscat_db_scan_valid_utf8(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_sequence(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

#define DUP(field) (src->field ? dscat_arena_strdup(&s->arena, src->field) : NULL)

int dscat_db_scan_add_table(dscat_db_scan *s, const dscat_table_info *src, size_t *index)
{
    if (!dscat_db_scan_valid_utf8(src->schema) || !dscat_db_scan_valid_utf8(src->name))
        return DSCAT_EINVALID;
    dscat_table_info t = *src;
    t.schema = DUP(schema);
    t.name = DUP(name);
    t.type = DUP(type);
    t.comment = DUP(comment);
    if (!t.schema || !t.name || !t.type)
        return DSCAT_ENOMEM;
    size_t klen;
    char *key = table_key(t.schema, t.name, &klen);
    size_t idx = s->tables.count;
    int rc =
        key == NULL || VEC_PUSH(s->tables, t) || dscat_strmap_put(&s->table_index, key, klen, idx)
            ? DSCAT_ENOMEM
            : 0;
    dscat_free(key);
    if (rc == 0 && index)
        *index = idx;
    return rc;
}

long dscat_db_scan_find_table(const dscat_db_scan *s, const char *schema, const char *name)
{
    /* The key on the stack for every name a database allows (at most 128 characters): a lookup
     * that cannot fail; only longer names need memory. */
    char small[1024];
    size_t a = strlen(schema), b = strlen(name), klen = a + b + 1, idx;
    char *key = klen <= sizeof(small) ? small : dscat_malloc(klen);
    if (key == NULL)
        return DSCAT_ENOMEM;
    memcpy(key, schema, a);
    key[a] = '\0';
    memcpy(key + a + 1, name, b);
    bool found = dscat_strmap_get(&s->table_index, key, klen, &idx);
    if (key != small)
        dscat_free(key);
    return found ? (long)idx : -1;
}

/*
 * Links column `index` (already in columns) at the head of its table's chain, growing the
 * chain arrays as needed.
 */
static int chain_column(dscat_db_scan *s, size_t index)
{
    size_t table = s->columns.items[index].table;
    if (table >= s->last_column_count) {
        size_t n = s->last_column_count ? s->last_column_count : 64;
        while (n <= table)
            n *= 2;
        size_t *p = dscat_realloc(s->last_column, n * sizeof(*p));
        if (p == NULL)
            return DSCAT_ENOMEM;
        for (size_t i = s->last_column_count; i < n; i++)
            p[i] = SIZE_MAX;
        s->last_column = p;
        s->last_column_count = n;
    }
    if (s->column_before_cap < s->columns.cap) {
        size_t *p = dscat_realloc(s->column_before, s->columns.cap * sizeof(*p));
        if (p == NULL)
            return DSCAT_ENOMEM;
        s->column_before = p;
        s->column_before_cap = s->columns.cap;
    }
    s->column_before[index] = s->last_column[table];
    s->last_column[table] = index;
    return 0;
}

/* Appends a column; its type names are copied unless `shared` (already in the scan's arena). */
static int add_column(dscat_db_scan *s, const dscat_column_info *src, bool shared)
{
    if (!dscat_db_scan_valid_utf8(src->name))
        return DSCAT_EINVALID;
    dscat_column_info c = *src;
    c.name = DUP(name);
    if (!shared) {
        c.data_type = DUP(data_type);
        c.column_type = DUP(column_type);
    }
    c.generated = DUP(generated);
    c.default_value = DUP(default_value);
    c.comment = DUP(comment);
    if (!c.name || !c.data_type || (src->generated && !c.generated))
        return DSCAT_ENOMEM;
    if (VEC_PUSH(s->columns, c))
        return DSCAT_ENOMEM;
    if (chain_column(s, s->columns.count - 1)) {
        s->columns.count--;
        return DSCAT_ENOMEM;
    }
    return 0;
}

int dscat_db_scan_add_column(dscat_db_scan *s, const dscat_column_info *c)
{
    return add_column(s, c, false);
}

int dscat_db_scan_add_column_shared(dscat_db_scan *s, const dscat_column_info *c)
{
    return add_column(s, c, true);
}

const char *dscat_db_scan_strdup(dscat_db_scan *s, const char *str)
{
    return str ? dscat_arena_strdup(&s->arena, str) : NULL;
}

int dscat_db_scan_truncate_columns(dscat_db_scan *s, size_t count)
{
    if (count >= s->columns.count)
        return 0;
    s->columns.count = count;
    for (size_t i = 0; i < s->last_column_count; i++)
        s->last_column[i] = SIZE_MAX;
    for (size_t i = 0; i < count; i++)
        if (chain_column(s, i))
            return DSCAT_ENOMEM;
    return 0;
}

int dscat_db_scan_add_fk(dscat_db_scan *s, const dscat_fk_info *src)
{
    dscat_fk_info f = *src;
    f.column = DUP(column);
    f.ref_schema = DUP(ref_schema);
    f.ref_table = DUP(ref_table);
    f.ref_column = DUP(ref_column);
    if (!f.column || !f.ref_schema || !f.ref_table || !f.ref_column)
        return DSCAT_ENOMEM;
    return VEC_PUSH(s->fks, f);
}

/* Appends s with each byte that is not part of valid UTF-8 written as \xNN. */
static int put_escaped(dscat_buf *b, const char *s)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0;) {
        size_t n = utf8_sequence(p);
        rc = n ? dscat_buf_put(b, p, n) : dscat_buf_printf(b, "\\x%02x", *p);
        p += n ? n : 1;
    }
    return rc;
}

const char *dscat_db_scan_strdup_escaped(dscat_db_scan *s, const char *str)
{
    if (str == NULL)
        return NULL;
    dscat_buf b = DSCAT_BUF_INIT;
    const char *copy =
        put_escaped(&b, str) ? NULL : dscat_arena_strdup(&s->arena, dscat_buf_cstr(&b));
    dscat_buf_free(&b);
    return copy;
}

int dscat_db_scan_add_problem(dscat_db_scan *s, const char *schema, const char *message)
{
    dscat_buf b = DSCAT_BUF_INIT, sb = DSCAT_BUF_INIT;
    int rc = put_escaped(&b, message);
    if (rc == 0 && schema)
        rc = put_escaped(&sb, schema);
    dscat_problem p = {
        s->database, schema && rc == 0 ? dscat_arena_strdup(&s->arena, dscat_buf_cstr(&sb)) : NULL,
        rc ? NULL : dscat_arena_strdup(&s->arena, dscat_buf_cstr(&b))};
    dscat_buf_free(&b);
    dscat_buf_free(&sb);
    if (p.message == NULL || (schema && p.schema == NULL))
        return DSCAT_ENOMEM;
    return VEC_PUSH(s->problems, p);
}

int dscat_db_scan_add_object_problem(dscat_db_scan *s, const char *schema, const char *what,
                                     const char *name, const char *cause)
{
    dscat_buf b = DSCAT_BUF_INIT;
    int rc = dscat_buf_printf(&b, "%s %s: %s", what, name, cause);
    if (rc == 0)
        rc = dscat_db_scan_add_problem(s, schema, dscat_buf_cstr(&b));
    dscat_buf_free(&b);
    return rc ? DSCAT_ENOMEM : 0;
}

int dscat_db_scan_refused(dscat_db_scan *s, int rc, const char *schema, const char *table,
                          const char *column)
{
    if (rc != DSCAT_EINVALID)
        return rc;
    dscat_buf b = DSCAT_BUF_INIT;
    rc = column ? dscat_buf_printf(&b, "%s.%s.%s", schema, table, column)
                : dscat_buf_printf(&b, "%s.%s", schema, table);
    if (rc == 0)
        rc = dscat_db_scan_add_object_problem(s, schema, column ? "column" : "table",
                                              dscat_buf_cstr(&b),
                                              "name is not valid UTF-8; not catalogued");
    dscat_buf_free(&b);
    return rc ? DSCAT_ENOMEM : 0;
}

long dscat_db_scan_find_column(const dscat_db_scan *s, size_t table, const char *column)
{
    if (table >= s->last_column_count)
        return -1;
    for (size_t i = s->last_column[table]; i != SIZE_MAX; i = s->column_before[i])
        if (strcmp(s->columns.items[i].name, column) == 0)
            return (long)i;
    return -1;
}

long dscat_db_scan_find_ordinal(const dscat_db_scan *s, size_t table, int ordinal)
{
    if (table >= s->last_column_count)
        return -1;
    for (size_t i = s->last_column[table]; i != SIZE_MAX; i = s->column_before[i])
        if (s->columns.items[i].ordinal == ordinal)
            return (long)i;
    return -1;
}

void dscat_db_scan_mark_pk(dscat_db_scan *s, size_t table, const char *column)
{
    long i = dscat_db_scan_find_column(s, table, column);
    if (i >= 0)
        s->columns.items[i].is_pk = true;
}
