/*
 * stats.c - the arithmetic of the bench: the clock, nearest-rank
 * percentiles of round-trip times, and the median with min and max of
 * repeated runs.  The metric names are the keys of the JSON schema.
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

const char *const bench_metric_names[BM_N] = {
        [BM_P50] = "rtt_p50_us",
        [BM_P90] = "rtt_p90_us",
        [BM_P99] = "rtt_p99_us",
        [BM_P999] = "rtt_p999_us",
        [BM_MAX] = "rtt_max_us",
        [BM_RTT_CPU] = "rtt_cpu_us",
        [BM_RTT_CSW] = "rtt_csw",
        [BM_RTT_CORES] = "rtt_cores_busy",
        [BM_MSGS] = "msgs_per_s",
        [BM_MBPS] = "mb_per_s",
        [BM_CPU] = "cpu_us_per_msg",
        [BM_CSW] = "csw_per_msg",
        [BM_LOSS] = "loss",
        [BM_PACED] = "paced_msgs_per_s",
        [BM_BMSGS] = "batch_msgs_per_s",
        [BM_BMBPS] = "batch_mb_per_s",
        [BM_BCPU] = "batch_cpu_us_per_msg",
        [BM_BCSW] = "batch_csw_per_msg",
        [BM_BLOSS] = "batch_loss",
        [BM_GAP_P50] = "gap_rtt_p50_us",
        [BM_GAP_MAX] = "gap_rtt_max_us",
        [BM_IDLE_CPU] = "idle_cpu_pct",
        [BM_ZMSGS] = "zc_msgs_per_s",
        [BM_ZMBPS] = "zc_mb_per_s",
        [BM_ZCPU] = "zc_cpu_us_per_msg",
        [BM_ZCSW] = "zc_csw_per_msg",
};

double
bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
stats_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double
bench_pct(const double *v, int n, double q)
{
	if (n <= 0)
		return 0;
	int k = (int)ceil(q * n) - 1;
	if (k < 0)
		k = 0;
	return v[k < n ? k : n - 1];
}

void
bench_percentiles(double *v, int n, double out[5])
{
	static const double q[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
	qsort(v, (size_t)n, sizeof(*v), stats_cmp);
	for (int i = 0; i < 5; i++)
		out[i] = bench_pct(v, n, q[i]);
}

void
bench_summary(double *v, int n, double *med, double *min, double *max)
{
	if (n <= 0) {
		*med = *min = *max = 0;
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), stats_cmp);
	*min = v[0];
	*max = v[n - 1];
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
