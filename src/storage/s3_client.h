/*
 * A small S3 client for the S3 storage backend (SPEC §9, storage/s3.c): path-style requests
 * signed by libcurl's built-in AWS SigV4, credentials only from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Every request is retried with backoff on 5xx, 429 and
 * transport errors; 403 and a missing bucket are clear errors. Thread-safe: each call uses its own
 * curl handle.
 */
#ifndef DSCAT_STORAGE_S3_CLIENT_H
#define DSCAT_STORAGE_S3_CLIENT_H

#include "dscat/config.h"

#include <stdint.h>

typedef struct dscat_s3 dscat_s3;

/* Parses root "s3://bucket[/prefix]"; *prefix (may be "") is the key prefix without a final "/". */
int dscat_s3_open(dscat_s3 **out, const char *root, const dscat_settings *settings,
                  dscat_error *err);
void dscat_s3_close(dscat_s3 *s);
const char *dscat_s3_prefix(const dscat_s3 *s);
const char *dscat_s3_bucket(const dscat_s3 *s);

/* Uploads a local file to key: one PUT, or a multipart upload above the part size (each part
 * retried). A failed multipart upload is aborted; a failed abort is reported in *warning. */
int dscat_s3_put_file(dscat_s3 *s, const char *key, const char *path, char *warning, size_t wsize,
                      dscat_error *err);
/* Downloads key into a local file (written whole, or removed). */
int dscat_s3_get_file(dscat_s3 *s, const char *key, const char *path, dscat_error *err);
/* DSCAT_ENOTFOUND when there is no such key. */
int dscat_s3_head(dscat_s3 *s, const char *key, int64_t *size, dscat_error *err);
int dscat_s3_delete(dscat_s3 *s, const char *key, dscat_error *err);
/* Copies the object from to the key to inside the bucket, on the server (CopyObject: one PUT
 * with x-amz-copy-source; objects up to 5 GB). A failure reported in a 200 answer is an error. */
int dscat_s3_copy(dscat_s3 *s, const char *from, const char *to, dscat_error *err);

typedef struct dscat_s3_object {
    char *key;
    int64_t size, modified_us;
} dscat_s3_object;

/* Every key under prefix, paging through listings of at most 1,000. */
int dscat_s3_list(dscat_s3 *s, const char *prefix, dscat_s3_object **out, size_t *n,
                  dscat_error *err);
void dscat_s3_objects_free(dscat_s3_object *o, size_t n);

/* One cheap signed request (a listing of at most one key of the prefix): credentials, endpoint
 * and bucket are checked before any work starts. */
int dscat_s3_check(dscat_s3 *s, dscat_error *err);

/* Deletes every key under prefix, which must end in "/": whole path segments only. */
int dscat_s3_delete_prefix(dscat_s3 *s, const char *prefix, dscat_error *err);

/* The part size for multipart uploads (bytes); DSCAT_S3_PART_SIZE overrides it (tests). */
int64_t dscat_s3_part_size(void);

#endif
