/* rsort.c - radix sort of (key, index) pairs, then one in-place permutation. */
#define _GNU_SOURCE   /* qsort_r */
#include "rsort.h"

#include <stdlib.h>
#include <string.h>

typedef struct kv {
    uint64_t k;
    int64_t i;
} kv;

#define DIGIT_BITS 11
#define NBUCKET (1 << DIGIT_BITS)

/* ties: the records of one key, ordered by the caller's comparator */
typedef struct tie_ctx {
    const char *base;
    size_t size;
    int (*cmp)(const void *, const void *);
} tie_ctx;

static int cmp_idx(const void *a, const void *b, void *arg)
{
    const kv *x = a, *y = b;
    const tie_ctx *t = arg;
    return t->cmp(t->base + t->size * (size_t)x->i, t->base + t->size * (size_t)y->i);
}

int rsort_records(void *base, int64_t n, size_t recsize, rsort_key_fn key, const void *ctx,
                  int (*cmp)(const void *, const void *))
{
    if (n < 2) return 0;
    kv *a = malloc(sizeof(kv) * (size_t)n), *b = malloc(sizeof(kv) * (size_t)n);
    int64_t *cnt = malloc(sizeof(int64_t) * NBUCKET);
    char *tmp = malloc(recsize);
    if (!a || !b || !cnt || !tmp) {
        free(a); free(b); free(cnt); free(tmp);
        return -1;
    }
    char *p = base;
    for (int64_t i = 0; i < n; i++) a[i] = (kv){key(p + recsize * (size_t)i, ctx), i};
    for (int shift = 0; shift < 64; shift += DIGIT_BITS) {
        memset(cnt, 0, sizeof(int64_t) * NBUCKET);
        for (int64_t i = 0; i < n; i++) cnt[(a[i].k >> shift) & (NBUCKET - 1)]++;
        if (cnt[(a[0].k >> shift) & (NBUCKET - 1)] == n) continue;   /* every key shares this digit */
        int64_t s = 0;
        for (int d = 0; d < NBUCKET; d++) {
            int64_t c = cnt[d];
            cnt[d] = s;
            s += c;
        }
        for (int64_t i = 0; i < n; i++) b[cnt[(a[i].k >> shift) & (NBUCKET - 1)]++] = a[i];
        kv *t = a; a = b; b = t;
    }
    /* stable passes keep index order within a key; the comparator decides */
    tie_ctx tc = {base, recsize, cmp};
    for (int64_t s = 0; s < n;) {
        int64_t e = s + 1;
        while (e < n && a[e].k == a[s].k) e++;
        if (e - s > 1) /* the run's records are scattered: ask for the next ones early */
            for (int64_t j = e; j < e + 8 && j < n; j++) __builtin_prefetch(p + recsize * (size_t)a[j].i);
        if (e - s > 16) {
            qsort_r(a + s, (size_t)(e - s), sizeof(kv), cmp_idx, &tc);
        } else {
            for (int64_t i = s + 1; i < e; i++) { /* short runs (one customer's rows): insertion */
                kv x = a[i];
                int64_t j = i;
                while (j > s && cmp_idx(&a[j - 1], &x, &tc) > 0) {
                    a[j] = a[j - 1];
                    j--;
                }
                a[j] = x;
            }
        }
        s = e;
    }
    /* position j gets record a[j].i: follow each cycle with one spare record */
    int64_t *src = (int64_t *)b;   /* reuse: n int64 fit in n kv */
    for (int64_t j = 0; j < n; j++) src[j] = a[j].i;
    for (int64_t j = 0; j < n; j++) {
        if (src[j] == j) continue;
        memcpy(tmp, p + recsize * (size_t)j, recsize);
        int64_t at = j;
        while (src[at] != j) {
            int64_t from = src[at];
            __builtin_prefetch(p + recsize * (size_t)src[from]);
            memcpy(p + recsize * (size_t)at, p + recsize * (size_t)from, recsize);
            src[at] = at;
            at = from;
        }
        memcpy(p + recsize * (size_t)at, tmp, recsize);
        src[at] = at;
    }
    free(a); free(b); free(cnt); free(tmp);
    return 0;
}
