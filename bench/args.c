/*
 * args.c - the options of `ipckit bench`.  --quick sets the defaults of
 * a short run first, so any other option overrides it whatever the
 * order.  No printing here: errors come back as text for the CLI.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char bench_usage[] =
        "usage: ipckit bench [--quick] [--size N[,N...]] [--only NAME[,NAME]]\n"
        "                    [--repeat N] [--rtts N] [--count N] [--time MS]\n"
        "                    [--timeout MS] [--gap MS] [--json | --csv]\n"
        "                    [--svg FILE] [--html FILE] [--redis URL]\n"
        "Measures every transport between two pinned processes next to the\n"
        "bare system calls of the same mechanism (its raw row), in the same\n"
        "run: round trip p50..max, one-way messages/s and MB/s, unbatched and\n"
        "batched, with CPU time and context switches per message.  Rows\n"
        "whose raw baseline has zero-copy calls (shm, sysvshm) add a\n"
        "zero-copy one-way phase: the driver loans each message\n"
        "(ipk_reserve), writes only its 16-byte header and last byte and\n"
        "commits it; the server peeks, reads those and releases.\n"
        "  --quick       every transport at 64 B, once (under 10 s)\n"
        "  --size LIST   message sizes (default 64,4096,65536,1048576)\n"
        "  --only LIST   these transports only\n"
        "  --repeat N    runs of each row, ipckit and raw interleaved; the\n"
        "                medians are shown (default 3, --quick 1)\n"
        "  --rtts N      round trips timed (default 20000)\n"
        "  --count N     one-way messages per phase (default 200000;\n"
        "                zero-copy: 10 times as many)\n"
        "  --time MS     no phase longer than this (default 500; 0 none)\n"
        "  --timeout MS  timeout of every ipckit receive (default: none,\n"
        "                except one sysvmsg row at 1000 ms)\n"
        "  --gap MS      also measure a round trip after MS idle, and the\n"
        "                receiver's CPU while idle\n"
        "  --json, --csv the results for scripts (schema: "
        "docs/performance.md)\n"
        "  --svg FILE    a chart; --html FILE a report with table and chart\n"
        "  --redis URL   the server of the redis row (redis://host:port);\n"
        "                without it, --only redis starts a redis-server\n"
        "Examples:\n"
        "  ipckit bench --quick\n"
        "  ipckit bench --only fifo,mq,shm --size 64,4096 --json > b.json\n"
        "  ipckit bench --size 64 --repeat 1 --html report.html\n";

static void
args_defaults(struct bench_opts *o, bool quick)
{
	static const size_t full[] = {64, 4096, 65536, 1048576};
	memset(o, 0, sizeof(*o));
	struct bench_params *p = &o->p;
	p->quick = quick;
	p->nsizes = quick ? 1 : 4;
	memcpy(p->sizes, full, sizeof(full));
	p->rtts = quick ? 1000 : 20000;
	p->count = quick ? 20000 : 200000;
	p->phase_ms = quick ? 70 : 500;
	p->repeat = quick ? 1 : 3;
	p->timeout_ms = -1;
}

static bool
args_num(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool
args_sizes(const char *s, struct bench_params *p)
{
	char tmp[256];
	if (!s || strlen(s) >= sizeof(tmp))
		return false;
	snprintf(tmp, sizeof(tmp), "%s", s);
	p->nsizes = 0;
	for (char *save, *t = strtok_r(tmp, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		long long v;
		if (p->nsizes == BENCH_MAXSIZES ||
		    !args_num(t, BENCH_MIN_SIZE, 16 << 20, &v))
			return false;
		p->sizes[p->nsizes++] = (size_t)v;
	}
	return p->nsizes > 0;
}

/* An option with a number: 1 taken, 0 not this option, -1 bad value. */
static int
args_int(const char *a, const char *v, struct bench_params *p)
{
	static const struct {
		const char *name;
		size_t off;
		long long lo, hi;
	} opts[] = {
	        {"--repeat", offsetof(struct bench_params, repeat), 1, 50},
	        {"--rtts", offsetof(struct bench_params, rtts), 100, 10000000},
	        {"--count", offsetof(struct bench_params, count), 200,
	         100000000},
	        {"--time", offsetof(struct bench_params, phase_ms), 0, 3600000},
	        {"--timeout", offsetof(struct bench_params, timeout_ms), 1,
	         3600000},
	        {"--gap", offsetof(struct bench_params, gap_ms), 1, 60000},
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		long long n;
		if (strcmp(a, opts[i].name))
			continue;
		if (!args_num(v, opts[i].lo, opts[i].hi, &n))
			return -2;
		*(int *)((char *)p + opts[i].off) = (int)n;
		return 1;
	}
	return 0;
}

/* One option: how many words it took; -1 unknown, -2 bad value. */
static int
args_one(const char *a, const char *v, struct bench_opts *o)
{
	static const char *const flags[] = {"--quick", "--json", "--csv",
	                                    "--help", "-h"};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(a, flags[i]))
			continue;
		o->json |= i == 1;
		o->csv |= i == 2;
		o->help |= i >= 3;
		return 1;
	}
	const char **str = !strcmp(a, "--only")    ? &o->only
	                   : !strcmp(a, "--svg")   ? &o->svg
	                   : !strcmp(a, "--html")  ? &o->html
	                   : !strcmp(a, "--redis") ? &o->redis
	                                           : NULL;
	if (str) {
		*str = v;
		return v ? 2 : -2;
	}
	if (!strcmp(a, "--size"))
		return args_sizes(v, &o->p) ? 2 : -2;
	int rc = args_int(a, v, &o->p);
	return rc > 0 ? 2 : rc < 0 ? -2 : -1;
}

int
bench_args(int argc, char **argv, struct bench_opts *o, char *err,
           size_t errlen)
{
	bool quick = false;
	for (int i = 1; i < argc; i++)
		quick |= !strcmp(argv[i], "--quick");
	args_defaults(o, quick);
	for (int i = 1; i < argc;) {
		int n = args_one(argv[i], i + 1 < argc ? argv[i + 1] : NULL, o);
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (n == -1)
			snprintf(err, errlen,
			         argv[i][0] == '-' ? "unknown option '%s'"
			                           : "unexpected argument '%s'",
			         argv[i]);
		else if (n < 0)
			snprintf(err, errlen, "bad value '%s' for %s", v,
			         argv[i]);
		if (n < 0)
			return -1;
		i += n;
	}
	if (o->json && o->csv) {
		snprintf(err, errlen, "--json and --csv exclude each other");
		return -1;
	}
	return o->help ? 1 : 0;
}
