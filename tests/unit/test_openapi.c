/*
 * docs/openapi.json against the HTTP server's route table, both ways: every route the server
 * answers is described with its method and query parameters, and every operation described is
 * a route. The document is the one compiled into the binary (GET /openapi.json serves it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/openapi.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *load_doc(void)
{
    json_error_t je;
    json_t *doc = json_loadb((const char *)dscat_openapi_json, dscat_openapi_json_len, 0, &je);
    if (doc == NULL)
        print_error("docs/openapi.json: %s (line %d)\n", je.text, je.line);
    assert_non_null(doc);
    assert_int_equal(dscat_openapi_json[dscat_openapi_json_len], 0);
    return doc;
}

static void lower(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* Every route of the server is an operation of the document, with exactly its query parameters. */
static void routes_are_described(void **state)
{
    (void)state;
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    const char *method, *path;
    const char *const *params;
    size_t n = 0;
    for (size_t i = 0; dscat_http__route(i, &method, &path, &params); i++, n++) {
        char m[16];
        lower(method, m, sizeof(m));
        json_t *op = json_object_get(json_object_get(paths, path), m);
        if (op == NULL)
            print_error("%s %s is not in docs/openapi.json\n", method, path);
        assert_non_null(op);
        size_t nquery = 0, k;
        json_t *p;
        json_array_foreach(json_object_get(op, "parameters"), k, p)
        {
            if (strcmp(json_string_value(json_object_get(p, "in")), "query") != 0)
                continue;
            nquery++;
            const char *name = json_string_value(json_object_get(p, "name"));
            size_t j = 0;
            while (params[j] && strcmp(params[j], name) != 0)
                j++;
            if (params[j] == NULL)
                print_error("%s %s: the document lists query parameter %s\n", method, path, name);
            assert_non_null(params[j]);
        }
        size_t nparams = 0;
        while (params[nparams])
            nparams++;
        assert_int_equal(nquery, nparams);
    }
    assert_true(n >= 12);
    json_decref(doc);
}

/* Every operation of the document is a route of the server. */
static void descriptions_are_routes(void **state)
{
    (void)state;
    json_t *doc = load_doc(), *item;
    const char *path, *key;
    json_t *op;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, key, op)
        {
            if (strcmp(key, "parameters") == 0 || strcmp(key, "summary") == 0 ||
                strcmp(key, "description") == 0)
                continue;
            const char *method, *rpath;
            const char *const *params;
            bool found = false;
            for (size_t i = 0; !found && dscat_http__route(i, &method, &rpath, &params); i++) {
                char m[16];
                lower(method, m, sizeof(m));
                found = strcmp(m, key) == 0 && strcmp(rpath, path) == 0;
            }
            if (!found)
                print_error("docs/openapi.json: %s %s is not a route of the server\n", key, path);
            assert_true(found);
        }
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_are_described),
        cmocka_unit_test(descriptions_are_routes),
    };
    return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
