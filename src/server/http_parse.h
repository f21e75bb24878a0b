/*
 * The parts of HTTP request handling that are pure functions of the request's text: decoding,
 * path splitting and the Host check. Internal to src/server (and its fuzz target).
 */
#ifndef DSCAT_SERVER_HTTP_PARSE_H
#define DSCAT_SERVER_HTTP_PARSE_H

#include "dscat/config.h"

#include <stdbool.h>
#include <stddef.h>

/* Decodes %XX in place ('+' as a space when plus is set); false for a bad escape or a NUL. */
bool dscat_http__percent_decode(char *s, bool plus);

/*
 * Splits a raw path ("/a/b%2Fc") into at most max decoded segments, each a string the caller
 * frees with dscat_free() (also on failure: *nseg counts what was stored). False for a path that
 * cannot be a route: no leading "/", an empty segment, a trailing "/", a bad escape, too many
 * segments, or no memory.
 */
bool dscat_http__split_path(char **seg, size_t max, size_t *nseg, const char *path);

/*
 * True when a Host header names this server: a loopback name or address (the listening address
 * "address", "" for none) with the listening port (or none on port 80), or a name in allowed
 * (with any port, or exactly when the entry names a port). Host may be NULL (absent).
 */
bool dscat_http__host_ok(const char *host, const char *address, unsigned port,
                         const dscat_string_list *allowed);

/* Whether s is valid UTF-8 (a string JSON can carry). */
bool dscat_http__utf8_ok(const char *s);

/* Reads "true"/"1"/"false"/"0" into *out; NULL leaves *out as it is. False for anything else. */
bool dscat_http__parse_bool(const char *s, bool *out);

/* True when an Accept-Encoding header (NULL: none) accepts gzip: gzip, x-gzip or "*" with a
 * q-value above zero, gzip's own entry deciding over "*". */
bool dscat_http__accepts_gzip(const char *accept_encoding);

#endif
