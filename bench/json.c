/*
 * json.c - the results for scripts: one JSON document (schema
 * "ipckit-bench/1", described in docs/performance.md) and the same rows
 * as CSV.  The writer is hand-written: strings escaped per RFC 8259,
 * numbers that are not finite (a phase not run: NAN) written as null
 * (an empty CSV field).
 */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The ratios an ipckit row carries: JSON key, metric. */
static const struct {
	const char *key;
	enum bench_metric m;
} json_ratios[] = {
        {"rtt_p50", BM_P50},         {"rtt_p99", BM_P99},
        {"msgs_per_s", BM_MSGS},     {"batch_msgs_per_s", BM_BMSGS},
        {"cpu_us_per_msg", BM_CPU},  {"batch_cpu_us_per_msg", BM_BCPU},
        {"zc_msgs_per_s", BM_ZMSGS}, {"zc_cpu_us_per_msg", BM_ZCPU},
};
#define JSON_NRATIOS (sizeof(json_ratios) / sizeof(json_ratios[0]))

static void
json_str(FILE *f, const char *s)
{
	putc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

/* pre, then v, or missing where v is not finite (not measured). */
static void
json_num_or(FILE *f, const char *pre, double v, const char *missing)
{
	fputs(pre, f);
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs(missing, f);
}

static void
json_num(FILE *f, double v)
{
	json_num_or(f, "", v, "null");
}

static void
json_metrics(FILE *f, const char *key, const double *v)
{
	fprintf(f, ",\"%s\":{", key);
	for (int m = 0; m < BM_N; m++) {
		fprintf(f, "%s\"%s\":", m ? "," : "", bench_metric_names[m]);
		json_num(f, v[m]);
	}
	putc('}', f);
}

static void
json_machine(FILE *f, const struct bench_report *rep)
{
	const struct bench_machine *a = &rep->start, *b = &rep->end;
	char t[32];
	time_t at = (time_t)a->at;
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
	fputs("\"machine\":{\"cpu\":", f);
	json_str(f, a->cpu);
	fputs(",\"kernel\":", f);
	json_str(f, a->kernel);
	fprintf(f,
	        ",\"cpus\":%d,\"driver_cpu\":%d,\"server_cpu\":%d,"
	        "\"same_cpu\":%s,\"started\":\"%s\",\"seconds\":",
	        a->ncpu, rep->cpu_a, rep->cpu_b,
	        rep->cpu_a == rep->cpu_b ? "true" : "false", t);
	json_num(f, rep->seconds);
	fprintf(f,
	        ",\"load_start\":[%.2f,%.2f,%.2f],\"load_end\":[%.2f,%.2f,"
	        "%.2f],\"steal_pct\":",
	        a->load[0], a->load[1], a->load[2], b->load[0], b->load[1],
	        b->load[2]);
	json_num(f, rep->steal_pct);
	fputs(",\"others_pct\":", f);
	json_num(f, rep->others_pct);
	fputs(",\"busy_warning\":", f);
	if (rep->warn[0])
		json_str(f, rep->warn);
	else
		fputs("null", f);
	putc('}', f);
}

static void
json_params(FILE *f, const struct bench_params *p)
{
	fputs(",\"params\":{\"sizes\":[", f);
	for (int i = 0; i < p->nsizes; i++)
		fprintf(f, "%s%zu", i ? "," : "", p->sizes[i]);
	fprintf(f,
	        "],\"rtts\":%d,\"count\":%d,\"phase_ms\":%d,\"repeat\":%d,"
	        "\"timeout_ms\":%d,\"gap_ms\":%d,\"quick\":%s}",
	        p->rtts, p->count, p->phase_ms, p->repeat, p->timeout_ms,
	        p->gap_ms, p->quick ? "true" : "false");
}

static void
json_row(FILE *f, const struct bench_report *rep, int i)
{
	const struct bench_row *row = &rep->rows[i];
	char note[256];
	fputs("{\"transport\":", f);
	json_str(f, row->t->name);
	fprintf(f,
	        ",\"impl\":\"%s\",\"size\":%zu,\"timeout_ms\":%d,"
	        "\"runs\":%d,\"spins\":%s,\"error\":",
	        row->raw ? "raw" : "ipckit", row->size, row->timeout, row->runs,
	        bench_spins(row) ? "true" : "false");
	if (row->runs)
		fputs("null", f);
	else
		json_str(f, row->note[0] ? row->note : strerror(-row->err));
	fputs(",\"note\":", f);
	json_str(f, bench_note(rep, i, note, sizeof(note)));
	json_metrics(f, "median", row->med);
	json_metrics(f, "min", row->min);
	json_metrics(f, "max", row->max);
	if (!row->raw) {
		fputs(",\"vs_raw\":{", f);
		for (size_t k = 0; k < JSON_NRATIOS; k++) {
			fprintf(f, "%s\"%s\":", k ? "," : "",
			        json_ratios[k].key);
			double r = bench_ratio(rep, i, json_ratios[k].m);
			if (r > 0)
				json_num(f, r);
			else
				fputs("null", f);
		}
		putc('}', f);
	}
	putc('}', f);
}

void
bench_json(FILE *f, const struct bench_report *rep)
{
	fprintf(f, "{\"schema\":\"%s\",", BENCH_SCHEMA);
	json_machine(f, rep);
	json_params(f, &rep->p);
	fputs(",\"rows\":[\n", f);
	for (int i = 0; i < rep->nrows; i++) {
		json_row(f, rep, i);
		fputs(i + 1 < rep->nrows ? ",\n" : "\n", f);
	}
	fputs("]}\n", f);
}

/* CSV: a field with a comma or quote is quoted, quotes doubled. */
static void
csv_str(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

void
bench_csv(FILE *f, const struct bench_report *rep)
{
	fputs("schema,transport,impl,size,timeout_ms,runs,note", f);
	for (int m = 0; m < BM_N; m++)
		fprintf(f, ",%s,%s_min,%s_max", bench_metric_names[m],
		        bench_metric_names[m], bench_metric_names[m]);
	for (size_t k = 0; k < JSON_NRATIOS; k++)
		fprintf(f, ",%s_vs_raw", json_ratios[k].key);
	putc('\n', f);
	for (int i = 0; i < rep->nrows; i++) {
		const struct bench_row *row = &rep->rows[i];
		char note[256];
		fprintf(f, "%s,%s,%s,%zu,%d,%d,", BENCH_SCHEMA, row->t->name,
		        row->raw ? "raw" : "ipckit", row->size, row->timeout,
		        row->runs);
		csv_str(f, bench_note(rep, i, note, sizeof(note)));
		for (int m = 0; m < BM_N; m++) {
			json_num_or(f, ",", row->med[m], "");
			json_num_or(f, ",", row->min[m], "");
			json_num_or(f, ",", row->max[m], "");
		}
		for (size_t k = 0; k < JSON_NRATIOS; k++)
			fprintf(f, ",%.4g",
			        bench_ratio(rep, i, json_ratios[k].m));
		putc('\n', f);
	}
}
