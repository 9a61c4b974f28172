/* test_h5so.c - the scale-offset filter against HDF5's own, chunk by chunk (serial; nsize 1).
 *
 * HDF5's own filter function (its exported class H5Z_SCALEOFFSET) is the
 * reference: for every integer type, with and without a fill value, on
 * ranges from one value to the type's whole range, h5so_filter must store
 * the same bytes and the same sizes, and each must decode the other's
 * chunks to the input. Then a file written through the installed filter
 * reads back, and a damaged chunk fails instead of reading past its end. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5so.h"

static H5Z_func_t reference(void)
{
    const H5Z_class2_t *c = dlsym(RTLD_DEFAULT, "H5Z_SCALEOFFSET");
    return c ? c->filter : NULL;
}

static uint64_t mix(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The parameters HDF5's set_local gives a little-endian integer dataset. */
static void params(unsigned cd[20], unsigned n, unsigned size, int sgn, int filled, uint64_t fill)
{
    memset(cd, 0, 20 * sizeof *cd);
    cd[0] = H5Z_SO_INT;
    cd[2] = n;
    cd[4] = size;
    cd[5] = (unsigned)sgn;
    cd[7] = (unsigned)filled;
    cd[8] = (unsigned)(uint32_t)fill;
    cd[9] = size == 8 ? (unsigned)(fill >> 32) : 0;
}

static void *copy(const void *p, size_t n)
{
    void *q = H5allocate_memory(n ? n : 1, 0);
    assert_non_null(q);
    memcpy(q, p, n);
    return q;
}

/* value i of a pattern, as the low `size` bytes of a 64-bit word */
static uint64_t pattern(int pat, size_t i, size_t n, unsigned size, uint64_t base, uint64_t range, uint64_t fill, uint64_t *s)
{
    uint64_t r = mix(s), within = range + 1 ? r % (range + 1) : r; /* in [0, range] */
    switch (pat) {
    case 0: return base + (range ? r % range : 0);             /* a range */
    case 1: return r;                                          /* the whole type */
    case 2: return base;                                       /* one value */
    case 3: return (r & 3) == 0 ? fill : base + within;         /* the fill value among others */
    case 4: return fill;                                       /* fill only */
    case 5: return i == 0 ? base : i == n - 1 ? base + range : base + within; /* range exactly hit */
    default: return (uint64_t)(i * 7) << (size * 4);           /* wide steps */
    }
    (void)size;
}

static int cases, same_bytes;

static void one(H5Z_func_t ref, unsigned size, int sgn, int filled, uint64_t fill, int pat, size_t n, uint64_t base, uint64_t range, uint64_t *s)
{
    size_t nb = n * size;
    uint8_t *in = malloc(nb ? nb : 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = pattern(pat, i, n, size, base, range, fill, s);
        memcpy(in + i * size, &v, size); /* little-endian: the low bytes */
    }
    unsigned cd[20];
    params(cd, (unsigned)n, size, sgn, filled, fill);
    void *a = copy(in, nb), *b = copy(in, nb);
    size_t asz = nb, bsz = nb;
    size_t ra = h5so_filter(0, 20, cd, nb, &asz, &a);
    size_t rb = ref(0, 20, cd, nb, &bsz, &b);
    char what[160];
    snprintf(what, sizeof what, "size %u sign %d fill %d (%llu) pattern %d n %zu base %llu range %llu", size, sgn, filled,
             (unsigned long long)fill, pat, n, (unsigned long long)base, (unsigned long long)range);
    if (ra != rb || asz != bsz) fprintf(stderr, "%s: sizes %zu/%zu, %zu/%zu\n", what, ra, rb, asz, bsz);
    assert_int_equal(ra, rb);
    assert_int_equal(asz, bsz);
    uint32_t minbits;
    memcpy(&minbits, b, 4);
    /* HDF5 leaves the one byte after the header unset when minbits is 0 */
    size_t cmp = minbits == 0 ? 21 : rb;
    if (memcmp(a, b, cmp) != 0) fprintf(stderr, "%s: stored bytes differ (minbits %u)\n", what, minbits);
    assert_memory_equal(a, b, cmp);
    same_bytes++;
    /* each decodes the other's chunk to the input */
    void *da = copy(b, rb), *db = copy(a, ra);
    size_t dasz = rb, dbsz = ra;
    assert_int_equal(h5so_filter(H5Z_FLAG_REVERSE, 20, cd, rb, &dasz, &da), nb);
    assert_int_equal(ref(H5Z_FLAG_REVERSE, 20, cd, ra, &dbsz, &db), nb);
    if (memcmp(da, in, nb) != 0) fprintf(stderr, "%s: decoded values differ\n", what);
    assert_memory_equal(da, in, nb);
    assert_memory_equal(db, in, nb);
    /* a chunk cut short fails (HDF5's own reads past the end) */
    if (minbits > 0 && ra > 22) {
        size_t need = minbits == size * 8 ? nb : (n * minbits + 7) / 8, csz = 21 + need - 1;
        void *cut = copy(a, csz);
        size_t rc = h5so_filter(H5Z_FLAG_REVERSE, 20, cd, csz, &csz, &cut);
        assert_int_equal(rc, 0);
        H5free_memory(cut);
    }
    H5free_memory(a); H5free_memory(b); H5free_memory(da); H5free_memory(db);
    free(in);
    cases++;
}

static void test_same_as_hdf5(void **st)
{
    (void)st;
    H5Z_func_t ref = reference();
    assert_non_null(ref);
    uint64_t s = 42;
    const unsigned sizes[] = {1, 2, 4, 8};
    const size_t ns[] = {1, 2, 7, 9, 64, 1000, 65536};
    for (int si = 0; si < 4; si++) {
        unsigned size = sizes[si], bits = size * 8;
        uint64_t all = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
        /* ranges: 1, 2, 3, 100, 501, 2^k +- 1, and within 2 of the type's */
        uint64_t ranges[] = {0, 1, 2, 99, 500, 255, 256, 257, all >> 1, all - 3, all - 2, all - 1, all};
        for (int sgn = 0; sgn <= 1; sgn++)
            for (int filled = 0; filled <= 1; filled++)
                for (int fv = 0; fv < (filled ? 3 : 1); fv++) {
                    uint64_t fill = fv == 0 ? 0 : fv == 1 ? 7 : all; /* 0 (HDF5's default), 7, -1 or the largest */
                    for (int pat = 0; pat < 7; pat++)
                        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
                            for (size_t ri = 0; ri < sizeof ranges / sizeof *ranges; ri++) {
                                uint64_t range = ranges[ri] & all;
                                /* bases: 0, a negative (for signed types) or high value, a middle one */
                                uint64_t bases[] = {0, (all - range) & all, (all >> 2) & all};
                                for (int bi = 0; bi < 3; bi++) {
                                    if (ns[ni] == 65536 && (bi || fv || (pat != 0 && pat != 3))) continue; /* time */
                                    one(ref, size, sgn, filled, fill, pat, ns[ni], bases[bi], range, &s);
                                }
                            }
                }
    }
    fprintf(stderr, "  %d chunks: stored bytes identical to HDF5's filter, each decodes the other's\n", cases);
    assert_true(cases > 10000);
}

/* A file through the installed filter: HDF5's pipeline, with its own
 * set_local, calls h5so_filter both ways. */
static void test_installed(void **st)
{
    (void)st;
    assert_int_equal(h5so_install(), 1);
    const char *path = "/tmp/precis-test-h5so.h5";
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    enum { N = 200000 };
    int64_t *v = malloc(sizeof(int64_t) * N), *w = malloc(sizeof(int64_t) * N);
    assert_non_null(v);
    assert_non_null(w);
    uint64_t s = 7;
    for (int i = 0; i < N; i++) v[i] = i % 5 == 0 ? 0 : 1700000000 + (int64_t)(mix(&s) % 40000000);
    hsize_t dims[1] = {N}, chunk[1] = {65536};
    hid_t sp = H5Screate_simple(1, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(H5Pset_chunk(dcpl, 1, chunk) >= 0);
    assert_true(H5Pset_scaleoffset(dcpl, H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT) >= 0);
    hid_t d = H5Dcreate2(f, "ts", H5T_NATIVE_INT64, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    hsize_t stored = H5Dget_storage_size(d);
    H5Dclose(d);
    H5Fclose(f);
    /* four chunks (the last one partly used) of 65536 values in 26 bits each
     * (a range of 4e7 and the fill value), after the 21-byte header, plus
     * HDF5's spare byte */
    assert_int_equal(stored, 4 * (21 + 65536 * 26 / 8 + 1));
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "ts", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, w) >= 0);
    assert_memory_equal(v, w, sizeof(int64_t) * N);
    H5Dclose(d);
    H5Fclose(f);
    H5Sclose(sp);
    H5Pclose(dcpl);
    remove(path);
    free(v);
    free(w);
}

int main(void)
{
    H5open();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_hdf5),
        cmocka_unit_test(test_installed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
