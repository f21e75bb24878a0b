/*
 * How a source column is stored in the cache: its DuckDB (Parquet) type, and whether it is read
 * hex-encoded (binary data). The mapping is documented in docs/cache-types.md.
 */
#ifndef DSCAT_CACHE_TYPES_H
#define DSCAT_CACHE_TYPES_H

#include "core/buf.h"
#include "dscat/config.h"

#include <stdbool.h>

typedef struct cache_column {
    char *name;
    char duck_type[48];   /* "BIGINT", "DECIMAL(10,2)", ... "VARCHAR" for text and fallbacks */
    bool hex;             /* read as hex text, stored as BLOB */
    char source_type[64]; /* the catalogued data type, for drivers that convert in SQL */
} cache_column;

/* Chooses the cache type of a column from its catalogued type. precision/scale -1 = none. */
void dscat_cache_map_type(cache_column *c, dscat_source_type source, const char *data_type,
                          const char *column_type, int precision, int scale);

/* SQL Server's binary types (binary, varbinary, image, timestamp/rowversion). */
bool dscat_sqlserver_binary(const char *data_type);

/*
 * The local Parquet file of a cached version: the file itself on a local root; on S3 a copy in
 * the bounded read cache, downloaded when missing. Caller frees *out.
 */
int dscat_cache__local_file(const dscat_config *cfg, const char *version_path, char **out,
                            dscat_error *err);

/* Appends "name" as a double-quoted SQL identifier. */
int dscat_cache_quote_ident(dscat_buf *b, const char *name);

#endif
