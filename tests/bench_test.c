/*
 * bench_test.c - the bench's own logic, not its speed: percentiles and
 * medians, the option parser, the kernel-limit notes, one real run of a
 * raw and an ipckit row (sane values only), the zero-copy phase where
 * both sides have the calls (and not elsewhere), and the writers: JSON
 * read back against the schema, CSV, SVG and HTML parsed by Python's.
 */
#include "../bench/run.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PY "/usr/bin/python3"

Test(bench, percentiles_nearest_rank)
{
	double v[1000], p[5];
	for (int i = 0; i < 1000; i++)
		v[i] = (double)((i * 7919) % 1000 + 1); /* 1..1000 shuffled */
	bench_percentiles(v, 1000, p);
	cr_assert_eq(p[0], 500);
	cr_assert_eq(p[1], 900);
	cr_assert_eq(p[2], 990);
	cr_assert_eq(p[3], 999);
	cr_assert_eq(p[4], 1000);
	double one = 42;
	bench_percentiles(&one, 1, p);
	cr_assert(p[0] == 42 && p[4] == 42);
	cr_assert_eq(bench_pct(v, 0, 0.5), 0);
}

Test(bench, median_min_max)
{
	double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2}, med, lo, hi;
	bench_summary(odd, 3, &med, &lo, &hi);
	cr_assert(med == 3 && lo == 1 && hi == 5);
	bench_summary(even, 4, &med, &lo, &hi);
	cr_assert(med == 2.5 && lo == 1 && hi == 4);
	bench_summary(even, 0, &med, &lo, &hi);
	cr_assert(med == 0 && lo == 0 && hi == 0);
}

static int
parse(struct bench_opts *o, const char *line)
{
	/* Static: the options keep pointers into it (as into argv). */
	static char buf[256];
	char *argv[32], err[256];
	int argc = 0;
	snprintf(buf, sizeof(buf), "bench %s", line);
	for (char *s, *t = strtok_r(buf, " ", &s); t && argc < 31;
	     t = strtok_r(NULL, " ", &s))
		argv[argc++] = t;
	return bench_args(argc, argv, o, err, sizeof(err));
}

Test(bench, args_defaults_and_quick)
{
	struct bench_opts o;
	cr_assert_eq(parse(&o, ""), 0);
	cr_assert(o.p.nsizes == 4 && o.p.sizes[3] == 1048576);
	cr_assert(o.p.repeat == 3 && o.p.timeout_ms == -1 && !o.p.quick);
	cr_assert_eq(parse(&o, "--quick"), 0);
	cr_assert(o.p.nsizes == 1 && o.p.sizes[0] == 64 && o.p.repeat == 1);
	/* --quick sets defaults first, whatever its place. */
	cr_assert_eq(parse(&o, "--repeat 5 --quick --json"), 0);
	cr_assert(o.p.repeat == 5 && o.p.quick && o.json);
	cr_assert_eq(parse(&o, "--size 64,4096 --only tcp,udp --gap 20"), 0);
	cr_assert(o.p.nsizes == 2 && o.p.sizes[1] == 4096 && o.p.gap_ms == 20);
	cr_assert_str_eq(o.only, "tcp,udp");
	cr_assert_eq(parse(&o, "--timeout 250 --svg a.svg --html b.html"), 0);
	cr_assert(o.p.timeout_ms == 250 && !strcmp(o.svg, "a.svg"));
	cr_assert_eq(parse(&o, "--help"), 1);
}

Test(bench, args_errors)
{
	struct bench_opts o;
	static const char *const bad[] = {
	        "--size 10", "--size 64,x", "--size",       "--repeat 0",
	        "--rtts 5",  "--timeout 0", "--json --csv", "--bogus",
	        "--only",    "--gap -1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(&o, bad[i]), -1, "accepted: %s", bad[i]);
	char err[64] = "";
	char *argv[] = {"bench", "--bogus"};
	bench_args(2, argv, &o, err, sizeof(err));
	cr_assert(strstr(err, "unknown option '--bogus'"), "%s", err);
	char *argv2[] = {"bench", "--size", "10"};
	bench_args(3, argv2, &o, err, sizeof(err));
	cr_assert(strstr(err, "bad value '10' for --size"), "%s", err);
}

static const struct bench_target *
target(const char *name, int timeout)
{
	for (size_t i = 0; i < BENCH_NTARGETS; i++)
		if (!strcmp(bench_targets[i].name, name) &&
		    bench_targets[i].timeout == timeout)
			return &bench_targets[i];
	return NULL;
}

Test(bench, kernel_limits_named)
{
	char buf[160];
	cr_assert_null(bench_limit(target("pipe", 0), 1 << 20, 0, buf, 160));
	cr_assert_null(bench_limit(target("udp", 0), 65507, 0, buf, 160));
	cr_assert(strstr(bench_limit(target("udp", 0), 65536, 0, buf, 160),
	                 "65507"));
	cr_assert(
	        strstr(bench_limit(target("sysvmsg", 0), 1 << 20, 0, buf, 160),
	               "kernel.msgmax"));
	cr_assert(
	        strstr(bench_limit(target("unixgram", 0), 1 << 20, 0, buf, 160),
	               "wmem_default"));
	cr_assert(
	        strstr(bench_limit(target("mq", 0), 1 << 20, -EMFILE, buf, 160),
	               "RLIMIT_MSGQUEUE"));
}

static struct bench_case
small_case(void)
{
	return (struct bench_case){.size = 64,
	                           .rtts = 300,
	                           .count = 2000,
	                           .phase_ms = 200,
	                           .timeout = -1};
}

static void
assert_sane(const struct bench_run *r)
{
	cr_assert_eq(r->err, 0, "%s", strerror(-r->err));
	cr_assert(r->v[BM_P50] > 0 && r->v[BM_P50] <= r->v[BM_P99]);
	cr_assert(r->v[BM_P99] <= r->v[BM_MAX]);
	cr_assert(r->v[BM_MSGS] > 0 && r->v[BM_BMSGS] > 0);
	cr_assert(r->v[BM_CPU] > 0 && r->v[BM_LOSS] == 0);
}

Test(bench, raw_and_ipckit_rows_run, .timeout = 60)
{
	struct bench_case c = small_case();
	struct bench_run r;
	bench_raw_run(&raw_unixpacket, &c, &r);
	assert_sane(&r);
	bench_ipk_run(target("fifo", 0), &c, &r);
	assert_sane(&r);
	c.timeout = 500;
	bench_ipk_run(target("sysvmsg", BENCH_TIMED_MS), &c, &r);
	assert_sane(&r);
}

/* The zero-copy phase runs where the case says (shm, ipckit and raw):
 * positive finite numbers; a case without it leaves them NAN. */
Test(bench, zero_copy_phase_only_where_asked, .timeout = 60)
{
	struct bench_case c = small_case();
	struct bench_run r;
	c.zc = true;
	c.zc_count = 20000;
	c.size = 4096;
	for (int i = 0; i < 3; i++) {
		if (i == 0)
			bench_ipk_run(target("shm-spin", 0), &c, &r);
		else
			bench_raw_run(i == 1 ? &raw_shm : &raw_sysvshm, &c, &r);
		assert_sane(&r);
		for (int m = BM_ZMSGS; m <= BM_ZCPU; m++)
			cr_assert(isfinite(r.v[m]) && r.v[m] > 0, "%d: %s %g",
			          i, bench_metric_names[m], r.v[m]);
	}
	cr_assert(raw_shm.zero_copy && !raw_pipe.zero_copy);
	c.zc = false;
	bench_ipk_run(target("pipe", 0), &c, &r);
	assert_sane(&r);
	cr_assert(isnan(r.v[BM_ZMSGS]) && isnan(r.v[BM_ZCPU]));
}

/* A report with made-up numbers: pipe at 64 B and 1 MiB, udp at 1 MiB
 * (a kernel limit), sysvmsg's timed row spinning, shm with zero-copy
 * numbers (the others have none: NAN). */
static void
fake_report(struct bench_report *rep)
{
	struct bench_opts o;
	cr_assert_eq(parse(&o, "--only pipe,udp,sysvmsg,shm --size 64,1048576"),
	             0);
	cr_assert_eq(bench_plan(&o, rep), 0);
	bench_machine(&rep->start);
	rep->end = rep->start;
	bench_conditions(rep);
	for (int i = 0; i < rep->nrows; i++) {
		struct bench_row *row = &rep->rows[i];
		if (row->err)
			continue;
		row->runs = 1;
		for (int m = 0; m < BM_N; m++)
			row->med[m] = row->min[m] = row->max[m] =
			        (m + 1) * (row->raw ? 1.0 : 2.0);
		row->med[BM_LOSS] = row->med[BM_BLOSS] = 0;
		row->med[BM_IDLE_CPU] = 0;
		if (row->timeout > 0 && !row->raw)
			row->med[BM_RTT_CSW] = 0.1;
		for (int m = BM_ZMSGS; !row->t->raw->zero_copy && m < BM_N; m++)
			row->med[m] = row->min[m] = row->max[m] = NAN;
	}
}

/* Run python3 on script with the file written by writer. */
static int
check_with_python(void (*writer)(FILE *, const struct bench_report *),
                  const char *script)
{
	struct bench_report rep;
	fake_report(&rep);
	char path[] = "/tmp/ipk-bench-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	writer(f, &rep);
	fclose(f);
	int rc = th_sh(PY " -c '%s' %s %d", script, path, rep.nrows);
	unlink(path);
	bench_free(&rep);
	return rc;
}

static const char json_check[] =
        "import json, sys\n"
        "def bad(c): raise ValueError(c)\n"
        "d = json.load(open(sys.argv[1]), parse_constant=bad)\n"
        "assert d[\"schema\"] == \"ipckit-bench/1\"\n"
        "m = d[\"machine\"]\n"
        "for k in (\"cpu\", \"kernel\", \"cpus\", \"load_start\", "
        "\"steal_pct\","
        " \"same_cpu\"): assert k in m, k\n"
        "assert d[\"params\"][\"sizes\"] == [64, 1048576]\n"
        "rows = d[\"rows\"]\n"
        "assert len(rows) == int(sys.argv[2])\n"
        "names = set()\n"
        "for r in rows:\n"
        "  names.add((r[\"transport\"], r[\"impl\"], r[\"timeout_ms\"]))\n"
        "  assert len(r[\"median\"]) == 26 and \"rtt_p999_us\" in r[\"min\"]\n"
        "  z = r[\"median\"][\"zc_msgs_per_s\"]\n"
        "  if r[\"transport\"] == \"shm\": assert z > 0, r\n"
        "  elif r[\"runs\"]: assert z is None, r\n"
        "  if r[\"impl\"] == \"ipckit\" and r[\"runs\"]:\n"
        "    zr = r[\"vs_raw\"][\"zc_msgs_per_s\"]\n"
        "    assert zr == (2 if r[\"transport\"] == \"shm\" else None), r\n"
        "  assert (\"vs_raw\" in r) == (r[\"impl\"] == \"ipckit\")\n"
        "  if r[\"runs\"] == 0: assert r[\"error\"]\n"
        "  else: assert r[\"error\"] is None\n"
        "u = [r for r in rows if r[\"transport\"] == \"udp\" and r[\"size\"] > "
        "65507]\n"
        "assert u and all(\"65507\" in r[\"error\"] for r in u)\n"
        "p = [r for r in rows if r[\"transport\"] == \"pipe\" and r[\"impl\"] "
        "== \"ipckit\"]\n"
        "assert p[0][\"vs_raw\"][\"rtt_p50\"] == 2\n"
        "s = [r for r in rows if r[\"timeout_ms\"] == 1000 and r[\"impl\"] == "
        "\"ipckit\"]\n"
        "assert \"eventfd\" in s[0][\"note\"]\n"
        "assert (\"sysvmsg\", \"raw\", -1) in names\n";

Test(bench, json_follows_the_schema)
{
	cr_assert_eq(check_with_python(bench_json, json_check), 0);
}

static const char csv_check[] =
        "import csv, sys\n"
        "rows = list(csv.reader(open(sys.argv[1])))\n"
        "assert len(rows) == int(sys.argv[2]) + 1\n"
        "assert rows[0][:3] == [\"schema\", \"transport\", \"impl\"]\n"
        "assert all(len(r) == len(rows[0]) for r in rows)\n"
        "assert all(r[0] == \"ipckit-bench/1\" for r in rows[1:])\n"
        "assert not any(f.lower() in (\"nan\", \"inf\") for r in rows for f "
        "in r)\n";

Test(bench, csv_has_one_header_and_equal_rows)
{
	cr_assert_eq(check_with_python(bench_csv, csv_check), 0);
}

static const char svg_check[] =
        "import sys, xml.etree.ElementTree as E\n"
        "root = E.parse(sys.argv[1]).getroot()\n"
        "ns = \"{http://www.w3.org/2000/svg}\"\n"
        "assert root.tag == ns + \"svg\"\n"
        "assert int(root.get(\"height\")) > 100\n"
        "assert len(root.findall(ns + \"circle\")) >= 8\n"
        "assert any(\"Round trip\" in (t.text or \"\") for t in root.iter(ns + "
        "\"text\"))\n";

Test(bench, svg_is_well_formed)
{
	cr_assert_eq(check_with_python(bench_svg, svg_check), 0);
}

static const char html_check[] =
        "import sys\n"
        "from html.parser import HTMLParser\n"
        "VOID = {\"meta\", \"br\", \"circle\", \"line\", \"rect\", \"path\"}\n"
        "class P(HTMLParser):\n"
        "  def __init__(s):\n"
        "    super().__init__(); s.stack = []; s.tr = 0; s.seen = set()\n"
        "  def handle_starttag(s, t, a):\n"
        "    s.seen.add(t); s.tr += t == \"tr\"\n"
        "    if t not in VOID: s.stack.append(t)\n"
        "  def handle_endtag(s, t):\n"
        "    if t not in VOID: assert s.stack.pop() == t, t\n"
        "p = P(); p.feed(open(sys.argv[1]).read()); p.close()\n"
        "assert not p.stack, p.stack\n"
        "assert {\"html\", \"table\", \"svg\", \"title\"} <= p.seen\n"
        "assert p.tr == int(sys.argv[2]) + 1\n";

Test(bench, html_opens)
{
	cr_assert_eq(check_with_python(bench_html, html_check), 0);
}

Test(bench, table_labels_same_cpu_ratios_and_limits)
{
	struct bench_report rep;
	fake_report(&rep);
	rep.cpu_a = rep.cpu_b = 1;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bench_table(f, &rep);
	fclose(f);
	cr_assert(strstr(text, "SAME CPU: both processes on CPU 1"), "%s",
	          text);
	cr_assert(strstr(text, "  2.00"), "no ratio column: %s", text);
	cr_assert(strstr(text, "limit: UDP payload limit"), "%s", text);
	cr_assert(strstr(text, "spins:"), "%s", text);
	cr_assert(strstr(text, "60% of the raw rate"), "%s", text);
	cr_assert(strstr(text, "zero-copy one way"), "%s", text);
	free(text);
	bench_free(&rep);
}
