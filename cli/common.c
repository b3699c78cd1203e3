/*
 * common.c - errors, numbers, signals and opening for the subcommands.
 * The only place of ipckit that prints an error.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t cli_stop;

static const char *
cli_hint(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "no peer within the timeout; is the other side running? "
		       "--timeout MS waits longer";
	case EAGAIN:
		return "it would block; try a timeout above 0";
	case EADDRINUSE:
		return "a live listener owns it; stop it or pick another name";
	case EPERM:
		return "it belongs to another user or is open to group/others; "
		       "remove it or pick another name";
	case EEXIST:
		return "something else is at that name; remove it or pick "
		       "another name";
	case ENOENT:
		return "nothing there; start 'ipckit recv URL' first";
	case EACCES:
		return "permission denied by its mode or owner";
	case EMSGSIZE:
		return "message larger than the channel allows; see ?max=";
	case EPROTONOSUPPORT:
		return "unknown scheme; 'ipckit --help' lists the URLs";
	case EINVAL:
		return "malformed URL or unknown option; 'ipckit --help'";
	case EPIPE:
		return "the peer went away";
	case ECONNRESET:
		return "the peer went away in the middle of a message";
	case ENOTSUP:
		return "this end of this mechanism cannot do that; see "
		       "--listen/--dial";
	case ENAMETOOLONG:
		return "the name is too long for this mechanism";
	case EIDRM:
		return "the object was removed while in use";
	default:
		return NULL;
	}
}

/* Limits that the kernel reports with a generic errno, per mechanism. */
static const struct {
	const char *scheme;
	int err;
	const char *hint;
} cli_limit_hints[] = {
        {"mq:", EMFILE,
         "RLIMIT_MSGQUEUE is used up: raise it with 'ulimit -q' or remove "
         "queues"},
        {"mq:", EINVAL,
         "bad name, or depth/msgsize above fs.mqueue.msg_max / "
         "msgsize_max (see /proc/sys/fs/mqueue)"},
        {"mq:", ENOSPC,
         "fs.mqueue.queues_max queues exist already; remove some or raise "
         "it"},
        {"mq:", EMSGSIZE, "larger than the queue's msgsize (?msgsize=)"},
        {"sysvmsg:", EMSGSIZE,
         "larger than kernel.msgmax (/proc/sys/kernel/msgmax)"},
        {"sysvmsg:", ENOSPC,
         "kernel.msgmni queues exist already; remove some (ipcrm -q) or "
         "raise it"},
        {"sysvmsg:", EEXIST,
         "a queue with that key exists; remove it (ipcrm -Q KEY) or "
         "--dial it"},
};

static const char *
cli_limit_hint(const char *url, int err)
{
	size_t n = sizeof(cli_limit_hints) / sizeof(cli_limit_hints[0]);
	for (size_t i = 0; i < n; i++) {
		const char *sch = cli_limit_hints[i].scheme;
		if (err == cli_limit_hints[i].err &&
		    !strncmp(url, sch, strlen(sch)))
			return cli_limit_hints[i].hint;
	}
	return NULL;
}

int
cli_fail(const char *verb, const char *url, int err)
{
	err = err < 0 ? -err : err;
	const char *hint = cli_limit_hint(url, err);
	if (!hint)
		hint = cli_hint(err);
	fprintf(stderr, "ipckit: %s: %s: %s%s%s%s\n", verb, url,
	        ipk_strerror(err), hint ? " (" : "", hint ? hint : "",
	        hint ? ")" : "");
	return 1;
}

int
cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ipckit: %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ipckit %s --help')\n", verb);
	return EXIT_USAGE;
}

bool
cli_num(const char *s, long long lo, long long hi, long long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

static void
cli_on_signal(int sig)
{
	cli_stop = sig;
}

void
cli_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
cli_exit_code(int rc)
{
	return cli_stop ? 128 + cli_stop : rc;
}

char *
cli_url_timeout(const char *url, int timeout_ms)
{
	size_t n = strlen(url) + 32;
	char *s = malloc(n);
	if (!s)
		return NULL;
	const char *q = strchr(url, '?');
	if (q && (strstr(q, "?timeout=") || strstr(q, "&timeout=")))
		snprintf(s, n, "%s", url);
	else
		snprintf(s, n, "%s%ctimeout=%d", url, q ? '&' : '?',
		         timeout_ms);
	return s;
}

/* Accept one connection, a slice at a time so a signal can stop us. */
static int
cli_accept_one(ipk_chan *l, int timeout_ms, ipk_chan **conn)
{
	int waited = 0;
	for (;;) {
		int rc = ipk_accept(l, conn, CLI_SLICE_MS);
		if (rc != -ETIMEDOUT || cli_stop)
			return rc;
		waited += CLI_SLICE_MS;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return rc;
	}
}

int
cli_open(const char *url, bool listen, bool want_conn, int timeout_ms,
         ipk_chan **owner, ipk_chan **conn)
{
	*owner = *conn = NULL;
	char *u = cli_url_timeout(url, timeout_ms);
	if (!u)
		return -ENOMEM;
	int rc = listen ? ipk_listen(u, owner) : ipk_dial(u, owner);
	free(u);
	if (rc < 0)
		return rc;
	*conn = *owner;
	if (!listen || !want_conn)
		return 0;
	rc = cli_accept_one(*owner, timeout_ms, conn);
	if (rc == -ENOTSUP) {
		*conn = *owner;
		return 0;
	}
	if (rc < 0) {
		ipk_close(*owner);
		*owner = *conn = NULL;
	}
	return rc;
}

bool
cli_url_flag(const char *url, const char *flag)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(flag);
	while (q) {
		q++;
		if (!strncmp(q, flag, n) && (q[n] == '\0' || q[n] == '&'))
			return true;
		q = strchr(q, '&');
	}
	return false;
}

static bool
cli_allowed(const char *allowed, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = allowed; (p = strstr(p, name)); p += n)
		if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/* Options that take a value, and where it goes. */
static int
cli_parse_value(const char *verb, struct cli_opts *o, const char *name,
                const char *v)
{
	if (!v)
		return cli_usage(verb, "--%s needs a value", name);
	if (!strcmp(name, "timeout") || !strcmp(name, "n")) {
		long long t;
		if (!cli_num(v, name[0] == 'n' ? 1 : -1, 0x7fffffff, &t))
			return cli_usage(verb, "bad number for --%s", name);
		if (name[0] == 'n')
			o->count = t;
		else
			o->timeout = (int)t;
	} else if (!strcmp(name, "type")) {
		if (!cli_num(v, -0x7fffffffL, 0x7fffffffL, &o->type))
			return cli_usage(verb, "bad number for --type");
		o->type_set = true;
	} else if (!strcmp(name, "prio")) {
		if (!cli_num(v, 0, 0x7fffffff, &o->prio))
			return cli_usage(verb, "bad number for --prio");
		o->prio_set = true;
	} else if (!strcmp(name, "file")) {
		o->file = v;
	} else if (!strcmp(name, "fd")) {
		o->fd_file = v;
	} else {
		o->save_fds = v;
	}
	return 0;
}

static int
cli_parse_flag(struct cli_opts *o, const char *name)
{
	if (!strcmp(name, "listen"))
		o->listen = true;
	else if (!strcmp(name, "dial"))
		o->listen = false;
	else if (!strcmp(name, "hex"))
		o->hex = true;
	else if (!strcmp(name, "json"))
		o->json = true;
	else if (!strcmp(name, "peer"))
		o->peer = true;
	else
		return -1;
	return 0;
}

int
cli_parse(const char *verb, int argc, char **argv, const char *allowed,
          struct cli_opts *o)
{
	static char *none[1];
	o->args = none;
	bool opts_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (!o->url)
				o->url = a;
			else if (o->nargs++ == 0)
				o->args = &argv[i];
			else if (o->args + o->nargs - 1 != &argv[i])
				return cli_usage(verb, "options must not split "
				                       "the messages; use -- "
				                       "before them");
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = true;
			return 0;
		}
		const char *name = a[1] == '-' ? a + 2 : a + 1;
		if (!cli_allowed(allowed, name))
			return cli_usage(verb, "unknown option '%s'", a);
		if (cli_parse_flag(o, name) == 0)
			continue;
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = cli_parse_value(verb, o, name, v);
		if (rc)
			return rc;
		i++;
	}
	if (!o->url)
		return cli_usage(verb, "no URL given");
	return 0;
}
