/*
 * SQL Server query texts and type names, kept apart from the FreeTDS calls so that they can be
 * tested without a server.
 */
#ifndef DSCAT_SOURCES_SQLSERVER_SQL_H
#define DSCAT_SOURCES_SQLSERVER_SQL_H

#include "core/buf.h"
#include "sources/source.h"

#include <stdint.h>

typedef enum dscat_sqlserver_query {
    DSCAT_MSSQL_TABLES,
    DSCAT_MSSQL_COLUMNS,
    DSCAT_MSSQL_KEYS,
    DSCAT_MSSQL_USAGE
} dscat_sqlserver_query;

/* Online databases other than master, tempdb, model and msdb. */
extern const char *const dscat_sqlserver__databases_sql;

/* Appends "[name]" with every "]" doubled. */
int dscat_sqlserver__quote_ident(dscat_buf *b, const char *name);

/* Appends the batch for one catalog query in `database`: "USE [database];" then the query. */
int dscat_sqlserver__scan_sql(dscat_buf *b, const char *database, dscat_sqlserver_query q);

/*
 * The full declared type from INFORMATION_SCHEMA.COLUMNS facts: varchar(50), nvarchar(max),
 * decimal(10,2), datetime2(7), ... DSCAT_NULL for facts that do not apply. Appended to out (a
 * user-defined type's name may be of any length). 0 or DSCAT_ENOMEM.
 */
int dscat_sqlserver__column_type(dscat_buf *out, const char *data_type, int64_t max_length,
                                 int64_t precision, int64_t scale, int64_t datetime_precision);

/*
 * The row cursor's SELECT: every column converted to text on the server in a form DuckDB casts
 * back exactly (ISO 8601 times, round-trip floats, hex for binaries, 4 decimals for money).
 */
int dscat_sqlserver__select_sql(dscat_buf *b, const char *schema, const char *table,
                                const dscat_cursor_column *columns, size_t ncolumns);

/* The server name db-lib connects to: "host:port", or "host\instance" (no port then). */
int dscat_sqlserver__server_name(dscat_buf *b, const char *host, int port, const char *instance);

/*
 * A column's generated kind from field 12 of the column query (NULL allowed): "STORED" for a
 * persisted computed column, "VIRTUAL" for another computed column, NULL for an ordinary one.
 * A computed column has no default.
 */
const char *dscat_sqlserver__generated(const char *computed);

/* False for types COUNT(DISTINCT) fails on (text, ntext, image, xml, spatial) or binaries. */
bool dscat_sqlserver__profileable(const char *data_type);

#endif
