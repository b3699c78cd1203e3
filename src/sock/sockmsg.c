/*
 * sockmsg.c - the data half of the socket transports: byte streams framed
 * by io.c with a frame deadline; whole datagrams and seqpackets (one
 * recvmsg with MSG_TRUNC into the buffer and a reserved tail, so a short
 * buffer is -EMSGSIZE and the message stays); sendmmsg batches; sender
 * credentials and addresses, asked for only when needed; UDP drops
 * (SO_MEMINFO); SCM_RIGHTS.
 */
#include "sock.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MMSG_MAX 64

int
ipk__sock_put_fds(struct msghdr *mh, void *ctl, const int *fds, size_t n)
{
	if (n == 0)
		return 0;
	if (n > IPK__SCM_MAX)
		return -EINVAL;
	mh->msg_control = ctl;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * n);
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	return 0;
}

static void
sock_close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* 1 (all closed, *n = 0) when the kernel truncated them, else 0. */
int
ipk__sock_take_fds(struct msghdr *mh, int *out, size_t *n)
{
	size_t room = *n, got = 0;
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	for (; cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < k; i++) {
			if (got < room)
				memcpy(&out[got++], &fds[i], sizeof(int));
			else
				close(fds[i]);
		}
	}
	*n = got;
	if (!(mh->msg_flags & MSG_CTRUNC))
		return 0;
	sock_close_fds(out, got);
	*n = 0;
	return 1;
}

void
ipk__fdq_free(struct ipk__fdq *q)
{
	for (size_t i = 0; i < q->n; i++) {
		sock_close_fds(q->e[i].fds, q->e[i].nfds);
		free(q->e[i].fds);
	}
	q->n = 0;
}

/*
 * errno of a socket call.  The peer gone is -EPIPE on every transport,
 * including a refusal (a closed Unix socket, an ICMP port unreachable).
 */
static int
sock_err(int e)
{
	if (e == EPIPE || e == ECONNRESET || e == ECONNREFUSED || e == ENOTCONN)
		return -EPIPE;
	return -e;
}

/* A receive's errno: after ipk_shutdown a reset stays -ECONNRESET. */
static int
sock_rx_err(const struct ipk__sock *s, int e)
{
	if (e == ECONNRESET && s->base.shut)
		return -ECONNRESET;
	return sock_err(e);
}

/* Wait until the socket can take a datagram (or back off, unconnected). */
static int
sock_wait_out(const struct ipk__sock *s, int *step, int64_t deadline)
{
	/* Only a connected socket's poll sees the receiver's full queue. */
	if (s->connected || s->family != AF_UNIX)
		return ipk__wait(&s->base, s->base.fd, POLLOUT, deadline);
	return ipk__backoff(&s->base, step, deadline);
}

/* Where an unconnected socket sends: a copy of the last sender. */
static int
sock_dest(struct ipk__sock *s, struct ipk__saddr *to)
{
	to->len = 0;
	if (s->connected)
		return 0;
	pthread_mutex_lock(&s->peer_lock);
	*to = s->peer;
	pthread_mutex_unlock(&s->peer_lock);
	return to->len ? 0 : -EDESTADDRREQ; /* nobody has sent us anything */
}

static void
sock_name(struct msghdr *mh, struct ipk__saddr *to)
{
	mh->msg_name = to->len ? &to->ss : NULL;
	mh->msg_namelen = to->len;
}

int
ipk__sock_dgram_send(struct ipk_chan *c, const struct ipk_msg *m,
                     int64_t deadline)
{
	struct ipk__sock *s = (struct ipk__sock *)c;
	if (m->nfds && s->family != AF_UNIX)
		return -ENOTSUP;
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPK__SCM_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {m->buf, m->len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct ipk__saddr to;
	int rc = sock_dest(s, &to);
	sock_name(&mh, &to);
	if (rc == 0)
		rc = ipk__sock_put_fds(&mh, ctl.buf, m->fds, m->nfds);
	int step = 1;
	int flags = MSG_NOSIGNAL | ipk__msg_nowait(c, deadline);
	bool plain = !mh.msg_name && !mh.msg_controllen; /* send(): no msghdr */
	while (rc == 0 && (plain ? send(c->fd, m->buf, m->len, flags)
	                         : sendmsg(c->fd, &mh, flags)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return sock_err(errno);
		rc = sock_wait_out(s, &step, deadline);
	}
	return rc;
}

static int
sock_batch_fill(const struct ipk__sock *s, struct mmsghdr *mm,
                const struct iovec *msgs, size_t n, struct ipk__saddr *to)
{
	size_t k = n < MMSG_MAX ? n : MMSG_MAX;
	for (size_t i = 0; i < k; i++) {
		if (msgs[i].iov_len > s->base.max)
			return (int)i;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = (struct iovec *)&msgs[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		sock_name(&mm[i].msg_hdr, to);
	}
	return (int)k;
}

int
ipk__sock_dgram_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                      int64_t deadline)
{
	struct ipk__sock *s = (struct ipk__sock *)c;
	struct mmsghdr mm[MMSG_MAX];
	struct ipk__saddr to;
	if (n && sock_dest(s, &to) < 0)
		return -EDESTADDRREQ;
	size_t sent = 0;
	int step = 1;
	while (sent < n) {
		int k = sock_batch_fill(s, mm, msgs + sent, n - sent, &to);
		if (k == 0)
			return sent ? (int)sent : -EMSGSIZE;
		int r = sendmmsg(c->fd, mm, (unsigned)k,
		                 MSG_NOSIGNAL | ipk__msg_nowait(c, deadline));
		if (r > 0) {
			sent += (size_t)r;
			continue;
		}
		int rc = errno == EINTR ? 0 : sock_err(errno);
		if (rc == -EAGAIN)
			rc = sock_wait_out(s, &step, deadline);
		if (rc < 0)
			return sent ? (int)sent : rc;
	}
	return (int)sent;
}

static void
sock_read_cmsgs(struct msghdr *mh, struct ipk_peer *p)
{
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	for (; cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;
			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			p->pid = uc.pid;
			p->uid = uc.uid;
			p->gid = uc.gid;
		}
	}
}

/* Give the descriptors to m, or close them when m has no room for them. */
static void
sock_give_fds(struct ipk_msg *m, const int *fds, size_t n)
{
	size_t k = m->fds ? (n < m->nfds ? n : m->nfds) : 0;
	if (k)
		memcpy(m->fds, fds, k * sizeof(int));
	sock_close_fds(fds + k, n - k);
	m->nfds = k;
}

/* What one recvmsg brought besides the bytes. */
struct sock_got {
	struct ipk_peer p;
	int fds[IPK__SCM_MAX];
	size_t nfds;
	int lost; /* the kernel truncated the descriptors */
};

/* Hand a received message to m: descriptors, the sender, the reply
 * address of an unconnected socket. */
static ssize_t
sock_deliver(struct ipk__sock *s, struct ipk_msg *m, size_t len,
             struct sock_got *g)
{
	sock_give_fds(m, g->fds, g->nfds);
	if (!s->connected && g->p.addrlen > sizeof(sa_family_t)) {
		pthread_mutex_lock(&s->peer_lock);
		memcpy(&s->peer.ss, &g->p.addr, g->p.addrlen);
		s->peer.len = g->p.addrlen; /* replies go to the last sender */
		pthread_mutex_unlock(&s->peer_lock);
	}
	if (m->peer)
		*m->peer = g->p;
	m->len = len;
	return g->lost ? -EMFILE : (ssize_t)len;
}

/* A message that does not fit m: -EMSGSIZE with what it needs. */
static bool
sock_too_big(const struct ipk_msg *m, size_t len, size_t nfds)
{
	return len > m->len || (m->fds && nfds > m->nfds);
}

/* Keep a message read whole (head in m->buf, the rest in s->tail). */
static ssize_t
sock_hold(struct ipk__sock *s, struct ipk_msg *m, size_t len,
          struct sock_got *g)
{
	size_t head = len < m->len ? len : m->len;
	struct ipk__held *h = malloc(sizeof(*h) + len);
	if (!h) {
		sock_close_fds(g->fds, g->nfds);
		return -ENOMEM;
	}
	h->len = len;
	h->nfds = g->nfds;
	memcpy(h->fds, g->fds, g->nfds * sizeof(int));
	h->peer = g->p;
	if (head)
		memcpy(h->data, m->buf, head);
	if (len > head)
		memcpy(h->data + head, s->tail, len - head);
	s->held = h;
	m->len = len;
	if (m->fds && g->nfds > m->nfds)
		m->nfds = g->nfds;
	return -EMSGSIZE; /* it stays for a bigger buffer */
}

/* The held message, if m has room for it now. */
static ssize_t
sock_unhold(struct ipk__sock *s, struct ipk_msg *m)
{
	struct ipk__held *h = s->held;
	if (sock_too_big(m, h->len, h->nfds)) {
		m->len = h->len;
		if (m->fds && h->nfds > m->nfds)
			m->nfds = h->nfds;
		return -EMSGSIZE;
	}
	struct sock_got g = {.p = h->peer, .nfds = h->nfds};
	memcpy(g.fds, h->fds, h->nfds * sizeof(int));
	if (h->len)
		memcpy(m->buf, h->data, h->len);
	s->held = NULL;
	ssize_t r = sock_deliver(s, m, h->len, &g);
	free(h);
	return r;
}

/*
 * Room past m's buffer up to the largest message (?max=, and 64 KiB for
 * IP), so one call takes any message.  The room is address space only
 * (MAP_NORESERVE): a page costs memory once a message has reached it.
 */
static size_t
sock_tail_room(struct ipk__sock *s, const struct ipk_msg *m)
{
	size_t max = s->base.max;
	if (s->family != AF_UNIX && max > UINT16_MAX)
		max = UINT16_MAX;
	if (m->len >= max)
		return 0;
	if (!s->tail) {
		void *p = mmap(NULL, max, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		               0);
		if (p == MAP_FAILED)
			return 0; /* then a long one is cut: counted below */
		s->tail = p;
		s->tail_len = max;
	}
	return (max < s->tail_len ? max : s->tail_len) - m->len;
}

/*
 * One recvmsg of a whole message into m's buffer and the tail room, with
 * the real length (MSG_TRUNC).  -EACCES: the policy refused the sender
 * (dropped); -EMSGSIZE: it did not fit m and is held, or it was longer
 * than ?max= and the buffer (discarded and counted).  A seqpacket read
 * of 0 without credentials is EOF.
 */
static ssize_t
sock_read(struct ipk__sock *s, struct ipk_msg *m, bool block)
{
	union {
		char buf[IPK__CMSG_ROOM];
		struct cmsghdr align;
	} ctl;
	struct sock_got g; /* not zeroed whole: fds[] alone is 1 KiB */
	g.p.pid = -1;
	g.p.uid = (uid_t)-1;
	g.p.gid = (gid_t)-1;
	g.p.addr.ss_family = AF_UNSPEC;
	if (m->peer)
		memset(&g.p.addr, 0, sizeof(g.p.addr));
	bool unix_dgram = s->family == AF_UNIX && s->type == SOCK_DGRAM;
	/*
	 * The kernel fills only what is asked for.  The sender's address:
	 * for the caller, or as the reply address of an unconnected socket.
	 * Control data: descriptors, the sender's credentials (the caller's,
	 * or the policy's).  A seqpacket needs neither to
	 * tell EOF: with SO_PASSCRED, a message read without room for its
	 * credentials is flagged MSG_CTRUNC, and EOF is not.
	 */
	bool want_name = m->peer || !s->connected;
	bool want_ctl = m->peer || m->fds || (unix_dgram && !s->pol.any);
	size_t room = sock_tail_room(s, m); /* allocates s->tail */
	struct iovec iov[2] = {{m->buf, m->len}, {s->tail, room}};
	struct msghdr mh = {.msg_name = want_name ? &g.p.addr : NULL,
	                    .msg_namelen = want_name ? sizeof(g.p.addr) : 0,
	                    .msg_iov = iov,
	                    .msg_iovlen = room ? 2 : 1,
	                    .msg_control = want_ctl ? ctl.buf : NULL,
	                    .msg_controllen = want_ctl ? sizeof(ctl.buf) : 0};
	int flags = MSG_TRUNC | MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT);
	ssize_t r = recvmsg(s->base.fd, &mh, flags);
	if (r < 0)
		return errno == EINTR ? -EINTR : sock_rx_err(s, errno);
	if (r == 0 && s->type == SOCK_SEQPACKET &&
	    (want_ctl ? !mh.msg_controllen : !(mh.msg_flags & MSG_CTRUNC)))
		return -EPIPE;
	g.p.addrlen = mh.msg_namelen;
	g.nfds = 0;
	g.lost = 0;
	if (want_ctl) {
		sock_read_cmsgs(&mh, &g.p);
		g.nfds = IPK__SCM_MAX;
		g.lost = ipk__sock_take_fds(&mh, g.fds, &g.nfds);
	}
	if (unix_dgram && !ipk__sock_allowed(&s->pol, g.p.uid)) {
		sock_close_fds(g.fds, g.nfds);
		return -EACCES;
	}
	size_t len = (size_t)r;
	if (len > m->len + room) { /* more than ?max= */
		sock_close_fds(g.fds, g.nfds);
		s->discarded += r;
		m->len = len;
		return -EMSGSIZE;
	}
	if (sock_too_big(m, len, g.lost ? 0 : g.nfds))
		return sock_hold(s, m, len, &g);
	return sock_deliver(s, m, len, &g);
}

/*
 * A whole datagram or seqpacket: one blocking recvmsg without deadline
 * or cancel descriptor, else poll and recvmsg as a timed plain program
 * does.  Refused senders are skipped within the deadline.
 */
ssize_t
ipk__sock_dgram_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct ipk__sock *s = (struct ipk__sock *)c;
	if (s->held)
		return sock_unhold(s, m);
	bool block = ipk__may_block(c, deadline);
	bool wait = !block && deadline != 0;
	for (;;) {
		int rc = wait ? ipk__wait(c, c->fd, POLLIN, deadline) : 0;
		if (rc < 0)
			return rc;
		ssize_t r = sock_read(s, m, block);
		if (r == -EACCES)
			s->refused++;
		if (r == -EAGAIN && !wait)
			rc = ipk__wait(c, c->fd, POLLIN, deadline);
		else if (r == -EACCES)
			rc = ipk__check_deadline(c, deadline);
		else if (r != -EINTR && r != -EAGAIN)
			return r;
		if (rc < 0)
			return rc;
	}
}

/* Who is at the other end of a connection: SO_PEERCRED, address. */
static void
sock_stream_peer(const struct ipk__sock *s, struct ipk_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	if (s->family == AF_UNIX)
		ipk__sock_peercred(s->base.fd, p);
	memcpy(&p->addr, &s->peer.ss, sizeof(p->addr));
	p->addrlen = s->peer.len;
}

static bool
sock_frame_expired(struct ipk__sock *s)
{
	int64_t end = ipk__rx_frame_end(&s->base);
	return end > 0 && ipk__now_ms() >= end;
}

static ssize_t
sock_stream_recv1(struct ipk__sock *s, struct ipk_msg *m, int64_t deadline)
{
	ssize_t r =
	        s->family == AF_UNIX
	                ? ipk__stream_recv_fds(&s->base, m, deadline, &s->fdq)
	                : ipk__stream_recv(&s->base, m, deadline);
	if (r >= 0 && m->peer)
		sock_stream_peer(s, m->peer);
	return r;
}

/*
 * A peer that starts a message and stalls (slowloris) is dropped once
 * the message is older than its limit (io.c cuts the wait there); a
 * quiet peer between messages is not.
 */
ssize_t
ipk__sock_stream_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct ipk__sock *s = (struct ipk__sock *)c;
	ssize_t r = sock_stream_recv1(s, m, deadline);
	if ((r == -ETIMEDOUT || r == -EAGAIN) && sock_frame_expired(s)) {
		shutdown(c->fd, SHUT_RDWR);
		return ipk__break(c, -ECONNRESET);
	}
	return r;
}

int
ipk__sock_stream_send(struct ipk_chan *c, const struct ipk_msg *m,
                      int64_t deadline)
{
	/* chan.c lets descriptors through only where IPK_CAP_FDPASS is. */
	if (m->nfds == 0)
		return ipk__stream_send1(c, m, deadline);
	if (m->nfds > IPK__SCM_MAX)
		return -EINVAL;
	return ipk__stream_send_fds(c, m, deadline);
}

/*
 * The kernel's count of datagrams dropped at this socket (sk_drops, the
 * number SO_RXQ_OVFL would attach to each message), read when asked
 * (SO_MEMINFO, Linux 4.12): no control data rides on every receive.
 */
uint32_t
ipk__sock_drops(const struct ipk_chan *c)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	if (c->fd >= 0 &&
	    getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(mem[0]))
		return mem[SK_MEMINFO_DROPS];
	return 0;
}
