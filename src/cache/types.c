#include "cache/types.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int dscat_cache_quote_ident(dscat_buf *b, const char *name)
{
    int rc = dscat_buf_putc(b, '"');
    for (const char *p = name; *p && rc == 0; p++)
        rc = *p == '"' ? dscat_buf_puts(b, "\"\"") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, '"');
}

typedef struct mapping {
    const char *source_type;
    const char *duck_type;
} mapping;

static const mapping postgres_types[] = {
    {"smallint", "SMALLINT"},
    {"integer", "INTEGER"},
    {"bigint", "BIGINT"},
    {"real", "FLOAT"},
    {"double precision", "DOUBLE"},
    {"boolean", "BOOLEAN"},
    {"date", "DATE"},
    {"timestamp without time zone", "TIMESTAMP"},
    {"timestamp with time zone", "TIMESTAMPTZ"},
    {"time without time zone", "TIME"},
    {"uuid", "UUID"},
    {"json", "JSON"},
    {"jsonb", "JSON"},
    {"text", "VARCHAR"},
    {"character varying", "VARCHAR"},
    {"character", "VARCHAR"},
};

static const mapping mysql_types[] = {
    {"tinyint", "TINYINT"},       {"smallint", "SMALLINT"},  {"mediumint", "INTEGER"},
    {"int", "INTEGER"},           {"bigint", "BIGINT"},      {"float", "FLOAT"},
    {"double", "DOUBLE"},         {"date", "DATE"},          {"datetime", "TIMESTAMP"},
    {"timestamp", "TIMESTAMPTZ"}, {"year", "SMALLINT"},      {"json", "JSON"},
    {"varchar", "VARCHAR"},       {"char", "VARCHAR"},       {"text", "VARCHAR"},
    {"tinytext", "VARCHAR"},      {"mediumtext", "VARCHAR"}, {"longtext", "VARCHAR"},
    {"enum", "VARCHAR"},          {"set", "VARCHAR"},
};

/* MySQL unsigned integers need the next wider DuckDB type or its unsigned twin. */
static const mapping mysql_unsigned[] = {
    {"tinyint", "UTINYINT"}, {"smallint", "USMALLINT"}, {"mediumint", "UINTEGER"},
    {"int", "UINTEGER"},     {"bigint", "UBIGINT"},
};

static const mapping sqlserver_types[] = {
    {"tinyint", "UTINYINT"},
    {"smallint", "SMALLINT"},
    {"int", "INTEGER"},
    {"bigint", "BIGINT"},
    {"real", "FLOAT"},
    {"float", "DOUBLE"},
    {"bit", "BOOLEAN"},
    {"money", "DECIMAL(19,4)"},
    {"smallmoney", "DECIMAL(10,4)"},
    {"date", "DATE"},
    {"datetime", "TIMESTAMP"},
    {"datetime2", "TIMESTAMP"},
    {"smalldatetime", "TIMESTAMP"},
    {"datetimeoffset", "TIMESTAMPTZ"},
    {"time", "TIME"},
    {"uniqueidentifier", "UUID"},
    {"char", "VARCHAR"},
    {"varchar", "VARCHAR"},
    {"text", "VARCHAR"},
    {"nchar", "VARCHAR"},
    {"nvarchar", "VARCHAR"},
    {"ntext", "VARCHAR"},
};

bool dscat_sqlserver_binary(const char *data_type)
{
    static const char *const names[] = {"binary", "varbinary", "image", "timestamp", "rowversion"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(data_type, names[i]) == 0)
            return true;
    return false;
}

static const char *lookup(const mapping *m, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].source_type, type) == 0)
            return m[i].duck_type;
    return NULL;
}

/* SQLite: by type affinity (the rules of sqlite.org/datatype3.html, section 3.1). */
static void sqlite_type(cache_column *c, const char *declared)
{
    char t[128];
    size_t k = 0;
    for (const char *p = declared ? declared : ""; *p && k + 1 < sizeof(t); p++)
        t[k++] = (char)toupper((unsigned char)*p);
    t[k] = '\0';
    const char *duck = "VARCHAR";
    if (strstr(t, "INT"))
        duck = "BIGINT";
    else if (strstr(t, "CHAR") || strstr(t, "CLOB") || strstr(t, "TEXT"))
        duck = "VARCHAR";
    else if (strstr(t, "BLOB") || t[0] == '\0')
        duck = t[0] ? "BLOB" : "VARCHAR";
    else if (strstr(t, "REAL") || strstr(t, "FLOA") || strstr(t, "DOUB"))
        duck = "DOUBLE";
    snprintf(c->duck_type, sizeof(c->duck_type), "%s", duck);
    c->hex = strcmp(duck, "BLOB") == 0;
}

void dscat_cache_map_type(cache_column *c, dscat_source_type source, const char *data_type,
                          const char *column_type, int precision, int scale)
{
    const char *dt = data_type ? data_type : "";
    const char *duck = NULL;
    c->hex = false;
    snprintf(c->source_type, sizeof(c->source_type), "%s", dt);
    switch (source) {
    case DSCAT_SOURCE_SQLITE:
        sqlite_type(c, column_type);
        return;
    case DSCAT_SOURCE_POSTGRES:
        if (strcmp(dt, "bytea") == 0) {
            duck = "BLOB";
            c->hex = true;
        } else if (strcmp(dt, "numeric") == 0 && precision > 0 && precision <= 38 && scale >= 0) {
            snprintf(c->duck_type, sizeof(c->duck_type), "DECIMAL(%d,%d)", precision, scale);
            return;
        } else {
            duck = lookup(postgres_types, sizeof(postgres_types) / sizeof(postgres_types[0]), dt);
        }
        break;
    case DSCAT_SOURCE_MYSQL:
        if (strstr(dt, "blob") || strcmp(dt, "binary") == 0 || strcmp(dt, "varbinary") == 0 ||
            strcmp(dt, "bit") == 0) {
            duck = "BLOB";
            c->hex = true;
        } else if ((strcmp(dt, "decimal") == 0) && precision > 0 && precision <= 38 && scale >= 0) {
            snprintf(c->duck_type, sizeof(c->duck_type), "DECIMAL(%d,%d)", precision, scale);
            return;
        } else if (column_type && strstr(column_type, "unsigned")) {
            duck = lookup(mysql_unsigned, sizeof(mysql_unsigned) / sizeof(mysql_unsigned[0]), dt);
        } else {
            duck = lookup(mysql_types, sizeof(mysql_types) / sizeof(mysql_types[0]), dt);
        }
        break;
    case DSCAT_SOURCE_SQLSERVER:
        if (dscat_sqlserver_binary(dt)) {
            duck = "BLOB";
            c->hex = true;
        } else if ((strcmp(dt, "decimal") == 0 || strcmp(dt, "numeric") == 0) && precision > 0 &&
                   precision <= 38 && scale >= 0) {
            snprintf(c->duck_type, sizeof(c->duck_type), "DECIMAL(%d,%d)", precision, scale);
            return;
        } else {
            duck =
                lookup(sqlserver_types, sizeof(sqlserver_types) / sizeof(sqlserver_types[0]), dt);
        }
        break;
    }
    /* Everything without a faithful counterpart (intervals, arrays, enums, numerics without
     * precision or wider than 38 digits, ...) is kept as its text: never rounded, never lost. */
    snprintf(c->duck_type, sizeof(c->duck_type), "%s", duck ? duck : "VARCHAR");
}
