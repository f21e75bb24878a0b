/*
 * libFuzzer target: the pure parts of HTTP request handling on arbitrary text: the path split
 * into decoded segments, query argument decoding, the Host check, UTF-8 and boolean arguments,
 * Accept-Encoding (gzip or not, for the web UI's files), and a JSON body read as the routes read
 * it.
 */
#include "core/alloc.h"
#include "server/http_parse.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = dscat_malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    char *seg[8] = {0};
    size_t nseg = 0;
    bool ok = dscat_http__split_path(seg, 8, &nseg, s);
    for (size_t i = 0; i < nseg; i++) {
        if (ok && (seg[i][0] == '\0' || (strchr(seg[i], '/') && strstr(s, "%2") == NULL)))
            __builtin_trap(); /* no empty segment, no separator that was not given as %2F */
        dscat_free(seg[i]);
    }

    char *q = dscat_malloc(size + 1);
    if (q) {
        memcpy(q, s, size + 1);
        if (dscat_http__percent_decode(q, true) && strlen(q) > strlen(s))
            __builtin_trap(); /* decoding never grows */
        dscat_free(q);
    }

    char *items[] = {"catalog.example", "[::1]:9000", "host:8080"};
    dscat_string_list allowed = {.items = items, .count = 3, .set = true};
    (void)dscat_http__host_ok(s, "", 8080, &allowed);
    (void)dscat_http__host_ok(s, "[::1]", 80, &allowed);
    (void)dscat_http__utf8_ok(s);
    bool b = false;
    (void)dscat_http__parse_bool(s, &b);
    (void)dscat_http__accepts_gzip(s);

    json_error_t je;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    json_decref(body);
    dscat_free(s);
    return 0;
}
