/* na.h - placeholder values that mean "missing" (--na-values).
 *
 * DESIGN
 * Exports write a missing value as an empty field, and also as NULL, \N
 * (MySQL and PostgreSQL dumps), N/A or #N/A (spreadsheets). Read as values,
 * such placeholders would become a customer id shared by every row without
 * one, a category named "NULL", or an order id that many customers seem to
 * share. A job reads a comma-separated list of them once (na_parse) and
 * asks per field (na_is): a byte map of first bytes turns most fields away
 * before any comparison. A field matches when its bytes, after the job's
 * trimming, equal one of the values exactly (case counts: "Null" is not in
 * the default list). Not collective.
 */
#ifndef PRECIS_NA_H
#define PRECIS_NA_H

#include "check.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NA_DEFAULT "NULL,null,\\N,N/A,n/a,#N/A"
#define NA_MAX 32

typedef struct na_set {
    int n;
    size_t maxlen;
    const char *v[NA_MAX];
    size_t len[NA_MAX];
    uint8_t first[256]; /* 1 where some value begins with this byte */
    char *buf;
} na_set;

/* The values of list (comma-separated; "" for none) into s. where names
 * the option in messages. Returns 0, or -1 with exit 2 for an empty item
 * (",,"), more than NA_MAX values or one over 64 bytes. */
int na_parse(const char *list, const char *where, na_set *s, precis_err *e);

/* Is v[0..l) one of the values? */
static inline int na_is(const na_set *s, const char *v, size_t l)
{
    if (l == 0 || l > s->maxlen || !s->first[(unsigned char)v[0]]) return 0;
    for (int i = 0; i < s->n; i++)
        if (s->len[i] == l && memcmp(s->v[i], v, l) == 0) return 1;
    return 0;
}

/* Free what na_parse kept. Can't fail. */
void na_free(na_set *s);

#endif
