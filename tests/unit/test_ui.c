/*
 * The web UI's embedded files (src/server/ui_assets.h, written by scripts/embed-assets) and the
 * server's reading of Accept-Encoding: every file is there with its type, a gzip copy and an
 * ETag, and gzip is chosen exactly when the client accepts it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/http_parse.h"
#include "server/ui_assets.h"

#include <string.h>

static const dscat_ui_asset *find(const char *path)
{
    for (size_t i = 0; i < dscat_ui_asset_count; i++)
        if (strcmp(dscat_ui_assets[i].path, path) == 0)
            return &dscat_ui_assets[i];
    return NULL;
}

/* The page, its script and style, and Mermaid's entry point are embedded, each with a gzip copy
 * (magic 1f 8b) and an ETag. */
static void assets_are_embedded(void **state)
{
    (void)state;
    const char *paths[] = {"/", "/ui/app.js", "/ui/app.css", "/ui/mermaid/mermaid.esm.min.mjs"};
    const char *types[] = {"text/html; charset=utf-8", "text/javascript; charset=utf-8",
                           "text/css; charset=utf-8", "text/javascript; charset=utf-8"};
    for (size_t i = 0; i < 4; i++) {
        const dscat_ui_asset *a = find(paths[i]);
        assert_non_null(a);
        assert_string_equal(a->content_type, types[i]);
        assert_true(a->len > 0 && a->gzip_len > 18);
        assert_int_equal(a->gzip[0], 0x1f);
        assert_int_equal(a->gzip[1], 0x8b);
        assert_int_equal(strlen(a->etag), 20);
    }
    assert_non_null(strstr((const char *)find("/")->data, "/ui/app.js"));
    assert_null(find("/ui/nope.js"));
}

static void accept_encoding(void **state)
{
    (void)state;
    assert_false(dscat_http__accepts_gzip(NULL));
    assert_false(dscat_http__accepts_gzip(""));
    assert_true(dscat_http__accepts_gzip("gzip"));
    assert_true(dscat_http__accepts_gzip("gzip, deflate, br, zstd"));
    assert_true(dscat_http__accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(dscat_http__accepts_gzip("x-gzip"));
    assert_true(dscat_http__accepts_gzip("*"));
    assert_false(dscat_http__accepts_gzip("gzip;q=0"));
    assert_false(dscat_http__accepts_gzip("gzip; q=0.000"));
    assert_false(dscat_http__accepts_gzip("*, gzip;q=0"));
    assert_false(dscat_http__accepts_gzip("identity"));
    assert_false(dscat_http__accepts_gzip("gzipx, br"));
    assert_false(dscat_http__accepts_gzip("*;q=0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(assets_are_embedded),
        cmocka_unit_test(accept_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
