/*
 * dscat public API: error reporting, version, process-wide initialisation.
 *
 * Every fallible function returns 0 on success or a negative DSCAT_E* code, and fills the
 * caller's dscat_error with a one-line message. Messages never hold a credential.
 */
#ifndef DSCAT_COMMON_H
#define DSCAT_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define DSCAT_VERSION "0.1.0"

enum {
    DSCAT_OK = 0,
    DSCAT_EINVALID = -1,  /* bad input: arguments, a malformed file */
    DSCAT_ENOTFOUND = -2, /* a named thing does not exist */
    DSCAT_ECONNECT = -3,  /* connection refused, unreachable host */
    DSCAT_EAUTH = -4,     /* authentication failed */
    DSCAT_ETIMEOUT = -5,  /* a deadline passed */
    DSCAT_EIO = -6,       /* file system or network I/O */
    DSCAT_ENOMEM = -7,    /* allocation failed */
    DSCAT_ECONFLICT = -8, /* state does not allow the operation */
    DSCAT_ECONFIG = -9,   /* configuration error: stops a run before anything is contacted */
    DSCAT_EQUERY = -10,   /* a source or store query failed */
    DSCAT_EVERSION = -11, /* the store was written by a newer dscat */
    DSCAT_EPERM = -12,    /* permission denied */
    DSCAT_EUNSET = -13    /* a required environment variable is not set */
};

#define DSCAT_ERROR_MESSAGE_SIZE 512

/* A failure's details. Caller-owned, usually on the stack; never shared between threads. */
typedef struct dscat_error {
    int code;                               /* a DSCAT_E* code, 0 when no error */
    char sqlstate[8];                       /* the source's SQLSTATE or error number, or "" */
    char message[DSCAT_ERROR_MESSAGE_SIZE]; /* one line, lower case, no final full stop */
} dscat_error;

/* Resets an error to "no error". */
void dscat_error_clear(dscat_error *err);

/*
 * Fills err (which may be NULL) with code and a printf-style message; newlines in the message
 * become spaces so that it always stays one line, and each byte that is not part of well-formed
 * UTF-8 (another encoding, a character cut by the size) becomes "\xNN", so that it is always
 * UTF-8. Returns code, for `return dscat_error_set(...)`.
 */
int dscat_error_set(dscat_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err's message with a printf-style context and ": ". Returns err->code. */
int dscat_error_prefix(dscat_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Memory: what the library hands to its caller ("caller frees with dscat_free()") comes from
 * these, and clients use them for their own allocations so that the test build can fail any one
 * of them (DSCAT_TEST_FAIL_ALLOC). They behave like malloc, calloc, realloc and strdup (a zero
 * size still gives a unique pointer; NULL when out of memory); dscat_free(NULL) does nothing.
 */
void *dscat_malloc(size_t size);
void *dscat_calloc(size_t count, size_t size);
void *dscat_realloc(void *ptr, size_t size);
char *dscat_strdup(const char *s);
void dscat_free(void *ptr);

/* The version string, e.g. "0.1.0". Static string. */
const char *dscat_version(void);

/* Process-wide initialisation of the libraries dscat uses. Call once from main, before threads. */
int dscat_global_init(dscat_error *err);

/* Undoes dscat_global_init. */
void dscat_global_shutdown(void);

#endif
