/*
 * bench.c - `ipckit bench`: runs the engine of bench/ over every
 * transport and prints one row each, with ratios to the bare pipe(2)
 * baseline measured in the same run.
 */
#include "cli.h"

#include "../bench/bench.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char bench_help[] =
        "usage: ipckit bench [--quick] [--size N] [--only NAME] [--json]\n"
        "Measures round-trip latency (p50, p99) and one-way messages per "
        "second\nof every transport between two processes, beside bare "
        "pipe(2) calls.\n"
        "  --quick      fewer messages (a few seconds in all)\n"
        "  --size N     bytes per message (default 64)\n"
        "  --only NAME  one transport\n"
        "  --json       one JSON object per row\n";

struct bench_opts {
	struct bench_params p;
	const char *only;
	bool json;
};

static int
bench_args(int argc, char **argv, struct bench_opts *o)
{
	o->p = (struct bench_params){
	        .size = 64, .rtts = 20000, .count = 200000};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long n;
		if (!strcmp(a, "--quick")) {
			o->p.rtts = 2000;
			o->p.count = 20000;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--size") && cli_num(v, 1, 1 << 20, &n)) {
			o->p.size = (size_t)n;
			i++;
		} else if (!strcmp(a, "--only") && v) {
			o->only = v;
			i++;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(bench_help, stdout);
			return -1;
		} else {
			return cli_usage("bench", "bad argument '%s'", a);
		}
	}
	return 0;
}

static void
bench_row(const struct bench_opts *o, const char *name,
          const struct bench_result *r, const struct bench_result *raw)
{
	if (r->err && o->json) {
		printf("{\"transport\":\"%s\",\"error\":\"%s\"}\n", name,
		       ipk_strerror(r->err));
	} else if (r->err) {
		printf("%-12s  failed: %s\n", name, ipk_strerror(r->err));
	} else if (o->json) {
		printf("{\"transport\":\"%s\",\"size\":%zu,\"rtt_p50_us\":%.2f,"
		       "\"rtt_p99_us\":%.2f,\"msgs_per_s\":%.0f,"
		       "\"batch_msgs_per_s\":%.0f,\"rtt_vs_raw\":%.2f,"
		       "\"msgs_vs_raw\":%.2f,\"lost\":%.4f}\n",
		       name, o->p.size, r->p50_us, r->p99_us, r->msgs,
		       r->batch_msgs, r->p50_us / raw->p50_us,
		       r->msgs / raw->msgs, r->loss);
	} else {
		printf("%-12s %9.1f %9.1f %11.0f %11.0f %8.2f %8.2f", name,
		       r->p50_us, r->p99_us, r->msgs, r->batch_msgs,
		       r->p50_us / raw->p50_us, r->msgs / raw->msgs);
		if (r->loss > 0)
			printf("  (%.1f%% lost)", r->loss * 100);
		putchar('\n');
	}
	fflush(stdout);
}

int
cmd_bench(int argc, char **argv)
{
	struct bench_opts o = {0};
	int rc = bench_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!o.json) {
		printf("%zu-byte messages, %d round trips, %d one-way; %ld "
		       "CPUs\n",
		       o.p.size, o.p.rtts, o.p.count,
		       sysconf(_SC_NPROCESSORS_ONLN));
		printf("%-12s %9s %9s %11s %11s %8s %8s\n", "transport",
		       "p50 us", "p99 us", "msg/s", "batch/s", "rtt/raw",
		       "msgs/raw");
	}
	struct bench_result raw, r;
	bench_raw_pipe(&o.p, &raw);
	if (raw.err)
		return cli_fail("bench", "raw pipe", -EPIPE);
	bench_row(&o, "raw-pipe", &raw, &raw);
	bool found = false;
	for (size_t i = 0; i < BENCH_NTARGETS && !cli_stop; i++) {
		const struct bench_target *t = &bench_targets[i];
		if (o.only && strcmp(o.only, t->name))
			continue;
		found = true;
		bench_target(t, &o.p, &r);
		bench_row(&o, t->name, &r, &raw);
	}
	if (o.only && !found)
		return cli_usage("bench", "no transport '%s'", o.only);
	return cli_exit_code(0);
}
