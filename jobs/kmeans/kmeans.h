/* kmeans.h - precis-kmeans: distributed, reproducible k-means segmentation. */
#ifndef PRECIS_KMEANS_H
#define PRECIS_KMEANS_H

#include <mpi.h>

/* Run precis-kmeans with argv on comm. Returns the exit code. Collective. */
int kmeans_run(int argc, char **argv, MPI_Comm comm);

#endif
