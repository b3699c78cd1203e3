/*
 * table.c - the text table of `ipckit bench`: the machine and how busy
 * it was, then one line per row (the raw row under its ipckit row) with
 * the ratio columns, the wake-up and zero-copy blocks where they were
 * measured, and two lines on how to read it.
 */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 325k, 3.70M, 812 */
static const char *
tab_si(double v, char *buf, size_t n)
{
	if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.0fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
	return buf;
}

const char *
bench_size_str(size_t size, char *buf, size_t n)
{
	if (size >= (1u << 20) && size % (1u << 20) == 0)
		snprintf(buf, n, "%zuM", size >> 20);
	else if (size >= 1024 && size % 1024 == 0)
		snprintf(buf, n, "%zuK", size >> 10);
	else
		snprintf(buf, n, "%zu", size);
	return buf;
}

/* How far the repeats went from the median, in percent. */
static double
tab_spread(const struct bench_row *row, enum bench_metric m)
{
	double med = row->med[m];
	if (med <= 0)
		return 0;
	return fmax(row->max[m] - med, med - row->min[m]) / med * 100;
}

static void
tab_ratio(FILE *f, double r)
{
	if (r > 0)
		fprintf(f, " %6.2f", r);
	else
		fprintf(f, " %6s", "");
}

static void
tab_head(FILE *f, const struct bench_report *rep)
{
	char desc[600];
	fprintf(f, "%s\n", bench_describe(rep, desc, sizeof(desc)));
	if (rep->p.repeat > 1)
		fputs("medians of the repeats; \302\261 = how far min and max "
		      "are from them (p50, msg/s)\n",
		      f);
	if (rep->warn[0])
		fprintf(f, "%s\n", rep->warn);
	fprintf(f,
	        "\n%-10s %-7s %5s %8s %8s %8s %6s %8s %8s %6s %6s %6s "
	        "%9s %6s  %s\n",
	        "transport", "timeout", "size", "p50 us", "p99 us", "p99.9",
	        "xraw", "msg/s", "MB/s", "xraw", "cpu/m", "csw/m", "batch/s",
	        "xraw", "notes");
}

static void
tab_row(FILE *f, const struct bench_report *rep, int i)
{
	const struct bench_row *row = &rep->rows[i];
	const double *v = row->med;
	char sz[24], tmo[16], a[16], b[16], note[256];
	bench_note(rep, i, note, sizeof(note));
	fprintf(f, "%-10s %-7s %5s", row->raw ? "  raw" : row->t->name,
	        bench_timeout_str(row->timeout, tmo, sizeof(tmo)),
	        bench_size_str(row->size, sz, sizeof(sz)));
	if (!row->runs) {
		fprintf(f, "  %s\n", note);
		return;
	}
	fprintf(f, " %8.1f %8.1f %8.1f", v[BM_P50], v[BM_P99], v[BM_P999]);
	tab_ratio(f, bench_ratio(rep, i, BM_P50));
	fprintf(f, " %8s %8.1f", tab_si(v[BM_MSGS], a, sizeof(a)), v[BM_MBPS]);
	tab_ratio(f, bench_ratio(rep, i, BM_MSGS));
	fprintf(f, " %6.2f %6.2f %9s", v[BM_CPU], v[BM_CSW],
	        tab_si(v[BM_BMSGS], b, sizeof(b)));
	tab_ratio(f, bench_ratio(rep, i, BM_BMSGS));
	if (rep->p.repeat > 1)
		fprintf(f, "  \302\261%.0f%%/\302\261%.0f%%",
		        tab_spread(row, BM_P50), tab_spread(row, BM_MSGS));
	fprintf(f, "  %s\n", note);
}

static void
tab_gaps(FILE *f, const struct bench_report *rep)
{
	fprintf(f,
	        "\nround trip after %d ms idle (10 times): p50, max; "
	        "the receiver's CPU while idle\n",
	        rep->p.gap_ms);
	for (int i = 0; i < rep->nrows; i++) {
		const struct bench_row *r = &rep->rows[i];
		char sz[24];
		if (r->runs)
			fprintf(f, "%-10s %5s %9.1f us %9.1f us %6.2f%%\n",
			        r->raw ? "  raw" : r->t->name,
			        bench_size_str(r->size, sz, sizeof(sz)),
			        r->med[BM_GAP_P50], r->med[BM_GAP_MAX],
			        r->med[BM_IDLE_CPU]);
	}
}

static bool
tab_has_zc(const struct bench_row *r)
{
	return r->runs && isfinite(r->med[BM_ZMSGS]);
}

/* The rows whose ipckit and raw sides both have the zero-copy calls. */
static void
tab_zc(FILE *f, const struct bench_report *rep)
{
	fprintf(f,
	        "\nzero-copy one way (reserve/commit, peek/release): each "
	        "message loaned, only its\nheader and last byte written and "
	        "read; MB/s = the bytes loaned\n%-10s %5s %9s %9s %6s %6s "
	        "%6s\n",
	        "transport", "size", "msg/s", "MB/s", "xraw", "cpu/m", "csw/m");
	for (int i = 0; i < rep->nrows; i++) {
		const struct bench_row *r = &rep->rows[i];
		char sz[24], a[16];
		if (!tab_has_zc(r))
			continue;
		fprintf(f, "%-10s %5s %9s %9.0f", r->raw ? "  raw" : r->t->name,
		        bench_size_str(r->size, sz, sizeof(sz)),
		        tab_si(r->med[BM_ZMSGS], a, sizeof(a)),
		        r->med[BM_ZMBPS]);
		tab_ratio(f, bench_ratio(rep, i, BM_ZMSGS));
		fprintf(f, " %6.2f %6.2f", r->med[BM_ZCPU], r->med[BM_ZCSW]);
		if (rep->p.repeat > 1)
			fprintf(f, "  \302\261%.0f%%", tab_spread(r, BM_ZMSGS));
		putc('\n', f);
	}
}

void
bench_table(FILE *f, const struct bench_report *rep)
{
	tab_head(f, rep);
	for (int i = 0; i < rep->nrows; i++)
		tab_row(f, rep, i);
	if (rep->p.gap_ms > 0)
		tab_gaps(f, rep);
	for (int i = 0; i < rep->nrows; i++)
		if (tab_has_zc(&rep->rows[i])) {
			tab_zc(f, rep);
			break;
		}
	fputs("\nxraw: ipckit over the bare system calls of the same mechanism "
	      "(its raw row, same run): latency 1.30 = 30% slower;\n"
	      "msg/s 0.60 = 60% of the raw rate.  cpu/m, csw/m: CPU us and "
	      "context switches of both processes per message.\n",
	      f);
}
