/*
 * common.c - what the raw baselines share: names, the wait of finite
 * timeouts (poll, then the call), and the two descriptor loops.  A stream
 * sender writes a 4-byte big-endian length and the payload with one
 * writev (a batch: up to 64 frames in one writev); the receiver reads
 * into a 64 KiB buffer and splits the messages out of it.  A datagram
 * goes with send/recv, a batch with one sendmmsg.
 */
#include "raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAW_RX (64u * 1024)
#define RAW_BATCH 64

struct raw_fd {
	int rfd, wfd, timeout;
	char *rx; /* stream: receive buffer */
	size_t off, len;
};

void
raw_init(struct raw_setup *s, const struct raw_mech *m, size_t size,
         int timeout)
{
	memset(s, 0, sizeof(*s));
	s->mech = m;
	s->size = size;
	s->timeout = timeout;
	for (int i = 0; i < 4; i++)
		s->fd[i] = -1;
	s->id[0] = s->id[1] = -1;
}

void
raw_name(struct raw_setup *s, int i, bool path)
{
	static int n;
	snprintf(s->name[i], sizeof(s->name[i]), "%s/ipk-raw-%d-%d-%d",
	         path ? "/tmp" : "", (int)getpid(), n++, i);
}

int
raw_wait(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void
raw_close_fds(struct raw_setup *s, int keep1, int keep2)
{
	for (int i = 0; i < 4; i++) {
		if (s->fd[i] >= 0 && s->fd[i] != keep1 && s->fd[i] != keep2)
			close(s->fd[i]);
		s->fd[i] = -1;
	}
}

static int
raw_write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int
raw_stream_send(void *ctx, const void *buf, size_t len)
{
	struct raw_fd *f = ctx;
	uint32_t hdr = htonl((uint32_t)len);
	struct iovec iov[2] = {{&hdr, 4}, {(void *)buf, len}};
	return raw_write_all(f->wfd, iov, 2);
}

static int
raw_stream_batch(void *ctx, const struct iovec *msgs, int n)
{
	struct raw_fd *f = ctx;
	struct iovec iov[2 * RAW_BATCH];
	uint32_t hdr[RAW_BATCH];
	n = n > RAW_BATCH ? RAW_BATCH : n;
	for (int i = 0; i < n; i++) {
		hdr[i] = htonl((uint32_t)msgs[i].iov_len);
		iov[2 * i] = (struct iovec){&hdr[i], 4};
		iov[2 * i + 1] = msgs[i];
	}
	int rc = raw_write_all(f->wfd, iov, 2 * n);
	return rc < 0 ? rc : n;
}

/* Have at least need bytes buffered: 0, -EPIPE at EOF, -errno. */
static int
raw_fill(struct raw_fd *f, size_t need, int ms)
{
	if (f->len == 0)
		f->off = 0;
	if (f->off + need > RAW_RX) {
		memmove(f->rx, f->rx + f->off, f->len);
		f->off = 0;
	}
	while (f->len < need) {
		int rc = ms >= 0 ? raw_wait(f->rfd, ms) : 0;
		if (rc < 0)
			return rc;
		ssize_t r = read(f->rfd, f->rx + f->off + f->len,
		                 RAW_RX - f->off - f->len);
		if (r == 0)
			return -EPIPE;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			f->len += (size_t)r;
	}
	return 0;
}

static ssize_t
raw_stream_recv(void *ctx, void *buf, size_t cap, int ms)
{
	struct raw_fd *f = ctx;
	int rc = raw_fill(f, 4, ms);
	if (rc < 0)
		return rc;
	uint32_t be;
	memcpy(&be, f->rx + f->off, 4);
	size_t len = ntohl(be);
	if (len > cap)
		return -EMSGSIZE;
	f->off += 4, f->len -= 4;
	for (size_t got = 0; got < len;) {
		if (f->len == 0 && (rc = raw_fill(f, 1, ms)) < 0)
			return rc;
		size_t k = f->len < len - got ? f->len : len - got;
		memcpy((char *)buf + got, f->rx + f->off, k);
		got += k, f->off += k, f->len -= k;
	}
	return (ssize_t)len;
}

static int
raw_dgram_send(void *ctx, const void *buf, size_t len)
{
	struct raw_fd *f = ctx;
	while (send(f->wfd, buf, len, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int
raw_dgram_batch(void *ctx, const struct iovec *msgs, int n)
{
	struct raw_fd *f = ctx;
	struct mmsghdr mm[RAW_BATCH];
	n = n > RAW_BATCH ? RAW_BATCH : n;
	memset(mm, 0, sizeof(mm[0]) * (size_t)n);
	for (int i = 0; i < n; i++) {
		mm[i].msg_hdr.msg_iov = (struct iovec *)&msgs[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	int r;
	while ((r = sendmmsg(f->wfd, mm, (unsigned)n, MSG_NOSIGNAL)) < 0)
		if (errno != EINTR)
			return -errno;
	return r;
}

static ssize_t
raw_dgram_recv(void *ctx, void *buf, size_t cap, int ms)
{
	struct raw_fd *f = ctx;
	for (;;) {
		int rc = ms >= 0 ? raw_wait(f->rfd, ms) : 0;
		if (rc < 0)
			return rc;
		ssize_t r = recv(f->rfd, buf, cap, 0);
		if (r >= 0 || errno != EINTR)
			return r < 0 ? -errno : r;
	}
}

static const struct bench_ops raw_stream_ops = {.send = raw_stream_send,
                                                .recv = raw_stream_recv,
                                                .send_batch = raw_stream_batch};
static const struct bench_ops raw_dgram_ops = {.send = raw_dgram_send,
                                               .recv = raw_dgram_recv,
                                               .send_batch = raw_dgram_batch};

int
raw_fd_link(struct bench_link *l, int rfd, int wfd, bool stream, int timeout)
{
	struct raw_fd *f = calloc(1, sizeof(*f));
	if (!f || (stream && !(f->rx = malloc(RAW_RX))))
		return -ENOMEM;
	f->rfd = rfd, f->wfd = wfd, f->timeout = timeout;
	*l = (struct bench_link){stream ? &raw_stream_ops : &raw_dgram_ops, f,
	                         timeout, false};
	return 0;
}

static int
raw_open(void *setup, int role, struct bench_link *l)
{
	struct raw_setup *s = setup;
	return s->mech->open(s, role, l);
}

int
bench_raw_run(const struct raw_mech *m, const struct bench_case *c,
              struct bench_run *r)
{
	struct raw_setup s;
	raw_init(&s, m, c->size, c->timeout);
	memset(r, 0, sizeof(*r));
	int rc = m->prepare(&s);
	if (rc == 0)
		rc = bench_fork_pair(raw_open, &s, c, r);
	r->err = rc;
	m->cleanup(&s);
	return rc;
}
