/*
 * A small S3 client for the S3 storage backend (SPEC §9, storage/s3.c): path-style requests
 * signed by libcurl's built-in AWS SigV4, credentials only from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Every request is retried with backoff on 5xx, 429 and
 * transport errors (and a copy's or completion's retryable failure inside a 200), sent at most 5
 * times in all; 403, a missing bucket and a Content-Length that does not parse are clear errors.
 * Thread-safe: each call uses its own curl handle.
 */
#ifndef DSCAT_STORAGE_S3_CLIENT_H
#define DSCAT_STORAGE_S3_CLIENT_H

#include "core/buf.h"
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
 * retried; the parts grow when more than 10,000 would be needed). A failed multipart upload is
 * aborted; a failed abort is reported in *warning. */
int dscat_s3_put_file(dscat_s3 *s, const char *key, const char *path, char *warning, size_t wsize,
                      dscat_error *err);
/* Downloads key into a local file (written whole, or removed). */
int dscat_s3_get_file(dscat_s3 *s, const char *key, const char *path, dscat_error *err);
/* DSCAT_ENOTFOUND when there is no such key. */
int dscat_s3_head(dscat_s3 *s, const char *key, int64_t *size, dscat_error *err);
int dscat_s3_delete(dscat_s3 *s, const char *key, dscat_error *err);
/*
 * Copies the object from to the key to inside the bucket, on the server: the bytes never come
 * here. A HEAD of from gives its size and ETag; up to dscat_s3_copy_threshold() bytes the copy
 * is one CopyObject (a PUT with x-amz-copy-source), above it a multipart copy: an upload
 * created, one UploadPartCopy per part (x-amz-copy-source-range, and
 * x-amz-copy-source-if-match naming from's ETag so that every part comes from the same object),
 * completed, then a HEAD of to must give from's size. A failed multipart copy is aborted (a
 * failed abort is added to the error's message). A failure S3 reports inside a 200 answer (an
 * <Error> body, or no result element) is an error.
 */
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

/* S3's limits: a single PUT, a CopyObject and a part at most 5 GiB, at most 10,000 parts, an
 * object at most 5 TiB. */
#define DSCAT_S3_MAX_PART (5LL * 1024 * 1024 * 1024)
#define DSCAT_S3_MAX_PARTS 10000
#define DSCAT_S3_MAX_OBJECT (5LL * 1024 * 1024 * 1024 * 1024)

/* The part size for multipart uploads and copies (bytes, 64 MiB); DSCAT_S3_PART_SIZE overrides
 * it (tests: any positive size; else at least 5 MiB), never above DSCAT_S3_MAX_PART, so that no
 * single PUT is larger than S3 takes. */
int64_t dscat_s3_part_size(void);
/* The size above which dscat_s3_copy() copies in parts: DSCAT_S3_MAX_PART, CopyObject's limit;
 * DSCAT_S3_COPY_THRESHOLD (bytes, any positive size) lowers it, so that tests can force a
 * multipart copy on a small object. */
int64_t dscat_s3_copy_threshold(void);

/* ---- internals of s3_client.c, declared for its unit tests (tests/unit/test_s3.c) ---------- */

/*
 * The value of a Content-Length header (len bytes after "Content-Length:", the line's CR LF
 * allowed) into *out: digits only, spaces and tabs around them, at most INT64_MAX. Returns 0, or
 * DSCAT_EINVALID (empty, a sign, junk, overflow): a request whose answer has such a header
 * fails naming it, never reading the size as 0.
 */
int dscat_s3__content_length(int64_t *out, const char *value, size_t len);

/*
 * The parts of an object of size bytes: *part bytes each (the last one shorter), *count of
 * them. part is want, grown when more than DSCAT_S3_MAX_PARTS parts would be needed. An object
 * over DSCAT_S3_MAX_OBJECT is DSCAT_EINVALID.
 */
int dscat_s3__plan(int64_t size, int64_t want, int64_t *part, int64_t *count, dscat_error *err);
/* The first and last byte (inclusive) of part n (1-based) of an object of size bytes cut in
 * parts of part bytes. */
void dscat_s3__part_range(int64_t size, int64_t part, int64_t n, int64_t *first, int64_t *last);
/*
 * Appends the header lines of a copy from the key from of bucket, each ended by "\n":
 * "x-amz-copy-source: /bucket/key" (the key encoded as in a path), then, when first >= 0,
 * "x-amz-copy-source-range: bytes=first-last", then, when if_match is not NULL,
 * "x-amz-copy-source-if-match: <if_match>". Returns 0 or DSCAT_ENOMEM (the buffer's error).
 */
int dscat_s3__copy_headers(dscat_buf *out, const char *bucket, const char *from,
                           const char *if_match, int64_t first, int64_t last);
/*
 * Reads a 200 answer's body that must hold <result> (CopyObjectResult, CopyPartResult,
 * CompleteMultipartUploadResult): 0, with *etag its <ETag> (entities decoded; caller frees with
 * dscat_free()) when etag is not NULL. An <Error> body (S3 sends 200 before a copy or a
 * completion is done and reports a failure in the body), a body without <result>, or a result
 * without the ETag asked for is DSCAT_EIO with why (wsize bytes) saying what S3 said;
 * DSCAT_ENOMEM when memory runs out.
 */
int dscat_s3__result(const char *body, const char *result, char **etag, char *why, size_t wsize);
/* Appends one <Part> of a CompleteMultipartUpload body, the ETag XML-escaped. */
int dscat_s3__complete_part(dscat_buf *body, int64_t n, const char *etag);

#endif
