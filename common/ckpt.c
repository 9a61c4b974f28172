/* ckpt.c - signal flag, agreed stop points and atomic global checkpoints. */
#include "ckpt.h"

#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void ckpt_install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    g_stop = 0;
}

int ckpt_signalled(void) { return g_stop != 0; }

static int stop_hook(const char *phase, int64_t iteration)
{
    const char *h = getenv("PRECIS_STOP_AT");
    if (!h || !*h) return 0;
    const char *colon = strrchr(h, ':');
    size_t pl = colon ? (size_t)(colon - h) : strlen(h);
    if (strlen(phase) != pl || strncmp(h, phase, pl) != 0) return 0;
    return colon ? atoll(colon + 1) == iteration : 1;
}

int ckpt_stop_here(const char *phase, int64_t iteration) { return g_stop || stop_hook(phase, iteration); }

int ckpt_should_stop(MPI_Comm comm, const char *phase, int64_t iteration)
{
    int mine = ckpt_stop_here(phase, iteration), any = 1;
    if (MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_LOR, comm) != MPI_SUCCESS) return 1;
    return any;
}

#define CKPT_MAGIC "PRECISCK1"

typedef struct {
    char magic[10];
    unsigned char params_sha[32];
    unsigned char blob_sha[32];
    uint64_t len;
} ckpt_header;

static int sha256(const void *d, size_t n, unsigned char out[32])
{
    unsigned int l = 0;
    return EVP_Digest(d, n, out, &l, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

static void ckpt_path(char *buf, size_t n, const char *dir, const char *job, const char *sfx)
{
    snprintf(buf, n, "%s/%s.ckpt%s", dir, job, sfx);
}

int ckpt_write(MPI_Comm comm, const char *dir, const char *job, const char *params_json,
               const void *blob, size_t len, precis_err *e)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        char tmp[4096], fin[4096];
        ckpt_path(tmp, sizeof tmp, dir, job, ".tmp");
        ckpt_path(fin, sizeof fin, dir, job, "");
        ckpt_header h;
        memset(&h, 0, sizeof h);
        memcpy(h.magic, CKPT_MAGIC, sizeof CKPT_MAGIC);
        h.len = len;
        FILE *f = NULL;
        if (sha256(params_json, strlen(params_json), h.params_sha) || sha256(blob, len, h.blob_sha)) {
            PERR(e, PRECIS_EXIT_INTERNAL, "SHA-256 failed");
        } else if (!(f = fopen(tmp, "wb"))) {
            PERR(e, PRECIS_EXIT_IO, "cannot write checkpoint %s: %s", tmp, strerror(errno));
        } else {
            int ok = fwrite(&h, sizeof h, 1, f) == 1 && (len == 0 || fwrite(blob, len, 1, f) == 1) &&
                     fflush(f) == 0 && fsync(fileno(f)) == 0;
            ok = (fclose(f) == 0) && ok;
            if (!ok || rename(tmp, fin) != 0) {
                PERR(e, PRECIS_EXIT_IO, "cannot write checkpoint %s: %s", fin, strerror(errno));
                unlink(tmp);
            }
        }
    }
    return precis_agree(comm, e);
}

int ckpt_read(MPI_Comm comm, const char *dir, const char *job, const char *params_json,
              void **blob, size_t *len, precis_err *e)
{
    int rank;
    uint64_t n = 0;
    char *buf = NULL;
    MPI_Comm_rank(comm, &rank);
    *blob = NULL;
    *len = 0;
    if (rank == 0) {
        char fin[4096];
        ckpt_path(fin, sizeof fin, dir, job, "");
        FILE *f = fopen(fin, "rb");
        ckpt_header h;
        unsigned char ps[32], bs[32];
        if (!f) {
            PERR(e, PRECIS_EXIT_IO, "--resume: cannot open checkpoint %s: %s", fin, strerror(errno));
        } else if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, CKPT_MAGIC, sizeof CKPT_MAGIC) != 0) {
            PERR(e, PRECIS_EXIT_DATA, "--resume: %s is not a Precis checkpoint (bad header)", fin);
        } else if (sha256(params_json, strlen(params_json), ps) || memcmp(ps, h.params_sha, 32) != 0) {
            PERR(e, PRECIS_EXIT_DATA, "--resume: checkpoint %s was written with other parameters; rerun without --resume or with the original options", fin);
        } else if (h.len > ((uint64_t)1 << 34) || !(buf = malloc(h.len ? h.len : 1)) ||
                   (h.len && fread(buf, h.len, 1, f) != 1) || sha256(buf, h.len, bs) ||
                   memcmp(bs, h.blob_sha, 32) != 0) {
            PERR(e, PRECIS_EXIT_DATA, "--resume: checkpoint %s is corrupt (checksum mismatch or truncated)", fin);
            free(buf);
            buf = NULL;
        } else {
            n = h.len;
        }
        if (f) fclose(f);
    }
    if (precis_agree(comm, e)) return -1;
    MPI_CHECK(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, comm), e);
    if (rank != 0) buf = malloc(n ? n : 1);
    CHECK(buf, e, PRECIS_EXIT_INTERNAL, "out of memory");
    for (uint64_t off = 0; off < n; off += (1u << 30)) {
        uint64_t c = n - off < (1u << 30) ? n - off : (1u << 30);
        MPI_CHECK(MPI_Bcast(buf + off, (int)c, MPI_BYTE, 0, comm), e);
    }
    *blob = buf;
    *len = (size_t)n;
    return 0;
fail:
    free(buf);
    return -1;
}

void ckpt_remove(MPI_Comm comm, const char *dir, const char *job)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        char fin[4096];
        ckpt_path(fin, sizeof fin, dir, job, "");
        unlink(fin);
    }
    MPI_Barrier(comm);
}
