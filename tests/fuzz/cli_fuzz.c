/*
 * cli_fuzz.c - fuzz target of the command's argument handling: the input,
 * split on NUL bytes, is an argv whose first word picks the verb (send,
 * recv, sem, bench, relay, ls, rm, limits, tcp-trace; otherwise the
 * first byte does).  Only the verbs' parse functions run, never their
 * I/O.  Checked: a usage error is exit 2 with one "ipckit: VERB: " line
 * on stderr, success is silent and leaves options that hold together;
 * ASan/LSan check memory.
 */
#include "fuzz.h"

#include "bench.h"
#include "cli.h"
#include "inspect.h"
#include "relay.h"
#include "tcptrace.h"

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

/* A side as relay_side left it: stdio:, or a URL that parses. */
static void
check_side(const struct rside *s, const char *word)
{
	FUZZ_ASSERT(s->url == word);
	if (s->stdio) {
		FUZZ_ASSERT(!strcmp(s->url, s->raw ? "stdio:?raw" : "stdio:"));
		return;
	}
	FUZZ_ASSERT(ipk_url_check(s->url, NULL, 0) == 0);
	FUZZ_ASSERT(!cli_scheme_in(s->url, "pipe") && s->scheme[0]);
	FUZZ_ASSERT(!strncmp(s->url, s->scheme, strlen(s->scheme)));
}

static void
run_relay(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct relay r;
	(void)verb;
	*rc = cmd_relay_parse(argc, argv, &r);
	*help = r.help;
	if (*rc || r.help)
		return;
	FUZZ_ASSERT(argc >= 3);
	check_side(&r.from, argv[argc - 2]);
	check_side(&r.to, argv[argc - 1]);
	FUZZ_ASSERT(!(r.from.stdio && r.to.stdio));
	FUZZ_ASSERT(
	        !(r.from.conn && r.from.listen && r.to.conn && r.to.listen));
	FUZZ_ASSERT(!r.both || !(cli_scheme_in(r.from.url, "mq fifo") ||
	                         cli_scheme_in(r.to.url, "mq fifo")));
	FUZZ_ASSERT(r.timeout >= -1 && r.stats_s >= 0 && r.stats_s <= 86400);
	FUZZ_ASSERT(r.duplex == (r.both || (r.from.conn && r.to.conn)));
	FUZZ_ASSERT(r.topo != TOPO_SINGLE || !((r.from.conn && r.from.listen) ||
	                                       (r.to.conn && r.to.listen)));
	FUZZ_ASSERT(!r.shared && !r.n && !r.p && !r.pf && !r.err);
}

/* Every piece of an accepted --kind names a kind ls lists. */
static bool
known_kinds(const char *list)
{
	static const char *const kinds[] = {
	        "sysvmsg", "sysvshm", "sysvsem",  "mq",         "shm", "sem",
	        "fifo",    "unix",    "unixgram", "unixpacket", "tcp", "udp"};
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ","), i = 0;
		while (i < sizeof(kinds) / sizeof(kinds[0]) &&
		       (strlen(kinds[i]) != len || strncmp(p, kinds[i], len)))
			i++;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return false;
		p += len + (p[len] == ',');
	}
	return true;
}

static void
run_ls(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct ls_args a;
	(void)verb;
	*rc = cmd_ls_parse(argc, argv, &a);
	*help = a.help;
	if (*rc || a.help)
		return;
	FUZZ_ASSERT(!a.kinds || known_kinds(a.kinds));
	FUZZ_ASSERT(a.uid == INS_NA || (a.uid >= 0 && a.uid <= 0xfffffffe));
}

static void
run_rm(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct rm_args a;
	(void)verb;
	*rc = cmd_rm_parse(argc, argv, &a);
	*help = a.help;
	if (*rc || a.help)
		return;
	FUZZ_ASSERT(a.nurls >= 0 && a.urls + a.nurls == argv + argc);
	if (a.stale)
		FUZZ_ASSERT(a.nurls == 0 && !a.force);
	else
		FUZZ_ASSERT(a.nurls >= 1);
}

static void
run_limits(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct limits_args a;
	(void)verb;
	*rc = cmd_limits_parse(argc, argv, &a);
	*help = a.help;
	if (*rc || a.help)
		return;
	/* Only --json is taken, and a word that is not it is refused. */
	FUZZ_ASSERT(a.json == (argc > 1));
}

static void
run_tcp_trace(const char *verb, int argc, char **argv, int *rc, bool *help)
{
	struct tt_opts o;
	(void)verb;
	*rc = cmd_tcp_trace_parse(argc, argv, &o);
	*help = o.help;
	if (*rc || o.help)
		return;
	FUZZ_ASSERT(o.port >= 0 && o.port <= 65535);
	FUZZ_ASSERT(o.data >= 0 && o.data <= 1 << 30);
	FUZZ_ASSERT((unsigned)o.close <= TT_CLOSE_BOTH);
	FUZZ_ASSERT(o.count >= 0 && o.count <= 1 << 30);
	if (!o.watch)
		return;
	FUZZ_ASSERT(o.watch_port >= 1 && o.watch_port <= 65535);
	FUZZ_ASSERT(!(o.pcap || o.svg || o.linger || o.data || o.restart ||
	              o.wait || o.port || o.v6 || o.close_set));
}

/* New verbs go at the end: the first byte of the corpus's inputs keeps
 * picking the verb it picked. */
static const struct verb verbs[] = {
        {"send", run_opts},
        {"recv", run_opts},
        {"sem", run_sem},
        {"bench", run_bench},
        {"relay", run_relay},
        {"ls", run_ls},
        {"rm", run_rm},
        {"limits", run_limits},
        {"tcp-trace", run_tcp_trace},
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

/* What the verb wrote on stderr: nothing, or "ipckit: VERB: ...\n"
 * (data, size: the input, whose bytes the message may quote). */
static void
check_stderr(const struct verb *v, int rc, const char *err, size_t len,
             const uint8_t *data, size_t size)
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
	/* An unknown option is named as the user wrote it, dash and all
	 * (unless a word of the input starts the message that way). */
	static const char unknown[] = "unknown option '";
	const char *u = err + n;
	FUZZ_ASSERT(strncmp(u, unknown, 16) || u[16] == '-' ||
	            memmem(data, size, unknown, 16));
	/* One printable line: a control byte (a newline too) only where
	 * an argument it quotes brought one. */
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned char b = (unsigned char)err[i];
		FUZZ_ASSERT((b >= 0x20 && b != 0x7f) || memchr(data, b, size));
	}
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
	check_stderr(v, rc, err, err_len, data, size);
	FUZZ_ASSERT(!help || rc || out_len > 0);
	free(out);
	free(err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
