/*
 * run.h - a whole bench run: the rows (each ipckit row next to its raw
 * row), the repeats and their medians, the machine and how busy it was,
 * and the writers of the results (table, JSON, CSV, SVG, HTML).
 */
#ifndef IPK_BENCH_RUN_H
#define IPK_BENCH_RUN_H

#include "bench.h"
#include "targets.h"

#include <signal.h>

struct bench_machine {
	char cpu[128], kernel[200];
	int ncpu;
	double load[3];
	unsigned long long busy, steal, total; /* jiffies since boot */
	double at;                             /* seconds since the epoch */
};

struct bench_row {
	const struct bench_target *t;
	bool raw;
	size_t size;
	int timeout;
	int runs; /* repeats that succeeded */
	double med[BM_N], min[BM_N], max[BM_N];
	int err;        /* when no repeat succeeded */
	char note[160]; /* a kernel limit, spinning, loss */
	int base;       /* an ipckit row's raw row; -1 for raw rows */
	struct bench_run *reps;
};

struct bench_report {
	struct bench_params p;
	struct bench_machine start, end;
	double others_pct, steal_pct, seconds;
	int cpu_a, cpu_b;
	struct bench_row *rows;
	int nrows;
	char warn[200];
};

/* sysinfo.c */
void bench_machine(struct bench_machine *m);
/* Load, steal and other processes' CPU between start and end. */
void bench_conditions(struct bench_report *rep);
/* Two lines: machine, kernel, CPUs, time, pinning; load, steal. */
const char *bench_describe(const struct bench_report *rep, char *buf, size_t n);

/* limits.c: the kernel limit that stops size (err 0: before trying), or
 * NULL; an error of a run otherwise mapped to its limit where known. */
const char *bench_limit(const struct bench_target *t, size_t size, int err,
                        char *buf, size_t n);

/* ipk.c, raw/common.c: one run of a row. */
int bench_ipk_run(const struct bench_target *t, const struct bench_case *c,
                  struct bench_run *r);

/* run.c */
int bench_plan(const struct bench_opts *o, struct bench_report *rep);
void bench_run(struct bench_report *rep, bool progress,
               volatile sig_atomic_t *stop);
void bench_free(struct bench_report *rep);
/* Row i's median of m over its raw row's (0 when either is missing). */
double bench_ratio(const struct bench_report *rep, int i, enum bench_metric m);
bool bench_spins(const struct bench_row *row);
/* What a reader must know about row i (limit, spinning, loss...). */
const char *bench_note(const struct bench_report *rep, int i, char *buf,
                       size_t n);
/* "-1" as "none", else "1000 ms". */
const char *bench_timeout_str(int timeout, char *buf, size_t n);

/* The writers; bench_size_str gives 64, 4K, 1M. */
const char *bench_size_str(size_t size, char *buf, size_t n);
void bench_table(FILE *f, const struct bench_report *rep);
void bench_json(FILE *f, const struct bench_report *rep);
void bench_csv(FILE *f, const struct bench_report *rep);
void bench_svg(FILE *f, const struct bench_report *rep);
/* s with & < > " escaped for XML and HTML. */
void bench_xml_str(FILE *f, const char *s);
void bench_html(FILE *f, const struct bench_report *rep);

#endif
