/*
 * The selection point of the storage backends and the calls through their table (storage.h).
 */
#include "storage/storage.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <assert.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

/* The backends, the first that handles a root wins: the local directory takes anything. */
static const dscat_storage_backend *const backends[] = {&dscat_storage_s3, &dscat_storage_fs};

int dscat_storage_open(dscat_storage **out, const char *root, const dscat_settings *settings,
                       dscat_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        const dscat_storage_backend *b = backends[i];
        assert(b->version == DSCAT_STORAGE_VERSION);
        if (b->handles(root))
            return b->open(out, root, settings, err);
    }
    return dscat_error_set(err, DSCAT_ECONFIG, "cache_root %s: no storage handles it", root);
}

void dscat_storage_close(dscat_storage *s)
{
    if (s)
        s->backend->close(s);
}

const char *dscat_storage_root(const dscat_storage *s)
{
    return s->root;
}

bool dscat_storage_has(const dscat_storage *s, unsigned flag)
{
    return (s->backend->flags & flag) != 0;
}

char *dscat_storage_path(const dscat_storage *s, const char *key)
{
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_buf_printf(&b, "%s/%s", s->root, key);
    return dscat_buf_detach(&b);
}

const char *dscat_storage_key(const dscat_storage *s, const char *path)
{
    size_t n = strlen(s->root);
    if (strncmp(path, s->root, n) != 0 || path[n] != '/')
        return NULL;
    return path + n + 1;
}

int dscat_storage_check(dscat_storage *s, dscat_error *err)
{
    return s->backend->check(s, err);
}

int dscat_storage_lock_path(dscat_storage *s, const char *key, bool create, char **out,
                            dscat_error *err)
{
    return s->backend->lock_path(s, key, create, out, err);
}

int dscat_storage_stage(dscat_storage *s, const char *key, char **out, dscat_error *err)
{
    return s->backend->stage(s, key, out, err);
}

int dscat_storage_put(dscat_storage *s, const char *staged, const char *key, char *warning,
                      size_t wsize, dscat_error *err)
{
    return s->backend->put(s, staged, key, warning, wsize, err);
}

int dscat_storage_put_empty(dscat_storage *s, const char *key, dscat_error *err)
{
    return s->backend->put_empty(s, key, err);
}

int dscat_storage_copy(dscat_storage *s, const char *from, const char *to, dscat_error *err)
{
    return s->backend->copy(s, from, to, err);
}

int dscat_storage_get(dscat_storage *s, const char *key, const char *path, dscat_error *err)
{
    return s->backend->get(s, key, path, err);
}

int dscat_storage_read_path(dscat_storage *s, const char *key, char **out, dscat_error *err)
{
    return s->backend->read_path(s, key, out, err);
}

int dscat_storage_list(dscat_storage *s, const char *prefix, dscat_storage_entry **out, size_t *n,
                       dscat_error *err)
{
    return s->backend->list(s, prefix, out, n, err);
}

void dscat_storage_entries_free(dscat_storage_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dscat_free(e[i].key);
    dscat_free(e);
}

int dscat_storage_delete_prefix(dscat_storage *s, const char *prefix, dscat_error *err)
{
    size_t len = strlen(prefix);
    if (len == 0 || prefix[len - 1] != '/')
        return dscat_error_set(err, DSCAT_EINVALID,
                               "refusing to delete prefix '%s': it must end in '/'", prefix);
    /* "/" alone (a key built from a failed buffer's "") would be the whole root */
    if (strspn(prefix, "/") == len)
        return dscat_error_set(err, DSCAT_EINVALID,
                               "refusing to delete prefix '%s': it names no key", prefix);
    return s->backend->delete_prefix(s, prefix, err);
}

void dscat_storage_sweep_staging(dscat_storage *s, int64_t older_than_us,
                                 dscat_storage_note_fn note, void *payload)
{
    if (s->backend->sweep_staging)
        s->backend->sweep_staging(s, older_than_us, note, payload);
}

int dscat_storage__mkdirs(const char *path)
{
    char *copy = dscat_strdup(path);
    if (copy == NULL) {
        errno = ENOMEM; /* the callers' messages name the cause, never a stale errno */
        return -1;
    }
    for (char *p = copy + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(copy, 0700);
            *p = '/';
        }
    int rc = mkdir(copy, 0700) == 0 || errno == EEXIST ? 0 : -1;
    dscat_free(copy);
    return rc;
}

/* A path segment stays well under NAME_MAX (255 bytes) with room for ".tmp"-like suffixes. */
#define SEGMENT_MAX 200
#define SEGMENT_KEEP 160 /* bytes of the encoded name kept before the hash in a long one */

char *dscat_storage_encode(const char *name)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (*name == '\0')
        dscat_buf_puts(&b, "%00"); /* no name holds NUL: the empty name cannot collide */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
        if (keep)
            dscat_buf_putc(&b, (char)c);
        else
            dscat_buf_printf(&b, "%%%02X", c);
    }
    if (b.len > SEGMENT_MAX) {
        /* Long: a prefix (never cutting an escape), "~" (never in a short one: it would be
         * %7E) and the SHA-256 of the whole name, so that segments stay distinct. */
        unsigned char md[32];
        unsigned int mdlen = 0;
        size_t keep = SEGMENT_KEEP;
        while (keep > 0 && (b.ptr[keep - 1] == '%' || (keep > 1 && b.ptr[keep - 2] == '%')))
            keep--;
        if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL) != 1) {
            dscat_buf_free(&b);
            return NULL;
        }
        b.len = keep;
        b.ptr[keep] = '\0';
        dscat_buf_putc(&b, '~');
        for (unsigned int i = 0; i < mdlen; i++)
            dscat_buf_printf(&b, "%02x", md[i]);
    }
    return dscat_buf_detach(&b);
}
