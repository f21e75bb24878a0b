/*
 * libFuzzer target: the glob matcher against fnmatch(3), its literal prefix, and qualified
 * names joined and split back.
 *
 * Input: glob, a NUL byte, then name (each cut at 64 bytes: fnmatch's backtracking is
 * exponential in the number of "*"). The differential: every byte of glob and name at or above
 * 0x80 stands for the character U+0100 + byte, written in UTF-8 for dscat and as the byte
 * itself for fnmatch in the "C" locale; the map keeps order, so the two must agree exactly.
 */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/glob.h"
#include "dscat/find.h"

#include <fnmatch.h>
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CUT 64

/* The UTF-8 side of the differential for the NUL-terminated bytes s. */
static void widen(dscat_buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80) {
            dscat_buf_putc(out, (char)*p);
        } else {
            unsigned cp = 0x100u + *p;
            dscat_buf_putc(out, (char)(0xc0 | cp >> 6));
            dscat_buf_putc(out, (char)(0x80 | (cp & 0x3f)));
        }
    }
}

static void check_glob(const char *glob, const char *name)
{
    static locale_t c;
    if (c == (locale_t)0)
        c = newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, "C", (locale_t)0);
    locale_t old = uselocale(c);
    bool want = fnmatch(glob, name, 0) == 0;
    uselocale(old);
    dscat_buf g = DSCAT_BUF_INIT, n = DSCAT_BUF_INIT, p = DSCAT_BUF_INIT;
    widen(&g, glob);
    widen(&n, name);
    if (dscat_glob_match(dscat_buf_cstr(&g), dscat_buf_cstr(&n)) != want)
        __builtin_trap();
    /* The raw bytes, as they are (stray bytes are characters of their own). */
    bool got = dscat_glob_match(glob, name);
    bool whole = false;
    if (dscat_glob_prefix(&p, &whole, glob) == 0) {
        if (got && strncmp(name, dscat_buf_cstr(&p), p.len) != 0)
            __builtin_trap(); /* a match outside the prefix a server would filter on */
        if (whole && got != (strcmp(name, dscat_buf_cstr(&p)) == 0))
            __builtin_trap();
    }
    dscat_buf_free(&g);
    dscat_buf_free(&n);
    dscat_buf_free(&p);
}

/* Parts separated by the byte 0x01 (up to three) joined, split back, and compared. */
static void check_qualified(const char *text)
{
    char *copy = dscat_strdup(text);
    if (copy == NULL)
        return;
    const char *parts[3];
    int n = 0;
    for (char *p = copy; n < 3;) {
        parts[n++] = p;
        char *sep = strchr(p, '\x01');
        if (sep == NULL)
            break;
        *sep = '\0';
        p = sep + 1;
    }
    char *joined = dscat_join_qualified(parts, n);
    char *back[3] = {0}, *target = NULL;
    if (joined) {
        int got = dscat_split_qualified(joined, &target, back, 3);
        if (got != n || target != NULL)
            __builtin_trap();
        for (int i = 0; i < n; i++)
            if (strcmp(back[i], parts[i]) != 0)
                __builtin_trap();
    }
    for (int i = 0; i < 3; i++)
        dscat_free(back[i]);
    dscat_free(target);
    dscat_free(joined);
    dscat_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char glob[CUT + 1], name[CUT + 1];
    const uint8_t *nul = memchr(data, 0, size);
    size_t gl = nul ? (size_t)(nul - data) : size;
    size_t rest = nul ? size - gl - 1 : 0;
    memcpy(glob, data, gl < CUT ? gl : CUT);
    glob[gl < CUT ? gl : CUT] = '\0';
    size_t nl = rest < CUT ? rest : CUT;
    if (nul)
        memcpy(name, nul + 1, nl);
    name[nl] = '\0';
    name[strnlen(name, nl)] = '\0';
    check_glob(glob, name);
    check_qualified(glob);
    return 0;
}
