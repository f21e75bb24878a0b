/*
 * The configuration entries of drivers, for the two kinds of address a target has: a server
 * (host, port, user, password from the environment) or a database file (a path). The checks run
 * when targets.toml is loaded; the resolution when a target is scanned.
 */
#include "sources/source.h"

#include "core/alloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True for the bytes of a host name, an IPv4 address or an IPv6 zone: letters, digits, ".-_". */
static bool name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '-' || ch == '_';
}

/* v[0..n) is a port: 1 to 5 digits. */
static bool port_ok(const char *v, size_t n)
{
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

/* v[0..n) is an IPv6 address, optionally with a zone ("fe80::1%eth0"): inet_pton's check. */
static bool ipv6_ok(const char *v, size_t n)
{
    const char *zone = memchr(v, '%', n);
    size_t a = zone ? (size_t)(zone - v) : n;
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    if (a == 0 || a >= sizeof(buf))
        return false;
    for (const char *z = zone ? zone + 1 : NULL; z && z < v + n; z++)
        if (!name_char((unsigned char)*z))
            return false;
    if (zone && zone + 1 == v + n)
        return false;
    memcpy(buf, v, a);
    buf[a] = '\0';
    return inet_pton(AF_INET6, buf, &addr) == 1;
}

/*
 * v[0..n) is one server address: a host name or IPv4 address with an optional ":port", an IPv6
 * address, or "[IPv6]" with an optional ":port". Anything else (a URI, a connection string, a
 * .pgpass line, "user:password@host") is refused, so that a value printed in a message as the
 * host can never hold a password.
 */
static bool host_item_ok(const char *v, size_t n)
{
    if (n == 0)
        return false;
    if (v[0] == '[') {
        const char *close = memchr(v, ']', n);
        if (close == NULL || !ipv6_ok(v + 1, (size_t)(close - v - 1)))
            return false;
        size_t rest = n - (size_t)(close + 1 - v);
        return rest == 0 || (close[1] == ':' && port_ok(close + 2, rest - 1));
    }
    const char *colon = memchr(v, ':', n);
    if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - v)))
        return ipv6_ok(v, n); /* two colons or more: an IPv6 address or nothing */
    size_t name = colon ? (size_t)(colon - v) : n;
    if (name == 0)
        return false;
    for (size_t i = 0; i < name; i++)
        if (!name_char((unsigned char)v[i]))
            return false;
    return colon == NULL || port_ok(colon + 1, n - name - 1);
}

/*
 * A Unix socket directory or path: absolute, printable ASCII, and none of the bytes a URI or a
 * connection string needs ("@", "=", ":", ";", quotes, white space), so that a mistaken
 * "/run/x password=y" is refused like any other connection string.
 */
static bool socket_path_ok(const char *v)
{
    if (v[0] != '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("@=:;'\"\\", *p))
            return false;
    return true;
}

bool dscat_source__host_ok(const char *v, unsigned flags)
{
    if (v == NULL || *v == '\0')
        return false;
    if ((flags & DSCAT_HOST_SOCKET) && v[0] == '/')
        return socket_path_ok(v);
    const char *instance = (flags & DSCAT_HOST_INSTANCE) ? strchr(v, '\\') : NULL;
    size_t n = instance ? (size_t)(instance - v) : strlen(v);
    if (n == 0)
        return false;
    /* A list (PostgreSQL: "db1,db2:5433"): each item an address of its own. */
    for (size_t at = 0; at <= n;) {
        const char *comma = (flags & DSCAT_HOST_LIST) ? memchr(v + at, ',', n - at) : NULL;
        size_t len = comma ? (size_t)(comma - (v + at)) : n - at;
        if (!host_item_ok(v + at, len))
            return false;
        if (comma == NULL)
            break;
        at += len + 1;
    }
    if (instance == NULL)
        return true;
    /* An instance name: letters, digits, "_", "$", "-" (SQL Server's rules, loosely). */
    const char *p = instance + 1;
    if (*p == '\0')
        return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '$' || *p == '-'))
            return false;
    return true;
}

/*
 * True when v holds a keyword of a connection string: a word at its start or after white space
 * or ';', then optional blanks and '=' ("dbname=app", "reader password = x").
 */
static bool has_keyword(const char *v)
{
    for (const char *p = v; *p; p++) {
        if (p != v && !strchr(" \t;", p[-1]))
            continue;
        size_t n = 0;
        while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_')
            n++;
        while (n > 0 && (p[n] == ' ' || p[n] == '\t'))
            n++;
        if (n > 0 && p[n] == '=')
            return true;
    }
    return false;
}

/*
 * A user name may hold spaces and apostrophes (PostgreSQL's CREATE ROLE "app user", MariaDB's
 * 'o''brien'): every driver passes it as a value, never inside a connection string. Refused is
 * what a pasted connection string, URI or login line looks like: a keyword ("password=",
 * "user=reader ..."), "://", "user:password" or "user/password", ';' (ODBC's "Uid=x;Pwd=y"), a
 * double quote, a control byte, and '@' after white space ("reader secret@db"): "reader@server"
 * alone is Azure SQL's form of a user name, and "alice@corp.example.com" a directory user's.
 */
bool dscat_source__user_ok(const char *v)
{
    if (v == NULL || *v == '\0')
        return false;
    bool blank = false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < ' ' || *p == 0x7f || strchr(":/;\"", *p))
            return false;
        if (*p == ' ')
            blank = true;
        else if (*p == '@' && blank)
            return false;
    }
    return !has_keyword(v);
}

void dscat_source__scrub_user(char *msg, size_t size, const char *user)
{
    if (user == NULL || strchr(user, ' ') == NULL || size == 0)
        return;
    static const char mark[] = "(the configured user)";
    size_t ulen = strlen(user), o = 0;
    char *out = dscat_malloc(size);
    if (out == NULL) {
        snprintf(msg, size, "the server's message is withheld: it names the user");
        return;
    }
    for (const char *p = msg; *p && o + 1 < size;) {
        if (strncmp(p, user, ulen) == 0) {
            for (const char *m = mark; *m && o + 1 < size; m++)
                out[o++] = *m;
            p += ulen;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    memcpy(msg, out, o + 1);
    dscat_free(out);
}

bool dscat_source__database_ok(const char *v)
{
    if (v == NULL)
        return true;
    if (strstr(v, "://"))
        return false;
    return !has_keyword(v);
}

/* The end of the messages that refuse a value: what it must be, never the value itself. */
#define HOST_ONLY                                                                                  \
    "must hold only a host name (a name or an IP address, optionally with :port), not a URI "      \
    "or a connection string; the password comes only from password_env"
#define USER_ONLY                                                                                  \
    "must hold only a user name, not a password, a URI or a connection string; the password "      \
    "comes only from password_env"

int dscat_source__check_server(const dscat_target_config *t, bool login, unsigned flags, char *msg,
                               size_t size)
{
    if (!t->host && !t->host_env) {
        snprintf(msg, size, "target '%s' needs 'host_env'", t->key);
        return -1;
    }
    if (t->host && !dscat_source__host_ok(t->host, flags)) {
        snprintf(msg, size, "key 'host' of target '%s' " HOST_ONLY, t->key);
        return -1;
    }
    if (t->user && !dscat_source__user_ok(t->user)) {
        snprintf(msg, size, "key 'user' of target '%s' " USER_ONLY, t->key);
        return -1;
    }
    if (!dscat_source__database_ok(t->database)) {
        snprintf(msg, size,
                 "key 'database' of target '%s' must hold only a database name, not a URI or a "
                 "connection string",
                 t->key);
        return -1;
    }
    if (login && !t->user && !t->user_env) {
        snprintf(msg, size, "target '%s' needs 'user_env'", t->key);
        return -1;
    }
    if (login && !t->password_env) {
        snprintf(msg, size, "target '%s' needs 'password_env'", t->key);
        return -1;
    }
    if (t->port < 0 || t->port > 65535) {
        snprintf(msg, size, "key 'port' of target '%s' is out of range", t->key);
        return -1;
    }
    return 0;
}

int dscat_source__check_file(const dscat_target_config *t, char *msg, size_t size)
{
    if (!t->path && !t->path_env) {
        snprintf(msg, size, "target '%s' needs 'path' or 'path_env'", t->key);
        return -1;
    }
    return 0;
}

/* Reads variable `var` into *out; NULL var leaves *out NULL. A set-but-missing one fails. */
static int from_env(char **out, const char *var, const char *target, dscat_error *err)
{
    *out = NULL;
    if (var == NULL)
        return 0;
    const char *v = getenv(var);
    if (v == NULL || *v == '\0')
        return dscat_error_set(err, DSCAT_EUNSET, "target %s: environment variable %s is not set",
                               target, var);
    if ((*out = dscat_strdup(v)) == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    return 0;
}

/* Splits "host:port" or (instances) "host\instance"; "[v6]:port" keeps its brackets out. */
static int split_host(dscat_target_conn *c, const dscat_target_config *t, bool instances,
                      dscat_error *err)
{
    char *h = c->host;
    char *bs = instances ? strchr(h, '\\') : NULL;
    if (bs) {
        *bs = '\0';
        if ((c->instance = dscat_strdup(bs + 1)) == NULL)
            return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        return 0;
    }
    char *colon = NULL;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (close && close[1] == ':')
            colon = close + 1;
        if (close) {
            memmove(h, h + 1, (size_t)(close - h - 1));
            close[-1] = '\0';
        }
    } else if (strchr(h, ':') == strrchr(h, ':')) {
        colon = strchr(h, ':');
    }
    if (colon) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
            return dscat_error_set(err, DSCAT_EINVALID, "target %s: host has an invalid port",
                                   t->key);
        *colon = '\0';
        c->port = (int)port;
    }
    return 0;
}

/*
 * Names every unset variable among vars[0..n) in one message, as the older tool did ("Missing
 * environment variables: A, B, C"), so that one run shows everything to set. 0 when all are set.
 */
static int missing_variables(const dscat_target_config *t, const char *const *vars, size_t n,
                             dscat_error *err)
{
    char names[1024] = "";
    size_t len = 0, missing = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = vars[i] ? getenv(vars[i]) : NULL;
        if (vars[i] == NULL || (v && *v))
            continue;
        int w = snprintf(names + len, sizeof(names) - len, "%s%s", missing ? ", " : "", vars[i]);
        if (w > 0 && (size_t)w < sizeof(names) - len)
            len += (size_t)w;
        missing++;
    }
    if (missing == 0)
        return 0;
    return dscat_error_set(err, DSCAT_EUNSET, "target %s: environment variable%s %s %s not set",
                           t->key, missing > 1 ? "s" : "", names, missing > 1 ? "are" : "is");
}

int dscat_source__resolve_file(dscat_target_conn *out, const dscat_target_config *t,
                               dscat_error *err)
{
    const char *vars[] = {t->path == NULL ? t->path_env : NULL};
    int rc;
    if ((rc = missing_variables(t, vars, 1, err)))
        return rc;
    if (t->path)
        out->path = dscat_strdup(t->path);
    else if ((rc = from_env(&out->path, t->path_env, t->key, err)))
        return rc;
    return out->path ? 0 : dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
}

int dscat_source__resolve_server(dscat_target_conn *out, const dscat_target_config *t,
                                 unsigned flags, dscat_error *err)
{
    const char *vars[] = {t->host == NULL ? t->host_env : NULL,
                          t->user == NULL ? t->user_env : NULL, t->password_env, t->port_env};
    int rc;
    if ((rc = missing_variables(t, vars, sizeof(vars) / sizeof(vars[0]), err)))
        return rc;
    if (t->host)
        out->host = dscat_strdup(t->host);
    else if ((rc = from_env(&out->host, t->host_env, t->key, err)))
        goto fail;
    if (t->user)
        out->user = dscat_strdup(t->user);
    else if ((rc = from_env(&out->user, t->user_env, t->key, err)))
        goto fail;
    if ((rc = from_env(&out->password, t->password_env, t->key, err)))
        goto fail;
    out->port = t->port;
    if (t->port_env) {
        char *p = NULL;
        if ((rc = from_env(&p, t->port_env, t->key, err)))
            goto fail;
        char *end = NULL;
        long port = strtol(p, &end, 10);
        bool valid = end != p && *end == '\0' && port >= 1 && port <= 65535;
        dscat_free(p);
        if (!valid) {
            rc = dscat_error_set(err, DSCAT_EINVALID,
                                 "target %s: environment variable %s is not a port number", t->key,
                                 t->port_env);
            goto fail;
        }
        out->port = (int)port;
    }
    if (out->host == NULL) {
        rc = dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
        goto fail;
    }
    /* Checked before anything is contacted, and refused without echoing: a value that is not a
     * host or a user name may be a whole URI or connection string, password included. */
    if (!dscat_source__host_ok(out->host, flags)) {
        rc = dscat_error_set(err, DSCAT_ECONFIG, "target %s: %s%s " HOST_ONLY, t->key,
                             t->host ? "key 'host'" : "environment variable ",
                             t->host ? "" : t->host_env);
        goto fail;
    }
    if (out->user && !dscat_source__user_ok(out->user)) {
        rc = dscat_error_set(err, DSCAT_ECONFIG, "target %s: %s%s " USER_ONLY, t->key,
                             t->user ? "key 'user'" : "environment variable ",
                             t->user ? "" : t->user_env);
        goto fail;
    }
    if ((rc = split_host(out, t, (flags & DSCAT_HOST_INSTANCE) != 0, err)))
        goto fail;
    return 0;
fail:
    dscat_target_conn_free(out);
    return rc;
}

void dscat_target_conn_free(dscat_target_conn *conn)
{
    if (conn->password) {
        explicit_bzero(conn->password, strlen(conn->password));
        dscat_free(conn->password);
    }
    dscat_free(conn->host);
    dscat_free(conn->instance);
    dscat_free(conn->user);
    dscat_free(conn->path);
    memset(conn, 0, sizeof(*conn));
}

const char *dscat_source__file_database(const dscat_target_config *t, char *buf, size_t size)
{
    const char *path = t->path ? t->path : (t->path_env ? getenv(t->path_env) : NULL);
    if (path == NULL)
        return NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(buf, size, "%.*s", (int)n, base);
    return buf;
}
