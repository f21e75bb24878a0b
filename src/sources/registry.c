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
