/* DuckDB loaded on first use (duck_api.h). */
#define DSCAT_DUCK_API_INTERNAL
#include "core/duck_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/*
 * The library: the copy the build was made against (the Makefile's DUCKDB_HOME), by its full
 * path. A name alone would be looked up through the run path of whoever calls dlopen, and under
 * AddressSanitizer that is the sanitizer's runtime, not dscat.
 */
#ifndef DSCAT_DUCKDB_LIBRARY
#define DSCAT_DUCKDB_LIBRARY "libduckdb.so"
#endif
#define DUCKDB_LIBRARY DSCAT_DUCKDB_LIBRARY

static dscat_duck_api loaded;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[256]; /* empty when loaded */

static const struct {
    const char *name;
    size_t offset;
} functions[] = {
#define DSCAT_DUCK_ENTRY(f) {#f, offsetof(dscat_duck_api, f)},
    DSCAT_DUCK_FUNCTIONS(DSCAT_DUCK_ENTRY)
#undef DSCAT_DUCK_ENTRY
};

static void load(void)
{
    dscat_duck_api api;
    void *lib = dlopen(DUCKDB_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL && strchr(DUCKDB_LIBRARY, '/') != NULL)
        lib = dlopen("libduckdb.so", RTLD_NOW | RTLD_LOCAL); /* moved: the usual search */
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(failure, sizeof(failure), "cannot load DuckDB (%s): %s", DUCKDB_LIBRARY,
                 why ? why : "unknown error");
        return;
    }
    for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
        void *f = dlsym(lib, functions[i].name);
        if (f == NULL) {
            snprintf(failure, sizeof(failure), "cannot load DuckDB (%s): it has no %s",
                     DUCKDB_LIBRARY, functions[i].name);
            dlclose(lib);
            return;
        }
        /* A function pointer from dlsym's object pointer, as POSIX guarantees it converts. */
        memcpy((char *)&api + functions[i].offset, &f, sizeof(f));
    }
    loaded = api; /* published whole: readers come after pthread_once */
}

const dscat_duck_api *dscat__duck_api(void)
{
    pthread_once(&once, load);
    return &loaded;
}

int dscat_duck_load(dscat_error *err)
{
    pthread_once(&once, load);
    if (failure[0] == '\0')
        return 0;
    return dscat_error_set(err, DSCAT_EIO, "%s", failure);
}
