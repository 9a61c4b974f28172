/* rng.h - counter-based random streams: Philox4x64-10 (Random123) as a gsl_rng.
 *
 * DESIGN
 * A stream is keyed by (seed, entity, purpose), all three full 64-bit values:
 * key = {seed, entity}, counter = {i, 0, 0, purpose}. The i-th block of four
 * 64-bit outputs is philox(counter, key), so a stream's draws depend only on
 * its key, never on the rank that draws them or on what other streams did.
 * The generator is a gsl_rng_type, so every GSL distribution can draw from
 * it. gsl_rng_set() would keep only an unsigned long; use rng_key() instead.
 * Not collective. Not thread-safe per gsl_rng (use one per thread).
 */
#ifndef PRECIS_RNG_H
#define PRECIS_RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

extern const gsl_rng_type *rng_philox;

/* Allocate a stream keyed by (seed, entity, purpose). Returns NULL when out
 * of memory. Free with gsl_rng_free(). */
gsl_rng *rng_new(uint64_t seed, uint64_t entity, uint64_t purpose);

/* Re-key an existing philox gsl_rng and rewind it to its start. Cheap: use it
 * to move one gsl_rng from entity to entity in a loop. Can't fail. */
void rng_key(gsl_rng *r, uint64_t seed, uint64_t entity, uint64_t purpose);

/* Next raw 64-bit output of a philox gsl_rng. Can't fail. */
uint64_t rng_u64(gsl_rng *r);

/* SplitMix64 finaliser: a fast bijective 64-bit mix, for hashing ids and
 * combining keys into stream entities. Can't fail. */
static inline uint64_t rng_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Purpose tags: stable small integers; never reuse one for another purpose. */
uint64_t rng_purpose(const char *name);

#endif
