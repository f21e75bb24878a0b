/*
 * Allocation wrappers. All of dscat allocates through these so that tests can make the Nth
 * allocation fail (dscat_alloc_fail_after) and check that every path copes.
 */
#ifndef DSCAT_CORE_ALLOC_H
#define DSCAT_CORE_ALLOC_H

#include <stddef.h>

void *dscat_malloc(size_t size);
void *dscat_calloc(size_t count, size_t size);
void *dscat_realloc(void *ptr, size_t size);
/* Copies s (NULL gives NULL). Caller frees with dscat_free(). */
char *dscat_strdup(const char *s);
/* Copies the first len bytes of s and terminates them. Caller frees with dscat_free(). */
char *dscat_strndup(const char *s, size_t len);
void dscat_free(void *ptr);

/* Test hook: the allocation after `n` more succeed fails; a negative n turns failures off. */
void dscat_alloc_fail_after(long n);

#endif
