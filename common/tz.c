/* tz.c - fixed offsets and named zones as tables of UTC intervals. */
#define _GNU_SOURCE
#include "tz.h"
#include "datefmt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SPAN_LO (-2208988800LL - 2 * 86400)   /* 1899-12-30 */
#define SPAN_HI (4102444800LL + 2 * 86400)    /* 2100-01-03 */
#define STEP (12 * 3600)
#define MAX_OFF (26 * 3600)

static const char *tzdir(void)
{
    const char *d = getenv("TZDIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

/* Components of [A-Za-z0-9._+-], none empty, "." or ".."; not the leap-second
 * "right/" zones, whose clocks are not UTC's. */
static int name_ok(const char *s)
{
    if (!*s || *s == '/' || strncmp(s, "right/", 6) == 0 || strlen(s) >= 64) return 0;
    for (const char *p = s; *p;) {
        const char *q = p;
        while (*q && *q != '/') {
            char ch = *q++;
            if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '+' || ch == '-'))
                return 0;
        }
        size_t l = (size_t)(q - p);
        if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) return 0;
        p = *q ? q + 1 : q;
        if (*q && !*p) return 0; /* trailing '/' */
    }
    return 1;
}

static int push(tz_zone *z, int *cap, int64_t start, int32_t off)
{
    if (z->n == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        int64_t *s = realloc(z->start, sizeof(int64_t) * (size_t)nc);
        if (!s) return -1;
        z->start = s;
        int32_t *o = realloc(z->off, sizeof(int32_t) * (size_t)nc);
        if (!o) return -1;
        z->off = o;
        *cap = nc;
    }
    z->start[z->n] = start;
    z->off[z->n++] = off;
    return 0;
}

static long gmtoff_at(int64_t t, int *bad)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || tm.tm_gmtoff < -MAX_OFF || tm.tm_gmtoff > MAX_OFF) {
        *bad = 1;
        return 0;
    }
    return tm.tm_gmtoff;
}

/* The intervals of the zone in file path, read off localtime_r. */
static int sample(const char *path, tz_zone *z)
{
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL, env[PATH_MAX + 2];
    int cap = 0, bad = 0;
    snprintf(env, sizeof env, ":%s", path);
    setenv("TZ", env, 1);
    tzset();
    int64_t a = SPAN_LO;
    long oa = gmtoff_at(a, &bad);
    if (push(z, &cap, INT64_MIN, (int32_t)oa)) bad = 1;
    while (!bad && a < SPAN_HI) {
        int64_t b = a + STEP > SPAN_HI ? SPAN_HI : a + STEP;
        if (gmtoff_at(b, &bad) == oa) {
            a = b;
            continue;
        }
        /* the first second of (a, b] whose offset is not oa */
        int64_t lo = a, hi = b;
        while (hi - lo > 1) {
            int64_t m = lo + (hi - lo) / 2;
            if (gmtoff_at(m, &bad) == oa) lo = m;
            else hi = m;
        }
        oa = gmtoff_at(hi, &bad);
        if (push(z, &cap, hi, (int32_t)oa)) bad = 1;
        a = hi;
    }
    if (old) setenv("TZ", old, 1);
    else unsetenv("TZ");
    tzset();
    free(old);
    return bad ? -1 : 0;
}

/* The day tables (tz.h). A local day takes interval k when every local time
 * of it, converted with k's offset, lands in k at least 52 hours (twice the
 * largest offset) from either end: then no other interval's offset can give
 * a second instant, so the conversion is exact and unique. */
static int build_days(tz_zone *z)
{
    if (z->n < 2 || z->n >= (int)TZ_NODAY) return 0;
    z->day0 = SPAN_LO / 86400 - 1;
    z->ndays = (int)(SPAN_HI / 86400 - z->day0 + 2);
    z->uday = malloc(sizeof(uint16_t) * (size_t)z->ndays);
    z->lday = malloc(sizeof(uint16_t) * (size_t)z->ndays);
    if (!z->uday || !z->lday) return -1;
    for (int i = 0; i < z->ndays; i++) {
        int64_t a = (z->day0 + i) * 86400, b = a + 86400;
        int k = tz_interval(z, a);
        int64_t end = k + 1 < z->n ? z->start[k + 1] : INT64_MAX;
        z->uday[i] = b <= end ? (uint16_t)k : TZ_NODAY;
        z->lday[i] = TZ_NODAY;
        for (int j = k > 0 ? k - 1 : 0; j <= k + 1 && j < z->n; j++) {
            int64_t s = j ? z->start[j] + 2 * MAX_OFF : INT64_MIN, t = j + 1 < z->n ? z->start[j + 1] - 2 * MAX_OFF : INT64_MAX;
            if (a - z->off[j] >= s && b - z->off[j] <= t) z->lday[i] = (uint16_t)j;
        }
    }
    return 0;
}

static void read_version(tz_zone *z)
{
    char path[PATH_MAX], line[128];
    snprintf(path, sizeof path, "%s/tzdata.zi", tzdir());
    FILE *f = fopen(path, "r");
    snprintf(z->version, sizeof z->version, "unknown");
    if (!f) return;
    if (fgets(line, sizeof line, f) && strncmp(line, "# version ", 10) == 0) {
        line[strcspn(line, "\r\n")] = '\0';
        snprintf(z->version, sizeof z->version, "%.31s", line + 10);
    }
    fclose(f);
}

int tz_open(const char *spec, tz_zone *z, char *msg, size_t cap)
{
    int64_t off;
    memset(z, 0, sizeof *z);
    snprintf(z->name, sizeof z->name, "%s", spec);
    if (datefmt_tz_offset(spec, &off) == 0) {
        int c = 0;
        if (push(z, &c, INT64_MIN, (int32_t)off)) goto oom;
        return 0;
    }
    if (!name_ok(spec)) {
        snprintf(msg, cap, "'%.64s' is not UTC, +HH:MM or a time zone name such as Europe/Berlin", spec);
        return -1;
    }
    char path[PATH_MAX], head[4];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", tzdir(), spec);
    FILE *f = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    int ok = f && fread(head, 1, 4, f) == 4 && memcmp(head, "TZif", 4) == 0;
    if (f) fclose(f);
    if (!ok) {
        snprintf(msg, cap, "'%.64s' is not a time zone of the time zone database in %.200s (is tzdata installed?)", spec, tzdir());
        return -1;
    }
    z->named = 1;
    if (sample(path, z)) {
        tz_close(z);
        snprintf(msg, cap, "time zone %.64s: the C library could not convert times in it", spec);
        return -1;
    }
    read_version(z);
    if (build_days(z)) goto oom;
    return 0;
oom:
    tz_close(z);
    snprintf(msg, cap, "out of memory");
    return -1;
}

int tz_open_comm(MPI_Comm comm, const char *what, const char *spec, tz_zone *z, precis_err *e)
{
    int rank, hdr[3] = {0, 0, 0};
    char msg[400] = "";
    MPI_Comm_rank(comm, &rank);
    memset(z, 0, sizeof *z);
    if (rank == 0) {
        hdr[0] = tz_open(spec, z, msg, sizeof msg);
        hdr[1] = z->n;
        hdr[2] = z->named;
    }
    MPI_CHECK(MPI_Bcast(hdr, 3, MPI_INT, 0, comm), e);
    if (hdr[0]) {
        MPI_CHECK(MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, comm), e);
        return PERR(e, PRECIS_EXIT_USAGE, "%s: %s", what, msg);
    }
    if (rank != 0) {
        z->n = hdr[1];
        z->named = hdr[2];
        z->start = malloc(sizeof(int64_t) * (size_t)z->n);
        z->off = malloc(sizeof(int32_t) * (size_t)z->n);
    }
    int ok = z->start && z->off;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, comm), e);
    CHECK(ok, e, PRECIS_EXIT_INTERNAL, "out of memory");
    MPI_CHECK(MPI_Bcast(z->name, sizeof z->name, MPI_CHAR, 0, comm), e);
    MPI_CHECK(MPI_Bcast(z->version, sizeof z->version, MPI_CHAR, 0, comm), e);
    MPI_CHECK(MPI_Bcast(z->start, z->n, MPI_INT64_T, 0, comm), e);
    MPI_CHECK(MPI_Bcast(z->off, z->n, MPI_INT32_T, 0, comm), e);
    ok = rank == 0 || build_days(z) == 0;   /* from the same table: the same days */
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, comm), e);
    CHECK(ok, e, PRECIS_EXIT_INTERNAL, "out of memory");
    return 0;
fail:
    tz_close(z);
    return -1;
}

void tz_close(tz_zone *z)
{
    free(z->start);
    free(z->off);
    free(z->uday);
    free(z->lday);
    z->start = NULL;
    z->off = NULL;
    z->uday = z->lday = NULL;
    z->n = z->ndays = 0;
}

int tz_interval(const tz_zone *z, int64_t t)
{
    int lo = 0, hi = z->n - 1;   /* start[lo] <= t */
    while (lo < hi) {
        int m = lo + (hi - lo + 1) / 2;
        if (z->start[m] <= t) lo = m;
        else hi = m - 1;
    }
    return lo;
}

int tz_to_utc_slow(const tz_zone *z, int64_t local, int64_t *utc)
{
    int found = 0;
    for (int k = tz_interval(z, local - MAX_OFF); k < z->n && z->start[k] <= local + MAX_OFF; k++) {
        int64_t u = local - z->off[k], end = k + 1 < z->n ? z->start[k + 1] : INT64_MAX;
        if (u < z->start[k] || u >= end) continue;
        if (found) return TZ_FOLD;  /* the earlier instant is kept */
        *utc = u;
        found = 1;
    }
    if (found) return TZ_EXACT;
    /* in the gap of the change at k: the offset from before it */
    for (int k = tz_interval(z, local - MAX_OFF) + 1; k < z->n; k++) {
        if (local < z->start[k] + z->off[k - 1]) break;
        if (local < z->start[k] + z->off[k]) {
            *utc = local - z->off[k - 1];
            return TZ_GAP;
        }
    }
    *utc = local - tz_offset_at(z, local); /* not reached for tables tz_open makes */
    return TZ_GAP;
}
