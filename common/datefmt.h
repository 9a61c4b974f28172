/* datefmt.h - date and date-time formats of raw exports, and their vote.
 *
 * DESIGN
 * Formats, in tie-break order: DF_ISO (YYYY-MM-DD, optionally followed by
 * 'T' or ' ' and HH:MM[:SS[.fff]], optionally 'Z' or +hh:mm/-hh:mm),
 * DF_YMD8 (YYYYMMDD), DF_SLASH (YYYY/MM/DD, optional " HH:MM[:SS]") and
 * DF_EPOCH (integer seconds since 1970, 9-11 digits, optional sign).
 * A value without an explicit offset is local time in the job's --tz
 * (common/tz: a fixed offset or a named zone, with its rule for the local
 * times that clocks skip or repeat). Parsing is pure; the vote (which format
 * parses most values of a column, over all ranks) is the caller's allreduce.
 * The formats exclude each other (a value parses in one at most; test_misc
 * checks it), and precis-clean counts its vote while parsing because of
 * that: a new format must keep it so.
 */
#ifndef PRECIS_DATEFMT_H
#define PRECIS_DATEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

enum { DF_ISO = 0, DF_YMD8, DF_SLASH, DF_EPOCH, DF_N };

extern const char *const datefmt_names[DF_N];

/* Parse s[0..len) in format f; values without an offset are local times in
 * tz (NULL: UTC). Returns -1, or *ts in UTC seconds and how the local time
 * converted: TZ_EXACT (also for epoch and explicit offsets), TZ_GAP or
 * TZ_FOLD (tz.h). */
int datefmt_parse(int f, const char *s, size_t len, const tz_zone *tz, int64_t *ts);

/* Format index from a name ("iso", "yyyymmdd", "yyyy/mm/dd", "epoch"), or -1. */
int datefmt_from_name(const char *name);

/* "UTC", "Z" or [+-]HH[:MM] -> seconds east of UTC. Returns 0 or -1. */
int datefmt_tz_offset(const char *tz, int64_t *off);

#endif
