#include "core/duck.h"

#include "core/alloc.h"

#include <stdio.h>

#ifndef DSCAT_DUCKDB_EXT_DIR
#define DSCAT_DUCKDB_EXT_DIR "/nonexistent/dscat-duckdb-extensions"
#endif

struct dscat_duck {
    duckdb_database db;
    duckdb_connection con;
};

int dscat_duck_open(dscat_duck **out, dscat_error *err)
{
    return dscat_duck_open_bounded(out, 0, err);
}

int dscat_duck_open_bounded(dscat_duck **out, int64_t memory_bytes, dscat_error *err)
{
    *out = NULL;
    duckdb_config config = NULL;
    char *msg = NULL;
    int rc = 0;
    if ((rc = dscat_duck_load(err)))
        return rc;
    dscat_duck *d = dscat_calloc(1, sizeof(*d));
    if (d == NULL || duckdb_create_config(&config) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_set_config(config, "autoload_known_extensions", "false");
    duckdb_set_config(config, "extension_directory", DSCAT_DUCKDB_EXT_DIR);
    duckdb_set_config(config, "threads", "2");
    duckdb_set_config(config, "allow_community_extensions", "false");
    if (memory_bytes > 0) {
        char limit[32];
        snprintf(limit, sizeof(limit), "%lldB", (long long)memory_bytes);
        /* No spilling: a query past its memory stops with an error, never writes temp files. */
        if (duckdb_set_config(config, "memory_limit", limit) == DuckDBError ||
            duckdb_set_config(config, "temp_directory", "") == DuckDBError) {
            rc = dscat_error_set(err, DSCAT_EINVALID, "DuckDB refused memory_limit %s", limit);
            goto done;
        }
    }
    if (duckdb_open_ext(NULL, &d->db, config, &msg) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot start DuckDB: %s", msg ? msg : "unknown");
        goto done;
    }
    if (duckdb_connect(d->db, &d->con) == DuckDBError) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot connect to DuckDB");
        goto done;
    }
done:
    if (msg)
        duckdb_free(msg);
    if (config)
        duckdb_destroy_config(&config);
    if (rc) {
        dscat_duck_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

void dscat_duck_close(dscat_duck *d)
{
    if (d == NULL)
        return;
    if (d->con)
        duckdb_disconnect(&d->con);
    if (d->db)
        duckdb_close(&d->db);
    dscat_free(d);
}

duckdb_connection dscat_duck_connection(dscat_duck *d)
{
    return d->con;
}

int dscat_duck_exec(dscat_duck *d, const char *sql, dscat_error *err)
{
    duckdb_result res;
    if (*sql == '\0') /* the text of a failed dscat_buf: an error, never a no-op */
        return dscat_error_set(err, DSCAT_EINVALID, "DuckDB: no statement");
    if (duckdb_query(d->con, sql, &res) == DuckDBError) {
        dscat_error_set(err, DSCAT_EIO, "DuckDB: %s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return DSCAT_EIO;
    }
    duckdb_destroy_result(&res);
    return 0;
}

int dscat_duck_quote_literal(dscat_buf *b, const char *s)
{
    int rc = dscat_buf_putc(b, '\'');
    for (const char *p = s; *p && rc == 0; p++)
        rc = *p == '\'' ? dscat_buf_puts(b, "''") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, '\'');
}
