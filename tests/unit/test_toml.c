/*
 * The official toml-test cases for TOML 1.0 (../shared/fixtures/toml-test): each valid document
 * decodes equal to its tagged JSON; each invalid one is refused with "line N" inside its range.
 * One cmocka test per case. DSCAT_FIXTURES overrides where the fixtures are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/toml.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *fixtures(void)
{
    const char *f = getenv("DSCAT_FIXTURES");
    return f ? f : "../shared/fixtures";
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static const char *tag_of(dscat_toml_type t)
{
    switch (t) {
    case DSCAT_TOML_STRING:
        return "string";
    case DSCAT_TOML_INTEGER:
        return "integer";
    case DSCAT_TOML_FLOAT:
        return "float";
    case DSCAT_TOML_BOOL:
        return "bool";
    default:
        return dscat_toml_type_name(t);
    }
}

/*
 * jansson cannot hold NUL bytes in object keys, so both sides spell a NUL byte as "<NUL>" (text
 * that appears nowhere in the test data) before they are compared.
 */
static char *spell_nul(const char *s, size_t len, size_t *outlen)
{
    char *out = malloc(len * 5 + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0') {
            memcpy(out + k, "<NUL>", 5);
            k += 5;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    *outlen = k;
    return out;
}

static json_t *load_expected(const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL)
        return NULL;
    char *out = malloc(len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (strncmp(text + i, "\\u0000", 6) == 0 && (i == 0 || text[i - 1] != '\\')) {
            memcpy(out + k, "<NUL>", 5);
            k += 5;
            i += 5;
        } else {
            out[k++] = text[i];
        }
    }
    json_error_t jerr;
    json_t *j = json_loadb(out, k, 0, &jerr);
    free(out);
    free(text);
    return j;
}

static int equal_dt(const dscat_toml_value *v, const char *expected)
{
    dscat_toml_type type;
    dscat_toml_datetime dt;
    if (dscat_toml_parse_datetime(expected, strlen(expected), &type, &dt))
        return 0;
    const dscat_toml_datetime *a = &v->u.dt;
    return type == v->type && a->year == dt.year && a->month == dt.month && a->day == dt.day &&
           a->hour == dt.hour && a->minute == dt.minute && a->second == dt.second &&
           a->nanos == dt.nanos && a->offset_minutes == dt.offset_minutes;
}

/* Compares a decoded value with toml-test's tagged JSON; prints the first difference. */
static int equal(const dscat_toml_value *v, json_t *j, const char *where)
{
    if (v->type == DSCAT_TOML_TABLE) {
        if (!json_is_object(j) || json_object_size(j) != v->u.table.count) {
            printf("%s: table size differs\n", where);
            return 0;
        }
        for (size_t i = 0; i < v->u.table.count; i++) {
            const dscat_toml_entry *e = &v->u.table.entries[i];
            size_t klen;
            char *key = spell_nul(e->key, e->key_len, &klen);
            json_t *child = json_object_getn(j, key, klen);
            free(key);
            if (child == NULL) {
                printf("%s: unexpected key '%s'\n", where, e->key);
                return 0;
            }
            if (!equal(e->value, child, e->key))
                return 0;
        }
        return 1;
    }
    if (v->type == DSCAT_TOML_ARRAY) {
        if (!json_is_array(j) || json_array_size(j) != v->u.array.count) {
            printf("%s: array size differs\n", where);
            return 0;
        }
        for (size_t i = 0; i < v->u.array.count; i++)
            if (!equal(v->u.array.items[i], json_array_get(j, i), where))
                return 0;
        return 1;
    }
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *value = json_string_value(json_object_get(j, "value"));
    if (type == NULL || value == NULL || strcmp(type, tag_of(v->type)) != 0) {
        printf("%s: expected type %s, got %s\n", where, type ? type : "?", tag_of(v->type));
        return 0;
    }
    int ok;
    switch (v->type) {
    case DSCAT_TOML_STRING: {
        json_t *s = json_object_get(j, "value");
        size_t slen;
        char *mine = spell_nul(v->u.str.ptr, v->u.str.len, &slen);
        ok = json_string_length(s) == slen && memcmp(json_string_value(s), mine, slen) == 0;
        free(mine);
        break;
    }
    case DSCAT_TOML_INTEGER:
        ok = strtoll(value, NULL, 10) == v->u.integer;
        break;
    case DSCAT_TOML_FLOAT: {
        double d = strtod(value, NULL);
        if (isnan(d))
            ok = isnan(v->u.real);
        else if (isinf(d))
            ok = isinf(v->u.real) && signbit(d) == signbit(v->u.real);
        else
            ok = d == v->u.real;
        break;
    }
    case DSCAT_TOML_BOOL:
        ok = (strcmp(value, "true") == 0) == v->u.boolean;
        break;
    default:
        ok = equal_dt(v, value);
    }
    if (!ok)
        printf("%s: value differs from %s\n", where, value);
    return ok;
}

static void valid_case(void **state)
{
    const char *rel = *state;
    char path[4096], jpath[4096];
    snprintf(path, sizeof(path), "%s/toml-test/tests/%s", fixtures(), rel);
    snprintf(jpath, sizeof(jpath), "%.*s.json", (int)(strlen(path) - 5), path);
    size_t len;
    char *text = read_file(path, &len);
    assert_non_null(text);
    json_t *expected = load_expected(jpath);
    assert_non_null(expected);
    dscat_toml_doc *doc = NULL;
    dscat_error err = {0};
    int rc = dscat_toml_parse(&doc, text, len, &err);
    if (rc)
        printf("%s: %s\n", rel, err.message);
    assert_int_equal(rc, 0);
    int ok = equal(doc->root, expected, rel);
    dscat_toml_free(doc);
    json_decref(expected);
    free(text);
    assert_true(ok);
}

static void invalid_case(void **state)
{
    const char *rel = *state;
    char path[4096];
    snprintf(path, sizeof(path), "%s/toml-test/tests/%s", fixtures(), rel);
    size_t len;
    char *text = read_file(path, &len);
    assert_non_null(text);
    int lines = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && i + 1 < len)
            lines++;
    dscat_toml_doc *doc = NULL;
    dscat_error err = {0};
    int rc = dscat_toml_parse(&doc, text, len, &err);
    free(text);
    if (rc == 0) {
        dscat_toml_free(doc);
        printf("%s: accepted, but it is invalid\n", rel);
        fail();
    }
    int line = 0;
    assert_int_equal(sscanf(err.message, "line %d:", &line), 1);
    if (line < 1 || line > lines)
        printf("%s: %s (file has %d lines)\n", rel, err.message, lines);
    assert_true(line >= 1 && line <= lines);
}

int main(void)
{
    char list[4096];
    snprintf(list, sizeof(list), "%s/toml-test/tests/files-toml-1.0.0", fixtures());
    FILE *f = fopen(list, "r");
    if (f == NULL) {
        fprintf(stderr, "test_toml: cannot open %s\n", list);
        return 1;
    }
    size_t cap = 1024, n = 0;
    struct CMUnitTest *tests = calloc(cap, sizeof(*tests));
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        size_t l = strlen(line);
        if (l < 6 || strcmp(line + l - 5, ".toml") != 0)
            continue;
        int valid = strncmp(line, "valid/", 6) == 0;
        if (n == cap) {
            cap *= 2;
            tests = realloc(tests, cap * sizeof(*tests));
        }
        char *name = strdup(line);
        tests[n] = (struct CMUnitTest){name, valid ? valid_case : invalid_case, NULL, NULL, name};
        n++;
    }
    fclose(f);
    int failed = _cmocka_run_group_tests("toml-test 1.0.0", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free((void *)tests[i].name);
    free(tests);
    return failed ? 1 : 0;
}
