#include "core/strmap.h"

#include "core/alloc.h"
#include "dscat/common.h"

#include <stdint.h>
#include <string.h>

struct dscat_strmap_slot {
    char *key; /* NULL = empty */
    size_t len;
    size_t value;
    uint64_t hash;
};

/* FNV-1a: simple, and good enough for identifier-like keys. */
static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static dscat_strmap_slot *find(const dscat_strmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        dscat_strmap_slot *s = &m->slots[i];
        if (s->key == NULL)
            return s;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
}

static int rehash(dscat_strmap *m, size_t cap)
{
    dscat_strmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    dscat_strmap_slot *slots = dscat_calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return DSCAT_ENOMEM;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key)
            *find(m, old[i].key, old[i].len, old[i].hash) = old[i];
    }
    dscat_free(old);
    return 0;
}

int dscat_strmap_put(dscat_strmap *m, const char *key, size_t len, size_t value)
{
    if ((m->count + 1) * 4 >= m->cap * 3) {
        int rc = rehash(m, m->cap ? m->cap * 2 : 64);
        if (rc)
            return rc;
    }
    uint64_t h = hash_bytes(key, len);
    dscat_strmap_slot *s = find(m, key, len, h);
    if (s->key == NULL) {
        s->key = dscat_strndup(key, len);
        if (s->key == NULL)
            return DSCAT_ENOMEM;
        s->len = len;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

int dscat_strmap_get(const dscat_strmap *m, const char *key, size_t len, size_t *value)
{
    if (m->cap == 0)
        return 0;
    dscat_strmap_slot *s = find(m, key, len, hash_bytes(key, len));
    if (s->key == NULL)
        return 0;
    *value = s->value;
    return 1;
}

void dscat_strmap_free(dscat_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        dscat_free(m->slots[i].key);
    dscat_free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}
