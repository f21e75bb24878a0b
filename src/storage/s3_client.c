#include "storage/s3_client.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/text.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ATTEMPTS 5
#define DEFAULT_PART_SIZE (64LL * 1024 * 1024)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct dscat_s3 {
    char *endpoint; /* "http://host:port" or "https://s3.<region>.amazonaws.com", no final "/" */
    char *region, *bucket, *prefix;
    char *userpwd; /* "key:secret" for libcurl's signer */
    char *token;   /* AWS_SESSION_TOKEN header, or NULL */
    char sigv4[128];
};

int64_t dscat_s3_part_size(void)
{
    const char *v = getenv("DSCAT_S3_PART_SIZE");
    long long n = dscat_text_ll_or(v, 0, INT64_MAX, 0);
    int64_t part = n >= 5 * 1024 * 1024 || (v && n > 0) ? n : DEFAULT_PART_SIZE;
    return part < DSCAT_S3_MAX_PART ? part : DSCAT_S3_MAX_PART;
}

int64_t dscat_s3_copy_threshold(void)
{
    long long n = dscat_text_ll_or(getenv("DSCAT_S3_COPY_THRESHOLD"), 0, INT64_MAX, 0);
    return n > 0 && n < DSCAT_S3_MAX_PART ? n : DSCAT_S3_MAX_PART;
}

int dscat_s3__plan(int64_t size, int64_t want, int64_t *part, int64_t *count, dscat_error *err)
{
    assert(want > 0);
    if (size > DSCAT_S3_MAX_OBJECT)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "an object of %lld bytes is larger than S3 takes (5 TiB)",
                               (long long)size);
    int64_t least = (size + DSCAT_S3_MAX_PARTS - 1) / DSCAT_S3_MAX_PARTS;
    *part = want > least ? want : least;
    *count = (size + *part - 1) / *part;
    return 0;
}

void dscat_s3__part_range(int64_t size, int64_t part, int64_t n, int64_t *first, int64_t *last)
{
    *first = (n - 1) * part;
    *last = (size - *first < part ? size : *first + part) - 1;
}

const char *dscat_s3_prefix(const dscat_s3 *s)
{
    return s->prefix;
}

const char *dscat_s3_bucket(const dscat_s3 *s)
{
    return s->bucket;
}

void dscat_s3_close(dscat_s3 *s)
{
    if (s == NULL)
        return;
    dscat_free(s->endpoint);
    dscat_free(s->region);
    dscat_free(s->bucket);
    dscat_free(s->prefix);
    if (s->userpwd) {
        memset(s->userpwd, 0, strlen(s->userpwd));
        dscat_free(s->userpwd);
    }
    dscat_free(s->token);
    dscat_free(s);
}

int dscat_s3_open(dscat_s3 **out, const char *root, const dscat_settings *settings,
                  dscat_error *err)
{
    *out = NULL;
    if (strncmp(root, "s3://", 5) != 0 || root[5] == '\0' || root[5] == '/')
        return dscat_error_set(err, DSCAT_ECONFIG, "cache_root %s: expected s3://bucket[/prefix]",
                               root);
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (key == NULL || *key == '\0' || secret == NULL || *secret == '\0')
        return dscat_error_set(err, DSCAT_EUNSET,
                               "cache_root %s needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                               "in the environment",
                               root);
    dscat_s3 *s = dscat_calloc(1, sizeof(*s));
    if (s == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    const char *b = root + 5, *slash = strchr(b, '/');
    s->bucket = slash ? dscat_strndup(b, (size_t)(slash - b)) : dscat_strdup(b);
    const char *p = slash ? slash + 1 : "";
    size_t pn = strlen(p);
    while (pn > 0 && p[pn - 1] == '/')
        pn--;
    s->prefix = dscat_strndup(p, pn);
    s->region = dscat_strdup(settings->s3_region && *settings->s3_region ? settings->s3_region
                                                                         : "us-east-1");
    dscat_buf e = DSCAT_BUF_INIT;
    if (settings->s3_endpoint && *settings->s3_endpoint)
        dscat_buf_puts(&e, settings->s3_endpoint);
    else
        dscat_buf_printf(&e, "https://s3.%s.amazonaws.com", s->region ? s->region : "us-east-1");
    while (e.len > 0 && e.ptr[e.len - 1] == '/')
        e.ptr[--e.len] = '\0';
    s->endpoint = dscat_buf_detach(&e);
    dscat_buf up = DSCAT_BUF_INIT;
    dscat_buf_printf(&up, "%s:%s", key, secret);
    s->userpwd = dscat_buf_detach(&up);
    const char *token = getenv("AWS_SESSION_TOKEN");
    s->token = token && *token ? dscat_strdup(token) : NULL;
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region ? s->region : "us-east-1");
    if (!s->bucket || !s->prefix || !s->region || !s->endpoint || !s->userpwd ||
        (token && *token && !s->token)) {
        dscat_s3_close(s);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    if (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0) {
        dscat_error_set(err, DSCAT_ECONFIG, "s3_endpoint %s: expected http:// or https://",
                        s->endpoint);
        dscat_s3_close(s);
        return DSCAT_ECONFIG;
    }
    *out = s;
    return 0;
}

/* ---- one request ---------------------------------------------------------------------------- */

/* Appends s with each byte but the unreserved ones (and those in keep) as %XX, as SigV4 signs. */
static void put_encoded(dscat_buf *b, const char *s, const char *keep)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-_.~", *p) || (*keep && strchr(keep, *p)))
            dscat_buf_putc(b, (char)*p);
        else
            dscat_buf_printf(b, "%%%02X", *p);
    }
}

/* A key in a path keeps its "/"; a query value does not. */
static void put_key(dscat_buf *b, const char *key)
{
    put_encoded(b, key, "/");
}

static void put_query_value(dscat_buf *b, const char *v)
{
    put_encoded(b, v, "");
}

static void hex_sha256(const void *data, size_t len, FILE *f, int64_t offset, int64_t flen,
                       char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    if (f) {
        char buf[65536];
        fseeko(f, offset, SEEK_SET);
        for (int64_t left = flen; left > 0;) {
            size_t want = left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
            size_t got = fread(buf, 1, want, f);
            if (got == 0)
                break;
            EVP_DigestUpdate(ctx, buf, got);
            left -= (int64_t)got;
        }
    } else if (len) {
        EVP_DigestUpdate(ctx, data, len);
    }
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

typedef struct req {
    const char *method;
    const char *key;     /* NULL: the bucket itself */
    const char *query;   /* already encoded, or NULL */
    const char *headers; /* more header lines, each ended by "\n" (a copy's), or NULL */
    /* the body: memory, or a slice of a file */
    const char *body;
    size_t body_len;
    FILE *in;
    int64_t in_offset, in_len;
    /* the answer: memory (always, capped), or a file for GET */
    FILE *out;
} req;

typedef struct answer {
    long status;
    dscat_buf body;
    dscat_buf etag;
    int64_t length;      /* Content-Length, -1 without one */
    char bad_length[48]; /* a Content-Length that does not parse, shown; "" when none */
    int attempts;        /* requests sent for this answer, every retry of every layer counted */
} answer;

typedef struct reader {
    FILE *f;
    int64_t left;
    const char *mem;
    size_t mem_left;
} reader;

static size_t read_body(char *dst, size_t size, size_t n, void *p)
{
    reader *r = p;
    size_t want = size * n;
    if (r->f) {
        if ((int64_t)want > r->left)
            want = (size_t)r->left;
        size_t got = want ? fread(dst, 1, want, r->f) : 0;
        r->left -= (int64_t)got;
        return got;
    }
    if (want > r->mem_left)
        want = r->mem_left;
    memcpy(dst, r->mem, want);
    r->mem += want;
    r->mem_left -= want;
    return want;
}

typedef struct sink {
    answer *a;
    FILE *out;
} sink;

static size_t write_body(char *src, size_t size, size_t n, void *p)
{
    sink *s = p;
    size_t len = size * n;
    if (s->out && s->a->status / 100 == 2)
        return fwrite(src, 1, len, s->out);
    if (s->a->body.len < 16 * 1024 * 1024) /* a listing page of 1,000 keys is ~300 KB */
        dscat_buf_put(&s->a->body, src, len);
    return len;
}

int dscat_s3__content_length(int64_t *out, const char *value, size_t len)
{
    char digits[32];
    while (len > 0 && (*value == ' ' || *value == '\t'))
        value++, len--;
    while (len > 0 && isspace((unsigned char)value[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(digits))
        return DSCAT_EINVALID;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)value[i]))
            return DSCAT_EINVALID;
    memcpy(digits, value, len);
    digits[len] = '\0';
    long long v = 0;
    if (dscat_text_to_ll(&v, digits, NULL, 0, INT64_MAX) != 0)
        return DSCAT_EINVALID;
    *out = v;
    return 0;
}

static size_t header_line(char *line, size_t size, size_t n, void *p)
{
    answer *a = p;
    size_t len = size * n;
    if (len > 5 && strncasecmp(line, "ETag:", 5) == 0) {
        const char *v = line + 5;
        while (*v == ' ')
            v++;
        size_t vl = (size_t)(line + len - v);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        dscat_buf_reset(&a->etag);
        dscat_buf_put(&a->etag, v, vl);
    } else if (len > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
        if (dscat_s3__content_length(&a->length, line + 15, len - 15) != 0) {
            /* Never read as 0 (an empty object): perform() fails the request naming it. */
            size_t k = 0;
            for (size_t i = 15; i < len && k + 1 < sizeof(a->bad_length); i++)
                if (line[i] != '\r' && line[i] != '\n')
                    a->bad_length[k++] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
            a->bad_length[k] = '\0';
            if (k == 0)
                snprintf(a->bad_length, sizeof(a->bad_length), "%s", "(empty)");
            a->length = -1;
        }
    } else if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = strchr(line, ' ');
        long long st = 0; /* known before the body arrives */
        const char *stop;
        a->status = sp && dscat_text_to_ll(&st, sp + 1, &stop, 100, 999) == 0 ? (long)st : 0;
    }
    return len;
}

/* The <Code> and <Message> of an S3 error body, for messages; "HTTP <status>" without them. */
static void body_error_text(const char *body, long status, char *out, size_t size)
{
    const char *b = body ? body : "";
    const char *c = strstr(b, "<Code>"), *ce = c ? strstr(c, "</Code>") : NULL;
    const char *m = strstr(b, "<Message>"), *me = m ? strstr(m, "</Message>") : NULL;
    if (c && ce)
        snprintf(out, size, "%.*s%s%.*s", (int)(ce - c - 6), c + 6, m && me ? ": " : "",
                 m && me ? (int)(me - m - 9) : 0, m && me ? m + 9 : "");
    else
        snprintf(out, size, "HTTP %ld", status);
}

static void error_text(const answer *a, char *out, size_t size)
{
    body_error_text(a->body.ptr, a->status, out, size);
}

/* Appends each "\n"-ended line of lines to the list h as one header. Returns 0, or -1 when
 * memory runs out (h keeps what was appended, for the caller to free). */
static int add_lines(struct curl_slist **h, const char *lines)
{
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = dscat_strndup(p, n);
        struct curl_slist *g = line ? curl_slist_append(*h, line) : NULL;
        dscat_free(line);
        if (g == NULL)
            return -1;
        *h = g;
        p += n + (nl != NULL);
    }
    return 0;
}

/* Waits before the next attempt after attempt (1-based): 0.1, 0.2, 0.4 s... */
static void backoff(int attempt)
{
    struct timespec nap = {0, (long)(100000000L << (attempt - 1))};
    if (nap.tv_nsec >= 1000000000L) {
        nap.tv_sec = nap.tv_nsec / 1000000000L;
        nap.tv_nsec %= 1000000000L;
    }
    nanosleep(&nap, NULL);
}

/*
 * Runs one request, retrying transport errors, 5xx and 429 with backoff. The retries draw on
 * a->attempts, the requests already sent for this request: perform() starts it at 0, and a
 * caller that retries too (perform_result()) calls this again with the same answer, so that
 * ATTEMPTS bounds every request sent in all, never ATTEMPTS of these for each of the caller's.
 * An answer whose Content-Length does not parse fails, naming the header.
 */
static int perform_more(dscat_s3 *s, const req *q, answer *a, dscat_error *err)
{
    dscat_buf url = DSCAT_BUF_INIT;
    dscat_buf_printf(&url, "%s/%s", s->endpoint, s->bucket);
    if (q->key) {
        dscat_buf_putc(&url, '/');
        put_key(&url, q->key);
    }
    if (q->query)
        dscat_buf_printf(&url, "?%s", q->query);
    if (dscat_buf_check(&url, err, "an S3 request's URL"))
        return err->code;
    char hash[65];
    if (q->in)
        hex_sha256(NULL, 0, q->in, q->in_offset, q->in_len, hash);
    else if (q->body_len)
        hex_sha256(q->body, q->body_len, NULL, 0, 0, hash);
    else
        snprintf(hash, sizeof(hash), "%s", EMPTY_SHA256);
    int rc = 0;
    for (;;) {
        a->attempts++;
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        char line[256];
        if (c == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hash);
        h = curl_slist_append(h, line);
        if (s->token) {
            dscat_buf t = DSCAT_BUF_INIT;
            if ((rc = dscat_buf_printf(&t, "x-amz-security-token: %s", s->token)) == 0)
                h = curl_slist_append(h, dscat_buf_cstr(&t));
            dscat_buf_free(&t);
            if (rc) { /* never a request without the token: it would be refused as a 403 */
                curl_slist_free_all(h);
                curl_easy_cleanup(c);
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                break;
            }
        }
        if (q->headers && add_lines(&h, q->headers)) {
            curl_slist_free_all(h);
            curl_easy_cleanup(c);
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        h = curl_slist_append(h, "Expect:");
        dscat_buf_reset(&a->body);
        dscat_buf_reset(&a->etag);
        a->status = 0;
        a->length = -1;
        a->bad_length[0] = '\0';
        reader rd = {NULL, 0, q->body, q->body_len};
        if (q->in) {
            fseeko(q->in, q->in_offset, SEEK_SET);
            rd.f = q->in;
            rd.left = q->in_len;
        }
        if (q->out) {
            fflush(q->out);
            if (ftruncate(fileno(q->out), 0) != 0 || fseeko(q->out, 0, SEEK_SET) != 0) {
                curl_slist_free_all(h);
                curl_easy_cleanup(c);
                rc = dscat_error_set(err, DSCAT_EIO, "cannot write the download: %s",
                                     strerror(errno));
                break;
            }
        }
        sink sk = {a, q->out};
        curl_easy_setopt(c, CURLOPT_URL, dscat_buf_cstr(&url));
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sk);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
        if (strcmp(q->method, "PUT") == 0) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
            curl_easy_setopt(c, CURLOPT_READDATA, &rd);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)(q->in ? q->in_len : (int64_t)q->body_len));
        } else if (strcmp(q->method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        } else if (strcmp(q->method, "HEAD") == 0) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(q->method, "DELETE") == 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        }
        CURLcode cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        bool retry = cc != CURLE_OK || a->status >= 500 || a->status == 429;
        if (!retry)
            break;
        if (a->attempts >= ATTEMPTS) {
            char why[300];
            if (cc != CURLE_OK)
                snprintf(why, sizeof(why), "%s", curl_easy_strerror(cc));
            else
                error_text(a, why, sizeof(why));
            rc = dscat_error_set(err, cc != CURLE_OK ? DSCAT_ECONNECT : DSCAT_EIO,
                                 "S3 %s %s failed after %d attempts: %s", q->method,
                                 q->key ? q->key : s->bucket, a->attempts, why);
            break;
        }
        backoff(a->attempts);
    }
    dscat_buf_free(&url);
    if (rc == 0 && a->bad_length[0])
        return dscat_error_set(err, DSCAT_EIO,
                               "S3 %s %s: the answer's Content-Length header does not parse: '%s'",
                               q->method, q->key ? q->key : s->bucket, a->bad_length);
    /* An answer's body (a listing, an UploadId) or ETag that did not fit is out of memory, never
     * an empty answer. */
    if (rc == 0 && a->status / 100 == 2 &&
        (dscat_buf_check(&a->body, err, "S3's answer") ||
         dscat_buf_check(&a->etag, err, "S3's ETag")))
        return err->code;
    if (rc || a->status / 100 == 2)
        return rc;
    char why[300];
    error_text(a, why, sizeof(why));
    const char *what = q->key ? q->key : s->bucket;
    if (a->status == 403)
        return dscat_error_set(err, DSCAT_EAUTH,
                               "S3 refused the request for %s (403 %s): check AWS_ACCESS_KEY_ID "
                               "and AWS_SECRET_ACCESS_KEY",
                               what, why);
    if (a->status == 404 && strstr(why, "NoSuchBucket"))
        return dscat_error_set(err, DSCAT_ENOTFOUND, "S3 bucket '%s' does not exist at %s",
                               s->bucket, s->endpoint);
    if (a->status == 404)
        return dscat_error_set(err, DSCAT_ENOTFOUND, "S3 key %s not found", what);
    return dscat_error_set(err, DSCAT_EIO, "S3 %s %s failed: %s", q->method, what, why);
}

/* perform_more() of a request of its own: ATTEMPTS requests at most. */
static int perform(dscat_s3 *s, const req *q, answer *a, dscat_error *err)
{
    a->attempts = 0;
    return perform_more(s, q, a, err);
}

static void answer_free(answer *a)
{
    dscat_buf_free(&a->body);
    dscat_buf_free(&a->etag);
}

/* ---- objects -------------------------------------------------------------------------------- */

static int file_size(FILE *f, int64_t *size)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0)
        return -1;
    *size = (int64_t)sb.st_size;
    return 0;
}

/*
 * The text between <tag> and </tag> after *from, XML entities decoded (caller frees); advances
 * *from. NULL when there is none, or when memory runs out: then *nomem is set.
 */
static char *xml_take(const char **from, const char *tag, bool *nomem)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(*from, open);
    const char *b = a ? strstr(a, close) : NULL;
    if (a == NULL || b == NULL)
        return NULL;
    a += strlen(open);
    *from = b + strlen(close);
    dscat_buf out = DSCAT_BUF_INIT;
    static const char *const ent[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
    for (const char *p = a; p < b;) {
        bool done = false;
        for (size_t i = 0; i < 5 && !done; i++)
            if (strncmp(p, ent[i][0], strlen(ent[i][0])) == 0) {
                dscat_buf_puts(&out, ent[i][1]);
                p += strlen(ent[i][0]);
                done = true;
            }
        if (!done && strncmp(p, "&#", 2) == 0) {
            char *end = NULL;
            long v = p[2] == 'x' ? strtol(p + 3, &end, 16) : strtol(p + 2, &end, 10);
            if (end && *end == ';' && v > 0 && v < 128) {
                dscat_buf_putc(&out, (char)v);
                p = end + 1;
                done = true;
            }
        }
        if (!done)
            dscat_buf_putc(&out, *p++);
    }
    char *text = dscat_buf_error(&out) ? NULL : out.len ? dscat_buf_detach(&out) : dscat_strdup("");
    if (text == NULL)
        *nomem = true;
    dscat_buf_free(&out);
    return text;
}

/* Appends the XML text of s, escaped. */
static void put_xml_text(dscat_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '&')
            dscat_buf_puts(b, "&amp;");
        else if (*p == '<')
            dscat_buf_puts(b, "&lt;");
        else if (*p == '>')
            dscat_buf_puts(b, "&gt;");
        else
            dscat_buf_putc(b, *p);
    }
}

int dscat_s3__copy_headers(dscat_buf *out, const char *bucket, const char *from,
                           const char *if_match, int64_t first, int64_t last)
{
    dscat_buf_printf(out, "x-amz-copy-source: /%s/", bucket);
    put_key(out, from);
    dscat_buf_putc(out, '\n');
    if (first >= 0)
        dscat_buf_printf(out, "x-amz-copy-source-range: bytes=%lld-%lld\n", (long long)first,
                         (long long)last);
    if (if_match)
        dscat_buf_printf(out, "x-amz-copy-source-if-match: %s\n", if_match);
    return dscat_buf_error(out);
}

int dscat_s3__result(const char *body, const char *result, char **etag, char *why, size_t wsize)
{
    if (etag)
        *etag = NULL;
    const char *b = body ? body : "";
    if (strstr(b, "<Error>")) {
        body_error_text(b, 200, why, wsize);
        return DSCAT_EIO;
    }
    char open[96];
    snprintf(open, sizeof(open), "<%s", result);
    const char *r = strstr(b, open);
    if (r == NULL) {
        snprintf(why, wsize, "no %s in S3's answer", result);
        return DSCAT_EIO;
    }
    if (etag == NULL)
        return 0;
    bool nomem = false;
    *etag = xml_take(&r, "ETag", &nomem);
    if (nomem)
        return DSCAT_ENOMEM;
    if (*etag == NULL || **etag == '\0') {
        dscat_free(*etag);
        *etag = NULL;
        snprintf(why, wsize, "no ETag in S3's %s", result);
        return DSCAT_EIO;
    }
    return 0;
}

int dscat_s3__complete_part(dscat_buf *body, int64_t n, const char *etag)
{
    dscat_buf_printf(body, "<Part><PartNumber>%lld</PartNumber><ETag>", (long long)n);
    put_xml_text(body, etag);
    return dscat_buf_puts(body, "</ETag></Part>");
}

/* Whether an <Error> S3 sent inside a 200 answer asks to be tried again. */
static bool try_again(const char *body)
{
    static const char *const codes[] = {"<Code>InternalError</Code>", "<Code>SlowDown</Code>",
                                        "<Code>ServiceUnavailable</Code>"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strstr(body, codes[i]))
            return true;
    return false;
}

/*
 * perform() for a request whose 200 answer must hold result (a copy, a part copy, a
 * completion), read by dscat_s3__result() (*etag as there). S3 sends the 200 before such a
 * request is done and reports a failure in the body: one that asks to be tried again
 * (InternalError, SlowDown, ServiceUnavailable) is retried with backoff like a 5xx; any other,
 * or the last, is "<failure>: <S3's code and message>".
 */
static int perform_result(dscat_s3 *s, const req *q, const char *result, char **etag,
                          const char *failure, dscat_error *err)
{
    answer a = {0};
    char why[300];
    int rc;
    for (;;) {
        if ((rc = perform_more(s, q, &a, err)) != 0) /* its retries and these share a.attempts */
            break;
        if ((rc = dscat_s3__result(a.body.ptr, result, etag, why, sizeof(why))) == 0)
            break;
        if (rc == DSCAT_ENOMEM) {
            rc = dscat_error_set(err, rc, "out of memory reading S3's answer");
            break;
        }
        if (a.attempts >= ATTEMPTS || !try_again(dscat_buf_cstr(&a.body))) {
            rc = dscat_error_set(err, DSCAT_EIO, "%s: %s", failure, why);
            break;
        }
        backoff(a.attempts);
    }
    answer_free(&a);
    return rc;
}

/* ---- multipart uploads: a file's parts, or a copy's --------------------------------------- */

/* "partNumber=<n>&uploadId=<upload>", or "uploadId=<upload>" when n is 0, into q. */
static int upload_query(dscat_buf *q, int64_t n, const char *upload, dscat_error *err)
{
    dscat_buf_reset(q);
    if (n > 0)
        dscat_buf_printf(q, "partNumber=%lld&", (long long)n);
    dscat_buf_puts(q, "uploadId=");
    put_query_value(q, upload);
    return dscat_buf_check(q, err, "an S3 upload query");
}

/* Creates a multipart upload of key: *upload is its UploadId (caller frees with dscat_free()). */
static int create_upload(dscat_s3 *s, const char *key, char **upload, dscat_error *err)
{
    *upload = NULL;
    answer a = {0};
    req q = {.method = "POST", .key = key, .query = "uploads="};
    int rc = perform(s, &q, &a, err);
    if (rc == 0) {
        const char *p = a.body.ptr ? a.body.ptr : "";
        bool nomem = false;
        *upload = xml_take(&p, "UploadId", &nomem);
        if (nomem)
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory reading S3's answer");
        else if (*upload == NULL)
            rc = dscat_error_set(err, DSCAT_EIO, "S3 gave no UploadId for %s", key);
    }
    answer_free(&a);
    return rc;
}

/*
 * Completes the upload of key with done, the whole <CompleteMultipartUpload> list. S3 answers
 * 200 at once and may report the failure in the body, so the answer must hold its result.
 * what ("upload", "copy") is for the message.
 */
static int complete_upload(dscat_s3 *s, const char *key, const char *upload, const dscat_buf *done,
                           const char *what, dscat_error *err)
{
    dscat_buf query = DSCAT_BUF_INIT;
    char failure[300];
    snprintf(failure, sizeof(failure), "S3 could not complete the %s of %s", what, key);
    int rc = dscat_buf_check(done, err, "the S3 upload's part list");
    if (rc == 0)
        rc = upload_query(&query, 0, upload, err);
    if (rc == 0) {
        req q = {.method = "POST",
                 .key = key,
                 .query = dscat_buf_cstr(&query),
                 .body = done->ptr,
                 .body_len = done->len};
        rc = perform_result(s, &q, "CompleteMultipartUploadResult", NULL, failure, err);
    }
    dscat_buf_free(&query);
    return rc;
}

/* Aborts the multipart upload of key (its parts are dropped). */
static int abort_upload(dscat_s3 *s, const char *key, const char *upload, dscat_error *err)
{
    dscat_buf query = DSCAT_BUF_INIT;
    answer a = {0};
    int rc = upload_query(&query, 0, upload, err);
    if (rc == 0) {
        req q = {.method = "DELETE", .key = key, .query = dscat_buf_cstr(&query)};
        rc = perform(s, &q, &a, err);
    }
    dscat_buf_free(&query);
    answer_free(&a);
    return rc;
}

static int put_part(dscat_s3 *s, const char *key, const char *query, FILE *f, int64_t off,
                    int64_t len, answer *a, dscat_error *err)
{
    req q = {.method = "PUT", .key = key, .query = query, .in = f, .in_offset = off, .in_len = len};
    return perform(s, &q, a, err);
}

int dscat_s3_put_file(dscat_s3 *s, const char *key, const char *path, char *warning, size_t wsize,
                      dscat_error *err)
{
    if (warning && wsize)
        warning[0] = '\0';
    FILE *f = fopen(path, "rb");
    int64_t size = 0;
    if (f == NULL || file_size(f, &size) != 0) {
        if (f)
            fclose(f);
        return dscat_error_set(err, DSCAT_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    answer a = {0};
    int rc;
    int64_t part = dscat_s3_part_size(), count = 0;
    if (size <= part) { /* never above DSCAT_S3_MAX_PART, the largest single PUT */
        rc = put_part(s, key, NULL, f, 0, size, &a, err);
        fclose(f);
        answer_free(&a);
        return rc;
    }
    /* Multipart: create, parts (each retried by perform), complete; abort on failure. */
    char *upload = NULL;
    dscat_buf done = DSCAT_BUF_INIT, query = DSCAT_BUF_INIT;
    rc = dscat_s3__plan(size, part, &part, &count, err);
    if (rc == 0)
        rc = create_upload(s, key, &upload, err);
    dscat_buf_puts(&done, "<CompleteMultipartUpload>");
    for (int64_t n = 1; rc == 0 && n <= count; n++) {
        int64_t first, last;
        dscat_s3__part_range(size, part, n, &first, &last);
        if ((rc = upload_query(&query, n, upload, err)) == 0 &&
            (rc = put_part(s, key, dscat_buf_cstr(&query), f, first, last - first + 1, &a, err)) ==
                0) {
            if (a.etag.len == 0)
                rc = dscat_error_set(err, DSCAT_EIO, "S3 gave no ETag for part %lld of %s",
                                     (long long)n, key);
            else
                dscat_s3__complete_part(&done, n, dscat_buf_cstr(&a.etag));
        }
    }
    dscat_buf_puts(&done, "</CompleteMultipartUpload>");
    if (rc == 0)
        rc = complete_upload(s, key, upload, &done, "upload", err);
    if (rc && upload) {
        dscat_error e2 = {0};
        if (abort_upload(s, key, upload, &e2) && warning && wsize)
            snprintf(warning, wsize, "could not abort the multipart upload of %s: %s", key,
                     e2.message);
    }
    dscat_free(upload);
    dscat_buf_free(&done);
    dscat_buf_free(&query);
    answer_free(&a);
    fclose(f);
    return rc;
}

int dscat_s3_get_file(dscat_s3 *s, const char *key, const char *path, dscat_error *err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", path, strerror(errno));
    answer a = {0};
    req q = {.method = "GET", .key = key, .out = f};
    int rc = perform(s, &q, &a, err);
    if (fflush(f) != 0 || ferror(f))
        rc = rc ? rc : dscat_error_set(err, DSCAT_EIO, "cannot write %s", path);
    if (rc == 0 && a.length >= 0 && ftello(f) != a.length)
        rc = dscat_error_set(err, DSCAT_EIO, "S3 GET %s: short download", key);
    fclose(f);
    if (rc)
        unlink(path);
    answer_free(&a);
    return rc;
}

int dscat_s3_head(dscat_s3 *s, const char *key, int64_t *size, dscat_error *err)
{
    answer a = {0};
    req q = {.method = "HEAD", .key = key};
    int rc = perform(s, &q, &a, err);
    if (rc == 0 && size)
        *size = a.length;
    answer_free(&a);
    return rc;
}

/* One CopyObject: from, at most DSCAT_S3_MAX_PART bytes, to to. */
static int copy_whole(dscat_s3 *s, const char *from, const char *to, dscat_error *err)
{
    dscat_buf headers = DSCAT_BUF_INIT;
    char failure[300];
    snprintf(failure, sizeof(failure), "S3 copy of %s to %s failed", from, to);
    int rc = dscat_s3__copy_headers(&headers, s->bucket, from, NULL, -1, -1)
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : 0;
    if (rc == 0) {
        req q = {.method = "PUT", .key = to, .headers = dscat_buf_cstr(&headers)};
        rc = perform_result(s, &q, "CopyObjectResult", NULL, failure, err);
    }
    dscat_buf_free(&headers);
    return rc;
}

/*
 * One UploadPartCopy: part n (bytes first..last) of from, whose ETag is etag (NULL when S3 gave
 * none: the parts are then not tied to one object), into the upload of to; its ETag is appended
 * to done.
 */
static int copy_part(dscat_s3 *s, const char *from, const char *to, const char *etag,
                     const char *upload, int64_t n, int64_t first, int64_t last, dscat_buf *done,
                     dscat_error *err)
{
    dscat_buf headers = DSCAT_BUF_INIT, query = DSCAT_BUF_INIT;
    char *part_etag = NULL, failure[300];
    snprintf(failure, sizeof(failure), "S3 copy of %s to %s failed at part %lld", from, to,
             (long long)n);
    int rc = dscat_s3__copy_headers(&headers, s->bucket, from, etag, first, last)
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : upload_query(&query, n, upload, err);
    if (rc == 0) {
        req q = {.method = "PUT",
                 .key = to,
                 .query = dscat_buf_cstr(&query),
                 .headers = dscat_buf_cstr(&headers)};
        rc = perform_result(s, &q, "CopyPartResult", &part_etag, failure, err);
    }
    if (rc == 0)
        dscat_s3__complete_part(done, n, part_etag);
    dscat_free(part_etag);
    dscat_buf_free(&headers);
    dscat_buf_free(&query);
    return rc;
}

/*
 * A multipart copy of from (size bytes, ETag etag or NULL) to to: an upload created, the parts
 * copied one by one on the server, the upload completed, then to's size checked. A failure
 * aborts the upload; when the abort fails too, the message says so (the parts stay in the
 * bucket, billed, until a lifecycle rule removes them).
 */
static int copy_in_parts(dscat_s3 *s, const char *from, const char *to, int64_t size,
                         const char *etag, dscat_error *err)
{
    int64_t part = 0, count = 0, got = -1;
    char *upload = NULL;
    dscat_buf done = DSCAT_BUF_INIT;
    int rc = dscat_s3__plan(size, dscat_s3_part_size(), &part, &count, err);
    if (rc == 0)
        rc = create_upload(s, to, &upload, err);
    dscat_buf_puts(&done, "<CompleteMultipartUpload>");
    for (int64_t n = 1; rc == 0 && n <= count; n++) {
        int64_t first, last;
        dscat_s3__part_range(size, part, n, &first, &last);
        rc = copy_part(s, from, to, etag, upload, n, first, last, &done, err);
    }
    dscat_buf_puts(&done, "</CompleteMultipartUpload>");
    if (rc == 0)
        rc = complete_upload(s, to, upload, &done, "copy", err);
    if (rc && upload) {
        dscat_error e2 = {0};
        if (abort_upload(s, to, upload, &e2)) {
            char first[DSCAT_ERROR_MESSAGE_SIZE];
            snprintf(first, sizeof(first), "%s", err->message);
            dscat_error_set(err, rc, "%s (and the multipart upload could not be aborted: %s)",
                            first, e2.message);
        }
    }
    if (rc == 0 && (rc = dscat_s3_head(s, to, &got, err)) == 0 && got != size) {
        rc = dscat_error_set(err, DSCAT_EIO, "S3 copy of %s to %s gave %lld bytes, not %lld", from,
                             to, (long long)got, (long long)size);
        dscat_error e3 = {0};
        (void)dscat_s3_delete(s, to, &e3); /* a wrong object is never left behind */
    }
    dscat_free(upload);
    dscat_buf_free(&done);
    return rc;
}

int dscat_s3_copy(dscat_s3 *s, const char *from, const char *to, dscat_error *err)
{
    answer a = {0};
    req q = {.method = "HEAD", .key = from};
    int rc = perform(s, &q, &a, err);
    if (rc == 0 && a.length < 0)
        rc = dscat_error_set(err, DSCAT_EIO, "S3 gave no size for %s", from);
    if (rc == 0 && a.length > dscat_s3_copy_threshold())
        rc = copy_in_parts(s, from, to, a.length, a.etag.len ? dscat_buf_cstr(&a.etag) : NULL, err);
    else if (rc == 0)
        rc = copy_whole(s, from, to, err);
    answer_free(&a);
    return rc;
}

int dscat_s3_delete(dscat_s3 *s, const char *key, dscat_error *err)
{
    answer a = {0};
    req q = {.method = "DELETE", .key = key};
    int rc = perform(s, &q, &a, err);
    if (rc == DSCAT_ENOTFOUND && !strstr(err->message, "bucket"))
        rc = 0; /* already gone */
    answer_free(&a);
    return rc;
}

void dscat_s3_objects_free(dscat_s3_object *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dscat_free(o[i].key);
    dscat_free(o);
}

static int64_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return (int64_t)timegm(&tm) * 1000000;
}

int dscat_s3_list(dscat_s3 *s, const char *prefix, dscat_s3_object **out, size_t *n,
                  dscat_error *err)
{
    *out = NULL;
    *n = 0;
    char *token = NULL;
    int rc = 0;
    answer a = {0};
    bool nomem = false;
    do {
        dscat_buf query = DSCAT_BUF_INIT;
        if (token) {
            dscat_buf_puts(&query, "continuation-token=");
            put_query_value(&query, token);
            dscat_buf_putc(&query, '&');
        }
        dscat_buf_puts(&query, "list-type=2&prefix=");
        put_query_value(&query, prefix);
        req q = {.method = "GET", .query = dscat_buf_cstr(&query)};
        rc = dscat_buf_check(&query, err, "an S3 list query"); /* never list without the prefix */
        if (rc == 0)
            rc = perform(s, &q, &a, err);
        dscat_buf_free(&query);
        dscat_free(token);
        token = NULL;
        if (rc)
            break;
        const char *p = a.body.ptr ? a.body.ptr : "";
        const char *c;
        while ((c = strstr(p, "<Contents>")) != NULL) {
            const char *end = strstr(c, "</Contents>");
            if (end == NULL)
                break;
            char *chunk = dscat_strndup(c, (size_t)(end - c));
            const char *cp = chunk;
            char *key = chunk ? xml_take(&cp, "Key", &nomem) : NULL;
            cp = chunk;
            char *mod = chunk ? xml_take(&cp, "LastModified", &nomem) : NULL;
            cp = chunk;
            char *sz = chunk ? xml_take(&cp, "Size", &nomem) : NULL;
            dscat_s3_object *g = key ? dscat_realloc(*out, (*n + 1) * sizeof(*g)) : NULL;
            /* a key left out for want of memory would be a listing that silently lies */
            if (chunk == NULL || (key && g == NULL))
                nomem = true;
            if (g) {
                *out = g;
                g[(*n)++] =
                    (dscat_s3_object){key, dscat_text_ll_or(sz, 0, INT64_MAX, 0), parse_time(mod)};
                key = NULL;
            }
            dscat_free(key);
            dscat_free(mod);
            dscat_free(sz);
            dscat_free(chunk);
            p = end + 11;
        }
        p = a.body.ptr ? a.body.ptr : "";
        char *truncated = xml_take(&p, "IsTruncated", &nomem);
        if (truncated && strcmp(truncated, "true") == 0) {
            p = a.body.ptr;
            token = xml_take(&p, "NextContinuationToken", &nomem);
        }
        if (nomem) {
            dscat_free(token);
            token = NULL;
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory reading the S3 listing of %s",
                                 prefix);
        } else if (truncated && strcmp(truncated, "true") == 0) {
            if (token == NULL)
                rc = dscat_error_set(err, DSCAT_EIO, "S3 listing of %s: no continuation token",
                                     prefix);
        }
        dscat_free(truncated);
    } while (rc == 0 && token);
    dscat_free(token);
    answer_free(&a);
    if (rc) {
        dscat_s3_objects_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int dscat_s3_check(dscat_s3 *s, dscat_error *err)
{
    dscat_buf query = DSCAT_BUF_INIT;
    dscat_buf_puts(&query, "list-type=2&max-keys=1&prefix=");
    put_query_value(&query, s->prefix);
    answer a = {0};
    req q = {.method = "GET", .query = dscat_buf_cstr(&query)};
    int rc = dscat_buf_check(&query, err, "an S3 list query");
    if (rc == 0)
        rc = perform(s, &q, &a, err);
    dscat_buf_free(&query);
    answer_free(&a);
    return rc;
}

int dscat_s3_delete_prefix(dscat_s3 *s, const char *prefix, dscat_error *err)
{
    size_t len = strlen(prefix);
    if (len == 0 || prefix[len - 1] != '/')
        return dscat_error_set(err, DSCAT_EINVALID,
                               "refusing to delete S3 prefix '%s': it must end in '/'", prefix);
    dscat_s3_object *o = NULL;
    size_t n = 0;
    int rc = dscat_s3_list(s, prefix, &o, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (strncmp(o[i].key, prefix, len) == 0) /* the listing's own promise, checked */
            rc = dscat_s3_delete(s, o[i].key, err);
    dscat_s3_objects_free(o, n);
    return rc;
}
