/*
 * The dscat_catalog handle: a catalog not built yet, search with annotations attached, the index
 * reloaded when an annotation is added (and hits kept valid across the reload and the close),
 * the shared JSON renderer and the text helpers the front ends use. The catalog is the demo's
 * SQLite shop, refreshed for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/render.h"
#include "dscat/api.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dscat-test-api-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char db[128], toml[128];
    snprintf(db, sizeof(db), "%s/shop.sqlite", f->dir);
    snprintf(toml, sizeof(toml), "%s/targets.toml", f->dir);
    dscat_error err = {0};
    assert_int_equal(dscat_demo_create(db, &err), 0);
    FILE *t = fopen(toml, "w");
    assert_non_null(t);
    fprintf(t, "[targets.demo]\ntype = \"sqlite\"\npath = '%s'\n", db);
    fclose(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void refresh(dscat_catalog *cat)
{
    dscat_refresh_report *rep = NULL;
    dscat_error err = {0};
    dscat_refresh_options o = {0};
    assert_int_equal(dscat_refresh(&rep, dscat_catalog_config(cat), &o, &err), 0);
    assert_true(rep->written);
    dscat_refresh_report_free(rep);
}

static void test_not_built(void **state)
{
    fixture *f = *state;
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_catalog_open(&cat, f->dir, 0, &err), 0);
    assert_int_equal(dscat_catalog_ready(cat, &err), DSCAT_ENOTFOUND);
    assert_string_equal(err.message, "the catalog is not built yet: run 'dscat refresh' first");
    const char *kw[] = {"customer"};
    dscat_search_options o = {.keywords = kw, .nkeywords = 1};
    dscat_hits *h = NULL;
    dscat_error err2 = {0};
    assert_int_equal(dscat_catalog_search(&h, cat, &o, &err2), DSCAT_ENOTFOUND);
    assert_null(h);
    assert_string_equal(err2.message, err.message);
    /* status needs no store */
    dscat_status *s = NULL;
    assert_int_equal(dscat_catalog_status(&s, cat, false, &err), 0);
    assert_int_equal(s->state, DSCAT_STATE_NOT_BUILT);
    dscat_status_free(s);
    dscat_catalog_close(cat);
}

/* Each front end gives its own advice after the one library message. */
static void test_not_built_advice(void **state)
{
    fixture *f = *state;
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_catalog_open(&cat, f->dir, DSCAT_CATALOG_NO_CONFIG, &err), 0);
    dscat_catalog_set_advice(cat, "run a schema refresh first");
    assert_int_equal(dscat_catalog_ready(cat, &err), DSCAT_ENOTFOUND);
    assert_string_equal(err.message, "the catalog is not built yet: run a schema refresh first");
    dscat_catalog_set_advice(cat, NULL);
    assert_int_equal(dscat_catalog_ready(cat, &err), DSCAT_ENOTFOUND);
    assert_string_equal(err.message, "the catalog is not built yet: run 'dscat refresh' first");
    dscat_catalog_close(cat);
}

/* The hits of `customer`, at least one. */
static dscat_hits *search(dscat_catalog *cat)
{
    const char *kw[] = {"customer"};
    dscat_search_options o = {.keywords = kw, .nkeywords = 1, .top = 50};
    dscat_hits *h = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_catalog_search(&h, cat, &o, &err), 0);
    assert_non_null(h);
    assert_true(h->count > 0);
    return h;
}

static void test_search_annotations_reload(void **state)
{
    fixture *f = *state;
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_catalog_open(&cat, f->dir, 0, &err), 0);
    refresh(cat);
    assert_int_equal(dscat_catalog_ready(cat, &err), 0);

    dscat_hits *before = search(cat);
    for (size_t i = 0; i < before->count; i++)
        assert_int_equal(before->notes[i].count, 0);

    /* Annotate the best hit's table: the next search reloads and attaches it. */
    const dscat_search_hit *top = &before->items[0];
    const char *parts[] = {top->database, top->schema, top->table_name};
    char *table = dscat_join_qualified(parts, 3);
    assert_non_null(table);
    dscat_annotation a = {0};
    char *file = NULL;
    assert_int_equal(dscat_catalog_annotate(&a, &file, cat, table, "note", "checked", &err), 0);
    dscat_annotation_clear(&a);
    free(file);

    dscat_hits *after = search(cat);
    size_t attached = 0;
    for (size_t i = 0; i < after->count; i++) {
        const dscat_search_hit *x = &after->items[i];
        bool same = strcmp(x->database, top->database) == 0 &&
                    strcmp(x->schema, top->schema) == 0 &&
                    strcmp(x->table_name, top->table_name) == 0;
        assert_int_equal(after->notes[i].count, same ? 1 : 0);
        if (same) {
            attached++;
            assert_string_equal(after->notes[i].items[0]->content, "checked");
            assert_string_equal(after->notes[i].items[0]->table, table);
        }
    }
    assert_true(attached > 0);

    /* The renderer: an array of hits; MCP's per-table map comes from the same notes. */
    char *json = dscat_json_hits(after, false, 0);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"table_name\""));
    dscat_string_free(json);

    /* Results outlive the reload (before) and the handle (after). */
    dscat_catalog_close(cat);
    assert_non_null(before->items[0].table_name);
    assert_string_equal(after->notes[0].items[0]->type, "note");
    dscat_hits_free(before);
    dscat_hits_free(after);
    free(table);
}

/* A built catalog answers its store questions without a configuration (targets.toml broken). */
static void test_store_questions_without_config(void **state)
{
    fixture *f = *state;
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_catalog_open(&cat, f->dir, 0, &err), 0);
    refresh(cat);
    dscat_catalog_close(cat);
    char toml[128];
    snprintf(toml, sizeof(toml), "%s/targets.toml", f->dir);
    FILE *t = fopen(toml, "w");
    assert_non_null(t);
    fputs("[targets.demo\n", t);
    fclose(t);
    assert_int_not_equal(dscat_catalog_open(&cat, f->dir, 0, &err), 0);
    assert_int_equal(dscat_catalog_open(&cat, f->dir, DSCAT_CATALOG_NO_CONFIG, &err), 0);
    assert_null(dscat_catalog_config(cat));
    assert_int_equal(dscat_catalog_ready(cat, &err), 0);
    dscat_hits *h = search(cat);
    dscat_join_paths j = {0};
    assert_int_equal(dscat_catalog_joins(&j, cat, h->items[0].table_name, &err), 0);
    dscat_catalog_joins_free(&j);
    dscat_hits_free(h);
    dscat_catalog_close(cat);
}

static void test_questions(void **state)
{
    fixture *f = *state;
    dscat_catalog *cat = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_catalog_open(&cat, f->dir, 0, &err), 0);
    refresh(cat);
    dscat_table_detail *d = NULL;
    dscat_name_candidates c;
    assert_int_equal(dscat_catalog_table(&d, &c, cat, "no_such_table", &err), DSCAT_ENOTFOUND);
    dscat_name_candidates_free(&c);
    dscat_table_detail_free(d);
    dscat_join_paths j;
    assert_int_equal(dscat_catalog_joins(&j, cat, "customers", &err), 0);
    dscat_join_paths_free(&j);
    dscat_status *s = NULL;
    assert_int_equal(dscat_catalog_status(&s, cat, false, &err), 0);
    assert_int_equal(s->state, DSCAT_STATE_OK);
    char *json = dscat_json_status(s, DSCAT_JSON_PRETTY);
    assert_non_null(json);
    assert_non_null(strstr(json, "\n  \"status\": \"OK\""));
    dscat_string_free(json);
    dscat_status_free(s);
    dscat_catalog_close(cat);
}

static void test_text_helpers(void **state)
{
    (void)state;
    const char *parts[] = {"db", "Q1.2024", NULL, "t"};
    char *name = dscat_text_qualified_name(parts, 4);
    assert_string_equal(name, "db.\"Q1.2024\".t");
    dscat_string_free(name);
    char *md = dscat_text_markdown("a|b*c", 5);
    assert_string_equal(md, "a\\|b\\*c");
    dscat_string_free(md);
    md = dscat_text_markdown("abc", 2);
    assert_string_equal(md, "ab");
    dscat_string_free(md);
    assert_int_equal(dscat_text_prefix_len("\xc3\xa9t\xc3\xa9", 5, 2), 3);
    dscat_snapshot_list l;
    dscat_error err = {0};
    assert_int_equal(dscat_snapshots_list(&l, "/nonexistent-dscat-root", &err), 0);
    assert_int_equal(l.count, 0);
    dscat_snapshot_list_free(&l);
}

/*
 * Text that is not well-formed UTF-8 (an overlong control, a surrogate, a code point past
 * U+10FFFF) is shown as "\xNN" by the human-readable helper, and a query's values and column
 * names holding it stay in the JSON answers (valid JSON, every cell in its place) shown the same.
 */
static void test_invalid_utf8(void **state)
{
    (void)state;
    char *v = dscat_text_visible("a\xc0\x9b"
                                 "b\xed\xa0\x80"
                                 "c\xf4\x90\x80\x80",
                                 12);
    assert_string_equal(v, "a\\xc0\\x9bb\\xed\\xa0\\x80c\\xf4\\x90\\x80\\x80");
    dscat_string_free(v);
    v = dscat_text_visible("\xe0\x82\x9b[2J", 6); /* an overlong CSI */
    assert_string_equal(v, "\\xe0\\x82\\x9b[2J");
    dscat_string_free(v);

    char *columns[] = {"ok", "k\xc0\x80"};
    char *cells[] = {"x\xe0\x80\x80y", NULL, "\xc3\xa9", "\xf0\x80\x80\x80"};
    dscat_query_result r = {.columns = columns, .ncolumns = 2, .cells = cells, .nrows = 2};
    char *json = dscat_json_query_rows(&r, 0);
    assert_non_null(json);
    assert_string_equal(
        json, "[{\"ok\":\"x\\\\xe0\\\\x80\\\\x80y\",\"k\\\\xc0\\\\x80\":null},"
              "{\"ok\":\"\\u00E9\",\"k\\\\xc0\\\\x80\":\"\\\\xf0\\\\x80\\\\x80\\\\x80\"}]");
    dscat_string_free(json);
    json_t *j = dscat_render_query(&r);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    assert_string_equal(
        text, "{\"columns\":[\"ok\",\"k\\\\xc0\\\\x80\"],\"rows\":[[\"x\\\\xe0\\\\x80\\\\x80y\","
              "null],[\"\\u00E9\",\"\\\\xf0\\\\x80\\\\x80\\\\x80\"]],\"row_count\":2,"
              "\"duration_ms\":0,\"truncated\":false}");
    free(text);
}

/*
 * Snapshots of one second are ordered by the number of their suffix (-9 before -10), the one
 * without a suffix first, whatever their byte order; the listing sorts them so.
 */
static void test_snapshot_order(void **state)
{
    (void)state;
    assert_true(
        dscat_snapshot_name_cmp("snapshot_20260101_120000-9", "snapshot_20260101_120000-10") < 0);
    assert_true(
        dscat_snapshot_name_cmp("snapshot_20260101_120000-10", "snapshot_20260101_120000-2") > 0);
    assert_true(dscat_snapshot_name_cmp("snapshot_20260101_120000", "snapshot_20260101_120000-2") <
                0);
    assert_true(dscat_snapshot_name_cmp("snapshot_20260101", "snapshot_20260101_000000") < 0);
    assert_true(dscat_snapshot_name_cmp("snapshot_20260101_235959-99", "snapshot_20260102") < 0);
    assert_int_equal(dscat_snapshot_name_cmp("snapshot_20260101", "snapshot_20260101"), 0);

    char root[64], path[160];
    snprintf(root, sizeof(root), "%s", "/tmp/dscat-test-snapshots-XXXXXX");
    assert_non_null(mkdtemp(root));
    static const char *const made[] = {
        "snapshot_20260101",           "snapshot_20260101_120000",    "snapshot_20260101_120000-2",
        "snapshot_20260101_120000-3",  "snapshot_20260101_120000-9",  "snapshot_20260101_120000-10",
        "snapshot_20260101_120000-11", "snapshot_20260101_120000-20", "snapshot_20260102",
    };
    size_t n = sizeof(made) / sizeof(made[0]);
    snprintf(path, sizeof(path), "%s/artifacts", root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/artifacts/catalog", root);
    assert_int_equal(mkdir(path, 0755), 0);
    for (size_t i = n; i-- > 0;) { /* made in reverse: the listing's order is its own */
        snprintf(path, sizeof(path), "%s/artifacts/catalog/%s", root, made[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    dscat_snapshot_list l;
    dscat_error err = {0};
    assert_int_equal(dscat_snapshots_list(&l, root, &err), 0);
    assert_int_equal(l.count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l.items[i].name, made[i]);
    dscat_snapshot_list_free(&l);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    dscat_error err = {0};
    if (dscat_global_init(&err) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_built, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_built_advice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_annotations_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_questions_without_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_questions, setup, teardown),
        cmocka_unit_test(test_text_helpers),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_snapshot_order),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dscat_global_shutdown();
    return rc;
}
