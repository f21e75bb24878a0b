#include "catalog/model.h"

#include "core/alloc.h"
#include "dscat/common.h"

#include <stdio.h>
#include <string.h>

/* Grows a DSCAT_VEC by doubling; elements are plain structs. */
static int vec_grow(void **items, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    void *p = dscat_realloc(*items, n * elem);
    if (p == NULL)
        return DSCAT_ENOMEM;
    *items = p;
    *cap = n;
    return 0;
}

#define VEC_PUSH(v, value)                                                                         \
    (vec_grow((void **)&(v).items, &(v).cap, (v).count, sizeof(*(v).items))                        \
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
    dscat_strmap_free(&s->table_index);
    dscat_strmap_free(&s->column_index);
    dscat_arena_free(&s->arena);
    memset(s, 0, sizeof(*s));
}

/* The map key for a table: schema, a NUL byte, name (NUL cannot occur in either). */
static size_t table_key(char *buf, size_t size, const char *schema, const char *name)
{
    size_t a = strlen(schema), b = strlen(name);
    if (a + b + 1 > size)
        return 0;
    memcpy(buf, schema, a);
    buf[a] = '\0';
    memcpy(buf + a + 1, name, b);
    return a + b + 1;
}

#define DUP(field) (src->field ? dscat_arena_strdup(&s->arena, src->field) : NULL)

int dscat_db_scan_add_table(dscat_db_scan *s, const dscat_table_info *src, size_t *index)
{
    dscat_table_info t = *src;
    t.schema = DUP(schema);
    t.name = DUP(name);
    t.type = DUP(type);
    t.comment = DUP(comment);
    if (!t.schema || !t.name || !t.type)
        return DSCAT_ENOMEM;
    char key[2048];
    size_t klen = table_key(key, sizeof(key), t.schema, t.name);
    if (klen == 0)
        return DSCAT_EINVALID;
    size_t idx = s->tables.count;
    if (VEC_PUSH(s->tables, t) || dscat_strmap_put(&s->table_index, key, klen, idx))
        return DSCAT_ENOMEM;
    if (index)
        *index = idx;
    return 0;
}

long dscat_db_scan_find_table(const dscat_db_scan *s, const char *schema, const char *name)
{
    char key[2048];
    size_t klen = table_key(key, sizeof(key), schema, name);
    size_t idx;
    if (klen == 0 || !dscat_strmap_get(&s->table_index, key, klen, &idx))
        return -1;
    return (long)idx;
}

int dscat_db_scan_add_column(dscat_db_scan *s, const dscat_column_info *src)
{
    dscat_column_info c = *src;
    c.name = DUP(name);
    c.data_type = DUP(data_type);
    c.column_type = DUP(column_type);
    c.default_value = DUP(default_value);
    c.comment = DUP(comment);
    if (!c.name || !c.data_type)
        return DSCAT_ENOMEM;
    char key[1100];
    int n = snprintf(key, sizeof(key), "%zu", c.table);
    size_t nl = strlen(c.name);
    if (nl > sizeof(key) - (size_t)n - 1)
        return DSCAT_EINVALID;
    memcpy(key + n + 1, c.name, nl);
    key[n] = '\0';
    if (dscat_strmap_put(&s->column_index, key, (size_t)n + 1 + nl, s->columns.count))
        return DSCAT_ENOMEM;
    return VEC_PUSH(s->columns, c);
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

int dscat_db_scan_add_problem(dscat_db_scan *s, const char *schema, const char *message)
{
    dscat_problem p = {s->database, schema ? dscat_arena_strdup(&s->arena, schema) : NULL,
                       dscat_arena_strdup(&s->arena, message)};
    if (p.message == NULL)
        return DSCAT_ENOMEM;
    return VEC_PUSH(s->problems, p);
}

long dscat_db_scan_find_column(const dscat_db_scan *s, size_t table, const char *column)
{
    char key[1100];
    int n = snprintf(key, sizeof(key), "%zu", table);
    size_t nl = strlen(column);
    size_t idx;
    if (nl > sizeof(key) - (size_t)n - 1)
        return -1;
    memcpy(key + n + 1, column, nl);
    key[n] = '\0';
    if (!dscat_strmap_get(&s->column_index, key, (size_t)n + 1 + nl, &idx))
        return -1;
    return (long)idx;
}

void dscat_db_scan_mark_pk(dscat_db_scan *s, size_t table, const char *column)
{
    long i = dscat_db_scan_find_column(s, table, column);
    if (i >= 0)
        s->columns.items[i].is_pk = true;
}
