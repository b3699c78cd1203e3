/*
 * tcptrace_watch.c - `ipckit tcp-trace HOST:PORT`: the connections others
 * make to that address (nc, curl, a program under test), live: the
 * tracepoint's states from trace_pipe (without it, sock_diag sampled
 * every millisecond) and the capture's packets, merged in time order with
 * a short hold, until SIGINT or --count connections have closed.  The side on
 * PORT is the server, the other the client.
 * --pid runs the same loop with a hook that picks ports and events.
 */
#include "cli.h"
#include "tcptrace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WATCH_HOLD 0.1 /* s: an event waits this long for earlier ones */
#define WATCH_TICK_MS 50
#define WATCH_SAMPLE_MS 1
#define WATCH_HOOK_S 0.1  /* s between the hook's ticks */
#define WATCH_CLOSE 7     /* TCP_CLOSE */
#define WATCH_SYN_SENT 2  /* TCP_SYN_SENT */
#define WATCH_SYN_RECV 3  /* TCP_SYN_RECV */
#define WATCH_TIME_WAIT 6 /* TCP_TIME_WAIT */

/* --count counts connections seen from their start to the server's
 * close, by client port: one already open when the watch began is
 * shown but not counted. */
struct watch_count {
	long long closed;
	uint8_t opened[65536 / 8];
};

/* The server's end is done: CLOSE, or, sampled, the TIME_WAIT that the
 * tracepoint shows as CLOSE (the sampler sees CLOSE only 60 s later). */
static bool
watch_closed(const struct tt_event *e)
{
	return e->newst == WATCH_CLOSE ||
	       (e->sampled && e->newst == WATCH_TIME_WAIT);
}

static void
watch_count(struct watch_count *c, const struct tt_event *e)
{
	int cp = e->side == TT_SERVER ? e->dport : e->sport;
	uint8_t bit = (uint8_t)(1u << (cp & 7));
	if (e->kind != TT_STATE)
		return;
	if ((e->side == TT_CLIENT && e->newst == WATCH_SYN_SENT) ||
	    (e->side == TT_SERVER && e->newst == WATCH_SYN_RECV))
		c->opened[cp >> 3] |= bit;
	if (e->sampled && e->oldst == WATCH_CLOSE) /* appeared */
		c->opened[cp >> 3] |= bit;
	if (e->side == TT_SERVER && watch_closed(e) &&
	    (c->opened[cp >> 3] & bit)) {
		c->opened[cp >> 3] &= (uint8_t)~bit;
		c->closed++;
	}
}

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

/* Print, in time order, the events older than the hold that the hook
 * keeps (the others are dropped), and count the connections that
 * closed among them in *c. */
static size_t
watch_flush(struct tt_trace *tr, size_t shown, double limit,
            struct watch_count *c, const struct tt_watch_hook *h)
{
	size_t i = shown;
	tt_sort(tr, shown);
	for (; i < tr->n && tr->ev[i].t < limit; i++) {
		if (h && !h->keep(h->arg, &tr->ev[i]))
			continue;
		tr->ev[shown] = tr->ev[i];
		const struct tt_event *e = &tr->ev[shown++];
		if (e->kind == TT_PACKET && (e->flags & TT_SYN)) {
			tr->isn[e->side] = e->seq;
			tr->have_isn[e->side] = true;
		}
		if (!tr->json)
			tt_out_event(stdout, tr, e);
		watch_count(c, e);
	}
	if (i > shown) {
		memmove(tr->ev + shown, tr->ev + i,
		        (tr->n - i) * sizeof(*tr->ev));
		tr->n -= i - shown;
	}
	fflush(stdout);
	return shown;
}

/* Where the events come from: the tracepoint (fs) or, without it, the
 * sock_diag sampler (ws); packets when cap. */
struct watch_src {
	struct tt_fs *fs;
	struct tt_wsamp *ws;
	struct tt_cap *cap;
};

/* The hook's tick when it is due: > 0 ends the watch. */
static int
watch_tick(const struct tt_watch_hook *h, const struct watch_src *src,
           double *next)
{
	if (!h || tt_now() < *next)
		return 0;
	*next = tt_now() + WATCH_HOOK_S;
	return h->tick(h->arg, src->fs, src->cap);
}

/* Sampling wakes every millisecond, as the own-pair sampler does. */
static int
watch_wait(struct pollfd p[3], const struct watch_src *src)
{
	int ms = src->fs ? WATCH_TICK_MS : WATCH_SAMPLE_MS;
	return poll(p, 3, ms) < 0 && errno != EINTR ? -errno : 0;
}

static int
watch_read(const struct watch_src *src, struct tt_trace *tr)
{
	int err =
	        src->fs ? tt_fs_read(src->fs, tr) : tt_wsamp_read(src->ws, tr);
	if (!err && src->cap)
		err = tt_cap_read(src->cap, tr);
	return err;
}

static int
watch_loop(struct tt_trace *tr, const struct watch_src *src,
           const struct tt_opts *o, const char *what,
           const struct tt_watch_hook *h)
{
	struct pollfd p[3] = {
	        {.fd = cli_cancel_fd(), .events = POLLIN},
	        {.fd = src->fs ? tt_fs_pipe(src->fs) : -1, .events = POLLIN},
	        {.fd = src->cap ? tt_cap_fd(src->cap) : -1, .events = POLLIN}};
	size_t shown = 0;
	double next = 0;
	if (src->fs && p[1].fd < 0)
		return p[1].fd;
	int err = watch_tick(h, src, &next);
	if (err)
		return err < 0 ? err : 0;
	struct watch_count *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	fprintf(stderr, "ipckit: tcp-trace: watching %s (SIGINT stops)\n",
	        what);
	while (!err && !cli_stop && (!o->count || c->closed < o->count)) {
		err = watch_wait(p, src);
		if (!err)
			err = watch_read(src, tr);
		if (!err)
			err = watch_tick(h, src, &next);
		shown = watch_flush(tr, shown, tt_now() - WATCH_HOLD, c, h);
	}
	watch_flush(tr, shown, 1e300, c, h);
	free(c);
	return err < 0 ? err : 0;
}

/* No tracepoint: say once what that costs, and sample sock_diag. */
static int
watch_sampled(struct tt_trace *tr, struct watch_src *src,
              const struct tt_watch_hook *h, const struct tt_ports *one,
              int err)
{
	/* a process's sockets may be of either family */
	int family = h ? 0 : tr->v6 ? AF_INET6 : AF_INET;
	fprintf(stderr,
	        "ipckit: tcp-trace: no tracepoint sock:inet_sock_set_state "
	        "(%s; it needs root and tracefs): states sampled from "
	        "sock_diag every millisecond, marked sampled; shorter ones "
	        "are missed\n",
	        strerror(-err));
	tr->states = "sampled";
	return tt_wsamp_open(&src->ws, h ? h->ports : one, family);
}

int
tt_watch_run(struct tt_trace *tr, const struct tt_opts *o, const char *what,
             const struct tt_watch_hook *h)
{
	struct watch_src src = {0};
	struct tt_ports one = {.n = 1, .port = {tr->port}};
	const char *why = NULL;
	int err = tt_fs_open(&src.fs, tr->port);
	tr->isn_shown = true; /* SYNs the hook drops are no ISN */
	if (err)
		err = watch_sampled(tr, &src, h, &one, err);
	if (err)
		return cli_fail("tcp-trace", what, err);
	if (tt_cap_open(&src.cap, tr->port, tr->dev, &why) == 0)
		tr->packets = "libpcap";
	else
		fprintf(stderr, "ipckit: tcp-trace: no packets: %s\n", why);
	tr->nopkt = why;
	tr->t0 = tt_now();
	err = watch_loop(tr, &src, o, what, h);
	tt_cap_close(src.cap);
	tt_wsamp_close(src.ws);
	tt_fs_close(src.fs);
	if (err)
		return cli_fail("tcp-trace", what, err);
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
	int rc = tt_watch_run(&tr, o, o->watch, NULL);
	free(tr.ev);
	return rc;
}
