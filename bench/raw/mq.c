/*
 * mq.c - the raw baseline of mq: two POSIX queues made before the fork
 * (depth 10, mq_msgsize = the message size, as the ipckit row asks for);
 * mq_send, and mq_receive (blocking) or, with a finite timeout,
 * mq_timedreceive with an absolute CLOCK_REALTIME deadline.  No batched
 * call exists: a batch is one mq_send per message.
 */
#include "raw.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdlib.h>
#include <time.h>

#define MQ_DEPTH 10

struct raw_mq {
	mqd_t tx, rx;
};

static int
mq_prepare(struct raw_setup *s)
{
	struct mq_attr a = {.mq_maxmsg = MQ_DEPTH, .mq_msgsize = (long)s->size};
	for (int i = 0; i < 2; i++) {
		raw_name(s, i, false);
		s->id[i] = mq_open(s->name[i], O_RDWR | O_CREAT | O_EXCL, 0600,
		                   &a);
		if (s->id[i] < 0)
			return -errno;
	}
	return 0;
}

static int
mq_rawsend(void *ctx, const void *buf, size_t len)
{
	struct raw_mq *q = ctx;
	while (mq_send(q->tx, buf, len, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static ssize_t
mq_rawrecv(void *ctx, void *buf, size_t cap, int ms)
{
	struct raw_mq *q = ctx;
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec +=
	        ms / 1000 + (at.tv_nsec + ms % 1000 * 1000000L) / 1000000000;
	at.tv_nsec = (at.tv_nsec + ms % 1000 * 1000000L) % 1000000000;
	for (;;) {
		ssize_t r =
		        ms < 0 ? mq_receive(q->rx, buf, cap, NULL)
		               : mq_timedreceive(q->rx, buf, cap, NULL, &at);
		if (r >= 0 || errno != EINTR)
			return r < 0 ? -errno : r;
	}
}

static const struct bench_ops mq_ops = {.send = mq_rawsend, .recv = mq_rawrecv};

static int
mq_rawopen(struct raw_setup *s, int role, struct bench_link *l)
{
	struct raw_mq *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->tx = (mqd_t)s->id[role];
	q->rx = (mqd_t)s->id[1 - role];
	*l = (struct bench_link){&mq_ops, q, s->timeout, false};
	return 0;
}

static void
mq_cleanup(struct raw_setup *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->id[i] >= 0)
			mq_close((mqd_t)s->id[i]);
		if (s->name[i][0])
			mq_unlink(s->name[i]);
	}
}

const struct raw_mech raw_mq = {
        .name = "mq",
        .prepare = mq_prepare,
        .open = mq_rawopen,
        .cleanup = mq_cleanup,
};
