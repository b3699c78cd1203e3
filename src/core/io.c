/*
 * io.c - full read/write loops shared by every transport: EINTR with the
 * time left, partial writes, and the length-prefixed framing of byte
 * streams (pipe, fifo, unix, tcp).  Deadlines and waits are in wait.c;
 * SIGPIPE is kept from the caller by sigpipe.c.
 */
#include "core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RX_MIN (64u * 1024)
#define RX_KEEP (1u << 20) /* a bigger one may be freed once empty */
#define BATCH_MAX 64       /* messages per writev */

static ssize_t
io_writev(struct ipk_chan *c, const struct iovec *iov, int n, int64_t deadline)
{
	bool block = ipk__may_block(c, deadline);
	if (c->flags & IPK__SOCK) {
		struct msghdr mh = {.msg_iov = (struct iovec *)iov,
		                    .msg_iovlen = (size_t)n};
		return sendmsg(c->fd, &mh,
		               MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT));
	}
	return ipk__pipe_writev(c, iov, n, !block && (c->flags & IPK__BLOCKFD));
}

int
ipk__io_errno_peer(int e)
{
	return (e == EPIPE || e == ECONNRESET) ? -EPIPE : -e;
}

/* Step *iov past r written bytes. */
void
ipk__io_advance(struct iovec **iov, int *n, size_t r)
{
	while (*n > 0 && r >= (*iov)->iov_len) {
		r -= (*iov)->iov_len;
		(*iov)++, (*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + r;
		(*iov)->iov_len -= r;
	}
}

/*
 * Write iov[0..n) whole or until the deadline.  *done counts the bytes
 * written either way.  iov is advanced in place.
 */
int
ipk__io_write_all(struct ipk_chan *c, struct iovec *iov, int n,
                  int64_t deadline, size_t *done)
{
	*done = 0;
	while (n > 0) {
		ssize_t r =
		        io_writev(c, iov, n > IOV_MAX ? IOV_MAX : n, deadline);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return ipk__io_errno_peer(errno);
			int rc = ipk__wait(c, c->fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		*done += (size_t)r;
		ipk__io_advance(&iov, &n, (size_t)r);
	}
	return 0;
}

int
ipk__stream_flush(struct ipk_chan *c, int64_t deadline)
{
	struct ipk__pend *p = &c->tx;
	if (p->off == p->len)
		return 0;
	struct iovec iov = {p->data + p->off, p->len - p->off};
	size_t done;
	int rc = ipk__io_write_all(c, &iov, 1, deadline, &done);
	p->off += done;
	if (p->off == p->len) {
		free(p->data);
		memset(p, 0, sizeof(*p));
	}
	return rc;
}

/* Keep the unwritten tail of message m (skip bytes of its frame written). */
int
ipk__io_pend(struct ipk_chan *c, const struct iovec *m, size_t skip)
{
	size_t hdr = (c->flags & IPK__RAW) ? 0 : IPK_FRAME_HEADER;
	size_t total = hdr + m->iov_len;
	char *d = malloc(total - skip);
	if (!d)
		return -ENOMEM;
	uint32_t be = htonl((uint32_t)m->iov_len);
	size_t at = 0;
	for (size_t i = skip; i < hdr; i++)
		d[at++] = ((char *)&be)[i];
	size_t from = skip > hdr ? skip - hdr : 0;
	memcpy(d + at, (char *)m->iov_base + from, m->iov_len - from);
	c->tx = (struct ipk__pend){.data = d, .len = total - skip, .off = 0};
	return 0;
}

/* Frames that may go in one writev; atomic ones together fit PIPE_BUF. */
static size_t
io_batch_limit(const struct ipk_chan *c, const struct iovec *msgs, size_t n)
{
	if (n > BATCH_MAX)
		n = BATCH_MAX;
	if (!(c->flags & IPK__ATOMIC))
		return n;
	size_t k = 0, total = 0;
	while (k < n && total + IPK_FRAME_HEADER + msgs[k].iov_len <= PIPE_BUF)
		total += IPK_FRAME_HEADER + msgs[k++].iov_len;
	return k ? k : 1;
}

int
ipk__io_check_size(const struct ipk_chan *c, size_t len)
{
	if (len > c->max || len > UINT32_MAX)
		return -EMSGSIZE;
	if ((c->flags & IPK__ATOMIC) && len + IPK_FRAME_HEADER > PIPE_BUF)
		return -EMSGSIZE;
	return 0;
}

/* Write one group of k messages; returns how many count as sent. */
static int
io_send_group(struct ipk_chan *c, const struct iovec *msgs, size_t k,
              int64_t deadline, int *err)
{
	struct iovec iov[2 * BATCH_MAX];
	uint32_t hdr[BATCH_MAX];
	bool raw = c->flags & IPK__RAW;
	int n = 0;
	for (size_t i = 0; i < k; i++) {
		hdr[i] = htonl((uint32_t)msgs[i].iov_len);
		if (!raw)
			iov[n++] = (struct iovec){&hdr[i], IPK_FRAME_HEADER};
		iov[n++] = msgs[i];
	}
	size_t done;
	*err = ipk__io_write_all(c, iov, n, deadline, &done);
	if (*err == 0)
		return (int)k;
	size_t i = 0, frame = 0;
	for (; i < k; i++, done -= frame) {
		frame = (raw ? 0 : IPK_FRAME_HEADER) + msgs[i].iov_len;
		if (done < frame)
			break;
	}
	if (done == 0 || i == k)
		return (int)i;
	/* Part of message i is in the pipe: its tail must follow. */
	if (ipk__is_wait_end(*err)) {
		if (ipk__io_pend(c, &msgs[i], done) == 0)
			return (int)i + 1;
	}
	c->broken = -EPIPE;
	return (int)i;
}

static int
stream_send(struct ipk_chan *c, const struct iovec *msgs, size_t n,
            int64_t deadline)
{
	int rc = ipk__stream_flush(c, deadline);
	if (rc < 0)
		return rc;
	size_t sent = 0;
	while (sent < n) {
		size_t k = io_batch_limit(c, msgs + sent, n - sent), ok = 0;
		while (ok < k &&
		       ipk__io_check_size(c, msgs[sent + ok].iov_len) == 0)
			ok++;
		if (ok == 0)
			return sent ? (int)sent : -EMSGSIZE;
		int err;
		int got = io_send_group(c, msgs + sent, ok, deadline, &err);
		sent += (size_t)got;
		if (err < 0)
			return sent ? (int)sent : err;
		if (ok < k)
			return sent ? (int)sent : -EMSGSIZE;
	}
	return (int)sent;
}

int
ipk__stream_send(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                 int64_t deadline)
{
	struct ipk__sigguard g;
	ipk__sigpipe_hold(c, &g);
	int rc = stream_send(c, msgs, n, deadline);
	ipk__sigpipe_release(&g);
	return rc;
}

int
ipk__stream_send1(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	struct iovec one = {m->buf, m->len};
	int rc = ipk__stream_send(c, &one, 1, deadline);
	return rc < 0 ? rc : 0;
}

/* Charge what the buffer holds beyond the base to the listener's budget. */
static int
rx_charge(struct ipk_chan *c, size_t cap)
{
	if (!c->budget)
		return 0;
	return ipk__budget_charge(c, cap > RX_MIN ? cap - RX_MIN : 0);
}

/* Make room for need unread bytes; grows no further than asked. */
static int
rx_reserve(struct ipk_chan *c, size_t need)
{
	struct ipk__rbuf *b = &c->rx;
	if (b->off && b->off + need > b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : RX_MIN;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	int rc = rx_charge(c, cap);
	if (rc < 0)
		return rc;
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

int64_t
ipk__rx_frame_end(struct ipk_chan *c)
{
	if (c->frame_ms <= 0 || c->rx.len == 0)
		return 0;
	if (c->rx_start == IPK__RX_NOW) /* left by the last message */
		c->rx_start = ipk__now_ms();
	size_t mib = ipk__stream_announced(c) >> 20;
	return c->rx_start + c->frame_ms + (int64_t)mib * IPK__FRAME_MS_PER_MIB;
}

/* The caller's deadline, or sooner when a started frame must end first. */
static int64_t
rx_deadline(struct ipk_chan *c, int64_t deadline)
{
	int64_t end = ipk__rx_frame_end(c);
	return end && end < deadline ? end : deadline;
}

/* One read of c->fd (or the hook's), blocking only when block is set. */
static ssize_t
rx_read(struct ipk_chan *c, char *at, size_t room, bool block,
        const struct ipk__rxhook *h)
{
	if (h)
		return h->read(c, at, room, block, h->ctx);
	if (block || !(c->flags & IPK__BLOCKFD))
		return read(c->fd, at, room);
	if (c->flags & IPK__SOCK)
		return recv(c->fd, at, room, MSG_DONTWAIT);
	if (c->flags & IPK__POLLREAD) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int n = poll(&p, 1, 0);
		if (n == 0)
			errno = EAGAIN;
		return n > 0 ? read(c->fd, at, room) : -1;
	}
	struct iovec v = {at, room};
	return preadv2(c->fd, &v, 1, -1, RWF_NOWAIT);
}

/*
 * One read into the buffer: 0 at EOF, >0 bytes, <0 error.  Without a
 * deadline or cancel descriptor it is one blocking read; with one, poll
 * and then read, as a plain program with a timeout does (a read that
 * finds nothing first would cost a call per message).  Deadline 0 reads
 * at once.
 */
ssize_t
ipk__rx_fill(struct ipk_chan *c, size_t need, int64_t deadline,
             const struct ipk__rxhook *h)
{
	struct ipk__rbuf *b = &c->rx;
	/* Claimed lengths grow the buffer only as data really arrives. */
	size_t want = b->len + RX_MIN > need ? need : b->len + RX_MIN;
	if (want < RX_MIN)
		want = RX_MIN;
	int rc = rx_reserve(c, want);
	if (rc < 0)
		return rc;
	deadline = rx_deadline(c, deadline);
	bool block = ipk__may_block(c, deadline);
	bool wait = !block && deadline != 0;
	bool waited = false; /* a wait below found c->fd readable */
	for (;;) {
		if (wait && (rc = ipk__wait(c, c->fd, POLLIN, deadline)) < 0)
			return rc;
		char *at = b->data + b->off + b->len;
		size_t room = b->cap - b->off - b->len;
		/* Readable and one reader: a plain read cannot block. */
		bool plain = block ||
		             ((wait || waited) && (c->flags & IPK__POLLREAD));
		ssize_t r = rx_read(c, at, room, plain, h);
		if (r >= 0) {
			if (b->len == 0 && r > 0)
				c->rx_start =
				        ipk__now_ms(); /* a frame begins */
			b->len += (size_t)r;
			return r;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (!wait && (rc = ipk__wait(c, c->fd, POLLIN, deadline)) < 0)
			return rc;
		waited = true;
	}
}

ssize_t
ipk__rx_take(struct ipk_chan *c, struct ipk_msg *m, size_t skip, size_t len)
{
	struct ipk__rbuf *b = &c->rx;
	size_t cap = m->len;
	m->len = len;
	if (len > cap)
		return -EMSGSIZE;
	if (len) /* m->buf may be NULL for a 0-byte message */
		memcpy(m->buf, b->data + b->off + skip, len);
	b->off += skip + len;
	b->len -= skip + len;
	if (b->len == 0)
		b->off = 0;
	/* What is left began no later than now: the next frame's clock. */
	c->rx_start = b->len ? IPK__RX_NOW : 0;
	/* A listener's connection gives a big buffer back once empty, so
	 * that what its budget counts is partial messages, not idle room;
	 * other channels keep it for the next big message. */
	if (b->len == 0 && b->cap > RX_KEEP && c->budget) {
		free(b->data);
		memset(b, 0, sizeof(*b));
		rx_charge(c, 0);
	}
	return (ssize_t)len;
}

/* 1 when a whole frame is buffered (*len set), 0 need more, <0 error. */
static int
rx_frame(const struct ipk_chan *c, size_t *len)
{
	const struct ipk__rbuf *b = &c->rx;
	if (b->len < IPK_FRAME_HEADER)
		return 0;
	uint32_t be;
	memcpy(&be, b->data + b->off, sizeof(be));
	*len = ntohl(be);
	if (*len > c->max)
		return -EMSGSIZE;
	return b->len - IPK_FRAME_HEADER >= *len;
}

static ssize_t
rx_eof(struct ipk_chan *c)
{
	if (c->rx.len == 0)
		return -EPIPE;
	c->rx.len = c->rx.off = 0;
	c->rx_start = 0;
	return -ECONNRESET;
}

ssize_t
ipk__stream_recv_hook(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline,
                      const struct ipk__rxhook *h)
{
	bool raw = c->flags & IPK__RAW;
	for (;;) {
		size_t len = c->rx.len;
		int got = raw ? len > 0 : rx_frame(c, &len);
		if (got < 0) {
			c->broken = -EPIPE; /* the stream cannot be resynced */
			m->len = len;
			return got;
		}
		if (got && h)
			return h->deliver(c, m, len, h->ctx);
		if (got && raw) {
			size_t cap = m->len;
			return ipk__rx_take(c, m, 0, len < cap ? len : cap);
		}
		if (got)
			return ipk__rx_take(c, m, IPK_FRAME_HEADER, len);
		size_t need = raw ? 1 : IPK_FRAME_HEADER + len;
		if (c->rx.len < IPK_FRAME_HEADER && !raw)
			need = IPK_FRAME_HEADER;
		ssize_t r = ipk__rx_fill(c, need, deadline, h);
		if (r == 0 && h)
			h->eof(h->ctx);
		if (r == 0)
			return rx_eof(c);
		if (r < 0)
			return ipk__reset_err(c, r);
	}
}

ssize_t
ipk__stream_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	return ipk__stream_recv_hook(c, m, deadline, NULL);
}

int
ipk__reset_err(const struct ipk_chan *c, int rc)
{
	if (rc != -ECONNRESET)
		return rc;
	return c->rx.len == 0 && !c->shut ? -EPIPE : rc;
}

bool
ipk__stream_midframe_rx(const struct ipk_chan *c)
{
	return c->rx.len > 0;
}

size_t
ipk__stream_announced(const struct ipk_chan *c)
{
	uint32_t be;
	if ((c->flags & IPK__RAW) || c->rx.len < IPK_FRAME_HEADER)
		return 0;
	memcpy(&be, c->rx.data + c->rx.off, sizeof(be));
	return ntohl(be);
}

void
ipk__stream_free(struct ipk_chan *c)
{
	free(c->rx.data);
	free(c->tx.data);
	free(c->big.data);
	memset(&c->big, 0, sizeof(c->big));
	memset(&c->rx, 0, sizeof(c->rx));
	memset(&c->tx, 0, sizeof(c->tx));
}
