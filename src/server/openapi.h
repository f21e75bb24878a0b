/*
 * The OpenAPI 3.1 description of the HTTP API (docs/openapi.json), embedded in the binary at
 * build time, and the route table it describes.
 */
#ifndef DSCAT_SERVER_OPENAPI_H
#define DSCAT_SERVER_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

/* docs/openapi.json byte for byte, followed by a NUL; dscat_openapi_json_len excludes the NUL. */
extern const unsigned char dscat_openapi_json[];
extern const size_t dscat_openapi_json_len;

/*
 * The i-th route the HTTP server answers: its method ("GET" also answers HEAD), its path as the
 * OpenAPI document writes it ("/connections/{connection_id}") and its query parameters
 * (NULL-terminated). False past the last route. Everything returned is static.
 */
bool dscat_http__route(size_t i, const char **method, const char **path,
                       const char *const **params);

#endif
