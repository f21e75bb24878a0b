/*
 * A growable, always NUL-terminated byte buffer with a size cap and a sticky error, after curl's
 * dynbuf (docs/internals/DYNBUF.md):
 *   - every buffer has a maximum size: DSCAT_BUF_MAX_DEFAULT unless dscat_buf_init gives one;
 *   - the first failure (out of memory, or an append that would pass the maximum) is kept: the
 *     contents are released, and every later append fails at once without writing anything;
 *   - so a run of appends need not check each result: whoever consumes the contents (writes a
 *     file, answers a request, runs SQL built in it, hands a string on) calls dscat_buf_check or
 *     dscat_buf_error once, first, and never uses a failed buffer's contents.
 * Start with DSCAT_BUF_INIT (default maximum) or dscat_buf_init; release with dscat_buf_free().
 */
#ifndef DSCAT_CORE_BUF_H
#define DSCAT_CORE_BUF_H

#include "dscat/common.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The maximum size of a buffer made with DSCAT_BUF_INIT: 1 GiB. */
#define DSCAT_BUF_MAX_DEFAULT ((size_t)1 << 30)

typedef struct dscat_buf {
    char *ptr;   /* NULL until the first append; always terminated after one */
    size_t len;  /* bytes used, not counting the terminator */
    size_t cap;  /* bytes allocated */
    size_t max;  /* appends that would grow len past it fail; 0 = DSCAT_BUF_MAX_DEFAULT */
    int error;   /* 0, or the first failure's DSCAT_ENOMEM: sticky */
    bool capped; /* the first failure was the maximum, not the allocator */
} dscat_buf;

#define DSCAT_BUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0, 0, 0, false                                                                    \
    }

/* Starts an empty buffer whose contents may grow to max bytes (0: DSCAT_BUF_MAX_DEFAULT). */
void dscat_buf_init(dscat_buf *b, size_t max);

/*
 * Appends len bytes. Returns 0, or DSCAT_ENOMEM when the allocation fails or the maximum would
 * be passed, and from then on for every append (the buffer is then empty and stays failed).
 */
int dscat_buf_put(dscat_buf *b, const void *data, size_t len);
int dscat_buf_puts(dscat_buf *b, const char *s);
/* Appends everything left to read from f: 0, DSCAT_ENOMEM, or DSCAT_EIO (a read error). */
int dscat_buf_read(dscat_buf *b, FILE *f);
int dscat_buf_putc(dscat_buf *b, char c);
int dscat_buf_printf(dscat_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dscat_buf_vprintf(dscat_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The sticky error: 0 while every append succeeded, else DSCAT_ENOMEM. */
int dscat_buf_error(const dscat_buf *b);

/*
 * dscat_buf_error, filling err on failure with a one-line message naming `what` (e.g. "the
 * summary"): "out of memory building the summary" or "the summary is over its limit of N bytes".
 */
int dscat_buf_check(const dscat_buf *b, dscat_error *err, const char *what);

/* The contents, or "" when empty or failed. Borrowed: valid until the next change. */
const char *dscat_buf_cstr(const dscat_buf *b);
/*
 * Hands the contents to the caller (who frees with dscat_free()) and resets the buffer, error
 * included. NULL when the buffer failed or the allocator does.
 */
char *dscat_buf_detach(dscat_buf *b);
/* Empties the buffer and keeps its maximum; a failed buffer stays failed. */
void dscat_buf_reset(dscat_buf *b);
/* Releases the contents; the buffer is then as new (no error), with the same maximum. */
void dscat_buf_free(dscat_buf *b);

#endif
