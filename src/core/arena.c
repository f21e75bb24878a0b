#include "core/arena.h"

#include "core/alloc.h"

#include <stdalign.h>
#include <string.h>

struct dscat_arena_chunk {
    dscat_arena_chunk *next;
    size_t size;
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

#define CHUNK_SIZE (64 * 1024)

void *dscat_arena_alloc(dscat_arena *a, size_t size)
{
    size_t align = alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    dscat_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < size) {
        /* Big requests get a chunk of their own so that the current chunk keeps its space. */
        size_t csize = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
        dscat_arena_chunk *n = dscat_malloc(sizeof(*n) + csize);
        if (n == NULL)
            return NULL;
        n->size = csize;
        n->used = 0;
        if (csize != CHUNK_SIZE && c != NULL) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->used += size;
    return p;
}

char *dscat_arena_strndup(dscat_arena *a, const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    char *p = dscat_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *dscat_arena_strdup(dscat_arena *a, const char *s)
{
    return s ? dscat_arena_strndup(a, s, strlen(s)) : NULL;
}

void dscat_arena_free(dscat_arena *a)
{
    dscat_arena_chunk *c = a->head;
    while (c) {
        dscat_arena_chunk *next = c->next;
        dscat_free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
