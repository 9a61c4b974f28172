/* pii.h - keyed identities and tokens: HMAC-SHA256 through OpenSSL libcrypto.
 *
 * DESIGN
 * Raw identifiers never leave precis-clean and precis-tokenize. This module
 * turns them into keyed values:
 *   customer identity: HMAC(key, trim(id)); customer_key = bytes 0-7 and
 *     customer_key_lo = bytes 8-15, each big-endian (DESIGN.md);
 *   tokens: the first 8 bytes (big-endian) of HMAC(key, "<kind>\0" + value)
 *     for phone, email and raw lines, so the same value of two kinds never
 *     shares a token; for order ids, of AES-128-CMAC(k_order, value) with
 *     k_order = the first 16 bytes of HMAC(key, "precis-order-cmac") (one
 *     per row of an export: 4-8x cheaper than the HMAC); 0 is reserved for
 *     "missing" and a token that comes out 0 is mapped to 1;
 *   key_fingerprint: hex of the first 8 bytes of HMAC(key, "precis-key-fingerprint").
 * The key is loaded from a file that must exist, hold at least 32 bytes and
 * have mode 0600 or stricter; otherwise exit code 3. Nothing here logs a
 * raw value or the key. Not collective.
 */
#ifndef PRECIS_PII_H
#define PRECIS_PII_H

#include "check.h"
#include <stddef.h>
#include <stdint.h>

#define PII_KEY_MIN 32
#define PII_KEY_MAX 4096

typedef struct pii_key {
    unsigned char k[PII_KEY_MAX];
    size_t len;
    void *pads; /* the SHA-256 states after the HMAC key's inner and outer pads */
} pii_key;

typedef enum { PII_TOKEN_PHONE, PII_TOKEN_EMAIL, PII_TOKEN_ORDER, PII_TOKEN_LINE } pii_token_kind;

/* Load and check a key file. Returns 0, or -1 with exit code 3 and a message
 * naming the file (missing, too short, mode too open). */
int pii_key_load(const char *path, pii_key *key, precis_err *e);

/* Install raw key bytes without the file checks (tests, RFC vectors).
 * Returns 0, or -1 with exit code 5 if libcrypto fails. */
int pii_key_set(pii_key *key, const void *bytes, size_t len, precis_err *e);

/* Wipe a key from memory and free its libcrypto state. Can't fail. */
void pii_key_wipe(pii_key *key);

/* Raw HMAC-SHA256 of data into out[32]. Returns 0, or -1 if libcrypto fails. */
int pii_hmac(const pii_key *key, const void *data, size_t len, unsigned char out[32]);

/* AES-128-CMAC of data under the order-id key k_order, into out[16].
 * Returns 0, or -1 if libcrypto fails. */
int pii_cmac(const pii_key *key, const void *data, size_t len, unsigned char out[16]);

/* Order-id tokens in batches: one AES call over many blocks keeps the
 * AES unit's pipeline full, where one block at a time waits out every
 * round's latency. pii_order_block prepares the CMAC's single block of an
 * id of at most 16 bytes (padded, xored with its subkey) into blk and
 * returns 1; a longer id gets 0 (use pii_token). pii_order_finish encrypts
 * n prepared blocks in place and writes their tokens to out: the same
 * values pii_token(PII_TOKEN_ORDER) gives. Returns 0, or -1 if libcrypto
 * fails. */
int pii_order_block(const pii_key *key, const void *id, size_t len, unsigned char blk[16]);
int pii_order_finish(const pii_key *key, unsigned char (*blk)[16], size_t n, uint64_t *out);

/* Customer identity of a raw id (trimmed here). Returns 0, or -1 when the
 * trimmed id is empty or libcrypto fails. */
int pii_customer_key(const pii_key *key, const char *id, size_t len,
                     uint64_t *hi, uint64_t *lo);

/* Token of an already normalised value (never 0). Returns 0 or -1. */
int pii_token(const pii_key *key, pii_token_kind kind, const char *v, size_t len,
              uint64_t *out);

/* 16 hex chars + NUL. Returns 0 or -1. */
int pii_fingerprint(const pii_key *key, char out[17]);

/* Normalisers write into out (capacity cap) and return the normalised length,
 * 0 when the value is empty or not one of what they normalise, or -1 if it
 * doesn't fit. pii_trim drops ASCII white space at both ends. */
size_t pii_trim(const char **s, size_t len);
/* An email address, trimmed and with ASCII capitals lowered, if it is one:
 * the HTML standard's "valid e-mail address" (a local part of letters,
 * digits, dots and !#$%&'*+/=?^_`{|}~-; '@'; labels of letters, digits and
 * inner hyphens, 1-63 bytes, joined by dots), with UTF-8 letters allowed
 * in both parts, a domain of at least two labels, a local part of at most
 * 64 bytes and 254 bytes in all. */
int pii_norm_email(const char *s, size_t len, char *out, size_t cap);
/* A phone number in its E.164 form ("+442079460958"): separators and an
 * extension dropped, an international prefix ("+", or one dialled from the
 * region: "00", "011" ...) or else the region's country code taken, its
 * national prefix ("0", US "1") dropped, and the length of what remains
 * checked against the country's. Region "NONE" keeps the digits as written.
 * Returns the length, 0 for a value that is no possible number (letters
 * other than an extension, too few or too many digits), or -1 for an
 * unknown region or too small an out. PII_PHONE_REGIONS lists the regions. */
#define PII_PHONE_REGIONS "CN|US|CA|GB|DE|FR|ES|IT|NL|IN|JP|AU|NONE"
int pii_norm_phone(const char *s, size_t len, const char *region, char *out, size_t cap);
/* Is region known? */
int pii_region_known(const char *region);

/* Big-endian load of 8 bytes. This function can't fail. */
uint64_t pii_be64(const unsigned char *b);

#endif
