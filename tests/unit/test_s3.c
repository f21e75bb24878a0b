/*
 * The S3 client's request building and answer reading (src/storage/s3_client.c) for what the
 * harness's S3 server cannot run: the multipart copy (UploadPartCopy, which s3rver does not
 * implement), S3's size limits, and answers no honest server sends (a Content-Length that does
 * not parse, a copy failing inside its 200 after 5xx answers), from a scripted HTTP server on
 * loopback. The requests themselves are covered by t_s3 against s3rver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "dscat/common.h"
#include "storage/s3_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static void test_content_length(void **state)
{
    (void)state;
    int64_t n = -1;
    static const char *const good[] = {" 12\r\n", "12", "\t0 \r\n", " 9223372036854775807\r\n"};
    static const int64_t want[] = {12, 12, 0, INT64_MAX};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(dscat_s3__content_length(&n, good[i], strlen(good[i])), 0);
        assert_true(n == want[i]);
    }
    static const char *const bad[] = {
        " \r\n",
        "",
        " 12abc\r\n",
        " abc\r\n",
        " -1\r\n",
        " +12\r\n",
        " 1 2\r\n",
        " 9223372036854775808\r\n",
        " 99999999999999999999999999999999999999\r\n",
        " 0x10\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 7;
        assert_int_equal(dscat_s3__content_length(&n, bad[i], strlen(bad[i])), DSCAT_EINVALID);
        assert_true(n == 7); /* left alone */
    }
    /* Only len bytes are read: the header line is not terminated. */
    assert_int_equal(dscat_s3__content_length(&n, " 12345", 3), 0);
    assert_true(n == 12);
}

/* ---- a scripted HTTP server on loopback ------------------------------------------------- */

typedef struct fake_server {
    int fd, port;
    pthread_t thread;
    /* The answer to the n-th request (from 1) of method; static text. */
    const char *(*answer)(const char *method, int n);
    int heads, puts, others;
} fake_server;

static void *serve(void *p)
{
    fake_server *f = p;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* shut down */
        char req[8192];
        size_t got = 0;
        while (got + 1 < sizeof(req)) {
            ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break; /* these requests have no body */
        }
        req[got] = '\0';
        const char *a;
        if (strncmp(req, "HEAD ", 5) == 0)
            a = f->answer("HEAD", ++f->heads);
        else if (strncmp(req, "PUT ", 4) == 0)
            a = f->answer("PUT", ++f->puts);
        else
            a = f->answer("OTHER", ++f->others);
        size_t len = strlen(a), off = 0;
        while (off < len) {
            ssize_t w = write(c, a + off, len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        close(c);
    }
}

static void fake_start(fake_server *f, const char *(*answer)(const char *, int))
{
    memset(f, 0, sizeof(*f));
    f->answer = answer;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->fd, 16), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_stop(fake_server *f)
{
    shutdown(f->fd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->fd);
}

/* A client of the fake server's bucket "b". */
static dscat_s3 *fake_client(const fake_server *f)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", f->port);
    setenv("AWS_ACCESS_KEY_ID", "test", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
    dscat_settings settings = {0};
    settings.s3_endpoint = endpoint;
    dscat_s3 *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_s3_open(&s, "s3://b", &settings, &err), 0);
    return s;
}

static const char *bad_length_answer(const char *method, int n)
{
    (void)method;
    (void)n;
    return "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n"
           "Connection: close\r\n\r\n";
}

static const char *junk_length_answer(const char *method, int n)
{
    (void)method;
    (void)n;
    return "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\nConnection: close\r\n\r\n";
}

/* A HEAD whose Content-Length does not parse is an error naming the header, not a size of 0. */
static void test_content_length_answer(void **state)
{
    (void)state;
    const char *(*answers[])(const char *, int) = {bad_length_answer, junk_length_answer};
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        fake_server f;
        fake_start(&f, answers[i]);
        dscat_s3 *s = fake_client(&f);
        dscat_error err = {0};
        int64_t size = -1;
        int rc = dscat_s3_head(s, "k", &size, &err);
        dscat_s3_close(s);
        fake_stop(&f);
        assert_int_not_equal(rc, 0);
        assert_non_null(strstr(err.message, "Content-Length"));
        assert_true(size == -1);
    }
}

/*
 * A copy: the HEAD answers a size; every CopyObject answers 500 four times, then a 200 whose
 * body is an InternalError (to be tried again), and so on.
 */
static const char *flaky_copy_answer(const char *method, int n)
{
    if (strcmp(method, "HEAD") == 0)
        return "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"e\"\r\nConnection: close\r\n\r\n";
    if (n % 5 != 0)
        return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n";
    return "HTTP/1.1 200 OK\r\nContent-Length: 61\r\nConnection: close\r\n\r\n"
           "<Error><Code>InternalError</Code><Message>m</Message></Error>";
}

/* Every retry of a request, the transport's and the answer's alike, counts against one bound
 * of 5 requests: never 5 of one kind for each of the other (25). */
static void test_attempts_bounded(void **state)
{
    (void)state;
    fake_server f;
    fake_start(&f, flaky_copy_answer);
    dscat_s3 *s = fake_client(&f);
    dscat_error err = {0};
    int rc = dscat_s3_copy(s, "from", "to", &err);
    dscat_s3_close(s);
    fake_stop(&f);
    assert_int_equal(rc, DSCAT_EIO);
    assert_int_equal(f.heads, 1);
    assert_int_equal(f.puts, 5);
    assert_non_null(strstr(err.message, "InternalError"));
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
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_content_length_answer),
        cmocka_unit_test(test_attempts_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
