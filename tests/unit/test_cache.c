/*
 * The data cache's times of pending deletions (src/cache/cache.c): delete_after is written in
 * whole seconds, rounded up so that no version is deleted before its grace has passed, and the
 * rows written before in the same form still read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache/internal.h"
#include "core/timeutil.h"

#include <string.h>
#include <time.h>

/* delete_after is never before now + the grace, and never a second or more after it. */
static void test_delete_after_never_early(void **state)
{
    (void)state;
    const int64_t grace = 3;
    for (int i = 0; i < 200; i++) {
        char when[40];
        int64_t before = dscat_now_us();
        dscat_cache__iso_after(grace, when, sizeof(when));
        int64_t after = dscat_now_us(), due = 0;
        assert_true(dscat_cache__parse_iso(when, &due));
        assert_true(due >= before + grace * 1000000);
        assert_true(due < after + grace * 1000000 + 1000000);
        assert_int_equal(due % 1000000, 0);
        assert_int_equal(strlen(when), strlen("2026-01-01T00:00:00Z"));
        if (i % 20 == 0) { /* over more than one fraction of a second */
            struct timespec nap = {0, 37 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
    }
}

/* No grace (a retry, deletion_grace_seconds = 0) is due at once, not at the next second. */
static void test_no_grace_due_now(void **state)
{
    (void)state;
    char when[40];
    dscat_cache__iso_after(0, when, sizeof(when));
    int64_t now = dscat_now_us(), due = 0;
    assert_true(dscat_cache__parse_iso(when, &due));
    assert_true(due <= now);
}

/* The form of the rows already in stores (and of the tests' own inserts) still reads. */
static void test_delete_after_old_rows(void **state)
{
    (void)state;
    int64_t us = 0;
    assert_true(dscat_cache__parse_iso("2026-01-01T00:00:00Z", &us));
    assert_int_equal(us, (int64_t)1767225600 * 1000000);
    assert_true(dscat_cache__parse_iso("2000-01-01T00:00:00Z", &us));
    assert_int_equal(us, (int64_t)946684800 * 1000000);
    assert_false(dscat_cache__parse_iso("not a time", &us));
    assert_false(dscat_cache__parse_iso("2026-01-01T00:00:00", &us));
    assert_false(dscat_cache__parse_iso("2026-01-01T00:00:00Z trailing", &us));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_after_never_early),
        cmocka_unit_test(test_no_grace_due_now),
        cmocka_unit_test(test_delete_after_old_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
