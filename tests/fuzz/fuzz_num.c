/* fuzz_num.c - libFuzzer target for common/numparse (precis-clean's number
 * fields).
 *
 * The first byte chooses the options: bit 0 the decimal mark ('.' or ','),
 * bits 1-3 the thousands mark (none, ',', '.', '\'' or space; none when it
 * would be the decimal mark), bit 4 the largest value taken (1e12, as
 * precis-clean's amounts, or DBL_MAX). With bit 5 the rest is the value as
 * it is; without it each further byte adds a piece of a number (a digit, a
 * mark, the decimal mark, an exponent, a sign, a letter of nan or
 * infinity, or a stray byte), so that grouped, signed and exponent forms
 * come up often.
 *
 * What num_parse returns is checked against a reader written here from
 * numparse.h's rules, in another way: the value is cut into an integer
 * part, a fraction and an exponent, the integer part's groups are counted,
 * and the result must be the double strtod gives for the value without its
 * marks and with '.' as the decimal mark, bit for bit. num_parse_slow alone
 * must agree too, so the inline fast path and the rule-by-rule path cannot
 * drift apart. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "numparse.h"

#define VMAX 80

/* the length of a thousands mark at v[i] (0: none) */
static size_t mark_len(const char *v, size_t i, size_t l, char thou)
{
    const unsigned char *u = (const unsigned char *)v + i;
    if (!thou) return 0;
    if (v[i] == thou) return 1;
    if (thou == ' ' && i + 2 <= l && u[0] == 0xC2 && u[1] == 0xA0) return 2;
    if (thou == ' ' && i + 3 <= l && u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0xAF) return 3;
    return 0;
}

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int ieq(const char *a, size_t n, const char *word)
{
    if (strlen(word) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((a[i] | 0x20) != word[i]) return 0;
    return 1;
}

/* The reader the checks trust: NUM_* and *out. */
static int ref_parse(const char *v, size_t l, char dec, char thou, double max, double *out)
{
    if (l == 0 || l >= 64) return NUM_INVALID;   /* numparse.h's bound: 63 bytes */
    size_t i = 0;
    char norm[80];
    size_t o = 0;
    if (v[0] == '+' || v[0] == '-') norm[o++] = v[i++];
    /* nan, inf, infinity after one sign, any case */
    if (ieq(v + i, l - i, "nan") || ieq(v + i, l - i, "inf") || ieq(v + i, l - i, "infinity")) return NUM_NAN_INF;
    /* the integer part: digits, perhaps in groups between marks */
    size_t glen[64], ng = 0, cur = 0, nint = 0;
    int marks = 0;
    while (i < l) {
        size_t m = mark_len(v, i, l, thou);
        if (m) {
            glen[ng++] = cur;
            cur = 0;
            marks = 1;
            i += m;
        } else if (is_digit(v[i])) {
            norm[o++] = v[i++];
            cur++;
            nint++;
        } else break;
    }
    glen[ng++] = cur;
    if (marks) {   /* 1,234,567 or 12,34,567 */
        if (glen[ng - 1] != 3 || glen[0] == 0) return NUM_INVALID;
        int threes = 1, twos = ng > 2;
        for (size_t g = 1; g + 1 < ng; g++) threes &= glen[g] == 3, twos &= glen[g] == 2;
        if (!((threes && glen[0] <= 3) || (twos && glen[0] <= 2))) return NUM_INVALID;
    }
    size_t nfrac = 0;
    if (i < l && v[i] == dec) {
        norm[o++] = '.';
        i++;
        while (i < l && is_digit(v[i])) norm[o++] = v[i++], nfrac++;
    }
    if (nint + nfrac == 0) return NUM_INVALID;
    if (i < l && (v[i] == 'e' || v[i] == 'E')) {
        norm[o++] = 'e';
        i++;
        if (i < l && (v[i] == '+' || v[i] == '-')) norm[o++] = v[i++];
        size_t nexp = 0;
        while (i < l && is_digit(v[i])) norm[o++] = v[i++], nexp++;
        if (nexp == 0) return NUM_INVALID;
    }
    if (i != l) return NUM_INVALID;   /* anything else: a second sign, a '.' with ',' decimals, a mark out of place */
    norm[o] = '\0';
    char *end = NULL;
    double x = strtod(norm, &end);
    EXPECT(*end == '\0');
    if (!isfinite(x) || fabs(x) > max) return NUM_OUT_OF_RANGE;
    *out = x;
    return NUM_OK;
}

static size_t build(const uint8_t *d, size_t n, char dec, char thou, char *v)
{
    static const char letters[] = "nafiNAFIty";
    static const char stray[] = " .,x+-\t'";
    size_t l = 0;
    for (size_t k = 0; k < n && l + 3 <= VMAX; k++) {
        uint8_t b = d[k], hi = b >> 4;
        switch (b & 15) {
        case 10:
            if (thou == ' ' && hi % 3 == 1) v[l++] = (char)0xC2, v[l++] = (char)0xA0;
            else if (thou == ' ' && hi % 3 == 2) v[l++] = (char)0xE2, v[l++] = (char)0x80, v[l++] = (char)0xAF;
            else v[l++] = thou ? thou : ',';
            break;
        case 11: v[l++] = dec; break;
        case 12: v[l++] = hi & 1 ? 'E' : 'e'; break;
        case 13: v[l++] = hi & 1 ? '-' : '+'; break;
        case 14: v[l++] = letters[hi % 10]; break;
        case 15: v[l++] = stray[hi % 8]; break;
        default: v[l++] = (char)('0' + (b & 15)); break;
        }
    }
    return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char thous[5] = {0, ',', '.', '\'', ' '};
    if (size < 1) return 0;
    char dec = data[0] & 1 ? ',' : '.';
    char thou = thous[((data[0] >> 1) & 7) % 5];
    if (thou == dec) thou = 0;
    double max = data[0] & 16 ? DBL_MAX : 1e12;
    char v[VMAX + 4];
    size_t l;
    if (data[0] & 32) {
        l = size - 1 < VMAX ? size - 1 : VMAX;
        memcpy(v, data + 1, l);
    } else l = build(data + 1, size - 1, dec, thou, v);

    /* the value alone in a heap block of its size: ASan stops a read past it */
    char *heap = malloc(l ? l : 1);
    EXPECT(heap);
    memcpy(heap, v, l);
    double got = -7.25, slow = -7.25, want = -7.25;
    int rc = num_parse(heap, l, dec, thou, max, &got);
    int rs = num_parse_slow(heap, l, dec, thou, max, &slow);
    int rr = ref_parse(v, l, dec, thou, max, &want);
    free(heap);
    if (rc != rr || (rc == NUM_OK && memcmp(&got, &want, sizeof got))) {
        fprintf(stderr, "num_parse(\"%.*s\", dec '%c', thou %d, max %g) = %d (%.17g), reference %d (%.17g)\n", (int)l, v, dec,
                thou, max, rc, got, rr, want);
        EXPECT(rc == rr && (rc != NUM_OK || !memcmp(&got, &want, sizeof got)));
    }
    EXPECT(rs == rc && (rc != NUM_OK || !memcmp(&slow, &got, sizeof got)));
    EXPECT(rc == NUM_OK || got == -7.25);   /* untouched when refused */
    return 0;
}
