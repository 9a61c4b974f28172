/* pii.c - keyed identities and tokens with OpenSSL HMAC-SHA256. */
#include "pii.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
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

int pii_key_set(pii_key *key, const void *bytes, size_t len, precis_err *e)
{
    memset(key, 0, sizeof *key);
    if (len > sizeof key->k) len = sizeof key->k;
    memcpy(key->k, bytes, len);
    key->len = len;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!c || EVP_MAC_init(c, key->k, key->len, params) != 1) {
        EVP_MAC_CTX_free(c);
        EVP_MAC_free(mac);
        return PERR(e, PRECIS_EXIT_INTERNAL, "libcrypto: cannot set up HMAC-SHA256");
    }
    key->mac = mac;
    key->tmpl = c;
    return 0;
}

void pii_key_wipe(pii_key *key)
{
    EVP_MAC_CTX_free(key->tmpl);
    EVP_MAC_free(key->mac);
    OPENSSL_cleanse(key->k, sizeof key->k);
    key->len = 0;
    key->mac = key->tmpl = NULL;
}

/* HMAC over the concatenation a || b. */
static int hmac2(const pii_key *key, const void *a, size_t al, const void *b, size_t bl,
                 unsigned char out[32])
{
    /* re-initialising with a NULL key keeps the key already set: no allocation */
    EVP_MAC_CTX *c = key->tmpl;
    size_t olen = 0;
    int ok = c && EVP_MAC_init(c, NULL, 0, NULL) == 1 && (al == 0 || EVP_MAC_update(c, a, al) == 1) &&
             (bl == 0 || EVP_MAC_update(c, b, bl) == 1) &&
             EVP_MAC_final(c, out, &olen, 32) == 1 && olen == 32;
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
    if (hmac2(key, p, strlen(p) + 1, v, len, h)) return -1; /* NUL separates kind and value */
    uint64_t t = pii_be64(h);
    *out = t ? t : 1;
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

int pii_norm_email(const char *s, size_t len, char *out, size_t cap)
{
    len = pii_trim(&s, len);
    if (len + 1 > cap) return -1;
    for (size_t i = 0; i < len; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return (int)len;
}

typedef struct { const char *name, *cc; size_t national; } region_rule;
static const region_rule regions[] = {
    {"CN", "86", 11}, {"US", "1", 10}, {"GB", "44", 10}, {"NONE", "", 0},
};

int pii_region_known(const char *region)
{
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++)
        if (strcmp(regions[i].name, region) == 0) return 1;
    return 0;
}

int pii_norm_phone(const char *s, size_t len, const char *region, char *out, size_t cap)
{
    const region_rule *r = NULL;
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++)
        if (strcmp(regions[i].name, region) == 0) r = &regions[i];
    if (!r) return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (isdigit((unsigned char)s[i])) {
            if (n + 1 >= cap) return -1;
            out[n++] = s[i];
        }
    out[n] = '\0';
    if (r->national) {
        size_t cl = strlen(r->cc);
        /* "00" international prefix, then the country code, then national digits */
        size_t skip = 0;
        if (n == 2 + cl + r->national && out[0] == '0' && out[1] == '0' && !strncmp(out + 2, r->cc, cl))
            skip = 2 + cl;
        else if (n == cl + r->national && !strncmp(out, r->cc, cl))
            skip = cl;
        if (skip) {
            memmove(out, out + skip, n - skip + 1);
            n -= skip;
        }
    }
    return (int)n;
}
