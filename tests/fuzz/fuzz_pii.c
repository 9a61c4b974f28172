/* fuzz_pii.c - libFuzzer target for common/pii's normalisers (what
 * precis-clean and precis-tokenize do to a phone or an email before it is
 * tokenised).
 *
 * The first byte chooses the --phone-region (one of PII_PHONE_REGIONS);
 * the rest is the value. Which E.164 form a written number has is checked
 * against python3-phonenumbers by tests/clean/check_phone.py; this target
 * checks what must hold for any bytes at all:
 * - the phone normaliser returns 0 or the length of a form that is '+' and
 *   7-20 characters of digits (under NONE: 1-24 digits), and never writes
 *   past the room it is given: with exactly the length as room it says -1,
 *   with one more it gives the same form;
 * - a normalised form normalises to itself, and so do the ways it may be
 *   written again: "tel:" before it, spaces in it, an extension after it;
 * - an email is none, or the trimmed value with ASCII capitals lowered,
 *   one '@' with a dot after it and no space, and normalises to itself
 *   (which values are addresses: tests/clean/check_email.py);
 * - pii_trim leaves no space at either end. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "pii.h"

#define VMAX 512

static int norm(const char *s, size_t l, const char *region, char *out, size_t cap)
{
    return pii_norm_phone(s, l, region, out, cap);
}

static void same(const char *s, const char *region, const char *want)
{
    char o[64];
    int r = norm(s, strlen(s), region, o, sizeof o);
    EXPECT(r == (int)strlen(want) && strcmp(o, want) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *regions[32];
    static int nreg;
    if (!nreg) { /* the regions, from the list the options accept */
        static char list[] = PII_PHONE_REGIONS;
        for (char *t = strtok(list, "|"); t && nreg < 32; t = strtok(NULL, "|")) regions[nreg++] = t;
        EXPECT(nreg >= 2);
        for (int i = 0; i < nreg; i++) EXPECT(pii_region_known(regions[i]));
        EXPECT(!pii_region_known("ZZ"));
    }
    if (size < 1 || size > VMAX) return 0;
    const char *region = regions[data[0] % nreg];
    int none = strcmp(region, "NONE") == 0;
    const char *v = (const char *)data + 1;
    size_t l = size - 1;
    char out[64], again[64], tmp[128];

    int n = norm(v, l, region, out, sizeof out);
    EXPECT(n >= 0);
    if (n > 0) {
        EXPECT((size_t)n == strlen(out));
        if (none) EXPECT(n <= 24);
        else EXPECT(out[0] == '+' && n >= 7 && n <= 20);
        for (int i = none ? 0 : 1; i < n; i++) EXPECT(out[i] >= '0' && out[i] <= '9');
        /* room: exactly n is too little (the NUL), n + 1 is enough */
        memset(again, 'Z', sizeof again);
        EXPECT(norm(v, l, region, again, (size_t)n) == -1);
        EXPECT(norm(v, l, region, again, (size_t)n + 1) == n && strcmp(again, out) == 0);
        EXPECT(again[n + 1] == 'Z');
        same(out, region, out);
        if (!none) {
            snprintf(tmp, sizeof tmp, "tel:%s", out);
            same(tmp, region, out);
            snprintf(tmp, sizeof tmp, " %.2s %s ext. 12 ", out, out + 2);
            same(tmp, region, out);
        }
    }

    /* email: none, or the trimmed value with capitals lowered and one '@'
     * with a dot after it, nothing else changed */
    char em[VMAX + 1], em2[VMAX + 1];
    int m = pii_norm_email(v, l, em, sizeof em);
    EXPECT(m >= 0 && (size_t)m <= l && m <= 254);
    const char *t = v;
    size_t tl = pii_trim(&t, l);
    EXPECT(tl == 0 || (!isspace((unsigned char)t[0]) && !isspace((unsigned char)t[tl - 1])));
    if (m > 0) {
        EXPECT((size_t)m == tl && (size_t)m == strlen(em));
        const char *a = memchr(em, '@', (size_t)m);
        EXPECT(a && a > em && !memchr(a + 1, '@', (size_t)(em + m - a - 1)) && memchr(a + 1, '.', (size_t)(em + m - a - 1)));
        for (int i = 0; i < m; i++) EXPECT(em[i] == (char)tolower((unsigned char)t[i]) && !isspace((unsigned char)em[i]));
        EXPECT(pii_norm_email(em, (size_t)m, em2, sizeof em2) == m && memcmp(em, em2, (size_t)m) == 0);
        EXPECT(pii_norm_email(v, l, em2, (size_t)m) == -1);
    }
    return 0;
}
