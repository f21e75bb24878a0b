/*
 * A growable, always NUL-terminated byte buffer with an optional size cap (after curl's dynbuf).
 * Start with DSCAT_BUF_INIT; release with dscat_buf_free().
 */
#ifndef DSCAT_CORE_BUF_H
#define DSCAT_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct dscat_buf {
    char *ptr;  /* NULL until the first append; always terminated after one */
    size_t len; /* bytes used, not counting the terminator */
    size_t cap; /* bytes allocated */
    size_t max; /* 0 = no cap; else appends that would grow len past it fail */
} dscat_buf;

#define DSCAT_BUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* Appends len bytes. Returns 0, or DSCAT_ENOMEM (allocation or cap). */
int dscat_buf_put(dscat_buf *b, const void *data, size_t len);
int dscat_buf_puts(dscat_buf *b, const char *s);
int dscat_buf_putc(dscat_buf *b, char c);
int dscat_buf_printf(dscat_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dscat_buf_vprintf(dscat_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The contents, or "" when empty. Borrowed: valid until the next change. */
const char *dscat_buf_cstr(const dscat_buf *b);
/* Hands the contents to the caller (who frees with dscat_free()) and resets the buffer. */
char *dscat_buf_detach(dscat_buf *b);
void dscat_buf_reset(dscat_buf *b);
void dscat_buf_free(dscat_buf *b);

#endif
