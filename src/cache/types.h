/*
 * How a source column is stored in the cache: its DuckDB (Parquet) type, and whether it is read
 * hex-encoded (binary data). The mapping is documented in docs/cache-types.md.
 */
#ifndef DSCAT_CACHE_TYPES_H
#define DSCAT_CACHE_TYPES_H

#include "core/buf.h"
#include "dscat/config.h"
#include "sources/source.h"

#include <stdbool.h>

/* What a column's values are checked as: the kind of its native DuckDB type. */
typedef enum value_kind {
    KIND_TEXT,
    KIND_JSON,
    KIND_BLOB,
    KIND_BOOLEAN,
    KIND_INT8,
    KIND_INT16,
    KIND_INT32,
    KIND_INT64,
    KIND_UINT8,
    KIND_UINT16,
    KIND_UINT32,
    KIND_UINT64,
    KIND_FLOAT,
    KIND_DOUBLE,
    KIND_DECIMAL,
    KIND_DATE,
    KIND_TIME,
    KIND_TIMESTAMP,
    KIND_TIMESTAMPTZ,
    KIND_UUID
} value_kind;

/* How a column is written: its native type, or a lossless fallback. */
typedef enum cache_storage {
    STORE_NATIVE,
    STORE_TEXT,   /* VARCHAR: the source's own text form */
    STORE_BINARY, /* BLOB: the bytes, for text that is not UTF-8 or SQLite blobs */
    /* VARCHAR: each value as an SQL literal that keeps its storage class (SQLite columns holding
     * several: 1, 1.0, '1', X'00ff'; docs/cache.md) */
    STORE_LITERAL
} cache_storage;

typedef struct cache_column {
    char *name;
    char duck_type[48];   /* "BIGINT", "DECIMAL(10,2)", ... "VARCHAR" for text */
    bool hex;             /* read as hex text from the source, stored as BLOB */
    char source_type[64]; /* the catalogued data type, for drivers that convert in SQL */
    value_kind kind;      /* of duck_type */
    int precision, scale; /* of a DECIMAL(p,s) */
    cache_storage storage;
    char *example;    /* the first value that needed the fallback, cut short, or NULL */
    unsigned classes; /* DSCAT_CLASS_* seen, where the engine does not enforce types; else 0 */
} cache_column;

/* The outcome of checking one value. */
typedef enum value_fit {
    VALUE_PASS,     /* the value goes to DuckDB as it came */
    VALUE_OK,       /* the value goes to DuckDB as rewritten into out */
    VALUE_MISFIT,   /* the native type cannot hold it exactly: text fallback */
    VALUE_NOT_UTF8, /* text that is not UTF-8: binary fallback */
    VALUE_BAD_HEX,  /* the source sent hex that is not hex: an error */
    VALUE_NOMEM
} value_fit;

/* The kind of a DuckDB type name ("DECIMAL(p,s)" included); KIND_TEXT for anything else. */
value_kind dscat_cache_kind(const char *duck_type);
/* Sets c->kind (and precision and scale for a DECIMAL) from c->duck_type. */
void dscat_cache_column_kind(cache_column *c);
/*
 * Checks (and for dates, times and fallbacks rewrites) one non-NULL value of column c: the len
 * bytes at in, which may hold NUL bytes (in[len] is NUL too).
 */
value_fit dscat_cache_value(const cache_column *c, const char *in, size_t len, dscat_buf *out);
/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool dscat_utf8_valid(const char *s, size_t n);
/* "native", "text", "binary" or "literal". */
const char *dscat_cache_storage_name(cache_storage s);

/*
 * Chooses the cache type of a column from its catalogued type, through the engine's cache_type
 * entry (VARCHAR, the text form, where it has none). precision/scale -1 = none.
 */
void dscat_cache_map_type(cache_column *c, const dscat_source_driver *source, const char *data_type,
                          const char *column_type, int precision, int scale);

/* Appends "name" as a double-quoted SQL identifier. */
int dscat_cache_quote_ident(dscat_buf *b, const char *name);

#endif
