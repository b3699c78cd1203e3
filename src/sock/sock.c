/*
 * sock.c - the set-up half of the socket transports (notes section 6.6):
 * bind with the stale-socket probe, listen, connect with a deadline,
 * socketpair, and removal of what a listener bound.  Accepting is in
 * accept.c, data moves in sockmsg.c.
 */
#include "sock.h"
#include "../core/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXCONN 1024          /* default connections a listener keeps at once */
#define RXBUDGET (64ll << 20) /* default bytes of partial messages */

const char *const ipk__sock_unix_options[] = {"allow",   "uid",      "frame",
                                              "maxconn", "rxbudget", NULL};
const char *const ipk__sock_inet_options[] = {"frame", "maxconn", "rxbudget",
                                              NULL};

/* The five socket schemes; tcp and udp take the family of the address. */
static const struct sock_kind {
	const char *scheme;
	int family, type;
} sock_kinds[] = {
        {"unix", AF_UNIX, SOCK_STREAM},
        {"unixpacket", AF_UNIX, SOCK_SEQPACKET},
        {"unixgram", AF_UNIX, SOCK_DGRAM},
        {"tcp", AF_INET, SOCK_STREAM},
        {"udp", AF_INET, SOCK_DGRAM},
};

static const struct sock_kind *
sock_kind(const struct ipk_chan *c)
{
	size_t i = 0;
	while (strcmp(sock_kinds[i].scheme, c->tp->scheme) != 0)
		i++; /* every socket transport is in the table */
	return &sock_kinds[i];
}

/* The numeric options of every socket URL; a reason when one is bad. */
static int
sock_opts(const struct ipk_url *u, long long *frame, long long *maxconn,
          long long *budget, const char **why)
{
	*why = NULL;
	if (ipk__url_num(u, "frame", 0, INT_MAX, frame) < 0)
		*why = "bad ?frame= (ms, 0 for none)";
	else if (ipk__url_num(u, "maxconn", 1, INT_MAX, maxconn) < 0)
		*why = "bad ?maxconn= (1 or more)";
	else if (ipk__url_num(u, "rxbudget", 0, LLONG_MAX, budget) < 0)
		*why = "bad ?rxbudget= (bytes, 0 for none)";
	return *why ? -EINVAL : 0;
}

static int
sock_init(struct ipk__sock *s, const struct ipk_url *u, int family, int type)
{
	s->family = family;
	s->type = type;
	s->spare = -1;
	pthread_mutex_init(&s->peer_lock, NULL);
	long long frame = IPK__FRAME_MS, maxconn = MAXCONN, budget = RXBUDGET;
	const char *why;
	if (sock_opts(u, &frame, &maxconn, &budget, &why) < 0)
		return -EINVAL;
	s->base.frame_ms = s->type == SOCK_STREAM ? (int)frame : 0;
	s->maxconn = (int)maxconn;
	s->rxbudget = (size_t)budget;
	return family == AF_UNIX ? ipk__sock_policy_parse(&s->pol, u) : 0;
}

int
ipk__sock_check(const struct ipk_url *u, char *why, size_t size)
{
	long long frame, maxconn, budget;
	const char *text = NULL;
	struct ipk__credpol pol;
	bool inet = !strcmp(u->scheme, "tcp") || !strcmp(u->scheme, "udp");
	if (sock_opts(u, &frame, &maxconn, &budget, &text) == 0) {
		if (inet && ipk__sock_inet_check(u->rest) < 0)
			text = "expected host:port with a port of 0 to 65535";
		else if (!inet && ipk__sock_policy_parse(&pol, u) < 0)
			text = "bad ?allow= (any) or ?uid= (a uid)";
	}
	if (text && size)
		snprintf(why, size, "%s", text);
	return text ? -EINVAL : 0;
}

static int
sock_opt(int fd, int level, int name, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0)
		return -errno;
	return 0;
}

/* Options of a socket that will carry data, by kind. */
int
ipk__sock_setup(struct ipk__sock *s)
{
	int fd = s->base.fd;
	if (s->type == SOCK_STREAM)
		s->base.flags |= IPK__SOCK;
	int rc = ipk__set_blockfd(&s->base);
	if (rc < 0)
		return rc;
	if (s->type == SOCK_STREAM && s->family != AF_UNIX)
		return sock_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	/* Credentials with every message: who sent it, and EOF vs empty. */
	if (s->family == AF_UNIX && s->type != SOCK_STREAM)
		return sock_opt(fd, SOL_SOCKET, SO_PASSCRED, 1);
	return 0;
}

static int
sock_new(const struct ipk__sock *s, const struct ipk__saddr *a)
{
	int fd = socket(a->ss.ss_family, s->type | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                0);
	return fd < 0 ? -errno : fd;
}

/* 0 when what is at the path is a dead socket of ours, now removed. */
static int
sock_remove_stale(const struct ipk__sock *s, const struct ipk__saddr *a)
{
	struct stat st;
	if (lstat(s->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST; /* a file or a symlink: never ours to remove */
	if (st.st_uid != geteuid())
		return -EPERM;
	/*
	 * Probe with a datagram socket: a dead file refuses it, a live
	 * listener of another type says EPROTOTYPE, and no connection lands
	 * in a live listener's backlog for it to accept.
	 */
	int p = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p < 0)
		return -errno;
	int rc = connect(p, (const struct sockaddr *)&a->ss, a->len);
	rc = rc < 0 && errno == ECONNREFUSED ? 0 : -EADDRINUSE;
	close(p);
	if (rc == 0 && unlink(s->path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

/*
 * bind made the file with ?mode= less the umask; widen it to ?mode=
 * exactly, without touching the umask that other threads share.  The
 * file is reached through a descriptor checked to be a socket of ours,
 * and the mode only grows, so nobody gets in early.
 */
static int
sock_set_mode(struct ipk__sock *s)
{
	int fd = open(s->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()))
		rc = -EPERM; /* not what we bound: leave it alone */
	if (rc == 0 && (st.st_mode & 07777) != s->base.mode) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (chmod(proc, s->base.mode) < 0)
			rc = -errno;
	}
	if (rc == 0) {
		s->owner = true;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	close(fd);
	return rc;
}

static int
sock_bind_unix(struct ipk__sock *s, const struct ipk__saddr *a)
{
	int fd = s->base.fd;
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	s->abstract = ((const struct sockaddr_un *)sa)->sun_path[0] == '\0';
	if (!s->abstract)
		strcpy(s->path, ((const struct sockaddr_un *)sa)->sun_path);
	/* bind gives the file the inode's mode: no window before a chmod. */
	if (!s->abstract && fchmod(fd, s->base.mode) < 0)
		return -errno;
	if (bind(fd, sa, a->len) < 0) {
		if (errno != EADDRINUSE || s->abstract)
			return -errno;
		int rc = sock_remove_stale(s, a);
		if (rc < 0)
			return rc;
		if (bind(fd, sa, a->len) < 0)
			return -errno;
	}
	return s->abstract ? 0 : sock_set_mode(s);
}

static int
sock_bind(struct ipk__sock *s, const struct ipk__saddr *a)
{
	if (s->family == AF_UNIX)
		return sock_bind_unix(s, a);
	/* A restarted server must not fail on TIME_WAIT; no SO_REUSEPORT. */
	int rc = sock_opt(s->base.fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (rc == 0 &&
	    bind(s->base.fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		rc = -errno;
	return rc;
}

static void
sock_unlink_ours(struct ipk__sock *s)
{
	struct stat st;
	if (s->owner && lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	s->owner = false;
}

static int
sock_listen(struct ipk__sock *s, const struct ipk__saddr *a)
{
	s->family = a->ss.ss_family;
	int fd = sock_new(s, a);
	if (fd < 0)
		return fd;
	s->base.fd = fd;
	int rc = sock_bind(s, a);
	if (rc == 0 && s->type != SOCK_DGRAM && listen(fd, SOMAXCONN) < 0)
		rc = -errno;
	if (rc == 0 && s->type == SOCK_DGRAM)
		rc = ipk__sock_setup(s);
	if (rc == 0 && s->type != SOCK_DGRAM) {
		s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s->conns = calloc(1, sizeof(*s->conns));
		rc = s->conns ? 0 : -ENOMEM;
	}
	if (rc == 0 && s->conns) {
		s->conns->refs = 1;
		s->conns->max = s->maxconn;
	}
	if (rc == 0 && s->type == SOCK_STREAM && s->rxbudget) {
		struct ipk__budget *b = ipk__budget_new(s->rxbudget);
		if (b)
			ipk__budget_join(b, &s->base);
		rc = b ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		sock_unlink_ours(s);
		ipk__sock_close(&s->base);
		close(fd);
		s->base.fd = -1;
	}
	return rc;
}

/* connect within the deadline: nonblocking, poll, then SO_ERROR. */
static int
sock_connect(const struct ipk_chan *c, int fd, const struct ipk__saddr *a,
             int64_t deadline)
{
	int step = 1;
	while (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) { /* a Unix listener's backlog is full */
			int rc = ipk__backoff(c, &step, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		if (errno != EINPROGRESS)
			return -errno;
		int rc = ipk__wait(c, fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return -errno;
		return -err;
	}
	return 0;
}

/* A Unix datagram dialer binds an autobind name so replies can reach it. */
static int
sock_dial_prep(const struct ipk__sock *s, int fd)
{
	if (s->family != AF_UNIX || s->type != SOCK_DGRAM)
		return 0;
	sa_family_t fam = AF_UNIX;
	if (bind(fd, (const struct sockaddr *)&fam, sizeof(fam)) < 0)
		return -errno;
	return 0;
}

/* The dialer checks the listener too: a squatter is not our server. */
static int
sock_check_server(const struct ipk__sock *s)
{
	struct ipk_peer p;
	if (s->family != AF_UNIX || s->type == SOCK_DGRAM)
		return 0;
	int rc = ipk__sock_peercred(s->base.fd, &p);
	if (rc == 0 && !ipk__sock_allowed(&s->pol, p.uid) && p.uid != 0)
		rc = -EPERM;
	return rc;
}

static int
sock_dial_once(struct ipk__sock *s, const struct ipk__saddr *a,
               int64_t deadline)
{
	int fd = sock_new(s, a);
	if (fd < 0)
		return fd;
	int rc = sock_dial_prep(s, fd);
	if (rc == 0)
		rc = sock_connect(&s->base, fd, a, deadline);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->base.fd = fd;
	return 0;
}

static int
sock_dial(struct ipk__sock *s, const struct ipk__saddr *a)
{
	int64_t deadline = ipk__deadline(s->base.timeout);
	int step = 1, rc, e;
	s->family = a->ss.ss_family;
	/* Wait for the listener to appear, as a FIFO dialer does. */
	while ((rc = sock_dial_once(s, a, deadline)) == -ECONNREFUSED ||
	       rc == -ENOENT)
		if ((e = ipk__backoff(&s->base, &step, deadline)) < 0)
			return e == -ECANCELED ? e : rc;
	if (rc < 0)
		return rc;
	s->peer = *a;
	s->connected = true;
	rc = ipk__sock_setup(s);
	if (rc == 0)
		rc = sock_check_server(s);
	if (rc < 0) {
		close(s->base.fd);
		s->base.fd = -1;
	}
	return rc;
}

int
ipk__sock_shutdown(struct ipk_chan *c)
{
	int rc = ipk__stream_flush(c, ipk__deadline(c->timeout));
	if (rc < 0)
		return rc;
	if (shutdown(c->fd, SHUT_WR) < 0)
		return -errno;
	c->shut = true;
	return 0;
}

void
ipk__sock_stats(const struct ipk_chan *c, struct ipk_stats *st)
{
	st->refused = ((const struct ipk__sock *)c)->refused;
	st->discarded = ((const struct ipk__sock *)c)->discarded;
}

void
ipk__sock_close(struct ipk_chan *c)
{
	struct ipk__sock *s = (struct ipk__sock *)c;
	if (!(c->flags & IPK__KEEP))
		sock_unlink_ours(s);
	if (s->spare >= 0)
		close(s->spare);
	s->spare = -1;
	if (s->conns && s->counted)
		s->conns->live--;
	if (s->conns && --s->conns->refs == 0)
		free(s->conns);
	s->conns = NULL;
	ipk__fdq_free(&s->fdq);
	if (s->held) {
		for (size_t i = 0; i < s->held->nfds; i++)
			close(s->held->fds[i]);
		free(s->held);
		s->held = NULL;
	}
	if (s->tail)
		munmap(s->tail, s->tail_len);
	s->tail = NULL;
}

int
ipk__sock_pair(struct ipk_chan *a, struct ipk_chan *b, const struct ipk_url *u)
{
	struct ipk__sock *sa = (struct ipk__sock *)a;
	struct ipk__sock *sb = (struct ipk__sock *)b;
	if (*u->rest != '\0')
		return -EINVAL;
	int type = sock_kind(a)->type;
	int rc = sock_init(sa, u, AF_UNIX, type);
	if (rc == 0)
		rc = sock_init(sb, u, AF_UNIX, type);
	int fds[2];
	if (rc == 0 && socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) < 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	a->fd = fds[0];
	b->fd = fds[1];
	sa->connected = sb->connected = true;
	rc = ipk__sock_setup(sa);
	if (rc == 0)
		rc = ipk__sock_setup(sb);
	if (rc < 0) {
		close(fds[0]);
		close(fds[1]);
		a->fd = b->fd = -1;
	}
	return rc;
}

/* The URL's options and address, for listen and dial. */
static int
sock_prepare(struct ipk_chan *c, const struct ipk_url *u, bool listen,
             struct ipk__saddr *a)
{
	const struct sock_kind *k = sock_kind(c);
	int rc = sock_init((struct ipk__sock *)c, u, k->family, k->type);
	if (rc < 0)
		return rc;
	if (k->family == AF_UNIX)
		return ipk__sock_unix_addr(u->rest, listen, a);
	return ipk__sock_inet_addr(u->rest, k->type, a);
}

int
ipk__sock_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct ipk__saddr a;
	int rc = sock_prepare(c, u, true, &a);
	return rc < 0 ? rc : sock_listen((struct ipk__sock *)c, &a);
}

int
ipk__sock_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct ipk__saddr a;
	int rc = sock_prepare(c, u, false, &a);
	return rc < 0 ? rc : sock_dial((struct ipk__sock *)c, &a);
}
