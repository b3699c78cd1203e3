/*
 * cli_fuzz.c - fuzz target of the command's argument handling: the input,
 * split on NUL bytes, is an argv whose first word picks the verb (send,
 * recv, sem, bench; otherwise the first byte does).  Only the verbs'
 * parse functions run, never their I/O.  Checked: a usage error is exit
 * 2 with an "ipckit: VERB: " message on stderr, success is silent and
 * leaves options that hold together; ASan/LSan check memory.
 */
#include "fuzz.h"

#include "bench.h"
#include "cli.h"

#include <string.h>

#define CLI_FUZZ_ARGS 64

struct verb {
	const char *name;
	void (*run)(const char *verb, int argc, char **argv, int *rc,
	            bool *help);
};

/* send and recv share their options; a URL they go on with parses. */
static void
run_opts(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct cli_opts o;
	bool send = !strcmp(verb, "send");
	*rc = send ? cmd_send_parse(argc, argv, &o)
	           : cmd_recv_parse(argc, argv, &o);
	*help = o.help;
	if (*rc || o.help)
		return;
	FUZZ_ASSERT(o.url && ipk_url_check(o.url, NULL, 0) == 0);
	FUZZ_ASSERT(o.nargs >= 0 && o.args + o.nargs == argv + argc);
	FUZZ_ASSERT(o.timeout >= -1 && o.count >= 0);
	FUZZ_ASSERT(!o.type_set || cli_scheme_in(o.url, "sysvmsg"));
	FUZZ_ASSERT(!o.prio_set || cli_scheme_in(o.url, "mq"));
	if (send)
		FUZZ_ASSERT(!o.file || (!o.nargs && !o.fd_file));
	else
		FUZZ_ASSERT(o.nargs == 0 && !(o.hex && o.json));
}

static void
run_sem(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct sem_args a;
	(void)verb;
	*rc = cmd_sem_parse(argc, argv, &a);
	*help = a.help;
	if (*rc || a.help)
		return;
	FUZZ_ASSERT(a.verb && a.url && a.timeout >= -1 && a.value >= 0);
	FUZZ_ASSERT(strcmp(a.verb, "run") || (a.cmd && a.cmd[0]));
	FUZZ_ASSERT(!strcmp(a.verb, "run") || !a.cmd);
}

static void
run_bench(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct bench_opts o;
	(void)verb;
	*rc = cmd_bench_parse(argc, argv, &o);
	*help = o.help;
	if (*rc || o.help)
		return;
	const struct bench_params *p = &o.p;
	FUZZ_ASSERT(!(o.json && o.csv));
	FUZZ_ASSERT(p->nsizes >= 1 && p->nsizes <= BENCH_MAXSIZES);
	for (int i = 0; i < p->nsizes; i++)
		FUZZ_ASSERT(p->sizes[i] >= BENCH_MIN_SIZE &&
		            p->sizes[i] <= 16 << 20);
	FUZZ_ASSERT(p->repeat >= 1 && p->rtts >= 100 && p->count >= 200);
}

static const struct verb verbs[] = {
        {"send", run_opts},
        {"recv", run_opts},
        {"sem", run_sem},
        {"bench", run_bench},
};

/* Each word in its own allocation, so ASan sees a read past one. */
static int
split(const uint8_t *data, size_t size, char **argv)
{
	int argc = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size && argc < CLI_FUZZ_ARGS; i++) {
		if (i < size && data[i])
			continue;
		size_t n = i - start;
		argv[argc] = malloc(n + 1);
		if (!argv[argc])
			break;
		memcpy(argv[argc], data + start, n);
		argv[argc++][n] = '\0';
		start = i + 1;
	}
	argv[argc] = NULL;
	return argc;
}

/* Which verb: the first word if it names one, else the first byte. */
static const struct verb *
pick(const char *word, const uint8_t *data)
{
	size_t n = sizeof(verbs) / sizeof(verbs[0]);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(word, verbs[i].name))
			return &verbs[i];
	return &verbs[data[0] % n];
}

/* What the verb wrote on stderr: nothing, or "ipckit: VERB: ...\n". */
static void
check_stderr(const struct verb *v, int rc, const char *err, size_t len)
{
	if (rc == 0) {
		FUZZ_ASSERT(len == 0);
		return;
	}
	FUZZ_ASSERT(rc == EXIT_USAGE);
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "ipckit: %s: ", v->name);
	FUZZ_ASSERT(len > (size_t)n && !strncmp(err, prefix, (size_t)n));
	FUZZ_ASSERT(err[len - 1] == '\n');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > FUZZ_MAX_INPUT)
		return 0;
	char *argv[CLI_FUZZ_ARGS + 1];
	int argc = split(data, size, argv);
	if (argc == 0)
		return 0;
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *saved_out = stdout, *saved_err = stderr;
	stdout = open_memstream(&out, &out_len);
	stderr = open_memstream(&err, &err_len);
	FUZZ_ASSERT(stdout && stderr);
	const struct verb *v = pick(argv[0], data);
	/* The word that picked the verb stands in its place: argv[0]. */
	int rc;
	bool help;
	v->run(v->name, argc, argv, &rc, &help);
	fclose(stdout);
	fclose(stderr);
	stdout = saved_out;
	stderr = saved_err;
	check_stderr(v, rc, err, err_len);
	FUZZ_ASSERT(!help || rc || out_len > 0);
	free(out);
	free(err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
