/*
 * The S3 client's request building and answer reading (src/storage/s3_client.c) for what the
 * harness's S3 server cannot run: the multipart copy (UploadPartCopy, which s3rver does not
 * implement) and S3's size limits. The requests themselves are covered by t_s3 against s3rver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "storage/s3_client.h"

#include <stdlib.h>
#include <string.h>

#define MIB (1024LL * 1024)
#define GIB (1024LL * MIB)

/* Every part of a plan, as the uploads and copies cut them: contiguous, covering size whole,
 * each part bytes long but the last, at most DSCAT_S3_MAX_PARTS of them. */
static void check_plan(int64_t size, int64_t want, int64_t expect_part, int64_t expect_count)
{
    int64_t part = 0, count = 0;
    dscat_error err = {0};
    assert_int_equal(dscat_s3__plan(size, want, &part, &count, &err), 0);
    assert_int_equal(part, expect_part);
    assert_int_equal(count, expect_count);
    assert_true(count <= DSCAT_S3_MAX_PARTS);
    assert_true(part <= DSCAT_S3_MAX_PART);
    int64_t next = 0;
    for (int64_t n = 1; n <= count; n++) {
        int64_t first = -1, last = -1;
        dscat_s3__part_range(size, part, n, &first, &last);
        assert_int_equal(first, next);
        assert_true(last >= first);
        if (n < count)
            assert_int_equal(last - first + 1, part);
        else
            assert_true(last - first + 1 <= part);
        next = last + 1;
    }
    assert_int_equal(next, size);
}

static void test_plan(void **state)
{
    (void)state;
    /* the test's forced copy: a 20 MiB object in 5 MiB parts */
    check_plan(20 * MIB, 5 * MIB, 5 * MIB, 4);
    check_plan(20 * MIB + 3, 5 * MIB, 5 * MIB, 5);
    /* a 6 GiB Parquet file, past CopyObject's 5 GiB, in the default 64 MiB parts */
    check_plan(6 * GIB, 64 * MIB, 64 * MIB, 96);
    /* 10,000 parts exactly, then the part grows rather than a 10,001st part */
    check_plan(10000 * 64 * MIB, 64 * MIB, 64 * MIB, 10000);
    check_plan(10000 * 64 * MIB + 1, 64 * MIB, 64 * MIB + 1, 10000);
    /* S3's largest object */
    check_plan(DSCAT_S3_MAX_OBJECT, 64 * MIB, (DSCAT_S3_MAX_OBJECT + 9999) / 10000, 10000);

    int64_t part = 0, count = 0;
    dscat_error err = {0};
    assert_int_equal(dscat_s3__plan(DSCAT_S3_MAX_OBJECT + 1, 64 * MIB, &part, &count, &err),
                     DSCAT_EINVALID);
    assert_non_null(strstr(err.message, "larger than S3 takes"));
}

static void test_part_range(void **state)
{
    (void)state;
    int64_t first, last;
    dscat_s3__part_range(20 * MIB, 5 * MIB, 1, &first, &last);
    assert_int_equal(first, 0);
    assert_int_equal(last, 5 * MIB - 1);
    dscat_s3__part_range(20 * MIB, 5 * MIB, 4, &first, &last);
    assert_int_equal(first, 15 * MIB);
    assert_int_equal(last, 20 * MIB - 1);
    dscat_s3__part_range(20 * MIB + 3, 5 * MIB, 5, &first, &last);
    assert_int_equal(first, 20 * MIB);
    assert_int_equal(last, 20 * MIB + 2);
}

static void test_sizes_from_environment(void **state)
{
    (void)state;
    unsetenv("DSCAT_S3_PART_SIZE");
    unsetenv("DSCAT_S3_COPY_THRESHOLD");
    assert_int_equal(dscat_s3_part_size(), 64 * MIB);
    assert_int_equal(dscat_s3_copy_threshold(), 5 * GIB);
    setenv("DSCAT_S3_PART_SIZE", "5242880", 1);
    assert_int_equal(dscat_s3_part_size(), 5 * MIB);
    /* a single PUT is never larger than S3 takes, whatever the setting */
    setenv("DSCAT_S3_PART_SIZE", "10737418240", 1);
    assert_int_equal(dscat_s3_part_size(), 5 * GIB);
    setenv("DSCAT_S3_COPY_THRESHOLD", "1", 1);
    assert_int_equal(dscat_s3_copy_threshold(), 1);
    /* and neither is a CopyObject */
    setenv("DSCAT_S3_COPY_THRESHOLD", "6442450944", 1);
    assert_int_equal(dscat_s3_copy_threshold(), 5 * GIB);
    setenv("DSCAT_S3_COPY_THRESHOLD", "not a size", 1);
    assert_int_equal(dscat_s3_copy_threshold(), 5 * GIB);
    unsetenv("DSCAT_S3_PART_SIZE");
    unsetenv("DSCAT_S3_COPY_THRESHOLD");
}

static void test_copy_headers(void **state)
{
    (void)state;
    dscat_buf b = DSCAT_BUF_INIT;
    /* CopyObject: the source only, its key encoded as in a path */
    assert_int_equal(dscat_s3__copy_headers(&b, "bkt", "p/a b+c/data.parquet", NULL, -1, -1), 0);
    assert_string_equal(dscat_buf_cstr(&b), "x-amz-copy-source: /bkt/p/a%20b%2Bc/data.parquet\n");
    /* UploadPartCopy: a range (inclusive) and the source's ETag */
    dscat_buf_reset(&b);
    assert_int_equal(
        dscat_s3__copy_headers(&b, "bkt", "k/data.parquet", "\"0123abc-2\"", 5242880, 10485759), 0);
    assert_string_equal(dscat_buf_cstr(&b), "x-amz-copy-source: /bkt/k/data.parquet\n"
                                            "x-amz-copy-source-range: bytes=5242880-10485759\n"
                                            "x-amz-copy-source-if-match: \"0123abc-2\"\n");
    dscat_buf_free(&b);
}

static void test_result(void **state)
{
    (void)state;
    char why[300] = "", *etag = NULL;
    /* an UploadPartCopy answer: the part's ETag is in the body, quotes as entities */
    const char *part = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<CopyPartResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<LastModified>2026-11-30T00:00:00.000Z</LastModified>"
                       "<ETag>&quot;b54357faf0632cce46e942fa68356b38&quot;</ETag></CopyPartResult>";
    assert_int_equal(dscat_s3__result(part, "CopyPartResult", &etag, why, sizeof(why)), 0);
    assert_string_equal(etag, "\"b54357faf0632cce46e942fa68356b38\"");
    dscat_free(etag);
    /* S3 keeps a long copy's connection alive with spaces before the result */
    const char *done = "<?xml version=\"1.0\"?>\n      \n<CompleteMultipartUploadResult>"
                       "<Bucket>b</Bucket><Key>k</Key><ETag>\"e-3\"</ETag>"
                       "</CompleteMultipartUploadResult>";
    assert_int_equal(
        dscat_s3__result(done, "CompleteMultipartUploadResult", NULL, why, sizeof(why)), 0);
    /* a failure after the 200: an error, with S3's code and message */
    const char *error = "<?xml version=\"1.0\"?>\n  \n<Error><Code>InternalError</Code>"
                        "<Message>We encountered an internal error. Please try again.</Message>"
                        "<RequestId>1</RequestId></Error>";
    assert_int_equal(dscat_s3__result(error, "CopyPartResult", &etag, why, sizeof(why)), DSCAT_EIO);
    assert_null(etag);
    assert_string_equal(why, "InternalError: We encountered an internal error. Please try again.");
    assert_int_equal(
        dscat_s3__result(error, "CompleteMultipartUploadResult", NULL, why, sizeof(why)),
        DSCAT_EIO);
    assert_int_equal(dscat_s3__result(error, "CopyObjectResult", NULL, why, sizeof(why)),
                     DSCAT_EIO);
    /* an answer cut short (only the keep-alive spaces arrived) is no success */
    assert_int_equal(dscat_s3__result("<?xml version=\"1.0\"?>\n   ", "CopyObjectResult", NULL, why,
                                      sizeof(why)),
                     DSCAT_EIO);
    assert_string_equal(why, "no CopyObjectResult in S3's answer");
    assert_int_equal(
        dscat_s3__result(NULL, "CompleteMultipartUploadResult", NULL, why, sizeof(why)), DSCAT_EIO);
    /* a part without its ETag could not be completed */
    assert_int_equal(dscat_s3__result("<CopyPartResult><LastModified>x</LastModified>"
                                      "</CopyPartResult>",
                                      "CopyPartResult", &etag, why, sizeof(why)),
                     DSCAT_EIO);
    assert_null(etag);
    assert_string_equal(why, "no ETag in S3's CopyPartResult");
}

static void test_complete_part(void **state)
{
    (void)state;
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_buf_puts(&b, "<CompleteMultipartUpload>");
    dscat_s3__complete_part(&b, 1, "\"abc\"");
    assert_int_equal(dscat_s3__complete_part(&b, 2, "\"a&b<c>\""), 0);
    dscat_buf_puts(&b, "</CompleteMultipartUpload>");
    assert_string_equal(dscat_buf_cstr(&b),
                        "<CompleteMultipartUpload>"
                        "<Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag></Part>"
                        "<Part><PartNumber>2</PartNumber><ETag>\"a&amp;b&lt;c&gt;\"</ETag></Part>"
                        "</CompleteMultipartUpload>");
    dscat_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_part_range),
        cmocka_unit_test(test_sizes_from_environment),
        cmocka_unit_test(test_copy_headers),
        cmocka_unit_test(test_result),
        cmocka_unit_test(test_complete_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
