/* main.c - precis-kmeans entry point. */
#include "kmeans.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rc = kmeans_run(argc, argv, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
