/*
 * An arena for work with a clear end (a scan, a request): many small allocations, freed at once
 * by dscat_arena_free(). Not thread-safe: one arena belongs to one thread at a time.
 */
#ifndef DSCAT_CORE_ARENA_H
#define DSCAT_CORE_ARENA_H

#include <stddef.h>

typedef struct dscat_arena_chunk dscat_arena_chunk;

typedef struct dscat_arena {
    dscat_arena_chunk *head;
    size_t used; /* bytes handed out, for reporting */
} dscat_arena;

#define DSCAT_ARENA_INIT                                                                           \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

/* size bytes aligned for any type, or NULL when memory runs out. Valid until the arena is freed. */
void *dscat_arena_alloc(dscat_arena *a, size_t size);
/* A copy of s in the arena; NULL for NULL (or when memory runs out). */
char *dscat_arena_strdup(dscat_arena *a, const char *s);
char *dscat_arena_strndup(dscat_arena *a, const char *s, size_t len);
/* Frees everything; the arena can be used again afterwards. */
void dscat_arena_free(dscat_arena *a);

#endif
