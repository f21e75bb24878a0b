/*
 * Test hooks (see testhooks.h): compiled once without DSCAT_TEST_HOOKS for the release binary,
 * where every hook is an empty function, and once with it for everything the tests run.
 */
#include "core/testhooks.h"

#include <stddef.h>

#ifdef DSCAT_TEST_HOOKS

#include "core/text.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dscat_test__crash_at(const char *stage)
{
    const char *at = getenv("DSCAT_TEST_CRASH_AT");
    if (at && strcmp(at, stage) == 0)
        raise(SIGKILL);
}

int64_t dscat_test__orphan_age_s(int64_t fallback)
{
    return dscat_text_ll_or(getenv("DSCAT_TEST_ORPHAN_AGE"), 0, INT32_MAX, fallback);
}

int64_t dscat_test__store_lock_wait_s(int64_t fallback)
{
    return dscat_text_ll_or(getenv("DSCAT_TEST_STORE_LOCK_WAIT"), 1, 3600, fallback);
}

int64_t dscat_test__shutdown_wait_s(int64_t fallback)
{
    return dscat_text_ll_or(getenv("DSCAT_TEST_SHUTDOWN_WAIT"), 1, 3600, fallback);
}

const char *dscat_test__pg_store(void)
{
    const char *u = getenv("DSCAT_TEST_PG_STORE");
    return u && *u ? u : NULL;
}

/*
 * Allocation faults, as curl's torture tests and SQLite's fault tests do them: every dscat_
 * allocation (jansson's included) is counted, and the one whose number DSCAT_TEST_FAIL_ALLOC
 * names returns NULL. Unit tests set a countdown instead (dscat_alloc_fail_after). The
 * environment is read by a constructor, before main and before any thread.
 */
static atomic_long alloc_count;
static long alloc_fail_at;              /* from the environment; 0 = never */
static atomic_long fail_countdown = -1; /* from dscat_alloc_fail_after */
static const char *report_file;
static _Thread_local bool shielded;

void dscat_test__alloc_shield(bool on)
{
    shielded = on;
}

static void report_count(void)
{
    FILE *f = fopen(report_file, "w");
    if (f) {
        fprintf(f, "%ld\n", atomic_load(&alloc_count));
        fclose(f);
    }
}

__attribute__((constructor)) static void read_environment(void)
{
    alloc_fail_at = (long)dscat_text_ll_or(getenv("DSCAT_TEST_FAIL_ALLOC"), 1, INT64_MAX, 0);
    report_file = getenv("DSCAT_TEST_ALLOC_REPORT");
    if (report_file && *report_file)
        atexit(report_count);
}

void dscat_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

/* In a sanitizer build: where the failing allocation is, for DSCAT_TEST_ALLOC_TRACE=1. */
extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

int dscat_test__alloc_fails(void)
{
    long n = atomic_fetch_add(&alloc_count, 1) + 1;
    if (shielded)
        return 0;
    if (alloc_fail_at && n == alloc_fail_at) {
        const char *trace = getenv("DSCAT_TEST_ALLOC_TRACE");
        if (trace && *trace == '1' && __sanitizer_print_stack_trace)
            __sanitizer_print_stack_trace();
        return 1;
    }
    if (atomic_load(&fail_countdown) < 0)
        return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 0;
}

#else

void dscat_test__crash_at(const char *stage)
{
    (void)stage;
}

int64_t dscat_test__orphan_age_s(int64_t fallback)
{
    return fallback;
}

int64_t dscat_test__store_lock_wait_s(int64_t fallback)
{
    return fallback;
}

int64_t dscat_test__shutdown_wait_s(int64_t fallback)
{
    return fallback;
}

const char *dscat_test__pg_store(void)
{
    return NULL;
}

int dscat_test__alloc_fails(void)
{
    return 0;
}

void dscat_test__alloc_shield(bool on)
{
    (void)on;
}

#endif
