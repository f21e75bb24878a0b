/*
 * search_bench CATALOG_DIR QUERIES_FILE: p50/p99 of dscat's in-process search over the store,
 * beside DuckDB scanning metadata.parquet with the older tool's query for the same keywords,
 * both in this process. One query per line; keywords separated by spaces.
 */
#include "core/buf.h"
#include "dscat/find.h"

#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t n)
{
    qsort(t, n, sizeof(double), cmp);
    printf("%-44s p50 %8.3f ms   p99 %8.3f ms   (%zu queries)\n", what, t[n / 2],
           t[(size_t)((double)n * 0.99)], n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: search_bench CATALOG_DIR QUERIES_FILE\n");
        return 2;
    }
    dscat_error err = {0};
    dscat_store *st = NULL;
    dscat_search_index *idx = NULL;
    double t0 = now_ms();
    if (dscat_global_init(&err) || dscat_store_open(&st, argv[1], DSCAT_STORE_READ, &err) ||
        dscat_search_index_load(&idx, st, argv[1], &err)) {
        fprintf(stderr, "search_bench: %s\n", err.message);
        return 1;
    }
    printf("index load: %.1f ms for %zu columns\n", now_ms() - t0, dscat_search_index_columns(idx));
    FILE *f = fopen(argv[2], "r");
    char line[512];
    char *queries[2000];
    size_t n = 0;
    while (f && n < 2000 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        queries[n++] = strdup(line);
    }
    if (f)
        fclose(f);
    double *times = calloc(n + 1, sizeof(double));
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *kw[] = {queries[i]};
        dscat_search_options o = {.keywords = kw, .nkeywords = 1, .top = 20};
        dscat_search_result r;
        double a = now_ms();
        dscat_search(&r, idx, &o, &err);
        times[i] = now_ms() - a;
        hits += r.count;
        dscat_search_result_free(&r);
    }
    report("dscat search, in-process (index in memory)", times, n);

    /* DuckDB over metadata.parquet: the older tool's per-column scoring, as SQL. */
    duckdb_database db;
    duckdb_connection con;
    idx_t duck_rows = 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/metadata.parquet", argv[1]);
    duckdb_open(NULL, &db);
    duckdb_connect(db, &con);
    for (size_t i = 0; i < n; i++) {
        dscat_buf sql = DSCAT_BUF_INIT, score = DSCAT_BUF_INIT;
        dscat_buf_puts(&score, "0");
        char *copy = strdup(queries[i]), *save = NULL;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            dscat_buf_printf(&score,
                             " + 3 * contains(lower(table_name), '%s')::INT + 2 * "
                             "contains(lower(column_name), '%s')::INT + "
                             "contains(lower(\"database\"), '%s')::INT",
                             w, w, w);
        free(copy);
        dscat_buf_printf(&sql,
                         "SELECT * FROM (SELECT *, (%s) AS s FROM read_parquet('%s')) WHERE s > 0 "
                         "ORDER BY s + 2 * is_primary_key::INT + is_foreign_key::INT DESC, "
                         "row_count_estimate DESC LIMIT 20",
                         dscat_buf_cstr(&score), path);
        duckdb_result res;
        double a = now_ms();
        if (duckdb_query(con, dscat_buf_cstr(&sql), &res) == DuckDBError) {
            fprintf(stderr, "search_bench: DuckDB: %s\n", duckdb_result_error(&res));
            return 1;
        }
        times[i] = now_ms() - a;
        duck_rows += duckdb_row_count(&res);
        duckdb_destroy_result(&res);
        dscat_buf_free(&sql);
        dscat_buf_free(&score);
    }
    report("DuckDB scanning metadata.parquet, in-process", times, n);
    printf("(rows returned over all queries: dscat %zu, DuckDB %llu)\n", hits,
           (unsigned long long)duck_rows);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    dscat_search_index_free(idx);
    dscat_store_close(st);
    return 0;
}
