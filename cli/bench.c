/*
 * bench.c - `ipckit bench`: parses the options (bench/args.c), runs every
 * row of bench/ with ipckit and raw interleaved, and writes the table,
 * JSON or CSV on stdout and the chart or report to the files asked for.
 */
#include "cli.h"

#include "../bench/run.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int
bench_write(const char *path,
            void (*writer)(FILE *, const struct bench_report *),
            const struct bench_report *rep)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return cli_fail("bench", path, -errno);
	writer(f, rep);
	if (fclose(f) != 0)
		return cli_fail("bench", path, -errno);
	return 0;
}

static int
bench_output(const struct bench_opts *o, const struct bench_report *rep)
{
	if (o->json)
		bench_json(stdout, rep);
	else if (o->csv)
		bench_csv(stdout, rep);
	else
		bench_table(stdout, rep);
	if (fflush(stdout) != 0)
		return 1;
	int rc = o->svg ? bench_write(o->svg, bench_svg, rep) : 0;
	if (rc == 0 && o->html)
		rc = bench_write(o->html, bench_html, rep);
	return rc;
}

int
cmd_bench_parse(int argc, char **argv, struct bench_opts *o)
{
	char err[256];
	int rc = bench_args(argc, argv, o, err, sizeof(err));
	if (rc < 0)
		return cli_usage("bench", "%s", err);
	if (rc > 0)
		fputs(bench_usage, stdout);
	return 0;
}

int
cmd_bench(int argc, char **argv)
{
	struct bench_opts o;
	int rc = cmd_bench_parse(argc, argv, &o);
	if (rc || o.help)
		return rc;
	struct bench_report rep;
	rc = bench_plan(&o, &rep);
	if (rc == -ENOENT)
		return cli_usage("bench", "no transport '%s'", o.only);
	if (rc < 0)
		return cli_fail("bench", "plan", rc);
	bool progress = !o.p.quick && isatty(STDERR_FILENO);
	bench_run(&rep, progress, &cli_stop);
	rc = bench_output(&o, &rep);
	bench_free(&rep);
	return cli_exit_code(rc);
}
