/* main.c - precis-als entry point. */
#include "als.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rc = als_run(argc, argv, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
