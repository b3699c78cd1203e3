/*
 * pipe.c - "pipe:", the anonymous pipe of notes section 6.1.  ipk_pair
 * makes the read end and the write end; after fork each process closes
 * the one it does not use.  A byte stream, so messages are framed by io.c.
 * "?atomic" caps frames at PIPE_BUF for pipes with several writers.
 */
#include "../core/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

struct pipe_chan {
	struct ipk_chan base;
	bool writer;
};

static const char *const pipe_options[] = {"atomic", NULL};

static int
pipe_pair(struct ipk_chan *a, struct ipk_chan *b, const struct ipk_url *u)
{
	if (*u->rest != '\0')
		return -EINVAL;
	int atomic = ipk__url_flag(u, "atomic");
	if (atomic < 0)
		return atomic;
	int fds[2];
	/* Blocking, each call saying RWF_NOWAIT where it must not wait. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	a->fd = fds[0];
	b->fd = fds[1];
	a->flags |= IPK__BLOCKFD;
	b->flags |= IPK__BLOCKFD;
	((struct pipe_chan *)b)->writer = true;
	if (atomic)
		b->flags |= IPK__ATOMIC;
	return 0;
}

static int
pipe_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	if (!((struct pipe_chan *)c)->writer)
		return -ENOTSUP;
	if (m->nfds)
		return -ENOTSUP;
	return ipk__stream_send1(c, m, deadline);
}

static int
pipe_send_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                int64_t deadline)
{
	if (!((struct pipe_chan *)c)->writer)
		return -ENOTSUP;
	return ipk__stream_send(c, msgs, n, deadline);
}

static ssize_t
pipe_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	if (((struct pipe_chan *)c)->writer)
		return -ENOTSUP;
	return ipk__stream_recv(c, m, deadline);
}

/*
 * The write end's half-close is its close: the reader sees -EPIPE.  What
 * a timed-out send left is finished first, within ?timeout=; if it
 * cannot be, the reader sees that message cut and this says so.
 */
static int
pipe_shutdown(struct ipk_chan *c)
{
	if (!((struct pipe_chan *)c)->writer)
		return -ENOTSUP;
	int rc = ipk__stream_flush(c, ipk__deadline(c->timeout));
	close(c->fd);
	c->fd = -1;
	c->broken = -EPIPE;
	return rc;
}

const struct ipk_transport ipk__pipe = {
        .scheme = "pipe",
        .size = sizeof(struct pipe_chan),
        .caps = IPK_CAP_FD | IPK_CAP_PAIR,
        .options = pipe_options,
        .pair = pipe_pair,
        .send = pipe_send,
        .recv = pipe_recv,
        .send_batch = pipe_send_batch,
        .shutdown = pipe_shutdown,
};
