/* t_tz.c ZONE... - the interval table of each zone as tz_open_comm gives it:
 * rank 0 prints "zone NAME n" then one "start offset" line per interval
 * (the first start is INT64_MIN), and every rank's table must equal rank
 * 0's (checked here by allreduce). tests/mpi/tz_ref.py compares the output
 * with Python's zoneinfo. A name that does not open prints "error MSG". */
#include "tz.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, bad = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (int a = 1; a < argc; a++) {
        precis_err e;
        perr_clear(&e);
        tz_zone z;
        if (tz_open_comm(MPI_COMM_WORLD, "zone", argv[a], &z, &e)) {
            if (rank == 0) printf("error %s\n", e.msg);
            continue;
        }
        /* every rank's table equals rank 0's */
        uint64_t h = 1469598103934665603ULL;
        for (int i = 0; i < z.n; i++) h = (h ^ (uint64_t)z.start[i] ^ ((uint64_t)(uint32_t)z.off[i] << 17)) * 1099511628211ULL;
        uint64_t lo = h, hi = h;
        MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
        if (lo != hi) bad = 1;
        if (rank == 0) {
            printf("zone %s %d %s\n", z.name, z.n, z.version);
            for (int i = 0; i < z.n; i++) printf("%lld %d\n", (long long)z.start[i], z.off[i]);
        }
        tz_close(&z);
    }
    if (rank == 0 && bad) printf("ranks differ\n");
    MPI_Finalize();
    return bad;
}
