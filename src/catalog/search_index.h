/*
 * The search index's layout, shared by search.c (building it from the store, searching it) and
 * search_file.c (the persisted copy, search.idx, described in docs/search-index.md).
 */
#ifndef DSCAT_CATALOG_SEARCH_INDEX_H
#define DSCAT_CATALOG_SEARCH_INDEX_H

#include "store/store.h"
#include "core/arena.h"
#include "core/strmap.h"
#include "dscat/find.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct s_table {
    const char *target, *database, *schema, *name;
    const char *l_name, *l_comment, *l_annotations; /* lower-cased */
    uint32_t database_id, schema_id;                /* in the places dictionary */
    int64_t rows;
} s_table;

/* One column row. Its layout is also the file's column record (24 bytes, no padding). */
typedef struct s_column {
    uint32_t table, name_id, type_id, comment_id, refs_id; /* 0 = "" / none */
    uint8_t pk, fk;                                        /* 0 or 1 */
    uint16_t unused;                                       /* 0 */
} s_column;

/* Distinct strings: each stored once as written and lower-cased; id 0 is "". */
typedef struct s_dict {
    const char **text;
    const char **lower;
    size_t count, cap;
    dscat_strmap map;
} s_dict;

/*
 * Many short strings joined into one buffer (each ending in NUL): a keyword is found in all of
 * them with one memmem pass instead of one strstr call per string. start[i] is entry i's offset.
 */
typedef struct s_blob {
    char *text;
    size_t len;
    size_t *start;
    size_t count;
} s_blob;

#define S_NDICTS 5

struct dscat_search_index {
    dscat_arena arena;
    s_table *tables;
    size_t ntables;
    s_column *columns; /* into the mapped file when `map` is set, else owned */
    size_t ncolumns;
    s_dict names, types, comments, refs;
    s_dict places; /* database and schema names: a handful, shared by thousands of tables */
    s_blob name_blob, table_blob; /* the column names and the table names, for one scan each */
    void *map;                    /* search.idx mapped read-only, or NULL: strings point into it */
    size_t map_len;
    bool persisted; /* read from search.idx rather than built from the store */
};

/* The dictionaries in their file order. */
#define S_DICTS(idx)                                                                               \
    {                                                                                              \
        &(idx)->names, &(idx)->types, &(idx)->comments, &(idx)->refs, &(idx)->places               \
    }

/* What a catalog's index was built from: one snapshot of the store. */
typedef struct dscat_search_stamp {
    int64_t generation;
    char catalog_id[48];
    char fingerprint[1024]; /* dscat_store__fingerprint */
} dscat_search_stamp;

/* The stamp of the store's current snapshot. Call inside a read transaction. */
int dscat_search__stamp(dscat_store *st, dscat_search_stamp *stamp, dscat_error *err);

/*
 * Builds the index of the current catalog from the store, without annotations and without the
 * blobs (dscat_search__finish adds both). *stamp (may be NULL) receives the stamp of the snapshot
 * read. Caller frees with dscat_search_index_free().
 */
int dscat_search__build(dscat_search_index **out, dscat_store *st, dscat_search_stamp *stamp,
                        dscat_error *err);
/* Attaches every annotation of catalog_dir to its table and builds the blobs. */
int dscat_search__finish(dscat_search_index *idx, const char *catalog_dir, dscat_error *err);

/*
 * Writes <catalog_dir>/search.idx from the store's current snapshot (atomically). Called by
 * dscat_export_all under the exports lock, inside its read transaction. When the file there holds
 * the same content (the same table sets: docs/search-index.md), it is written again from itself
 * with the new stamp instead of being rebuilt from the store.
 */
int dscat_search__write(dscat_store *st, const char *catalog_dir, dscat_error *err);

#endif
