/*
 * tcptrace_diag.c - what tcp-trace asks sock_diag (NETLINK_SOCK_DIAG,
 * inet_diag): the timewait socket the close left and the time its timer
 * has left, and, where the tracepoint is out of reach (not root), the
 * connection's states sampled every millisecond (also for watching, by
 * the watched ports).  Sampling misses what lasts less than a sample:
 * the events are marked sampled.
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DIAG_TW 6        /* TCP_TIME_WAIT */
#define DIAG_ALL 0xffffu /* every state */
#define DIAG_SAMPLE_NS 1000000L

typedef void diag_fn(const struct inet_diag_msg *m, void *arg);

struct tt_sampler {
	struct tt_trace *tr;
	pthread_t th;
	_Atomic int stop;
	int last[2]; /* each side's state at the previous sample, 0 none */
	int seen[2];
};

static int
diag_request(int fd, int family, unsigned states)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
	        .nh = {.nlmsg_len = sizeof(req),
	               .nlmsg_type = SOCK_DIAG_BY_FAMILY,
	               .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	        .r = {.sdiag_family = (uint8_t)family,
	              .sdiag_protocol = IPPROTO_TCP,
	              .idiag_states = states},
	};
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl,
	           sizeof(nl)) < 0)
		return -errno;
	return 0;
}

/* Hand each message of one buffer to fn: 1 when the dump is done. */
static int
diag_walk(char *buf, ssize_t n, diag_fn *fn, void *arg)
{
	for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR)
			return -EPROTO;
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
			fn(NLMSG_DATA(h), arg);
	}
	return 0;
}

/* Every TCP socket of family in states, to fn. */
static int
diag_dump(int family, unsigned states, diag_fn *fn, void *arg)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	                NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	static _Thread_local char buf[32768]
	        __attribute__((aligned(NLMSG_ALIGNTO)));
	int rc = diag_request(fd, family, states);
	while (rc == 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		rc = n < 0 ? -errno : diag_walk(buf, n, fn, arg);
	}
	close(fd);
	return rc < 0 ? rc : 0;
}

/* Which side of the trace's connection m is, or -1. */
static int
diag_side(const struct tt_trace *tr, const struct inet_diag_msg *m)
{
	int sport = ntohs(m->id.idiag_sport), dport = ntohs(m->id.idiag_dport);
	if (sport == tr->port && (!tr->cport || dport == tr->cport))
		return dport ? TT_SERVER : -1;
	if (dport == tr->port && (!tr->cport || sport == tr->cport))
		return TT_CLIENT;
	return -1;
}

static void
diag_tw_one(const struct inet_diag_msg *m, void *arg)
{
	struct tt_trace *tr = arg;
	int side = diag_side(tr, m);
	if (side < 0 || m->idiag_state != DIAG_TW)
		return;
	tr->tw_ms[side] = m->idiag_expires;
}

int
tt_diag_timewait(struct tt_trace *tr)
{
	tr->tw_ms[0] = tr->tw_ms[1] = -1;
	return diag_dump(tr->v6 ? AF_INET6 : AF_INET, 1u << DIAG_TW,
	                 diag_tw_one, tr);
}

static void
diag_sample_one(const struct inet_diag_msg *m, void *arg)
{
	struct tt_sampler *s = arg;
	int side = diag_side(s->tr, m);
	if (side >= 0)
		s->seen[side] = m->idiag_state;
}

/* One sample: each side whose state differs from the last gets an event;
 * a socket that is gone is CLOSE. */
static void
diag_sample(struct tt_sampler *s)
{
	s->seen[0] = s->seen[1] = 0;
	if (diag_dump(s->tr->v6 ? AF_INET6 : AF_INET, DIAG_ALL, diag_sample_one,
	              s))
		return;
	for (int side = 0; side < 2; side++) {
		int now = s->seen[side] ? s->seen[side] : s->last[side] ? 7 : 0;
		if (now == s->last[side])
			continue;
		struct tt_event e = {.t = tt_now(),
		                     .kind = TT_STATE,
		                     .side = side,
		                     .oldst = s->last[side],
		                     .newst = now,
		                     .sampled = true};
		tt_add(s->tr, &e);
		s->last[side] = now == 7 ? 0 : now;
	}
}

static void *
diag_sampler_main(void *arg)
{
	struct tt_sampler *s = arg;
	struct timespec ts = {0, DIAG_SAMPLE_NS};
	while (!s->stop) {
		diag_sample(s);
		nanosleep(&ts, NULL);
	}
	diag_sample(s);
	return NULL;
}

int
tt_sampler_start(struct tt_sampler **out, struct tt_trace *tr)
{
	struct tt_sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->tr = tr;
	int err = pthread_create(&s->th, NULL, diag_sampler_main, s);
	if (err) {
		free(s);
		return -err;
	}
	*out = s;
	return 0;
}

void
tt_sampler_stop(struct tt_sampler *s)
{
	if (!s)
		return;
	s->stop = 1;
	pthread_join(s->th, NULL);
	free(s);
}

/* Watching without the tracepoint: every connection on the watched ports,
 * by its ports, with the state it had at the last sample. */
#define WS_MAX 1024
#define WS_CLOSE 7 /* TCP_CLOSE */

struct ws_conn {
	uint16_t lport, rport;
	uint8_t side, st;
	bool seen;
};

struct tt_wsamp {
	const struct tt_ports *ports;
	int family; /* AF_INET, AF_INET6, or 0 for both */
	bool started;
	bool full;
	size_t n;
	struct ws_conn c[WS_MAX];
	struct tt_trace *tr;
	int err;
};

int
tt_wsamp_open(struct tt_wsamp **out, const struct tt_ports *ports, int family)
{
	struct tt_wsamp *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->ports = ports;
	ws->family = family;
	*out = ws;
	return 0;
}

void
tt_wsamp_close(struct tt_wsamp *ws)
{
	free(ws);
}

static void
ws_event(struct tt_wsamp *ws, const struct ws_conn *c, int oldst, int newst)
{
	struct tt_event e = {.t = tt_now(),
	                     .kind = TT_STATE,
	                     .side = c->side,
	                     .oldst = oldst,
	                     .newst = newst,
	                     .sampled = true,
	                     .sport = c->lport,
	                     .dport = c->rport};
	if (!ws->err)
		ws->err = tt_add(ws->tr, &e);
}

static struct ws_conn *
ws_find(struct tt_wsamp *ws, int side, int lport, int rport)
{
	for (size_t i = 0; i < ws->n; i++)
		if (ws->c[i].side == side && ws->c[i].lport == lport &&
		    ws->c[i].rport == rport)
			return &ws->c[i];
	if (ws->n == WS_MAX) {
		if (!ws->full)
			fprintf(stderr,
			        "ipckit: tcp-trace: more than %d "
			        "connections; the others are not shown\n",
			        WS_MAX);
		ws->full = true;
		return NULL;
	}
	ws->c[ws->n] = (struct ws_conn){.side = (uint8_t)side,
	                                .lport = (uint16_t)lport,
	                                .rport = (uint16_t)rport};
	return &ws->c[ws->n++];
}

/* One socket of the dump: a connection that appears after the first
 * sample comes from CLOSE, one there from the start is first seen. */
static void
ws_one(const struct inet_diag_msg *m, void *arg)
{
	struct tt_wsamp *ws = arg;
	int sport = ntohs(m->id.idiag_sport), dport = ntohs(m->id.idiag_dport);
	int side = tt_ports_has(ws->ports, sport)   ? TT_SERVER
	           : tt_ports_has(ws->ports, dport) ? TT_CLIENT
	                                            : -1;
	if (side < 0 || !dport) /* listeners are not connections */
		return;
	struct ws_conn *c = ws_find(ws, side, sport, dport);
	if (!c)
		return;
	c->seen = true;
	if (c->st == m->idiag_state)
		return;
	ws_event(ws, c,
	         c->st         ? c->st
	         : ws->started ? WS_CLOSE
	                       : 0,
	         m->idiag_state);
	c->st = m->idiag_state;
}

/* A connection no longer in the dump is CLOSE. */
static void
ws_sweep(struct tt_wsamp *ws)
{
	for (size_t i = 0; i < ws->n;) {
		struct ws_conn *c = &ws->c[i];
		if (c->seen) {
			c->seen = false;
			i++;
			continue;
		}
		ws_event(ws, c, c->st, WS_CLOSE);
		*c = ws->c[--ws->n];
	}
}

int
tt_wsamp_read(struct tt_wsamp *ws, struct tt_trace *tr)
{
	int err = 0;
	ws->tr = tr;
	ws->err = 0;
	if (ws->family != AF_INET6)
		err = diag_dump(AF_INET, DIAG_ALL, ws_one, ws);
	if (!err && ws->family != AF_INET)
		err = diag_dump(AF_INET6, DIAG_ALL, ws_one, ws);
	if (err)
		return err;
	ws_sweep(ws);
	ws->started = true;
	return ws->err;
}
