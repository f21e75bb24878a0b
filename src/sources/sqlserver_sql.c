#include "sources/sqlserver_sql.h"

#include <stdio.h>
#include <string.h>

const char *const dscat_sqlserver__databases_sql =
    "SELECT name FROM sys.databases WHERE state = 0 "
    "AND name NOT IN ('master', 'tempdb', 'model', 'msdb') ORDER BY name";

static const char *const tables_sql =
    "SELECT s.name, o.name, o.type, p.rows, a.bytes, CAST(ep.value AS NVARCHAR(4000)) "
    "FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id "
    "LEFT JOIN (SELECT object_id, SUM(rows) AS rows FROM sys.partitions "
    "  WHERE index_id IN (0, 1) GROUP BY object_id) p ON p.object_id = o.object_id "
    "LEFT JOIN (SELECT pa.object_id, SUM(au.total_pages) * CAST(8192 AS BIGINT) AS bytes "
    "  FROM sys.partitions pa JOIN sys.allocation_units au ON au.container_id = pa.partition_id "
    "  GROUP BY pa.object_id) a ON a.object_id = o.object_id "
    "LEFT JOIN sys.extended_properties ep ON ep.class = 1 AND ep.major_id = o.object_id "
    "  AND ep.minor_id = 0 AND ep.name = 'MS_Description' "
    "WHERE o.type IN ('U', 'V') AND o.is_ms_shipped = 0 "
    "AND s.name NOT IN ('sys', 'INFORMATION_SCHEMA')";

/*
 * A computed column (sys.computed_columns, matched by object and column id as the comment is)
 * is STORED when it is persisted, else VIRTUAL: field 12, NULL for an ordinary column.
 */
static const char *const columns_sql =
    "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.ORDINAL_POSITION, c.DATA_TYPE, "
    "c.IS_NULLABLE, c.COLUMN_DEFAULT, c.CHARACTER_MAXIMUM_LENGTH, c.NUMERIC_PRECISION, "
    "c.NUMERIC_SCALE, c.DATETIME_PRECISION, CAST(ep.value AS NVARCHAR(4000)), "
    "CASE WHEN cc.is_persisted = 1 THEN 'STORED' WHEN cc.column_id IS NOT NULL THEN 'VIRTUAL' "
    "END "
    "FROM INFORMATION_SCHEMA.COLUMNS c "
    "LEFT JOIN sys.extended_properties ep ON ep.class = 1 AND ep.name = 'MS_Description' "
    "  AND ep.major_id = OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME)) "
    "  AND ep.minor_id = COLUMNPROPERTY(OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + "
    "  QUOTENAME(c.TABLE_NAME)), c.COLUMN_NAME, 'ColumnId') "
    "LEFT JOIN sys.computed_columns cc "
    "  ON cc.object_id = OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME)) "
    "  AND cc.column_id = COLUMNPROPERTY(OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + "
    "  QUOTENAME(c.TABLE_NAME)), c.COLUMN_NAME, 'ColumnId') "
    "WHERE c.TABLE_SCHEMA NOT IN ('sys', 'INFORMATION_SCHEMA')";

/* Primary keys ('P') and foreign keys ('F') in one result, in key order. */
static const char *const keys_sql =
    "SELECT 'P', s.name, t.name, c.name, NULL, NULL, NULL, NULL, ic.key_ordinal "
    "FROM sys.indexes i JOIN sys.index_columns ic ON ic.object_id = i.object_id "
    "  AND ic.index_id = i.index_id "
    "JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
    "JOIN sys.tables t ON t.object_id = i.object_id JOIN sys.schemas s ON s.schema_id = "
    "t.schema_id "
    "WHERE i.is_primary_key = 1 "
    "UNION ALL "
    "SELECT 'F', ps.name, pt.name, pc.name, rs.name, rt.name, rc.name, fk.name, "
    "  fkc.constraint_column_id "
    "FROM sys.foreign_key_columns fkc "
    "JOIN sys.foreign_keys fk ON fk.object_id = fkc.constraint_object_id "
    "JOIN sys.tables pt ON pt.object_id = fkc.parent_object_id "
    "JOIN sys.schemas ps ON ps.schema_id = pt.schema_id "
    "JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id "
    "  AND pc.column_id = fkc.parent_column_id "
    "JOIN sys.tables rt ON rt.object_id = fkc.referenced_object_id "
    "JOIN sys.schemas rs ON rs.schema_id = rt.schema_id "
    "JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id "
    "  AND rc.column_id = fkc.referenced_column_id "
    "ORDER BY 1, 2, 3, 8, 9";

/* The last data change per table, as seconds since the epoch (UTC). */
static const char *const usage_sql =
    "SELECT s.name, t.name, DATEDIFF_BIG(SECOND, '1970-01-01', "
    "  DATEADD(MINUTE, -DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), MAX(u.last_user_update))) "
    "FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id "
    "JOIN sys.dm_db_index_usage_stats u ON u.object_id = t.object_id "
    "  AND u.database_id = DB_ID() "
    "WHERE u.last_user_update IS NOT NULL GROUP BY s.name, t.name";

int dscat_sqlserver__quote_ident(dscat_buf *b, const char *name)
{
    int rc = dscat_buf_putc(b, '[');
    for (const char *p = name; *p && rc == 0; p++)
        rc = *p == ']' ? dscat_buf_puts(b, "]]") : dscat_buf_putc(b, *p);
    return rc ? rc : dscat_buf_putc(b, ']');
}

int dscat_sqlserver__scan_sql(dscat_buf *b, const char *database, dscat_sqlserver_query q)
{
    static const char *const texts[] = {tables_sql, columns_sql, keys_sql, usage_sql};
    int rc = dscat_buf_puts(b, "USE ");
    if (rc == 0)
        rc = dscat_sqlserver__quote_ident(b, database);
    if (rc == 0)
        rc = dscat_buf_puts(b, "; ");
    return rc ? rc : dscat_buf_puts(b, texts[q]);
}

int dscat_sqlserver__column_type(dscat_buf *out, const char *data_type, int64_t max_length,
                                 int64_t precision, int64_t scale, int64_t datetime_precision)
{
    static const char *const sized[] = {"char",     "varchar", "nchar",
                                        "nvarchar", "binary",  "varbinary"};
    for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++)
        if (strcmp(data_type, sized[i]) == 0 && max_length != DSCAT_NULL) {
            if (max_length == -1)
                return dscat_buf_printf(out, "%s(max)", data_type);
            return dscat_buf_printf(out, "%s(%lld)", data_type, (long long)max_length);
        }
    if ((strcmp(data_type, "decimal") == 0 || strcmp(data_type, "numeric") == 0) &&
        precision != DSCAT_NULL && scale != DSCAT_NULL) {
        return dscat_buf_printf(out, "%s(%lld,%lld)", data_type, (long long)precision,
                                (long long)scale);
    }
    if ((strcmp(data_type, "datetime2") == 0 || strcmp(data_type, "time") == 0 ||
         strcmp(data_type, "datetimeoffset") == 0) &&
        datetime_precision != DSCAT_NULL) {
        return dscat_buf_printf(out, "%s(%lld)", data_type, (long long)datetime_precision);
    }
    return dscat_buf_puts(out, data_type);
}

int dscat_sqlserver__server_name(dscat_buf *b, const char *host, int port, const char *instance)
{
    if (instance && *instance)
        return dscat_buf_printf(b, "%s\\%s", host, instance);
    return dscat_buf_printf(b, "%s:%d", host, port ? port : 1433);
}

bool dscat_sqlserver__profileable(const char *data_type)
{
    static const char *const no[] = {"text",      "ntext",      "image",       "xml",
                                     "geography", "geometry",   "hierarchyid", "varbinary",
                                     "binary",    "sql_variant"};
    return !dscat_profile_type_in(data_type, no, sizeof(no) / sizeof(no[0]));
}

/* How one column becomes text: "%s" is the quoted column. */
static const char *text_form(const dscat_cursor_column *c)
{
    static const struct {
        const char *type, *form;
    } forms[] = {
        {"datetime", "CONVERT(varchar(33), %s, 126)"},
        {"datetime2", "CONVERT(varchar(33), %s, 126)"},
        {"smalldatetime", "CONVERT(varchar(33), %s, 126)"},
        {"datetimeoffset", "CONVERT(varchar(40), %s, 126)"},
        {"date", "CONVERT(varchar(10), %s, 23)"},
        {"time", "CONVERT(varchar(16), %s)"},
        {"float", "CONVERT(varchar(30), %s, 3)"},
        {"real", "CONVERT(varchar(30), %s, 3)"},
        {"money", "CONVERT(varchar(30), %s, 2)"},
        {"smallmoney", "CONVERT(varchar(30), %s, 2)"},
        {"geography", "%s.ToString()"},
        {"geometry", "%s.ToString()"},
        {"hierarchyid", "%s.ToString()"},
    };
    if (c->hex)
        return "CONVERT(varchar(max), CONVERT(varbinary(max), %s), 2)";
    const char *t = c->data_type ? c->data_type : "";
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        if (strcmp(t, forms[i].type) == 0)
            return forms[i].form;
    return "CONVERT(nvarchar(max), %s)";
}

int dscat_sqlserver__select_sql(dscat_buf *b, const char *schema, const char *table,
                                const dscat_cursor_column *columns, size_t ncolumns)
{
    int rc = dscat_buf_puts(b, "SELECT ");
    dscat_buf q = DSCAT_BUF_INIT;
    for (size_t i = 0; i < ncolumns && rc == 0; i++) {
        dscat_buf_reset(&q);
        const char *form = text_form(&columns[i]);
        const char *at = strstr(form, "%s");
        rc = dscat_sqlserver__quote_ident(&q, columns[i].name);
        rc = rc ? rc : dscat_buf_puts(b, i ? ", " : "");
        rc = rc ? rc : dscat_buf_put(b, form, (size_t)(at - form));
        rc = rc ? rc : dscat_buf_puts(b, dscat_buf_cstr(&q));
        rc = rc ? rc : dscat_buf_puts(b, at + 2);
    }
    dscat_buf_free(&q);
    rc = rc ? rc : dscat_buf_puts(b, " FROM ");
    rc = rc ? rc : dscat_sqlserver__quote_ident(b, schema);
    rc = rc ? rc : dscat_buf_putc(b, '.');
    rc = rc ? rc : dscat_sqlserver__quote_ident(b, table);
    return rc ? DSCAT_ENOMEM : 0;
}

const char *dscat_sqlserver__generated(const char *computed)
{
    if (computed && strcmp(computed, "STORED") == 0)
        return "STORED";
    if (computed && strcmp(computed, "VIRTUAL") == 0)
        return "VIRTUAL";
    return NULL;
}
