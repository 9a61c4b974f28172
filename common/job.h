/* job.h - the shared top level of every precis-<job>: options, logging, exit.
 *
 * DESIGN
 * job_start() parses the option table, sets up logging (rank, level, JSON),
 * installs the stop-signal handlers, sets HDF5 to report errors through
 * precis_err instead of printing stacks, and has glibc keep freed heap
 * memory for reuse (job.c: keep_heap). job_exit() turns the final error
 * state into one message on rank 0 and the DESIGN.md exit code. Both are
 * collective only in that every rank calls them with the same arguments.
 */
#ifndef PRECIS_JOB_H
#define PRECIS_JOB_H

#include "check.h"
#include "opts.h"

#include <stddef.h>

/* Returns 0 to run, 1 when --help/--version was printed (exit 0), -1 with
 * e set (exit 2). `common` may be NULL for jobs without the common options. */
int job_start(const opt_cmd *cmd, const opt_common *common, int argc, char **argv,
              MPI_Comm comm, const char *job, precis_err *e);

/* The directory part of path ("." for a bare name, "/" for /name) into
 * out[0..cap). Can't fail. */
void job_dir_of(const char *path, char *out, size_t cap);

/* Collective. The directory of the output path must exist and be writable
 * on every rank (each writes there): a job fails at its start, not after
 * its work. Returns 0, or -1 on every rank (code 4; 2 for a path that ends
 * in '/'). */
int job_check_out(MPI_Comm comm, const char *path, precis_err *e);

/* Collective. 0 when none of the nout (<= JOB_OUTS_MAX) files out[] (which
 * what[] names in the message: "--out", "the quarantine file" ...) is one
 * of the n input paths, compared by device and inode, so links and other
 * spellings count; else -1 on every rank with code 2: the job would
 * replace its own input. Outputs that do not exist yet are skipped, and
 * when none exists no input is stat'ed; otherwise each input once. */
#define JOB_OUTS_MAX 8
int job_check_not_input(MPI_Comm comm, int nout, const char *const *what, const char *const *out, const char *const *paths, int n,
                        precis_err *e);

/* Collective. Log every rank's peak RSS on rank 0, print e (if set) once,
 * on the lowest failing rank's behalf, and return the exit code: 0 when e is
 * clear. Call after precis_agree(). */
int job_exit(MPI_Comm comm, const precis_err *e);

#endif
