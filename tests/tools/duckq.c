/*
 * duckq SQL: runs SQL through DuckDB (in memory, no extensions) and prints the result as
 * tab-separated lines, NULL as \N. Tests use it to read dscat's Parquet files independently of
 * dscat's own code.
 */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: duckq SQL\n");
        return 2;
    }
    duckdb_database db;
    duckdb_connection con;
    duckdb_config config;
    duckdb_create_config(&config);
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_set_config(config, "autoload_known_extensions", "false");
    char *msg = NULL;
    if (duckdb_open_ext(NULL, &db, config, &msg) == DuckDBError ||
        duckdb_connect(db, &con) == DuckDBError) {
        fprintf(stderr, "duckq: cannot open DuckDB: %s\n", msg ? msg : "?");
        return 1;
    }
    duckdb_destroy_config(&config);
    /* Values are printed as DuckDB's own text for them: cast in SQL when the statement can be a
     * subquery, else run as written. */
    duckdb_result res;
    size_t n = strlen(argv[1]) + 64;
    char *wrapped = malloc(n);
    snprintf(wrapped, n, "SELECT COLUMNS(*)::VARCHAR FROM (%s)", argv[1]);
    duckdb_state st = duckdb_query(con, wrapped, &res);
    free(wrapped);
    if (st == DuckDBError) {
        duckdb_destroy_result(&res);
        st = duckdb_query(con, argv[1], &res);
    }
    if (st == DuckDBError) {
        fprintf(stderr, "duckq: %s\n", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return 1;
    }
    idx_t rows = duckdb_row_count(&res), cols = duckdb_column_count(&res);
    for (idx_t r = 0; r < rows; r++) {
        for (idx_t c = 0; c < cols; c++) {
            if (c)
                putchar('\t');
            if (duckdb_value_is_null(&res, c, r)) {
                fputs("\\N", stdout);
                continue;
            }
            char *v = duckdb_value_varchar(&res, c, r);
            fputs(v ? v : "?", stdout);
            duckdb_free(v);
        }
        putchar('\n');
    }
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return 0;
}
