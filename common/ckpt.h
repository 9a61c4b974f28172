/* ckpt.h - the stop protocol: signals, agreed stop points and checkpoints.
 *
 * DESIGN
 * SIGTERM and SIGUSR1 handlers only set a flag. At each phase end or
 * iteration boundary a job calls ckpt_should_stop(), which ORs every rank's
 * flag with MPI_Allreduce, so the ranks stop together. The test hook
 * PRECIS_STOP_AT=<phase>:<iteration> raises the stop at exactly that point
 * on every rank, so tests need no sleeps or timing.
 *
 * A checkpoint is one small global blob (centroids, factors, iteration, RNG
 * counters) written by rank 0 atomically (<dir>/<job>.ckpt.tmp, fsync,
 * rename). Its header holds a magic, the SHA-256 of the job's parameters
 * and of the payload. ckpt_read() refuses a checkpoint written with other
 * parameters or a corrupt one (exit 3) and broadcasts the blob to every
 * rank, so a job resumes at any rank count.
 */
#ifndef PRECIS_CKPT_H
#define PRECIS_CKPT_H

#include "check.h"
#include <stddef.h>
#include <stdint.h>

/* Install the SIGTERM/SIGUSR1 handlers and clear the flag. Can't fail. */
void ckpt_install_handlers(void);

/* Has this process received a stop signal? Not collective. */
int ckpt_signalled(void);

/* Not collective: 1 when this process got a signal or PRECIS_STOP_AT names
 * this (phase, iteration), for a loop that runs on one rank alone (the
 * caller's next agreement stops the others). */
int ckpt_stop_here(const char *phase, int64_t iteration);

/* Collective. 1 when any rank got a signal or PRECIS_STOP_AT names this
 * (phase, iteration); 0 otherwise. On MPI failure returns 1 (stop safely). */
int ckpt_should_stop(MPI_Comm comm, const char *phase, int64_t iteration);

/* Collective. Rank 0 writes the blob atomically. Returns 0 or -1 (code 4). */
int ckpt_write(MPI_Comm comm, const char *dir, const char *job, const char *params_json,
               const void *blob, size_t len, precis_err *e);

/* Collective. Read and verify; *blob is malloc'd on every rank. Returns 0,
 * or -1: code 3 for other parameters or corruption, 4 for I/O. */
int ckpt_read(MPI_Comm comm, const char *dir, const char *job, const char *params_json,
              void **blob, size_t *len, precis_err *e);

/* Collective. Remove the checkpoint after a successful run. Can't fail. */
void ckpt_remove(MPI_Comm comm, const char *dir, const char *job);

#endif
