/* pii.c - keyed identities and tokens with OpenSSL HMAC-SHA256.
 *
 * HMAC (RFC 2104) is computed from two SHA-256 states that have absorbed
 * the key's inner and outer pad blocks once, at pii_key_set: each HMAC then
 * copies a state and hashes only the message (about 100 ns for a short id
 * on SHA-NI, half the cost of re-initialising an EVP_MAC_CTX). The SHA-256
 * itself is libcrypto's; its low-level context API is deprecated in
 * OpenSSL 3 but is the only one that can be copied without an allocation.
 * tests/unit/test_pii.c checks RFC 4231 and OpenSSL's own HMAC on random
 * keys and messages.
 *
 * Order keys are the costliest step of parsing transactions (one distinct
 * order id per row in most exports, ~90 ns for an HMAC): they use
 * AES-128-CMAC (NIST SP 800-38B, RFC 4493) instead, under a key derived
 * from the PII key, the first 16 bytes of HMAC(key, "precis-order-cmac").
 * The block cipher is libcrypto's AES through an EVP context in ECB mode,
 * keyed once; CMAC's chaining and subkeys are done here because an EVP CMAC
 * context must be re-initialised per message (~70 ns, one ECB block ~10 ns).
 * tests/unit/test_pii.c checks it against OpenSSL's own CMAC. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pii.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int pii_key_load(const char *path, pii_key *key, precis_err *e)
{
    struct stat st;
    memset(key, 0, sizeof *key);
    if (path == NULL || *path == '\0')
        return PERR(e, PRECIS_EXIT_DATA, "no PII key file given (--pii-key FILE)");
    if (stat(path, &st) != 0)
        return PERR(e, PRECIS_EXIT_DATA, "PII key file %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return PERR(e, PRECIS_EXIT_DATA, "PII key file %s is not a regular file", path);
    if (st.st_mode & 077)
        return PERR(e, PRECIS_EXIT_DATA,
                    "PII key file %s has mode %04o; it must be 0600 or stricter (run: chmod 600 %s)",
                    path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_size < PII_KEY_MIN)
        return PERR(e, PRECIS_EXIT_DATA, "PII key file %s holds %lld bytes; at least %d are needed",
                    path, (long long)st.st_size, PII_KEY_MIN);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return PERR(e, PRECIS_EXIT_DATA, "PII key file %s: %s", path, strerror(errno));
    unsigned char buf[PII_KEY_MAX];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < PII_KEY_MIN)
        return PERR(e, PRECIS_EXIT_DATA, "PII key file %s: could not read %d bytes", path, PII_KEY_MIN);
    int rc = pii_key_set(key, buf, (size_t)n, e);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

typedef struct pads {
    SHA256_CTX inner, outer; /* after the key ^ ipad and key ^ opad blocks */
    EVP_CIPHER_CTX *aes;     /* AES-128-ECB under the order-id CMAC key */
    unsigned char k1[16], k2[16]; /* CMAC subkeys */
} pads;

static int hmac2(const pii_key *key, const void *a, size_t al, const void *b, size_t bl, unsigned char out[32]);

/* One AES block, in place. */
static int aes_block(const pads *p, unsigned char b[16])
{
    int n = 0;
    return EVP_EncryptUpdate(p->aes, b, &n, b, 16) == 1 && n == 16 ? 0 : -1;
}

/* CMAC subkey doubling in GF(2^128). */
static void cmac_dbl(const unsigned char in[16], unsigned char out[16])
{
    unsigned char carry = in[0] >> 7;
    for (int i = 0; i < 15; i++) out[i] = (unsigned char)((in[i] << 1) | (in[i + 1] >> 7));
    out[15] = (unsigned char)((in[15] << 1) ^ (carry ? 0x87 : 0));
}

static int cmac_setup(pii_key *key)
{
    pads *p = key->pads;
    static const char label[] = "precis-order-cmac";
    unsigned char h[32], l[16] = {0};
    int ok = hmac2(key, label, sizeof label - 1, NULL, 0, h) == 0 && (p->aes = EVP_CIPHER_CTX_new()) != NULL &&
             EVP_EncryptInit_ex(p->aes, EVP_aes_128_ecb(), NULL, h, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(p->aes, 0) == 1 && aes_block(p, l) == 0;
    if (ok) {
        cmac_dbl(l, p->k1);
        cmac_dbl(p->k1, p->k2);
    }
    OPENSSL_cleanse(h, sizeof h);
    OPENSSL_cleanse(l, sizeof l);
    return ok ? 0 : -1;
}

/* CMAC's last block: its rest (0..16) bytes d xored into the chaining
 * value x, padded with 0x80 when short, then xored with the subkey a whole
 * or a short block calls for. */
static void cmac_last(const pads *p, unsigned char x[16], const unsigned char *d, size_t rest)
{
    const unsigned char *k = rest == 16 ? p->k1 : p->k2;
    for (size_t i = 0; i < rest; i++) x[i] ^= d[i];
    if (rest < 16) x[rest] ^= 0x80;
    for (int i = 0; i < 16; i++) x[i] ^= k[i];
}

/* A token from a MAC's first 8 bytes: 0 is kept for "missing". */
static uint64_t token_of(const unsigned char *h)
{
    uint64_t t = pii_be64(h);
    return t ? t : 1;
}

int pii_cmac(const pii_key *key, const void *data, size_t len, unsigned char out[16])
{
    const pads *p = key->pads;
    const unsigned char *d = data;
    if (!p || !p->aes) return -1;
    unsigned char x[16] = {0};
    size_t full = len ? (len - 1) / 16 : 0; /* blocks before the last one */
    for (size_t b = 0; b < full; b++, d += 16) {
        for (int i = 0; i < 16; i++) x[i] ^= d[i];
        if (aes_block(p, x)) return -1;
    }
    cmac_last(p, x, d, len - 16 * full); /* 0..16 bytes in the last block */
    if (aes_block(p, x)) return -1;
    memcpy(out, x, 16);
    return 0;
}

int pii_order_block(const pii_key *key, const void *id, size_t len, unsigned char blk[16])
{
    const pads *p = key->pads;
    if (len > 16 || !p) return 0;
    memset(blk, 0, 16); /* the only block: nothing chained before it */
    cmac_last(p, blk, id, len);
    return 1;
}

int pii_order_finish(const pii_key *key, unsigned char (*blk)[16], size_t n, uint64_t *out)
{
    const pads *p = key->pads;
    if (!p || !p->aes) return -1;
    for (size_t a = 0; a < n;) { /* EVP lengths are int */
        size_t m = n - a < ((size_t)1 << 20) ? n - a : ((size_t)1 << 20);
        int got = 0;
        if (EVP_EncryptUpdate(p->aes, blk[a], &got, blk[a], (int)(16 * m)) != 1 || got != (int)(16 * m)) return -1;
        a += m;
    }
    for (size_t i = 0; i < n; i++) out[i] = token_of(blk[i]);
    return 0;
}

int pii_key_set(pii_key *key, const void *bytes, size_t len, precis_err *e)
{
    memset(key, 0, sizeof *key);
    if (len > sizeof key->k) len = sizeof key->k;
    memcpy(key->k, bytes, len);
    key->len = len;
    pads *p = OPENSSL_secure_zalloc(sizeof *p); /* plain heap unless a secure heap is set up */
    if (!p) return PERR(e, PRECIS_EXIT_INTERNAL, "libcrypto: out of memory for the HMAC key");
    unsigned char kb[SHA256_CBLOCK] = {0}, ip[SHA256_CBLOCK], op[SHA256_CBLOCK];
    int ok = 1;
    if (len > SHA256_CBLOCK) ok = SHA256(key->k, len, kb) != NULL; /* a long key is hashed first */
    else memcpy(kb, key->k, len);
    for (int i = 0; i < SHA256_CBLOCK; i++) {
        ip[i] = kb[i] ^ 0x36;
        op[i] = kb[i] ^ 0x5c;
    }
    ok = ok && SHA256_Init(&p->inner) == 1 && SHA256_Update(&p->inner, ip, sizeof ip) == 1 &&
         SHA256_Init(&p->outer) == 1 && SHA256_Update(&p->outer, op, sizeof op) == 1;
    OPENSSL_cleanse(kb, sizeof kb);
    OPENSSL_cleanse(ip, sizeof ip);
    OPENSSL_cleanse(op, sizeof op);
    key->pads = p;
    ok = ok && cmac_setup(key) == 0;
    if (!ok) {
        pii_key_wipe(key);
        return PERR(e, PRECIS_EXIT_INTERNAL, "libcrypto: cannot set up HMAC-SHA256");
    }
    return 0;
}

void pii_key_wipe(pii_key *key)
{
    if (key->pads) {
        EVP_CIPHER_CTX_free(((pads *)key->pads)->aes);
        OPENSSL_secure_clear_free(key->pads, sizeof(pads));
    }
    OPENSSL_cleanse(key->k, sizeof key->k);
    key->len = 0;
    key->pads = NULL;
}

/* HMAC over the concatenation a || b. */
static int hmac2(const pii_key *key, const void *a, size_t al, const void *b, size_t bl,
                 unsigned char out[32])
{
    const pads *p = key->pads;
    if (!p) return -1;
    SHA256_CTX x = p->inner;
    unsigned char ih[SHA256_DIGEST_LENGTH];
    int ok = (al == 0 || SHA256_Update(&x, a, al) == 1) && (bl == 0 || SHA256_Update(&x, b, bl) == 1) &&
             SHA256_Final(ih, &x) == 1;
    x = p->outer;
    ok = ok && SHA256_Update(&x, ih, sizeof ih) == 1 && SHA256_Final(out, &x) == 1;
    return ok ? 0 : -1;
}

int pii_hmac(const pii_key *key, const void *data, size_t len, unsigned char out[32])
{
    return hmac2(key, data, len, NULL, 0, out);
}

uint64_t pii_be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
    return v;
}

size_t pii_trim(const char **s, size_t len)
{
    const char *p = *s;
    while (len && isspace((unsigned char)*p)) p++, len--;
    while (len && isspace((unsigned char)p[len - 1])) len--;
    *s = p;
    return len;
}

int pii_customer_key(const pii_key *key, const char *id, size_t len, uint64_t *hi, uint64_t *lo)
{
    unsigned char h[32];
    len = pii_trim(&id, len);
    if (len == 0 || pii_hmac(key, id, len, h)) return -1;
    *hi = pii_be64(h);
    *lo = pii_be64(h + 8);
    return 0;
}

int pii_token(const pii_key *key, pii_token_kind kind, const char *v, size_t len, uint64_t *out)
{
    static const char *pfx[] = {"phone", "email", "order", "line"};
    const char *p = pfx[kind];
    unsigned char h[32];
    if (kind == PII_TOKEN_ORDER) {
        if (pii_cmac(key, v, len, h)) return -1; /* its own key: no prefix needed */
    } else if (hmac2(key, p, strlen(p) + 1, v, len, h)) {
        return -1; /* NUL separates kind and value */
    }
    *out = token_of(h);
    return 0;
}

int pii_fingerprint(const pii_key *key, char out[17])
{
    static const char msg[] = "precis-key-fingerprint";
    unsigned char h[32];
    if (pii_hmac(key, msg, sizeof msg - 1, h)) return -1;
    for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
    return 0;
}

/* A byte of an email's local part, or of a domain label (hyphen aside):
 * ASCII letters and digits, and UTF-8 (the reader has checked it already). */
static int email_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

static int email_valid(const unsigned char *s, size_t len)
{
    size_t at = 0;
    if (len > 254) return 0;
    while (at < len && s[at] != '@') {
        if (!email_alnum(s[at]) && !(s[at] && strchr(".!#$%&'*+/=?^_`{|}~-", s[at]))) return 0; /* (strchr finds a NUL) */
        at++;
    }
    if (at == 0 || at > 64 || at == len) return 0;
    int labels = 0;
    for (size_t i = at + 1; i <= len; labels++) { /* a label ends at a dot or the end */
        size_t j = i;
        while (j < len && s[j] != '.') {
            if (!email_alnum(s[j]) && s[j] != '-') return 0;
            j++;
        }
        if (j == i || j - i > 63 || s[i] == '-' || s[j - 1] == '-') return 0;
        i = j + 1;
    }
    return labels >= 2;
}

int pii_norm_email(const char *s, size_t len, char *out, size_t cap)
{
    len = pii_trim(&s, len);
    if (len == 0 || !email_valid((const unsigned char *)s, len)) return 0;
    if (len + 1 > cap) return -1;
    for (size_t i = 0; i < len; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return (int)len;
}

/* Phone numbers.
 *
 * A number is reduced to its E.164 form, "+" country code national number,
 * so that the ways one number is written give one token: "+44 20 7946
 * 0958", "+44 (0)20 7946 0958", "020 7946 0958 ext. 12" and "0044 20 7946
 * 0958" are all "+442079460958" under --phone-region GB. The rules are
 * libphonenumber's in outline, with possible lengths instead of its number
 * patterns: tests/clean/check_phone.py compares the tokens with the E.164
 * forms Debian's python3-phonenumbers gives.
 *
 * Each region: its country code, the international prefixes dialled from
 * it, its national (trunk) prefix, and the possible lengths of its national
 * significant numbers (python3-phonenumbers 8.12's general possible lengths;
 * lengths possible only for local dialling, without an area code, are left
 * out: such a number names no one line). */
typedef struct {
    const char *name, *cc, *idd[6], *trunk;
    uint32_t len; /* bit n: n-digit national numbers are possible */
} region_rule;
#define L(a, b) ((uint32_t)((2u << (b)) - (1u << (a)))) /* lengths a..b */
static const region_rule regions[] = {
    {"CN", "86", {"00"}, "0", L(7, 12)},
    {"US", "1", {"011"}, "1", L(10, 10)},
    {"CA", "1", {"011"}, "1", L(10, 10)}, /* +1 numbers have the US lengths */
    {"GB", "44", {"00"}, "0", L(7, 7) | L(9, 10)},
    {"DE", "49", {"00"}, "0", L(4, 15)},
    {"FR", "33", {"00"}, "0", L(9, 9)},
    {"ES", "34", {"00"}, "", L(9, 9)},
    {"IT", "39", {"00"}, "", L(6, 12)},
    {"NL", "31", {"00"}, "0", L(5, 11)},
    {"IN", "91", {"00"}, "0", L(8, 13)},
    {"JP", "81", {"010"}, "0", L(8, 17)},
    {"AU", "61", {"0011", "0014", "0015", "0016", "0018", "0019"}, "0", L(5, 10) | L(12, 12)},
    {"NONE", "", {NULL}, "", 0},
};
#undef L
#define PHONE_DIGITS 24 /* more digits than any number with its prefixes */

static const region_rule *region_of(const char *name)
{
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++)
        if (strcmp(regions[i].name, name) == 0) return &regions[i];
    return NULL;
}

int pii_region_known(const char *region) { return region_of(region) != NULL; }

/* What the character at s[*i] is, decoded from UTF-8; *i moves past it.
 * Digits are ASCII, full-width (U+FF10..FF19) or Arabic-Indic (U+0660..0669,
 * U+06F0..06F9); a plus is ASCII or full-width; separators are spaces, the
 * no-break and ideographic spaces, hyphens and dashes, dots, slashes,
 * brackets and their full-width forms. */
enum { PH_DIGIT, PH_PLUS, PH_SEP, PH_OTHER };
static int phone_char(const unsigned char *s, size_t len, size_t *i, int *digit)
{
    unsigned c = s[*i];
    if (c < 0x80) {
        ++*i;
        if (c >= '0' && c <= '9') return *digit = (int)(c - '0'), PH_DIGIT;
        if (c == '+') return PH_PLUS;
        return strchr(" \t-./()[]~", (int)c) && c ? PH_SEP : PH_OTHER;
    }
    unsigned cp = 0;
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (n == 1 || *i + n > len) return ++*i, PH_OTHER;
    cp = c & (0x7fu >> n);
    for (size_t k = 1; k < n; k++) {
        if ((s[*i + k] & 0xc0) != 0x80) return ++*i, PH_OTHER;
        cp = cp << 6 | (s[*i + k] & 0x3fu);
    }
    *i += n;
    if (cp >= 0xff10 && cp <= 0xff19) return *digit = (int)(cp - 0xff10), PH_DIGIT;
    if (cp >= 0x660 && cp <= 0x669) return *digit = (int)(cp - 0x660), PH_DIGIT;
    if (cp >= 0x6f0 && cp <= 0x6f9) return *digit = (int)(cp - 0x6f0), PH_DIGIT;
    if (cp == 0xff0b) return PH_PLUS;
    if (cp == 0xa0 || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0x3000 || cp == 0xff08 || cp == 0xff09 ||
        cp == 0xff0d || cp == 0xff0e || cp == 0xff0f)
        return PH_SEP;
    return PH_OTHER;
}

/* Does s[i..len) hold only an extension: a marker ("ext", "ext.",
 * "extension", "extn", "x", "#" or ";ext="), digits, and separators? */
static int phone_extension(const unsigned char *s, size_t len, size_t i)
{
    static const char *const mark[] = {";ext=", "extension", "extn", "ext", "x", "#"};
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t m = 0;
    for (size_t k = 0; k < sizeof mark / sizeof mark[0] && !m; k++) {
        size_t ml = strlen(mark[k]);
        if (i + ml <= len && strncasecmp((const char *)s + i, mark[k], ml) == 0) m = ml;
    }
    if (!m) return 0;
    i += m;
    while (i < len && (s[i] == '.' || s[i] == ':' || s[i] == ' ' || s[i] == '\t')) i++;
    int digits = 0, done = 0, d;
    while (i < len) { /* digits, then only separators or a closing '#' */
        size_t at = i;
        int k = phone_char(s, len, &i, &d);
        if (k == PH_DIGIT && !done) digits++;
        else if (k == PH_SEP || (k == PH_OTHER && s[at] == '#')) done = digits > 0;
        else return 0;
    }
    return digits > 0 || m == 1; /* a trailing "x" or "#" is dropped; "ext" alone is letters */
}

static int len_ok(const region_rule *r, size_t n) { return n < 32 && (r->len >> n & 1u); }

static int starts(const char *d, size_t n, const char *p)
{
    size_t pl = strlen(p);
    return pl && pl <= n && memcmp(d, p, pl) == 0;
}

int pii_norm_phone(const char *s, size_t len, const char *region, char *out, size_t cap)
{
    const region_rule *r = region_of(region);
    if (!r) return -1;
    len = pii_trim(&s, len);
    if (len >= 4 && strncasecmp(s, "tel:", 4) == 0) s += 4, len -= 4;
    const unsigned char *u = (const unsigned char *)s;
    char d[PHONE_DIGITS + 1];
    size_t n = 0, i = 0;
    int plus = 0, tail = 0;
    while (i < len) {
        size_t at = i;
        int v = 0, k = phone_char(u, len, &i, &v);
        if (k == PH_DIGIT) {
            if (n == PHONE_DIGITS || tail) return 0; /* no number is this long; "+44 20 + 7946" */
            d[n++] = (char)('0' + v);
        } else if (k == PH_PLUS) { /* leads ("++" too); trails only after the last digit */
            if (n) tail = 1;
            plus |= !n;
        } else if (k == PH_OTHER) {
            if (!n || !phone_extension(u, len, at)) return 0; /* letters, or an extension without a number */
            break;
        }
    }
    if (n == 0) return 0;
    d[n] = '\0';
    if (!r->cc[0]) { /* NONE: the digits as written */
        if (n + 1 > cap) return -1;
        memcpy(out, d, n + 1);
        return (int)n;
    }
    const char *nsn = d;
    size_t nl = n;
    int intl = plus;
    for (int k = 0; !intl && k < 6 && r->idd[k]; k++)
        if (starts(d, n, r->idd[k])) {
            size_t pl = strlen(r->idd[k]);
            nsn += pl, nl -= pl, intl = 1;
        }
    const region_rule *c = r;
    if (intl) { /* country code first: one of ours, or kept as it is */
        c = NULL;
        for (size_t k = 0; k + 1 < sizeof regions / sizeof regions[0] && !c; k++)
            if (starts(nsn, nl, regions[k].cc)) c = &regions[k];
        if (!c) {
            if (nl < 7 || nl > 15 || nsn[0] == '0') return 0; /* not E.164 */
            if (nl + 2 > cap) return -1;
            out[0] = '+';
            memcpy(out + 1, nsn, nl + 1);
            return (int)nl + 1;
        }
        nsn += strlen(c->cc), nl -= strlen(c->cc);
    }
    size_t tl = strlen(c->trunk);
    if (tl && starts(nsn, nl, c->trunk) && len_ok(c, nl - tl)) /* "(0)20 ...", "1 415 ..." */
        nsn += tl, nl -= tl;
    else if (!intl && starts(nsn, nl, c->cc) && !len_ok(c, nl) && len_ok(c, nl - strlen(c->cc))) /* "86 138 ..." */
        nsn += strlen(c->cc), nl -= strlen(c->cc);
    if (!len_ok(c, nl) || starts(nsn, nl, c->trunk)) return 0; /* no national number begins with the prefix */
    size_t cl = strlen(c->cc);
    if (1 + cl + nl + 1 > cap) return -1;
    out[0] = '+';
    memcpy(out + 1, c->cc, cl);
    memcpy(out + 1 + cl, nsn, nl);
    out[1 + cl + nl] = '\0';
    return (int)(1 + cl + nl);
}
