/*
 * tcptrace_watch.c - `ipckit tcp-trace HOST:PORT`: the connections others
 * make to that address (nc, curl, a program under test), live: the
 * tracepoint's states from trace_pipe and the capture's packets, merged
 * in time order with a short hold, until SIGINT or --count connections
 * have closed.  The side on PORT is the server, the other the client.
 */
#include "cli.h"
#include "tcptrace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_HOLD 0.1 /* s: an event waits this long for earlier ones */
#define WATCH_TICK_MS 50
#define WATCH_CLOSE 7 /* TCP_CLOSE */

/* "127.0.0.1:80", "[::1]:80": the port, and whether it is loopback. */
int
tt_watch_addr(const char *s, int *port, bool *loop)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long long p;
	if (!colon || !cli_num(colon + 1, 1, 65535, &p))
		return -EINVAL;
	size_t n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		*loop = (ntohl(a4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		*loop = IN6_IS_ADDR_LOOPBACK(&a6);
	else
		return -EINVAL;
	*port = (int)p;
	return 0;
}

/* Print, in time order, the events older than the hold; the count of
 * server sockets that closed among them goes to *closed. */
static size_t
watch_flush(struct tt_trace *tr, size_t shown, double limit, long long *closed)
{
	tt_sort(tr, shown);
	for (; shown < tr->n && tr->ev[shown].t < limit; shown++) {
		const struct tt_event *e = &tr->ev[shown];
		if (!tr->json)
			tt_out_event(stdout, tr, e);
		if (e->kind == TT_STATE && e->side == TT_SERVER &&
		    e->newst == WATCH_CLOSE)
			(*closed)++;
	}
	fflush(stdout);
	return shown;
}

static int
watch_loop(struct tt_trace *tr, struct tt_fs *fs, struct tt_cap *cap,
           const struct tt_opts *o)
{
	struct pollfd p[3] = {
	        {.fd = cli_cancel_fd(), .events = POLLIN},
	        {.fd = tt_fs_pipe(fs), .events = POLLIN},
	        {.fd = cap ? tt_cap_fd(cap) : -1, .events = POLLIN}};
	size_t shown = 0;
	long long closed = 0;
	if (p[1].fd < 0)
		return p[1].fd;
	fprintf(stderr, "ipckit: tcp-trace: watching %s (SIGINT stops)\n",
	        o->watch);
	while (!cli_stop && (!o->count || closed < o->count)) {
		if (poll(p, 3, WATCH_TICK_MS) < 0 && errno != EINTR)
			return -errno;
		int err = tt_fs_read(fs, tr);
		if (!err && cap)
			err = tt_cap_read(cap, tr);
		if (err)
			return err;
		shown = watch_flush(tr, shown, tt_now() - WATCH_HOLD, &closed);
	}
	watch_flush(tr, shown, 1e300, &closed);
	return 0;
}

static int
watch_run(struct tt_trace *tr, const struct tt_opts *o)
{
	struct tt_fs *fs = NULL;
	struct tt_cap *cap = NULL;
	const char *why = NULL;
	int err = tt_fs_open(&fs, tr->port);
	if (err)
		return cli_fail_hint("tcp-trace", "sock:inet_sock_set_state",
		                     err, "watching needs root and tracefs");
	if (tt_cap_open(&cap, tr->port, tr->dev, &why) == 0)
		tr->packets = "libpcap";
	else
		fprintf(stderr, "ipckit: tcp-trace: no packets: %s\n", why);
	tr->nopkt = why;
	tr->t0 = tt_now();
	err = watch_loop(tr, fs, cap, o);
	tt_cap_close(cap);
	tt_fs_close(fs);
	if (err)
		return cli_fail("tcp-trace", o->watch, err);
	if (tr->json)
		tt_out_json(stdout, tr);
	return fflush(stdout) ? 1 : 0;
}

int
tt_watch(const struct tt_opts *o)
{
	struct tt_trace tr = {.states = "tracepoint", .tw_ms = {-1, -1}};
	tr.port = o->watch_port; /* cmd_tcp_trace_parse checked o->watch */
	tr.v6 = strchr(o->watch, '[') != NULL;
	tr.dev = o->watch_loop ? "lo" : "any";
	tr.json = o->json;
	int rc = watch_run(&tr, o);
	free(tr.ev);
	return rc;
}
