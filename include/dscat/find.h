/*
 * Finding data in the catalog without touching a source database: search, table details, join
 * paths, differences between scans, and annotations. Everything reads the store (and the
 * annotation files) only.
 *
 * Results are jansson-free plain structs so that the CLI, the MCP server and the HTTP API format
 * them as they need.
 */
#ifndef DSCAT_FIND_H
#define DSCAT_FIND_H

#include "dscat/catalog.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- search (SPEC §8) -------------------------------------------------------------------- */

typedef struct dscat_search_index dscat_search_index;

/*
 * Loads the current catalog and every annotation into an in-memory search index. The index is
 * immutable: searches may run on it from several threads at once. Free with
 * dscat_search_index_free().
 */
int dscat_search_index_load(dscat_search_index **out, dscat_store *st, const char *catalog_dir,
                            dscat_error *err);
/*
 * The same index, read from <catalog_dir>/search.idx (written by every refresh with the other
 * exports, mapped read-only) when that file describes the store's current snapshot; otherwise
 * built from the store as dscat_search_index_load does and, with DSCAT_SEARCH_INDEX_WRITE, the
 * file rewritten when the catalog directory is writable and no refresh is exporting (a failure
 * to write is not an error). Annotations are read from their files either way. Searches give
 * the same results on either index. Free with dscat_search_index_free().
 */
#define DSCAT_SEARCH_INDEX_WRITE 1u
int dscat_search_index_open(dscat_search_index **out, dscat_store *st, const char *catalog_dir,
                            unsigned flags, dscat_error *err);
/* Whether idx was read from search.idx (true) or built from the store (false). */
bool dscat_search_index_persisted(const dscat_search_index *idx);
void dscat_search_index_free(dscat_search_index *idx);
/* Column rows in the index (what "searched N columns" reports). */
size_t dscat_search_index_columns(const dscat_search_index *idx);

typedef struct dscat_search_options {
    const char *const *keywords; /* each split on white space; matched literally, any case */
    size_t nkeywords;
    size_t top;                             /* 0 = 20 */
    bool by_table;                          /* one result per table */
    const char *target, *database, *schema; /* exact filters, NULL = any */
} dscat_search_options;

typedef struct dscat_search_hit {
    const char *target, *database, *schema, *table_name;
    const char *column_name; /* by_table: the best column */
    const char *data_type;
    bool is_primary_key, is_foreign_key;
    const char *fk_references;  /* "" when none */
    int64_t row_count_estimate; /* DSCAT_NULL_ESTIMATE when unknown */
    int relevance;
    const char *matching_columns; /* by_table: "a, b, c" of the columns that matched */
} dscat_search_hit;

#define DSCAT_NULL_ESTIMATE INT64_MIN

typedef struct dscat_search_result {
    dscat_search_hit *hits; /* best first */
    size_t count;
    size_t searched; /* column rows considered */
    char *arena_;    /* owned strings */
} dscat_search_result;

/* Runs a search. The hits point into the index and into the result; free with
 * dscat_search_result_free() before the index. */
int dscat_search(dscat_search_result *out, const dscat_search_index *idx,
                 const dscat_search_options *opts, dscat_error *err);
void dscat_search_result_free(dscat_search_result *r);

/* ---- table details and join paths -------------------------------------------------------- */

/*
 * Splits a qualified name on "." into at most `max` parts, honouring SQL-style double quotes
 * ("Q1.2024" is one part, "" inside quotes is a quote). An optional "target:" prefix is returned
 * in *target. Returns the number of parts, -1 when the name is malformed, or DSCAT_ENOMEM (also
 * negative) when out of memory. Caller frees parts
 * and *target with dscat_free().
 */
int dscat_split_qualified(const char *name, char **target, char **parts, int max);

/*
 * Joins parts with ".", quoting a part SQL-style when it holds "." or '"' (or is empty, or is
 * the first part and holds ":", which would read as a target): the inverse of
 * dscat_split_qualified, for every list of parts. Caller frees with dscat_free(); NULL when out of
 * memory.
 */
char *dscat_join_qualified(const char *const *parts, int n);

typedef struct dscat_column_detail {
    char *name, *data_type, *column_type, *fk_references, *default_value, *comment;
    bool nullable, is_primary_key, is_foreign_key;
    int ordinal;
    int64_t null_count, distinct_count, profiled_rows; /* DSCAT_NULL_ESTIMATE unless profiled */
    char *generated; /* "STORED" or "VIRTUAL" for a generated column, else NULL */
    bool hidden;     /* left out of SELECT * by the engine (hidden, invisible) */
} dscat_column_detail;

typedef struct dscat_reference {
    char *database, *schema, *table_name, *column_name, *ref_schema, *ref_table, *ref_column;
    char *target;
} dscat_reference;

typedef struct dscat_annotation {
    char *id, *type, *content, *author, *created_at, *table; /* table: Db.Schema.Table */
} dscat_annotation;

typedef struct dscat_table_detail {
    char *target, *server, *database, *schema, *table_name, *table_type, *comment;
    int64_t row_count_estimate, size_bytes, last_modified_us, scanned_at_us; /* or NULL_EST. */
    dscat_column_detail *columns;
    size_t ncolumns;
    dscat_reference *inbound; /* foreign keys of other tables that reference this one */
    size_t ninbound;
    dscat_annotation *annotations;
    size_t nannotations;
} dscat_table_detail;

/* A list of table names ("target:db.schema.table"), e.g. the candidates of an ambiguous name. */
typedef struct dscat_name_candidates {
    char **names;
    size_t count;
} dscat_name_candidates;

/*
 * Finds one table by `table` (a bare name, when it is unique in the catalog), `db.table`,
 * `db.schema.table` or `target:db.schema.table`. When the name
 * matches several tables, returns DSCAT_ECONFLICT and fills *candidates; when none,
 * DSCAT_ENOTFOUND. Caller frees with dscat_table_detail_free() / dscat_name_candidates_free().
 */
int dscat_table_lookup(dscat_table_detail **out, dscat_name_candidates *candidates, dscat_store *st,
                       const char *catalog_dir, const char *name, dscat_error *err);
void dscat_table_detail_free(dscat_table_detail *d);
void dscat_name_candidates_free(dscat_name_candidates *c);

typedef struct dscat_join_paths {
    dscat_reference *outbound; /* this table's foreign keys */
    size_t noutbound;
    dscat_reference *inbound; /* other tables' foreign keys to a table of exactly this name */
    size_t ninbound;
} dscat_join_paths;

/* Join paths of every table named exactly `table` (any database and schema). */
int dscat_join_paths_get(dscat_join_paths *out, dscat_store *st, const char *table,
                         dscat_error *err);
void dscat_join_paths_free(dscat_join_paths *j);

/* ---- differences between scans ------------------------------------------------------------ */

typedef struct dscat_change {
    char *target, *kind; /* "table added", "table removed", "column added", ... */
    char *database, *schema, *table_name, *column_name, *detail;
} dscat_change;

typedef struct dscat_diff {
    char *target;
    int64_t from_scan, to_scan;
    dscat_change *changes;
    size_t count;
} dscat_diff;

/*
 * Changes between two successful scans of one target (from -> to). from = 0 and to = 0 mean
 * the target's last two successful scans. target may be NULL when the store holds one target.
 */
int dscat_diff_get(dscat_diff *out, dscat_store *st, const char *target, int64_t from, int64_t to,
                   dscat_error *err);
void dscat_diff_free(dscat_diff *d);

/* ---- annotations (SPEC §7) ---------------------------------------------------------------- */

/* The annotating user: DSCAT_USER, DENG_USERNAME, git's user.name, $USER, "anonymous";
 * sanitised to [A-Za-z0-9_-], at most 64 characters. Writes at most size bytes. */
void dscat_annotation_user(char *out, size_t size);

/*
 * Adds an annotation to <catalog_dir>/annotations/<user>.json (lock, re-read, atomic rename).
 * table is "Db.Schema.Table" (parts may be quoted); type is note, quality_flag or deprecation.
 * *created (may be NULL) receives the new annotation; *file its file. Caller frees both.
 */
int dscat_annotation_add(dscat_annotation *created, char **file, const char *catalog_dir,
                         const char *table, const char *type, const char *content,
                         dscat_error *err);

typedef struct dscat_annotation_list {
    dscat_annotation *items; /* every user's, de-duplicated by id, oldest first */
    size_t count;
    char **skipped; /* files that could not be read (corrupt), reported, not fatal */
    size_t nskipped;
} dscat_annotation_list;

/* Reads and merges every JSON file in annotations/; table (NULL = all) keeps one table's. */
int dscat_annotations_read(dscat_annotation_list *out, const char *catalog_dir, const char *table,
                           dscat_error *err);
void dscat_annotation_list_free(dscat_annotation_list *l);
void dscat_annotation_clear(dscat_annotation *a);

#endif
