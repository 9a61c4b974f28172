/* t_agree.c - one rank's error stops every rank with one message (nsize 1-4).
 * The last rank fails; all ranks must leave precis_agree() with -1 and the
 * failing rank's message, and exit 3 without hanging. */
#include "check.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    precis_err e;
    perr_clear(&e);
    if (perr_set(&e, 0, "x.c", 1, "unused") != -1) return 1; /* code 0 becomes 5 */
    if (e.code != PRECIS_EXIT_INTERNAL) return 1;
    perr_clear(&e);
    if (precis_agree(MPI_COMM_WORLD, &e) != 0) return 1;
    if (rank == size - 1) PERR(&e, PRECIS_EXIT_DATA, "input.csv:7: bad amount");
    int rc = precis_agree(MPI_COMM_WORLD, &e);
    char want[64];
    snprintf(want, sizeof want, "[rank %d]", size - 1);
    int ok = rc == -1 && e.code == PRECIS_EXIT_DATA && strstr(e.msg, want) && strstr(e.msg, "bad amount");
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (rank == 0) printf("agree np=%d: %s: %s\n", size, all ? "every rank stopped" : "FAILED", e.msg);
    MPI_Finalize();
    return all ? PRECIS_EXIT_DATA : 1;
}
