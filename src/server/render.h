/*
 * The JSON shapes shared by every front end (CLI --json, MCP, HTTP): one renderer per library
 * result, so that a field is spelled the same way everywhere.
 */
#ifndef DSCAT_SERVER_RENDER_H
#define DSCAT_SERVER_RENDER_H

#include "dscat/cache.h"
#include "dscat/find.h"

#include <jansson.h>

/* An ISO 8601 UTC time, or null for DSCAT_STATUS_NEVER. */
json_t *dscat_render_time(int64_t us);

/* SPEC §6.2: status, last_updated, age_days, counts, targets. */
json_t *dscat_render_status(const dscat_status *s);

/* One search hit; by_table adds matching_columns. */
json_t *dscat_render_hit(const dscat_search_hit *h, bool by_table);

json_t *dscat_render_annotation(const dscat_annotation *a);

/* A table's details: {table: {...}, columns: [...], inbound: [...], annotations: [...]}. */
json_t *dscat_render_table(const dscat_table_detail *d);

/* A query result: columns, rows (arrays of strings or null), row_count, duration_ms, truncated. */
json_t *dscat_render_query(const dscat_query_result *r);

/* [{schema_name?, table_name?, message}] */
json_t *dscat_render_warnings(const dscat_warnings *w);
/*
 * What the search index and the annotations a server keeps in memory were loaded from: every
 * schema refresh ends by replacing last_scan.json (a rename: a new inode) and annotations are
 * replaced in their directory; a data refresh touches neither, so it never costs a reload. Two
 * equal strings mean nothing to reload.
 */
void dscat_render_catalog_generation(const char *catalog_dir, char *out, size_t size);
/* A cached version's fallback columns: [{column, storage, reason}]. */
json_t *dscat_render_fallbacks(const dscat_fallbacks *f);

#endif
