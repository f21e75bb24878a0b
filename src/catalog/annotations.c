/*
 * Annotations (SPEC §7): notes, quality flags and deprecations, one file per user in
 * <catalog_dir>/annotations/<user>.json, shaped as the older tool's:
 *   {"tables": {"Db.Schema.Table": {"annotations": [{id, type, content, author, created_at}]}}}
 *
 * A write takes an exclusive lock on the user's lock file, re-reads the file, appends and
 * renames a temporary file into place: concurrent writers never lose each other's annotations.
 * Reads merge every *.json, de-duplicate by id and skip (and report) files that cannot be parsed.
 */
#include "dscat/find.h"

#include "core/alloc.h"
#include "core/text.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/strmap.h"
#include "core/timeutil.h"
#include "core/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONTENT 10000

/*
 * The ASCII form of an already sanitised user name, for a file system that refuses the name
 * (EILSEQ: not UTF-8 names): each character outside ASCII becomes one "_".
 */
static void ascii_user(const char *user, char *out, size_t size)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)user; *p && k + 1 < size; p++) {
        if (*p < 0x80)
            out[k++] = (char)*p;
        else if ((*p & 0xc0) != 0x80)
            out[k++] = '_';
    }
    out[k] = '\0';
}

/*
 * git's user.name from git's own global configuration files, read directly: no child process
 * (which would inherit every credential variable and run whatever `git` PATH finds first).
 * $GIT_CONFIG_GLOBAL, else $XDG_CONFIG_HOME/git/config and ~/.gitconfig (the later wins, as in
 * git); "" when none names a user.
 */
static void git_user(char *out, size_t size)
{
    out[0] = '\0';
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME"),
               *global = getenv("GIT_CONFIG_GLOBAL");
    char files[2][4096];
    size_t n = 0;
    if (global && *global) {
        snprintf(files[n++], sizeof(files[0]), "%s", global);
    } else {
        if (xdg && *xdg)
            snprintf(files[n++], sizeof(files[0]), "%s/git/config", xdg);
        else if (home && *home)
            snprintf(files[n++], sizeof(files[0]), "%s/.config/git/config", home);
        if (home && *home)
            snprintf(files[n++], sizeof(files[0]), "%s/.gitconfig", home);
    }
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(files[i], "r");
        char line[1024];
        bool in_user = false;
        while (f && fgets(line, sizeof(line), f)) {
            char *p = line + strspn(line, " \t");
            if (*p == '[') {
                in_user = strncasecmp(p, "[user]", 6) == 0;
                continue;
            }
            if (!in_user || strncasecmp(p, "name", 4) != 0)
                continue;
            p += 4 + strspn(p + 4, " \t");
            if (*p != '=')
                continue;
            p++;
            p += strspn(p, " \t");
            p[strcspn(p, "\r\n#;")] = '\0';
            size_t len = strlen(p);
            while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
                p[--len] = '\0';
            if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
                p[len - 1] = '\0';
                p++;
            }
            snprintf(out, size, "%s", p);
        }
        if (f)
            fclose(f);
    }
}

void dscat_annotation_user(char *out, size_t size)
{
    const char *vars[] = {"DSCAT_USER", "DENG_USERNAME"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            dscat_text_user_name(v, out, size);
            return;
        }
    }
    char git[256];
    git_user(git, sizeof(git));
    if (git[0]) {
        dscat_text_user_name(git, out, size);
        return;
    }
    const char *u = getenv("USER");
    dscat_text_user_name(u && *u ? u : "anonymous", out, size);
}

/* Code points in a UTF-8 string (continuation bytes are not counted). */
static size_t code_points(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

static void uuid4(char out[37])
{
    unsigned char b[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
            memset(b, 0, sizeof(b));
        close(fd);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Rewrites a table name in canonical form: its three parts joined by ".", quoted when needed. */
static int canonical_table(const char *table, dscat_buf *out)
{
    char *parts[4] = {0};
    char *target = NULL;
    int n = dscat_split_qualified(table, &target, parts, 4);
    int rc = n == DSCAT_ENOMEM ? DSCAT_ENOMEM : DSCAT_EINVALID;
    if (n == 3 && target == NULL) {
        char *joined = dscat_join_qualified((const char *const *)parts, 3);
        rc = joined && dscat_buf_puts(out, joined) == 0 ? 0 : DSCAT_ENOMEM;
        dscat_free(joined);
    }
    for (int i = 0; i < 4; i++)
        dscat_free(parts[i]);
    dscat_free(target);
    return rc;
}

static char *annotations_dir(const char *catalog_dir)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&b, "%s/annotations", catalog_dir))
        return NULL;
    return dscat_buf_detach(&b);
}

static int set_from(dscat_annotation *a, const char *table, json_t *obj)
{
    const char *f[] = {"id", "type", "content", "author", "created_at"};
    char **dst[] = {&a->id, &a->type, &a->content, &a->author, &a->created_at};
    for (size_t i = 0; i < 5; i++) {
        const char *v = json_string_value(json_object_get(obj, f[i]));
        if ((*dst[i] = dscat_strdup(v ? v : "")) == NULL)
            return DSCAT_ENOMEM;
    }
    return (a->table = dscat_strdup(table)) ? 0 : DSCAT_ENOMEM;
}

int dscat_annotation_add(dscat_annotation *created, char **file, const char *catalog_dir,
                         const char *table, const char *type, const char *content, dscat_error *err)
{
    static const char *const flags[] = {"TRUSTED", "STALE", "INCOMPLETE", "EXPERIMENTAL"};
    dscat_buf key = DSCAT_BUF_INIT, path = DSCAT_BUF_INIT, lock = DSCAT_BUF_INIT;
    char *dir = NULL, *text = NULL;
    json_t *doc = NULL;
    int lockfd = -1, rc = 0;
    if (created)
        memset(created, 0, sizeof(*created));
    if (file)
        *file = NULL;
    if ((rc = canonical_table(table, &key))) {
        rc = rc == DSCAT_ENOMEM
                 ? dscat_error_set(err, rc, "out of memory")
                 : dscat_error_set(err, DSCAT_EINVALID,
                                   "Invalid target format: '%s' (expected Database.Schema.Table)",
                                   table);
        goto done;
    }
    if (strcmp(type, "note") != 0 && strcmp(type, "quality_flag") != 0 &&
        strcmp(type, "deprecation") != 0) {
        rc = dscat_error_set(err, DSCAT_EINVALID,
                             "Invalid annotation type: '%s' (note, quality_flag or deprecation)",
                             type);
        goto done;
    }
    if (strcmp(type, "quality_flag") == 0) {
        bool ok = false;
        for (size_t i = 0; i < 4; i++)
            ok = ok || strcmp(content, flags[i]) == 0;
        if (!ok) {
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "Invalid quality flag: '%s' (TRUSTED, STALE, INCOMPLETE or "
                                 "EXPERIMENTAL)",
                                 content);
            goto done;
        }
    }
    if (code_points(content) > MAX_CONTENT) {
        rc = dscat_error_set(err, DSCAT_EINVALID, "Content exceeds %d characters (it has %zu)",
                             MAX_CONTENT, code_points(content));
        goto done;
    }
    /* 64 characters of at most 4 bytes: the name and ".json" fit in NAME_MAX (255). */
    char user[250];
    dscat_annotation_user(user, sizeof(user));
    dir = annotations_dir(catalog_dir);
    if (dir == NULL || dscat_buf_printf(&path, "%s/%s.json", dir, user) ||
        dscat_buf_printf(&lock, "%s/.%s.lock", dir, user)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((mkdir(catalog_dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot create %s: %s", dir, strerror(errno));
        goto done;
    }
    lockfd = open(dscat_buf_cstr(&lock), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 && errno == EILSEQ) {
        /* A file system that takes only ASCII names: the user's ASCII form instead. */
        char ascii[250];
        ascii_user(user, ascii, sizeof(ascii));
        memcpy(user, ascii, sizeof(user));
        dscat_buf_reset(&path);
        dscat_buf_reset(&lock);
        if (dscat_buf_printf(&path, "%s/%s.json", dir, user) ||
            dscat_buf_printf(&lock, "%s/.%s.lock", dir, user)) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            goto done;
        }
        lockfd = open(dscat_buf_cstr(&lock), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    }
    if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot lock %s: %s", dscat_buf_cstr(&lock),
                             strerror(errno));
        goto done;
    }
    /* Re-read under the lock: another writer may have added since. jansson drops what it cannot
     * allocate without a word, so the file is written only if no allocation failed meanwhile. */
    unsigned long failures = dscat_alloc_failures();
    json_error_t jerr;
    if (dscat_json_parse_file(&doc, dscat_buf_cstr(&path), 0, &jerr) == DSCAT_ENOMEM) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if (doc == NULL) {
        if (access(dscat_buf_cstr(&path), F_OK) == 0) {
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "annotations file %s is corrupt (line %d: %s); fix or move it "
                                 "away, nothing was written",
                                 dscat_buf_cstr(&path), jerr.line, jerr.text);
            goto done;
        }
        doc = json_pack("{s:{}}", "tables");
    }
    json_t *tables = json_object_get(doc, "tables");
    if (!json_is_object(tables)) {
        rc = dscat_error_set(err, DSCAT_EINVALID, "annotations file %s has no \"tables\" object",
                             dscat_buf_cstr(&path));
        goto done;
    }
    json_t *entry = json_object_get(tables, dscat_buf_cstr(&key));
    if (entry == NULL) {
        entry = json_pack("{s:[]}", "annotations");
        json_object_set_new(tables, dscat_buf_cstr(&key), entry);
    }
    json_t *list = json_object_get(entry, "annotations");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(entry, "annotations", list);
    }
    char id[37], when[40];
    uuid4(id);
    dscat_format_utc_iso(dscat_now_us(), when, sizeof(when));
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "type", type, "content", content,
                          "author", user, "created_at", when);
    if (a == NULL && dscat_alloc_failures() == failures) {
        rc = dscat_error_set(err, DSCAT_EINVALID, "content is not valid UTF-8");
        goto done;
    }
    if (a == NULL || json_array_append(list, a) != 0 ||
        (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL ||
        dscat_alloc_failures() != failures) {
        json_decref(a);
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    rc = dscat_atomic_write(dscat_buf_cstr(&path), text, strlen(text), err);
    if (rc == 0 && created && set_from(created, dscat_buf_cstr(&key), a))
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    json_decref(a);
    if (rc == 0 && file)
        *file = dscat_buf_detach(&path);
done:
    if (lockfd >= 0)
        close(lockfd); /* releases the lock */
    json_decref(doc);
    dscat_free(text);
    dscat_free(dir);
    dscat_buf_free(&key);
    dscat_buf_free(&path);
    dscat_buf_free(&lock);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int annotation_cmp(const void *a, const void *b)
{
    const dscat_annotation *x = a, *y = b;
    int c = strcmp(x->created_at, y->created_at);
    return c ? c : strcmp(x->id, y->id);
}

int dscat_annotations_read(dscat_annotation_list *out, const char *catalog_dir, const char *table,
                           dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    char *dir = annotations_dir(catalog_dir);
    dscat_buf want = DSCAT_BUF_INIT;
    dscat_strmap seen = DSCAT_STRMAP_INIT;
    char **files = NULL;
    size_t nfiles = 0, cap = 0;
    int rc = 0;
    if (dir == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    if (table && (rc = canonical_table(table, &want))) {
        rc = rc == DSCAT_ENOMEM
                 ? dscat_error_set(err, rc, "out of memory")
                 : dscat_error_set(err, DSCAT_EINVALID,
                                   "Invalid target format: '%s' (expected Database.Schema.Table)",
                                   table);
        goto done;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || e->d_name[0] == '.' || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        if (nfiles == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = dscat_realloc(files, cap * sizeof(char *));
            if (grown == NULL) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                break;
            }
            files = grown;
        }
        if ((files[nfiles] = dscat_strdup(e->d_name)) == NULL) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            break;
        }
        nfiles++;
    }
    if (d)
        closedir(d);
    if (rc)
        goto done;
    if (nfiles)
        qsort(files, nfiles, sizeof(char *), name_cmp);
    size_t acap = 0;
    for (size_t f = 0; f < nfiles && rc == 0; f++) {
        dscat_buf path = DSCAT_BUF_INIT;
        json_error_t jerr;
        json_t *doc = NULL;
        int parsed = DSCAT_ENOMEM;
        if (dscat_buf_printf(&path, "%s/%s", dir, files[f]) == 0)
            parsed = dscat_json_parse_file(&doc, dscat_buf_cstr(&path), 0, &jerr);
        if (parsed == DSCAT_ENOMEM) {
            rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory"); /* not a bad file */
            dscat_buf_free(&path);
            break;
        }
        json_t *tables = json_object_get(doc, "tables");
        if (!json_is_object(tables)) {
            char **grown = dscat_realloc(out->skipped, (out->nskipped + 1) * sizeof(char *));
            if (grown)
                out->skipped = grown;
            if (grown == NULL || (out->skipped[out->nskipped] = dscat_buf_detach(&path)) == NULL)
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            else
                out->nskipped++;
            json_decref(doc);
            dscat_buf_free(&path);
            continue;
        }
        const char *key;
        json_t *entry;
        json_object_foreach(tables, key, entry)
        {
            if (rc)
                break;
            if (table && strcmp(key, dscat_buf_cstr(&want)) != 0)
                continue;
            size_t i;
            json_t *a;
            json_array_foreach(json_object_get(entry, "annotations"), i, a)
            {
                const char *id = json_string_value(json_object_get(a, "id"));
                size_t ignored;
                if (id == NULL || dscat_strmap_get(&seen, id, strlen(id), &ignored))
                    continue;
                if (out->count == acap) {
                    size_t grown_cap = acap ? acap * 2 : 16;
                    void *grown = dscat_realloc(out->items, grown_cap * sizeof(*out->items));
                    if (grown) {
                        out->items = grown;
                        acap = grown_cap;
                    }
                }
                if (out->count == acap || dscat_strmap_put(&seen, id, strlen(id), 1)) {
                    rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                    break;
                }
                memset(&out->items[out->count], 0, sizeof(*out->items));
                if (set_from(&out->items[out->count++], key, a))
                    rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            }
        }
        json_decref(doc);
        dscat_buf_free(&path);
    }
    if (out->count)
        qsort(out->items, out->count, sizeof(*out->items), annotation_cmp);
done:
    for (size_t i = 0; i < nfiles; i++)
        dscat_free(files[i]);
    dscat_free(files);
    dscat_free(dir);
    dscat_buf_free(&want);
    dscat_strmap_free(&seen);
    if (rc)
        dscat_annotation_list_free(out);
    return rc;
}

void dscat_annotation_clear(dscat_annotation *a)
{
    if (a == NULL)
        return;
    dscat_free(a->id);
    dscat_free(a->type);
    dscat_free(a->content);
    dscat_free(a->author);
    dscat_free(a->created_at);
    dscat_free(a->table);
    memset(a, 0, sizeof(*a));
}

void dscat_annotation_list_free(dscat_annotation_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dscat_annotation_clear(&l->items[i]);
    dscat_free(l->items);
    for (size_t i = 0; i < l->nskipped; i++)
        dscat_free(l->skipped[i]);
    dscat_free(l->skipped);
    memset(l, 0, sizeof(*l));
}
