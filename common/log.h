/* log.h - levelled logging for MPI jobs, plain or one JSON object per line.
 *
 * DESIGN
 * INFO and above print on rank 0 only; DEBUG prints on every rank, prefixed
 * "[rank r]"; ERROR prints on the calling rank (the job's top level decides
 * who calls it). With --log-json each message is one JSON object per line:
 * {"ts":..., "level":..., "rank":..., "job":..., "msg":...}. Logs go to
 * stderr. Results never go to the log. None of these functions is collective.
 */
#ifndef PRECIS_LOG_H
#define PRECIS_LOG_H

#include <stdint.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;

/* Set up logging for this process. `job` is copied. This function can't fail. */
void log_init(const char *job, int rank, log_level level, int json);

/* Parse "debug", "info", "warn" or "error". Returns 0, or -1 if unknown. */
int log_parse_level(const char *s, log_level *out);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print one message on every rank regardless of the rank-0 rule. */
void log_all(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Progress of a long phase, reported on rank 0 at most every `interval` s:
 * rows/s, percent of `total` and ETA. `total` may be 0 when unknown. */
typedef struct log_progress {
    char phase[64];
    int64_t total;
    double start, last, interval;
} log_progress;

void log_progress_start(log_progress *p, const char *phase, int64_t total);
/* Report `done` rows so far; prints only when the interval has passed. */
void log_progress_update(log_progress *p, int64_t done);
/* Final line with the overall rate. */
void log_progress_end(log_progress *p, int64_t done);

/* Wall-clock seconds (monotonic). This function can't fail. */
double log_now(void);

#endif
