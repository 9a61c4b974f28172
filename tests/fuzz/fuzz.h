/* fuzz.h - what the libFuzzer targets of tests/fuzz share. */
#ifndef PRECIS_FUZZ_H
#define PRECIS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* a check that failed: say which, then abort (libFuzzer keeps the input) */
#define EXPECT(cond)                                                                  \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

#endif
