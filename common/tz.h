/* tz.h - the time zone of local times in raw exports: a fixed offset or a
 * named zone of the system's time zone database.
 *
 * DESIGN
 * A zone is a table of intervals of UTC seconds, each with one offset east
 * of UTC: one interval for "UTC" or a fixed +HH:MM, one per change of offset
 * for a named zone ("Europe/Berlin"), from 1899-12-30 to 2100-01-03 (the
 * span precis-clean accepts, and two days either side). The table of a named
 * zone is read off the C library's localtime_r with TZ set to the zone's
 * file under $TZDIR (default /usr/share/zoneinfo): sampled every 12 hours,
 * and each change found to the second by bisection. No two changes of
 * offset in the database are closer than four days (tests/mpi checks the
 * tables of many zones against Python's zoneinfo), so none is missed.
 *
 * Local to UTC follows PEP 495's fold=0, as Python's zoneinfo and Java's
 * ZonedDateTime (so Spark) do: a local time that happens twice (the hour
 * after clocks go back) is the earlier instant; a local time that never
 * happens (the hour clocks skip) is read with the offset from before the
 * change, so 02:30 on a spring-forward night at +01:00 -> +02:00 becomes
 * 01:30 UTC (03:30 local). tz_to_utc says which of the three cases it was.
 *
 * tz_open_comm builds the table on rank 0 only and broadcasts it, so every
 * rank converts with the same table even when nodes' databases differ.
 * Lookups are pure and not collective. Most take one load from a table per
 * day (about 4 ns); days within 52 hours of a change search the intervals.
 */
#ifndef PRECIS_TZ_H
#define PRECIS_TZ_H

#include "check.h"

#include <mpi.h>
#include <stdint.h>

typedef struct tz_zone {
    char name[64];      /* as given */
    char version[32];   /* the database's version ("2025b") for a named zone, else "" */
    int named;          /* 1: a zone of the database */
    int n;              /* intervals, >= 1 */
    int64_t *start;     /* UTC second each interval starts; start[0] = INT64_MIN */
    int32_t *off;       /* its offset, seconds east of UTC */
    /* Day tables of a named zone, for lookups without a search: for day
     * day0 + i (days since 1970), uday[i] is the interval holding all of
     * that UTC day and lday[i] the one that every local time of that local
     * day converts to with no other candidate; TZ_NODAY where none does
     * (days near a change). ndays = 0 without tables. */
    int64_t day0;
    int ndays;
    uint16_t *uday, *lday;
} tz_zone;

#define TZ_NODAY 0xffffu

enum { TZ_EXACT = 0, TZ_GAP = 1, TZ_FOLD = 2 };

/* "UTC", "Z", [+-]HH[:MM] or a zone name. Returns 0, or -1 with msg set
 * (it never names more than the spec). Not collective. */
int tz_open(const char *spec, tz_zone *z, char *msg, size_t cap);

/* Collective: rank 0 opens spec and broadcasts the table; on failure every
 * rank returns -1 with code PRECIS_EXIT_USAGE and "<what>: <message>". */
int tz_open_comm(MPI_Comm comm, const char *what, const char *spec, tz_zone *z, precis_err *e);

void tz_close(tz_zone *z);

/* Index of the interval holding UTC second t. */
int tz_interval(const tz_zone *z, int64_t t);

/* floor(t / 86400) - z->day0, as an index that is out of range when below */
static inline uint64_t tz_day_index(const tz_zone *z, int64_t t)
{
    int64_t d = t / 86400 - (t % 86400 < 0);
    return (uint64_t)(d - z->day0);
}

/* Offset east of UTC at UTC second t; z == NULL is UTC. */
static inline int64_t tz_offset_at(const tz_zone *z, int64_t t)
{
    if (!z) return 0;
    if (z->n == 1) return z->off[0];
    uint64_t d = tz_day_index(z, t);
    if (d < (uint64_t)z->ndays && z->uday[d] != TZ_NODAY) return z->off[z->uday[d]];
    return z->off[tz_interval(z, t)];
}

/* The local calendar day (days since 1970-01-01) of UTC second t. */
static inline int64_t tz_local_day(const tz_zone *z, int64_t t)
{
    int64_t l = t + tz_offset_at(z, t);
    return l / 86400 - (l % 86400 < 0);
}

/* Local wall-clock seconds (days * 86400 + seconds of day) to UTC, by the
 * rule above; returns TZ_EXACT, TZ_GAP or TZ_FOLD. z == NULL is UTC. */
int tz_to_utc_slow(const tz_zone *z, int64_t local, int64_t *utc);
static inline int tz_to_utc(const tz_zone *z, int64_t local, int64_t *utc)
{
    if (!z || z->n == 1) {
        *utc = local - (z ? z->off[0] : 0);
        return TZ_EXACT;
    }
    uint64_t d = tz_day_index(z, local);
    if (d < (uint64_t)z->ndays && z->lday[d] != TZ_NODAY) {
        *utc = local - z->off[z->lday[d]];
        return TZ_EXACT;
    }
    return tz_to_utc_slow(z, local, utc);
}

#endif
