/* datefmt.h - date and date-time formats of raw exports, and their vote.
 *
 * DESIGN
 * Formats, in tie-break order: DF_ISO (YYYY-MM-DD, optionally followed by
 * 'T' or ' ' and HH:MM[:SS[.fff]], optionally 'Z' or +hh:mm/-hh:mm),
 * DF_YMD8 (YYYYMMDD), DF_SLASH (YYYY/MM/DD, optional " HH:MM[:SS]") and
 * DF_EPOCH (integer seconds since 1970, 9-11 digits, optional sign) and
 * DF_EPOCH_MS (milliseconds, 12-14 digits, optional sign; floored to
 * seconds).
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

/* DF_N formats take part in the vote; DF_CUSTOM is a --date-format
 * pattern (datefmt_spec), used only when given. */
enum { DF_ISO = 0, DF_YMD8, DF_SLASH, DF_EPOCH, DF_EPOCH_MS, DF_N, DF_CUSTOM = DF_N };

extern const char *const datefmt_names[DF_N];

/* Parse s[0..len) in format f; values without an offset are local times in
 * tz (NULL: UTC). Returns -1, or *ts in UTC seconds and how the local time
 * converted: TZ_EXACT (also for epoch and explicit offsets), TZ_GAP or
 * TZ_FOLD (tz.h). */
int datefmt_parse(int f, const char *s, size_t len, const tz_zone *tz, int64_t *ts);

/* A format the user names (--date-format) takes no part in a vote, so no
 * digit count has to tell epoch seconds from milliseconds or from
 * yyyymmdd: as datefmt_parse, except that epoch and epoch_ms take 1-15
 * digits, among them the values within about three years of 1970
 * (|seconds| below 10^8, |milliseconds| below 10^11) that the vote's digit
 * counts leave out. The caller's range check bounds the rest. */
int datefmt_parse_given(int f, const char *s, size_t len, const tz_zone *tz, int64_t *ts);

/* Format index from a name ("iso", "yyyymmdd", "yyyy/mm/dd", "epoch", "epoch_ms"), or -1. */
int datefmt_from_name(const char *name);

/* A strptime-style pattern for exports in other layouts ("%m/%d/%Y
 * %I:%M %p", "%d.%m.%Y %H:%M"), matched strictly and read as Python's
 * datetime.strptime reads it: %Y four digits; %y two (69-99 -> 19xx,
 * 00-68 -> 20xx); %m %d %H %I %M %S one or two (%d also space and
 * one); %f one to six (dropped);
 * %b %B English month names and %a %A day names (ignored), any case; %p
 * AM/PM with %I; %z Z or +HH[:]MM; %% a percent sign; a space matches one
 * or more spaces; anything else itself. Year, month and day are required;
 * %H and %I exclude each other. Without %z, values are local times in tz. */
#define DATEFMT_SPEC_MAX 64
typedef struct datefmt_spec {
    char text[DATEFMT_SPEC_MAX];   /* as given */
    int n;
    char op[DATEFMT_SPEC_MAX];     /* a directive letter, or 0 for the literal lit[i] */
    char lit[DATEFMT_SPEC_MAX];
    int twelve;                    /* %I: a 12-hour clock */
} datefmt_spec;

/* 1 when s[0..len) holds the first three letters of an English month
 * name (as %b reads them, any case), else 0. */
int datefmt_names_month(const char *s, size_t len);

/* Returns 0, or -1 with msg naming what is wrong. */
int datefmt_compile(const char *pattern, datefmt_spec *sp, char *msg, size_t cap);

/* As datefmt_parse, for a compiled pattern. */
int datefmt_parse_spec(const datefmt_spec *sp, const char *s, size_t len, const tz_zone *tz, int64_t *ts);

/* "UTC", "Z" or [+-]HH[:MM] -> seconds east of UTC. Returns 0 or -1. */
int datefmt_tz_offset(const char *tz, int64_t *off);

#endif
