#include "sources/mysql_sql.h"

#include "dscat/common.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

size_t dscat_mysql__session_settings(dscat_mysql_setting *out, const char *server_info,
                                     unsigned long server_version, int query_timeout)
{
    size_t n = 0;
    out[n] = (dscat_mysql_setting){.name = "time_zone", .essential = true};
    snprintf(out[n++].assignment, sizeof(out->assignment), "time_zone = '+00:00'");
    /* MariaDB numbers its versions from 10.0 (100000), past MySQL 8's 80000: named first. */
    if (server_info && strstr(server_info, "MariaDB")) {
        out[n] = (dscat_mysql_setting){.name = "max_statement_time"};
        snprintf(out[n++].assignment, sizeof(out->assignment), "max_statement_time = %d",
                 query_timeout > 0 ? query_timeout : 0);
    } else if (server_version >= 80000) {
        out[n] = (dscat_mysql_setting){.name = "information_schema_stats_expiry"};
        snprintf(out[n++].assignment, sizeof(out->assignment),
                 "information_schema_stats_expiry = 0");
    }
    return n;
}

int dscat_mysql__set_sql(dscat_buf *b, const dscat_mysql_setting *settings, size_t n)
{
    int rc = dscat_buf_puts(b, "SET ");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            rc = dscat_buf_puts(b, ", ");
        rc = rc ? rc : dscat_buf_puts(b, settings[i].assignment);
    }
    return rc || dscat_buf_error(b) ? DSCAT_ENOMEM : 0;
}

/* Builds the SET of settings[0..n) into b (reset first) and runs it. */
static int run_set(dscat_buf *b, const dscat_mysql_setting *settings, size_t n,
                   dscat_mysql_exec_fn exec, void *payload)
{
    dscat_buf_reset(b);
    int rc = dscat_mysql__set_sql(b, settings, n);
    return rc ? rc : exec(dscat_buf_cstr(b), payload);
}

int dscat_mysql__prepare_session(const dscat_mysql_setting *settings, size_t n,
                                 dscat_mysql_exec_fn exec, void *payload, size_t *refused)
{
    dscat_buf b = DSCAT_BUF_INIT;
    int rc = run_set(&b, settings, n, exec, payload);
    if (rc > 0 && n == 1)
        *refused = 0;
    else if (rc > 0) {
        /* Refused as a whole: each alone; only an essential one's refusal fails. */
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            int one = run_set(&b, &settings[i], 1, exec, payload);
            if (one < 0 || (one > 0 && settings[i].essential)) {
                *refused = i;
                rc = one;
            }
        }
    }
    dscat_buf_free(&b);
    return rc;
}

const char *dscat_mysql__generated(const char *extra)
{
    if (extra == NULL || *extra == '\0')
        return NULL;
    /* EXTRA may carry other marks too (MariaDB's "VIRTUAL GENERATED, INVISIBLE"): matched as
     * words. */
    static const struct {
        const char *word, *kind;
    } kinds[] = {{"STORED GENERATED", "STORED"},
                 {"PERSISTENT GENERATED", "STORED"},
                 {"VIRTUAL GENERATED", "VIRTUAL"}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t len = strlen(kinds[i].word);
        for (const char *p = extra; *p; p++)
            if ((p == extra || p[-1] == ' ' || p[-1] == ',') &&
                strncasecmp(p, kinds[i].word, len) == 0 &&
                (p[len] == '\0' || p[len] == ' ' || p[len] == ','))
                return kinds[i].kind;
    }
    return NULL;
}
