/* t_ckpt.c - the stop protocol and checkpoints (nsize 1-4).
 * An iterative loop checks ckpt_should_stop() at each iteration; with
 * PRECIS_STOP_AT=loop:K every rank stops at iteration K together and rank 0
 * writes a checkpoint; `t_ckpt DIR resume` resumes from it; `t_ckpt DIR
 * other` tries to resume with other parameters. Exit codes: 0 finished,
 * 75 stopped, 3 refused. Prints the iteration reached and a checksum. */
#include "ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    ckpt_install_handlers();
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    const char *mode = argc > 2 ? argv[2] : "";
    const char *params = !strcmp(mode, "other") ? "{\"k\":9}" : "{\"k\":5}";
    precis_err e;
    perr_clear(&e);
    struct { int64_t it; double state; } s = {0, 1.0};
    int code = 0;
    if (!strcmp(mode, "resume") || !strcmp(mode, "other")) {
        void *b = NULL;
        size_t l = 0;
        if (ckpt_read(MPI_COMM_WORLD, dir, "t", params, &b, &l, &e)) {
            if (rank == 0) fprintf(stderr, "%s\n", e.msg);
            MPI_Finalize();
            return e.code;
        }
        memcpy(&s, b, sizeof s);
        free(b);
    }
    for (; s.it < 20; s.it++) {
        if (ckpt_should_stop(MPI_COMM_WORLD, "loop", s.it)) {
            if (ckpt_write(MPI_COMM_WORLD, dir, "t", params, &s, sizeof s, &e) == 0) code = 75;
            else code = e.code;
            break;
        }
        s.state = s.state * 1.5 + 1.0;
    }
    if (rank == 0) printf("iteration %lld state %.17g exit %d\n", (long long)s.it, s.state, code);
    MPI_Finalize();
    return code;
}
