/*
 * MySQL / MariaDB statement texts and decodings kept apart from the libmariadb calls, so that
 * they can be tested without a server: the session's settings and how a refused SET falls back,
 * and what information_schema.COLUMNS.EXTRA says of a generated column.
 */
#ifndef DSCAT_SOURCES_MYSQL_SQL_H
#define DSCAT_SOURCES_MYSQL_SQL_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* The most settings a session has. */
#define DSCAT_MYSQL_SETTINGS 3

/* One assignment of a catalog connection's session. */
typedef struct dscat_mysql_setting {
    const char *name;    /* the variable, for messages: "time_zone" */
    char assignment[64]; /* "time_zone = '+00:00'" */
    bool essential;      /* without it the catalog would be wrong: its refusal fails the scan */
} dscat_mysql_setting;

/*
 * The settings of a catalog connection to a server that calls itself server_info
 * (mysql_get_server_info) at server_version (mysql_get_server_version), into out (room for
 * DSCAT_MYSQL_SETTINGS): UTC (time_zone, essential: UNIX_TIMESTAMP of UPDATE_TIME, a TIMESTAMP
 * column's default), then on MariaDB the server-side bound of each query (max_statement_time,
 * query_timeout seconds, 0 for none), on MySQL 8 fresh statistics
 * (information_schema_stats_expiry). Returns how many.
 */
size_t dscat_mysql__session_settings(dscat_mysql_setting *out, const char *server_info,
                                     unsigned long server_version, int query_timeout);

/* Appends "SET a, b, ..." for the n settings. 0 or DSCAT_ENOMEM. */
int dscat_mysql__set_sql(dscat_buf *b, const dscat_mysql_setting *settings, size_t n);

/*
 * Runs one statement for dscat_mysql__prepare_session: 0 when it succeeded, a positive server
 * error code when the server refused it (an unknown variable, a missing privilege, a proxy's
 * syntax error), a negative DSCAT_E* code when the connection is lost (the caller's callback
 * fills its own error then).
 */
typedef int (*dscat_mysql_exec_fn)(const char *sql, void *payload);

/*
 * Sets the session in one statement (SET of all n settings); when the server refuses it, each
 * setting alone, in order, so that a variable an old server or a proxy does not know costs only
 * itself. Returns 0 when every essential setting is in force (a refused optional one is
 * skipped), the exec's negative code when the connection is lost, or the server's positive
 * code with *refused set to the index of the essential setting it refused.
 */
int dscat_mysql__prepare_session(const dscat_mysql_setting *settings, size_t n,
                                 dscat_mysql_exec_fn exec, void *payload, size_t *refused);

/*
 * What information_schema.COLUMNS.EXTRA (NULL allowed) says of a generated column: "STORED" for
 * STORED GENERATED (MySQL, MariaDB) and PERSISTENT GENERATED (MariaDB's older word), "VIRTUAL"
 * for VIRTUAL GENERATED, beside other marks ("VIRTUAL GENERATED, INVISIBLE"); NULL for any other
 * column (DEFAULT_GENERATED, MySQL's mark of an
 * expression default, is not a generated column).
 */
const char *dscat_mysql__generated(const char *extra);

#endif
