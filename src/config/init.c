/*
 * The library's process-wide initialisation: SQLite (the catalog store), every source engine's
 * client library through the registry, and libcurl. Called once from main, never lazily.
 */
#include "dscat/common.h"

#include "sources/source.h"

#include <curl/curl.h>
#include <sqlite3.h>

int dscat_global_init(dscat_error *err)
{
    int rc;
    if (sqlite3_initialize() != SQLITE_OK)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise SQLite");
    if (!sqlite3_threadsafe())
        return dscat_error_set(err, DSCAT_EINVALID, "SQLite was built without thread support");
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
    sqlite3_shutdown();
}
