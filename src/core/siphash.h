/*
 * SipHash-2-4 with a 128-bit output (Aumasson and Bernstein), the keyed hash the store uses to
 * address a table's content: with a secret key of its own, no one who writes names into a
 * source can make two different contents collide on purpose.
 */
#ifndef DSCAT_CORE_SIPHASH_H
#define DSCAT_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define DSCAT_SIPHASH_BYTES 16

/* out receives the 16-byte hash of data[0..len) under key (16 bytes). */
void dscat_siphash128(uint8_t out[DSCAT_SIPHASH_BYTES], const uint8_t key[16], const void *data,
                      size_t len);

#endif
