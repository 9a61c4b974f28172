/* timeutil.c - civil date conversions (H. Hinnant's days_from_civil algorithm). */
#include "timeutil.h"

#include <stdio.h>

int64_t tu_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = tu_floordiv(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tu_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = tu_floordiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tu_valid_date(int64_t y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

void tu_format_datetime(int64_t ts, char *out, size_t cap)
{
    int64_t days = tu_floordiv(ts, 86400), sec = ts - days * 86400, y;
    int m, d;
    tu_civil_from_days(days, &y, &m, &d);
    snprintf(out, cap, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

void tu_format_date(int64_t ts, char *out, size_t cap)
{
    int64_t y;
    int m, d;
    tu_civil_from_days(tu_floordiv(ts, 86400), &y, &m, &d);
    snprintf(out, cap, "%04lld-%02d-%02d", (long long)y, m, d);
}
