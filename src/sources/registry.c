#include "sources/source.h"

#include "core/alloc.h"

static const dscat_source_driver *const drivers[] = {
    &dscat_source_postgres,
    &dscat_source_sqlite,
    &dscat_source_mysql,
    &dscat_source_sqlserver,
};

const dscat_source_driver *dscat_source_driver_for(dscat_source_type type)
{
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (drivers[i]->type == type)
            return drivers[i];
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
