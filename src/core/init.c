#include "dscat/common.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>

#include "sources/sqlserver_sql.h"

int dscat_global_init(dscat_error *err)
{
    /* jansson allocates through dscat's wrappers, so what json_dumps returns is freed with
     * dscat_free() and the test build's failing allocation reaches jansson too. */
    json_set_alloc_funcs(dscat_malloc, dscat_free);
    if (sqlite3_initialize() != SQLITE_OK)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise SQLite");
    if (!sqlite3_threadsafe())
        return dscat_error_set(err, DSCAT_EINVALID, "SQLite was built without thread support");
    if (!PQisthreadsafe())
        return dscat_error_set(err, DSCAT_EINVALID, "libpq was built without thread support");
    if (mysql_library_init(0, NULL, NULL) != 0)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise the MariaDB client library");
    if (dscat_sqlserver__global_init() != 0)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise FreeTDS");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dscat_error_set(err, DSCAT_EIO, "cannot initialise libcurl");
    return 0;
}

void dscat_global_shutdown(void)
{
    curl_global_cleanup();
    dscat_sqlserver__global_shutdown();
    mysql_library_end();
    sqlite3_shutdown();
}
