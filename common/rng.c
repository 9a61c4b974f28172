/* rng.c - Philox4x64-10 wrapped as a gsl_rng_type. */
#include "rng.h"

#include <Random123/philox.h>
#include <string.h>

typedef struct {
    philox4x64_key_t key;
    philox4x64_ctr_t ctr;
    philox4x64_ctr_t out;
    int used; /* outputs of `out` consumed, 4 = none left */
} philox_state;

static inline uint64_t next64(philox_state *s)
{
    if (s->used == 4) {
        s->out = philox4x64(s->ctr, s->key);
        s->ctr.v[0]++;
        s->used = 0;
    }
    return s->out.v[s->used++];
}

static void ph_set(void *vs, unsigned long seed)
{
    philox_state *s = vs;
    memset(s, 0, sizeof *s);
    s->key.v[0] = (uint64_t)seed;
    s->used = 4;
}

static unsigned long ph_get(void *vs)
{
    return (unsigned long)(next64(vs) >> 32); /* 32 bits: GSL's max below */
}

static double ph_get_double(void *vs)
{
    return (double)(next64(vs) >> 11) * 0x1.0p-53; /* [0, 1) with 53 bits */
}

static const gsl_rng_type philox_type = {
    "precis-philox4x64", 0xffffffffUL, 0, sizeof(philox_state), ph_set, ph_get, ph_get_double,
};

const gsl_rng_type *rng_philox = &philox_type;

void rng_key(gsl_rng *r, uint64_t seed, uint64_t entity, uint64_t purpose)
{
    philox_state *s = r->state;
    memset(s, 0, sizeof *s);
    s->key.v[0] = seed;
    s->key.v[1] = entity;
    s->ctr.v[3] = purpose;
    s->used = 4;
}

gsl_rng *rng_new(uint64_t seed, uint64_t entity, uint64_t purpose)
{
    gsl_rng *r = gsl_rng_alloc(rng_philox);
    if (r) rng_key(r, seed, entity, purpose);
    return r;
}

uint64_t rng_u64(gsl_rng *r) { return next64(r->state); }

uint64_t rng_purpose(const char *name)
{
    /* FNV-1a 64: a stable tag from a readable name */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}
