/* datefmt.c - strict parsers for the date formats of raw exports. */
#include "datefmt.h"
#include "timeutil.h"

#include <string.h>

const char *const datefmt_names[DF_N] = {"iso", "yyyymmdd", "yyyy/mm/dd", "epoch"};

static int digits(const char *s, size_t n, int64_t *v)
{
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

/* HH:MM[:SS[.fff]] at s, consumed length in *used */
static int parse_time(const char *s, size_t len, int64_t *secs, size_t *used)
{
    int64_t h, m, sec = 0;
    if (len < 5 || s[2] != ':' || digits(s, 2, &h) || digits(s + 3, 2, &m)) return -1;
    size_t p = 5;
    if (len >= 8 && s[5] == ':') {
        if (digits(s + 6, 2, &sec)) return -1;
        p = 8;
        if (p < len && s[p] == '.') {
            p++;
            while (p < len && s[p] >= '0' && s[p] <= '9') p++;
        }
    }
    if (h > 23 || m > 59 || sec > 60) return -1;
    *secs = h * 3600 + m * 60 + sec;
    *used = p;
    return 0;
}

static int parse_offset(const char *s, size_t len, int64_t *off)
{
    int64_t h, m = 0;
    if (len == 1 && s[0] == 'Z') { *off = 0; return 0; }
    if (len < 3 || (s[0] != '+' && s[0] != '-') || digits(s + 1, 2, &h)) return -1;
    if (len == 6 && s[3] == ':') { if (digits(s + 4, 2, &m)) return -1; }
    else if (len == 5) { if (digits(s + 3, 2, &m)) return -1; }
    else if (len != 3) return -1;
    if (h > 18 || m > 59) return -1;
    *off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

/* Two digits at s as a number, or -1. */
static inline int d2(const char *s)
{
    unsigned a = (unsigned)(unsigned char)s[0] - '0', b = (unsigned)(unsigned char)s[1] - '0';
    return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

static int ymd(int64_t y, int64_t m, int64_t d, int64_t *days)
{
    if (!tu_valid_date(y, (int)m, (int)d)) return -1;
    *days = tu_days_from_civil(y, (int)m, (int)d);
    return 0;
}

int datefmt_parse(int f, const char *s, size_t len, const tz_zone *tz, int64_t *ts)
{
    int64_t y, m, d, days, secs = 0, off = 0;
    int local = 1;
    size_t used;
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    switch (f) {
    case DF_ISO:
        /* the common shapes, YYYY-MM-DD and YYYY-MM-DD[T ]HH:MM:SS, without
         * the general walk below (same checks, same result) */
        if ((len == 10 || (len == 19 && (s[10] == ' ' || s[10] == 'T') && s[13] == ':' && s[16] == ':')) &&
            s[4] == '-' && s[7] == '-') {
            int y1 = d2(s), y2 = d2(s + 2), mo = d2(s + 5), da = d2(s + 8);
            if (y1 < 0 || y2 < 0 || mo < 0 || da < 0 || ymd(y1 * 100 + y2, mo, da, &days)) return -1;
            if (len == 19) {
                int hh = d2(s + 11), mi = d2(s + 14), ss = d2(s + 17);
                if (hh < 0 || mi < 0 || ss < 0 || hh > 23 || mi > 59 || ss > 60) return -1;
                secs = hh * 3600 + mi * 60 + ss;
            }
            return tz_to_utc(tz, days * 86400 + secs, ts);
        }
        /* fall through */
    case DF_SLASH: {
        char sep = f == DF_ISO ? '-' : '/';
        if (len < 10 || s[4] != sep || s[7] != sep || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
            digits(s + 8, 2, &d) || ymd(y, m, d, &days))
            return -1;
        size_t p = 10;
        if (p < len) {
            if (!(s[p] == ' ' || (f == DF_ISO && s[p] == 'T'))) return -1;
            p++;
            if (parse_time(s + p, len - p, &secs, &used)) return -1;
            p += used;
            if (p < len) {
                if (f != DF_ISO || parse_offset(s + p, len - p, &off)) return -1;
                local = 0;
            }
        }
        if (local) return tz_to_utc(tz, days * 86400 + secs, ts);
        *ts = days * 86400 + secs - off;
        return TZ_EXACT;
    }
    case DF_YMD8:
        if (len != 8 || digits(s, 4, &y) || digits(s + 4, 2, &m) || digits(s + 6, 2, &d) || ymd(y, m, d, &days))
            return -1;
        return tz_to_utc(tz, days * 86400, ts);
    case DF_EPOCH: {
        int neg = len && s[0] == '-';
        size_t a = (neg || (len && s[0] == '+')) ? 1 : 0;
        if (len - a < 9 || len - a > 11 || digits(s + a, len - a, &y)) return -1;
        *ts = neg ? -y : y;
        return 0;
    }
    }
    return -1;
}

int datefmt_from_name(const char *name)
{
    for (int i = 0; i < DF_N; i++)
        if (strcmp(name, datefmt_names[i]) == 0) return i;
    return -1;
}

int datefmt_tz_offset(const char *tz, int64_t *off)
{
    if (!strcmp(tz, "UTC") || !strcmp(tz, "Z") || !strcmp(tz, "utc")) { *off = 0; return 0; }
    return parse_offset(tz, strlen(tz), off);
}
