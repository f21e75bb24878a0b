/*
 * A hash map from byte-string keys to size_t values (open addressing, linear probing).
 * Keys are copied. Used to match rows from separate catalog queries (columns to tables, keys to
 * columns) in linear time.
 */
#ifndef DSCAT_CORE_STRMAP_H
#define DSCAT_CORE_STRMAP_H

#include <stddef.h>

typedef struct dscat_strmap_slot dscat_strmap_slot;

typedef struct dscat_strmap {
    dscat_strmap_slot *slots;
    size_t cap;
    size_t count;
} dscat_strmap;

#define DSCAT_STRMAP_INIT                                                                          \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Sets key (len bytes) to value, replacing an existing value. 0 or DSCAT_ENOMEM. */
int dscat_strmap_put(dscat_strmap *m, const char *key, size_t len, size_t value);
/* 1 and *value when key is present, else 0. */
int dscat_strmap_get(const dscat_strmap *m, const char *key, size_t len, size_t *value);
void dscat_strmap_free(dscat_strmap *m);

#endif
