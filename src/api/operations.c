/*
 * The handle's operations besides its questions: releasing results, connections, the jobs
 * (schema refresh, data refresh, purge, maintenance) on the catalog's configuration, and the few
 * calls a front end makes before it has a handle. The front ends call nothing below src/api/.
 */
#include "dscat/api.h"

#include <assert.h>

/* ---- releasing the questions' results ------------------------------------------------------- */

void dscat_catalog_status_free(dscat_status *s)
{
    dscat_status_free(s);
}

void dscat_catalog_table_free(dscat_table_detail *d, dscat_name_candidates *candidates)
{
    dscat_table_detail_free(d);
    if (candidates)
        dscat_name_candidates_free(candidates);
}

void dscat_catalog_joins_free(dscat_join_paths *j)
{
    dscat_join_paths_free(j);
}

void dscat_catalog_diff_free(dscat_diff *d)
{
    dscat_diff_free(d);
}

void dscat_catalog_annotations_free(dscat_annotation_list *l)
{
    dscat_annotation_list_free(l);
}

void dscat_catalog_annotation_clear(dscat_annotation *a)
{
    dscat_annotation_clear(a);
}

void dscat_catalog_cache_list_free(dscat_cache_listing *l)
{
    dscat_cache_listing_free(l);
}

void dscat_catalog_query_free(dscat_query_result *r)
{
    dscat_query_result_free(r);
}

const char *dscat_catalog_state_text(dscat_catalog_state s, bool json)
{
    return dscat_catalog_state_name(s, json);
}

const char *dscat_catalog_scan_status_text(dscat_scan_status s)
{
    return dscat_scan_status_name(s);
}

/* ---- connections and the jobs --------------------------------------------------------------- */

static const dscat_config *config_of(const dscat_catalog *cat)
{
    const dscat_config *cfg = dscat_catalog_config(cat);
    assert(cfg != NULL); /* not for a DSCAT_CATALOG_NO_CONFIG catalog */
    return cfg;
}

const dscat_target_config *dscat_catalog_target(const dscat_catalog *cat, const char *key)
{
    return dscat_config_target(config_of(cat), key);
}

int dscat_catalog_resolve(const dscat_target_config **target, char **database, dscat_catalog *cat,
                          const char *connection_id, dscat_error *err)
{
    return dscat_connection_resolve(config_of(cat), connection_id, target, database, err);
}

int dscat_catalog_connections(dscat_connection_list *out, dscat_catalog *cat, const char *only,
                              dscat_error *err)
{
    return dscat_connections_list(out, config_of(cat), only, err);
}

void dscat_catalog_connections_free(dscat_connection_list *l)
{
    dscat_connection_list_free(l);
}

int dscat_catalog_information_schema(char **out, dscat_catalog *cat, const char *only,
                                     dscat_error *err)
{
    return dscat_information_schema(out, config_of(cat), only, err);
}

int dscat_catalog_refresh(dscat_refresh_report **out, dscat_catalog *cat,
                          const dscat_refresh_options *opts, dscat_error *err)
{
    return dscat_refresh(out, config_of(cat), opts, err);
}

void dscat_catalog_refresh_free(dscat_refresh_report *r)
{
    dscat_refresh_report_free(r);
}

int dscat_catalog_schema_refresh(dscat_schema_refresh_result *out, dscat_catalog *cat,
                                 const char *connection_id, dscat_error *err)
{
    return dscat_schema_refresh(out, config_of(cat), connection_id, err);
}

void dscat_catalog_schema_refresh_free(dscat_schema_refresh_result *r)
{
    dscat_schema_refresh_result_free(r);
}

int dscat_catalog_data_refresh(dscat_cache_report **out, dscat_catalog *cat,
                               const char *connection_id, const char *schema, const char *table,
                               bool include_uncached, dscat_cache_progress_fn progress,
                               void *payload, dscat_error *err)
{
    return dscat_cache_refresh_progress(out, config_of(cat), connection_id, schema, table,
                                        include_uncached, progress, payload, err);
}

int dscat_catalog_data_refresh_with(dscat_cache_report **out, dscat_catalog *cat,
                                    const char *connection_id, const char *schema,
                                    const char *table, const dscat_cache_refresh_opts *opts,
                                    dscat_error *err)
{
    return dscat_cache_refresh_with(out, config_of(cat), connection_id, schema, table, opts, err);
}

void dscat_catalog_data_refresh_free(dscat_cache_report *r)
{
    dscat_cache_report_free(r);
}

int dscat_catalog_purge(dscat_catalog *cat, const char *connection_id, const char *schema,
                        const char *table, size_t *purged, dscat_error *err)
{
    return dscat_cache_purge(config_of(cat), connection_id, schema, table, purged, err);
}

int dscat_catalog_forget_target(dscat_catalog *cat, const char *key, dscat_forget_report *out,
                                dscat_error *err)
{
    return dscat_forget_target(config_of(cat), key, out, err);
}

int dscat_catalog_maintain(dscat_catalog *cat, dscat_warnings *warnings, dscat_error *err)
{
    return dscat_cache_maintain(config_of(cat), warnings, err);
}

void dscat_catalog_warnings_free(dscat_warnings *w)
{
    dscat_warnings_free(w);
}

int dscat_catalog_schedules(dscat_schedule_list *out, dscat_catalog *cat, int64_t serve_started_us,
                            dscat_error *err)
{
    return dscat_schedules(out, config_of(cat), serve_started_us, err);
}

void dscat_catalog_schedule_list_free(dscat_schedule_list *l)
{
    dscat_schedule_list_free(l);
}

int dscat_catalog_schedule_run(dscat_schedule_outcome *out, dscat_catalog *cat,
                               const dscat_schedule *s, dscat_error *err)
{
    return dscat_schedule_run(out, config_of(cat), s, err);
}

int dscat_catalog_schedule_release(dscat_catalog *cat, dscat_error *err)
{
    return dscat_schedule_release_claims(config_of(cat), err);
}

/* ---- without a handle ----------------------------------------------------------------------- */

int dscat_catalog_global_init(dscat_error *err)
{
    return dscat_global_init(err);
}

void dscat_catalog_global_shutdown(void)
{
    dscat_global_shutdown();
}

int dscat_catalog_default_dir(char **out, dscat_error *err)
{
    return dscat_catalog_dir(out, err);
}

int dscat_catalog_repair_exports(const char *catalog_dir, bool *repaired, dscat_error *err)
{
    *repaired = false;
    if (catalog_dir)
        return dscat_exports_repair(catalog_dir, repaired, err);
    char *dir = NULL;
    int rc = dscat_catalog_dir(&dir, err);
    if (rc == 0)
        rc = dscat_exports_repair(dir, repaired, err);
    dscat_free(dir);
    return rc;
}

int dscat_catalog_store_describe(dscat_store_info *out, const char *catalog_dir, bool migrate,
                                 dscat_error *err)
{
    if (catalog_dir)
        return dscat_store_describe(out, catalog_dir, migrate, err);
    char *dir = NULL;
    int rc = dscat_catalog_dir(&dir, err);
    if (rc == 0)
        rc = dscat_store_describe(out, dir, migrate, err);
    dscat_free(dir);
    return rc;
}

int dscat_catalog_example_targets(char **out, dscat_error *err)
{
    return dscat_config_example_targets(out, err);
}

int dscat_catalog_demo_create(const char *db_path, const char *catalog_dir, dscat_error *err)
{
    int rc = dscat_demo_create(db_path, err);
    return rc ? rc : dscat_catalog_dir_prepare(catalog_dir, err);
}

const char *dscat_catalog_demo_source_type(void)
{
    return dscat_demo_source_type();
}

int dscat_catalog_project_find(char **out, const char *explicit_root, dscat_error *err)
{
    return dscat_project_find(out, explicit_root, err);
}
