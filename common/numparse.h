/* numparse.h - decimal numbers of raw exports, with their locale's marks.
 *
 * DESIGN
 * A value is [+-]digits[<dec>digits][e[+-]digits], where dec is '.' or ','
 * (--decimal) and the integer part may be grouped by a thousands mark thou
 * (--thousands; 0: none). With thou ' ', the no-break spaces U+00A0 and
 * U+202F (UTF-8) are marks too, as French-locale spreadsheets write
 * "1 234,50". Marks must group the integer part as 1,234,567 (threes) or
 * 12,34,567 (India: twos, then a three); "1,5" is refused, never read as
 * 15, and a mark in the fraction or exponent is refused. With dec ',' a '.'
 * is refused unless it is the thousands mark: "1.234,5" is never misread.
 * Letters are case-insensitive; nan, inf and infinity (signed) are told
 * apart from other invalid values. No spaces are trimmed here.
 *
 * The result is the double strtod gives for the value written with '.' and
 * no marks. Most values ([+-]digits[.digits], at most 15 digits) never reach
 * strtod: such a value is an exact integer m over an exact 10^k (k <= 15),
 * and one IEEE division rounds m / 10^k correctly (Clinger). That path is
 * inline, since a job parses a few numbers per row; tests/fuzz/fuzz_num
 * checks it against strtod.
 */
#ifndef PRECIS_NUMPARSE_H
#define PRECIS_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

/* what num_parse returns */
enum { NUM_OK = 0, NUM_INVALID, NUM_NAN_INF, NUM_OUT_OF_RANGE };

/* The rule-by-rule parser (num_parse calls it for what its fast path does
 * not take): the same contract as num_parse. */
int num_parse_slow(const char *v, size_t l, char dec, char thou, double max, double *out);

/* Parse v[0..l) with decimal mark dec and thousands mark thou (0: none).
 * NUM_OK and *out, or NUM_INVALID, NUM_NAN_INF, or NUM_OUT_OF_RANGE when
 * |value| > max or overflows a double (*out untouched then). */
static inline int num_parse(const char *v, size_t l, char dec, char thou, double max, double *out)
{
    static const double p10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *p = v, *end = v + l;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) neg = *p++ == '-';
    const char *d0 = p;
    uint64_t m = 0; /* wraps past 19 digits: those take the slow path anyway */
    while (p < end && (unsigned char)(*p - '0') < 10) m = m * 10 + (uint64_t)(*p++ - '0');
    int64_t ni = p - d0, nf = 0;
    int dot = p < end && *p == dec;
    if (dot) {
        const char *f0 = ++p;
        while (p < end && (unsigned char)(*p - '0') < 10) m = m * 10 + (uint64_t)(*p++ - '0');
        nf = p - f0;
    }
    if (p == end && ni + nf > 0 && ni + nf <= 15 && (!dot || nf > 0)) {
        double x = nf ? (double)m / p10[nf] : (double)m;   /* whole numbers (quantities): no division */
        if (x > max) return NUM_OUT_OF_RANGE;
        *out = neg ? -x : x;
        return NUM_OK;
    }
    return num_parse_slow(v, l, dec, thou, max, out);
}

#endif
