/*
 * bench.h - the engine behind `ipckit bench`: a parent and a child
 * process exchange messages over one transport, or over bare pipe(2)
 * system calls for the baseline measured in the same run.
 */
#ifndef IPK_BENCH_H
#define IPK_BENCH_H

#include "targets.h"

#include <stddef.h>

struct bench_params {
	size_t size; /* bytes per message */
	int rtts;    /* round trips timed */
	int count;   /* one-way messages for throughput */
};

struct bench_result {
	double p50_us, p99_us;   /* round-trip latency */
	double msgs, batch_msgs; /* one-way messages per second */
	double loss;             /* share of one-way messages lost (udp) */
	int err;                 /* negative errno when it could not run */
};

double bench_now_us(void);
/* Sort v and set r's p50 and p99. */
void bench_percentiles(double *v, int n, struct bench_result *r);

void bench_raw_pipe(const struct bench_params *p, struct bench_result *r);
void bench_target(const struct bench_target *t, const struct bench_params *p,
                  struct bench_result *r);

#endif
