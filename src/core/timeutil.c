#include "core/timeutil.h"

#include <stdio.h>
#include <time.h>

int64_t dscat_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t dscat_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static time_t seconds_of(int64_t us)
{
    return (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
}

static long micros_of(int64_t us)
{
    long m = (long)(us % 1000000);
    return m < 0 ? m + 1000000 : m;
}

void dscat_format_local_iso(int64_t us, char *out, size_t size)
{
    time_t s = seconds_of(us);
    struct tm tm;
    localtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%06ld", base, micros_of(us));
}

void dscat_format_utc_iso(int64_t us, char *out, size_t size)
{
    time_t s = seconds_of(us);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dscat_format_local(int64_t us, const char *fmt, char *out, size_t size)
{
    time_t s = seconds_of(us);
    struct tm tm;
    localtime_r(&s, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strftime(out, size, fmt, &tm);
#pragma GCC diagnostic pop
    if (n == 0 && size)
        out[0] = '\0';
}
