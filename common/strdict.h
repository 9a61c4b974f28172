/* strdict.h - string interning and global sorted dictionaries.
 *
 * DESIGN
 * A strdict interns strings to dense local ids (open addressing, strdict_hash).
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

/* A hash-table slot: the string's id and, to tell a hit without following
 * the string's pointer, its length and its first and last 8 bytes (all of
 * it up to 16 bytes; strdict_word pads shorter strings). */
typedef struct strdict_slot {
    uint64_t head, tail;
    int32_t id;        /* -1: empty */
    uint32_t len;
} strdict_slot;

typedef struct strdict {
    char **s;          /* local id -> string (owned) */
    size_t *len;       /* local id -> strlen */
    int32_t n, cap;
    strdict_slot *slot; /* hash table of local ids */
    int32_t nslot;
    char **global;     /* after strdict_globalise: sorted global strings */
    int32_t nglobal;
} strdict;

/* Hash of s[0..n): the dictionaries' hash, also for other small string
 * tables (clean's customer-id cache). Eight bytes per multiply (the last
 * word overlaps the one before it), then a murmur3 finaliser: the values it
 * hashes are short (codes, ids), where a byte-at-a-time hash spends a
 * dependent multiply per byte. In memory only, never stored. Can't fail. */
static inline uint64_t strdict_word(const char *s, size_t n)
{
    uint64_t w = 0;
    if (n >= 8) {
        __builtin_memcpy(&w, s, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        __builtin_memcpy(&a, s, 4);
        __builtin_memcpy(&b, s + n - 4, 4);
        w = (uint64_t)a << 32 | b;
    } else if (n > 0) {
        w = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n / 2] << 8 | (unsigned char)s[n - 1];
    }
    return w;
}

static inline uint64_t strdict_hash(const char *s, size_t n)
{
    const uint64_t m = 0xff51afd7ed558ccdULL;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * m);
    size_t i = 0;
    for (; i + 8 < n; i += 8) {
        h = (h ^ strdict_word(s + i, 8)) * m;
        h ^= h >> 32;
    }
    h ^= n - i == 8 || n < 8 ? strdict_word(s + i, n - i) : strdict_word(s + n - 8, 8);
    h ^= h >> 33;
    h *= m;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
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
