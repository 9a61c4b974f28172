/* test_pii.c - HMAC-SHA256 (RFC 4231), key files, normalisation (serial; nsize 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pii.h"

#include <openssl/evp.h>

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static void check_vector(const unsigned char *k, size_t kl, const void *d, size_t dl, const char *want)
{
    pii_key key;
    precis_err e;
    unsigned char mac[32];
    char h[65];
    perr_clear(&e);
    assert_int_equal(pii_key_set(&key, k, kl, &e), 0);
    assert_int_equal(pii_hmac(&key, d, dl, mac), 0);
    hex(mac, 32, h);
    assert_string_equal(h, want);
    pii_key_wipe(&key);
}

static void test_rfc4231(void **st)
{
    (void)st;
    unsigned char k[131];
    memset(k, 0x0b, 20);
    check_vector(k, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_vector((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28,
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    unsigned char d[50];
    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    check_vector(k, 20, d, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (int i = 0; i < 25; i++) k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    check_vector(k, 25, d, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(k, 0xaa, 131);
    check_vector(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *m7 = "This is a test using a larger than block-size key and a larger than block-size data. "
                     "The key needs to be hashed before being used by the HMAC algorithm.";
    check_vector(k, 131, m7, strlen(m7), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* pii_hmac (precomputed pads) equals OpenSSL's own HMAC (EVP_Q_mac) for
 * keys of 32..300 bytes (shorter, equal to and longer than a SHA-256 block)
 * and messages of 0..200 bytes (one, two and more blocks) */
static void test_hmac_matches_openssl(void **st)
{
    (void)st;
    unsigned char k[300], d[200], mac[32], want[32];
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int t = 0; t < 400; t++) {
        size_t kl = 32 + (size_t)(t * 7 % 269), dl = (size_t)(t * 13 % 201);
        for (size_t i = 0; i < sizeof k; i++) k[i] = (unsigned char)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
        for (size_t i = 0; i < sizeof d; i++) d[i] = (unsigned char)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
        pii_key key;
        precis_err e;
        perr_clear(&e);
        assert_int_equal(pii_key_set(&key, k, kl, &e), 0);
        assert_int_equal(pii_hmac(&key, d, dl, mac), 0);
        size_t wl = 0;
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, kl, d, dl, want, sizeof want, &wl));
        assert_int_equal(wl, 32);
        assert_memory_equal(mac, want, 32);
        /* a phone token is the HMAC of "phone\0" || value */
        unsigned char msg[210];
        memcpy(msg, "phone", 6);
        memcpy(msg + 6, d, dl);
        uint64_t tok;
        assert_int_equal(pii_token(&key, PII_TOKEN_PHONE, (const char *)d, dl, &tok), 0);
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, kl, msg, dl + 6, want, sizeof want, &wl));
        uint64_t wt = pii_be64(want);
        assert_true(tok == (wt ? wt : 1));
        /* an order token is OpenSSL's AES-128-CMAC under the first 16 bytes
         * of HMAC(key, "precis-order-cmac"); lengths 0..200 cover the empty
         * message, a partial, a whole and several blocks */
        static const char label[] = "precis-order-cmac";
        unsigned char ok16[32], cm[16];
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, kl, (const unsigned char *)label, sizeof label - 1, ok16, sizeof ok16, &wl));
        assert_non_null(EVP_Q_mac(NULL, "CMAC", NULL, "AES-128-CBC", NULL, ok16, 16, d, dl, want, sizeof want, &wl));
        assert_int_equal(wl, 16);
        assert_int_equal(pii_cmac(&key, d, dl, cm), 0);
        assert_memory_equal(cm, want, 16);
        assert_int_equal(pii_token(&key, PII_TOKEN_ORDER, (const char *)d, dl, &tok), 0);
        wt = pii_be64(want);
        assert_true(tok == (wt ? wt : 1));
        pii_key_wipe(&key);
        assert_null(key.pads);
    }
}

/* order tokens in a batch equal OpenSSL's CMAC of each id: ids of 0..16
 * bytes (both subkeys: 16 takes k1, shorter ones k2) go in one block each;
 * longer ones are refused (pii_token's path) */
static void test_order_batch(void **st)
{
    (void)st;
    unsigned char k[40], ids[600][24], blk[600][16], ok16[32], want[16];
    size_t len[600], n = 0, wl = 0;
    uint64_t tok[600], s = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < sizeof k; i++) k[i] = (unsigned char)(i * 37 + 11);
    pii_key key;
    precis_err e;
    perr_clear(&e);
    assert_int_equal(pii_key_set(&key, k, sizeof k, &e), 0);
    static const char label[] = "precis-order-cmac";
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, sizeof k, (const unsigned char *)label, sizeof label - 1, ok16, sizeof ok16, &wl));
    for (int t = 0; t < 600; t++) {
        size_t l = (size_t)(t % 24);
        for (size_t i = 0; i < l; i++) ids[t][i] = (unsigned char)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
        int one = pii_order_block(&key, ids[t], l, blk[n]);
        assert_int_equal(one, l <= 16);
        if (one) len[n] = l, memmove(ids[n], ids[t], l), n++;
    }
    assert_int_equal(pii_order_finish(&key, blk, n, tok), 0);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(EVP_Q_mac(NULL, "CMAC", NULL, "AES-128-CBC", NULL, ok16, 16, ids[i], len[i], want, sizeof want, &wl));
        uint64_t wt = pii_be64(want), one;
        assert_true(tok[i] == (wt ? wt : 1));
        assert_int_equal(pii_token(&key, PII_TOKEN_ORDER, (const char *)ids[i], len[i], &one), 0);
        assert_true(one == tok[i]);
    }
    pii_key_wipe(&key);
}

static char g_dir[] = "/tmp/precis-pii-XXXXXX";

static const char *keyfile(const char *name, int mode, size_t len)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    for (size_t i = 0; i < len; i++) fputc('k', f);
    fclose(f);
    chmod(p, (mode_t)mode);
    return p;
}

static void test_keyfile_checks(void **st)
{
    (void)st;
    pii_key k;
    precis_err e;
    assert_non_null(mkdtemp(g_dir));
    perr_clear(&e);
    assert_int_equal(pii_key_load(keyfile("open.key", 0644, 40), &k, &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_DATA);
    assert_non_null(strstr(e.msg, "0644"));
    assert_non_null(strstr(e.msg, "0600"));
    perr_clear(&e);
    assert_int_equal(pii_key_load(keyfile("short.key", 0600, 31), &k, &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_DATA);
    perr_clear(&e);
    assert_int_equal(pii_key_load("/nonexistent/pii.key", &k, &e), -1);
    assert_int_equal(e.code, PRECIS_EXIT_DATA);
    perr_clear(&e);
    assert_int_equal(pii_key_load(keyfile("ok.key", 0600, 32), &k, &e), 0);
    pii_key_wipe(&k);
    perr_clear(&e);
    assert_int_equal(pii_key_load(keyfile("ro.key", 0400, 64), &k, &e), 0);
    pii_key_wipe(&k);
    /* leave nothing in /tmp */
    static const char *const made[] = {"open.key", "short.key", "ok.key", "ro.key"};
    char p[256];
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, made[i]);
        assert_int_equal(unlink(p), 0);
    }
    assert_int_equal(rmdir(g_dir), 0);
}

static uint64_t phone_token(pii_key *k, const char *s)
{
    char n[64];
    int l = pii_norm_phone(s, strlen(s), "CN", n, sizeof n);
    assert_true(l > 0);
    uint64_t t = 0;
    assert_int_equal(pii_token(k, PII_TOKEN_PHONE, n, (size_t)l, &t), 0);
    return t;
}

static void test_normalisation(void **st)
{
    (void)st;
    pii_key k;
    precis_err e;
    unsigned char raw[32];
    memset(raw, 7, sizeof raw);
    perr_clear(&e);
    assert_int_equal(pii_key_set(&k, raw, sizeof raw, &e), 0);
    uint64_t t = phone_token(&k, "13800138000");
    assert_true(t != 0);
    assert_true(phone_token(&k, "+86 138-0013-8000") == t);
    assert_true(phone_token(&k, "0086 13800138000") == t);
    assert_true(phone_token(&k, "(86) 138 0013 8000") == t);
    assert_true(phone_token(&k, "8613800138000") == t);
    assert_true(phone_token(&k, "13800138001") != t);
    char n[64];
    /* E.164, whatever the region of a number written with its country code
     * (tests/clean/check_phone.py compares 25k forms with python3-phonenumbers) */
    static const struct { const char *in, *region, *out; } ph[] = {
        {"+1 (415) 555-0100", "US", "+14155550100"},
        {"1 415 555 0100", "US", "+14155550100"},         /* national prefix 1 */
        {"011 44 20 7946 0958", "US", "+442079460958"},   /* US international prefix */
        {"+44 (0)20 7946 0958", "CN", "+442079460958"},   /* (0) after +44 */
        {"020 7946 0958 ext. 12", "GB", "+442079460958"}, /* extension dropped */
        {"tel:+44-20-7946-0958;ext=3", "GB", "+442079460958"},
        {"06 1234 5678", "IT", "+390612345678"},          /* IT keeps its 0 */
        {"\xef\xbc\x8b" "86 \xef\xbc\x91\xef\xbc\x93\xef\xbc\x98 0013 8000", "GB", "+8613800138000"}, /* full-width */
        {"+86 138 0013 8000", "NONE", "8613800138000"}, /* NONE: the digits */
        {"+852 2123 4567", "CN", "+85221234567"},       /* a country not in the table */
    };
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        int l = pii_norm_phone(ph[i].in, strlen(ph[i].in), ph[i].region, n, sizeof n);
        assert_int_equal(l, (int)strlen(ph[i].out));
        assert_string_equal(n, ph[i].out);
    }
    /* no possible number: 0 */
    static const char *const no[] = {"12345", "555 0100", "n/a", "138 0013 8000 ext", "1-800-FLOWERS", "+0 1234 5678",
                                     "+44 20 + 7946 0958", "111111111111111111111111111"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(pii_norm_phone(no[i], strlen(no[i]), i < 2 ? "US" : "CN", n, sizeof n), 0);
    assert_int_equal(pii_norm_phone("+1 (415) 555-0100", 17, "US", n, 12), -1); /* out too small: 12 chars and a NUL */
    assert_int_equal(pii_norm_phone("x", 1, "ZZ", n, sizeof n), -1);
    assert_int_equal(pii_norm_email("  Wei.Wang@Example.COM ", 23, n, sizeof n), 20);
    assert_string_equal(n, "wei.wang@example.com");
    /* not addresses: token 0 (tests/clean/check_email.py: 12k values against the HTML standard's rule) */
    static const char *const noaddr[] = {"n/a", "-", "a@b", "@b.cd", "a@b..cd", "a@-b.cd", "Name <a@b.cd>", "a b@c.de"};
    for (size_t i = 0; i < sizeof noaddr / sizeof noaddr[0]; i++)
        assert_int_equal(pii_norm_email(noaddr[i], strlen(noaddr[i]), n, sizeof n), 0);
    assert_int_equal(pii_norm_email("a\0b@c.de", 8, n, sizeof n), 0); /* a NUL is no letter */
    assert_int_equal(pii_norm_email("Zo\xc3\xab@B\xc3\xbc" "cher.DE", 15, n, sizeof n), 15); /* UTF-8 kept, ASCII lowered */
    assert_string_equal(n, "zo\xc3\xab@b\xc3\xbc" "cher.de");
    /* ids: trim only; case and leading zeros are kept */
    uint64_t a, b, c, d, x, y;
    assert_int_equal(pii_customer_key(&k, "  CU0001 ", 9, &a, &b), 0);
    assert_int_equal(pii_customer_key(&k, "CU0001", 6, &c, &d), 0);
    assert_true(a == c && b == d);
    assert_int_equal(pii_customer_key(&k, "cu0001", 6, &x, &y), 0);
    assert_true(x != a);
    assert_int_equal(pii_customer_key(&k, "CU001", 5, &x, &y), 0);
    assert_true(x != a);
    assert_int_equal(pii_customer_key(&k, "   ", 3, &x, &y), -1);
    /* the identity is the big-endian HMAC of the trimmed id */
    unsigned char mac[32];
    assert_int_equal(pii_hmac(&k, "CU0001", 6, mac), 0);
    assert_true(pii_be64(mac) == c && pii_be64(mac + 8) == d);
    /* the same value of two kinds gets two tokens */
    uint64_t t1, t2;
    pii_token(&k, PII_TOKEN_PHONE, "123", 3, &t1);
    pii_token(&k, PII_TOKEN_EMAIL, "123", 3, &t2);
    assert_true(t1 != t2);
    char fp[17], fp2[17];
    assert_int_equal(pii_fingerprint(&k, fp), 0);
    assert_int_equal(strlen(fp), 16);
    assert_int_equal(pii_hmac(&k, "precis-key-fingerprint", 22, mac), 0);
    hex(mac, 8, fp2);
    assert_string_equal(fp, fp2);
    pii_key_wipe(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_hmac_matches_openssl),
        cmocka_unit_test(test_order_batch),
        cmocka_unit_test(test_keyfile_checks),
        cmocka_unit_test(test_normalisation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
