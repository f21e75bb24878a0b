/*
 * SipHash-2-4 with a 128-bit output (Aumasson and Bernstein), the keyed hash the store uses to
 * address a table's content: with a secret key of its own, no one who writes names into a
 * source can make two different contents collide on purpose. Fed in pieces or at once.
 */
#ifndef DSCAT_CORE_SIPHASH_H
#define DSCAT_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define DSCAT_SIPHASH_BYTES 16

typedef struct dscat_siphash {
    uint64_t v[4];
    uint8_t tail[8]; /* bytes of the current 8-byte block */
    size_t ntail;
    uint64_t total; /* bytes fed */
} dscat_siphash;

void dscat_siphash_init(dscat_siphash *h, const uint8_t key[16]);
void dscat_siphash_update(dscat_siphash *h, const void *data, size_t len);
/* Writes the 16-byte hash of everything fed since init. */
void dscat_siphash_final(dscat_siphash *h, uint8_t out[DSCAT_SIPHASH_BYTES]);

/* out receives the 16-byte hash of data[0..len) under key (16 bytes). */
void dscat_siphash128(uint8_t out[DSCAT_SIPHASH_BYTES], const uint8_t key[16], const void *data,
                      size_t len);

#endif
