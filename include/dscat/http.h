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
 * dscat_http_serve's return when requests were still running after the bounded shutdown wait:
 * they are left to the process's exit, still using the handle, so the caller must not close it
 * (nor free anything the requests may reach) and should exit soon. Positive: not an error.
 */
#define DSCAT_HTTP_REQUESTS_LEFT 1

/*
 * Serves until SIGINT or SIGTERM, then stops accepting, lets running requests finish (bounded
 * wait), stops the deletion worker and returns 0, or DSCAT_HTTP_REQUESTS_LEFT when requests
 * were still running after the wait. Refuses (DSCAT_EINVALID) to listen outside loopback without
 * DSCAT_API_TOKEN. The calling thread must not block SIGINT/SIGTERM handling: this function
 * blocks both in every thread it starts and waits for them itself. Every question goes to cat
 * (borrowed: the caller closes it after a return of 0 or an error, and must not close it after
 * DSCAT_HTTP_REQUESTS_LEFT).
 */
int dscat_http_serve(dscat_catalog *cat, const dscat_http_options *opts, dscat_error *err);

#endif
