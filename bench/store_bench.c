/*
 * bench/store_bench: the store's write of a catalog, without a source. A synthetic database of
 * TABLES tables x 21 columns (each table but the first with a foreign key) is written into a new
 * store (a first refresh), then again unchanged until the store holds 20 scans (steady state),
 * then with one table changed. Prints wall and CPU milliseconds, medians where there are several
 * runs. Not a test: it prints figures.
 *   build/store_bench DIR [TABLES [first]]   ("first": the first write only, for a profiler)
 */
#include "core/model.h"
#include "dscat/config.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static void die(const char *what, const dscat_error *err)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static void make_scan(dscat_db_scan *d, int ntables, int changed)
{
    static const char *const types[] = {"integer", "text", "numeric", "timestamp with time zone",
                                        "character varying"};
    if (dscat_db_scan_init(d, "bench"))
        die("scan", NULL);
    d->scanned_at_us = 1;
    char name[32], prev[32], col[32];
    for (int i = 0; i < ntables; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        dscat_table_info t = {.schema = "public",
                              .name = name,
                              .type = "BASE TABLE",
                              .row_estimate = 1000 + i,
                              .size_bytes = 8192,
                              .last_modified_us = DSCAT_NULL};
        size_t ti = 0;
        if (dscat_db_scan_add_table(d, &t, &ti))
            die("table", NULL);
        for (int c = 0; c < 21 + (i == changed); c++) {
            snprintf(col, sizeof(col), c == 0 ? "id" : "c%d", c);
            dscat_column_info ci = {.table = ti,
                                    .name = col,
                                    .ordinal = c + 1,
                                    .data_type = types[c % 5],
                                    .column_type = types[c % 5],
                                    .nullable = c > 0,
                                    .is_pk = c == 0,
                                    .default_value = c % 5 == 1 ? "0" : NULL,
                                    .max_length = c % 5 == 4 ? 80 : DSCAT_NULL,
                                    .precision = c % 5 == 2 ? 12 : DSCAT_NULL,
                                    .scale = c % 5 == 2 ? 2 : DSCAT_NULL,
                                    .null_count = DSCAT_NULL,
                                    .distinct_count = DSCAT_NULL,
                                    .profiled_rows = DSCAT_NULL};
            if (dscat_db_scan_add_column(d, &ci))
                die("column", NULL);
        }
        if (i > 0) {
            snprintf(prev, sizeof(prev), "t%d", i - 1);
            dscat_fk_info fk = {.table = ti,
                                .column = "c20",
                                .ref_schema = "public",
                                .ref_table = prev,
                                .ref_column = "id"};
            if (dscat_db_scan_add_fk(d, &fk))
                die("fk", NULL);
        }
    }
}

/* One refresh's write: scan row, database, current pointer, prune, statistics. */
static void write_scan(dscat_store *st, dscat_db_scan *d, double *wall, double *cpu)
{
    dscat_target_config cfg = {.key = "bench", .name = "bench", .type = "postgres"};
    dscat_target_report rep = {.target = "bench", .status = DSCAT_SCAN_OK, .databases = 1};
    dscat_scan_row row = {"run", &cfg, &rep, 1, 2, false};
    dscat_error err = {0};
    int64_t id = 0;
    double w0 = wall_ms(), c0 = cpu_ms();
    if (dscat_store__begin(st, &err) || dscat_store__insert_scan(st, &row, &id, &err) ||
        dscat_store__insert_database(st, id, d, &err) ||
        dscat_store__set_current(st, "bench", id, &err) ||
        dscat_store__prune(st, "bench", 20, &err) || dscat_store__analyze(st, &err) ||
        dscat_store__commit(st, &err))
        die("write", &err);
    *wall = wall_ms() - w0;
    *cpu = cpu_ms() - c0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_bench DIR [TABLES]\n");
        return 2;
    }
    int ntables = argc > 2 ? atoi(argv[2]) : 10000;
    dscat_error err = {0};
    dscat_store *st = NULL;
    if (dscat_store__global_init(&err) || dscat_store_open(&st, argv[1], DSCAT_STORE_WRITE, &err))
        die("open", &err);
    dscat_db_scan same, changed;
    make_scan(&same, ntables, -1);
    make_scan(&changed, ntables, ntables / 2);
    double w[20], c[20];
    write_scan(st, &same, &w[0], &c[0]);
    printf("store_bench: %d tables x 21 columns\n", ntables);
    printf("first write (new store):          %8.1f ms wall, %8.1f ms CPU\n", w[0], c[0]);
    if (argc > 3 && strcmp(argv[3], "first") == 0)
        return 0;
    for (int i = 1; i < 20; i++)
        write_scan(st, &same, &w[i], &c[i]);
    qsort(w + 1, 19, sizeof(double), cmp);
    qsort(c + 1, 19, sizeof(double), cmp);
    printf("unchanged, median of 19 (to 20):  %8.1f ms wall, %8.1f ms CPU\n", w[10], c[10]);
    write_scan(st, &changed, &w[0], &c[0]);
    printf("one table changed, store full:    %8.1f ms wall, %8.1f ms CPU\n", w[0], c[0]);
    dscat_db_scan_free(&same);
    dscat_db_scan_free(&changed);
    dscat_store_close(st);
    return 0;
}
