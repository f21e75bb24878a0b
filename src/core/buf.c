#include "core/buf.h"

#include "core/alloc.h"
#include "dscat/common.h"

#include <stdio.h>
#include <string.h>

/* Makes room for `extra` more bytes plus the terminator, doubling the allocation. */
static int grow(dscat_buf *b, size_t extra)
{
    if (extra > ((size_t)-1) / 2 - b->len)
        return DSCAT_ENOMEM;
    size_t need = b->len + extra + 1;
    if (b->max && b->len + extra > b->max)
        return DSCAT_ENOMEM;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = dscat_realloc(b->ptr, cap);
    if (p == NULL)
        return DSCAT_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int dscat_buf_put(dscat_buf *b, const void *data, size_t len)
{
    int rc = grow(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int dscat_buf_puts(dscat_buf *b, const char *s)
{
    return dscat_buf_put(b, s, strlen(s));
}

int dscat_buf_putc(dscat_buf *b, char c)
{
    return dscat_buf_put(b, &c, 1);
}

int dscat_buf_vprintf(dscat_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return DSCAT_EINVALID;
    int rc = grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int dscat_buf_printf(dscat_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dscat_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *dscat_buf_cstr(const dscat_buf *b)
{
    return b->ptr ? b->ptr : "";
}

char *dscat_buf_detach(dscat_buf *b)
{
    char *p = b->ptr;
    if (p == NULL)
        p = dscat_strdup("");
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}

void dscat_buf_reset(dscat_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void dscat_buf_free(dscat_buf *b)
{
    dscat_free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}
