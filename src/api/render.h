/*
 * The JSON shapes shared by every front end (CLI --json, MCP, HTTP): one renderer per library
 * result, so that a field is spelled the same way everywhere. Internal to src/api and
 * src/server (jansson objects); the CLI gets the same shapes as text from include/dscat/api.h.
 */
#ifndef DSCAT_API_RENDER_H
#define DSCAT_API_RENDER_H

#include "dscat/api.h"

#include <jansson.h>

/* An ISO 8601 UTC time, or null for DSCAT_STATUS_NEVER. */
json_t *dscat_render_time(int64_t us);

/* {"schedules": [{kind, connection_id, schema_name, table_name, every_seconds, last_started,
 * last_finished, result, error, failures, next_run}]}. */
json_t *dscat_render_schedules(const dscat_schedule_list *l);

/* SPEC §6.2: status, last_updated, age_days, counts, targets. */
json_t *dscat_render_status(const dscat_status *s);

/* One search hit; by_table adds matching_columns. */
json_t *dscat_render_hit(const dscat_search_hit *h, bool by_table);

/* The hits as an array of dscat_render_hit. */
json_t *dscat_render_hits(const dscat_hits *h, bool by_table);

/*
 * The annotations of the hits' tables, once per table: {"<db.schema.table>": [annotation...]};
 * tables without annotations are left out.
 */
json_t *dscat_render_hit_annotations(const dscat_hits *h);

/* A diff: {target, from_scan, to_scan, changes: [{change, database, schema, table, column?,
 * detail?}]}. */
json_t *dscat_render_diff(const dscat_diff *d);

json_t *dscat_render_annotation(const dscat_annotation *a);

/* A table's details: {table: {...}, columns: [...], inbound: [...], annotations: [...]}. */
json_t *dscat_render_table(const dscat_table_detail *d);

/* A query result: columns, rows (arrays of strings or null), row_count, duration_ms, truncated. */
json_t *dscat_render_query(const dscat_query_result *r);

/* [{schema_name?, table_name?, message}] */
json_t *dscat_render_warnings(const dscat_warnings *w);
/* A cached version's fallback columns: [{column, storage, reason}]. */
json_t *dscat_render_fallbacks(const dscat_fallbacks *f);

/*
 * The older tool's answer to get_table_details (MCP): dscat_render_table with its table fields
 * (server, last_modified, scanned_at) and, on each column, the metadata.parquet row fields.
 */
json_t *dscat_render_table_rows(const dscat_table_detail *d);

/* Join paths as MCP answers them: {outbound: [...], inbound: [...]}, references as s.t.c. */
json_t *dscat_render_joins(const dscat_join_paths *j);

/* The older tool's status (MCP): {status, age_days, stats: {targets, databases, tables,
 * columns}}. */
json_t *dscat_render_status_summary(const dscat_status *s);

/* Annotations as MCP answers them: {target, annotations} for one table, else {tables: {name:
 * {annotations}}}; skipped_files when some could not be read. */
json_t *dscat_render_annotation_list(const dscat_annotation_list *l, const char *target);

/* A connection (HTTP): connection_id, target, database, type, tables, cached_tables. */
json_t *dscat_render_connection(const dscat_connection *c);

/* A connection's cached tables (HTTP): [{schema_name, table_name, version, rows, bytes,
 * last_sync, fallbacks}]. */
json_t *dscat_render_cached_tables(const dscat_cache_listing *cl);

/* The CLI's `cache refresh --json`: connection_id, tables_refreshed, tables_failed,
 * total_rows, duration_ms, tables, warnings (the report's, then `more`, may be NULL). */
json_t *dscat_render_cache_report(const dscat_cache_report *rep, const char *connection_id,
                                  const dscat_warnings *more);

/* The CLI's `cache ls --json`: tables, pending_deletions, warnings (w may be NULL). */
json_t *dscat_render_cache_listing(const dscat_cache_listing *l, const dscat_warnings *w);

/* The CLI's `query --format json`: one object per row, {column: text or null}. */
json_t *dscat_render_query_rows(const dscat_query_result *r);

/* Text of j (taking the reference): DSCAT_JSON_PRETTY as the CLI prints, else compact ASCII.
 * Caller frees with free(); NULL when j is NULL or out of memory. */
char *dscat_render_text(json_t *j, unsigned flags);

#endif
