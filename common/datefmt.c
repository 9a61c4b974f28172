/* datefmt.c - strict parsers for the date formats of raw exports. */
#include "datefmt.h"
#include "timeutil.h"

#include <string.h>

const char *const datefmt_names[DF_N] = {"iso", "yyyymmdd", "yyyy/mm/dd", "epoch", "epoch_ms"};

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

/* s[0..*len) without its spaces and tabs at either end */
static void trim_blanks(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* local = days * 86400 + seconds of day: in tz, or at the explicit offset
 * off east of UTC when has_off */
static int finish(const tz_zone *tz, int64_t local, int has_off, int64_t off, int64_t *ts)
{
    if (!has_off) return tz_to_utc(tz, local, ts);
    *ts = local - off;
    return TZ_EXACT;
}

/* An integer of lo..hi digits, optional sign, as seconds since 1970 (ms:
 * milliseconds, floored to the second as Python's // floors). */
static int epoch_value(const char *s, size_t len, int ms, size_t lo, size_t hi, int64_t *ts)
{
    int64_t v;
    int neg = len && s[0] == '-';
    size_t a = (neg || (len && s[0] == '+')) ? 1 : 0;
    if (len - a < lo || len - a > hi || digits(s + a, len - a, &v)) return -1;
    v = neg ? -v : v;
    *ts = ms ? tu_floordiv(v, 1000) : v;
    return TZ_EXACT;
}

int datefmt_parse(int f, const char *s, size_t len, const tz_zone *tz, int64_t *ts)
{
    int64_t y, m, d, days, secs = 0, off = 0;
    int has_off = 0;
    size_t used;
    trim_blanks(&s, &len);
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
                has_off = 1;
            }
        }
        return finish(tz, days * 86400 + secs, has_off, off, ts);
    }
    case DF_YMD8:
        if (len != 8 || digits(s, 4, &y) || digits(s + 4, 2, &m) || digits(s + 6, 2, &d) || ymd(y, m, d, &days))
            return -1;
        return tz_to_utc(tz, days * 86400, ts);
    case DF_EPOCH: /* seconds: 9-11 digits; milliseconds: 12-14 (1973-2286 after 1970) */
        return epoch_value(s, len, 0, 9, 11, ts);
    case DF_EPOCH_MS:
        return epoch_value(s, len, 1, 12, 14, ts);
    }
    return -1;
}

int datefmt_parse_given(int f, const char *s, size_t len, const tz_zone *tz, int64_t *ts)
{
    if (f != DF_EPOCH && f != DF_EPOCH_MS) return datefmt_parse(f, s, len, tz, ts);
    trim_blanks(&s, &len);
    return epoch_value(s, len, f == DF_EPOCH_MS, 1, 15, ts);
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

/* ------------------------------------------------------------ patterns */

static const char *const month_names[12] = {"january", "february", "march", "april", "may", "june", "july",
                                            "august", "september", "october", "november", "december"};
static const char *const day_names[7] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

int datefmt_compile(const char *pattern, datefmt_spec *sp, char *msg, size_t cap)
{
    memset(sp, 0, sizeof *sp);
    snprintf(sp->text, sizeof sp->text, "%s", pattern);
    int seen[128] = {0};
    if (strlen(pattern) >= DATEFMT_SPEC_MAX) {
        snprintf(msg, cap, "'%.80s...' is longer than %d characters", pattern, DATEFMT_SPEC_MAX - 1);
        return -1;
    }
    for (const char *p = pattern; *p; p++) {
        char op = 0, lit = *p;
        if (*p == '%') {
            op = *++p;
            if (!op || !strchr("YymdHIMSfbBaApz%", op)) {
                snprintf(msg, cap, "'%s': %%%c is not a directive Precis reads (%%Y %%y %%m %%d %%H %%I %%M %%S %%f %%b %%B %%a %%A %%p %%z %%%%)",
                         pattern, op ? op : ' ');
                return -1;
            }
            if (op == '%') op = 0, lit = '%';
            else if (seen[(int)op]++) {
                snprintf(msg, cap, "'%s': %%%c appears twice", pattern, op);
                return -1;
            }
        }
        sp->op[sp->n] = op;
        sp->lit[sp->n++] = op ? 0 : lit;
    }
    const char *why = NULL;
    if (!seen['Y'] == !seen['y'] || !(seen['m'] + seen['b'] + seen['B'] == 1) || !seen['d'])
        why = "needs a year (%Y or %y), a month (%m, %b or %B) and a day (%d), once each";
    else if (seen['H'] && seen['I']) why = "has both %H and %I";
    else if (!seen['I'] != !seen['p']) why = "needs %p with %I (12-hour clock), and %I with %p";
    else if ((seen['M'] || seen['S']) && !(seen['H'] || seen['I'])) why = "has minutes or seconds without an hour";
    else if (seen['a'] + seen['A'] > 1) why = "has two day names";
    if (why) {
        snprintf(msg, cap, "'%s' %s", pattern, why);
        return -1;
    }
    sp->twelve = seen['I'];
    return 0;
}

/* The fields a pattern reads. */
typedef struct dfields {
    int64_t y, m, d, h, mi, sec, off;
    int pm, has_off;
} dfields;

/* Two digits at s[i], or -1 */
static int two(const char *s, size_t len, size_t i)
{
    return i + 1 < len ? d2(s + i) : -1;
}

static int digit(const char *s, size_t len, size_t i)
{
    return i < len && s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1;
}

/* one of names[0..n) at s[i], whole (full) or its first three letters, any
 * case: its index and length, or -1 */
static int name_at(const char *s, size_t len, size_t i, const char *const *names, int n, int full, size_t *l)
{
    for (int k = 0; k < n; k++) {
        *l = full ? strlen(names[k]) : 3;
        if (len - i < *l) continue;
        size_t j = 0;
        while (j < *l && (s[i + j] | 0x20) == names[k][j]) j++;
        if (j == *l) return k;
    }
    return -1;
}

int datefmt_names_month(const char *s, size_t len)
{
    size_t l;
    for (size_t i = 0; i + 3 <= len; i++)
        if (name_at(s, len, i, month_names, 12, 0, &l) >= 0) return 1;
    return 0;
}

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch; }

/* Match ops k.. of sp against s[i..len), as Python's strptime regex does:
 * each one- or two-digit field tries the two-digit readings its regex
 * allows first, then one digit, backtracking when the rest fails; %f the
 * longest run first. 1 on a match of the whole value. */
static int match(const datefmt_spec *sp, int k, const char *s, size_t len, size_t i, dfields *f)
{
    if (k == sp->n) return i == len;
    int op = sp->op[k], a = digit(s, len, i), t = two(s, len, i);
    int64_t *dst = NULL;
    int two_ok = 0, one_ok = a >= 0;
    switch (op) {
    case 0:
        if (sp->lit[k] == ' ') {
            if (i >= len || (s[i] != ' ' && s[i] != '\t')) return 0;
            while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
            return match(sp, k + 1, s, len, i, f);
        }
        return i < len && lower((unsigned char)s[i]) == lower((unsigned char)sp->lit[k]) && match(sp, k + 1, s, len, i + 1, f);
    case 'Y':
        if (t < 0 || two(s, len, i + 2) < 0) return 0;
        f->y = t * 100 + two(s, len, i + 2);
        return match(sp, k + 1, s, len, i + 4, f);
    case 'y':
        if (t < 0) return 0;
        f->y = t < 69 ? 2000 + t : 1900 + t;
        return match(sp, k + 1, s, len, i + 2, f);
    case 'm': case 'I': dst = op == 'm' ? &f->m : &f->h; two_ok = t >= 1 && t <= 12; one_ok = a >= 1; break;
    case 'd':
        /* strptime's %d also takes a day padded with a space (" 3") */
        if (i + 1 < len && s[i] == ' ' && digit(s, len, i + 1) >= 1) {
            f->d = digit(s, len, i + 1);
            if (match(sp, k + 1, s, len, i + 2, f)) return 1;
        }
        dst = &f->d; two_ok = t >= 1 && t <= 31; one_ok = a >= 1; break;
    case 'H': dst = &f->h; two_ok = t >= 0 && t <= 23; break;
    case 'M': dst = &f->mi; two_ok = t >= 0 && t <= 59; break;
    case 'S': dst = &f->sec; two_ok = t >= 0 && t <= 61; break;
    case 'f': {
        size_t n = 0;
        while (n < 6 && digit(s, len, i + n) >= 0) n++;
        for (; n >= 1; n--)
            if (match(sp, k + 1, s, len, i + n, f)) return 1;
        return 0;
    }
    case 'b': case 'B': case 'a': case 'A': {
        size_t l;
        int month = op == 'b' || op == 'B', full = op == 'B' || op == 'A';
        int v = name_at(s, len, i, month ? month_names : day_names, month ? 12 : 7, full, &l);
        if (v < 0) return 0;
        if (month) f->m = v + 1;
        return match(sp, k + 1, s, len, i + l, f);
    }
    case 'p':
        if (len - i < 2 || (s[i + 1] | 0x20) != 'm' || ((s[i] | 0x20) != 'a' && (s[i] | 0x20) != 'p')) return 0;
        f->pm = (s[i] | 0x20) == 'p';
        return match(sp, k + 1, s, len, i + 2, f);
    case 'z': {
        if (i < len && s[i] == 'Z') {
            f->off = 0;
            f->has_off = 1;
            return match(sp, k + 1, s, len, i + 1, f);
        }
        if (i >= len || (s[i] != '+' && s[i] != '-')) return 0;
        int oh = two(s, len, i + 1);
        size_t j = i + 3 + (i + 3 < len && s[i + 3] == ':');
        int om = two(s, len, j);
        if (oh < 0 || om < 0 || om > 59) return 0;
        f->off = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        f->has_off = 1;
        return match(sp, k + 1, s, len, j + 2, f);
    }
    }
    if (two_ok) {
        *dst = t;
        if (match(sp, k + 1, s, len, i + 2, f)) return 1;
    }
    if (one_ok) {
        *dst = a;
        return match(sp, k + 1, s, len, i + 1, f);
    }
    return 0;
}

int datefmt_parse_spec(const datefmt_spec *sp, const char *s, size_t len, const tz_zone *tz, int64_t *ts)
{
    dfields f = {0};
    trim_blanks(&s, &len);
    if (!match(sp, 0, s, len, 0, &f)) return -1;
    /* what strptime checks after its match: no second 60 or 61, offsets under 24 h */
    if (f.sec > 59 || (f.has_off && (f.off <= -86400 || f.off >= 86400))) return -1;
    if (sp->twelve) f.h = f.h % 12 + (f.pm ? 12 : 0);
    int64_t days;
    if (ymd(f.y, f.m, f.d, &days)) return -1;
    return finish(tz, days * 86400 + f.h * 3600 + f.mi * 60 + f.sec, f.has_off, f.off, ts);
}
