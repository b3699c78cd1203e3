/*
 * tcptrace_run.c - the connection tcp-trace watches: a loopback listener,
 * a client that connects to it, --data bytes from client to server, then
 * the close in the order asked (one side, the other, or both at once
 * after a barrier), with FIN or, with --linger, RST.  Plain sockets.
 */
#include "cli.h"
#include "tcptrace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RUN_WAIT_MS 10000 /* a loopback peer that says nothing this long */
#define RUN_PAUSE_MS 20   /* between steps, so the timeline shows them */

struct tt_run {
	int lfd, cfd, sfd;
	bool v6;
	struct sockaddr_storage addr;
	socklen_t alen;
};

struct run_side {
	int fd;
	bool linger;
	pthread_barrier_t *go;
	int rc;
};

static void
run_pause(void)
{
	struct timespec ts = {0, RUN_PAUSE_MS * 1000000L};
	nanosleep(&ts, NULL);
}

static void
run_addr(struct tt_run *r, int port)
{
	memset(&r->addr, 0, sizeof(r->addr));
	if (r->v6) {
		struct sockaddr_in6 *a = (void *)&r->addr;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		r->alen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&r->addr;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		r->alen = sizeof(*a);
	}
}

static int
run_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* A listener on r's address: its fd, or -errno. */
static int
run_listener(const struct tt_run *r, int reuse)
{
	int fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)) ||
	    bind(fd, (const struct sockaddr *)&r->addr, r->alen) ||
	    listen(fd, 1)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int
tt_run_listen(struct tt_run **out, const struct tt_opts *o, int *port)
{
	struct tt_run *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfd = r->sfd = -1;
	r->v6 = o->v6;
	run_addr(r, o->port);
	/* A server that closed first left its port in TIME_WAIT. */
	r->lfd = run_listener(r, 1);
	if (r->lfd < 0 ||
	    getsockname(r->lfd, (struct sockaddr *)&r->addr, &r->alen)) {
		int err = r->lfd < 0 ? r->lfd : -errno;
		tt_run_free(r);
		return err;
	}
	*port = run_port(&r->addr);
	*out = r;
	return 0;
}

void
tt_run_restart(struct tt_run *r, int res[2])
{
	close(r->lfd);
	r->lfd = -1;
	for (int reuse = 0; reuse < 2; reuse++) {
		int fd = run_listener(r, reuse);
		res[reuse] = fd < 0 ? fd : 0;
		if (fd >= 0)
			close(fd);
	}
}

static int
run_accept(struct tt_run *r)
{
	struct pollfd p = {.fd = r->lfd, .events = POLLIN};
	int n = poll(&p, 1, RUN_WAIT_MS);
	if (n <= 0)
		return n == 0 ? -ETIMEDOUT : -errno;
	r->sfd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	return r->sfd < 0 ? -errno : 0;
}

/* Wait for both fds to be ready for what is left to do. */
static int
run_poll(int cfd, bool want_out, int sfd)
{
	struct pollfd p[2] = {{.fd = want_out ? cfd : -1, .events = POLLOUT},
	                      {.fd = sfd, .events = POLLIN}};
	int n = poll(p, 2, RUN_WAIT_MS);
	if (n < 0)
		return errno == EINTR && !cli_stop ? 0 : -errno;
	return n == 0 || cli_stop ? -ETIMEDOUT : 0;
}

/* n bytes from client to server, both non-blocking in one loop. */
static int
run_data(struct tt_run *r, long long n)
{
	static char buf[65536];
	long long sent = 0, got = 0;
	while (got < n) {
		size_t want = (size_t)(n - sent < (long long)sizeof(buf)
		                               ? n - sent
		                               : (long long)sizeof(buf));
		ssize_t w = sent < n ? send(r->cfd, buf, want,
		                            MSG_DONTWAIT | MSG_NOSIGNAL)
		                     : 0;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		sent += w > 0 ? w : 0;
		ssize_t g = recv(r->sfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (g == 0)
			return -EPIPE;
		if (g < 0 && errno != EAGAIN)
			return -errno;
		got += g > 0 ? g : 0;
		if (w <= 0 && g <= 0 && run_poll(r->cfd, sent < n, r->sfd))
			return -ETIMEDOUT;
	}
	return 0;
}

/* Read until the peer's FIN (0) or RST (-ECONNRESET). */
static int
run_until_eof(int fd)
{
	char buf[4096];
	ssize_t n;
	while ((n = cli_read(fd, buf, sizeof(buf), RUN_WAIT_MS)) > 0)
		;
	return (int)n;
}

/* The first close of a side: RST with --linger, else a FIN. */
static int
run_first_close(int *fd, bool linger)
{
	if (!linger)
		return shutdown(*fd, SHUT_WR) ? -errno : 0;
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	if (setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		return -errno;
	close(*fd);
	*fd = -1;
	return 0;
}

/* One side of a simultaneous close: FIN (or RST) at the barrier. */
static void *
run_side_main(void *arg)
{
	struct run_side *s = arg;
	pthread_barrier_wait(s->go);
	s->rc = run_first_close(&s->fd, s->linger);
	if (s->rc == 0 && s->fd >= 0) {
		int rc = run_until_eof(s->fd);
		s->rc = rc == -ECONNRESET ? 0 : rc;
	}
	return NULL;
}

static int
run_both(struct tt_run *r, bool linger)
{
	pthread_barrier_t go;
	pthread_t th;
	struct run_side c = {r->cfd, linger, &go, 0};
	struct run_side s = {r->sfd, linger, &go, 0};
	if (pthread_barrier_init(&go, NULL, 2))
		return -ENOMEM;
	int err = pthread_create(&th, NULL, run_side_main, &s);
	if (err) {
		pthread_barrier_destroy(&go);
		return -err;
	}
	run_side_main(&c);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&go);
	r->cfd = c.fd;
	r->sfd = s.fd;
	return c.rc ? c.rc : s.rc;
}

/* The closer goes first; the other side reads the FIN, then closes. */
static int
run_one(int *closer, int *other, bool linger)
{
	int rc = run_first_close(closer, linger);
	if (rc)
		return rc;
	rc = run_until_eof(*other);
	if (rc && rc != -ECONNRESET)
		return rc;
	run_pause();
	if (linger)
		return 0;
	if (shutdown(*other, SHUT_WR))
		return -errno;
	rc = run_until_eof(*closer);
	return rc == -ECONNRESET ? 0 : rc;
}

static int
run_close(struct tt_run *r, const struct tt_opts *o)
{
	switch (o->close) {
	case TT_CLOSE_CLIENT:
		return run_one(&r->cfd, &r->sfd, o->linger);
	case TT_CLOSE_SERVER:
		return run_one(&r->sfd, &r->cfd, o->linger);
	default:
		return run_both(r, o->linger);
	}
}

int
tt_run_go(struct tt_run *r, const struct tt_opts *o, int *cport)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);
	r->cfd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->cfd < 0 || connect(r->cfd, (struct sockaddr *)&r->addr, r->alen))
		return -errno;
	if (getsockname(r->cfd, (struct sockaddr *)&me, &len))
		return -errno;
	*cport = run_port(&me);
	int rc = run_accept(r);
	if (rc == 0 && o->data > 0) {
		run_pause();
		rc = run_data(r, o->data);
	}
	run_pause();
	return rc ? rc : run_close(r, o);
}

void
tt_run_free(struct tt_run *r)
{
	if (!r)
		return;
	if (r->cfd >= 0)
		close(r->cfd);
	if (r->sfd >= 0)
		close(r->sfd);
	if (r->lfd >= 0)
		close(r->lfd);
	free(r);
}
