/*
 * html.c - the one-page report: the machine and how busy it was, the
 * table (medians, ratios to the raw row, notes) and the chart inline.
 */
#include "run.h"

#include <stdio.h>

static const char *const html_cols[] = {
        "transport",  "impl",    "timeout",     "size",  "p50 µs", "p99 µs",
        "p99.9 µs",   "max µs",  "×raw",        "msg/s", "MB/s",   "×raw",
        "CPU µs/msg", "csw/msg", "batch msg/s", "×raw",  "notes"};

static void
html_head(FILE *f, const struct bench_report *rep)
{
	char desc[600];
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
	      "charset=\"utf-8\">\n<title>ipckit bench</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em}\n"
	      "table{border-collapse:collapse;font-size:13px}\n"
	      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\n"
	      "td.l{text-align:left}\ntr.raw{color:#666}\n</style>\n</head>\n"
	      "<body>\n<h1>ipckit bench</h1>\n<p>",
	      f);
	bench_xml_str(f, bench_describe(rep, desc, sizeof(desc)));
	fputs("</p>\n", f);
	if (rep->warn[0]) {
		fputs("<p><strong>", f);
		bench_xml_str(f, rep->warn);
		fputs("</strong></p>\n", f);
	}
}

static void
html_num(FILE *f, int prec, double v)
{
	fputs("<td>", f);
	if (v > 0)
		fprintf(f, "%.*f", prec, v);
	fputs("</td>", f);
}

static void
html_row(FILE *f, const struct bench_report *rep, int i)
{
	const struct bench_row *r = &rep->rows[i];
	char tmo[16], sz[24], note[256];
	fprintf(f, "<tr%s><td class=\"l\">", r->raw ? " class=\"raw\"" : "");
	bench_xml_str(f, r->t->name);
	fprintf(f, "</td><td class=\"l\">%s</td><td>%s</td><td>%s</td>",
	        r->raw ? "raw" : "ipckit",
	        bench_timeout_str(r->timeout, tmo, sizeof(tmo)),
	        bench_size_str(r->size, sz, sizeof(sz)));
	for (int m = BM_P50; m <= BM_MAX; m++)
		if (m != BM_P90)
			html_num(f, 1, r->med[m]);
	html_num(f, 2, bench_ratio(rep, i, BM_P50));
	html_num(f, 0, r->med[BM_MSGS]);
	html_num(f, 1, r->med[BM_MBPS]);
	html_num(f, 2, bench_ratio(rep, i, BM_MSGS));
	html_num(f, 2, r->med[BM_CPU]);
	html_num(f, 2, r->med[BM_CSW]);
	html_num(f, 0, r->med[BM_BMSGS]);
	html_num(f, 2, bench_ratio(rep, i, BM_BMSGS));
	fputs("<td class=\"l\">", f);
	bench_xml_str(f, bench_note(rep, i, note, sizeof(note)));
	fputs("</td></tr>\n", f);
}

void
bench_html(FILE *f, const struct bench_report *rep)
{
	html_head(f, rep);
	fputs("<table>\n<tr>", f);
	for (size_t i = 0; i < sizeof(html_cols) / sizeof(html_cols[0]); i++)
		fprintf(f, "<th>%s</th>", html_cols[i]);
	fputs("</tr>\n", f);
	for (int i = 0; i < rep->nrows; i++)
		html_row(f, rep, i);
	fputs("</table>\n<p>×raw is ipckit over the bare system calls of the "
	      "same mechanism, measured in the same run: for latency 1.30 "
	      "means 30% slower, for msg/s 0.60 means 60% of the raw rate. "
	      "CPU and context switches count both processes.</p>\n",
	      f);
	bench_svg(f, rep);
	fputs("</body>\n</html>\n", f);
}
