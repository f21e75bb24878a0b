/*
 * targets.toml, the catalog directory and .env (SPEC §1, §2).
 *
 * Validation is table-driven: each allowed key has a kind and a destination. Everything is
 * checked before a single connection is made, and the first problem is reported as
 * "<file>: line N: <what> '<key>' ...". The parser is the same for every engine: a target's
 * `type` names its driver in the registry (src/sources/), which says which keys the engine takes,
 * what it requires and how its address is resolved.
 */
#include "dscat/config.h"
#include "dscat/find.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/glob.h"
#include "core/toml.h"
#include "sources/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { K_STRING, K_INT, K_NUMBER, K_LIST, K_BOOL, K_DURATION, K_CACHE } key_kind;

typedef struct key_spec {
    const char *name;
    key_kind kind;
    size_t offset; /* into dscat_target_config or dscat_settings */
    bool common;   /* target keys: taken by every engine, else only by those listing it */
} key_spec;

/*
 * Every target key the file may hold. Which engine takes which of the keys that are not common
 * is the engine's to say (the `keys` of its driver).
 */
#define TK(n, k, f, common)                                                                        \
    {                                                                                              \
        n, k, offsetof(dscat_target_config, f), common                                             \
    }
static const key_spec target_keys[] = {
    TK("name", K_STRING, name, true),
    TK("host", K_STRING, host, false),
    TK("host_env", K_STRING, host_env, false),
    TK("user", K_STRING, user, false),
    TK("user_env", K_STRING, user_env, false),
    TK("password_env", K_STRING, password_env, false),
    TK("port", K_INT, port, false),
    TK("port_env", K_STRING, port_env, false),
    TK("database", K_STRING, database, false),
    TK("include_databases", K_LIST, include_databases, false),
    TK("databases", K_LIST, include_databases, false),
    TK("exclude_databases", K_LIST, exclude_databases, true),
    TK("include_schemas", K_LIST, include_schemas, true),
    TK("exclude_schemas", K_LIST, exclude_schemas, true),
    TK("include_tables", K_LIST, include_tables, true),
    TK("exclude_tables", K_LIST, exclude_tables, true),
    TK("path", K_STRING, path, false),
    TK("path_env", K_STRING, path_env, false),
    TK("sslmode", K_STRING, sslmode, false),
    TK("exact_sizes", K_BOOL, exact_sizes, false),
    TK("refresh_every", K_DURATION, refresh_every, true),
    TK("cache", K_CACHE, cache, true),
};

#define SK(n, k, f)                                                                                \
    {                                                                                              \
        n, k, offsetof(dscat_settings, f), false                                                   \
    }
static const key_spec setting_keys[] = {
    SK("parallel_scans", K_INT, parallel_scans),
    SK("stale_after_days", K_INT, stale_after_days),
    SK("cache_ttl_days", K_INT, stale_after_days),
    SK("profile_sample_size", K_INT, profile_sample_size),
    SK("max_tables_per_db", K_INT, max_tables_per_db),
    SK("connect_timeout", K_NUMBER, connect_timeout),
    SK("query_timeout", K_INT, query_timeout),
    SK("keep_scans", K_INT, keep_scans),
    SK("cache_root", K_STRING, cache_root),
    SK("s3_endpoint", K_STRING, s3_endpoint),
    SK("s3_region", K_STRING, s3_region),
    SK("refresh_parallelism", K_INT, refresh_parallelism),
    SK("deletion_grace_seconds", K_INT, deletion_grace_seconds),
    SK("deletion_interval_seconds", K_INT, deletion_interval_seconds),
    SK("max_jobs", K_INT, max_jobs),
    SK("max_queued_jobs", K_INT, max_queued_jobs),
    SK("allowed_hosts", K_LIST, allowed_hosts),
    SK("cors_origins", K_LIST, cors_origins),
    SK("store_url_env", K_STRING, store_url_env),
    SK("store_schema", K_STRING, store_schema),
};

/* Keys that would hold a secret: refused, with the key to use instead. */
static const char *const refused_keys[] = {"password", "passwd", "pwd", "secret", "token"};

typedef struct ctx {
    const char *path;
    dscat_error *err;
    bool cache_root_env;  /* the cache root came from DSCAT_CACHE_ROOT, */
    bool cache_root_file; /* from targets.toml (else the computed default) */
} ctx;

static int cfg_error(const ctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfg_error(const ctx *c, int line, const char *fmt, ...)
{
    char msg[DSCAT_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return dscat_error_set(c->err, DSCAT_ECONFIG, "%s: line %d: %s", c->path, line, msg);
}

/* True when s holds "scheme://user:password@": a URL that carries a password. */
static bool has_url_password(const char *s)
{
    const char *p = strstr(s, "://");
    while (p) {
        const char *auth = p + 3;
        size_t n = strcspn(auth, "/?#");
        const char *at = memchr(auth, '@', n);
        if (at && memchr(auth, ':', (size_t)(at - auth)))
            return true;
        p = strstr(auth, "://");
    }
    return false;
}

static int check_strings_for_urls(const ctx *c, const dscat_toml_value *v, const char *key,
                                  int line)
{
    if (v->type == DSCAT_TOML_STRING && has_url_password(v->u.str.ptr))
        return cfg_error(c, line,
                         "key '%s' holds a URL with a password; credentials come only from "
                         "environment variables",
                         key);
    if (v->type == DSCAT_TOML_ARRAY)
        for (size_t i = 0; i < v->u.array.count; i++) {
            int rc = check_strings_for_urls(c, v->u.array.items[i], key, line);
            if (rc)
                return rc;
        }
    return 0;
}

static char *copy_str(const dscat_toml_value *v)
{
    return dscat_strndup(v->u.str.ptr, v->u.str.len);
}

/* The longest period a schedule may have: a year. */
#define MAX_PERIOD (366 * 86400)

/* A duration, "90s", "15m", "6h" or "1d" (a positive whole number and its unit), into seconds. */
static int parse_duration(const ctx *c, const dscat_toml_entry *e, const char *name, int *out)
{
    const dscat_toml_value *v = e->value;
    static const char form[] = "a duration such as \"90s\", \"15m\", \"6h\" or \"1d\"";
    if (v->type != DSCAT_TOML_STRING)
        return cfg_error(c, e->line, "key '%s' must be %s, not %s", name, form,
                         dscat_toml_type_name(v->type));
    const char *p = v->u.str.ptr;
    size_t n = v->u.str.len, digits = 0;
    long long value = 0;
    for (; digits < n && p[digits] >= '0' && p[digits] <= '9'; digits++)
        if (value <= MAX_PERIOD) /* past a year it stays past a year: no overflow */
            value = value * 10 + (p[digits] - '0');
    long long unit = 0;
    if (digits > 0 && digits + 1 == n)
        unit = p[digits] == 's'   ? 1
               : p[digits] == 'm' ? 60
               : p[digits] == 'h' ? 3600
               : p[digits] == 'd' ? 86400
                                  : 0;
    if (unit == 0 || value == 0)
        return cfg_error(c, e->line, "key '%s' must be %s", name, form);
    if (value > MAX_PERIOD / unit)
        return cfg_error(c, e->line, "key '%s' is longer than a year", name);
    *out = (int)(value * unit);
    return 0;
}

/*
 * One [[targets.<key>.cache]] table: table = "schema.table", refresh_every, mode = "full" (the
 * default) or "append" with append_key = "<column>" and optionally full_every = "<duration>".
 */
static int parse_cache_entry(const ctx *c, const dscat_toml_value *v, int line,
                             dscat_cache_schedule *s)
{
    int mode_line = line, key_line = line, full_line = 0;
    s->line = line;
    s->mode = DSCAT_CACHE_FULL;
    if (v->type != DSCAT_TOML_TABLE)
        return cfg_error(c, line,
                         "each entry of 'cache' must be a table (table = \"schema.table\", "
                         "refresh_every = \"15m\")");
    for (size_t i = 0; i < v->u.table.count; i++) {
        const dscat_toml_entry *e = &v->u.table.entries[i];
        int rc;
        if (strcmp(e->key, "table") == 0) {
            /* Named as everywhere else (dscat cache refresh, find): schema.table, a part quoted
             * SQL-style when it holds a dot or a quote ("my.schema"."or""ders"). */
            char *parts[2] = {NULL, NULL}, *target = NULL;
            int n = e->value->type == DSCAT_TOML_STRING &&
                            memchr(e->value->u.str.ptr, '\0', e->value->u.str.len) == NULL
                        ? dscat_split_qualified(e->value->u.str.ptr, &target, parts, 2)
                        : -1;
            if (n == DSCAT_ENOMEM)
                return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
            if (n != 2 || target != NULL) {
                dscat_free(target);
                for (int k = 0; k < 2; k++)
                    dscat_free(parts[k]);
                return cfg_error(c, e->line,
                                 "key 'table' of a cache entry must be \"schema.table\"");
            }
            dscat_free(s->schema);
            dscat_free(s->table);
            s->schema = parts[0];
            s->table = parts[1];
        } else if (strcmp(e->key, "refresh_every") == 0) {
            if ((rc = parse_duration(c, e, "refresh_every", &s->every)))
                return rc;
        } else if (strcmp(e->key, "mode") == 0) {
            const dscat_toml_value *m = e->value;
            if (m->type == DSCAT_TOML_STRING && m->u.str.len == 4 &&
                memcmp(m->u.str.ptr, "full", 4) == 0)
                s->mode = DSCAT_CACHE_FULL;
            else if (m->type == DSCAT_TOML_STRING && m->u.str.len == 6 &&
                     memcmp(m->u.str.ptr, "append", 6) == 0)
                s->mode = DSCAT_CACHE_APPEND;
            else
                return cfg_error(c, e->line,
                                 "key 'mode' of a cache entry must be \"full\" or \"append\"");
            mode_line = e->line;
        } else if (strcmp(e->key, "append_key") == 0) {
            if (e->value->type != DSCAT_TOML_STRING || e->value->u.str.len == 0 ||
                memchr(e->value->u.str.ptr, '\0', e->value->u.str.len))
                return cfg_error(c, e->line,
                                 "key 'append_key' of a cache entry must be a column name "
                                 "(a non-empty string)");
            dscat_free(s->append_key);
            if ((s->append_key = copy_str(e->value)) == NULL)
                return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
            key_line = e->line;
        } else if (strcmp(e->key, "full_every") == 0) {
            if ((rc = parse_duration(c, e, "full_every", &s->full_every)))
                return rc;
            full_line = e->line;
        } else {
            return cfg_error(c, e->line,
                             "unknown key '%s' in a cache entry (table, "
                             "refresh_every, mode, append_key, full_every)",
                             e->key);
        }
    }
    if (s->table == NULL)
        return cfg_error(c, line, "a cache entry needs table = \"schema.table\"");
    if (s->every == 0)
        return cfg_error(c, line, "a cache entry needs refresh_every (such as \"15m\")");
    if (s->mode == DSCAT_CACHE_APPEND && s->append_key == NULL)
        return cfg_error(c, mode_line,
                         "a cache entry with mode = \"append\" needs append_key = \"<column>\" "
                         "(a column whose values only grow: an id or a timestamp)");
    if (s->mode == DSCAT_CACHE_FULL && s->append_key)
        return cfg_error(c, key_line, "key 'append_key' applies only to mode = \"append\"");
    if (s->mode == DSCAT_CACHE_FULL && full_line)
        return cfg_error(c, full_line, "key 'full_every' applies only to mode = \"append\"");
    return 0;
}

/* The 'cache' array of a target: its cached tables' schedules. */
static int parse_cache(const ctx *c, const dscat_toml_entry *e, dscat_target_config *t)
{
    const dscat_toml_value *v = e->value;
    if (v->type != DSCAT_TOML_ARRAY)
        return cfg_error(c, e->line,
                         "key 'cache' must be an array of tables "
                         "([[targets.<name>.cache]])");
    if (t->cache)
        return cfg_error(c, e->line, "key 'cache' is given twice");
    t->cache = dscat_calloc(v->u.array.count + 1, sizeof(*t->cache));
    if (t->cache == NULL)
        return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
    for (size_t i = 0; i < v->u.array.count; i++) {
        const dscat_toml_value *item = v->u.array.items[i];
        dscat_cache_schedule *s = &t->cache[t->ncache++];
        int rc = parse_cache_entry(c, item, item->line ? item->line : e->line, s);
        if (rc)
            return rc;
        for (size_t k = 0; k + 1 < t->ncache; k++)
            if (strcmp(t->cache[k].schema, s->schema) == 0 &&
                strcmp(t->cache[k].table, s->table) == 0)
                return cfg_error(c, s->line, "table %s.%s has two cache entries", s->schema,
                                 s->table);
    }
    return 0;
}

/* Stores one validated key into its destination (a target or the settings). */
static int apply_key(const ctx *c, const key_spec *k, const dscat_toml_entry *e, void *dest)
{
    const dscat_toml_value *v = e->value;
    char *at = (char *)dest + k->offset;
    switch (k->kind) {
    case K_STRING:
        if (v->type != DSCAT_TOML_STRING)
            return cfg_error(c, e->line, "key '%s' must be a string, not %s", k->name,
                             dscat_toml_type_name(v->type));
        if (memchr(v->u.str.ptr, '\0', v->u.str.len))
            return cfg_error(c, e->line, "key '%s' holds a NUL character", k->name);
        dscat_free(*(char **)at);
        if ((*(char **)at = copy_str(v)) == NULL)
            return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
        return 0;
    case K_INT:
        if (v->type != DSCAT_TOML_INTEGER)
            return cfg_error(c, e->line, "key '%s' must be an integer, not %s", k->name,
                             dscat_toml_type_name(v->type));
        if (v->u.integer < 0 || v->u.integer > 1000000000)
            return cfg_error(c, e->line, "key '%s' is out of range", k->name);
        *(int *)at = (int)v->u.integer;
        return 0;
    case K_NUMBER:
        if (v->type == DSCAT_TOML_INTEGER)
            *(double *)at = (double)v->u.integer;
        else if (v->type == DSCAT_TOML_FLOAT)
            *(double *)at = v->u.real;
        else
            return cfg_error(c, e->line, "key '%s' must be a number, not %s", k->name,
                             dscat_toml_type_name(v->type));
        if (!(*(double *)at > 0) || *(double *)at > 86400)
            return cfg_error(c, e->line, "key '%s' is out of range", k->name);
        return 0;
    case K_BOOL:
        if (v->type != DSCAT_TOML_BOOL)
            return cfg_error(c, e->line, "key '%s' must be true or false, not %s", k->name,
                             dscat_toml_type_name(v->type));
        *(bool *)at = v->u.boolean;
        return 0;
    case K_DURATION:
        return parse_duration(c, e, k->name, (int *)at);
    case K_CACHE:
        return parse_cache(c, e, dest);
    case K_LIST: {
        dscat_string_list *l = (dscat_string_list *)at;
        if (v->type != DSCAT_TOML_ARRAY)
            return cfg_error(c, e->line, "key '%s' must be an array of strings", k->name);
        for (size_t i = 0; i < l->count; i++)
            dscat_free(l->items[i]);
        dscat_free(l->items);
        l->count = 0;
        l->set = true;
        l->items = dscat_calloc(v->u.array.count, sizeof(char *));
        if (l->items == NULL)
            return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
        for (size_t i = 0; i < v->u.array.count; i++) {
            const dscat_toml_value *item = v->u.array.items[i];
            if (item->type != DSCAT_TOML_STRING)
                return cfg_error(c, e->line, "key '%s' must be an array of strings", k->name);
            if ((l->items[l->count++] = copy_str(item)) == NULL)
                return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
        }
        return 0;
    }
    }
    return 0;
}

static const key_spec *find_spec(const key_spec *specs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

/* Refuses secret-holding keys with a message that names the key to use instead. */
static int check_refused(const ctx *c, const dscat_toml_entry *e, const char *section)
{
    for (size_t i = 0; i < sizeof(refused_keys) / sizeof(refused_keys[0]); i++)
        if (strcmp(e->key, refused_keys[i]) == 0)
            return cfg_error(c, e->line,
                             "key '%s' in [%s] is not allowed: credentials come only from "
                             "environment variables (use password_env = \"VARIABLE_NAME\")",
                             e->key, section);
    return check_strings_for_urls(c, e->value, e->key, e->line);
}

/* Appends to b the engines' names as a list: "a, b, c or d". */
static void engine_names(dscat_buf *b)
{
    size_t n = dscat_source_count();
    for (size_t i = 0; i < n; i++)
        dscat_buf_printf(b, "%s%s",
                         i == 0       ? ""
                         : i + 1 == n ? " or "
                                      : ", ",
                         dscat_source_at(i)->name);
}

/* The target's engine from its `type` (default: the registry's first engine). */
static int parse_type(const ctx *c, const dscat_toml_value *target, dscat_target_config *t)
{
    const dscat_toml_entry *e = dscat_toml_entry_get(target, "type");
    const dscat_source_driver *d = dscat_source_at(0);
    if (e != NULL) {
        if (e->value->type != DSCAT_TOML_STRING)
            return cfg_error(c, e->line, "key 'type' must be a string");
        d = dscat_source_find(e->value->u.str.ptr);
    }
    if (d != NULL) {
        t->driver = d;
        t->type = d->name;
        return 0;
    }
    const char *s = e->value->u.str.ptr;
    /* The value is echoed only when it is a plain word: a misplaced URL may hold a password. */
    bool word = strlen(s) <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s);
    dscat_buf names = DSCAT_BUF_INIT;
    engine_names(&names);
    int rc = cfg_error(c, e->line, "key 'type' has unknown value%s%s%s (%s)", word ? " '" : "",
                       word ? s : "", word ? "'" : "", names.ptr ? names.ptr : "");
    dscat_buf_free(&names);
    return rc;
}

/* True when the target's engine takes key k. */
static bool key_applies(const key_spec *k, const dscat_source_driver *d)
{
    if (k->common)
        return true;
    for (const char *const *n = d->keys; n && *n; n++)
        if (strcmp(*n, k->name) == 0)
            return true;
    return false;
}

static bool valid_target_key(const char *k, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int parse_target(const ctx *c, const dscat_toml_entry *te, dscat_target_config *t)
{
    const dscat_toml_value *tv = te->value;
    int rc;
    if (!valid_target_key(te->key, te->key_len))
        return cfg_error(c, te->line, "target name '%s' may only hold letters, digits, '_' and '-'",
                         te->key);
    if (tv->type != DSCAT_TOML_TABLE)
        return cfg_error(c, te->line, "targets.%s must be a table", te->key);
    t->line = tv->line;
    if ((t->key = dscat_strdup(te->key)) == NULL)
        return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
    if ((rc = parse_type(c, tv, t)))
        return rc;
    char section[128];
    snprintf(section, sizeof(section), "targets.%s", te->key);
    for (size_t i = 0; i < tv->u.table.count; i++) {
        const dscat_toml_entry *e = &tv->u.table.entries[i];
        if ((rc = check_refused(c, e, section)))
            return rc;
        if (strcmp(e->key, "type") == 0)
            continue;
        const key_spec *k =
            find_spec(target_keys, sizeof(target_keys) / sizeof(target_keys[0]), e->key);
        if (k == NULL)
            return cfg_error(c, e->line, "unknown key '%s' in [%s]", e->key, section);
        if (!key_applies(k, t->driver))
            return cfg_error(c, e->line, "key '%s' in [%s] does not apply to %s targets", e->key,
                             section, t->type);
        if ((rc = apply_key(c, k, e, t)))
            return rc;
    }
    if (t->name == NULL && (t->name = dscat_strdup(t->key)) == NULL)
        return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
    char msg[DSCAT_ERROR_MESSAGE_SIZE];
    if (t->driver->check_target && t->driver->check_target(t, msg, sizeof(msg)) != 0)
        return cfg_error(c, t->line, "%s", msg);
    return 0;
}

static void set_defaults(dscat_settings *s)
{
    s->parallel_scans = 4;
    s->stale_after_days = 7;
    s->profile_sample_size = 1000;
    s->connect_timeout = 10;
    s->query_timeout = 300;
    s->keep_scans = 20;
    s->refresh_parallelism = 4;
    s->deletion_grace_seconds = 60;
    s->deletion_interval_seconds = 30;
    s->max_jobs = 4;
    s->max_queued_jobs = 64;
    s->query_memory = (int64_t)1 << 30;
}

/*
 * query_memory: an integer of bytes, or a string "<number><unit>" with B, KB/MB/GB/TB (powers of
 * 1000) or KiB/MiB/GiB/TiB (powers of 1024). Between 16 MiB and 1 TiB.
 */
static int parse_memory(const ctx *c, const dscat_toml_entry *e, int64_t *out)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"kb", 1e3},
                 {"mb", 1e6},
                 {"gb", 1e9},
                 {"tb", 1e12},
                 {"kib", 1024.0},
                 {"mib", 1048576.0},
                 {"gib", 1073741824.0},
                 {"tib", 1099511627776.0}};
    double bytes = -1;
    if (e->value->type == DSCAT_TOML_INTEGER) {
        bytes = (double)e->value->u.integer;
    } else if (e->value->type == DSCAT_TOML_STRING) {
        const char *v = e->value->u.str.ptr;
        char *end = NULL;
        errno = 0;
        double n = strtod(v, &end);
        while (end && *end == ' ')
            end++;
        for (size_t i = 0; end != v && errno == 0 && i < sizeof(units) / sizeof(units[0]); i++)
            if (strcasecmp(end, units[i].unit) == 0)
                bytes = n * units[i].factor;
    }
    if (!(bytes >= 16.0 * 1048576 && bytes <= 1099511627776.0))
        return cfg_error(c, e->line,
                         "key 'query_memory' must be a size from 16MiB to 1TiB, such as \"1GiB\"");
    *out = (int64_t)bytes;
    return 0;
}

static int parse_settings(const ctx *c, const dscat_toml_entry *se, dscat_settings *s)
{
    int rc;
    if (se->value->type != DSCAT_TOML_TABLE)
        return cfg_error(c, se->line, "settings must be a table");
    for (size_t i = 0; i < se->value->u.table.count; i++) {
        const dscat_toml_entry *e = &se->value->u.table.entries[i];
        if ((rc = check_refused(c, e, "settings")))
            return rc;
        if (strcmp(e->key, "default_scan_depth") == 0) {
            const char *d = e->value->type == DSCAT_TOML_STRING ? e->value->u.str.ptr : "";
            if (strcmp(d, "metadata") != 0 && strcmp(d, "profile") != 0)
                return cfg_error(c, e->line,
                                 "key 'default_scan_depth' must be \"metadata\" or \"profile\"");
            s->profile_by_default = strcmp(d, "profile") == 0;
            continue;
        }
        if (strcmp(e->key, "query_memory") == 0) {
            if ((rc = parse_memory(c, e, &s->query_memory)))
                return rc;
            continue;
        }
        const key_spec *k =
            find_spec(setting_keys, sizeof(setting_keys) / sizeof(setting_keys[0]), e->key);
        if (k == NULL)
            return cfg_error(c, e->line, "unknown key '%s' in [settings]", e->key);
        if ((rc = apply_key(c, k, e, s)))
            return rc;
        /* A range error names the key's own line, not the section header's. */
        if (s->parallel_scans < 1)
            return cfg_error(c, e->line, "key 'parallel_scans' must be at least 1");
        if (s->keep_scans < 2)
            return cfg_error(c, e->line, "key 'keep_scans' must be at least 2");
        if (s->refresh_parallelism < 1)
            return cfg_error(c, e->line, "key 'refresh_parallelism' must be at least 1");
        if (s->max_jobs < 1 || s->max_jobs > 256)
            return cfg_error(c, e->line, "key 'max_jobs' must be from 1 to 256");
        if (s->max_queued_jobs < 0 || s->max_queued_jobs > 10000)
            return cfg_error(c, e->line, "key 'max_queued_jobs' must be from 0 to 10000");
    }
    return 0;
}

/*
 * Reads a number from an environment override: positive, or with allow_zero also 0. A malformed
 * one is a configuration error.
 */
static int env_number_min(const ctx *c, const char *var, double *out, bool integer, bool allow_zero)
{
    const char *v = getenv(var);
    if (v == NULL || *v == '\0')
        return 0;
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(allow_zero ? d >= 0 : d > 0) || d > 1e9 ||
        (integer && d != (long)d))
        return dscat_error_set(c->err, DSCAT_ECONFIG, "environment variable %s must be a %s %s",
                               var, allow_zero ? "non-negative" : "positive",
                               integer ? "integer" : "number");
    *out = d;
    return 0;
}

static int env_number(const ctx *c, const char *var, double *out, bool integer)
{
    return env_number_min(c, var, out, integer, false);
}

static int env_string(char **dest, const char *var)
{
    const char *v = getenv(var);
    if (v == NULL || *v == '\0')
        return 0;
    char *copy = dscat_strdup(v);
    if (copy == NULL)
        return DSCAT_ENOMEM;
    dscat_free(*dest);
    *dest = copy;
    return 0;
}

static int apply_env_overrides(const ctx *c, dscat_settings *s)
{
    double d;
    int rc;
    d = s->parallel_scans;
    if ((rc = env_number(c, "DSCAT_PARALLEL_SCANS", &d, true)))
        return rc;
    s->parallel_scans = (int)d;
    d = s->connect_timeout;
    if ((rc = env_number(c, "DSCAT_CONNECT_TIMEOUT", &d, false)))
        return rc;
    s->connect_timeout = d;
    d = s->deletion_grace_seconds;
    if ((rc = env_number_min(c, "DSCAT_DELETION_GRACE", &d, true, true)))
        return rc;
    s->deletion_grace_seconds = (int)d;
    d = s->deletion_interval_seconds;
    if ((rc = env_number(c, "DSCAT_DELETION_INTERVAL", &d, true)))
        return rc;
    s->deletion_interval_seconds = (int)d;
    if (env_string(&s->cache_root, "DSCAT_CACHE_ROOT") ||
        env_string(&s->s3_endpoint, "DSCAT_S3_ENDPOINT") || env_string(&s->s3_region, "AWS_REGION"))
        return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
    return 0;
}

/* Fills the settings that default to something computed: the cache root and the S3 region. */
static int settings_finish(dscat_settings *s)
{
    if (s->s3_region == NULL && (s->s3_region = dscat_strdup("us-east-1")) == NULL)
        return DSCAT_ENOMEM;
    if (s->cache_root == NULL) {
        dscat_buf b = DSCAT_BUF_INIT;
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        if (xdg && xdg[0] == '/') /* a relative one is ignored, as XDG says */
            dscat_buf_printf(&b, "%s/dscat", xdg);
        else
            dscat_buf_printf(&b, "%s/.cache/dscat", home ? home : ".");
        if ((s->cache_root = dscat_buf_detach(&b)) == NULL)
            return DSCAT_ENOMEM;
    }
    return 0;
}

/* Removes "." and ".." parts and repeated slashes by their text, in place. */
static void normalize(char *full)
{
    char *w = full;
    for (const char *p = full; *p;) {
        const char *seg = p + (*p == '/');
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.')) {
        } else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (w > full && *--w != '/') {
            }
        } else {
            *w++ = '/';
            memmove(w, seg, n);
            w += n;
        }
        p = seg + n;
    }
    if (w == full)
        *w++ = '/';
    *w = '\0';
}

/* One step: the longest existing prefix resolved by the kernel, the rest appended, normalised. */
static char *resolve_once(const char *full)
{
    dscat_buf b = DSCAT_BUF_INIT;
    char *copy = dscat_strdup(full);
    if (copy == NULL)
        return NULL;
    size_t n = strlen(copy);
    for (size_t cut = n;;) {
        char saved = copy[cut];
        copy[cut] = '\0';
        char *real = realpath(cut ? copy : "/", NULL);
        copy[cut] = saved;
        if (real) {
            dscat_buf_puts(&b, strcmp(real, "/") == 0 ? "" : real);
            free(real); /* realpath(3) with a NULL buffer: malloc()ed by libc */
            dscat_buf_puts(&b, copy + cut);
            break;
        }
        while (cut > 0 && copy[cut - 1] != '/')
            cut--;
        if (cut == 0) {
            dscat_buf_puts(&b, copy);
            break;
        }
        cut--; /* the slash before the part that does not exist */
    }
    dscat_free(copy);
    char *out = dscat_buf_detach(&b);
    if (out)
        normalize(out); /* the resolved prefix holds no symlink: ".." in the rest is textual */
    return out;
}

/*
 * The absolute form of path with every symlink resolved, also when its last parts do not exist
 * yet ("/x/nope/../catalog" is "/x/catalog"): resolved until it no longer changes. Caller frees.
 */
static char *resolve_path(const char *path)
{
    dscat_buf b = DSCAT_BUF_INIT;
    if (path[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        dscat_buf_printf(&b, "%s/", cwd ? cwd : ".");
        free(cwd); /* getcwd(3) with a NULL buffer: malloc()ed by libc */
    }
    dscat_buf_puts(&b, path);
    char *cur = dscat_buf_detach(&b);
    for (int i = 0; cur && i < 16; i++) {
        char *next = resolve_once(cur);
        bool same = next && strcmp(next, cur) == 0;
        dscat_free(cur);
        cur = next;
        if (same)
            break;
    }
    return cur;
}

/*
 * A local cache root made absolute once, when the configuration is read, so that every process
 * of the catalog and every path the store records name the same directory whatever the process's
 * working directory: a relative cache_root of targets.toml is relative to the directory that
 * holds the file (the catalog directory), one from DSCAT_CACHE_ROOT to the working directory (as
 * any path given on a command line).
 */
static int absolute_cache_root(const ctx *c, dscat_settings *s)
{
    const char *root = s->cache_root;
    if (strncmp(root, "s3://", 5) == 0 || root[0] == '/')
        return 0;
    const char *slash = c->cache_root_file ? strrchr(c->path, '/') : NULL;
    dscat_buf b = DSCAT_BUF_INIT;
    if (slash == NULL || c->path[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (cwd == NULL)
            return dscat_error_set(c->err, DSCAT_ECONFIG,
                                   "%s %s is a relative path and the working directory cannot be "
                                   "read: give an absolute path",
                                   c->cache_root_env    ? "DSCAT_CACHE_ROOT"
                                   : c->cache_root_file ? "cache_root"
                                                        : "the default cache root",
                                   root);
        dscat_buf_printf(&b, "%s/", cwd);
        free(cwd); /* getcwd(3) with a NULL buffer: malloc()ed by libc */
    }
    if (slash)
        dscat_buf_put(&b, c->path, (size_t)(slash - c->path));
    dscat_buf_printf(&b, "/%s", root);
    char *full = dscat_buf_detach(&b);
    if (full == NULL)
        return dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
    normalize(full);
    dscat_free(s->cache_root);
    s->cache_root = full;
    return 0;
}

/*
 * A cache entry names schema.table of its target's one database: a target whose
 * include_databases names several (or a pattern) has no such database, and its schedule could
 * never run (each run would fail with "connection not found"): refused here instead.
 */
static int check_cache_targets(const ctx *c, const dscat_config *cfg)
{
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const dscat_target_config *t = &cfg->targets[i];
        const dscat_string_list *inc = &t->include_databases;
        /* one database: as dscat_connection_database (src/cache/cache.c) decides */
        bool one = t->driver == NULL || t->driver->config_database ||
                   (inc->set ? inc->count == 1 && !strpbrk(inc->items[0], "*?[")
                             : t->database || t->driver->default_database);
        if (t->ncache == 0 || one)
            continue;
        return cfg_error(c, t->cache[0].line,
                         "target %s: a cache entry needs a target of one database, and this one "
                         "%s; give the cached tables a target of their own with database = "
                         "\"<name>\"",
                         t->key,
                         inc->set ? "has include_databases naming several"
                                  : "scans every database of its server");
    }
    return 0;
}

/* The catalog directory holds metadata only (SPEC §1): a cache root never lies inside it. */
static int check_cache_root(const ctx *c, const dscat_config *cfg)
{
    const char *root = cfg->settings.cache_root;
    if (strncmp(root, "s3://", 5) == 0)
        return 0;
    char *r = resolve_path(root), *d = resolve_path(cfg->catalog_dir);
    int rc = 0;
    if (r == NULL || d == NULL) {
        rc = dscat_error_set(c->err, DSCAT_ENOMEM, "out of memory");
    } else {
        size_t n = strlen(d);
        if (strncmp(r, d, n) == 0 && (r[n] == '\0' || r[n] == '/' || strcmp(d, "/") == 0))
            rc = dscat_error_set(c->err, DSCAT_ECONFIG,
                                 "%s%s %s is inside the catalog directory %s; the catalog holds "
                                 "metadata only, choose a cache root outside it",
                                 c->cache_root_file ? c->path : "",
                                 c->cache_root_env    ? "DSCAT_CACHE_ROOT"
                                 : c->cache_root_file ? ": cache_root"
                                                      : "the default cache root",
                                 root, cfg->catalog_dir);
    }
    dscat_free(r);
    dscat_free(d);
    return rc;
}

int dscat_config_parse(dscat_config **out, const char *catalog_dir, const char *path,
                       const char *text, size_t len, dscat_error *err)
{
    *out = NULL;
    ctx c = {path, err, false, false};
    dscat_toml_doc *doc = NULL;
    int rc;
    dscat_config *cfg = dscat_calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    set_defaults(&cfg->settings);
    cfg->catalog_dir = dscat_strdup(catalog_dir);
    cfg->path = dscat_strdup(path);
    if (cfg->catalog_dir == NULL || cfg->path == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dscat_toml_parse(&doc, text, len, err))) {
        if (rc == DSCAT_EINVALID) {
            dscat_error_prefix(err, "%s", path);
            err->code = rc = DSCAT_ECONFIG;
        }
        goto done;
    }
    const dscat_toml_value *root = doc->root;
    for (size_t i = 0; i < root->u.table.count; i++) {
        const dscat_toml_entry *e = &root->u.table.entries[i];
        if (strcmp(e->key, "settings") == 0) {
            if ((rc = parse_settings(&c, e, &cfg->settings)))
                goto done;
        } else if (strcmp(e->key, "targets") == 0) {
            if (e->value->type != DSCAT_TOML_TABLE) {
                rc = cfg_error(&c, e->line, "targets must be a table");
                goto done;
            }
            size_t n = e->value->u.table.count;
            cfg->targets = dscat_calloc(n ? n : 1, sizeof(*cfg->targets));
            if (cfg->targets == NULL) {
                rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
                goto done;
            }
            for (size_t k = 0; k < n; k++) {
                cfg->ntargets++;
                rc = parse_target(&c, &e->value->u.table.entries[k], &cfg->targets[k]);
                if (rc)
                    goto done;
            }
        } else {
            rc = check_refused(&c, e, "top level");
            if (rc == 0)
                rc = cfg_error(&c, e->line,
                               "unknown key '%s' (expected [settings] or [targets.NAME])", e->key);
            goto done;
        }
    }
    const char *env_root = getenv("DSCAT_CACHE_ROOT");
    c.cache_root_env = env_root && *env_root;
    /* Relative to the catalog directory only when the file gave it; a computed default (HOME
     * or XDG_CACHE_HOME relative, or unset) is a path like one on a command line. */
    c.cache_root_file = !c.cache_root_env && cfg->settings.cache_root != NULL;
    if ((rc = apply_env_overrides(&c, &cfg->settings)))
        goto done;
    if (settings_finish(&cfg->settings)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = absolute_cache_root(&c, &cfg->settings)) || (rc = check_cache_root(&c, cfg)) ||
        (rc = check_cache_targets(&c, cfg)))
        goto done;
    *out = cfg;
    cfg = NULL;
done:
    dscat_toml_free(doc);
    dscat_config_free(cfg);
    return rc;
}

int dscat_config_load(dscat_config **out, const char *catalog_dir, dscat_error *err)
{
    *out = NULL;
    dscat_buf path = DSCAT_BUF_INIT;
    dscat_buf text = DSCAT_BUF_INIT;
    int rc = 0;
    FILE *f = NULL;
    if (dscat_buf_printf(&path, "%s/targets.toml", catalog_dir)) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto done;
    }
    f = fopen(dscat_buf_cstr(&path), "rb");
    if (f == NULL) {
        rc = dscat_error_set(err, DSCAT_ECONFIG, "%s: %s", dscat_buf_cstr(&path),
                             errno == ENOENT
                                 ? "no targets file (see dscat help targets for its format)"
                                 : strerror(errno));
        goto done;
    }
    if ((rc = dscat_buf_read(&text, f))) {
        rc = rc == DSCAT_ENOMEM
                 ? dscat_error_set(err, DSCAT_ENOMEM, "out of memory")
                 : dscat_error_set(err, DSCAT_ECONFIG, "%s: cannot read", dscat_buf_cstr(&path));
        goto done;
    }
    rc = dscat_config_parse(out, catalog_dir, dscat_buf_cstr(&path), dscat_buf_cstr(&text),
                            text.len, err);
done:
    if (f)
        fclose(f);
    dscat_buf_free(&path);
    dscat_buf_free(&text);
    return rc;
}

static void free_list(dscat_string_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        dscat_free(l->items[i]);
    dscat_free(l->items);
}

void dscat_config_free(dscat_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ntargets; i++) {
        dscat_target_config *t = &cfg->targets[i];
        char *strs[] = {t->key,      t->name,     t->host,         t->host_env,
                        t->user,     t->user_env, t->password_env, t->port_env,
                        t->database, t->path,     t->path_env,     t->sslmode};
        for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
            dscat_free(strs[k]);
        free_list(&t->include_databases);
        free_list(&t->exclude_databases);
        free_list(&t->include_schemas);
        free_list(&t->exclude_schemas);
        free_list(&t->include_tables);
        free_list(&t->exclude_tables);
        for (size_t k = 0; k < t->ncache; k++) {
            dscat_free(t->cache[k].schema);
            dscat_free(t->cache[k].table);
            dscat_free(t->cache[k].append_key);
        }
        dscat_free(t->cache);
    }
    dscat_free(cfg->targets);
    dscat_free(cfg->settings.cache_root);
    dscat_free(cfg->settings.store_url_env);
    dscat_free(cfg->settings.store_schema);
    dscat_free(cfg->settings.s3_endpoint);
    dscat_free(cfg->settings.s3_region);
    free_list(&cfg->settings.allowed_hosts);
    free_list(&cfg->settings.cors_origins);
    dscat_free(cfg->catalog_dir);
    dscat_free(cfg->path);
    dscat_free(cfg);
}

const dscat_target_config *dscat_config_target(const dscat_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->ntargets; i++)
        if (strcmp(cfg->targets[i].key, key) == 0)
            return &cfg->targets[i];
    return NULL;
}

bool dscat_glob_list_match(const dscat_string_list *list, const char *name, bool empty_matches)
{
    if (!list->set)
        return empty_matches;
    for (size_t i = 0; i < list->count; i++)
        if (dscat_glob_match(list->items[i], name))
            return true;
    return false;
}

int dscat_config_example_targets(char **out, dscat_error *err)
{
    dscat_buf b = DSCAT_BUF_INIT;
    const dscat_source_driver *first = dscat_source_at(0);
    int rc = dscat_buf_puts(&b, "[targets.oms]                     # the key names the target: "
                                "dscat refresh --target oms\n");
    /* "type = "<first>"" padded to the comments' column, then the names. */
    int w = (int)strlen(first->name) + 9;
    rc = rc ? rc : dscat_buf_printf(&b, "type = \"%s\"", first->name);
    rc = rc ? rc : dscat_buf_printf(&b, "%*s# %s (default)", w < 34 ? 34 - w : 1, "", first->name);
    for (size_t i = 1; i < dscat_source_count() && rc == 0; i++)
        rc = dscat_buf_printf(&b, " | %s", dscat_source_at(i)->name);
    rc = rc ? rc : dscat_buf_printf(&b, "\n%s", first->help ? first->help : "");
    for (size_t i = 1; i < dscat_source_count() && rc == 0; i++)
        if (dscat_source_at(i)->help)
            rc = dscat_buf_printf(&b, "\n%s", dscat_source_at(i)->help);
    if (rc || (*out = dscat_buf_detach(&b)) == NULL) {
        dscat_buf_free(&b);
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    }
    return 0;
}

int dscat_target_resolve(dscat_target_conn *out, const dscat_target_config *t, dscat_error *err)
{
    memset(out, 0, sizeof(*out));
    return t->driver->resolve(out, t, err);
}

int dscat_catalog_dir(char **out, dscat_error *err)
{
    const char *d = getenv("DSCAT_HOME");
    if (d == NULL || *d == '\0')
        d = getenv("DENG_CATALOG_DIR");
    dscat_buf b = DSCAT_BUF_INIT;
    if (d && *d) {
        dscat_buf_puts(&b, d);
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || *home == '\0')
            return dscat_error_set(err, DSCAT_ECONFIG,
                                   "cannot find the catalog directory: set DSCAT_HOME or HOME");
        dscat_buf_printf(&b, "%s/.ds_catalog", home);
    }
    while (b.len > 1 && b.ptr[b.len - 1] == '/')
        b.ptr[--b.len] = '\0';
    if ((*out = dscat_buf_detach(&b)) == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return 0;
}

int dscat_catalog_dir_prepare(const char *dir, dscat_error *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return dscat_error_set(err, DSCAT_EIO, "cannot create catalog directory %s: %s", dir,
                               strerror(errno));
    dscat_buf path = DSCAT_BUF_INIT;
    dscat_buf_printf(&path, "%s/.gitignore", dir);
    int rc = dscat_buf_check(&path, err, "the .gitignore path");
    int fd = rc ? -1 : open(dscat_buf_cstr(&path), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        static const char text[] = ".env\ncatalog.db*\n*.tmp\n.store-dir-id\n";
        if (write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1))
            rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s", dscat_buf_cstr(&path));
        close(fd);
    } else if (rc == 0 && errno != EEXIST) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", dscat_buf_cstr(&path),
                             strerror(errno));
    }
    dscat_buf_free(&path);
    return rc;
}

/* Parses KEY=VALUE lines (optional "export ", quotes, comments) and sets unset variables. */
static void dotenv_apply(FILE *f)
{
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        char *s = line;
        s[strcspn(s, "\r\n")] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '#' || *s == '\0')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s += 7;
        char *eq = strchr(s, '=');
        if (eq == NULL)
            continue;
        char *kend = eq;
        while (kend > s && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        *kend = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        } else {
            char *hash = strstr(v, " #");
            if (hash)
                *hash = '\0';
            vl = strlen(v);
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                v[--vl] = '\0';
        }
        if (*s && getenv(s) == NULL)
            setenv(s, v, 0);
    }
}

int dscat_dotenv_load(const char *catalog_dir, dscat_error *err)
{
    const char *home = getenv("HOME");
    dscat_buf candidates[3] = {DSCAT_BUF_INIT, DSCAT_BUF_INIT, DSCAT_BUF_INIT};
    dscat_buf_puts(&candidates[0], ".env");
    if (home && *home)
        dscat_buf_printf(&candidates[1], "%s/.env", home);
    dscat_buf_printf(&candidates[2], "%s/.env", catalog_dir);
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) /* a lost name must not skip its file */
        rc = dscat_buf_check(&candidates[i], err, "the .env path");
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (candidates[i].len == 0)
            continue;
        FILE *f = fopen(dscat_buf_cstr(&candidates[i]), "r");
        if (f) {
            dotenv_apply(f);
            fclose(f);
            break;
        }
    }
    for (int i = 0; i < 3; i++)
        dscat_buf_free(&candidates[i]);
    return rc;
}
