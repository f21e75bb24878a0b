/*
 * The content addresses of one database scan, for store engines: the store keeps each distinct
 * column set, table and set of tables once, found again by a keyed 128-bit hash of everything
 * it holds (core/siphash.h), so that a refresh that finds a table unchanged writes nothing for
 * it. Built from the scan alone; the store's key (random per store) makes the addresses.
 */
#ifndef DSCAT_STORE_CONTENT_H
#define DSCAT_STORE_CONTENT_H

#include "core/model.h"
#include "core/siphash.h"
#include "dscat/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t dscat_content_hash[DSCAT_SIPHASH_BYTES];

/*
 * How a database scan is laid out in the store and its exports, without the store's key: each
 * column's foreign-key references, each table's columns and foreign keys, the stored tables in
 * order. Built from the scan alone, which it only reads (so that two threads may each build one
 * of the same scan).
 */
typedef struct dscat_scan_order {
    /* Parallel to the scan's columns: "ref_schema.ref_table.ref_column", several joined by
     * ", " in the driver's order, or NULL for a column that is no foreign key. Owned. */
    char **fk_refs;
    size_t ncolumns;
    /* Table t's columns are column_order[column_start[t] .. column_start[t + 1]), by ordinal;
     * its foreign keys fk_order[fk_start[t] .. fk_start[t + 1]), in the order the driver
     * reported them: indexes into the scan's arrays. */
    size_t *column_start, *column_order, *fk_start, *fk_order;
    /* The stored (not excluded) tables in (schema, name) byte order, ntables of them: the order
     * of a table set's members and of the exports' rows. */
    size_t *table_order, ntables;
} dscat_scan_order;

/* Builds o from scan d. 0 or DSCAT_ENOMEM (err filled); free with dscat_scan_order_free()
 * either way. */
int dscat_scan_order_build(dscat_scan_order *o, const dscat_db_scan *d, dscat_error *err);
void dscat_scan_order_free(dscat_scan_order *o);

typedef struct dscat_scan_content {
    dscat_scan_order order;
    int64_t *signatures;             /* per table: the change-detection signature */
    dscat_content_hash *column_sets; /* per table: its columns and foreign keys */
    dscat_content_hash *tables;      /* per table: the table row and its column set */
    dscat_content_hash table_set;    /* the database's stored tables, in any order */
} dscat_scan_content;

/*
 * Computes the addresses of scan d of target `target` under the store's 16-byte key. Excluded
 * tables take no part in the table set. 0 or DSCAT_ENOMEM (err filled); free with
 * dscat_scan_content_free() either way.
 */
int dscat_scan_content_build(dscat_scan_content *c, const dscat_db_scan *d, const char *target,
                             const uint8_t key[16], dscat_error *err);
void dscat_scan_content_free(dscat_scan_content *c);

/* Reads a store's content key, 32 lowercase hex digits, into key; false when hex is not one. */
bool dscat_content_key_parse(const char *hex, uint8_t key[16]);

#endif
