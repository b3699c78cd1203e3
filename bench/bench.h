/*
 * bench.h - the engine behind `ipckit bench`.  A coordinator makes the
 * endpoints, forks a driver and a server (pinned to different CPUs), and
 * the two run the same loops (loop.c) over either ipckit (ipk.c) or the
 * bare system calls of the same mechanism (raw/).  run.c repeats and
 * summarises; json.c, svg.c, html.c and table.c write the results.
 */
#ifndef IPK_BENCH_H
#define IPK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#define BENCH_SCHEMA "ipckit-bench/1"
#define BENCH_MAXSIZES 8
#define BENCH_MIN_SIZE 48   /* room for the header of control messages */
#define BENCH_LOSS_OK 0.001 /* datagram loss a reported rate may have */

/* One end of a measured pair, ipckit's or raw; ctx belongs to ops. */
struct bench_ops {
	int (*send)(void *ctx, const void *buf, size_t len);
	/* ms -1 blocks; else waits at most ms (-ETIMEDOUT). */
	ssize_t (*recv)(void *ctx, void *buf, size_t cap, int ms);
	/* How many went, or -errno; NULL: the mechanism has no such call. */
	int (*send_batch)(void *ctx, const struct iovec *iov, int n);
	/* Zero-copy, NULL where the mechanism has none: room for len bytes
	 * in place (waits as send does), then sent; the next message in
	 * place (waits as recv does), then let go. */
	int (*reserve)(void *ctx, size_t len, void **ptr);
	int (*commit)(void *ctx, size_t len);
	int (*peek)(void *ctx, const void **ptr, size_t *len, int ms);
	int (*release)(void *ctx);
};

struct bench_link {
	const struct bench_ops *ops;
	void *ctx;
	int timeout; /* ms of every data-path wait, -1 forever */
	bool lossy;  /* datagrams may be dropped (udp) */
};

/* What one run measures; the names are in bench_metric_names. */
enum bench_metric {
	BM_P50,
	BM_P90,
	BM_P99,
	BM_P999,
	BM_MAX,
	BM_RTT_CPU,   /* us of CPU (both processes) per round trip */
	BM_RTT_CSW,   /* context switches per round trip */
	BM_RTT_CORES, /* rtt_cpu over the median round trip: CPUs busy */
	BM_MSGS,      /* one-way messages received per second */
	BM_MBPS,
	BM_CPU, /* us of CPU per one-way message */
	BM_CSW,
	BM_LOSS,
	BM_PACED, /* the paced send rate, 0 unpaced */
	BM_BMSGS, /* the same with ipk_send_batch / the raw batch call */
	BM_BMBPS,
	BM_BCPU,
	BM_BCSW,
	BM_BLOSS,
	BM_GAP_P50, /* round trip after --gap ms idle */
	BM_GAP_MAX,
	BM_IDLE_CPU, /* server's CPU share while idle, percent */
	BM_ZMSGS,    /* one way, zero-copy (reserve/peek); NAN: not run */
	BM_ZMBPS,    /* the size times that rate: bytes loaned, not copied */
	BM_ZCPU,
	BM_ZCSW,
	BM_N
};

extern const char *const bench_metric_names[BM_N];

struct bench_run {
	double v[BM_N];
	int err;
};

struct bench_params {
	size_t sizes[BENCH_MAXSIZES];
	int nsizes;
	int rtts;       /* round trips timed, after a warm-up */
	int count;      /* one-way messages per phase */
	int phase_ms;   /* no phase runs longer (0: no cap) */
	int repeat;     /* runs of each row, ipckit and raw interleaved */
	int timeout_ms; /* of the ipckit rows; -1 forever */
	int gap_ms;     /* wake-up after this idle time; 0 not measured */
	bool quick;
};

/* One measurement: a transport (or its raw twin) at one size. */
struct bench_case {
	size_t size;
	int rtts, count, phase_ms, gap_ms, timeout;
	bool zc;      /* run the zero-copy phase (both sides have the calls) */
	int zc_count; /* its messages: they are loaned, not copied */
};

struct bench_opts {
	struct bench_params p;
	const char *only;  /* comma-separated transport names */
	const char *redis; /* --redis URL: the redis row's server */
	const char *svg, *html;
	bool json, csv, help;
};

/* 0; 1 after --help; -1 with a message in err. */
int bench_args(int argc, char **argv, struct bench_opts *o, char *err,
               size_t errlen);
extern const char bench_usage[];

/* Percentile q (0..1) of the sorted v[0..n): nearest rank. */
double bench_pct(const double *v, int n, double q);
/* Sort v and set p50, p90, p99, p99.9 and max. */
void bench_percentiles(double *v, int n, double out[5]);
/* Median, min and max of v[0..n) (v is sorted). */
void bench_summary(double *v, int n, double *med, double *min, double *max);
double bench_now_us(void);

/* The two processes: driver (role 0) and server (role 1). */
void bench_serve(const struct bench_link *l, size_t size);
int bench_drive(const struct bench_link *l, const struct bench_case *c,
                struct bench_run *r);
/* Fork driver and server, pinned; open(setup, role, link) in each. */
typedef int (*bench_open_fn)(void *setup, int role, struct bench_link *l);
int bench_fork_pair(bench_open_fn open, void *setup, const struct bench_case *c,
                    struct bench_run *r);
/* The CPUs the driver and server run on (equal: one CPU). */
void bench_cpus(int *a, int *b);

#endif
