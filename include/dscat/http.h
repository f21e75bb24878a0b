/* The HTTP API (SPEC §11): `dscat serve`. */
#ifndef DSCAT_HTTP_H
#define DSCAT_HTTP_H

#include "dscat/api.h"

typedef struct dscat_http_options {
    const char *listen; /* "ADDR:PORT" or "[v6]:PORT"; NULL = 127.0.0.1:8080 */
    /* Called once the socket listens, with the address actually bound (port 0 picks one). */
    void (*ready)(const char *address, void *payload);
    void *payload;
} dscat_http_options;

/*
 * Serves until SIGINT or SIGTERM, then stops accepting, lets running requests finish (bounded
 * wait), stops the deletion worker and returns 0. Refuses (DSCAT_EINVALID) to listen outside
 * loopback without DSCAT_API_TOKEN. The calling thread must not block SIGINT/SIGTERM handling:
 * this function blocks both in every thread it starts and waits for them itself. Every question
 * goes to cat (borrowed: the caller closes it after this returns; requests still running after
 * the bounded wait are left to the process's exit, so then the caller must not close it).
 */
int dscat_http_serve(dscat_catalog *cat, const dscat_http_options *opts, dscat_error *err);

#endif
