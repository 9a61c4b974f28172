/* strdict.h - string interning and global sorted dictionaries.
 *
 * DESIGN
 * A strdict interns strings to dense local ids (open addressing, FNV-1a).
 * strdict_globalise() is collective: every rank's distinct strings are
 * allgathered, merged and sorted bytewise, so the global code of a string is
 * its position in the sorted union: the same at any rank count. It returns
 * the local-id -> global-code map.
 */
#ifndef PRECIS_STRDICT_H
#define PRECIS_STRDICT_H

#include "check.h"
#include <stddef.h>
#include <stdint.h>

typedef struct strdict {
    char **s;          /* local id -> string (owned) */
    size_t *len;       /* local id -> strlen */
    int32_t n, cap;
    int32_t *slot;     /* hash table of local ids, -1 empty */
    int32_t nslot;
    char **global;     /* after strdict_globalise: sorted global strings */
    int32_t nglobal;
} strdict;

/* FNV-1a of s[0..n): the dictionaries' hash, also for other small string
 * tables (clean's customer-id cache). Can't fail. */
static inline uint64_t strdict_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* Can't fail. */
void strdict_init(strdict *d);
/* Local id of s[0..len), adding it if new; a NUL byte ends the string (the
 * rest is ignored: "a\0b" is "a"). Returns -1 on out of memory. */
int32_t strdict_intern(strdict *d, const char *s, size_t len);
/* Forget the strings interned after the first n (undoes a pass that was
 * parsed again). Can't fail: the hash table keeps its size. */
void strdict_truncate(strdict *d, int32_t n);
/* Collective. Build the global dictionary; map[local id] = global code
 * (malloc'd, n entries). Returns 0 or -1. */
int strdict_globalise(MPI_Comm comm, strdict *d, int32_t **map, precis_err *e);
/* Global code of s, or -1 when absent (after globalise). */
int32_t strdict_code(const strdict *d, const char *s);
/* Can't fail. */
void strdict_free(strdict *d);

#endif
