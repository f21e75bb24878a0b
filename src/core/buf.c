#include "core/buf.h"

#include "core/alloc.h"

#include <stdio.h>
#include <string.h>

void dscat_buf_init(dscat_buf *b, size_t max)
{
    *b = (dscat_buf)DSCAT_BUF_INIT;
    b->max = max;
}

static size_t max_of(const dscat_buf *b)
{
    return b->max ? b->max : DSCAT_BUF_MAX_DEFAULT;
}

/* Makes the buffer failed: the contents go, and the first failure is what it reports. */
static int fail(dscat_buf *b, bool capped)
{
    dscat_free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->error = DSCAT_ENOMEM;
    b->capped = capped;
    return b->error;
}

/* Makes room for `extra` more bytes plus the terminator, doubling the allocation. */
static int grow(dscat_buf *b, size_t extra)
{
    if (b->error)
        return b->error;
    if (extra > max_of(b) || b->len + extra > max_of(b))
        return fail(b, true);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = dscat_realloc(b->ptr, cap);
    if (p == NULL)
        return fail(b, false);
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

int dscat_buf_read(dscat_buf *b, FILE *f)
{
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (dscat_buf_put(b, chunk, n))
            return DSCAT_ENOMEM;
    return ferror(f) ? DSCAT_EIO : 0;
}

int dscat_buf_putc(dscat_buf *b, char c)
{
    return dscat_buf_put(b, &c, 1);
}

int dscat_buf_vprintf(dscat_buf *b, const char *fmt, va_list ap)
{
    if (b->error)
        return b->error;
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return fail(b, false); /* a format error is a bug; the text is lost either way */
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

int dscat_buf_error(const dscat_buf *b)
{
    return b->error;
}

int dscat_buf_check(const dscat_buf *b, dscat_error *err, const char *what)
{
    if (b->error == 0)
        return 0;
    if (b->capped)
        return dscat_error_set(err, b->error, "%s is over its limit of %zu bytes", what, max_of(b));
    return dscat_error_set(err, b->error, "out of memory building %s", what);
}

const char *dscat_buf_cstr(const dscat_buf *b)
{
    return b->ptr && !b->error ? b->ptr : "";
}

char *dscat_buf_detach(dscat_buf *b)
{
    char *p = b->error ? NULL : b->ptr;
    if (p == NULL && !b->error)
        p = dscat_strdup("");
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->error = 0;
    b->capped = false;
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
    b->error = 0;
    b->capped = false;
}
