/*
 * Test hooks. The library calls these at the points tests need to reach; the functions live in
 * src/core/testhooks.c, which is not part of libdscat.a but linked twice: without
 * DSCAT_TEST_HOOKS into the release binary (every hook does nothing and no DSCAT_TEST_*
 * variable is ever read), and with it into the test binary ($BUILD/test/dscat), the unit tests,
 * the tools and the fuzzers. Environment of the test build:
 *   DSCAT_TEST_CRASH_AT=<stage>     the process kills itself (SIGKILL) at that stage
 *   DSCAT_TEST_ORPHAN_AGE=<seconds> how old an unreferenced cache version must be to go
 *   DSCAT_TEST_FAIL_ALLOC=<n>       allocation number n (from 1) of the process fails, once
 *   DSCAT_TEST_ALLOC_REPORT=<file>  at exit, the number of allocations is written to file
 *   DSCAT_TEST_ALLOC_TRACE=1        the failing allocation prints its stack (sanitizer builds)
 *   DSCAT_TEST_PG_STORE=<uri>       every catalog directory's store is PostgreSQL at uri, in a
 *                                   schema of its own (named from the directory's path)
 *   DSCAT_TEST_STORE_LOCK_WAIT=<s>  every lock wait of the PostgreSQL store is bounded by s
 *                                   seconds instead of its own bound
 *   DSCAT_TEST_SHUTDOWN_WAIT=<s>    dscat serve, stopping, waits s seconds for what still runs
 *                                   instead of 30
 */
#ifndef DSCAT_CORE_TESTHOOKS_H
#define DSCAT_CORE_TESTHOOKS_H

#include <stdbool.h>
#include <stdint.h>

/* Kills the process when DSCAT_TEST_CRASH_AT names `stage`. */
void dscat_test__crash_at(const char *stage);

/* DSCAT_TEST_ORPHAN_AGE in seconds, or `fallback` (always, in the release build). */
int64_t dscat_test__orphan_age_s(int64_t fallback);

/* DSCAT_TEST_STORE_LOCK_WAIT in seconds, or `fallback` (always, in the release build). */
int64_t dscat_test__store_lock_wait_s(int64_t fallback);

/* DSCAT_TEST_SHUTDOWN_WAIT in seconds, or `fallback` (always, in the release build). */
int64_t dscat_test__shutdown_wait_s(int64_t fallback);

/* DSCAT_TEST_PG_STORE, or NULL (always, in the release build). */
const char *dscat_test__pg_store(void);

/* Counts one allocation; nonzero when it is the one to fail. Called by src/core/alloc.c only. */
int dscat_test__alloc_fails(void);

/*
 * Between dscat_test__alloc_shield(true) and (false) no allocation of the calling thread is made
 * to fail (they are still counted). Only for calls into a library that cannot survive a failed
 * allocation, said where it is used; does nothing in the release build.
 */
void dscat_test__alloc_shield(bool on);

/*
 * For unit tests: the allocation after `n` more succeed fails (one only); a negative n turns
 * failures off. Exists in the test build only.
 */
void dscat_alloc_fail_after(long n);

#endif
