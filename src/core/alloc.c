#include "core/alloc.h"

#include "core/testhooks.h"

#include <stdlib.h>
#include <string.h>

/* Whether this allocation is the one a test asked to fail: never in the release build. */
static int should_fail(void)
{
    return dscat_test__alloc_fails();
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
