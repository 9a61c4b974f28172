/* fuzz_date.c - libFuzzer target for common/datefmt and csv_utf8_valid.
 *
 * The first byte, modulo 5, chooses what the rest is:
 *  0: a date value, parsed in every vote format in UTC. At most one format
 *     may take it (datefmt.h: the formats exclude each other), and what one
 *     takes is checked against the value's own digits by other means
 *     (strtoll; gmtime_r of the answer against the written year, month, day,
 *     hour and minute; a second of 60, a leap second, is the next minute's
 *     first). A format the user names must give the same answer.
 *  1: the same value in America/New_York. A value without an offset is then
 *     4 or 5 hours later in UTC than the same value read in UTC; an epoch
 *     or a value with an offset is the same instant.
 *  2: a --date-format pattern, a newline, a value: compiled and parsed in
 *     both zones, for the sanitizers.
 *  3: bytes for csv_utf8_valid, against a validator written here from the
 *     Unicode rules (no overlongs, no surrogates, nothing past U+10FFFF).
 *  4: seven bytes that make a year, month, day, hour, minute and second
 *     (each a little past its range at times) and a layout (YYYY-MM-DD,
 *     with a time after a space or a T, YYYY/MM/DD hh:mm:ss, YYYYMMDD).
 *     The value must parse exactly when the Gregorian calendar has that
 *     date and the time is on a clock (a second of 60 allowed), and then
 *     give glibc's timegm of it. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "datefmt.h"
#include "fuzz.h"

static tz_zone g_ny;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char msg[256];
    if (tz_open("America/New_York", &g_ny, msg, sizeof msg)) {
        fprintf(stderr, "fuzz_date: %s\n", msg);
        abort();
    }
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return n > 0;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* ts in UTC shows the civil date y-m-d (and h:mi when h >= 0) */
static void expect_civil(int64_t ts, int y, int m, int d, int h, int mi)
{
    time_t t = (time_t)ts;
    struct tm tm;
    EXPECT(gmtime_r(&t, &tm));
    EXPECT(tm.tm_year + 1900 == y && tm.tm_mon + 1 == m && tm.tm_mday == d);
    EXPECT(h < 0 || (tm.tm_hour == h && tm.tm_min == mi));
}

/* An explicit offset or Z after the date part: the instant is not the civil time written. */
static int has_offset(const char *s, size_t n)
{
    for (size_t i = 10; i < n; i++)
        if (s[i] == 'Z' || s[i] == '+' || s[i] == '-') return 1;
    return 0;
}

/* the parsers skip spaces and tabs around a value; the checks do too */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

static int is_epoch(int f) { return f == DF_EPOCH || f == DF_EPOCH_MS; }

static void check_value(const char *s, size_t n)
{
    int64_t ts[DF_N];
    int took = -1, ntook = 0;
    for (int f = 0; f < DF_N; f++) {
        int k = datefmt_parse(f, s, n, NULL, &ts[f]);
        if (k < 0) continue;
        EXPECT(k == TZ_EXACT); /* UTC has no gaps or folds */
        took = f;
        ntook++;
        int64_t g = 0;
        EXPECT(datefmt_parse_given(f, s, n, NULL, &g) >= 0 && g == ts[f]);
    }
    EXPECT(ntook <= 1);
    if (took < 0) return;
    trim(&s, &n);
    int64_t t = ts[took];
    if (is_epoch(took)) {
        char buf[32];
        EXPECT(n < sizeof buf);
        memcpy(buf, s, n);
        buf[n] = '\0';
        char *end = NULL;
        long long v = strtoll(buf, &end, 10);
        EXPECT(*end == '\0');
        size_t nd = n - (s[0] == '-' || s[0] == '+');
        EXPECT(took != DF_EPOCH || (nd >= 9 && nd <= 11 && t == v));
        if (took == DF_EPOCH_MS) {
            long long fl = v / 1000 - (v % 1000 < 0);
            EXPECT(nd >= 12 && nd <= 14 && t == fl);
        }
    } else if (took == DF_YMD8) {
        EXPECT(n == 8 && all_digits(s, 8) && t % 86400 == 0);
        expect_civil(t, num(s, 4), num(s + 4, 2), num(s + 6, 2), -1, 0);
    } else { /* ISO or slashes: YYYY?MM?DD, then perhaps a time */
        EXPECT(n >= 10 && all_digits(s, 4) && all_digits(s + 5, 2) && all_digits(s + 8, 2));
        if (!has_offset(s, n)) {
            int h = -1, mi = 0;
            if (n >= 16) {
                EXPECT(all_digits(s + 11, 2) && all_digits(s + 14, 2));
                h = num(s + 11, 2);
                mi = num(s + 14, 2);
            }
            /* a leap second, hh:mm:60, is the next minute's first: the second before is hh:mm:59 */
            int leap = n >= 19 && s[16] == ':' && s[17] == '6' && s[18] == '0';
            expect_civil(t - leap, num(s, 4), num(s + 5, 2), num(s + 8, 2), h, mi);
        }
    }
}

static void check_zone(const char *s, size_t n)
{
    for (int f = 0; f < DF_N; f++) {
        int64_t u = 0, z = 0;
        int ku = datefmt_parse(f, s, n, NULL, &u), kz = datefmt_parse(f, s, n, &g_ny, &z);
        EXPECT((ku < 0) == (kz < 0)); /* the zone changes the instant, not what parses */
        if (ku < 0) continue;
        EXPECT(kz == TZ_EXACT || kz == TZ_GAP || kz == TZ_FOLD);
        int64_t d = z - u;
        const char *v = s;
        size_t l = n;
        trim(&v, &l);
        if (is_epoch(f) || has_offset(v, l)) {
            EXPECT(d == 0 && kz == TZ_EXACT);
        } else {
            EXPECT(d == 4 * 3600 || d == 5 * 3600); /* EDT or EST */
        }
    }
}

/* UTF-8 by the Unicode rules, byte by byte */
static int ref_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) k = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) k = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) k = 3, cp = c & 0x07;
        else return 0;
        if (n - i - 1 < k) return 0; /* fewer than k bytes follow */
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000)) return 0; /* overlong */
        if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                          /* surrogate */
        if (cp > 0x10FFFF) return 0;
        i += k + 1;
    }
    return 1;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static void check_fields(const uint8_t *b)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 1890 + b[0] % 230, mo = b[1] % 14, d = b[2] % 33, h = b[3] % 26, mi = b[4] % 62, se = b[5] % 62;
    int layout = b[6] % 5, f = layout == 3 ? DF_SLASH : layout == 4 ? DF_YMD8 : DF_ISO;
    int timed = layout == 1 || layout == 2 || layout == 3;
    char v[32];
    switch (layout) {
    case 0: snprintf(v, sizeof v, "%04d-%02d-%02d", y, mo, d); break;
    case 1: snprintf(v, sizeof v, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, se); break;
    case 2: snprintf(v, sizeof v, "%04d-%02d-%02dT%02d:%02d", y, mo, d, h, mi); se = 0; break;
    case 3: snprintf(v, sizeof v, "%04d/%02d/%02d %02d:%02d:%02d", y, mo, d, h, mi, se); break;
    default: snprintf(v, sizeof v, "%04d%02d%02d", y, mo, d); break;
    }
    if (!timed) h = mi = se = 0;
    int valid = mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] + (mo == 2 && leap(y)) &&
                h <= 23 && mi <= 59 && se <= 60;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    int64_t want = (int64_t)timegm(&tm), got = 0;
    int k = datefmt_parse(f, v, strlen(v), NULL, &got);
    EXPECT((k >= 0) == valid);
    EXPECT(!valid || got == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: if (n <= 40) check_value(s, n); break;
    case 1: if (n <= 40) check_zone(s, n); break;
    case 2: {
        const char *nl = memchr(s, '\n', n);
        if (!nl || (size_t)(nl - s) >= DATEFMT_SPEC_MAX) break;
        char pat[DATEFMT_SPEC_MAX];
        memcpy(pat, s, (size_t)(nl - s));
        pat[nl - s] = '\0';
        datefmt_spec sp;
        char msg[256];
        if (datefmt_compile(pat, &sp, msg, sizeof msg)) break;
        int64_t t = 0;
        size_t vl = n - (size_t)(nl - s) - 1;
        datefmt_parse_spec(&sp, nl + 1, vl, NULL, &t);
        datefmt_parse_spec(&sp, nl + 1, vl, &g_ny, &t);
        break;
    }
    case 3:
        EXPECT(!csv_utf8_valid(s, n) == !ref_utf8((const unsigned char *)s, n));
        break;
    case 4:
        if (n >= 7) check_fields(data + 1);
        break;
    }
    return 0;
}
