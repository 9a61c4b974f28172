/* h5so.c - HDF5's integer scale-offset filter, encoded and decoded faster. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "h5so.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the filter's 20 parameters, as HDF5's set_local callback fills them */
enum { P_SCALETYPE, P_SCALEFACTOR, P_NELMTS, P_CLASS, P_SIZE, P_SIGN, P_ORDER, P_FILAVAIL, P_FILVAL, P_N = 20 };
#define HDR 21           /* header bytes before the packed values */
#define CLASS_INTEGER 0
#define ORDER_LE 0

static H5Z_func_t builtin; /* HDF5's own function, for the cases not served here */

/* Bits for x distinct values, HDF5's rule: ceil(log2(x)), 0 for x <= 1. */
static unsigned bits_for(uint64_t x) { return x <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(x - 1); }

/* Most-significant-bit-first bit stream, 32 bits written or read at a time. */
typedef struct {
    uint8_t *p;
    uint64_t acc; /* the low n bits are pending */
    unsigned n;
} bitw;

static inline void put32(bitw *w, uint64_t x, unsigned m) /* m <= 32, x < 2^m */
{
    w->acc = w->acc << m | x;
    w->n += m;
    if (w->n >= 32) {
        w->n -= 32;
        uint32_t v = __builtin_bswap32((uint32_t)(w->acc >> w->n));
        memcpy(w->p, &v, 4);
        w->p += 4;
    }
}

static inline void put(bitw *w, uint64_t x, unsigned m) /* m <= 64 */
{
    if (m > 32) {
        put32(w, x >> 32, m - 32);
        put32(w, x & 0xffffffffu, 32);
    } else {
        put32(w, x, m);
    }
}

/* The pending bits, the last byte padded with zeros; returns the end. */
static uint8_t *put_end(bitw *w)
{
    while (w->n >= 8) {
        w->n -= 8;
        *w->p++ = (uint8_t)(w->acc >> w->n);
    }
    if (w->n) *w->p++ = (uint8_t)(w->acc << (8 - w->n));
    return w->p;
}

typedef struct {
    const uint8_t *p, *end;
    uint64_t acc;
    unsigned n;
} bitr;

static inline uint64_t get32(bitr *r, unsigned m) /* 1 <= m <= 32 */
{
    if (r->n < m) {
        uint32_t v = 0;
        if (r->end - r->p >= 4) {
            memcpy(&v, r->p, 4);
            v = __builtin_bswap32(v);
            r->p += 4;
        } else { /* the chunk's last bytes (their length was checked) */
            for (int k = 0; k < 4; k++) v = v << 8 | (r->p < r->end ? *r->p++ : 0);
        }
        r->acc = r->acc << 32 | v;
        r->n += 32;
    }
    r->n -= m;
    return (r->acc >> r->n) & ((UINT64_C(1) << m) - 1);
}

static inline uint64_t get(bitr *r, unsigned m) /* 1 <= m <= 64 */
{
    if (m > 32) {
        uint64_t hi = get32(r, m - 32);
        return hi << 32 | get32(r, 32);
    }
    return get32(r, m);
}

/* The chunk's header and result buffer (size_out bytes, as HDF5 sizes it:
 * one byte more than the packed bits may need). NULL on out of memory. */
static uint8_t *start_out(size_t size_out, unsigned minbits, uint64_t minval)
{
    uint8_t *o = H5allocate_memory(size_out, 0);
    if (!o) return NULL;
    for (int i = 0; i < 4; i++) o[i] = (uint8_t)(minbits >> (8 * i));
    o[4] = 8;
    for (int i = 0; i < 8; i++) o[5 + i] = (uint8_t)(minval >> (8 * i));
    memset(o + 13, 0, HDR - 13);
    return o;
}

/* One pair of functions per integer type. Encoding: the minimum and maximum
 * (leaving out the fill value when there is one), minbits, then the offsets
 * packed; decoding the reverse. Hot loops carry no option but the fill. */
#define SO_TYPE(NAME, T, U, SGN, TMIN, TMAX)                                                           \
    static void NAME##_pack(const T *v, size_t n, int filled, T fil, T lo, unsigned m, bitw *w)     \
    {                                                                                               \
        const U ones = (U)((UINT64_C(1) << m) - 1);                                                 \
        if (filled && m <= 32)                                                                      \
            for (size_t i = 0; i < n; i++) put32(w, v[i] == fil ? ones : (U)((U)v[i] - (U)lo), m);  \
        else if (filled)                                                                            \
            for (size_t i = 0; i < n; i++) put(w, v[i] == fil ? ones : (U)((U)v[i] - (U)lo), m);    \
        else if (m <= 32)                                                                           \
            for (size_t i = 0; i < n; i++) put32(w, (U)((U)v[i] - (U)lo), m);                       \
        else                                                                                        \
            for (size_t i = 0; i < n; i++) put(w, (U)((U)v[i] - (U)lo), m);                         \
    }                                                                                               \
                                                                                                    \
    static size_t NAME##_encode(size_t n, int filled, T fil, size_t *buf_size, void **buf)          \
    {                                                                                               \
        const T *v = *buf;                                                                          \
        T lo = TMAX, hi = TMIN;                                                                     \
        if (filled) {                                                                               \
            int any = 0;                                                                            \
            for (size_t i = 0; i < n; i++) {                                                        \
                int keep = v[i] != fil;                                                             \
                lo = keep && v[i] < lo ? v[i] : lo;                                                 \
                hi = keep && v[i] > hi ? v[i] : hi;                                                 \
                any |= keep;                                                                        \
            }                                                                                       \
            if (!any) lo = hi = 0;                                                                  \
        } else {                                                                                    \
            for (size_t i = 0; i < n; i++) {                                                        \
                lo = v[i] < lo ? v[i] : lo;                                                         \
                hi = v[i] > hi ? v[i] : hi;                                                         \
            }                                                                                       \
        }                                                                                           \
        const unsigned bits = 8 * sizeof(T);                                                        \
        U diff = (U)((U)hi - (U)lo);                                                                \
        uint64_t minval = (uint64_t)lo; /* sign-extended for signed types */                        \
        unsigned m;                                                                                 \
        if (diff > (U)(~(U)0 - 2)) { /* HDF5 stores the chunk as is, and the minimum as 0 (a       \
                                      * signed byte without fill value keeps it) */                 \
            m = bits;                                                                               \
            if (!(sizeof(T) == 1 && SGN && !filled)) minval = 0;                                    \
        } else {                                                                                    \
            m = bits_for((uint64_t)(U)(diff + 1) + (filled ? 1 : 0));                               \
        }                                                                                           \
        size_t size_out = HDR + n * m / 8 + 1, ret = size_out;                                      \
        uint8_t *o = start_out(size_out, m, minval);                                                \
        if (!o) return 0;                                                                           \
        if (m == bits) {                                                                            \
            memcpy(o + HDR, v, n * sizeof(T));                                                      \
            o[size_out - 1] = 0;                                                                    \
            ret = HDR + n * sizeof(T);                                                              \
        } else {                                                                                    \
            bitw w = {o + HDR, 0, 0};                                                               \
            if (m) NAME##_pack(v, n, filled, fil, lo, m, &w);                                       \
            uint8_t *end = put_end(&w);                                                             \
            memset(end, 0, (size_t)(o + size_out - end));                                           \
        }                                                                                           \
        H5free_memory(*buf);                                                                        \
        *buf = o;                                                                                   \
        *buf_size = size_out;                                                                       \
        return ret;                                                                                 \
    }                                                                                               \
                                                                                                    \
    static size_t NAME##_decode(size_t n, int filled, T fil, size_t nbytes, size_t *buf_size,       \
                                void **buf)                                                         \
    {                                                                                               \
        const uint8_t *in = *buf;                                                                   \
        const unsigned bits = 8 * sizeof(T);                                                        \
        if (nbytes < HDR) return 0;                                                                 \
        unsigned m = (unsigned)in[0] | (unsigned)in[1] << 8 | (unsigned)in[2] << 16 |               \
                     (unsigned)in[3] << 24;                                                         \
        uint64_t minval = 0;                                                                        \
        for (unsigned k = 0; k < (in[4] < 8 ? in[4] : 8u); k++) minval |= (uint64_t)in[5 + k] << (8 * k); \
        if (m > bits) return 0;                                                                     \
        size_t need = m == bits ? n * sizeof(T) : (n * m + 7) / 8;                                  \
        if (nbytes - HDR < need) return 0;                                                          \
        T *out = H5allocate_memory(n ? n * sizeof(T) : 1, 0);                                         \
        if (!out) return 0;                                                                         \
        if (m == bits) {                                                                            \
            memcpy(out, in + HDR, n * sizeof(T));                                                   \
        } else {                                                                                    \
            const uint64_t ones = (UINT64_C(1) << m) - 1;                                           \
            bitr r = {in + HDR, in + nbytes, 0, 0};                                                 \
            for (size_t i = 0; i < n; i++) {                                                        \
                uint64_t x = m ? get(&r, m) : 0;                                                    \
                out[i] = filled && x == ones ? fil : (T)(U)((U)x + (U)minval);                      \
            }                                                                                       \
        }                                                                                           \
        H5free_memory(*buf);                                                                        \
        *buf = out;                                                                                 \
        *buf_size = n * sizeof(T);                                                                  \
        return n * sizeof(T);                                                                       \
    }                                                                                               \
                                                                                                    \
    static size_t NAME##_filter(unsigned flags, size_t n, int filled, const uint8_t *fb, size_t nbytes, \
                                size_t *buf_size, void **buf)                                       \
    {                                                                                               \
        T fil;                                                                                      \
        memcpy(&fil, fb, sizeof fil);                                                               \
        if (flags & H5Z_FLAG_REVERSE) return NAME##_decode(n, filled, fil, nbytes, buf_size, buf);  \
        return nbytes == n * sizeof(T) ? NAME##_encode(n, filled, fil, buf_size, buf) : 0;          \
    }

SO_TYPE(u8, uint8_t, uint8_t, 0, 0, UINT8_MAX)
SO_TYPE(u16, uint16_t, uint16_t, 0, 0, UINT16_MAX)
SO_TYPE(u32, uint32_t, uint32_t, 0, 0, UINT32_MAX)
SO_TYPE(u64, uint64_t, uint64_t, 0, 0, UINT64_MAX)
SO_TYPE(i8, int8_t, uint8_t, 1, INT8_MIN, INT8_MAX)
SO_TYPE(i16, int16_t, uint16_t, 1, INT16_MIN, INT16_MAX)
SO_TYPE(i32, int32_t, uint32_t, 1, INT32_MIN, INT32_MAX)
SO_TYPE(i64, int64_t, uint64_t, 1, INT64_MIN, INT64_MAX)

typedef size_t (*so_fn)(unsigned, size_t, int, const uint8_t *, size_t, size_t *, void **);
/* [sign][log2 size] */
static const so_fn kernels[2][4] = {
    {u8_filter, u16_filter, u32_filter, u64_filter},
    {i8_filter, i16_filter, i32_filter, i64_filter},
};

size_t h5so_filter(unsigned flags, size_t cd_nelmts, const unsigned cd[], size_t nbytes, size_t *buf_size, void **buf)
{
    unsigned size = cd_nelmts == P_N ? cd[P_SIZE] : 0;
    int lg = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : size == 8 ? 3 : -1;
    if (cd_nelmts != P_N || cd[P_CLASS] != CLASS_INTEGER || cd[P_SCALETYPE] != H5Z_SO_INT ||
        cd[P_SCALEFACTOR] != 0 || cd[P_ORDER] != ORDER_LE || cd[P_SIGN] > 1 || lg < 0)
        return builtin ? builtin(flags, cd_nelmts, cd, nbytes, buf_size, buf) : 0;
    /* the fill value: its bytes in the parameters from P_FILVAL on, 4 to a parameter */
    uint8_t fb[8];
    uint32_t w0 = cd[P_FILVAL], w1 = cd[P_FILVAL + 1];
    memcpy(fb, &w0, 4);
    memcpy(fb + 4, &w1, 4);
    return kernels[cd[P_SIGN]][lg](flags, cd[P_NELMTS], cd[P_FILAVAIL] != 0, fb, nbytes, buf_size, buf);
}

int h5so_install(void)
{
    static int state; /* 0: not tried; 1: installed; -1: HDF5's own stays */
    if (state) return state > 0;
    state = -1;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const char *keep = getenv("PRECIS_H5_BUILTIN_SCALEOFFSET");
    if (keep && strcmp(keep, "0") != 0) return 0;
    herr_t (*reg)(const H5Z_class2_t *) = (herr_t(*)(const H5Z_class2_t *))dlsym(RTLD_DEFAULT, "H5Z_register");
    const H5Z_class2_t *cls = dlsym(RTLD_DEFAULT, "H5Z_SCALEOFFSET");
    if (!reg || !cls || cls->version != H5Z_CLASS_T_VERS || cls->id != H5Z_FILTER_SCALEOFFSET || !cls->filter)
        return 0;
    if (H5Zfilter_avail(H5Z_FILTER_SCALEOFFSET) <= 0) return 0; /* (this also sets up the filter table) */
    H5Z_class2_t mine = *cls;
    mine.filter = h5so_filter;
    builtin = cls->filter;
    if (reg(&mine) < 0) return 0;
    state = 1;
#endif
    return state > 0;
}
