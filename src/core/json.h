/*
 * Parsing JSON with jansson, whole or not at all. jansson drops what it cannot allocate and may
 * still return a document with a key or a string missing; a document parsed while an allocation
 * of this thread failed is therefore never handed out. jansson 2.14's lexer may also read past a
 * buffer it failed to grow, so the allocation-failure tests leave its parser alone
 * (core/testhooks.h); the count of failed allocations still catches what jansson dropped.
 */
#ifndef DSCAT_CORE_JSON_H
#define DSCAT_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>

/*
 * Parses len bytes of text with jansson's flags. Returns 0 with *out (the caller's reference),
 * DSCAT_ENOMEM when memory ran out while parsing, or DSCAT_EINVALID when the text is not JSON
 * (jerr, which may be NULL, says where). *out is NULL on failure.
 */
int dscat_json_parse(json_t **out, const char *text, size_t len, size_t flags, json_error_t *jerr);

/* The same for a file; a file that cannot be opened is DSCAT_EINVALID too (jerr says so). */
int dscat_json_parse_file(json_t **out, const char *path, size_t flags, json_error_t *jerr);

#endif
