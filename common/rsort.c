/* rsort.c - in-place MSD passes down to cache-sized blocks; in a block, a
 * radix sort of (key, index) pairs, then one in-place permutation. */
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
#define SMALL_DIGIT_BITS 8
#define SMALL_BLOCK 2048
#define BLOCK 16384   /* records sorted through (key, index) pairs: ~1.4 MB of 88-byte rows */
#define MSD_MAX_BITS 11
#define NMSD (1 << MSD_MAX_BITS)
#define AHEAD 4       /* records prefetched on each bucket's stream */
#define TIE_INSERTION 64 /* runs of equal keys up to this long are ordered by insertion */

typedef struct sorter {
    size_t size;
    rsort_key_fn key;
    const void *ctx;
    int (*cmp)(const void *, const void *);
    kv *a, *b;        /* pairs of the block being sorted */
    int64_t cap;
    int64_t *cnt;
    char *tmp, *tmp2; /* one record each */
} sorter;

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

/* Sort the n records at p (any n; the block's pairs fit in cache when
 * n <= BLOCK) */
static int block_sort(sorter *s, char *p, int64_t n)
{
    if (n < 2) return 0;
    if (n > s->cap) {
        kv *na = realloc(s->a, sizeof(kv) * (size_t)n), *nb = na ? realloc(s->b, sizeof(kv) * (size_t)n) : NULL;
        if (na) s->a = na;
        if (!nb) return -1;
        s->b = nb;
        s->cap = n;
    }
    kv *a = s->a, *b = s->b;
    size_t recsize = s->size;
    uint64_t all_or = 0, all_and = ~UINT64_C(0);
    for (int64_t i = 0; i < n; i++) {
        a[i] = (kv){s->key(p + recsize * (size_t)i, s->ctx), i};
        all_or |= a[i].k;
        all_and &= a[i].k;
    }
    /* small blocks (the MSD passes leave ~200 records of a large array in
     * each) take narrower digits: clearing and summing 2048 counters per
     * pass would cost more than the pass itself */
    int bits = n <= SMALL_BLOCK ? SMALL_DIGIT_BITS : DIGIT_BITS;
    uint64_t mask = (UINT64_C(1) << bits) - 1;
    for (int shift = 0; shift < 64; shift += bits) {
        if ((((all_or ^ all_and) >> shift) & mask) == 0) continue;   /* every key shares this digit */
        int64_t *cnt = s->cnt;
        memset(cnt, 0, sizeof(int64_t) * (mask + 1));
        for (int64_t i = 0; i < n; i++) cnt[(a[i].k >> shift) & mask]++;
        int64_t sum = 0;
        for (uint64_t d = 0; d <= mask; d++) {
            int64_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (int64_t i = 0; i < n; i++) b[cnt[(a[i].k >> shift) & mask]++] = a[i];
        kv *t = a; a = b; b = t;
    }
    /* stable passes keep index order within a key; the comparator decides */
    tie_ctx tc = {p, recsize, s->cmp};
    for (int64_t st = 0; st < n;) {
        int64_t e = st + 1;
        while (e < n && a[e].k == a[st].k) e++;
        if (e - st > TIE_INSERTION) { /* in source order already (exports sorted by customer or date): leave them */
            int64_t i = st + 1;
            while (i < e && cmp_idx(&a[i - 1], &a[i], &tc) <= 0) i++;
            if (i < e) qsort_r(a + st, (size_t)(e - st), sizeof(kv), cmp_idx, &tc);
        } else {
            for (int64_t i = st + 1; i < e; i++) { /* short runs (one customer's rows): insertion */
                kv x = a[i];
                int64_t j = i;
                while (j > st && cmp_idx(&a[j - 1], &x, &tc) > 0) {
                    a[j] = a[j - 1];
                    j--;
                }
                a[j] = x;
            }
        }
        st = e;
    }
    /* position j gets record a[j].i: follow each cycle with one spare record */
    int64_t *src = (int64_t *)b;   /* reuse: n int64 fit in n kv */
    for (int64_t j = 0; j < n; j++) src[j] = a[j].i;
    for (int64_t j = 0; j < n; j++) {
        if (src[j] == j) continue;
        memcpy(s->tmp, p + recsize * (size_t)j, recsize);
        int64_t at = j;
        while (src[at] != j) {
            int64_t from = src[at];
            memcpy(p + recsize * (size_t)at, p + recsize * (size_t)from, recsize);
            src[at] = at;
            at = from;
        }
        memcpy(p + recsize * (size_t)at, s->tmp, recsize);
        src[at] = at;
    }
    return 0;
}

static void prefetch_record(const char *r, size_t size)
{
    for (size_t o = 0; o < size; o += 64) __builtin_prefetch(r + o, 1);
    __builtin_prefetch(r + size - 1, 1);
}

/* Sort the n records at p: while they do not fit in a block, distribute
 * them in place (American flag sort) by the top MSD_BITS bits in which
 * their keys differ, then sort each bucket. Each distribution moves every
 * record once, along NMSD sequential streams (prefetched ahead), so unlike
 * a permutation of the whole array it is not a chain of cache misses. */
static int msd_sort(sorter *s, char *p, int64_t n)
{
    if (n <= BLOCK) return block_sort(s, p, n);
    size_t sz = s->size;
    /* as many buckets as leave each one a block (one distribution instead
     * of two for up to 2^11 blocks), at least 2^8, at most 2^11 */
    int bits = 8;
    while (bits < MSD_MAX_BITS && (n >> bits) > BLOCK) bits++;
    int nmsd = 1 << bits;
    /* The pass that finds the bits in which the keys differ also counts the
     * records by their keys' top `bits` bits: that is the digit when the
     * keys differ in their top bit (hashes, nearly always), and then the
     * distribution needs no counting pass of its own. */
    int64_t head[NMSD] = {0}, tail[NMSD];
    uint64_t all_or = 0, all_and = ~UINT64_C(0);
    for (int64_t i = 0; i < n; i++) {
        uint64_t k = s->key(p + sz * (size_t)i, s->ctx);
        all_or |= k;
        all_and &= k;
        head[k >> (64 - bits)]++;
    }
    uint64_t diff = all_or ^ all_and;
    if (!diff) return block_sort(s, p, n);   /* one key: the comparator orders them all */
    int top = 63 - __builtin_clzll(diff), shift = top >= bits - 1 ? top - (bits - 1) : 0;
#define DIGIT(r) ((int)((s->key((r), s->ctx) >> shift) & (nmsd - 1)))
    if (top != 63) {
        memset(head, 0, sizeof head);
        for (int64_t i = 0; i < n; i++) head[DIGIT(p + sz * (size_t)i)]++;
    }
    int64_t sum = 0;
    for (int d = 0; d < nmsd; d++) {
        int64_t c = head[d];
        head[d] = sum;
        sum += c;
        tail[d] = sum;
    }
    int64_t start[NMSD];
    memcpy(start, head, sizeof start);
    for (int d = 0; d < nmsd; d++)
        for (int64_t i = head[d]; i < tail[d] && i < head[d] + AHEAD; i++) prefetch_record(p + sz * (size_t)i, sz);
    for (int d = 0; d < nmsd; d++) {
        while (head[d] < tail[d]) {
            char *r = p + sz * (size_t)head[d];
            int dd = DIGIT(r);
            if (dd != d) { /* carry r's record to its bucket, and the one found there on, until one belongs here */
                char *carry = s->tmp, *spare = s->tmp2;
                memcpy(carry, r, sz);
                while (dd != d) {
                    char *dst = p + sz * (size_t)head[dd];
                    if (head[dd] + AHEAD < tail[dd]) prefetch_record(dst + sz * AHEAD, sz);
                    head[dd]++;
                    memcpy(spare, dst, sz);
                    memcpy(dst, carry, sz);
                    char *t = carry; carry = spare; spare = t;
                    dd = DIGIT(carry);
                }
                memcpy(r, carry, sz);
            }
            if (head[d] + AHEAD < tail[d]) prefetch_record(r + sz * AHEAD, sz);
            head[d]++;
        }
    }
#undef DIGIT
    for (int d = 0; d < nmsd; d++)
        if (msd_sort(s, p + sz * (size_t)start[d], tail[d] - start[d])) return -1;
    return 0;
}

int rsort_records(void *base, int64_t n, size_t recsize, rsort_key_fn key, const void *ctx,
                  int (*cmp)(const void *, const void *))
{
    if (n < 2) return 0;
    sorter s = {recsize, key, ctx, cmp, NULL, NULL, 0, NULL, NULL, NULL};
    int64_t cap = n < BLOCK ? n : BLOCK;
    s.a = malloc(sizeof(kv) * (size_t)cap);
    s.b = malloc(sizeof(kv) * (size_t)cap);
    s.cnt = malloc(sizeof(int64_t) * NBUCKET);
    s.tmp = malloc(recsize);
    s.tmp2 = malloc(recsize);
    int rc = -1;
    if (s.a && s.b && s.cnt && s.tmp && s.tmp2) {
        s.cap = cap;
        rc = msd_sort(&s, base, n);
    }
    free(s.a); free(s.b); free(s.cnt); free(s.tmp); free(s.tmp2);
    return rc;
}
