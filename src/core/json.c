#include "core/json.h"

#include "core/alloc.h"
#include "core/testhooks.h"

#include <stdbool.h>
#include <stdio.h>

/* The common end of both parsers: doc parsed with `failures` failed allocations before. The
 * parser's message names its own option for a \u0000 in a string; said plainly instead. */
static int whole(json_t **out, json_t *doc, unsigned long failures, json_error_t *jerr)
{
    if (doc == NULL && json_error_code(jerr) == json_error_null_character)
        snprintf(jerr->text, sizeof(jerr->text), "\\u0000 (a NUL character) is not allowed");
    bool nomem = dscat_alloc_failures() != failures ||
                 (doc == NULL && json_error_code(jerr) == json_error_out_of_memory);
    if (nomem || doc == NULL) {
        json_decref(doc);
        *out = NULL;
        return nomem ? DSCAT_ENOMEM : DSCAT_EINVALID;
    }
    *out = doc;
    return 0;
}

int dscat_json_parse(json_t **out, const char *text, size_t len, size_t flags, json_error_t *jerr)
{
    json_error_t local;
    if (jerr == NULL)
        jerr = &local;
    unsigned long failures = dscat_alloc_failures();
    dscat_test__alloc_shield(true);
    json_t *doc = json_loadb(text, len, flags, jerr);
    dscat_test__alloc_shield(false);
    return whole(out, doc, failures, jerr);
}

int dscat_json_parse_file(json_t **out, const char *path, size_t flags, json_error_t *jerr)
{
    json_error_t local;
    if (jerr == NULL)
        jerr = &local;
    unsigned long failures = dscat_alloc_failures();
    dscat_test__alloc_shield(true);
    json_t *doc = json_load_file(path, flags, jerr);
    dscat_test__alloc_shield(false);
    return whole(out, doc, failures, jerr);
}
