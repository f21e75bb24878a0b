/*
 * Allocation wrappers. All of dscat allocates through these (dscat_malloc, dscat_calloc,
 * dscat_realloc, dscat_strdup and dscat_free are declared in dscat/common.h) so that the test
 * build can make the Nth allocation fail (core/testhooks.h) and check that every path copes.
 * Nothing else in src/ calls malloc, calloc, realloc, strdup or strndup (scripts/check).
 */
#ifndef DSCAT_CORE_ALLOC_H
#define DSCAT_CORE_ALLOC_H

#include "dscat/common.h"

#include <stddef.h>

/* Copies the first len bytes of s and terminates them. Caller frees with dscat_free(). */
char *dscat_strndup(const char *s, size_t len);

#endif
