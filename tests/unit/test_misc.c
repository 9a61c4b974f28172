/* test_misc.c - opts, slots, input lists and calendar arithmetic (serial; nsize 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "datefmt.h"
#include "hugemem.h"
#include "inputs.h"
#include "opts.h"
#include "rsort.h"
#include "slots.h"
#include "strdict.h"
#include "timeutil.h"
#include "tz.h"
#include "kmeans.h"

typedef struct {
    int64_t n;
    double x;
    char *mode;
    int flag;
    opt_list maps;
} topts;

static opt_spec g_specs[5];
static opt_cmd g_cmd;

static void release(void) { opts_free(&g_cmd); }

static int parse(topts *o, int argc, char **argv, precis_err *e)
{
    release();
    const opt_spec specs[] = {
        {"n", OPT_INT, &o->n, "5", "a count", 1, 100, NULL},
        {"x", OPT_DOUBLE, &o->x, "0.5", "a rate", 0, 1, NULL},
        {"mode", OPT_STR, &o->mode, "net", "refund mode", 0, 0, "net|reject"},
        {"flag", OPT_FLAG, &o->flag, NULL, "a flag", 0, 0, NULL},
        {"map", OPT_LIST, &o->maps, NULL, "a mapping", 0, 0, NULL},
    };
    memcpy(g_specs, specs, sizeof specs);
    g_cmd = (opt_cmd){"t", "test", "t --n 3", g_specs, 5};
    perr_clear(e);
    int rc = opts_parse(&g_cmd, argc, argv, 1, e);
    return rc;
}

static void test_opts(void **st)
{
    (void)st;
    topts o;
    memset(&o, 0, sizeof o);
    precis_err e;
    char *a1[] = {"t", NULL};
    assert_int_equal(parse(&o, 1, a1, &e), 0);
    assert_int_equal(o.n, 5);
    assert_string_equal(o.mode, "net");
    /* config file, then the command line wins */
    const char *cfg = "/tmp/precis-test-opts.conf";
    FILE *f = fopen(cfg, "w");
    fprintf(f, "# comment\nn = 7\nx=0.25\nflag = true\nmap = a=b\n");
    fclose(f);
    char *a2[] = {"t", "--config", (char *)cfg, "--n", "9", "--map", "c=d", NULL};
    assert_int_equal(parse(&o, 7, a2, &e), 0);
    assert_int_equal(o.n, 9);
    assert_true(o.x == 0.25);
    assert_int_equal(o.flag, 1);
    assert_int_equal(o.maps.n, 2);
    assert_string_equal(o.maps.v[0], "a=b");
    assert_string_equal(o.maps.v[1], "c=d");
    /* errors: exit code 2 and the option named */
    char *a3[] = {"t", "--bogus", NULL};
    assert_int_equal(parse(&o, 2, a3, &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_USAGE);
    assert_non_null(strstr(e.msg, "--bogus"));
    char *a4[] = {"t", "--n", "abc", NULL};
    assert_int_equal(parse(&o, 3, a4, &e), -1);
    assert_non_null(strstr(e.msg, "--n"));
    char *a5[] = {"t", "--n", "1000", NULL};
    assert_int_equal(parse(&o, 3, a5, &e), -1);
    char *a6[] = {"t", "--mode", "drop", NULL};
    assert_int_equal(parse(&o, 3, a6, &e), -1);
    assert_non_null(strstr(e.msg, "net|reject"));
    char *a7[] = {"t", "--n", NULL};
    assert_int_equal(parse(&o, 2, a7, &e), -1);
    f = fopen(cfg, "w");
    fprintf(f, "nope = 1\n");
    fclose(f);
    char *a8[] = {"t", "--config", (char *)cfg, NULL};
    assert_int_equal(parse(&o, 3, a8, &e), -1);
    assert_non_null(strstr(e.msg, ":1:"));
    /* a key twice in one file is an error naming both lines; a repeatable
     * option adds each line */
    f = fopen(cfg, "w");
    fprintf(f, "n = 7\nmap = a=b\n# two maps\nmap = c=d\nx = 0.25\n--n = 8\n");
    fclose(f);
    assert_int_equal(parse(&o, 3, a8, &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_USAGE);
    assert_non_null(strstr(e.msg, ":6: 'n' is given again (first on line 1)"));
    f = fopen(cfg, "w");
    fprintf(f, "n = 7\nmap = a=b\nmap = c=d\nx = 0.25\n");
    fclose(f);
    assert_int_equal(parse(&o, 3, a8, &e), 0);
    assert_int_equal(o.n, 7);
    assert_int_equal(o.maps.n, 2);
    remove(cfg);
    release();
}

static void test_slots(void **st)
{
    (void)st;
    /* powers of two (a shift), others (a 64-bit division: ALS item slots), and one
     * beyond 2^40 (the 128-bit path) */
    int64_t Ss[] = {1, 4, 64, 16384, 1 << 20, 1000, 12345, (INT64_C(1) << 41) + 3};
    for (size_t si = 0; si < sizeof Ss / sizeof Ss[0]; si++)
        for (int P = 1; P <= 700; P += (P < 8 ? 1 : 97)) {
            int64_t S = Ss[si], prev = 0;
            for (int r = 0; r < P; r++) {
                int64_t lo, hi;
                slots_range(r, P, S, &lo, &hi);
                assert_int_equal(lo, prev);
                prev = hi;
                for (int64_t s = lo; s < hi; s += (hi - lo > 64 ? (hi - lo) / 7 : 1))
                    assert_int_equal(slots_owner(s, S, P), r);
                if (hi > lo) assert_int_equal(slots_owner(hi - 1, S, P), r);
            }
            assert_int_equal(prev, S);
        }
    assert_true(slots_valid(16384));
    assert_false(slots_valid(1000));
    assert_false(slots_valid(0));
    assert_int_equal(slots_of(0xFFFFFFFFFFFFFFFFULL, 16384), 16383);
}

static void test_calendar(void **st)
{
    (void)st;
    assert_int_equal(tu_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tu_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(tu_days_from_civil(1969, 12, 31), -1);
    for (int64_t z = -800000; z < 800000; z += 37) {
        int64_t y;
        int m, d;
        tu_civil_from_days(z, &y, &m, &d);
        assert_true(tu_valid_date(y, m, d));
        assert_int_equal(tu_days_from_civil(y, m, d), z);
    }
    assert_false(tu_valid_date(2023, 2, 29));
    assert_true(tu_valid_date(2024, 2, 29));
    assert_false(tu_valid_date(1900, 2, 29));
    char b[32];
    tu_format_datetime(1700000000, b, sizeof b);
    assert_string_equal(b, "2023-11-14 22:13:20");
    tu_format_datetime(-1, b, sizeof b);
    assert_string_equal(b, "1969-12-31 23:59:59");
}

/* brute force: the cheapest assignment of n rows to distinct columns of m */
static double best_rec(const double *c, int n, int m, int i, int *used)
{
    if (i == n) return 0;
    double best = 1e300;
    for (int j = 0; j < m; j++) {
        if (used[j]) continue;
        used[j] = 1;
        double v = c[i * m + j] + best_rec(c, n, m, i + 1, used);
        used[j] = 0;
        if (v < best) best = v;
    }
    return best;
}

static void test_hungarian(void **state)
{
    (void)state;
    unsigned s = 12345;
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + trial % 6, m = n + (trial / 6) % 3;
        double c[8 * 8];
        int col[8], used[8] = {0}, seen[8] = {0};
        for (int i = 0; i < n * m; i++) {
            s = s * 1103515245u + 12345u;
            c[i] = (double)((s >> 8) % (trial % 2 ? 5 : 1000));   /* odd trials: many ties */
        }
        assert_int_equal(km_hungarian(c, n, m, col), 0);
        double got = 0;
        for (int i = 0; i < n; i++) {
            assert_true(col[i] >= 0 && col[i] < m && !seen[col[i]]);
            seen[col[i]] = 1;
            got += c[i * m + col[i]];
        }
        assert_true(got == best_rec(c, n, m, 0, used));
    }
}


/* rsort = qsort with the same total order, on wide records with many equal
 * keys (the tie comparator decides), a single key, and sorted/reversed input */
typedef struct wrec { uint64_t k; int64_t tie; char pad[100]; int64_t id; } wrec;

static uint64_t wkey(const void *a, const void *ctx) { (void)ctx; return ((const wrec *)a)->k; }
static int wtie(const void *a, const void *b)
{
    const wrec *x = a, *y = b;
    if (x->tie != y->tie) return x->tie < y->tie ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}
static int wfull(const void *a, const void *b)
{
    const wrec *x = a, *y = b;
    if (x->k != y->k) return x->k < y->k ? -1 : 1;
    return wtie(a, b);
}

/* precis-clean counts its date-format vote while parsing, which is exact
 * only because a value parses in one format at most: samples of each
 * format parse in it alone, and no random string over the formats'
 * characters parses in two */
static void test_datefmt_exclusive(void **state)
{
    (void)state;
    static const struct { const char *v; int f; } ok[] = {
        {"2024-02-29", DF_ISO}, {"2024-02-29T10:11", DF_ISO}, {"2024-02-29 10:11:12.5+08:00", DF_ISO},
        {"2024-02-29T00:00:00Z", DF_ISO}, {"20240229", DF_YMD8}, {"2024/02/29", DF_SLASH},
        {"2024/02/29 23:59:59", DF_SLASH}, {"1700000000", DF_EPOCH}, {"-123456789", DF_EPOCH},
        {"+99999999999", DF_EPOCH}, {" 19991231 ", DF_YMD8}, {"1700000000123", DF_EPOCH_MS}, {"-100000000000", DF_EPOCH_MS},
        {"99999999999999", DF_EPOCH_MS}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        for (int f = 0; f < DF_N; f++) {
            int64_t ts;
            assert_int_equal(datefmt_parse(f, ok[i].v, strlen(ok[i].v), 0, &ts) == 0, f == ok[i].f);
        }
    const char alpha[] = "0123456789-/: TZ+.";
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int parsed = 0;
    for (int t = 0; t < 300000; t++) {
        char v[32];
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int len = 6 + (int)(x % 20);
        /* mostly digits, with a separator pattern now and then */
        for (int i = 0; i < len; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            v[i] = (x >> 8) % 3 ? (char)('0' + (x >> 16) % 10) : alpha[(x >> 24) % (sizeof alpha - 1)];
        }
        if (t % 4 == 0 && len >= 10) { v[4] = t % 8 ? '-' : '/'; v[7] = v[4]; v[5] = '0'; v[8] = '1'; }
        int n = 0;
        for (int f = 0; f < DF_N; f++) {
            int64_t ts;
            n += datefmt_parse(f, v, (size_t)len, 0, &ts) == 0;
        }
        assert_true(n <= 1);
        parsed += n;
    }
    assert_true(parsed > 1000); /* the strings did reach every parser's success path */
}

/* A given epoch format reads every digit count of 1-15 (the vote's 9-11
 * and 12-14 aside, these are the values near 1970), signs and floor
 * included; what is not an integer, or is longer, still fails; the other
 * formats read as datefmt_parse reads them. */
static void test_datefmt_given(void **state)
{
    (void)state;
    static const struct { const char *v; int f; int64_t ts; } ok[] = {
        {"0", DF_EPOCH, 0}, {"7", DF_EPOCH, 7}, {"-59", DF_EPOCH, -59}, {" +86399 ", DF_EPOCH, 86399},
        {"99999999", DF_EPOCH, 99999999}, {"-31536000", DF_EPOCH, -31536000}, {"1700000000", DF_EPOCH, 1700000000},
        {"-1", DF_EPOCH_MS, -1}, {"-1000", DF_EPOCH_MS, -1}, {"-1001", DF_EPOCH_MS, -2}, {"999", DF_EPOCH_MS, 0},
        {"63072000000", DF_EPOCH_MS, 63072000}, {"1700000000123", DF_EPOCH_MS, 1700000000},
        {"999999999999999", DF_EPOCH_MS, 999999999999}, {"20240229", DF_YMD8, 1709164800}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ts = -12345;
        assert_int_equal(datefmt_parse_given(ok[i].f, ok[i].v, strlen(ok[i].v), 0, &ts), TZ_EXACT);
        assert_int_equal(ts, ok[i].ts);
    }
    static const struct { const char *v; int f; } bad[] = {
        {"", DF_EPOCH}, {"-", DF_EPOCH}, {"+", DF_EPOCH_MS}, {"1.5", DF_EPOCH}, {"1e9", DF_EPOCH}, {"--1", DF_EPOCH_MS},
        {"1000000000000000", DF_EPOCH}, {"1000000000000000", DF_EPOCH_MS}, {"12 34", DF_EPOCH}, {"20240230", DF_YMD8},
        {"7", DF_YMD8}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ts;
        assert_int_equal(datefmt_parse_given(bad[i].f, bad[i].v, strlen(bad[i].v), 0, &ts), -1);
    }
    int64_t ts;
    assert_int_equal(datefmt_parse(DF_EPOCH, "99999999", 8, 0, &ts), -1);          /* the vote's digit counts */
    assert_int_equal(datefmt_parse(DF_EPOCH_MS, "63072000000", 11, 0, &ts), -1);
}

/* ISO's fast shapes (10 and 19 characters) agree with the general walk,
 * reached by the same instant written one character longer ("Z" after a
 * date-time, " 00:00" after a date), on valid and invalid fields alike */
static void test_datefmt_iso_fast(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int ok = 0;
    for (int t = 0; t < 200000; t++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int y = 1890 + (int)(x % 230), m = (int)((x >> 8) % 14), d = (int)((x >> 16) % 33);
        int h = (int)((x >> 24) % 26), mi = (int)((x >> 32) % 62), sec = (int)((x >> 40) % 62);
        char a[64], b[80];
        int64_t ta = 0, tb = 0;
        if (t % 3 == 0) {
            snprintf(a, sizeof a, "%04d-%02d-%02d", y, m, d);
            snprintf(b, sizeof b, "%s 00:00", a);
        } else {
            snprintf(a, sizeof a, "%04d-%02d-%02d%c%02d:%02d:%02d", y, m, d, t % 2 ? 'T' : ' ', h, mi, sec);
            snprintf(b, sizeof b, "%sZ", a);
        }
        int ra = datefmt_parse(DF_ISO, a, strlen(a), 0, &ta), rb = datefmt_parse(DF_ISO, b, strlen(b), 0, &tb);
        assert_int_equal(ra, rb);
        if (ra == 0) assert_true(ta == tb), ok++;
    }
    assert_true(ok > 50000 && ok < 190000); /* both valid and invalid values came up */
}

/* Time zones: fixed offsets; named zones' changes to the second, their
 * skipped and repeated local times (PEP 495 fold=0), a change after 2037
 * (from the zone's rule, not its list of changes) and a half-hour one; the
 * expected instants are Python zoneinfo's */
static void test_tz(void **state)
{
    (void)state;
    tz_zone z;
    char msg[300];
    int64_t u = 0;
    assert_int_equal(tz_open("+05:30", &z, msg, sizeof msg), 0);
    assert_int_equal(z.n, 1);
    assert_int_equal(tz_offset_at(&z, 0), 19800);
    assert_int_equal(tz_to_utc(&z, 19800, &u), TZ_EXACT);
    assert_int_equal(u, 0);
    tz_close(&z);
    setenv("TZ", "America/New_York", 1);
    assert_int_equal(tz_open("Europe/Berlin", &z, msg, sizeof msg), 0);
    assert_string_equal(getenv("TZ"), "America/New_York"); /* the caller's TZ is left as it was */
    assert_true(z.named && z.n > 100 && strlen(z.version) > 0);
    assert_int_equal(tz_offset_at(&z, 1711846799), 3600);   /* 2024-03-31 00:59:59 UTC */
    assert_int_equal(tz_offset_at(&z, 1711846800), 7200);
    assert_int_equal(tz_offset_at(&z, 1729990799), 7200);   /* 2024-10-27 00:59:59 UTC */
    assert_int_equal(tz_offset_at(&z, 1729990800), 3600);
    assert_int_equal(tz_offset_at(&z, 4078429199), 3600);   /* 2099-03-29, by the zone's rule */
    assert_int_equal(tz_offset_at(&z, 4078429200), 7200);
    int64_t day = tu_days_from_civil(2024, 3, 31) * 86400;
    assert_int_equal(tz_to_utc(&z, day + 9000, &u), TZ_GAP);  /* 02:30 does not happen */
    assert_int_equal(u, 1711848600);
    day = tu_days_from_civil(2024, 10, 27) * 86400;
    assert_int_equal(tz_to_utc(&z, day + 9000, &u), TZ_FOLD); /* 02:30 happens twice */
    assert_int_equal(u, 1729989000);
    assert_int_equal(tz_to_utc(&z, day + 10800, &u), TZ_EXACT);
    assert_int_equal(u, 1729994400);
    assert_int_equal(tz_to_utc(&z, day + 7199, &u), TZ_EXACT);
    assert_int_equal(u, 1729987199);
    day = tu_days_from_civil(2099, 3, 29) * 86400;
    assert_int_equal(tz_to_utc(&z, day + 9000, &u), TZ_GAP);
    assert_int_equal(u, 4078431000);
    assert_int_equal(datefmt_parse(DF_ISO, "2024-10-27 02:30:00", 19, &z, &u), TZ_FOLD);
    assert_int_equal(datefmt_parse(DF_ISO, "2024-10-27T02:30:00+01:00", 25, &z, &u), TZ_EXACT);
    assert_int_equal(u, 1729992600);
    assert_int_equal(datefmt_parse(DF_EPOCH, "1729989000", 10, &z, &u), TZ_EXACT);
    assert_int_equal(u, 1729989000);
    assert_int_equal(datefmt_parse(DF_EPOCH_MS, "1729989000999", 13, &z, &u), TZ_EXACT); /* floored, not rounded */
    assert_int_equal(u, 1729989000);
    assert_int_equal(datefmt_parse(DF_EPOCH_MS, "-100000000001", 13, &z, &u), TZ_EXACT);
    assert_int_equal(u, -100000001);
    tz_close(&z);
    assert_int_equal(tz_open("Australia/Lord_Howe", &z, msg, sizeof msg), 0);
    assert_int_equal(tz_offset_at(&z, 1705280400), 39600);
    assert_int_equal(tz_offset_at(&z, 1721000000), 37800);
    day = tu_days_from_civil(2024, 10, 6) * 86400;
    assert_int_equal(tz_to_utc(&z, day + 8100, &u), TZ_GAP);  /* 02:15: clocks go 02:00 -> 02:30 */
    assert_int_equal(u, 1728143100);
    day = tu_days_from_civil(2024, 4, 7) * 86400;
    assert_int_equal(tz_to_utc(&z, day + 6300, &u), TZ_FOLD);
    assert_int_equal(u, 1712414700);
    tz_close(&z);
    assert_int_equal(tz_open("America/Sao_Paulo", &z, msg, sizeof msg), 0);
    assert_int_equal(datefmt_parse(DF_YMD8, "20181104", 8, &z, &u), TZ_GAP); /* clocks skipped midnight */
    assert_int_equal(u, 1541300400);
    tz_close(&z);
    /* the day tables agree with the searches, near changes and far from them */
    static const char *const named[] = {"Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia", "America/St_Johns"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        assert_int_equal(tz_open(named[i], &z, msg, sizeof msg), 0);
        assert_true(z.ndays > 70000);
        uint64_t x = 0x2545F4914F6CDD1DULL;
        int fast = 0;
        for (int t = 0; t < 400000; t++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int64_t v = -2208988800LL + (int64_t)(x % 6311433600ULL), u1 = 0, u2 = 0;
            if (t % 2) { /* within a day of a change */
                int k = 1 + (int)((x >> 40) % (uint64_t)(z.n - 1));
                v = z.start[k] + z.off[k] + (int64_t)((x >> 20) % 172800) - 86400;
            }
            assert_int_equal(tz_to_utc(&z, v, &u1), tz_to_utc_slow(&z, v, &u2));
            assert_true(u1 == u2);
            assert_int_equal(tz_offset_at(&z, v), z.off[tz_interval(&z, v)]);
            uint64_t d = tz_day_index(&z, v);
            fast += d < (uint64_t)z.ndays && z.lday[d] != TZ_NODAY;
        }
        assert_true(fast > 150000); /* most took the table */
        tz_close(&z);
    }
    static const char *const bad[] = {"Nowhere/City", "../etc/passwd", "Europe/../Europe/Berlin", "right/UTC",
                                      "", "Europe/Berlin/", "/usr/share/zoneinfo/UTC", "+25:00", "Europe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        assert_int_equal(tz_open(bad[i], &z, msg, sizeof msg), -1);
        assert_non_null(strstr(msg, bad[i]));
    }
    setenv("TZDIR", "/nonexistent", 1);
    assert_int_equal(tz_open("Europe/Berlin", &z, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "/nonexistent"));
    unsetenv("TZDIR");
    unsetenv("TZ");
}

/* truncation forgets the later strings and keeps every earlier id */
static void test_strdict_truncate(void **state)
{
    (void)state;
    strdict d;
    strdict_init(&d);
    char buf[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "v%d", i * 7919);
        assert_int_equal(strdict_intern(&d, buf, strlen(buf)), i);
    }
    strdict_truncate(&d, 300);
    assert_int_equal(d.n, 300);
    for (int i = 299; i >= 0; i--) {
        snprintf(buf, sizeof buf, "v%d", i * 7919);
        assert_int_equal(strdict_intern(&d, buf, strlen(buf)), i);
    }
    assert_int_equal(d.n, 300);
    for (int i = 999; i >= 300; i--) { /* forgotten: new ids, in the new order */
        snprintf(buf, sizeof buf, "v%d", i * 7919);
        assert_int_equal(strdict_intern(&d, buf, strlen(buf)), 300 + (999 - i));
    }
    assert_int_equal(d.n, 1000);
    strdict_truncate(&d, 0);
    assert_int_equal(strdict_intern(&d, "v0", 2), 0);
    /* a NUL ends the string: one entry however often it comes, and through
     * rehashes (it was stored cut but hashed whole, so each came in new) */
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "w%d", i);
        int32_t id = strdict_intern(&d, "ab\0cd", 5);
        assert_int_equal(id, 1);
        assert_int_equal(strdict_intern(&d, "ab", 2), 1);
        assert_int_equal(strdict_intern(&d, "ab\0x", 4), 1);
        assert_int_equal(strdict_intern(&d, buf, strlen(buf)), 2 + i);
    }
    assert_int_equal(d.n, 502);
    assert_int_equal((int)d.len[1], 2);
    strdict_free(&d);
}

/* rsort_records(a) gives the order qsort gives a copy of a (b: scratch of n
 * records) under the full order `full`. */
static void sorts_as_qsort(void *a, void *b, int64_t n, size_t size, rsort_key_fn key,
                           int (*tie)(const void *, const void *), int (*full)(const void *, const void *))
{
    memcpy(b, a, size * (size_t)n);
    qsort(b, (size_t)n, size, full);
    assert_int_equal(rsort_records(a, n, size, key, NULL, tie), 0);
    assert_memory_equal(a, b, size * (size_t)n);
}

/* every byte of a value counts, at every length around the word sizes, and
 * a NUL anywhere ends it */
static void test_strdict_every_byte(void **state)
{
    (void)state;
    strdict d;
    strdict_init(&d);
    char v[40], w[40];
    for (size_t len = 1; len <= sizeof v; len++) {
        for (size_t i = 0; i < len; i++) v[i] = (char)('a' + (len * 7 + i) % 26);
        int32_t id = strdict_intern(&d, v, len);
        assert_true(id >= 0);
        for (size_t i = 0; i < len; i++) {
            memcpy(w, v, len);
            w[i] = (char)(w[i] == 'Z' ? 'Y' : 'Z');
            int32_t other = strdict_intern(&d, w, len);
            assert_true(other >= 0 && other != id);
            assert_int_equal(strdict_intern(&d, w, len), other);
            w[i] = '\0'; /* cut at i: the same as the first i bytes */
            assert_int_equal(strdict_intern(&d, w, len), strdict_intern(&d, v, i));
        }
        assert_int_equal(strdict_intern(&d, v, len), id);
    }
    strdict_free(&d);
    /* values that differ in one byte and share their first hash slot (a new
     * dictionary has 64): the comparison, not the hash, must tell them apart */
    for (size_t len = 1; len <= sizeof v; len++)
        for (size_t i = 0; i < len; i++) {
            int first[64];
            for (int j = 0; j < 64; j++) first[j] = -1;
            for (int c = 1; c < 256; c++) { /* every byte value but NUL at i */
                for (size_t j = 0; j < len; j++) v[j] = (char)('a' + (len + j) % 26);
                v[i] = (char)c;
                int slot = (int)(strdict_hash(v, len) & 63);
                if (first[slot] < 0) { first[slot] = c; continue; }
                memcpy(w, v, len);
                w[i] = (char)first[slot];
                strdict_init(&d);
                int32_t a = strdict_intern(&d, w, len), b = strdict_intern(&d, v, len);
                assert_true(a == 0 && b == 1);
                strdict_free(&d);
                break;
            }
        }
}

static void test_rsort(void **state)
{
    (void)state;
    const int64_t n = 20000;
    wrec *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    /* 20000 records: more than one block, so the in-place MSD distribution
     * runs; mode 4 puts 98% of them in one bucket, so it recurses; modes 5
     * and 6 hand over runs of equal keys already in order, and in order but
     * for one record in a thousand; mode 7 has runs of ~50 in no order (the
     * longest that insertion orders) */
    for (int mode = 0; mode < 8; mode++) {
        uint64_t x = 88172645463325252ULL;
        for (int64_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            a[i].k = mode == 0 ? x : mode == 1 ? x % 97 : mode == 2 ? 5 : mode == 3 ? (uint64_t)(n - i) << 40
                   : (i % 50 == 0 ? UINT64_C(1) << 63 : 0) | (x >> 20);
            a[i].tie = (int64_t)(x >> 50) % 5;
            if (mode == 5) a[i].k = x % 997, a[i].tie = i / 7; /* runs already in order */
            if (mode == 6) a[i].k = x % 3, a[i].tie = i % 1000 ? i : 0; /* in order but for a few */
            if (mode == 7) a[i].k = x % 400;
            a[i].id = i;
            memset(a[i].pad, (int)(i & 0xff), sizeof a[i].pad);
        }
        sorts_as_qsort(a, b, n, sizeof *a, wkey, wtie, wfull);
    }
    free(a);
    free(b);
}

/* more records than 256 blocks: the first distribution takes more than 8
 * bits (9 here), so it is the only one before the blocks */
typedef struct nrec { uint64_t k, id; } nrec;
static uint64_t nkey(const void *a, const void *ctx) { (void)ctx; return ((const nrec *)a)->k; }
static int nfull(const void *a, const void *b)
{
    const nrec *x = a, *y = b;
    if (x->k != y->k) return x->k < y->k ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}
static void test_rsort_wide_msd(void **state)
{
    (void)state;
    const int64_t n = 4500000;
    nrec *a = malloc(sizeof *a * (size_t)n), *b = malloc(sizeof *b * (size_t)n);
    assert_non_null(a);
    assert_non_null(b);
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (int64_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        a[i] = (nrec){i % 7 ? x : x >> 40, (uint64_t)i}; /* some keys share their top bits */
    }
    sorts_as_qsort(a, b, n, sizeof *a, nkey, nfull, nfull);
    free(a);
    free(b);
}

/* hugemem: contents survive growth (in place and moved), shrinking and
 * regrowth; new bytes are zero; large blocks sit 64 bytes past a 2 MiB
 * boundary (what keeps their huge pages whole); impossible sizes fail
 * without losing the block. */
static void check_block(const unsigned char *p, size_t keep, size_t n, unsigned seed)
{
    for (size_t i = 0; i < keep; i++)
        if (p[i] != (unsigned char)(i * 31 + seed)) fail_msg("byte %zu of %zu changed", i, keep);
    for (size_t i = keep; i < n; i++)
        if (p[i] != 0) fail_msg("new byte %zu of %zu is not zero", i, n);
}

static void test_hugemem(void **state)
{
    (void)state;
    long live0 = hugemem_live();
    hugemem_free(NULL);
    unsigned char *z = hugemem_alloc(0);
    assert_non_null(z);
    hugemem_free(z);
    void *blockers[16] = {0};
    size_t n = 1000, filled = 0;
    unsigned char *p = hugemem_alloc(n);
    assert_non_null(p);
    for (int step = 0; step < 16; step++) {
        check_block(p, filled, n, 7);
        for (size_t i = filled; i < n; i++) p[i] = (unsigned char)(i * 31 + 7);
        filled = n;
        if (step % 2) blockers[step] = hugemem_alloc(4096); /* often right after p: growth must move */
        size_t m = n * 2 + 4097;
        unsigned char *q = hugemem_realloc(p, m);
        assert_non_null(q);
        p = q;
        n = m;
        if (n >= HUGEMEM_MIN) assert_int_equal(((uintptr_t)p) & (((uintptr_t)2 << 20) - 1), 64);
    }
    assert_true(n > 64u << 20);
    check_block(p, filled, n, 7);
    unsigned char *q = hugemem_realloc(p, (size_t)-1 / 2);
    assert_null(q);
    check_block(p, filled, filled, 7);
    p = hugemem_realloc(p, 5000); /* shrink keeps the prefix */
    assert_non_null(p);
    check_block(p, 5000, 5000, 7);
    p = hugemem_realloc(p, (size_t)9 << 20); /* and regrowth is zero beyond it */
    assert_non_null(p);
    check_block(p, 5000, (size_t)9 << 20, 7);
    assert_int_equal(hugemem_live(), live0 + 1 + 8); /* p and the 8 blockers */
    hugemem_free(p);
    for (int i = 0; i < 16; i++) hugemem_free(blockers[i]);
    assert_int_equal(hugemem_live(), live0);
}

/* the VmFlags of the mapping that holds p, from /proc/self/smaps, into
 * flags ("" when not found) */
static void vm_flags(const void *p, char *flags, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0;
    flags[0] = '\0';
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) in = (uintptr_t)p >= a && (uintptr_t)p < b;
        else if (in && !strncmp(line, "VmFlags:", 8)) snprintf(flags, cap, "%.200s", line + 8);
    }
    fclose(f);
}

/* a large block is marked for huge pages (the kernel's "hg" flag), with
 * PRECIS_HUGEPAGES unset or 1; with 0 against them ("nh"); small blocks
 * are never marked */
static void test_hugemem_policy(void **state)
{
    (void)state;
    const char *want[3] = {"1", "0", NULL};
    for (int k = 0; k < 3; k++) {
        char fl[256], fs[256];
        if (want[k]) setenv("PRECIS_HUGEPAGES", want[k], 1);
        else unsetenv("PRECIS_HUGEPAGES");
        hugemem_release();
        void *big = hugemem_alloc((size_t)8 << 20), *small = hugemem_alloc(4096);
        assert_non_null(big);
        assert_non_null(small);
        vm_flags(big, fl, sizeof fl);
        vm_flags(small, fs, sizeof fs);
        assert_true(fl[0] && fs[0]);
        int hg = strstr(fl, " hg") != NULL, nh = strstr(fl, " nh") != NULL;
        if (k == 0 && !(hg && !nh)) fail_msg("PRECIS_HUGEPAGES=1: VmFlags%s", fl);
        if (k == 1 && !(nh && !hg)) fail_msg("PRECIS_HUGEPAGES=0: VmFlags%s", fl);
        if (k == 2 && !(hg && !nh)) fail_msg("PRECIS_HUGEPAGES unset: VmFlags%s", fl);
        if (strstr(fs, " hg") || strstr(fs, " nh")) fail_msg("a 4 KiB block marked: VmFlags%s", fs);
        hugemem_free(big);
        hugemem_free(small);
        hugemem_release();
    }
    unsetenv("PRECIS_HUGEPAGES");
}

/* a freed large block is taken again by an allocation it fits, cut to size
 * and as zero as a fresh one, and regrowth beyond it is zero too; one that
 * does not fit gets a new block */
static void test_hugemem_reuse(void **state)
{
    (void)state;
    hugemem_release();
    long live0 = hugemem_live();
    size_t big = (size_t)24 << 20, small = (size_t)6 << 20;
    unsigned char *p = hugemem_alloc(big);
    assert_non_null(p);
    memset(p, 0xa5, big);
    hugemem_free(p);
    unsigned char *q = hugemem_alloc(small);
    assert_ptr_equal(q, p);   /* the kept block */
    check_block(q, 0, small, 0);
    memset(q, 0x5a, small);
    q = hugemem_realloc(q, (size_t)20 << 20);   /* grows past the cut: zero there */
    assert_non_null(q);
    for (size_t i = 0; i < small; i++)
        if (q[i] != 0x5a) fail_msg("byte %zu of the kept prefix changed", i);
    for (size_t i = small; i < ((size_t)20 << 20); i++)
        if (q[i] != 0) fail_msg("byte %zu after regrowth is not zero", i);
    hugemem_free(q);
    unsigned char *r = hugemem_alloc((size_t)64 << 20);   /* fits no kept block */
    assert_non_null(r);
    check_block(r, 0, (size_t)64 << 20, 0);
    hugemem_free(r);
    hugemem_release();
    assert_int_equal(hugemem_live(), live0);
}

/* hugemem_discard gives back exactly the whole 2 MiB pages inside its
 * range: they are no longer resident (mincore) and read as zero; every
 * byte outside them keeps its value; a range holding no whole page changes
 * nothing */
static void test_hugemem_discard(void **state)
{
    (void)state;
    const size_t n = (size_t)16 << 20, from = 1000, len = (size_t)9 << 20, pg = (size_t)2 << 20;
    unsigned char *p = hugemem_alloc(n);
    assert_non_null(p);
    memset(p, 0x77, n);
    assert_int_equal(hugemem_discard(NULL, 0, n), 0);
    assert_int_equal(hugemem_discard(p, 10, 4096), 0);
    size_t got = hugemem_discard(p, from, len);
    if (got < len - 2 * pg || got % pg) fail_msg("gave back %zu bytes of the %zu-byte range", got, len);
    /* the pages given back, found by residency before any byte is read */
    size_t first = n, last = 0, ps = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *base = (unsigned char *)((uintptr_t)p & ~(uintptr_t)(ps - 1)), vec[(((size_t)16 << 20) + 8192) / 4096];
    size_t span = (size_t)(p + n - base);
    assert_int_equal(mincore(base, span, vec), 0);
    for (size_t i = 0; i < (span + ps - 1) / ps; i++)
        if (!(vec[i] & 1)) {
            size_t a = i * ps > (size_t)(p - base) ? i * ps - (size_t)(p - base) : 0;
            if (a < first) first = a;
            last = a + ps;
        }
    if (first >= last) fail_msg("no page of the block is out of memory after giving back %zu bytes", got);
    if (last - first != got || first < from || last > from + len || (uintptr_t)(p + first) % pg)
        fail_msg("pages out of memory: bytes %zu-%zu of the block; given back %zu of %zu-%zu", first, last, got, from, from + len);
    for (size_t i = 0; i < n; i++)
        if (p[i] != (i >= first && i < last ? 0 : 0x77)) fail_msg("byte %zu is %d", i, p[i]);
    hugemem_free(p);
    hugemem_release();
}

/* inputs_expand refuses a list that reads one file twice: x.csv beside
 * x.csv.gz or x.csv.zst (with a name sorting between them), two compressed
 * copies (x.csv.bz2 and x.csv.xz), or two links to one file; names alike
 * that are not one file's forms pass */
static void make_file(const char *dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "x\n%s\n", name);
    fclose(f);
}

static void test_inputs_twice(void **state)
{
    (void)state;
    char dir[] = "/tmp/precis-inputs-XXXXXX", p[6][96], pat[INPUTS_PATTERN_CAP];
    assert_non_null(mkdtemp(dir));
    inputs_csv_pattern(pat, sizeof pat, "tr");
    assert_string_equal(pat, "tr*.csv|tr*.csv.gz|tr*.csv.zst|tr*.csv.xz|tr*.csv.bz2|tr*.csv.lz4|tr*.zip");
    /* the longest table name's pattern is whole (a 128-byte buffer once cut its .zip) */
    inputs_csv_pattern(pat, sizeof pat, "transactions");
    assert_int_equal(strlen(pat), 12 * 7 + strlen("*.csv|*.csv.gz|*.csv.zst|*.csv.xz|*.csv.bz2|*.csv.lz4|*.zip"));
    inputs_csv_pattern(pat, sizeof pat, "");
    char pat1[INPUTS_PATTERN_CAP + 16];
    snprintf(pat1, sizeof pat1, "%s|*.csv-1", pat);
    make_file(dir, "t.csv", p[0], sizeof p[0]);
    make_file(dir, "t.csv-1", p[1], sizeof p[1]);
    make_file(dir, "t.csv.gz", p[2], sizeof p[2]);
    inputs_list l;
    precis_err e = {0};
    assert_int_equal(inputs_expand(dir, pat1, 0, &l, &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_IO);
    assert_non_null(strstr(e.msg, "t.csv.gz: the second is the first compressed"));
    assert_int_equal(l.n, 0);
    assert_int_equal(unlink(p[2]), 0);
    make_file(dir, "t.csv.zst", p[2], sizeof p[2]);
    e = (precis_err){0};
    assert_int_equal(inputs_expand(dir, pat1, 0, &l, &e), -1);
    assert_non_null(strstr(e.msg, "t.csv.zst: the second is the first compressed"));
    assert_int_equal(unlink(p[2]), 0);
    make_file(dir, "t.csv.lz4", p[2], sizeof p[2]);
    e = (precis_err){0};
    assert_int_equal(inputs_expand(dir, pat1, 0, &l, &e), -1);
    assert_non_null(strstr(e.msg, "t.csv.lz4: the second is the first compressed"));
    assert_int_equal(unlink(p[2]), 0);
    make_file(dir, "t.zip", p[2], sizeof p[2]); /* (an archive named as Windows names one, holding t.csv) */
    e = (precis_err){0};
    assert_int_equal(inputs_expand(dir, pat1, 0, &l, &e), -1);
    assert_non_null(strstr(e.msg, "t.csv and "));
    assert_non_null(strstr(e.msg, "t.zip: the second is the first compressed"));
    assert_int_equal(unlink(p[2]), 0);
    make_file(dir, "a.csv.xz", p[2], sizeof p[2]);
    make_file(dir, "a.csv.bz2", p[3], sizeof p[3]);
    e = (precis_err){0};
    assert_int_equal(inputs_expand(dir, pat1, 0, &l, &e), -1);
    assert_non_null(strstr(e.msg, "a.csv.bz2 and "));
    assert_non_null(strstr(e.msg, "a.csv.xz: they are one file compressed twice"));
    assert_int_equal(unlink(p[3]), 0);
    make_file(dir, "a.xz.csv.gz", p[3], sizeof p[3]); /* (alike, but another file) */
    make_file(dir, "t.csv.gz.csv", p[4], sizeof p[4]);
    assert_int_equal(inputs_expand(dir, pat1, 0, &l, &e), 0);
    assert_int_equal(l.n, 5);
    inputs_free(&l);
    make_file(dir, "u.csv", p[5], sizeof p[5]);
    assert_int_equal(unlink(p[5]), 0);
    assert_int_equal(link(p[0], p[5]), 0); /* u.csv: t.csv's second name */
    e = (precis_err){0};
    assert_int_equal(inputs_expand(dir, "*.csv|*.csv-1", 0, &l, &e), -1);
    assert_non_null(strstr(e.msg, "are one file"));
    assert_int_equal(inputs_expand(p[5], NULL, 0, &l, &e), 0); /* each name alone is fine */
    assert_int_equal(l.n, 1);
    inputs_free(&l);
    for (int i = 0; i < 6; i++) (void)unlink(p[i]);
    /* names are matched without regard to case, as Windows names exports,
     * and so are the compressed forms of one name */
    make_file(dir, "Transactions.CSV", p[0], sizeof p[0]);
    make_file(dir, "TRANSACTIONS-2.csv.GZ", p[1], sizeof p[1]);
    make_file(dir, ".transactions-3.csv", p[2], sizeof p[2]); /* (hidden: not matched) */
    make_file(dir, "transactions.txt", p[3], sizeof p[3]);
    inputs_csv_pattern(pat, sizeof pat, "transactions");
    e = (precis_err){0};
    assert_int_equal(inputs_expand(dir, pat, 0, &l, &e), 0);
    assert_int_equal(l.n, 2);
    assert_non_null(strstr(l.path[0], "/TRANSACTIONS-2.csv.GZ"));
    assert_non_null(strstr(l.path[1], "/Transactions.CSV"));
    inputs_free(&l);
    make_file(dir, "Transactions.CSV.Zst", p[4], sizeof p[4]);
    assert_int_equal(inputs_expand(dir, pat, 0, &l, &e), -1);
    assert_non_null(strstr(e.msg, "Transactions.CSV.Zst: the second is the first compressed"));
    for (int i = 0; i < 5; i++) (void)unlink(p[i]);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_hungarian),
        cmocka_unit_test(test_strdict_every_byte),
        cmocka_unit_test(test_rsort),
        cmocka_unit_test(test_rsort_wide_msd),
        cmocka_unit_test(test_hugemem),
        cmocka_unit_test(test_hugemem_reuse),
        cmocka_unit_test(test_hugemem_discard),
        cmocka_unit_test(test_hugemem_policy),
        cmocka_unit_test(test_inputs_twice),
        cmocka_unit_test(test_strdict_truncate),
        cmocka_unit_test(test_datefmt_exclusive),
        cmocka_unit_test(test_datefmt_given),
        cmocka_unit_test(test_datefmt_iso_fast),
        cmocka_unit_test(test_tz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
