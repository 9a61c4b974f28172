/* check.h - error capture, checked-call macros and collective failure agreement.
 *
 * DESIGN
 * Library code never exits. A function that can fail takes a `precis_err *`
 * and returns 0 on success or -1 after filling it: an exit code (DESIGN.md:
 * 2 usage, 3 bad data, 4 I/O, 5 internal, 75 stopped) and one message that
 * names the rank and the source location. The checked-call macros evaluate
 * their call exactly once, fill the error with the library's own message and
 * jump to the function's `fail:` label, so cleanup lives in one place.
 *
 * Before each collective step a job calls precis_agree(): an MPI_Allreduce
 * with MPI_LOR tells every rank whether any rank failed; if so, the error of
 * the lowest failing rank is broadcast so all ranks stop with one message.
 */
#ifndef PRECIS_CHECK_H
#define PRECIS_CHECK_H

#include <mpi.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>

enum {
    PRECIS_OK = 0,
    PRECIS_EXIT_USAGE = 2,
    PRECIS_EXIT_DATA = 3,
    PRECIS_EXIT_IO = 4,
    PRECIS_EXIT_INTERNAL = 5,
    PRECIS_EXIT_STOPPED = 75,
};

typedef struct precis_err {
    int code;          /* 0 when no error, else one of the PRECIS_EXIT_* codes */
    char msg[1024];
} precis_err;

/* Clear an error. This function can't fail. */
void perr_clear(precis_err *e);

/* Fill `e` with `code` and a printf-style message prefixed by
 * "[rank r] file:line: ". Always returns -1 so callers can `return perr_set(...)`. */
int perr_set(precis_err *e, int code, const char *file, int line,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The calling process's rank in MPI_COMM_WORLD, or 0 before MPI_Init. */
int precis_world_rank(void);

/* The text of the innermost HDF5 error on this thread's default stack, into
 * buf. Returns buf. This function can't fail. */
const char *precis_h5_errmsg(char *buf, size_t len);

/* For the message of a failed write to path: "; its file system has N KiB
 * free" when that file system has under 64 MiB free to this user (a full
 * disk is the likely reason), else "". Written into out (n bytes; 96 are
 * enough). Returns out. This function can't fail. */
const char *precis_space_left(const char *path, char *out, size_t n);

/* Collective over comm. Every rank passes its own error state. Returns 0 when
 * no rank failed. Otherwise returns -1 on every rank, and on every rank `e`
 * holds the error of the lowest failing rank. Uses MPI_Allreduce(MPI_LOR),
 * then MPI_MINLOC and MPI_Bcast only on failure. */
int precis_agree(MPI_Comm comm, precis_err *e);

#define PERR(e, code, ...) perr_set((e), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Evaluate an MPI call once; on failure fill `e` and goto fail. */
#define MPI_CHECK(call, e)                                                     \
    do {                                                                       \
        int mpi_rc_ = (call);                                                  \
        if (mpi_rc_ != MPI_SUCCESS) {                                          \
            char mpi_s_[MPI_MAX_ERROR_STRING];                                 \
            int mpi_l_ = 0;                                                    \
            MPI_Error_string(mpi_rc_, mpi_s_, &mpi_l_);                        \
            PERR((e), PRECIS_EXIT_INTERNAL, "%s failed: %s", #call, mpi_s_);   \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

/* Evaluate an HDF5 call once (herr_t or hid_t); negative means failure. */
#define H5_CHECK(call, e)                                                      \
    do {                                                                       \
        if ((int64_t)(call) < 0) {                                             \
            char h5_s_[512];                                                   \
            PERR((e), PRECIS_EXIT_IO, "%s failed: %s", #call,                  \
                 precis_h5_errmsg(h5_s_, sizeof h5_s_));                       \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

/* Like H5_CHECK but stores the returned id in `var`. */
#define H5_CHECK_ID(var, call, e)                                              \
    do {                                                                       \
        (var) = (call);                                                        \
        if ((var) < 0) {                                                       \
            char h5_s_[512];                                                   \
            PERR((e), PRECIS_EXIT_IO, "%s failed: %s", #call,                  \
                 precis_h5_errmsg(h5_s_, sizeof h5_s_));                       \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

/* Check a condition; on failure fill `e` with `code` and message, goto fail. */
#define CHECK(cond, e, code, ...)                                              \
    do {                                                                       \
        if (!(cond)) {                                                         \
            PERR((e), (code), __VA_ARGS__);                                    \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

/* Propagate: if a call returning 0/-1 failed, goto fail (error already set). */
#define TRY(call)                                                              \
    do {                                                                       \
        if ((call) != 0) goto fail;                                            \
    } while (0)

/* Internal invariant. On failure prints rank and location and aborts the whole
 * job with exit code 5. Use instead of assert(). */
#define ASSERT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) precis_assert_fail(#cond, __FILE__, __LINE__);            \
    } while (0)

void precis_assert_fail(const char *what, const char *file, int line)
    __attribute__((noreturn));

#endif
