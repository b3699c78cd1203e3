/*
 * run.c - plans the rows (each transport at each size, its raw row
 * beside it), runs the repeats with ipckit and raw interleaved (the
 * order alternating from one repeat to the next), and summarises each
 * row as medians with min and max.
 */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_RTT_BYTES (128u << 20)    /* round trips: at most this much */
#define RUN_ONEWAY_BYTES (512u << 20) /* one way: at most this much */
#define RUN_ZC_TIMES 10 /* zero-copy: --count times this (no bytes move) */

static bool
run_wanted(const char *only, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = only; s && *s; s += strcspn(s, ",")) {
		s += *s == ',';
		if (!strncmp(s, name, n) && (s[n] == ',' || s[n] == '\0'))
			return true;
	}
	return !only;
}

static void
run_add(struct bench_report *rep, const struct bench_target *t, size_t size,
        int timeout, bool raw)
{
	struct bench_row *row = &rep->rows[rep->nrows++];
	memset(row, 0, sizeof(*row));
	row->t = t;
	row->raw = raw;
	row->size = size;
	row->timeout = timeout;
	row->base = raw ? -1 : rep->nrows;
	row->reps = calloc((size_t)rep->p.repeat, sizeof(*row->reps));
	const char *lim = bench_limit(t, size, 0, row->note, sizeof(row->note));
	row->err = lim ? -EMSGSIZE : 0;
}

int
bench_plan(const struct bench_opts *o, struct bench_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->p = o->p;
	size_t max = 2 * BENCH_NTARGETS * (size_t)o->p.nsizes;
	rep->rows = calloc(max, sizeof(*rep->rows));
	if (!rep->rows)
		return -ENOMEM;
	for (int s = 0; s < o->p.nsizes; s++) {
		for (size_t i = 0; i < BENCH_NTARGETS; i++) {
			const struct bench_target *t = &bench_targets[i];
			if (!run_wanted(o->only, t->name) ||
			    (t->raw->server && t->raw->server(o) < 0))
				continue;
			if (t->timeout && o->p.timeout_ms >= 0)
				continue; /* every row is timed already */
			int tmo = t->timeout ? t->timeout : o->p.timeout_ms;
			run_add(rep, t, o->p.sizes[s], tmo, false);
			run_add(rep, t, o->p.sizes[s], tmo, true);
		}
	}
	bench_cpus(&rep->cpu_a, &rep->cpu_b);
	if (rep->nrows)
		return 0;
	free(rep->rows); /* nothing wanted: the caller frees nothing */
	rep->rows = NULL;
	return -ENOENT;
}

static struct bench_case
run_case(const struct bench_params *p, const struct bench_row *row)
{
	size_t rt = RUN_RTT_BYTES / row->size,
	       ow = RUN_ONEWAY_BYTES / row->size;
	struct bench_case c = {.size = row->size,
	                       .rtts = p->rtts,
	                       .count = p->count,
	                       .phase_ms = p->phase_ms,
	                       .gap_ms = p->gap_ms,
	                       .timeout = row->timeout,
	                       .zc = row->t->raw->zero_copy,
	                       .zc_count = p->count * RUN_ZC_TIMES};
	if ((size_t)c.rtts > rt)
		c.rtts = rt < 100 ? 100 : (int)rt;
	if ((size_t)c.count > ow)
		c.count = ow < 200 ? 200 : (int)ow;
	return c;
}

static void
run_one(struct bench_report *rep, struct bench_row *row, int k)
{
	if (row->err == -EMSGSIZE && row->note[0])
		return; /* a kernel limit: nothing to measure */
	if (k > 0 && row->runs == 0 && row->reps[0].err)
		return; /* failed the first time: do not insist */
	struct bench_case c = run_case(&rep->p, row);
	struct bench_run *r = &row->reps[k];
	if (row->raw)
		bench_raw_run(row->t->raw, &c, r);
	else
		bench_ipk_run(row->t, &c, r);
	if (r->err == 0)
		row->runs++;
	else
		row->err = r->err;
}

static void
run_progress(const struct bench_report *rep, int done, int total,
             const struct bench_row *row, int k)
{
	fprintf(stderr, "\r\033[K[%d/%d] %s %zu B %s, repeat %d of %d", done,
	        total, row->t->name, row->size, row->raw ? "raw" : "ipckit",
	        k + 1, rep->p.repeat);
	fflush(stderr);
}

/* Repeat k of every pair of rows, the raw row first every other time. */
static void
run_repeat(struct bench_report *rep, int k, bool progress, int *done,
           volatile sig_atomic_t *stop)
{
	int total = rep->nrows * rep->p.repeat;
	for (int i = 0; i + 1 < rep->nrows && !(stop && *stop); i += 2) {
		int first = i + (k % 2);
		for (int j = 0; j < 2; j++) {
			struct bench_row *row =
			        &rep->rows[j ? 2 * i + 1 - first : first];
			if (progress)
				run_progress(rep, ++*done, total, row, k);
			run_one(rep, row, k);
		}
	}
}

static void
run_summarise(const struct bench_report *rep, struct bench_row *row)
{
	double v[64];
	for (int m = 0; m < BM_N; m++) {
		int n = 0;
		for (int k = 0; k < rep->p.repeat && n < 64; k++)
			if (row->reps[k].err == 0 && row->runs)
				v[n++] = row->reps[k].v[m];
		bench_summary(v, n, &row->med[m], &row->min[m], &row->max[m]);
	}
	if (row->runs)
		row->err = 0;
	else if (row->err && !row->note[0])
		bench_limit(row->t, row->size, row->err, row->note,
		            sizeof(row->note));
}

/*
 * An untimed pipe ping-pong first: on a VM whose CPUs idled, the first
 * row measured otherwise pays for waking them (p50 20x its raw row).
 */
static void
run_warm_up(void)
{
	struct bench_case c = {.size = 64,
	                       .rtts = 5000,
	                       .count = 5000,
	                       .phase_ms = 100,
	                       .timeout = -1};
	struct bench_run r;
	bench_raw_run(&raw_pipe, &c, &r);
}

void
bench_run(struct bench_report *rep, bool progress, volatile sig_atomic_t *stop)
{
	int done = 0;
	bench_machine(&rep->start);
	run_warm_up();
	for (int k = 0; k < rep->p.repeat; k++)
		run_repeat(rep, k, progress, &done, stop);
	if (progress)
		fputs("\r\033[K", stderr);
	bench_machine(&rep->end);
	for (int i = 0; i < rep->nrows; i++)
		run_summarise(rep, &rep->rows[i]);
	bench_conditions(rep);
}

void
bench_free(struct bench_report *rep)
{
	for (int i = 0; i < rep->nrows; i++)
		free(rep->rows[i].reps);
	free(rep->rows);
	rep->rows = NULL;
}

double
bench_ratio(const struct bench_report *rep, int i, enum bench_metric m)
{
	const struct bench_row *row = &rep->rows[i];
	if (row->base < 0 || !row->runs || !rep->rows[row->base].runs)
		return 0;
	double raw = rep->rows[row->base].med[m];
	return raw > 0 ? row->med[m] / raw : 0;
}

bool
bench_spins(const struct bench_row *row)
{
	/* Busy for longer than the round trip took, without sleeping. */
	return row->runs &&
	       ((row->med[BM_RTT_CORES] > 1 && row->med[BM_RTT_CSW] < 1) ||
	        row->med[BM_IDLE_CPU] > 5);
}

const char *
bench_timeout_str(int timeout, char *buf, size_t n)
{
	if (timeout < 0)
		snprintf(buf, n, "none");
	else
		snprintf(buf, n, "%d ms", timeout);
	return buf;
}

static void __attribute__((format(printf, 3, 4)))
run_append(char *buf, size_t n, const char *fmt, ...)
{
	size_t o = strlen(buf);
	if (o + 3 >= n)
		return;
	if (o)
		buf[o++] = ';', buf[o++] = ' ';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + o, n - o, fmt, ap);
	va_end(ap);
}

const char *
bench_note(const struct bench_report *rep, int i, char *buf, size_t n)
{
	const struct bench_row *row = &rep->rows[i];
	const struct raw_mech *m = row->t->raw;
	buf[0] = '\0';
	if (!row->runs) {
		snprintf(buf, n, "%s: %s", row->note[0] ? "limit" : "failed",
		         row->note[0] ? row->note : strerror(-row->err));
		return buf;
	}
	if (bench_spins(row))
		run_append(buf, n,
		           "spins: %.1f us CPU per round trip, %.2f context "
		           "switches",
		           row->med[BM_RTT_CPU], row->med[BM_RTT_CSW]);
	if (row->med[BM_IDLE_CPU] > 1)
		run_append(buf, n, "%.0f%% of a CPU while idle",
		           row->med[BM_IDLE_CPU]);
	if (m == &raw_udp)
		run_append(buf, n, "loss %.3f%% / batch %.3f%%",
		           row->med[BM_LOSS] * 100, row->med[BM_BLOSS] * 100);
	if (m == &raw_udp && row->med[BM_PACED] > 0)
		run_append(buf, n, "paced at %.0f msg/s", row->med[BM_PACED]);
	if (row->raw && (m == &raw_mq || m == &raw_sysvmsg || m == &raw_shm))
		run_append(buf, n, "no batch call");
	if (m == &raw_sysvmsg && row->timeout >= 0)
		run_append(buf, n, "%s",
		           row->raw ? "blocks: System V has no timed receive"
		                    : "timed wait: a thread of the channel "
		                      "blocks in "
		                      "msgrcv, an eventfd wakes the receive");
	return buf;
}
