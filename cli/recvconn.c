/*
 * recvconn.c - recv on a listener with connections: serves as many at
 * once as the URL's ?maxconn= allows (default 1024) with one poll over
 * them, the listener and the cancel descriptor.  A connection that ends
 * badly is reported and closed; the others go on.
 */
#include "recv.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>

#define CONN_DEFAULT_MAX 1024
#define CONN_SPARE_FDS 64 /* descriptors beside the connections */

struct conn_set {
	ipk_chan **c;
	struct pollfd *p; /* p[0] cancel, p[1] listener, p[2 + i] c[i] */
	size_t n, cap, ended;
};

/* The connections need descriptors: raise the soft limit toward them. */
static void
conn_raise_nofile(size_t cap)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cap + CONN_SPARE_FDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int
conn_init(struct conn_set *s, const char *url)
{
	s->cap = (size_t)cli_url_num(url, "maxconn", CONN_DEFAULT_MAX);
	s->c = calloc(s->cap ? s->cap : 1, sizeof(*s->c));
	s->p = calloc(s->cap + 2, sizeof(*s->p));
	if (!s->c || !s->p)
		return -ENOMEM;
	conn_raise_nofile(s->cap);
	return 0;
}

static void
conn_free(struct conn_set *s)
{
	while (s->n > 0)
		ipk_close(s->c[--s->n]);
	free(s->c);
	free(s->p);
}

static void
conn_add(struct conn_set *s, ipk_chan *c)
{
	if (s->n < s->cap)
		s->c[s->n++] = c;
	else
		ipk_close(c); /* the library keeps to ?maxconn= already */
}

/* Every message a readable connection has whole: 0 while it stays. */
static int
conn_drain(struct recv_ctx *r, ipk_chan *c)
{
	int rc;
	while ((rc = recv_one(r, c, 0)) == 0 && !recv_done(r))
		;
	return rc == -EAGAIN || rc == -ETIMEDOUT ? 0 : rc;
}

/* Read the readable connections; close the ones that ended. */
static void
conn_serve(struct recv_ctx *r, struct conn_set *s)
{
	for (size_t i = s->n; i-- > 0 && !recv_done(r);) {
		if (!s->p[i + 2].revents)
			continue;
		int rc = conn_drain(r, s->c[i]);
		if (rc == 0 || r->out_err)
			continue;
		if (rc != -EPIPE)
			recv_lost(r, s->c[i], rc);
		ipk_close(s->c[i]);
		s->c[i] = s->c[--s->n];
		s->ended++;
	}
}

static int
conn_accept(struct conn_set *s, ipk_chan *l)
{
	ipk_chan *c;
	int rc;
	/* Beyond ?maxconn= the library refuses (and counts) by itself. */
	while ((rc = ipk_accept(l, &c, 0)) == 0)
		conn_add(s, c);
	return rc == -EAGAIN ? 0 : rc;
}

/* One poll and what it found: 0 to go on, or what ends the run. */
static int
conn_round(struct recv_ctx *r, struct conn_set *s, ipk_chan *l)
{
	s->p[0] = (struct pollfd){.fd = cli_cancel_fd(), .events = POLLIN};
	s->p[1] = (struct pollfd){.fd = ipk_fd(l), .events = POLLIN};
	for (size_t i = 0; i < s->n; i++)
		s->p[i + 2] = (struct pollfd){ipk_fd(s->c[i]), POLLIN, 0};
	int k = poll(s->p, s->n + 2, r->o->timeout);
	if (k < 0)
		return errno == EINTR ? 0 : -errno;
	if (k == 0)
		return -ETIMEDOUT;
	if (s->p[0].revents)
		return -ECANCELED;
	conn_serve(r, s);
	if (r->out_err)
		return r->out_err;
	if (r->raw && s->n == 0 && s->ended > 0)
		return -EPIPE; /* ?raw: the peer's EOF ends the run */
	int rc = s->p[1].revents & POLLIN ? conn_accept(s, l) : 0;
	if (rc < 0 && rc != -ECANCELED)
		cli_fail_at("recv", r->o->url, rc, CLI_OPEN);
	return rc == -ECANCELED ? rc : 0;
}

int
recv_many(struct recv_ctx *r, ipk_chan *l, ipk_chan *first)
{
	struct conn_set s = {0};
	int rc = conn_init(&s, r->o->url);
	if (rc == 0 && first)
		conn_add(&s, first);
	else
		ipk_close(first);
	while (rc == 0 && !recv_done(r))
		rc = conn_round(r, &s, l);
	conn_free(&s);
	return rc;
}
