/*
 * SQL Server query texts and type names, which run against no server here: bracket quoting of
 * hostile names, the batches' shape, the declared-type mapping and the server name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sources/sqlserver_sql.h"

#include <stdbool.h>
#include <string.h>

/* Reads a bracketed identifier at s back into out; returns the bytes consumed or -1. */
static int unquote(const char *s, char *out, size_t size)
{
    if (*s != '[')
        return -1;
    size_t k = 0;
    for (const char *p = s + 1; *p; p++) {
        if (*p == ']') {
            if (p[1] == ']') {
                p++;
            } else {
                out[k] = '\0';
                return (int)(p - s + 1);
            }
        }
        if (k + 1 >= size)
            return -1;
        out[k++] = *p;
    }
    return -1;
}

static void quoting_round_trips(void **state)
{
    (void)state;
    const char *names[] = {"Orders",       "a]b",        "]]",      "x]; DROP TABLE t; --",
                           "[already]",    "with space", "quote'd", "Ünïcode",
                           "semi;colon.d", "end]",       "]start",  ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        dscat_buf b = DSCAT_BUF_INIT;
        assert_int_equal(dscat_sqlserver__quote_ident(&b, names[i]), 0);
        char back[256];
        int used = unquote(b.ptr, back, sizeof(back));
        assert_int_equal(used, (int)b.len); /* the identifier ends exactly at the end */
        assert_string_equal(back, names[i]);
        dscat_buf_free(&b);
    }
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_sqlserver__quote_ident(&b, "a]b");
    assert_string_equal(b.ptr, "[a]]b]");
    dscat_buf_free(&b);
}

static void batches_use_the_quoted_database(void **state)
{
    (void)state;
    const char *db = "Sales]; SHUTDOWN; --";
    dscat_sqlserver_query qs[] = {DSCAT_MSSQL_TABLES, DSCAT_MSSQL_COLUMNS, DSCAT_MSSQL_KEYS,
                                  DSCAT_MSSQL_USAGE};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        dscat_buf b = DSCAT_BUF_INIT;
        assert_int_equal(dscat_sqlserver__scan_sql(&b, db, qs[i]), 0);
        assert_memory_equal(b.ptr, "USE [", 5);
        char back[256];
        int used = unquote(b.ptr + 4, back, sizeof(back));
        assert_true(used > 0);
        assert_string_equal(back, db);
        assert_memory_equal(b.ptr + 4 + used, "; SELECT ", 9);
        /* The rest of the batch never mentions the database again: no other place to inject. */
        assert_null(strstr(b.ptr + 4 + used, "SHUTDOWN"));
        dscat_buf_free(&b);
    }
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_sqlserver__scan_sql(&b, "db", DSCAT_MSSQL_TABLES);
    assert_non_null(strstr(b.ptr, "index_id IN (0, 1)"));   /* heap or clustered index */
    assert_non_null(strstr(b.ptr, "o.type IN ('U', 'V')")); /* tables and views */
    assert_non_null(strstr(b.ptr, "'MS_Description'"));
    dscat_buf_free(&b);
    assert_non_null(strstr(dscat_sqlserver__databases_sql, "state = 0"));
    assert_non_null(strstr(dscat_sqlserver__databases_sql, "'master', 'tempdb', 'model', 'msdb'"));
}

static void type_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        int64_t len, prec, scale, dtp;
        const char *expected;
    } cases[] = {
        {"varchar", 50, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "varchar(50)"},
        {"nvarchar", -1, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "nvarchar(max)"},
        {"nchar", 10, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "nchar(10)"},
        {"varbinary", -1, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "varbinary(max)"},
        {"binary", 16, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "binary(16)"},
        {"decimal", DSCAT_NULL, 10, 2, DSCAT_NULL, "decimal(10,2)"},
        {"numeric", DSCAT_NULL, 38, 0, DSCAT_NULL, "numeric(38,0)"},
        {"datetime2", DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, 7, "datetime2(7)"},
        {"time", DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, 3, "time(3)"},
        {"datetimeoffset", DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, 7, "datetimeoffset(7)"},
        {"int", DSCAT_NULL, 10, 0, DSCAT_NULL, "int"},
        {"bigint", DSCAT_NULL, 19, 0, DSCAT_NULL, "bigint"},
        {"datetime", DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, 3, "datetime"},
        {"text", 2147483647, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "text"},
        {"uniqueidentifier", DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "uniqueidentifier"},
        {"xml", -1, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "xml"},
        {"bit", DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL, "bit"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dscat_buf out = DSCAT_BUF_INIT;
        assert_int_equal(dscat_sqlserver__column_type(&out, cases[i].type, cases[i].len,
                                                      cases[i].prec, cases[i].scale, cases[i].dtp),
                         0);
        assert_string_equal(dscat_buf_cstr(&out), cases[i].expected);
        dscat_buf_free(&out);
    }
    /* A user-defined type's name of any length is kept whole. */
    char name[1001];
    memset(name, 'u', 1000);
    name[1000] = '\0';
    dscat_buf out = DSCAT_BUF_INIT;
    assert_int_equal(
        dscat_sqlserver__column_type(&out, name, 16, DSCAT_NULL, DSCAT_NULL, DSCAT_NULL), 0);
    assert_string_equal(dscat_buf_cstr(&out), name);
    dscat_buf_free(&out);
}

static void server_names(void **state)
{
    (void)state;
    dscat_buf b = DSCAT_BUF_INIT;
    dscat_sqlserver__server_name(&b, "sql1", 0, NULL);
    assert_string_equal(b.ptr, "sql1:1433");
    dscat_buf_reset(&b);
    dscat_sqlserver__server_name(&b, "sql1", 14330, NULL);
    assert_string_equal(b.ptr, "sql1:14330");
    dscat_buf_reset(&b);
    dscat_sqlserver__server_name(&b, "sql1", 0, "REPORTING");
    assert_string_equal(b.ptr, "sql1\\REPORTING");
    dscat_buf_free(&b);
}

static int quote(dscat_buf *b, const char *name, void *payload)
{
    (void)payload;
    return dscat_sqlserver__quote_ident(b, name);
}

static void profile_query(void **state)
{
    (void)state;
    dscat_db_scan scan;
    assert_int_equal(dscat_db_scan_init(&scan, "Orders"), 0);
    size_t t;
    dscat_table_info ti = {.schema = "dbo", .name = "Order]Lines", .type = "BASE TABLE"};
    assert_int_equal(dscat_db_scan_add_table(&scan, &ti, &t), 0);
    const char *names[] = {"Id", "Note", "Qty"};
    const char *types[] = {"int", "ntext", "decimal"};
    for (int i = 0; i < 3; i++) {
        dscat_column_info c = {
            .table = t, .name = names[i], .ordinal = i + 1, .data_type = types[i], .is_pk = i == 0};
        assert_int_equal(dscat_db_scan_add_column(&scan, &c), 0);
    }
    size_t cols[] = {0, 1, 2}, prof[3];
    dscat_profile_dialect d = {quote, true, dscat_sqlserver__profileable, NULL, 4096, NULL};
    size_t np = dscat_profile_columns(&d, &scan, cols, 3, prof);
    assert_int_equal(np, 2); /* ntext is not profiled: COUNT(DISTINCT) fails on it */
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_profile_sql(&b, &d, NULL, &scan, t, cols, 3, prof, np, 1000), 0);
    assert_string_equal(b.ptr, "SELECT count(*), count(*) - count([Id]), count(DISTINCT [Id]), "
                               "count(*) - count([Qty]), count(DISTINCT [Qty]) FROM (SELECT TOP "
                               "1000 [Id], [Qty] FROM [dbo].[Order]]Lines] ORDER BY [Id]) AS "
                               "sample");
    /* A column the driver marks unprofileable (unreadable, no ordering) is left out alone. */
    scan.columns.items[2].unprofileable = true;
    assert_int_equal(dscat_profile_columns(&d, &scan, cols, 3, prof), 1);
    dscat_buf_free(&b);
    dscat_db_scan_free(&scan);
}

/* The row cursor's SELECT: each column in its text form, hostile names quoted. */
static void cursor_select(void **state)
{
    (void)state;
    const dscat_cursor_column cols[] = {
        {"id", false, "int", false},
        {"when", false, "datetime2", false},
        {"at", false, "datetimeoffset", false},
        {"f", false, "float", false},
        {"m", false, "money", false},
        {"b]x", true, "varbinary", false},
        {"g", false, "geography", false},
        {"n", false, "nvarchar", false},
        {"d", false, "date", false},
    };
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_sqlserver__select_sql(&b, "dbo", "o]rders", cols, 9), 0);
    assert_string_equal(
        dscat_buf_cstr(&b),
        "SELECT CONVERT(nvarchar(max), [id]), CONVERT(varchar(33), [when], 126), "
        "CONVERT(varchar(40), [at], 126), CONVERT(varchar(30), [f], 3), "
        "CONVERT(varchar(30), [m], 2), "
        "CONVERT(varchar(max), CONVERT(varbinary(max), [b]]x]), 2), "
        "[g].ToString(), CONVERT(nvarchar(max), [n]), CONVERT(varchar(10), [d], 23) "
        "FROM [dbo].[o]]rders]");
    dscat_buf_free(&b);
}

/*
 * Computed columns: the column batch's 13th field says STORED for a persisted computed column
 * (sys.computed_columns.is_persisted), VIRTUAL for another, NULL for an ordinary column, matched
 * by object and column id; the decoding gives the column no default then.
 */
static void computed_columns(void **state)
{
    (void)state;
    dscat_buf b = DSCAT_BUF_INIT;
    assert_int_equal(dscat_sqlserver__scan_sql(&b, "db", DSCAT_MSSQL_COLUMNS), 0);
    const char *sel = strstr(b.ptr, "SELECT ");
    const char *from = strstr(b.ptr, " FROM INFORMATION_SCHEMA.COLUMNS c ");
    assert_non_null(sel);
    assert_non_null(from);
    int depth = 0, fields = 1;
    bool quoted = false;
    for (const char *p = sel; p < from; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (!quoted && *p == '(')
            depth++;
        else if (!quoted && *p == ')')
            depth--;
        else if (!quoted && depth == 0 && *p == ',')
            fields++;
    }
    assert_int_equal(fields, 13);
    const char *last = "CASE WHEN cc.is_persisted = 1 THEN 'STORED' WHEN cc.column_id IS NOT NULL "
                       "THEN 'VIRTUAL' END FROM INFORMATION_SCHEMA.COLUMNS";
    assert_non_null(strstr(b.ptr, last));
    assert_non_null(strstr(b.ptr, "LEFT JOIN sys.computed_columns cc "));
    assert_non_null(strstr(b.ptr, "AND cc.column_id = COLUMNPROPERTY("));
    dscat_buf_free(&b);
    assert_string_equal(dscat_sqlserver__generated("STORED"), "STORED");
    assert_string_equal(dscat_sqlserver__generated("VIRTUAL"), "VIRTUAL");
    assert_null(dscat_sqlserver__generated(NULL));
    assert_null(dscat_sqlserver__generated(""));
    assert_null(dscat_sqlserver__generated("PERSISTED"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoting_round_trips), cmocka_unit_test(batches_use_the_quoted_database),
        cmocka_unit_test(type_mapping),        cmocka_unit_test(server_names),
        cmocka_unit_test(profile_query),       cmocka_unit_test(cursor_select),
        cmocka_unit_test(computed_columns),
    };
    return cmocka_run_group_tests_name("sqlserver", tests, NULL, NULL);
}
