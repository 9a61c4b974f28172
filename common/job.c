/* job.c - shared job start-up and exit (collective: job_exit gathers peak RSS). */
#include "job.h"
#include "ckpt.h"
#include "log.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* glibc serves a request of 128 KiB or more with a mapping of its own and
 * unmaps it on free (raising that bar only to the largest block freed so
 * far), and gives the heap's free top back to the kernel above 128 KiB.
 * Jobs allocate and free such blocks over and over (HDF5 compresses each
 * chunk into a new one), so the same bytes came back as new pages, each
 * first touch a page fault: 25,000 of them in precis-clean's write phase
 * at 1 GB. Requests below 32 MiB (glibc's ceiling) now come from the heap,
 * and up to 512 MiB of its free top is kept for the next request, so they
 * reuse pages touched before. Freed bytes are reused, not added: clean's
 * peak RSS at 1 GB rose 5 MiB. Larger buffers are hugemem's. */
static void keep_heap(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

int job_start(const opt_cmd *cmd, const opt_common *common, int argc, char **argv,
              MPI_Comm comm, const char *job, precis_err *e)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    keep_heap();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    log_init(job, rank, LOG_INFO, 0);
    int rc = opts_parse(cmd, argc, argv, rank, e);
    if (rc != 0) return rc;
    if (common) {
        log_level lv = LOG_INFO;
        if (common->log_level && log_parse_level(common->log_level, &lv))
            return PERR(e, PRECIS_EXIT_USAGE, "option --log-level: unknown level '%s'", common->log_level);
        log_init(job, rank, lv, common->log_json);
        if (common->resume && !common->checkpoint_dir)
            return PERR(e, PRECIS_EXIT_USAGE, "option --resume needs --checkpoint-dir");
    }
    ckpt_install_handlers();
    return 0;
}

/* Rank 0 logs every rank's peak resident set size (benchmarks read it). */
static void log_peak_rss(MPI_Comm comm, int rank)
{
    int size;
    MPI_Comm_size(comm, &size);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long mine = ru.ru_maxrss; /* KiB on Linux */
    long *all = rank == 0 ? calloc((size_t)size, sizeof(long)) : NULL;
    MPI_Gather(&mine, 1, MPI_LONG, all, 1, MPI_LONG, 0, comm);
    if (rank == 0 && all) {
        char buf[1024];
        int n = 0;
        for (int q = 0; q < size && n < (int)sizeof buf - 16; q++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%.1f", q ? " " : "", (double)all[q] / 1024.0);
        log_msg(LOG_INFO, "peak RSS per rank (MiB): %s", buf);
    }
    free(all);
}

int job_exit(MPI_Comm comm, const precis_err *e)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    log_peak_rss(comm, rank);
    if (e->code == 0) return 0;
    if (rank == 0) {
        if (e->code == PRECIS_EXIT_STOPPED) log_msg(LOG_WARN, "%s", e->msg);
        else log_msg(LOG_ERROR, "%s", e->msg);
    }
    return e->code;
}

void job_dir_of(const char *path, char *out, size_t cap)
{
    const char *sl = strrchr(path, '/');
    if (!sl) snprintf(out, cap, ".");
    else snprintf(out, cap, "%.*s", sl > path ? (int)(sl - path) : 1, path);
}

static int check_out(const char *path, precis_err *e)
{
    char dir[4096];
    const char *sl = strrchr(path, '/');
    struct stat st;
    job_dir_of(path, dir, sizeof dir);
    if (!*path || (sl && sl[1] == '\0')) return PERR(e, PRECIS_EXIT_USAGE, "--out '%s': a file name is needed", path);
    if (stat(dir, &st) != 0) return PERR(e, PRECIS_EXIT_IO, "--out %s: directory %s: %s (create it first)", path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return PERR(e, PRECIS_EXIT_IO, "--out %s: %s is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0) return PERR(e, PRECIS_EXIT_IO, "--out %s: cannot write in %s: %s", path, dir, strerror(errno));
    return 0;
}

int job_check_out(MPI_Comm comm, const char *path, precis_err *e)
{
    check_out(path, e);
    return precis_agree(comm, e);
}

int job_check_not_input(MPI_Comm comm, int nout, const char *const *what, const char *const *out, const char *const *paths, int n,
                        precis_err *e)
{
    struct stat os[JOB_OUTS_MAX], is;
    int have[JOB_OUTS_MAX], any = 0;
    ASSERT(nout <= JOB_OUTS_MAX);
    for (int o = 0; o < nout; o++) any |= have[o] = stat(out[o], &os[o]) == 0;
    for (int i = 0; any && e->code == 0 && i < n; i++)
        if (stat(paths[i], &is) == 0)
            for (int o = 0; o < nout; o++)
                if (have[o] && is.st_dev == os[o].st_dev && is.st_ino == os[o].st_ino) {
                    PERR(e, PRECIS_EXIT_USAGE, "%s %s is the input %s: writing it would replace the data being read; give another path",
                         what[o], out[o], paths[i]);
                    break;
                }
    return precis_agree(comm, e);
}
