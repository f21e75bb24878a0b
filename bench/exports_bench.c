/*
 * exports_bench CATALOG_DIR RUNS: medians of wall-clock and CPU time (all threads) of each export
 * of an existing catalog, written into CATALOG_DIR as a refresh writes them: metadata.parquet,
 * DATA_CATALOG_SUMMARY.md, last_scan.json, search.idx (built from the store and written, through
 * dscat_search_index_open), then the whole set (dscat_export_all, the exports' phase of a
 * refresh). bench/exports runs it after a refresh of 10,000 PostgreSQL tables.
 */
#include "dscat/catalog.h"
#include "dscat/common.h"
#include "dscat/find.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 99

enum { PARQUET, SUMMARY, LAST_SCAN, SEARCH_IDX, ALL, NPHASES };
static const char *const names[NPHASES] = {"metadata.parquet", "summary", "last_scan.json",
                                           "search.idx", "all exports"};

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[n / 2];
}

/* Runs one phase on a store of dir opened in mode. Returns 0 or prints why not. */
static int phase(int which, const char *dir, char *path, size_t size)
{
    dscat_error err = {0};
    dscat_store *st = NULL;
    int rc = dscat_store_open(&st, dir, which == ALL ? DSCAT_STORE_WRITE : DSCAT_STORE_READ, &err);
    if (rc == 0) {
        switch (which) {
        case PARQUET:
            snprintf(path, size, "%s/metadata.parquet", dir);
            rc = dscat_export_parquet(st, path, NULL, &err);
            break;
        case SUMMARY:
            snprintf(path, size, "%s/DATA_CATALOG_SUMMARY.md", dir);
            rc = dscat_export_summary(st, path, NULL, &err);
            break;
        case LAST_SCAN:
            snprintf(path, size, "%s/last_scan.json", dir);
            rc = dscat_export_last_scan(st, path, &err);
            break;
        case SEARCH_IDX: {
            dscat_search_index *idx = NULL;
            snprintf(path, size, "%s/search.idx", dir);
            unlink(path); /* so that it is built from the store and written again */
            rc = dscat_search_index_open(&idx, st, dir, DSCAT_SEARCH_INDEX_WRITE, &err);
            dscat_search_index_free(idx);
            break;
        }
        default:
            rc = dscat_export_all(st, dir, &err);
        }
    }
    dscat_store_close(st);
    if (rc)
        fprintf(stderr, "exports_bench: %s: %s\n", names[which], err.message);
    return rc;
}

int main(int argc, char **argv)
{
    dscat_error err = {0};
    int runs = argc == 3 ? atoi(argv[2]) : 0;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: exports_bench CATALOG_DIR RUNS (1-%d)\n", MAX_RUNS);
        return 2;
    }
    if (dscat_global_init(&err)) {
        fprintf(stderr, "exports_bench: %s\n", err.message);
        return 1;
    }
    static double wall[NPHASES][MAX_RUNS], cpu[NPHASES][MAX_RUNS];
    char path[4096];
    for (int r = 0; r < runs; r++)
        for (int p = 0; p < NPHASES; p++) {
            double w = now_ms(CLOCK_MONOTONIC), c = now_ms(CLOCK_PROCESS_CPUTIME_ID);
            if (phase(p, argv[1], path, sizeof(path)))
                return 1;
            wall[p][r] = now_ms(CLOCK_MONOTONIC) - w;
            cpu[p][r] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c;
        }
    for (int p = 0; p < NPHASES; p++)
        printf("%-17s median %7.1f ms wall, %7.1f ms CPU (%d runs)\n", names[p],
               median(wall[p], runs), median(cpu[p], runs), runs);
    dscat_global_shutdown();
    return 0;
}
