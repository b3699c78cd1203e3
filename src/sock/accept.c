/*
 * accept.c - the accepting half of the socket listeners (notes section
 * 6.6, step 4): the SO_PEERCRED policy and ?maxconn= decided on each new
 * connection, refused peers closed at once within the caller's deadline,
 * and EMFILE shed with a spare descriptor instead of a spinning poll.
 */
#include "sock.h"
#include "../core/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

/*
 * Out of descriptors: a pending connection would keep the listener
 * readable, so a poll loop would spin.  Free the spare descriptor, take
 * the connection and close it (libuv's trick).  accept4 fails with
 * EMFILE before it looks at the queue, so false means none was waiting.
 */
static bool
sock_shed(struct ipk__sock *l)
{
	if (l->spare < 0)
		return false;
	close(l->spare);
	int fd = accept(l->base.fd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

/* Set up c for an accepted fd, or -EACCES when the policy says no. */
static int
sock_admit(struct ipk__sock *l, struct ipk__sock *c, int fd,
           const struct ipk__saddr *pa)
{
	c->family = l->family;
	c->type = l->type;
	c->pol = l->pol;
	c->base.frame_ms = l->base.frame_ms;
	c->spare = -1;
	pthread_mutex_init(&c->peer_lock, NULL);
	c->peer = *pa;
	c->connected = true;
	c->base.fd = fd;
	struct ipk_peer p;
	int rc = 0;
	/* Beyond ?maxconn: closed at once, so descriptors stay bounded. */
	if (l->conns && l->conns->live >= l->conns->max)
		rc = -EACCES;
	if (rc == 0 && l->family == AF_UNIX) {
		rc = ipk__sock_peercred(fd, &p);
		if (rc == 0 && !ipk__sock_allowed(&l->pol, p.uid))
			rc = -EACCES;
	}
	if (rc == 0)
		rc = ipk__sock_setup(c);
	if (rc < 0) {
		close(fd);
		c->base.fd = -1;
		return rc;
	}
	if (l->conns) {
		c->conns = l->conns;
		c->counted = true;
		c->conns->live++;
		c->conns->refs++;
	}
	return 0;
}

int
ipk__sock_accept(struct ipk_chan *lc, struct ipk_chan *cc, int64_t deadline)
{
	struct ipk__sock *l = (struct ipk__sock *)lc;
	struct ipk__sock *c = (struct ipk__sock *)cc;
	for (;;) {
		struct ipk__saddr pa = {.len = sizeof(pa.ss)};
		int fd = accept4(l->base.fd, (struct sockaddr *)&pa.ss, &pa.len,
		                 SOCK_CLOEXEC);
		if (fd >= 0) {
			int rc = sock_admit(l, c, fd, &pa);
			if (rc != -EACCES)
				return rc;
			/* A refused peer: go on, but within the deadline. */
			l->refused++;
			if ((rc = ipk__check_deadline(lc, deadline)) < 0)
				return rc;
			continue;
		}
		int err = errno;
		if ((err == EMFILE || err == ENFILE) &&
		    (l->spare < 0 || sock_shed(l)))
			return -err;
		if (err == EINTR || err == ECONNABORTED || err == EPROTO)
			continue;
		if (err != EAGAIN && err != EMFILE && err != ENFILE)
			return -err;
		int rc = ipk__wait(lc, l->base.fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}
