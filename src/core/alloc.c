#include "core/alloc.h"

#include "core/testhooks.h"

#include <stdlib.h>
#include <string.h>

/* Whether this allocation is the one a test asked to fail: never in the release build. */
static int should_fail(void)
{
    return dscat_test__alloc_fails();
}

/* Allocations that failed on this thread (see dscat_alloc_failures). */
static _Thread_local unsigned long failures;

unsigned long dscat_alloc_failures(void)
{
    return failures;
}

/* Counts a failed allocation; returns NULL for `return failed();`. */
static void *failed(void)
{
    failures++;
    return NULL;
}

void *dscat_malloc(size_t size)
{
    void *p = should_fail() ? NULL : malloc(size ? size : 1);
    return p ? p : failed();
}

void *dscat_calloc(size_t count, size_t size)
{
    void *p = should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
    return p ? p : failed();
}

void *dscat_realloc(void *ptr, size_t size)
{
    void *p = should_fail() ? NULL : realloc(ptr, size ? size : 1);
    return p ? p : failed();
}

int dscat_grow(void **items, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    void *p = dscat_realloc(*items, n * elem);
    if (p == NULL)
        return DSCAT_ENOMEM;
    *items = p;
    *cap = n;
    return 0;
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
