/*
 * What a source driver reports about one database: tables (with views and materialized views),
 * columns, primary-key flags, foreign keys and problems. Everything lives in the scan's arena and
 * is freed with dscat_db_scan_free(). Integers that may be unknown use DSCAT_NULL.
 */
#ifndef DSCAT_CORE_MODEL_H
#define DSCAT_CORE_MODEL_H

#include "core/arena.h"
#include "core/strmap.h"

#include <stdbool.h>
#include <stdint.h>

#define DSCAT_NULL INT64_MIN

typedef struct dscat_table_info {
    const char *schema, *name;
    const char *type; /* "BASE TABLE", "VIEW", "MATERIALIZED VIEW", ... */
    const char *comment;
    int64_t row_estimate;     /* DSCAT_NULL = unknown */
    int64_t size_bytes;       /* DSCAT_NULL = unknown */
    int64_t last_modified_us; /* UTC microseconds since the epoch; DSCAT_NULL = unknown */
    bool excluded;            /* left out by a filter or max_tables_per_db: not stored */
} dscat_table_info;

typedef struct dscat_column_info {
    size_t table; /* index into tables */
    const char *name;
    int ordinal;
    const char *data_type, *column_type;
    bool nullable, is_pk;
    /* "STORED" or "VIRTUAL" for a generated (computed) column, NULL for an ordinary one. */
    const char *generated;
    bool hidden;                                       /* left out of SELECT * by the engine */
    const char *default_value, *comment;               /* NULL = none */
    int64_t max_length, precision, scale;              /* DSCAT_NULL = not applicable */
    int64_t null_count, distinct_count, profiled_rows; /* DSCAT_NULL unless profiled */
    /* Set by the driver from the engine's catalog, for a scan that is profiled (a driver may
     * leave it unset otherwise): a type without the ordering COUNT(DISTINCT) needs, or a column
     * the user may not read. Such a column is left out of the profile. */
    bool unprofileable;
    /* Set by the driver like unprofileable: a type without the ordering COUNT(DISTINCT) needs,
     * whose null count is still profiled; its distinct count stays null. */
    bool no_distinct;
} dscat_column_info;

typedef struct dscat_fk_info {
    size_t table;
    const char *column;
    const char *ref_schema, *ref_table, *ref_column;
} dscat_fk_info;

typedef struct dscat_problem {
    const char *database, *schema; /* schema may be NULL */
    const char *message;
} dscat_problem;

#define DSCAT_VEC(T)                                                                               \
    struct {                                                                                       \
        T *items;                                                                                  \
        size_t count, cap;                                                                         \
    }

typedef struct dscat_db_scan {
    dscat_arena arena;
    const char *database;
    int64_t scanned_at_us;
    DSCAT_VEC(dscat_table_info) tables;
    DSCAT_VEC(dscat_column_info) columns;
    DSCAT_VEC(dscat_fk_info) fks;
    DSCAT_VEC(dscat_problem) problems;
    dscat_strmap table_index; /* "schema\0name" -> index into tables */
    /*
     * Each table's columns as a chain, newest first, for lookups by name without a key per
     * column: last_column[t] is table t's newest column (SIZE_MAX: none; entries past
     * last_column_count are none too), column_before[c] the one added before column c.
     */
    size_t *last_column, last_column_count;
    size_t *column_before, column_before_cap; /* parallel to columns */
} dscat_db_scan;

/* Prepares an empty scan of `database`. Returns 0 or DSCAT_ENOMEM. */
int dscat_db_scan_init(dscat_db_scan *s, const char *database);
void dscat_db_scan_free(dscat_db_scan *s);

/*
 * Appends a table (strings are copied); *index receives its position. Returns 0, DSCAT_ENOMEM,
 * or DSCAT_EINVALID when the name is not valid UTF-8 (the store and its exports hold UTF-8 text
 * only): the driver then reports the table as a problem and goes on.
 */
int dscat_db_scan_add_table(dscat_db_scan *s, const dscat_table_info *t, size_t *index);
/*
 * The index of table schema.name, or -1 when it was not reported. Needs no memory unless the
 * names together pass 1 KiB; then DSCAT_ENOMEM (negative too) when out of memory.
 */
long dscat_db_scan_find_table(const dscat_db_scan *s, const char *schema, const char *name);
/* Appends a column (strings copied). 0, DSCAT_ENOMEM, or DSCAT_EINVALID as for a table. */
int dscat_db_scan_add_column(dscat_db_scan *s, const dscat_column_info *c);

/*
 * The same for a driver that reports many columns of few types: data_type and column_type are
 * not copied, and must already belong to the scan (from dscat_db_scan_strdup, or NULL where
 * allowed); the other strings are copied.
 */
int dscat_db_scan_add_column_shared(dscat_db_scan *s, const dscat_column_info *c);

/* A copy of str (NULL for NULL) that lives as long as the scan; NULL when out of memory. */
const char *dscat_db_scan_strdup(dscat_db_scan *s, const char *str);
/* The same with each byte that is not part of valid UTF-8 written as \xNN (a comment or a
 * default from a database whose text has no encoding): what the store can hold. */
const char *dscat_db_scan_strdup_escaped(dscat_db_scan *s, const char *str);
/* Appends a foreign-key column pair (strings copied). */
int dscat_db_scan_add_fk(dscat_db_scan *s, const dscat_fk_info *fk);
/*
 * Records a problem (strings copied). Bytes of the message that are not valid UTF-8 (a name
 * quoted in it) are written as \xNN, so that every problem can be stored and exported.
 */
int dscat_db_scan_add_problem(dscat_db_scan *s, const char *schema, const char *message);
/* Records a problem about one object: "<what> <name>: <cause>". 0 or DSCAT_ENOMEM. */
int dscat_db_scan_add_object_problem(dscat_db_scan *s, const char *schema, const char *what,
                                     const char *name, const char *cause);
/*
 * For drivers, after adding a table (column NULL) or a column: rc DSCAT_EINVALID (a name the
 * store cannot hold) becomes a problem naming the object, "table schema.name: ..." or "column
 * schema.table.column: ...", and 0; other codes come back as they are.
 */
int dscat_db_scan_refused(dscat_db_scan *s, int rc, const char *schema, const char *table,
                          const char *column);
/* True when s is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF). */
bool dscat_db_scan_valid_utf8(const char *s);

/*
 * Drops every column from position `count` on (a source's pass that failed halfway) and
 * rebuilds the column chains over the rest. 0 or DSCAT_ENOMEM.
 */
int dscat_db_scan_truncate_columns(dscat_db_scan *s, size_t count);
/*
 * The index of column `column` of table `table`, or -1. Walks the table's own columns (no map,
 * no allocation); when a name occurs twice the column added last is found.
 */
long dscat_db_scan_find_column(const dscat_db_scan *s, size_t table, const char *column);
/* The index of the column at position `ordinal` of table `table`, or -1; as find_column. */
long dscat_db_scan_find_ordinal(const dscat_db_scan *s, size_t table, int ordinal);
/* Sets is_pk on column `column` of table `table`; does nothing when the column is unknown. */
void dscat_db_scan_mark_pk(dscat_db_scan *s, size_t table, const char *column);

#endif
