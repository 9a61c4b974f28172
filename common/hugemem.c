/* hugemem.c - large growable buffers backed by transparent huge pages (hugemem.h).
 *
 * A block is a mapping of `len` bytes (a multiple of the page size; of
 * HUGE_PAGE once it is large) starting at a HUGE_PAGE boundary. Its first
 * HDR bytes hold the length; the caller's bytes follow. */
#define _GNU_SOURCE
#include "hugemem.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)
#define HDR ((size_t)64)

typedef struct hdr {
    size_t len;
} hdr;

static long live;   /* blocks not yet freed (atomic: callers may be threads) */

/* Freed large blocks, kept mapped for the next hugemem_alloc: the pages a
 * phase frees are taken again by the next without the kernel zeroing fresh
 * ones (on a virtual machine, first touch of a page costs several times a
 * memset of it). A block that fits is cut to size (its tail unmapped) and
 * cleared; when none fits, every kept block is unmapped before a new
 * mapping is made. Until then kept blocks stay resident, so memory taken
 * with malloc meanwhile comes on top of them (precis-clean's peak at 1 GB
 * rose by 5 MiB). Guarded by one lock: callers may be threads. */
#define KEEP 8
static struct { char *a; size_t len; } kept[KEEP];
static int nkept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

long hugemem_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* the mapping length that holds n caller bytes: 4 KiB pages below
 * HUGEMEM_MIN, whole huge pages from there */
static size_t map_len(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - HDR - HUGE_PAGE) return 0;
    return n + HDR < HUGEMEM_MIN ? round_up(n + HDR, pg) : round_up(n + HDR, HUGE_PAGE);
}

/* len bytes of address space at a HUGE_PAGE boundary, readable and
 * writable, or NULL */
static char *map_aligned(size_t len)
{
    char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > m) munmap(m, (size_t)(a - m));
    if (m + len + HUGE_PAGE > a + len) munmap(a + len, (size_t)(m + len + HUGE_PAGE - (a + len)));
    return a;
}

/* Whether large blocks ask for huge pages: 1, unless PRECIS_HUGEPAGES is 0
 * (hugemem.h). Read at each large allocation, which are few. */
static int huge_policy(void)
{
    const char *v = getenv("PRECIS_HUGEPAGES");
    return !(v && !strcmp(v, "0"));
}

static void advise(char *a, size_t len)
{
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    if (len >= HUGEMEM_MIN) (void)madvise(a, len, huge_policy() ? MADV_HUGEPAGE : MADV_NOHUGEPAGE); /* EINVAL where THP is off: ignored */
#else
    (void)a;
    (void)len;
#endif
}

/* Unmap every kept block; kept_lock held. */
static void unmap_kept(void)
{
    while (nkept > 0) munmap(kept[nkept - 1].a, kept[nkept - 1].len), nkept--;
}

/* a kept block of at least len bytes cut to len and cleared, or NULL (and
 * then no block is kept) */
static char *take_kept(size_t len)
{
    char *a = NULL;
    size_t have = 0;
    pthread_mutex_lock(&kept_lock);
    int best = -1;
    for (int i = 0; i < nkept; i++)
        if (kept[i].len >= len && (best < 0 || kept[i].len < kept[best].len)) best = i;
    if (best >= 0) {
        a = kept[best].a;
        have = kept[best].len;
        kept[best] = kept[--nkept];
    } else {
        unmap_kept();
    }
    pthread_mutex_unlock(&kept_lock);
    if (!a) return NULL;
    if (have > len) munmap(a + len, have - len);
    memset(a, 0, len);
    return a;
}

void *hugemem_alloc(size_t n)
{
    size_t len = map_len(n);
    char *a = len >= HUGEMEM_MIN ? take_kept(len) : NULL;
    if (!a) a = len ? map_aligned(len) : NULL;
    if (!a) return NULL;
    advise(a, len);
    ((hdr *)a)->len = len;
    __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
    return a + HDR;
}

void *hugemem_realloc(void *p, size_t n)
{
    if (!p) return hugemem_alloc(n);
    char *a = (char *)p - HDR;
    size_t old = ((hdr *)a)->len, len = map_len(n);
    if (!len) return NULL;
    if (len <= old) { /* shrink in place; what the caller may grow into again is zero */
        size_t pg = (size_t)sysconf(_SC_PAGESIZE), end = round_up(HDR + n, pg);
        memset(a + HDR + n, 0, end - HDR - n);
        if (len > end) madvise(a + end, len - end, MADV_DONTNEED); /* private anonymous: zero when touched again */
        if (len < old) munmap(a + len, old - len);
        ((hdr *)a)->len = len;
        return p;
    }
    char *b = mremap(a, old, len, 0); /* grow in place */
    if (b == MAP_FAILED) {            /* move the page tables to a new aligned range */
        char *t = map_aligned(len);
        if (!t) return NULL;
        b = mremap(a, old, len, MREMAP_MAYMOVE | MREMAP_FIXED, t);
        if (b == MAP_FAILED) {
            munmap(t, len);
            return NULL;
        }
    }
    advise(b, len);
    ((hdr *)b)->len = len;
    return b + HDR;
}

void hugemem_free(void *p)
{
    if (!p) return;
    char *a = (char *)p - HDR;
    size_t len = ((hdr *)a)->len;
    int keep = 0;
    if (len >= HUGEMEM_MIN) {
        pthread_mutex_lock(&kept_lock);
        if (nkept < KEEP) {
            kept[nkept].a = a;
            kept[nkept++].len = len;
            keep = 1;
        }
        pthread_mutex_unlock(&kept_lock);
    }
    if (!keep) munmap(a, len);
    __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
}

size_t hugemem_discard(void *p, size_t from, size_t len)
{
    if (!p || !len) return 0;
    uintptr_t a = ((uintptr_t)p + from + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t b = ((uintptr_t)p + from + len) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (b <= a) return 0;
    (void)madvise((void *)a, b - a, MADV_DONTNEED); /* private anonymous: fails only on a bad range */
    return b - a;
}

void hugemem_release(void)
{
    pthread_mutex_lock(&kept_lock);
    unmap_kept();
    pthread_mutex_unlock(&kept_lock);
}
