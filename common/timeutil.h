/* timeutil.h - proleptic Gregorian calendar arithmetic on UTC seconds.
 *
 * DESIGN
 * Pure integer functions (no locale, no TZ database, no libc time state), so
 * results are identical on every rank and machine. Days are counted from
 * 1970-01-01. None of these functions is collective; none can fail unless
 * stated.
 */
#ifndef PRECIS_TIMEUTIL_H
#define PRECIS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t tu_days_from_civil(int64_t y, int m, int d);
void tu_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* Nonzero if y-m-d is a real calendar date. */
int tu_valid_date(int64_t y, int m, int d);
/* "YYYY-MM-DD HH:MM:SS" (19 chars + NUL); out needs 20 bytes for years 0-9999. */
void tu_format_datetime(int64_t ts, char *out, size_t cap);
/* "YYYY-MM-DD" */
void tu_format_date(int64_t ts, char *out, size_t cap);
/* floor division that works for negative numbers */
static inline int64_t tu_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif
