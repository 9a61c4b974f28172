/* numparse.c - decimal numbers with locale marks (numparse.h). */
#include "numparse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The length of the thousands mark at v[i] (0: none): thou itself, and
 * with space also U+00A0 and U+202F in UTF-8. */
static size_t mark_at(const char *v, size_t i, size_t l, char thou)
{
    const unsigned char *u = (const unsigned char *)v;
    if (v[i] == thou) return 1;
    if (thou != ' ') return 0;
    if (i + 1 < l && u[i] == 0xC2 && u[i + 1] == 0xA0) return 2;
    if (i + 2 < l && u[i] == 0xE2 && u[i + 1] == 0x80 && u[i + 2] == 0xAF) return 3;
    return 0;
}

/* v[0..l) without its thousands marks thou, into out (cap bytes); -1 when
 * the marks do not group the integer part in threes or the Indian way. */
static int strip_thousands(const char *v, size_t l, char thou, char dec, char *out, size_t cap, size_t *ol)
{
    size_t i = 0, o = 0, g = 0, first = 0, groups = 0, twos = 0, threes = 0, m;
    if (l >= cap) return -1;
    if (i < l && (v[i] == '+' || v[i] == '-')) out[o++] = v[i++];
    while (i < l && v[i] != dec && v[i] != 'e' && v[i] != 'E') {
        if (!(m = mark_at(v, i, l, thou))) {
            out[o++] = v[i++];
            g++;
            continue;
        }
        if (g == 0 || i + m >= l || (unsigned char)(v[i + m] - '0') >= 10 || (unsigned char)(v[i - 1] - '0') >= 10) return -1;
        if (groups++ == 0) first = g;
        else if (g == 2) twos++;
        else if (g == 3) threes++;
        else return -1;
        g = 0;
        i += m;
    }
    if (groups && (g != 3 || first > 3 || (twos && (threes || first > 2)))) return -1;
    for (; i < l; i++) {
        if (mark_at(v, i, l, thou)) return -1;   /* none in the fraction or exponent */
        out[o++] = v[i];
    }
    *ol = o;
    return 0;
}

int num_parse_slow(const char *v, size_t l, char dec, char thou, double max, double *out)
{
    char b[64], nt[64];
    if (l == 0 || l >= sizeof b) return NUM_INVALID;
    if (memchr(v, '\0', l)) return NUM_INVALID;   /* b is a C string below: "1\0x" is not 1, "nan\0x" not nan */
    if (thou) {   /* (a copy when v holds no mark: mark_at alone says what one is) */
        if (strip_thousands(v, l, thou, dec, nt, sizeof nt, &l)) return NUM_INVALID;
        v = nt;
    }
    for (size_t i = 0; i < l; i++) {
        if (dec != '.' && v[i] == '.') return NUM_INVALID;
        b[i] = v[i] == dec ? '.' : (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]);
    }
    b[l] = '\0';
    const char *s = b + (b[0] == '+' || b[0] == '-');
    if (!strcmp(s, "nan") || !strcmp(s, "inf") || !strcmp(s, "infinity")) return NUM_NAN_INF;
    for (size_t i = 0; i < l; i++)
        if (!memchr("0123456789+-.e", b[i], 14)) return NUM_INVALID;
    char *end;
    errno = 0;
    double x = strtod(b, &end);
    if (*end != '\0' || end == b) return NUM_INVALID;
    if (!isfinite(x) || fabs(x) > max) return NUM_OUT_OF_RANGE;
    *out = x;
    return NUM_OK;
}
