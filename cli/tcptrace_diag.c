/*
 * tcptrace_diag.c - what tcp-trace asks sock_diag (NETLINK_SOCK_DIAG,
 * inet_diag): the timewait socket the close left and the time its timer
 * has left, and, where the tracepoint is out of reach (not root), the
 * connection's states sampled every millisecond.  Sampling misses what
 * lasts less than a sample: the events are marked sampled.
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
