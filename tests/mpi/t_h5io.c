/* t_h5io.c - parallel HDF5 columns across rank counts (nsize 1-4).
 * t_h5io write OUT   - write columns whose values are functions of the
 *                      global row (rank 1 writes no rows), then commit
 * t_h5io read FILE   - read even blocks at this P and verify every value
 * t_h5io kill OUT    - write, then die by SIGKILL before commit
 * t_h5io chunk FILE  - the deflated column's raw chunk is libdeflate's stream
 *                      and zlib inflates it (rank 0, serial)
 * t_h5io open FILE [generic] - open for reading; exit with the error code
 * t_h5io bands OUT   - write NB rows (ranks' shares uneven, rank 1's empty)
 *                      of four columns, one per storage, twice: at once
 *                      (/one) and in bands (/band, h5io_col_bands, the four
 *                      open together, bands of one chunk); then commit
 * t_h5io bandcheck FILE - (rank 0, serial) every /band value is right, and
 *                      each chunked /band column stores the same chunks,
 *                      byte for byte, as its /one twin */
#include "h5io.h"

#include <libdeflate.h>
#include <zlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 10007

static void gen_rows(int rank, int size, int64_t *off, int64_t *cnt)
{
    /* even blocks, but rank 1 gives its rows to rank 0 */
    int64_t o0, c0, o1, c1;
    h5io_even_block(N, rank, size, off, cnt);
    if (size > 1 && rank == 0) {
        h5io_even_block(N, 1, size, &o1, &c1);
        *cnt += c1;
    }
    if (size > 1 && rank == 1) {
        h5io_even_block(N, 0, size, &o0, &c0);
        *off = o0 + c0;
        *cnt = 0;
    }
}

/* scale-offset columns of global row g: the extremes of each type, one
 * constant and small codes */
static int64_t so_i64(int64_t g) { return g % 7 == 0 ? INT64_MIN : g % 11 == 0 ? INT64_MAX : g * 2654435761LL - 5000000000LL; }
static int32_t so_i32(int64_t g) { return g % 13 == 0 ? INT32_MIN : g % 17 == 0 ? INT32_MAX : (int32_t)(g * 37 - 100000); }
static uint64_t so_u64(int64_t g) { return g % 5 == 0 ? UINT64_MAX : (uint64_t)g; }
static int32_t so_code(int64_t g) { return (int32_t)(g % 9) + (g > 9000 ? 1000000 : 0); }

static int do_write(const char *out, int die, precis_err *e)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int64_t off, cnt;
    gen_rows(rank, size, &off, &cnt);
    int64_t *iv = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    double *dv = malloc(sizeof(double) * (size_t)(cnt + 1)), *mv = malloc(sizeof(double) * 3 * (size_t)(cnt + 1));
    char **sv = malloc(sizeof(char *) * (size_t)(cnt + 1));
    int64_t *s64 = malloc(sizeof(int64_t) * (size_t)(cnt + 1)), *sk = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    int32_t *s32 = malloc(sizeof(int32_t) * (size_t)(cnt + 1)), *sc = malloc(sizeof(int32_t) * (size_t)(cnt + 1));
    uint64_t *su = malloc(sizeof(uint64_t) * (size_t)(cnt + 1));
    for (int64_t i = 0; i < cnt; i++) {
        int64_t g = off + i;
        s64[i] = so_i64(g);
        s32[i] = so_i32(g);
        su[i] = so_u64(g);
        sc[i] = so_code(g);
        sk[i] = 42;
        iv[i] = g * g;
        dv[i] = (double)g * 0.5;
        for (int j = 0; j < 3; j++) mv[i * 3 + j] = (double)(g * 10 + j);
        sv[i] = malloc(32);
        snprintf(sv[i], 32, "s%lld%s", (long long)g, g % 5 == 0 ? "-wide" : "");
    }
    h5io_file *f = NULL;
    const char *cols[3] = {"a", "b", "c"};
    int rc = -1;
    if (h5io_create(MPI_COMM_WORLD, out, &f, e) == 0 &&
        h5io_set_provenance(f, "test", "{}", "[]", "0011223344556677", e) == 0 &&
        h5io_write_col(f, "/t/ints", H5T_NATIVE_INT64, iv, cnt, e) == 0 &&
        h5io_write_col(f, "/t/doubles", H5T_NATIVE_DOUBLE, dv, cnt, e) == 0 &&
        (h5io_set_filter(f, H5IO_DEFLATE), h5io_write_col(f, "/t/ints_deflate", H5T_NATIVE_INT64, iv, cnt, e)) == 0 &&
        (h5io_set_filter(f, H5IO_RAW), h5io_write_col(f, "/t/ints_raw", H5T_NATIVE_INT64, iv, cnt, e)) == 0 &&
        (h5io_set_filter(f, H5IO_SCALEOFFSET), h5io_write_col(f, "/so/i64", H5T_NATIVE_INT64, s64, cnt, e)) == 0 &&
        h5io_write_col(f, "/so/i32", H5T_NATIVE_INT32, s32, cnt, e) == 0 &&
        h5io_write_col(f, "/so/u64", H5T_NATIVE_UINT64, su, cnt, e) == 0 &&
        h5io_write_col(f, "/so/code", H5T_NATIVE_INT32, sc, cnt, e) == 0 &&
        h5io_write_col(f, "/so/const", H5T_NATIVE_INT64, sk, cnt, e) == 0 &&
        h5io_write_col(f, "/so/double", H5T_NATIVE_DOUBLE, dv, cnt, e) == 0 &&
        (h5io_set_filter(f, H5IO_SHUFFLE_DEFLATE), 1) &&
        h5io_write_strings(f, "/t/names", (const char *const *)sv, cnt, e) == 0 &&
        h5io_write_mat(f, "/m", H5T_NATIVE_DOUBLE, mv, cnt, 3, cols, e) == 0) {
        if (die) {
            MPI_Barrier(MPI_COMM_WORLD);
            raise(SIGKILL);
        }
        rc = h5io_commit(f, e);
        f = NULL;
    }
    if (f) h5io_abort(f);
    for (int64_t i = 0; i < cnt; i++) free(sv[i]);
    free(iv); free(dv); free(mv); free(sv); free(s64); free(s32); free(su); free(sc); free(sk);
    return rc;
}

/* the filters of dataset dset, in pipeline order, as a string like "shuffle,deflate" */
static void filters_of(h5io_file *f, const char *dset, char *out, size_t cap)
{
    hid_t d = H5Dopen2(f->fid, dset, H5P_DEFAULT), p = H5Dget_create_plist(d);
    out[0] = 0;
    for (int i = 0; i < H5Pget_nfilters(p); i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "",
                 id == H5Z_FILTER_SHUFFLE ? "shuffle" : id == H5Z_FILTER_DEFLATE ? "deflate"
                 : id == H5Z_FILTER_SCALEOFFSET ? "scaleoffset" : "other");
    }
    H5Pclose(p);
    H5Dclose(d);
}

static int do_read(const char *path, precis_err *e)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    h5io_file *f = NULL;
    if (h5io_open(MPI_COMM_WORLD, path, 0, &f, e)) return -1;
    int64_t rows, cols, off, cnt, bad = 0;
    if (h5io_dims(f, "/m", &rows, &cols, e)) return -1;
    if (rows != N || cols != 3) { PERR(e, 1, "dims %lld x %lld", (long long)rows, (long long)cols); return -1; }
    h5io_even_block(rows, rank, size, &off, &cnt);
    int64_t *iv = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    double *dv = malloc(sizeof(double) * (size_t)(cnt + 1)), *mv = malloc(sizeof(double) * 3 * (size_t)(cnt + 1));
    char *sv = NULL;
    size_t w = 0;
    int64_t *iv2 = malloc(sizeof(int64_t) * (size_t)(cnt + 1)), *iv3 = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    char fa[64], fb[64], fc[64];
    filters_of(f, "/t/ints", fa, sizeof fa);
    filters_of(f, "/t/ints_deflate", fb, sizeof fb);
    filters_of(f, "/t/ints_raw", fc, sizeof fc);
    char fd[64], fe[64];
    filters_of(f, "/so/i64", fd, sizeof fd);
    filters_of(f, "/so/double", fe, sizeof fe);
    if (strcmp(fa, "shuffle,deflate") || strcmp(fb, "deflate") || strcmp(fc, "") || strcmp(fd, "scaleoffset") ||
        strcmp(fe, "shuffle,deflate")) {
        PERR(e, 1, "filters: ints '%s' (want shuffle,deflate), ints_deflate '%s' (want deflate), ints_raw '%s' (want none), "
                   "so/i64 '%s' (want scaleoffset), so/double '%s' (want shuffle,deflate: not an integer)", fa, fb, fc, fd, fe);
        free(iv); free(iv2); free(iv3); free(dv); free(mv);
        return -1;
    }
    int rc = h5io_read_rows(f, "/t/ints", H5T_NATIVE_INT64, off, cnt, iv, e) ||
             h5io_read_rows(f, "/t/ints_deflate", H5T_NATIVE_INT64, off, cnt, iv2, e) ||
             h5io_read_rows(f, "/t/ints_raw", H5T_NATIVE_INT64, off, cnt, iv3, e) ||
             h5io_read_rows(f, "/t/doubles", H5T_NATIVE_DOUBLE, off, cnt, dv, e) ||
             h5io_read_rows(f, "/m", H5T_NATIVE_DOUBLE, off, cnt, mv, e) ||
             h5io_read_strings(f, "/t/names", off, cnt, &sv, &w, e);
    int64_t *r64 = malloc(sizeof(int64_t) * (size_t)(cnt + 1)), *rk = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    int32_t *r32 = malloc(sizeof(int32_t) * (size_t)(cnt + 1)), *rcode = malloc(sizeof(int32_t) * (size_t)(cnt + 1));
    uint64_t *ru = malloc(sizeof(uint64_t) * (size_t)(cnt + 1));
    double *rd = malloc(sizeof(double) * (size_t)(cnt + 1));
    if (rc == 0)
        rc = h5io_read_rows(f, "/so/i64", H5T_NATIVE_INT64, off, cnt, r64, e) ||
             h5io_read_rows(f, "/so/i32", H5T_NATIVE_INT32, off, cnt, r32, e) ||
             h5io_read_rows(f, "/so/u64", H5T_NATIVE_UINT64, off, cnt, ru, e) ||
             h5io_read_rows(f, "/so/code", H5T_NATIVE_INT32, off, cnt, rcode, e) ||
             h5io_read_rows(f, "/so/const", H5T_NATIVE_INT64, off, cnt, rk, e) ||
             h5io_read_rows(f, "/so/double", H5T_NATIVE_DOUBLE, off, cnt, rd, e);
    for (int64_t i = 0; rc == 0 && i < cnt; i++) {
        int64_t g = off + i;
        if (r64[i] != so_i64(g) || r32[i] != so_i32(g) || ru[i] != so_u64(g) || rcode[i] != so_code(g) || rk[i] != 42 ||
            rd[i] != (double)g * 0.5)
            bad++;
        char want[32];
        snprintf(want, sizeof want, "s%lld%s", (long long)g, g % 5 == 0 ? "-wide" : "");
        if (iv[i] != g * g || iv2[i] != g * g || iv3[i] != g * g || dv[i] != (double)g * 0.5 || mv[i * 3 + 2] != (double)(g * 10 + 2) ||
            strncmp(sv + (size_t)i * w, want, w) != 0)
            bad++;
    }
    char *fp = NULL;
    if (rc == 0) rc = h5io_attr_get_str(f, "/", "key_fingerprint", &fp, e);
    int64_t gbad = 0;
    MPI_Allreduce(&bad, &gbad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && rc == 0) printf("read np=%d: %lld rows, %lld wrong, fingerprint %s\n", size, (long long)rows, (long long)gbad, fp);
    free(r64); free(rk); free(r32); free(rcode); free(ru); free(rd);
    free(fp); free(iv); free(iv2); free(iv3); free(dv); free(mv); free(sv);
    h5io_close(f);
    return rc || gbad ? -1 : 0;
}

/* The deflated chunk is libdeflate's stream (h5io's compress2 took HDF5's
 * call, not zlib), and zlib inflates it to the column. Read serially on
 * rank 0, as HDF5 reads a raw chunk only without MPI-IO. */
static int check_deflate_chunk(const char *path, precis_err *e)
{
    size_t nb = sizeof(int64_t) * N;
    int64_t *want = malloc(nb), *back = malloc(nb);
    unsigned char *raw = malloc(nb), *ours = malloc(nb);
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = fid >= 0 ? H5Dopen2(fid, "/t/ints_deflate", H5P_DEFAULT) : -1;
    hsize_t o[1] = {0}, sz = 0;
    uint32_t mask = 1;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
    int rc = -1;
    for (int64_t g = 0; g < N; g++) want[g] = g * g;
    if (d < 0 || H5Dget_chunk_storage_size(d, o, &sz) < 0 || sz == 0 || sz > nb || H5Dread_chunk(d, H5P_DEFAULT, o, &mask, raw) < 0) {
        PERR(e, 1, "cannot read the raw chunk of /t/ints_deflate");
    } else {
        size_t n = libdeflate_zlib_compress(c, want, nb, ours, nb);
        uLongf bl = (uLongf)nb;
        int z = uncompress((Bytef *)back, &bl, raw, (uLong)sz);
        if (mask != 0 || n != sz || memcmp(ours, raw, n) != 0)
            PERR(e, 1, "the chunk (%llu bytes, filter mask %u) is not libdeflate's level-1 stream (%zu bytes): "
                       "HDF5 did not call h5io's compress2", (unsigned long long)sz, mask, n);
        else if (z != Z_OK || bl != nb || memcmp(back, want, nb) != 0)
            PERR(e, 1, "zlib does not inflate the chunk to the column (zlib status %d)", z);
        else
            rc = 0;
    }
    if (rc == 0) printf("deflate chunk: %llu bytes from libdeflate, inflated by zlib to %zu\n", (unsigned long long)sz, nb);
    libdeflate_free_compressor(c);
    if (d >= 0) H5Dclose(d);
    if (fid >= 0) H5Fclose(fid);
    free(want); free(back); free(raw); free(ours);
    return rc;
}

#define NB ((int64_t)5 * 65536 + 1234)
static const char *const band_kind[4] = {"shuffle_deflate", "deflate", "raw", "scaleoffset"};
static const int band_filter[4] = {H5IO_SHUFFLE_DEFLATE, H5IO_DEFLATE, H5IO_RAW, H5IO_SCALEOFFSET};
static int64_t band_value(int64_t g) { return g * g / 7 + (g % 3 ? 5 : -5); }

static int do_bands(const char *out, precis_err *e)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* shares in proportion to rank + 1, rank 1's given to rank 0: every
     * rank but the first starts inside a chunk */
#define EDGE(r) (NB * ((int64_t)(r) * ((r) + 1) / 2) / ((int64_t)size * (size + 1) / 2))
    int64_t off = EDGE(rank), cnt = EDGE(rank + 1) - off;
    if (size > 1 && rank == 0) cnt = EDGE(2);
    if (size > 1 && rank == 1) off = EDGE(2), cnt = 0;
#undef EDGE
    int64_t *v = malloc(sizeof(int64_t) * (size_t)(cnt + 1)), *buf = malloc(sizeof(int64_t) * (size_t)(cnt + 1));
    for (int64_t i = 0; i < cnt; i++) v[i] = band_value(off + i);
    h5io_file *f = NULL;
    h5io_col col[4];
    int nopen = 0, rc = -1;
    char path[64];
    if (h5io_create(MPI_COMM_WORLD, out, &f, e) || h5io_set_provenance(f, "test", "{}", "[]", "0011223344556677", e)) goto done;
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "/one/%s", band_kind[k]);
        h5io_set_filter(f, band_filter[k]);
        if (h5io_write_col(f, path, H5T_NATIVE_INT64, v, cnt, e)) goto done;
    }
    for (int k = 0; k < 4; k++, nopen++) {
        snprintf(path, sizeof path, "/band/%s", band_kind[k]);
        h5io_set_filter(f, band_filter[k]);
        if (h5io_col_begin(f, path, H5T_NATIVE_INT64, cnt, &col[k], e)) goto done;
    }
    h5io_bands plan;
    if (h5io_col_bands(&col[0], 1, &plan, e)) goto done;
    for (int64_t j = -1; j < plan.n; j++) {
        int64_t from[2], count[2];
        int nr = h5io_band_ranges(&plan, cnt, j, from, count);
        for (int k = 0; k < 4; k++) {
            int64_t m = 0;
            for (int r = 0; r < nr; r++)
                for (int64_t i = 0; i < count[r]; i++) buf[m++] = v[from[r] + i];
            if (h5io_col_put(&col[k], buf, nr, from, count, e)) goto done;
        }
    }
    for (int k = 0; k < 4; k++) h5io_col_end(&col[k]);
    nopen = 0;
    rc = h5io_commit(f, e);
    f = NULL;
done:
    for (int k = 0; k < nopen; k++) h5io_col_end(&col[k]);
    if (f) h5io_abort(f);
    free(v); free(buf);
    return rc;
}

static int check_bands(const char *path, precis_err *e)
{
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int64_t *got = malloc(sizeof(int64_t) * NB), wrong = 0, chunks = 0;
    unsigned char *a = malloc(sizeof(int64_t) * 65536), *b = malloc(sizeof(int64_t) * 65536);
    int rc = fid >= 0 ? 0 : -1;
    for (int k = 0; rc == 0 && k < 4; k++) {
        char p1[64], p2[64];
        snprintf(p1, sizeof p1, "/one/%s", band_kind[k]);
        snprintf(p2, sizeof p2, "/band/%s", band_kind[k]);
        hid_t d1 = H5Dopen2(fid, p1, H5P_DEFAULT), d2 = H5Dopen2(fid, p2, H5P_DEFAULT);
        if (d1 < 0 || d2 < 0 || H5Dread(d2, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) < 0) rc = PERR(e, 1, "cannot read %s", p2);
        for (int64_t g = 0; rc == 0 && g < NB; g++) wrong += got[g] != band_value(g);
        hsize_t n1 = 0, n2 = 0;
        hid_t s1 = d1 >= 0 ? H5Dget_space(d1) : -1, s2 = d2 >= 0 ? H5Dget_space(d2) : -1;
        if (rc == 0 && k != 2 && (H5Dget_num_chunks(d1, s1, &n1) < 0 || H5Dget_num_chunks(d2, s2, &n2) < 0 || n1 != n2 || n1 == 0))
            rc = PERR(e, 1, "%s has %llu chunks, %s %llu", p2, (unsigned long long)n2, p1, (unsigned long long)n1);
        for (hsize_t i = 0; rc == 0 && k != 2 && i < n1; i++, chunks++) {
            hsize_t o1[1], o2[1], z1 = 0, z2 = 0;
            unsigned m1 = 0, m2 = 0;
            haddr_t ad;
            uint32_t f1 = 0, f2 = 0;
            if (H5Dget_chunk_info(d1, s1, i, o1, &m1, &ad, &z1) < 0 || H5Dget_chunk_info(d2, s2, i, o2, &m2, &ad, &z2) < 0 ||
                o1[0] != o2[0] || z1 != z2 || H5Dread_chunk(d1, H5P_DEFAULT, o1, &f1, a) < 0 ||
                H5Dread_chunk(d2, H5P_DEFAULT, o2, &f2, b) < 0 || f1 != f2 || memcmp(a, b, z1) != 0)
                rc = PERR(e, 1, "%s chunk %llu (row %llu, %llu bytes) is not stored as %s's (row %llu, %llu bytes)", p2,
                          (unsigned long long)i, (unsigned long long)o2[0], (unsigned long long)z2, p1, (unsigned long long)o1[0],
                          (unsigned long long)z1);
        }
        if (s1 >= 0) H5Sclose(s1);
        if (s2 >= 0) H5Sclose(s2);
        if (d1 >= 0) H5Dclose(d1);
        if (d2 >= 0) H5Dclose(d2);
    }
    if (rc == 0 && wrong) rc = PERR(e, 1, "%lld band values wrong", (long long)wrong);
    if (rc == 0) printf("bands: 4 columns of %lld rows right; %lld chunks stored as the one-call writes store them\n", (long long)NB, (long long)chunks);
    if (fid >= 0) H5Fclose(fid);
    free(got); free(a); free(b);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    precis_err e;
    perr_clear(&e);
    int rc = 1;
    if (argc >= 3 && !strcmp(argv[1], "write")) rc = do_write(argv[2], 0, &e);
    else if (argc >= 3 && !strcmp(argv[1], "kill")) rc = do_write(argv[2], 1, &e);
    else if (argc >= 3 && !strcmp(argv[1], "read")) rc = do_read(argv[2], &e);
    else if (argc >= 3 && !strcmp(argv[1], "chunk")) rc = rank == 0 ? check_deflate_chunk(argv[2], &e) : 0;
    else if (argc >= 3 && !strcmp(argv[1], "bands")) rc = do_bands(argv[2], &e);
    else if (argc >= 3 && !strcmp(argv[1], "bandcheck")) rc = rank == 0 ? check_bands(argv[2], &e) : 0;
    else if (argc >= 3 && !strcmp(argv[1], "open")) {
        h5io_file *f = NULL;
        rc = h5io_open(MPI_COMM_WORLD, argv[2], argc > 3, &f, &e);
        if (rc == 0) h5io_close(f);
    }
    precis_agree(MPI_COMM_WORLD, &e);
    if (rc && rank == 0) fprintf(stderr, "%s\n", e.msg);
    int code = rc == 0 ? 0 : (e.code ? e.code : 1);
    MPI_Finalize();
    return code;
}
