/*
 * The library's process-wide initialisation: the catalog store's engines (SQLite) through the
 * store table, every source engine's client library through the registry, libcurl, and jansson's
 * allocator. Called once from main, never lazily.
 */
#include "dscat/common.h"

#include "sources/source.h"
#include "store/store.h"

#include <curl/curl.h>
#include <jansson.h>

int dscat_global_init(dscat_error *err)
{
    int rc;
    /* jansson allocates through dscat's wrappers, so what json_dumps returns is freed with
     * dscat_free() and the test build's failing allocation reaches jansson too. */
    json_set_alloc_funcs(dscat_malloc, dscat_free);
    if ((rc = dscat_store__global_init(err)))
        return rc;
    if ((rc = dscat_sources_global_init(err)))
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise libcurl");
    return 0;
}

void dscat_global_shutdown(void)
{
    curl_global_cleanup();
    dscat_sources_global_shutdown();
    dscat_store__global_shutdown();
}
