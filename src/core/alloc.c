#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;

/* Decides whether this allocation is the one a test asked to fail. */
static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    if (n < 0)
        return 0;
    n = atomic_fetch_sub(&fail_countdown, 1);
    return n == 0;
}

void dscat_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

void *dscat_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *dscat_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *dscat_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

char *dscat_strndup(const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    char *copy = dscat_malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *dscat_strdup(const char *s)
{
    return s ? dscat_strndup(s, strlen(s)) : NULL;
}

void dscat_free(void *ptr)
{
    free(ptr);
}
