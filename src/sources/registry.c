#include "sources/source.h"

#include "core/alloc.h"

#include <assert.h>
#include <string.h>

/*
 * Every engine of this build, one line each: ENGINE(the driver's variable). The order is the one
 * of lists shown to the user (help, the message for an unknown type), and the first is the
 * engine of a target that names none (SPEC §2: SQL Server).
 */
#define DSCAT_ENGINES(ENGINE)                                                                      \
    ENGINE(dscat_source_sqlserver)                                                                 \
    ENGINE(dscat_source_postgres)                                                                  \
    ENGINE(dscat_source_mysql)                                                                     \
    ENGINE(dscat_source_sqlite)                                                                    \
    ENGINE(dscat_source_duckdb)                                                                    \
    /* end of the list */

#define DECLARE(driver) extern const dscat_source_driver driver;
#define ENTRY(driver) &driver,
DSCAT_ENGINES(DECLARE)
static const dscat_source_driver *const drivers[] = {DSCAT_ENGINES(ENTRY)};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

const dscat_source_driver *dscat_source_find(const char *name)
{
    for (size_t i = 0; i < NDRIVERS; i++) {
        const dscat_source_driver *d = drivers[i];
        if (d->version != DSCAT_SOURCE_DRIVER_VERSION)
            continue;
        if (strcmp(d->name, name) == 0)
            return d;
        for (const char *const *a = d->aliases; a && *a; a++)
            if (strcmp(*a, name) == 0)
                return d;
    }
    return NULL;
}

size_t dscat_source_count(void)
{
    return NDRIVERS;
}

const dscat_source_driver *dscat_source_at(size_t i)
{
    assert(i < NDRIVERS);
    return drivers[i];
}

int dscat_sources_global_init(dscat_error *err)
{
    for (size_t i = 0; i < NDRIVERS; i++)
        if (drivers[i]->version != DSCAT_SOURCE_DRIVER_VERSION)
            return dscat_error_set(
                err, DSCAT_EINVALID, "source driver %s has table version %u, this build expects %u",
                drivers[i]->name, drivers[i]->version, (unsigned)DSCAT_SOURCE_DRIVER_VERSION);
    for (size_t i = 0; i < NDRIVERS; i++) {
        int rc = drivers[i]->global_init ? drivers[i]->global_init(err) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

void dscat_sources_global_shutdown(void)
{
    for (size_t i = NDRIVERS; i > 0; i--)
        if (drivers[i - 1]->global_shutdown)
            drivers[i - 1]->global_shutdown();
}

int dscat_source__schema_is_database_sql(dscat_buf *sql, const char *before, const char *after)
{
    int rc = dscat_buf_puts(sql, before);
    rc = rc ? rc : dscat_buf_puts(sql, "IN (");
    size_t n = 0;
    for (size_t i = 0; i < NDRIVERS && rc == 0; i++)
        if (drivers[i]->schema_is_database)
            rc = dscat_buf_printf(sql, "%s'%s'", n++ ? ", " : "", drivers[i]->name);
    /* No such engine: a list that matches nothing (NULL would make the comparison NULL). */
    rc = rc ? rc : dscat_buf_puts(sql, n ? ")" : "'')");
    rc = rc ? rc : dscat_buf_puts(sql, after);
    return rc ? DSCAT_ENOMEM : 0;
}

const char *dscat_type_map_find(const dscat_type_map *m, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].source_type, type) == 0)
            return m[i].duck_type;
    return NULL;
}

int dscat_name_list_add(dscat_name_list *l, const char *name)
{
    char **names = dscat_realloc(l->names, (l->count + 1) * sizeof(char *));
    if (names == NULL)
        return DSCAT_ENOMEM;
    l->names = names;
    if ((l->names[l->count] = dscat_strdup(name)) == NULL)
        return DSCAT_ENOMEM;
    l->count++;
    return 0;
}

void dscat_name_list_free(dscat_name_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dscat_free(l->names[i]);
    dscat_free(l->names);
    l->names = NULL;
    l->count = 0;
}

size_t dscat_profile_keys(const dscat_db_scan *scan, const size_t *columns, size_t ncolumns,
                          size_t *keys)
{
    size_t n = 0;
    for (size_t i = 0; i < ncolumns; i++)
        if (scan->columns.items[columns[i]].is_pk)
            keys[n++] = columns[i];
    /* Key order: by column position, which is the declared order for single-table keys. */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && scan->columns.items[keys[k]].ordinal <
                                        scan->columns.items[keys[k - 1]].ordinal;
             k--) {
            size_t t = keys[k];
            keys[k] = keys[k - 1];
            keys[k - 1] = t;
        }
    return n;
}

void dscat_profile_store(dscat_db_scan *scan, size_t column, int64_t rows, int64_t nulls,
                         int64_t distinct)
{
    dscat_column_info *c = &scan->columns.items[column];
    c->profiled_rows = rows;
    c->null_count = nulls == DSCAT_NULL && rows == 0 ? 0 : nulls;
    c->distinct_count = distinct;
}
