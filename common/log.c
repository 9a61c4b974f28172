/* log.c - levelled logging for MPI jobs, plain or JSON lines. */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct {
    char job[64];
    int rank;
    log_level level;
    int json;
} g_log = {"precis", 0, LOG_INFO, 0};

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *job, int rank, log_level level, int json)
{
    snprintf(g_log.job, sizeof g_log.job, "%s", job ? job : "precis");
    g_log.rank = rank;
    g_log.level = level;
    g_log.json = json;
}

int log_parse_level(const char *s, log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    return -1;
}

double log_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void emit(log_level level, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (g_log.json) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        json_t *o = json_pack("{s:f, s:s, s:i, s:s, s:s}", "ts",
                              (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec,
                              "level", level_names[level], "rank", g_log.rank,
                              "job", g_log.job, "msg", msg);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) fprintf(stderr, "%s\n", s);
        free(s);
        json_decref(o);
    } else if (level == LOG_DEBUG) {
        fprintf(stderr, "[rank %d] %s: debug: %s\n", g_log.rank, g_log.job, msg);
    } else if (level == LOG_INFO) {
        fprintf(stderr, "%s: %s\n", g_log.job, msg);
    } else {
        fprintf(stderr, "%s: %s: %s\n", g_log.job, level_names[level], msg);
    }
    fflush(stderr);
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (level < g_log.level) return;
    if (level != LOG_DEBUG && g_log.rank != 0) return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void log_all(log_level level, const char *fmt, ...)
{
    if (level < g_log.level) return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void log_progress_start(log_progress *p, const char *phase, int64_t total)
{
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    p->total = total;
    p->start = p->last = log_now();
    p->interval = 2.0;
}

static void progress_print(log_progress *p, int64_t done, double now, int final)
{
    double el = now - p->start;
    double rate = el > 0 ? (double)done / el : 0.0;
    if (p->total > 0 && !final) {
        double pct = 100.0 * (double)done / (double)p->total;
        double eta = rate > 0 ? (double)(p->total - done) / rate : 0.0;
        log_msg(LOG_INFO, "%s: %lld/%lld rows (%.1f%%), %.0f rows/s, ETA %.0f s",
                p->phase, (long long)done, (long long)p->total, pct, rate, eta);
    } else {
        log_msg(LOG_INFO, "%s: %lld rows in %.2f s, %.0f rows/s", p->phase,
                (long long)done, el, rate);
    }
}

void log_progress_update(log_progress *p, int64_t done)
{
    double now = log_now();
    if (now - p->last < p->interval) return;
    p->last = now;
    progress_print(p, done, now, 0);
}

void log_progress_end(log_progress *p, int64_t done)
{
    progress_print(p, done, log_now(), 1);
}
