/* SipHash-2-4, 128-bit output, as in the reference implementation (github.com/veorq/SipHash). */
#include "core/siphash.h"

#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v)                                                                                \
    do {                                                                                           \
        v[0] += v[1];                                                                              \
        v[1] = ROTL(v[1], 13);                                                                     \
        v[1] ^= v[0];                                                                              \
        v[0] = ROTL(v[0], 32);                                                                     \
        v[2] += v[3];                                                                              \
        v[3] = ROTL(v[3], 16);                                                                     \
        v[3] ^= v[2];                                                                              \
        v[0] += v[3];                                                                              \
        v[3] = ROTL(v[3], 21);                                                                     \
        v[3] ^= v[0];                                                                              \
        v[2] += v[1];                                                                              \
        v[1] = ROTL(v[1], 17);                                                                     \
        v[1] ^= v[2];                                                                              \
        v[2] = ROTL(v[2], 32);                                                                     \
    } while (0)

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void store64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    SIPROUND(v);
    SIPROUND(v);
    v[0] ^= m;
}

void dscat_siphash_init(dscat_siphash *h, const uint8_t key[16])
{
    uint64_t k0 = load64(key), k1 = load64(key + 8);
    h->v[0] = 0x736f6d6570736575ULL ^ k0;
    h->v[1] = 0x646f72616e646f6dULL ^ k1 ^ 0xee;
    h->v[2] = 0x6c7967656e657261ULL ^ k0;
    h->v[3] = 0x7465646279746573ULL ^ k1;
    h->ntail = 0;
    h->total = 0;
}

void dscat_siphash_update(dscat_siphash *h, const void *data, size_t len)
{
    const uint8_t *in = data;
    h->total += len;
    if (h->ntail) {
        size_t take = 8 - h->ntail < len ? 8 - h->ntail : len;
        memcpy(h->tail + h->ntail, in, take);
        h->ntail += take;
        in += take;
        len -= take;
        if (h->ntail < 8)
            return;
        compress(h->v, load64(h->tail));
        h->ntail = 0;
    }
    for (; len >= 8; in += 8, len -= 8)
        compress(h->v, load64(in));
    memcpy(h->tail, in, len);
    h->ntail = len;
}

void dscat_siphash_final(dscat_siphash *h, uint8_t out[DSCAT_SIPHASH_BYTES])
{
    uint64_t *v = h->v;
    uint64_t b = h->total << 56;
    for (size_t i = 0; i < h->ntail; i++)
        b |= (uint64_t)h->tail[i] << (8 * i);
    compress(v, b);
    v[2] ^= 0xee;
    for (int i = 0; i < 4; i++)
        SIPROUND(v);
    store64(out, v[0] ^ v[1] ^ v[2] ^ v[3]);
    v[1] ^= 0xdd;
    for (int i = 0; i < 4; i++)
        SIPROUND(v);
    store64(out + 8, v[0] ^ v[1] ^ v[2] ^ v[3]);
}

void dscat_siphash128(uint8_t out[DSCAT_SIPHASH_BYTES], const uint8_t key[16], const void *data,
                      size_t len)
{
    dscat_siphash h;
    dscat_siphash_init(&h, key);
    dscat_siphash_update(&h, data, len);
    dscat_siphash_final(&h, out);
}
