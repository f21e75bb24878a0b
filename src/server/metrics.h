/*
 * GET /metrics: the Prometheus text exposition format (version 0.0.4) of one `dscat serve`
 * process. Counters and histograms are this process's (requests, refreshes, searches, queries,
 * since it started) and always exposed; the gauges are read from the catalog at each scrape (last
 * successful scan per target and refresh per cached table, pending deletions), so that every
 * instance sharing a store reports the same figures for them. Thread-safe.
 */
#ifndef DSCAT_SERVER_METRICS_H
#define DSCAT_SERVER_METRICS_H

#include "core/buf.h"
#include "dscat/api.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dscat_metrics dscat_metrics;

/* A new registry with every counter at zero. NULL when out of memory. */
dscat_metrics *dscat_metrics__new(void);
void dscat_metrics__free(dscat_metrics *m);

/* One HTTP request answered: its route as the API documents it ("/search", "/tables/{...}"...,
 * "unmatched" for none) and status. */
void dscat_metrics__request(dscat_metrics *m, const char *route, unsigned status);
/*
 * One refresh ended: kind "schema" or "data", ok or failed, its duration, and for a data refresh
 * the rows and bytes written.
 */
void dscat_metrics__refresh(dscat_metrics *m, const char *kind, bool ok, double seconds,
                            int64_t rows, int64_t bytes);
/* One search or query ("search", "query") answered in `seconds`. */
void dscat_metrics__latency(dscat_metrics *m, const char *what, double seconds);

/*
 * Appends the exposition to out: the counters and histograms, dscat_store_up, then the gauges
 * read from cat. A store that does not answer is no error: dscat_store_up is 0 and its gauges are
 * left out. 0, or DSCAT_ENOMEM with err filled when memory ran out (out is then not to be sent).
 */
int dscat_metrics__render(dscat_buf *out, dscat_metrics *m, dscat_catalog *cat, dscat_error *err);

#endif
