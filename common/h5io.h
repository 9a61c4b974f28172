/* h5io.h - parallel HDF5 files under the Precis contract (DESIGN.md).
 *
 * DESIGN
 * Files are opened with H5Pset_fapl_mpio on the job's communicator. Every
 * function taking an h5io_file is collective: all ranks call it with the
 * same dataset names and attribute values; data calls take each rank's own
 * rows, placed at the MPI_Exscan of the row counts, and a rank with no rows
 * selects none. Large slabs are written in pieces of at most 128 MiB per
 * rank (the same number of collective calls on every rank), so per-rank
 * sizes above 2 GiB work. The outcome of each write is agreed on by every
 * rank, and it includes the writes under MPI-IO, which h5io checks itself
 * (a program that links h5io gets its pwrite, pwritev and write; h5io.c):
 * Open MPI's collective writes can return success for a write that failed.
 *
 * A file being written lives at "<out>.tmp". h5io_commit() sets `complete`=1
 * and `created_utc`, closes the file and renames it to <out>; h5io_abort()
 * closes and deletes the .tmp. A killed writer therefore leaves no <out>.
 * h5io_open() refuses a Precis file (one with a `format` attribute) that is
 * incomplete or of another format, and accepts a foreign file (no `format`)
 * only when the caller allows generic input, with a warning.
 *
 * Columns are 1-D datasets; matrices are 2-D with a `columns` attribute.
 * Strings are fixed-length (the width is the allreduced maximum), because
 * parallel HDF5 1.10 cannot write variable-length data. Datasets of 4096 or
 * more elements are chunked and compressed (shuffle + deflate 1).
 */
#ifndef PRECIS_H5IO_H
#define PRECIS_H5IO_H

#include "check.h"
#include <hdf5.h>
#include <stdint.h>

#define H5IO_FORMAT "precis/1"

typedef struct h5io_file {
    hid_t fid;
    MPI_Comm comm;
    int rank, size;
    char *path; /* final path */
    char *tmp;  /* path being written, NULL when reading */
    int filter; /* how the next datasets are stored: H5IO_SHUFFLE_DEFLATE ... */
    int wb_fd;  /* the file being written, opened again to start its writeback early; -1 */
    int watch;  /* its entry among the files whose writes h5io checks (h5io.c); -1 */
} h5io_file;

/* Create <path>.tmp for writing (truncating any old .tmp). */
int h5io_create(MPI_Comm comm, const char *path, h5io_file **f, precis_err *e);

/* Open for reading. generic_ok: accept a foreign HDF5 file with a warning. */
int h5io_open(MPI_Comm comm, const char *path, int generic_ok, h5io_file **f, precis_err *e);

/* Close a file opened for reading. Can't fail (errors are ignored). */
void h5io_close(h5io_file *f);

/* How datasets written after this call are stored:
 *  H5IO_SHUFFLE_DEFLATE (the default): byte shuffle, then deflate;
 *  H5IO_DEFLATE: deflate alone, for columns that repeat whole values in runs
 *    (a customer's key on each of its rows), where the shuffle would cut the
 *    runs into short byte runs (2x smaller and 2.5x faster without it);
 *  H5IO_RAW: contiguous, uncompressed, for data such as keyed hashes, where
 *    deflate costs time and saves nothing;
 *  H5IO_SCALEOFFSET: integers only (others get the default): HDF5's lossless
 *    integer scale-offset filter, each chunk stored as offsets from its
 *    minimum in as few bits as its range needs. For codes and timestamps it
 *    shrinks about as much as shuffle+deflate, 3-4x faster both ways (and
 *    faster again through common/h5so, which h5io installs).
 * Can't fail. */
enum { H5IO_SHUFFLE_DEFLATE = 0, H5IO_DEFLATE, H5IO_RAW, H5IO_SCALEOFFSET };
static inline void h5io_set_filter(h5io_file *f, int filter) { f->filter = filter; }

/* Write this rank's nlocal elements of a 1-D column (parents created). */
int h5io_write_col(h5io_file *f, const char *dset, hid_t type, const void *buf,
                   int64_t nlocal, precis_err *e);

/* A column written a band of rows at a time, for a caller that builds the
 * column as it goes and frees what it has written (precis-clean writes its
 * tables so: the rows it packs the columns from go back to the kernel band
 * by band, and the file's page cache takes their pages). Several columns may
 * be open at once.
 *  h5io_col_begin creates dataset dset for this rank's nlocal elements,
 *    placed at c->off, the MPI_Exscan of the counts; c->total is their sum.
 *  h5io_col_put writes nr ranges of this rank's rows: [from[i], from[i] +
 *    count[i]) (local row numbers), whose elements lie one after another in
 *    buf. Every rank makes the same number of calls for a column (nr may be
 *    0, or the counts 0). A chunk that two calls both write is read back,
 *    merged and compressed again, and the file keeps the space of its first
 *    version: so the ranges of a call should end on multiples of
 *    H5IO_CHUNK_ELEMS in global rows, except each rank's first and last
 *    partial chunk, which should go in one call on every rank.
 *  h5io_col_end closes it (after a failure too; twice is harmless).
 * begin and put are collective and agreed on: 0 on every rank, or -1 on
 * every rank with the message of the lowest rank that failed (then call
 * h5io_col_end and stop writing).
 * h5io_col_bands plans such calls: call -1 writes this rank's partial
 * chunks, [0, head) and [tail, nlocal); calls 0 .. n-1 its whole chunks
 * between them, `rows` at a time (rounded up to whole chunks); n is the
 * most any rank needs (collective). h5io_band_ranges gives call j's ranges
 * (returns nr). Every column of one table (same nlocal) has the same plan. */
#define H5IO_CHUNK_ELEMS ((hsize_t)1 << 16) /* elements per chunk of a compressed dataset */
typedef struct h5io_col {
    h5io_file *f;
    hid_t d, space, xfer, type;
    int64_t off, total, nlocal, ncols;
    int rank2;
    char name[200];
} h5io_col;
int h5io_col_begin(h5io_file *f, const char *dset, hid_t type, int64_t nlocal, h5io_col *c, precis_err *e);
int h5io_col_put(h5io_col *c, const void *buf, int nr, const int64_t *from, const int64_t *count, precis_err *e);
void h5io_col_end(h5io_col *c);
typedef struct h5io_bands {
    int64_t head, tail, rows, n;
} h5io_bands;
int h5io_col_bands(const h5io_col *c, int64_t rows, h5io_bands *b, precis_err *e);
int h5io_band_ranges(const h5io_bands *b, int64_t nlocal, int64_t j, int64_t from[2], int64_t count[2]);

/* Write this rank's nlocal rows of a 2-D row-major matrix with ncols columns;
 * colnames (may be NULL) becomes the `columns` attribute, joined by ','. */
int h5io_write_mat(h5io_file *f, const char *dset, hid_t type, const void *buf,
                   int64_t nlocal, int ncols, const char *const *colnames, precis_err *e);

/* Write fixed-length strings (NUL-terminated inputs). */
int h5io_write_strings(h5io_file *f, const char *dset, const char *const *s,
                       int64_t nlocal, precis_err *e);

/* Rows (first dimension) and columns (1 for 1-D) of a dataset. */
int h5io_dims(h5io_file *f, const char *dset, int64_t *rows, int64_t *cols, precis_err *e);

/* Read rows [off, off+count) of a 1-D or 2-D dataset into buf, converting to
 * memtype. count may be 0. */
int h5io_read_rows(h5io_file *f, const char *dset, hid_t memtype, int64_t off,
                   int64_t count, void *buf, precis_err *e);

/* Read rows [off, off+count) of a fixed-length string dataset into a malloc'd
 * block of count*width bytes; *width gets the stride: the stored string size
 * plus one, so every string is NUL-terminated even when it fills the field. */
int h5io_read_strings(h5io_file *f, const char *dset, int64_t off, int64_t count,
                      char **buf, size_t *width, precis_err *e);

/* A file besides the .tmp being written that a write failure ending in
 * MPI_Abort (a rank whose HDF5 call failed while the others stayed inside
 * it; see h5io.c, agree) removes too: a report of the output, written
 * before it and put in place with it. NULL for none. Every rank should
 * name it (any rank may be the one that aborts). Can't fail. */
void h5io_remove_on_abort(const char *path);

/* Even block of n rows for rank of size: [*off, *off + *count). Can't fail. */
void h5io_even_block(int64_t n, int rank, int size, int64_t *off, int64_t *count);

/* Does a link path exist? 1 yes, 0 no (never fails; missing parents = no). */
int h5io_exists(h5io_file *f, const char *path);

/* Attributes on an object ("/" for the root). */
int h5io_attr_set_str(h5io_file *f, const char *obj, const char *name, const char *v, precis_err *e);
int h5io_attr_set_i64(h5io_file *f, const char *obj, const char *name, int64_t v, precis_err *e);
int h5io_attr_set_f64(h5io_file *f, const char *obj, const char *name, double v, precis_err *e);
/* Read a string attribute into a malloc'd string. Returns 0, or -1 (code 3)
 * when missing. */
int h5io_attr_get_str(h5io_file *f, const char *obj, const char *name, char **out, precis_err *e);
int h5io_attr_get_i64(h5io_file *f, const char *obj, const char *name, int64_t *out, precis_err *e);

/* The run_id of a job's output: the first 16 bytes, in hex, of a SHA-256
 * of job, version, params and inputs, so it is reproducible (a job can
 * name it before it writes the file). Returns 0, or -1 with code 5. */
int h5io_run_id(const char *job, const char *params_json, const char *inputs_json, char run_id[33], precis_err *e);

/* The root attributes of DESIGN.md except `complete` and `created_utc`:
 * format, job, version, params, inputs, key_fingerprint and run_id
 * (h5io_run_id). */
int h5io_set_provenance(h5io_file *f, const char *job, const char *params_json,
                        const char *inputs_json, const char *key_fp, precis_err *e);

/* Set complete=1 and created_utc, close and rename <out>.tmp to <out>.
 * Frees f. Returns 0 or -1 (the .tmp is then removed). */
int h5io_commit(h5io_file *f, precis_err *e);

/* Close and delete <out>.tmp. Frees f. Can't fail. */
void h5io_abort(h5io_file *f);

/* Collective over comm. JSON array describing input files for the `inputs`
 * attribute: path, size, mtime, sha256 of the first, middle and last MiB
 * and, for a Precis HDF5 input, its run_id. Computed on rank 0 and
 * broadcast. *json is malloc'd. */
int h5io_inputs_json(MPI_Comm comm, char *const *paths, int n, char **json, precis_err *e);

/* Collective: slot_offsets for a keyed table: this rank writes out[0..hi-lo)
 * (and out[hi-lo] on the last rank) from slots_offsets_local(). */
int h5io_write_slot_offsets(h5io_file *f, const char *table, int64_t lo, int64_t hi,
                            const int64_t *local, precis_err *e);

/* Collective: the rows [*off, *off + *count) of slots [lo, hi) of a table. */
int h5io_slot_rows(h5io_file *f, const char *table, int64_t lo, int64_t hi,
                   int64_t *off, int64_t *count, precis_err *e);

#endif
