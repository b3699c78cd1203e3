/*
 * sysvmsg.c - the raw baseline of sysvmsg: two IPC_PRIVATE queues made
 * before the fork; msgsnd and msgrcv with mtype 1, always blocking (System
 * V has no timed receive, so a finite-timeout ipckit row is compared with
 * this blocking loop too).  The payload is copied into and out of the
 * msgbuf, as ipckit does.  No batched call exists.
 */
#include "raw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

struct raw_msgbuf {
	long mtype;
	char mtext[];
};

struct raw_svmq {
	int tx, rx;
	struct raw_msgbuf *mb;
};

static int
svmq_prepare(struct raw_setup *s)
{
	for (int i = 0; i < 2; i++)
		if ((s->id[i] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
			return -errno;
	return 0;
}

static int
svmq_send(void *ctx, const void *buf, size_t len)
{
	struct raw_svmq *q = ctx;
	q->mb->mtype = 1;
	memcpy(q->mb->mtext, buf, len);
	while (msgsnd(q->tx, q->mb, len, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static ssize_t
svmq_recv(void *ctx, void *buf, size_t cap, int ms)
{
	struct raw_svmq *q = ctx;
	(void)ms;
	ssize_t r;
	while ((r = msgrcv(q->rx, q->mb, cap, 0, 0)) < 0)
		if (errno != EINTR)
			return -errno;
	memcpy(buf, q->mb->mtext, (size_t)r);
	return r;
}

static const struct bench_ops svmq_ops = {.send = svmq_send, .recv = svmq_recv};

static int
svmq_open(struct raw_setup *s, int role, struct bench_link *l)
{
	struct raw_svmq *q = malloc(sizeof(*q));
	if (!q || !(q->mb = malloc(sizeof(*q->mb) + s->size)))
		return -ENOMEM;
	q->tx = (int)s->id[role];
	q->rx = (int)s->id[1 - role];
	*l = (struct bench_link){&svmq_ops, q, s->timeout, false};
	return 0;
}

static void
svmq_cleanup(struct raw_setup *s)
{
	for (int i = 0; i < 2; i++)
		if (s->id[i] >= 0)
			msgctl((int)s->id[i], IPC_RMID, NULL);
}

const struct raw_mech raw_sysvmsg = {
        .name = "sysvmsg",
        .prepare = svmq_prepare,
        .open = svmq_open,
        .cleanup = svmq_cleanup,
};
