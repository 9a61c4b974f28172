/* strdict.c - string interning and P-independent sorted global codes. */
#include "strdict.h"

#include <stdlib.h>
#include <string.h>

void strdict_init(strdict *d) { memset(d, 0, sizeof *d); }

/* The slot fields that identify s[0..len): its first and last 8 bytes
 * (overlapping from 8 to 16 bytes, so up to 16 they are all of it). */
static inline void ends_of(const char *s, size_t len, uint64_t *head, uint64_t *tail)
{
    if (len >= 8) {
        *head = strdict_word(s, 8);
        *tail = strdict_word(s + len - 8, 8);
    } else {
        *head = strdict_word(s, len);
        *tail = 0;
    }
}

/* the ids 0..n-1 placed in the ns slots of t */
static void place_all(const strdict *d, strdict_slot *t, int32_t ns)
{
    for (int32_t i = 0; i < ns; i++) t[i].id = -1;
    for (int32_t id = 0; id < d->n; id++) {
        uint64_t h = strdict_hash(d->s[id], d->len[id]) & (uint64_t)(ns - 1);
        while (t[h].id >= 0) h = (h + 1) & (uint64_t)(ns - 1);
        t[h].id = id;
        t[h].len = (uint32_t)d->len[id];
        ends_of(d->s[id], d->len[id], &t[h].head, &t[h].tail);
    }
}

static int rehash(strdict *d, int32_t ns)
{
    strdict_slot *t = malloc(sizeof(strdict_slot) * (size_t)ns);
    if (!t) return -1;
    place_all(d, t, ns);
    free(d->slot);
    d->slot = t;
    d->nslot = ns;
    return 0;
}

/* Short values (codes, ids) are read as strdict_hash reads them: in words
 * that stay inside [0, len), the last overlapping the one before. Below 8
 * bytes strdict_word(s, len) holds every byte of s, so it decides equality;
 * a NUL shows as a zero byte (from 4 bytes on: shorter words are padded
 * with zeros). */
static inline int zero64(uint64_t w) { return ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0; }

/* Length up to the first NUL in s[0..len). */
static size_t len_to_nul(const char *s, size_t len)
{
    int z = len < 4 || zero64(strdict_word(s + (len >= 8 ? len - 8 : 0), len >= 8 ? 8 : len));
    for (size_t i = 0; i + 8 <= len && !z; i += 8) z = zero64(strdict_word(s + i, 8));
    if (!z) return len;
    const char *nul = memchr(s, '\0', len);
    return nul ? (size_t)(nul - s) : len;
}

int32_t strdict_intern(strdict *d, const char *s, size_t len)
{
    len = len_to_nul(s, len); /* the string ends at a NUL: hashed, compared and stored alike */
    if (len > UINT32_MAX) return -1;
    if (d->nslot == 0 && rehash(d, 64)) return -1;
    uint64_t head, tail;
    ends_of(s, len, &head, &tail);
    uint64_t h = strdict_hash(s, len) & (uint64_t)(d->nslot - 1);
    for (const strdict_slot *t; (t = &d->slot[h])->id >= 0; h = (h + 1) & (uint64_t)(d->nslot - 1))
        if (t->len == len && t->head == head && t->tail == tail && (len <= 16 || memcmp(d->s[t->id] + 8, s + 8, len - 16) == 0))
            return t->id;
    if (d->n == d->cap) {
        int32_t c = d->cap ? d->cap * 2 : 64;
        char **ns = realloc(d->s, sizeof(char *) * (size_t)c);
        if (!ns) return -1;
        d->s = ns;
        size_t *nl = realloc(d->len, sizeof(size_t) * (size_t)c);
        if (!nl) return -1;
        d->len = nl;
        d->cap = c;
    }
    char *copy = strndup(s, len);
    if (!copy) return -1;
    int32_t id = d->n++;
    d->s[id] = copy;
    d->len[id] = len;
    d->slot[h] = (strdict_slot){head, tail, id, (uint32_t)len};
    if (d->n * 2 > d->nslot && rehash(d, d->nslot * 2)) return -1;
    return id;
}

void strdict_truncate(strdict *d, int32_t n)
{
    if (n >= d->n) return;
    for (int32_t id = n; id < d->n; id++) free(d->s[id]);
    d->n = n < 0 ? 0 : n;
    if (d->nslot) place_all(d, d->slot, d->nslot);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int strdict_globalise(MPI_Comm comm, strdict *d, int32_t **map, precis_err *e)
{
    int size;
    int *lens = NULL, *displs = NULL;
    char *mine = NULL, *all = NULL;
    *map = NULL;
    MPI_CHECK(MPI_Comm_size(comm, &size), e);
    size_t tot = 0;
    for (int32_t i = 0; i < d->n; i++) tot += strlen(d->s[i]) + 1;
    CHECK(tot < (size_t)1 << 30, e, PRECIS_EXIT_DATA, "a categorical column has more than 1 GiB of distinct values on one rank");
    mine = malloc(tot + 1);
    lens = malloc(sizeof(int) * (size_t)size);
    displs = malloc(sizeof(int) * (size_t)size);
    CHECK(mine && lens && displs, e, PRECIS_EXIT_INTERNAL, "out of memory");
    size_t off = 0;
    for (int32_t i = 0; i < d->n; i++) {
        size_t l = strlen(d->s[i]) + 1;
        memcpy(mine + off, d->s[i], l);
        off += l;
    }
    int my = (int)tot;
    MPI_CHECK(MPI_Allgather(&my, 1, MPI_INT, lens, 1, MPI_INT, comm), e);
    int64_t gt = 0;
    for (int q = 0; q < size; q++) {
        displs[q] = (int)gt;
        gt += lens[q];
    }
    CHECK(gt < INT32_MAX, e, PRECIS_EXIT_DATA, "a categorical column has more than 2 GiB of distinct values");
    all = malloc((size_t)gt + 1);
    CHECK(all, e, PRECIS_EXIT_INTERNAL, "out of memory");
    MPI_CHECK(MPI_Allgatherv(mine, my, MPI_CHAR, all, lens, displs, MPI_CHAR, comm), e);
    int64_t cnt = 0;
    for (int64_t i = 0; i < gt; i++) cnt += all[i] == '\0';
    char **v = malloc(sizeof(char *) * (size_t)(cnt ? cnt : 1));
    CHECK(v, e, PRECIS_EXIT_INTERNAL, "out of memory");
    int64_t k = 0;
    for (int64_t i = 0; i < gt; i += (int64_t)strlen(all + i) + 1) v[k++] = all + i;
    qsort(v, (size_t)cnt, sizeof(char *), cmp_str);
    int64_t u = 0;
    for (int64_t i = 0; i < cnt; i++)
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0) v[u++] = v[i];
    d->global = malloc(sizeof(char *) * (size_t)(u ? u : 1));
    CHECK(d->global, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int64_t i = 0; i < u; i++) d->global[i] = strdup(v[i]);
    d->nglobal = (int32_t)u;
    free(v);
    *map = malloc(sizeof(int32_t) * (size_t)(d->n ? d->n : 1));
    CHECK(*map, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (int32_t i = 0; i < d->n; i++) (*map)[i] = strdict_code(d, d->s[i]);
    free(mine); free(all); free(lens); free(displs);
    return 0;
fail:
    free(mine); free(all); free(lens); free(displs);
    return -1;
}

int32_t strdict_code(const strdict *d, const char *s)
{
    int32_t lo = 0, hi = d->nglobal - 1;
    while (lo <= hi) {
        int32_t mid = (lo + hi) / 2;
        int c = strcmp(d->global[mid], s);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void strdict_free(strdict *d)
{
    for (int32_t i = 0; i < d->n; i++) free(d->s[i]);
    for (int32_t i = 0; i < d->nglobal; i++) free(d->global[i]);
    free(d->s);
    free(d->len);
    free(d->slot);
    free(d->global);
    memset(d, 0, sizeof *d);
}
