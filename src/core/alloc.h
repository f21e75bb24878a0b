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

/*
 * Makes room for one more element in the array *items of count elements of elem bytes each,
 * doubling its capacity *cap (64 at first) when it is full. 0, or DSCAT_ENOMEM with the array
 * as it was.
 */
int dscat_grow(void **items, size_t *cap, size_t count, size_t elem);

/*
 * How many allocations have failed on the calling thread so far. Code that builds a result
 * through a library that drops what it cannot allocate without saying so (jansson's
 * json_object_set_new of a NULL value) compares the count before and after: a change means the
 * result may be missing parts and must not be used.
 */
unsigned long dscat_alloc_failures(void);

#endif
