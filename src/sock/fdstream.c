/*
 * fdstream.c - descriptors on Unix byte streams (SCM_RIGHTS): the sender
 * attaches them to a frame's first byte; the receiver queues those read
 * ahead of their frame and hands them out with it, through io.c's
 * receive hook.
 */
#include "../core/core.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Descriptors on a Unix byte stream.  The sender attaches them to the
 * first byte of a frame; the kernel ends a read after the segment that
 * carries them, so they belong to the last frame starting in that read.
 */
static uint64_t
rx_fds_frame(const struct ipk_chan *c, const struct ipk__fdq *q, uint64_t from,
             uint64_t end, size_t have)
{
	uint64_t p = q->pos, at = UINT64_MAX;
	while (p < end) {
		if (p >= from)
			at = p;
		size_t o = (size_t)(p - q->pos);
		if (o + IPK_FRAME_HEADER > have)
			break;
		uint32_t be;
		memcpy(&be, c->rx.data + c->rx.off + o, sizeof(be));
		p += IPK_FRAME_HEADER + (uint64_t)ntohl(be);
	}
	return at;
}

static void
rx_fds_close(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static void
rx_fds_attach(struct ipk_chan *c, struct ipk__fdq *q, size_t r, int *fds,
              size_t n, bool lost)
{
	uint64_t from = q->pos + c->rx.len;
	uint64_t at = from;
	if (!(c->flags & IPK__RAW))
		at = rx_fds_frame(c, q, from, from + r, c->rx.len + r);
	int *keep = n ? malloc(n * sizeof(int)) : NULL;
	if (at == UINT64_MAX || q->n == IPK__FDQ_MAX || (n && !keep)) {
		rx_fds_close(fds, n); /* not at a frame start, or no room */
		free(keep);
		return;
	}
	if (n)
		memcpy(keep, fds, n * sizeof(int));
	q->e[q->n].at = at;
	q->e[q->n].fds = keep;
	q->e[q->n].nfds = n;
	q->e[q->n].lost = lost;
	q->n++;
}

static ssize_t
fds_read(struct ipk_chan *c, char *at, size_t len, bool block, void *ctx)
{
	struct ipk__fdq *q = ctx;
	union {
		char buf[IPK__CMSG_ROOM];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {at, len};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.buf,
	                    .msg_controllen = sizeof(ctl.buf)};
	ssize_t r = recvmsg(c->fd, &mh,
	                    MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
	if (r <= 0 || (mh.msg_controllen == 0 && !(mh.msg_flags & MSG_CTRUNC)))
		return r;
	int fds[IPK__SCM_MAX];
	size_t n = IPK__SCM_MAX;
	int lost = ipk__sock_take_fds(&mh, fds, &n);
	if (n || lost)
		rx_fds_attach(c, q, (size_t)r, fds, n, lost > 0);
	return r;
}

/* Entries of the span [q->pos, q->pos + span): how many fds, any lost. */
static size_t
rx_fds_count(const struct ipk__fdq *q, uint64_t span, bool *lost)
{
	size_t n = 0;
	*lost = false;
	for (size_t i = 0; i < q->n; i++) {
		if (q->e[i].at < q->pos || q->e[i].at >= q->pos + span)
			continue;
		n += q->e[i].nfds;
		*lost |= q->e[i].lost;
	}
	return n;
}

/* Hand the span's descriptors to m (or close them) and drop the entries. */
static void
rx_fds_give(struct ipk__fdq *q, struct ipk_msg *m, uint64_t span)
{
	size_t got = 0, k = 0;
	for (size_t i = 0; i < q->n; i++) {
		if (q->e[i].at >= q->pos + span) {
			q->e[k++] = q->e[i];
			continue;
		}
		for (size_t j = 0; j < q->e[i].nfds; j++) {
			if (m->fds && got < m->nfds)
				m->fds[got++] = q->e[i].fds[j];
			else
				close(q->e[i].fds[j]); /* nobody asked */
		}
		free(q->e[i].fds);
	}
	q->n = k;
	q->pos += span;
	m->nfds = got;
}

/*
 * A message whose descriptors do not fit m->fds stays, like one whose
 * bytes do not fit: -EMSGSIZE with m->nfds set to what it needs.
 */
static ssize_t
fds_deliver(struct ipk_chan *c, struct ipk_msg *m, size_t len, void *ctx)
{
	struct ipk__fdq *q = ctx;
	bool raw = c->flags & IPK__RAW;
	size_t skip = raw ? 0 : IPK_FRAME_HEADER;
	if (raw && len > m->len)
		len = m->len;
	bool lost;
	size_t need = rx_fds_count(q, skip + len, &lost);
	if (m->fds && need > m->nfds && !lost) {
		m->nfds = need;
		return -EMSGSIZE;
	}
	ssize_t r = ipk__rx_take(c, m, skip, len);
	if (r < 0)
		return r;
	rx_fds_give(q, m, skip + len);
	return lost ? -EMFILE : r;
}

static void
fds_eof(void *ctx)
{
	ipk__fdq_free(ctx);
}

ssize_t
ipk__stream_recv_fds(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline,
                     struct ipk__fdq *q)
{
	const struct ipk__rxhook h = {fds_read, fds_deliver, fds_eof, q};
	return ipk__stream_recv_hook(c, m, deadline, &h);
}

/* The first write of a frame, with its descriptors; *sent bytes went. */
static int
io_send_rights(struct ipk_chan *c, struct iovec *iov, int n,
               const struct ipk_msg *m, int64_t deadline, size_t *sent)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPK__SCM_MAX)];
		struct cmsghdr align;
	} ctl;
	for (;;) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		int rc = ipk__sock_put_fds(&mh, ctl.buf, m->fds, m->nfds);
		if (rc < 0)
			return rc;
		ssize_t r =
		        sendmsg(c->fd, &mh,
		                MSG_NOSIGNAL | ipk__msg_nowait(c, deadline));
		if (r >= 0) {
			*sent = (size_t)r;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return ipk__io_errno_peer(errno);
		rc = ipk__wait(c, c->fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
}

int
ipk__stream_send_fds(struct ipk_chan *c, const struct ipk_msg *m,
                     int64_t deadline)
{
	int rc = ipk__io_check_size(c, m->len);
	if (rc == 0)
		rc = ipk__stream_flush(c, deadline);
	if (rc < 0)
		return rc;
	uint32_t be = htonl((uint32_t)m->len);
	struct iovec iov[2] = {{&be, IPK_FRAME_HEADER}, {m->buf, m->len}};
	bool raw = c->flags & IPK__RAW;
	struct iovec *v = raw ? iov + 1 : iov;
	int n = raw ? 1 : 2;
	size_t first, done = 0;
	rc = io_send_rights(c, v, n, m, deadline, &first);
	if (rc < 0)
		return rc;
	ipk__io_advance(&v, &n, first);
	rc = ipk__io_write_all(c, v, n, deadline, &done);
	if (rc == 0)
		return 0;
	struct iovec msg = {m->buf, m->len};
	if (ipk__is_wait_end(rc) && ipk__io_pend(c, &msg, first + done) == 0)
		return 0;
	c->broken = -EPIPE;
	return rc;
}
