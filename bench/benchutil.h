/*
 * benchutil.h - what every benchmark needs: the thread's CPU time (the
 * machine is shared, so wall time would count other jobs' turns) and a
 * growable text buffer for generated input (signature files).
 */
#ifndef HS_BENCHUTIL_H
#define HS_BENCHUTIL_H

#include <stddef.h>

double bench_cpu_seconds(void);

typedef struct bench_text {
    char *buf;
    size_t len, cap;
} bench_text;

/* Appends printf-style; exits the benchmark when memory runs out. */
void bench_put(bench_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
