/*
 * svg.c - the chart: round-trip percentiles (p50 dot, p90/p99/p99.9
 * ticks, max cross) per transport at the first size on a log axis, then
 * one-way MB/s of each size per transport on a log axis; ipckit lanes in
 * colour, their raw lanes in grey.  Plain SVG 1.1 a browser opens.
 */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SVG_W 960
#define SVG_X0 170
#define SVG_X1 (SVG_W - 30)
#define SVG_LANE 16
#define SVG_HEAD 50

static const char *const svg_colors[] = {"#1f77b4", "#d62728", "#2ca02c",
                                         "#9467bd", "#ff7f0e", "#8c564b",
                                         "#e377c2", "#17becf"};

struct svg_scale {
	double lo, hi; /* decades */
};

void
bench_xml_str(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			putc(*s, f);
	}
}

static double
svg_x(const struct svg_scale *s, double v)
{
	if (v <= s->lo)
		return SVG_X0;
	double k = (log10(v) - log10(s->lo)) / (log10(s->hi) - log10(s->lo));
	return SVG_X0 + k * (SVG_X1 - SVG_X0);
}

static struct svg_scale
svg_decades(double lo, double hi)
{
	if (!(lo > 0) || !(hi > lo))
		lo = 1, hi = 10;
	return (struct svg_scale){pow(10, floor(log10(lo))),
	                          pow(10, ceil(log10(hi)))};
}

/* Grid lines and labels of a log axis over lanes from y0 to y1. */
static void
svg_axis(FILE *f, const struct svg_scale *s, int y0, int y1, const char *unit)
{
	for (double d = s->lo; d <= s->hi * 1.001; d *= 10) {
		for (int k = 1; k < 10 && d * k <= s->hi * 1.001; k++) {
			double x = svg_x(s, d * k);
			fprintf(f,
			        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			        "y2=\"%d\" stroke=\"%s\"/>\n",
			        x, y0, x, y1, k == 1 ? "#bbb" : "#eee");
			if (k == 1)
				fprintf(f,
				        "<text x=\"%.1f\" y=\"%d\" "
				        "text-anchor=\"middle\">%g</text>\n",
				        x, y1 + 14, d);
		}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
	        SVG_X1, y1 + 28, unit);
}

static void
svg_label(FILE *f, const struct bench_row *row, int y)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>", SVG_X0 - 8,
	        y + 4, row->raw ? " fill=\"#777\"" : "");
	bench_xml_str(f, row->t->name);
	if (row->timeout >= 0)
		fprintf(f, " (%d ms)", row->timeout);
	fputs(row->raw ? " raw" : "", f);
	fputs("</text>\n", f);
}

static void
svg_latency_lane(FILE *f, const struct svg_scale *s, const double *v, int y,
                 const char *c)
{
	static const int tick[3] = {4, 5, 6};
	fprintf(f,
	        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
	        "stroke=\"%s\" stroke-opacity=\"0.4\"/>\n",
	        svg_x(s, v[BM_P50]), y, svg_x(s, v[BM_MAX]), y, c);
	for (int k = 0; k < 3; k++) {
		double x = svg_x(s, v[BM_P90 + k]);
		fprintf(f,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		        "stroke=\"%s\" stroke-width=\"2\"/>\n",
		        x, y - tick[k], x, y + tick[k], c);
	}
	double x = svg_x(s, v[BM_MAX]);
	fprintf(f, "<path d=\"M%.1f %dl6 6m0 -6l-6 6\" stroke=\"%s\"/>\n",
	        x - 3, y - 3, c);
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\"/>\n",
	        svg_x(s, v[BM_P50]), y, c);
}

/* Panel 1; returns the y below it. */
static int
svg_latency(FILE *f, const struct bench_report *rep, int y)
{
	size_t size = rep->p.sizes[0];
	double lo = INFINITY, hi = 0;
	for (int i = 0; i < rep->nrows; i++) {
		const struct bench_row *r = &rep->rows[i];
		if (r->runs && r->size == size)
			lo = fmin(lo, r->med[BM_P50]),
			hi = fmax(hi, r->med[BM_MAX]);
	}
	struct svg_scale s = svg_decades(lo, hi);
	char sz[24];
	fprintf(f,
	        "<text x=\"10\" y=\"%d\" font-weight=\"bold\">Round trip "
	        "at %s B: p50 (dot), p90, p99, p99.9 (ticks), max (cross)"
	        "</text>\n",
	        y, bench_size_str(size, sz, sizeof(sz)));
	int y0 = y + 10, at = y0 + SVG_LANE;
	for (int i = 0; i < rep->nrows; i++) {
		const struct bench_row *r = &rep->rows[i];
		if (!r->runs || r->size != size)
			continue;
		svg_label(f, r, at);
		svg_latency_lane(f, &s, r->med, at,
		                 r->raw ? "#888" : "#1f77b4");
		at += SVG_LANE;
	}
	svg_axis(f, &s, y0, at, "microseconds (log)");
	return at + 50;
}

static int
svg_size_index(const struct bench_report *rep, size_t size)
{
	for (int k = 0; k < rep->p.nsizes; k++)
		if (rep->p.sizes[k] == size)
			return k;
	return 0;
}

/* Panel 2: one lane per transport and kind, a dot per size. */
static int
svg_throughput(FILE *f, const struct bench_report *rep, int y)
{
	double lo = INFINITY, hi = 0;
	for (int i = 0; i < rep->nrows; i++)
		if (rep->rows[i].runs)
			lo = fmin(lo, rep->rows[i].med[BM_MBPS]),
			hi = fmax(hi, rep->rows[i].med[BM_MBPS]);
	struct svg_scale s = svg_decades(lo, hi);
	fprintf(f,
	        "<text x=\"10\" y=\"%d\" font-weight=\"bold\">One way, "
	        "MB/s by message size:</text>\n",
	        y);
	for (int k = 0; k < rep->p.nsizes; k++) {
		char sz[24];
		fprintf(f,
		        "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/>"
		        "<text x=\"%d\" y=\"%d\">%s B</text>\n",
		        300 + 80 * k, y - 4, svg_colors[k % 8], 308 + 80 * k, y,
		        bench_size_str(rep->p.sizes[k], sz, sizeof(sz)));
	}
	int y0 = y + 10, at = y0;
	/* The rows of the first size give the lanes; other sizes follow. */
	int per = rep->nrows / (rep->p.nsizes ? rep->p.nsizes : 1);
	for (int lane = 0; lane < per; lane++) {
		at += SVG_LANE;
		svg_label(f, &rep->rows[lane], at);
		for (int i = lane; i < rep->nrows; i += per) {
			const struct bench_row *r = &rep->rows[i];
			if (!r->runs)
				continue;
			fprintf(f,
			        "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" "
			        "fill=\"%s\" fill-opacity=\"%s\"/>\n",
			        svg_x(&s, r->med[BM_MBPS]), at,
			        svg_colors[svg_size_index(rep, r->size) % 8],
			        r->raw ? "0.4" : "1");
		}
	}
	svg_axis(f, &s, y0, at + SVG_LANE / 2, "MB/s (log)");
	return at + 50;
}

void
bench_svg(FILE *f, const struct bench_report *rep)
{
	/* Draw once off the page to learn the height, then for real. */
	FILE *null = fopen("/dev/null", "w");
	int h = SVG_HEAD;
	if (null) {
		h = svg_throughput(null, rep, svg_latency(null, rep, h) + 20);
		fclose(null);
	}
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif"
	        "\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
	        "fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\" "
	        "font-weight=\"bold\">ipckit bench: ",
	        SVG_W, h, SVG_W, h);
	bench_xml_str(f, rep->start.cpu);
	fprintf(f, ", %d CPUs, ", rep->start.ncpu);
	bench_xml_str(f, rep->start.kernel);
	fputs("</text>\n", f);
	svg_throughput(f, rep, svg_latency(f, rep, SVG_HEAD) + 20);
	fputs("</svg>\n", f);
}
