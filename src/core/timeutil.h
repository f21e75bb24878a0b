/* Wall-clock helpers: UTC microseconds, and the ISO forms that the exports use. */
#ifndef DSCAT_CORE_TIMEUTIL_H
#define DSCAT_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Now, in microseconds since the epoch (UTC). */
int64_t dscat_now_us(void);
/* Monotonic milliseconds, for durations. */
int64_t dscat_monotonic_ms(void);
/* "2026-01-25T14:32:00.123456": local time, no offset (the older tool's form). */
void dscat_format_local_iso(int64_t us, char *out, size_t size);
/* "2026-01-25T13:32:00Z". */
void dscat_format_utc_iso(int64_t us, char *out, size_t size);
/* strftime over local time of us. */
void dscat_format_local(int64_t us, const char *fmt, char *out, size_t size);

#endif
