/*
 * sysvmsg.c - "sysvmsg:KEY", the System V message queue of notes section
 * 6.5.  KEY is a number, IPC_PRIVATE or "path:proj" (ftok).  Both ends
 * open the queue read-write; message types select what each side reads,
 * so "?send=1&recv=2" against "?send=2&recv=1" makes one queue duplex.
 */
#include "../core/sysvkey.h"
#include "../core/transport.h"
#include "sysvmsg_wait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

/*
 * msgsnd has no timeout, so a send with a deadline on a full queue polls:
 * a few yields catch room made microseconds away, then sleeps double up
 * to a cap.  A receive sleeps in the kernel (sysvmsg_wait.c) and polls
 * only when no helper thread can be made.
 */
#define SVMQ_SPINS 64
#define SVMQ_NAP_MIN_US 50
#define SVMQ_NAP_MAX_US 5000

struct svmq_buf {
	long mtype;
	char mtext[];
};

struct svmq_chan {
	struct ipk_chan base;
	int id;
	pid_t owner;    /* the process that created the queue, 0 if dialled */
	long send_type; /* ?type= (or ?send=) for plain ipk_send */
	long recv_sel;  /* ?recv= for plain ipk_recv */
	size_t msgmax;  /* kernel.msgmax when opened: room of rx */
	struct svmq_buf *tx, *rx;
	struct ipk__svmq_waiter w; /* receives with a deadline or cancel fd */
};

static const char *const svmq_options[] = {"type", "send", "recv", "share",
                                           NULL};

static int
svmq_parse(struct svmq_chan *q, const struct ipk_url *u, key_t *key)
{
	long long send = 1, recv = 0;
	if (ipk__url_has(u, "type") && ipk__url_has(u, "send"))
		return -EINVAL;
	if (ipk__url_num(u, "type", 1, LONG_MAX, &send) < 0 ||
	    ipk__url_num(u, "send", 1, LONG_MAX, &send) < 0 ||
	    ipk__url_num(u, "recv", -LONG_MAX, LONG_MAX, &recv) < 0)
		return -EINVAL;
	q->send_type = (long)send;
	q->recv_sel = (long)recv;
	return ipk__sysv_key(u->rest, key);
}

static size_t
svmq_msgmax(void)
{
	struct msginfo mi;
	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&mi) < 0 ||
	    mi.msgmax <= 0)
		return 8192;
	return (size_t)mi.msgmax;
}

/* Buffers and limits of an open queue; the channel max drops to fit. */
static int
svmq_setup(struct svmq_chan *q, int id, const struct msqid_ds *ds)
{
	struct ipk_chan *c = &q->base;
	q->msgmax = svmq_msgmax();
	size_t lim = q->msgmax < ds->msg_qbytes ? q->msgmax : ds->msg_qbytes;
	if (c->max > lim)
		c->max = lim;
	q->tx = malloc(sizeof(*q->tx) + c->max);
	q->rx = malloc(sizeof(*q->rx) + q->msgmax);
	if (!q->tx || !q->rx) {
		free(q->tx);
		free(q->rx);
		q->tx = q->rx = NULL;
		return -ENOMEM;
	}
	q->id = id;
	ipk__svmq_waiter_init(&q->w);
	return 0;
}

static int
svmq_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct svmq_chan *q = (struct svmq_chan *)c;
	key_t key;
	int rc = svmq_parse(q, u, &key);
	if (rc < 0 || ipk__url_has(u, "share"))
		return rc < 0 ? rc : -EINVAL;
	/* SysV ignores the umask: the mode given here is the mode it gets. */
	int id = msgget(key, IPC_CREAT | IPC_EXCL | (int)(c->mode | 0600));
	if (id < 0)
		return -errno;
	struct msqid_ds ds;
	rc = msgctl(id, IPC_STAT, &ds) < 0 ? -errno : svmq_setup(q, id, &ds);
	if (rc < 0) {
		msgctl(id, IPC_RMID, NULL);
		return rc;
	}
	q->owner = getpid();
	return 0;
}

/* Wait for the queue to appear, as a dialler waits for a listener. */
static int
svmq_get(const struct ipk_chan *c, key_t key)
{
	int64_t deadline = ipk__deadline(c->timeout);
	int step = 1;
	for (;;) {
		int id = msgget(key, 0);
		if (id >= 0 || errno != ENOENT)
			return id >= 0 ? id : -errno;
		int rc = ipk__backoff(c, &step, deadline);
		if (rc < 0) /* as fifo: no listener came */
			return rc == -ECANCELED ? rc : -ETIMEDOUT;
	}
}

/* Ours (creator and owner) and no wider than the mode asked for. */
static int
svmq_check(const struct msqid_ds *ds, mode_t want)
{
	if (ds->msg_perm.cuid != geteuid())
		return -EPERM;
	struct stat st = {.st_uid = ds->msg_perm.uid,
	                  .st_mode = ds->msg_perm.mode & 0777};
	return ipk__check_owner(&st, want);
}

static int
svmq_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct svmq_chan *q = (struct svmq_chan *)c;
	key_t key;
	int rc = svmq_parse(q, u, &key);
	int share = ipk__url_flag(u, "share");
	if (rc < 0 || share < 0 || key == IPC_PRIVATE)
		return rc < 0 ? rc : -EINVAL;
	int id = svmq_get(c, key);
	if (id < 0)
		return id;
	struct msqid_ds ds;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	rc = share ? 0 : svmq_check(&ds, c->mode | 0600);
	return rc < 0 ? rc : svmq_setup(q, id, &ds);
}

static bool
svmq_gone(const struct svmq_chan *q)
{
	struct msqid_ds ds;
	return msgctl(q->id, IPC_STAT, &ds) < 0 &&
	       (errno == EINVAL || errno == EIDRM);
}

/* Wait a little before polling again; -EAGAIN / -ETIMEDOUT when past. */
static int
svmq_pause(const struct ipk_chan *c, int *step, int64_t deadline)
{
	int left = ipk__remaining(deadline);
	if (left == 0)
		return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
	if ((*step)++ < SVMQ_SPINS) {
		sched_yield();
		return 0;
	}
	int shift = *step - SVMQ_SPINS > 7 ? 7 : *step - SVMQ_SPINS;
	long us = (long)SVMQ_NAP_MIN_US << shift;
	if (us > SVMQ_NAP_MAX_US)
		us = SVMQ_NAP_MAX_US;
	if (left > 0 && us > left * 1000L)
		us = left * 1000L;
	return ipk__nap(c, us);
}

/*
 * After a failed msgsnd/msgrcv: 0 to try again, 1 to wait, or the error.
 * IPC_NOWAIT never sleeps in the kernel, so a removed queue shows up as
 * EINVAL there.
 */
static int
svmq_retry(struct svmq_chan *q, int err)
{
	if (err == EINTR)
		return 0;
	if (err == EIDRM || (err == EINVAL && svmq_gone(q)))
		return ipk__break(&q->base, -EIDRM);
	if (err == EINVAL)
		return -EMSGSIZE; /* kernel.msgmax was lowered since open */
	return err == EAGAIN || err == ENOMSG ? 1 : -err;
}

/*
 * msgsnd/msgrcv have no timeout and no descriptor: they block in the
 * caller's thread only for an endless wait that nothing may cancel;
 * otherwise they try with IPC_NOWAIT and wait beside the call.
 */
static int
svmq_flags(const struct ipk_chan *c, int64_t deadline)
{
	return deadline == IPK_NEVER && c->cancel < 0 ? 0 : IPC_NOWAIT;
}

static int
svmq_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	struct svmq_chan *q = (struct svmq_chan *)c;
	if (m->nfds)
		return -ENOTSUP;
	if (m->type < 0)
		return -EINVAL;
	q->tx->mtype = m->type ? m->type : q->send_type;
	if (m->len)
		memcpy(q->tx->mtext, m->buf, m->len);
	int flags = svmq_flags(c, deadline);
	int step = 0;
	for (;;) {
		if (msgsnd(q->id, q->tx, m->len, flags) == 0)
			return 0;
		int rc = svmq_retry(q, errno);
		if (rc > 0)
			rc = svmq_pause(c, &step, deadline);
		if (rc < 0)
			return rc;
	}
}

/* 1 when a message of type t is what selector sel takes before best. */
static bool
svmq_better(long sel, long t, long best, bool found)
{
	if (sel >= 0)
		return sel == 0 || t == sel;
	return t <= -sel && (!found || t < best);
}

/*
 * The size of the message selector sel would take, without taking it:
 * MSG_COPY reads the queue by position.  msgmax when it cannot tell.
 */
static size_t
svmq_probe(struct svmq_chan *q, long sel)
{
	struct msqid_ds ds;
	if (msgctl(q->id, IPC_STAT, &ds) < 0)
		return q->msgmax;
	long best = 0;
	ssize_t size = -1;
	for (msgqnum_t i = 0; i < ds.msg_qnum; i++) {
		ssize_t r = msgrcv(q->id, q->rx, q->msgmax, (long)i,
		                   MSG_COPY | IPC_NOWAIT);
		if (r < 0 || !svmq_better(sel, q->rx->mtype, best, size >= 0))
			continue;
		best = q->rx->mtype;
		size = r;
		if (sel >= 0)
			break;
	}
	return size >= 0 ? (size_t)size : q->msgmax;
}

/*
 * Until a message for sel is queued, the deadline passes or the cancel
 * descriptor is readable: the helper thread sleeps in msgrcv and wakes
 * the eventfd polled here.  0 to try again, or the wait's end.
 */
static int
svmq_await(struct svmq_chan *q, long sel, int *step, int64_t deadline)
{
	int left = ipk__remaining(deadline);
	if (left == 0)
		return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
	int rc = *step > 0 ? -1 : ipk__svmq_arm(&q->w, q->id, sel);
	if (rc != 0)
		return rc > 0 ? 0 : svmq_pause(&q->base, step, deadline);
	rc = ipk__wait(&q->base, q->w.efd, POLLIN, deadline);
	if (rc < 0)
		return rc;
	ipk__svmq_drain(&q->w);
	rc = ipk__svmq_error(&q->w);
	return rc == -EIDRM || rc == -EINVAL ? 0 : rc; /* msgrcv tells which */
}

/* A 0-byte message the helper took whole (it cannot leave it queued). */
static bool
svmq_held(struct svmq_chan *q, long sel, struct ipk_msg *m)
{
	if (!ipk__svmq_take_held(&q->w, sel, &m->type))
		return false;
	m->len = 0;
	return true;
}

/* Never MSG_NOERROR: a message too big for the caller stays queued. */
static ssize_t
svmq_recv1(struct svmq_chan *q, struct ipk_msg *m, long sel, int64_t deadline)
{
	struct ipk_chan *c = &q->base;
	size_t want = m->len < c->max ? m->len : c->max;
	int flags = svmq_flags(c, deadline);
	int step = 0;
	for (;;) {
		if (svmq_held(q, sel, m))
			return 0;
		ssize_t r = msgrcv(q->id, q->rx, want, sel, flags);
		if (r >= 0) {
			if (r)
				memcpy(m->buf, q->rx->mtext, (size_t)r);
			m->len = (size_t)r;
			m->type = q->rx->mtype;
			return r;
		}
		if (errno == E2BIG) {
			m->len = svmq_probe(q, sel);
			return -EMSGSIZE;
		}
		int rc = svmq_retry(q, errno);
		if (rc > 0)
			rc = svmq_await(q, sel, &step, deadline);
		if (rc < 0)
			return rc;
	}
}

/*
 * With ipk_fd in use, the helper watches again once a receive finds the
 * queue empty: until then the descriptor stays readable, so a burst costs
 * the helper nothing per message.
 */
static ssize_t
svmq_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct svmq_chan *q = (struct svmq_chan *)c;
	long sel = m->type ? m->type : q->recv_sel;
	m->nfds = 0;
	ssize_t r = svmq_recv1(q, m, sel, deadline);
	if (q->w.persistent && ipk__is_wait_end((int)r))
		ipk__svmq_arm(&q->w, q->id, sel);
	return r;
}

/* Readable while a message for the last receive's selector is queued. */
static int
svmq_pollfd(struct ipk_chan *c)
{
	struct svmq_chan *q = (struct svmq_chan *)c;
	return ipk__svmq_fd(&q->w, q->id, q->recv_sel);
}

/* Only the creating process removes: a forked child's close does not. */
static void
svmq_close(struct ipk_chan *c)
{
	struct svmq_chan *q = (struct svmq_chan *)c;
	bool removing = q->owner == getpid() && !(c->flags & IPK__KEEP);
	ipk__svmq_waiter_close(&q->w, removing);
	if (removing)
		msgctl(q->id, IPC_RMID, NULL);
	free(q->tx);
	free(q->rx);
}

const struct ipk_transport ipk__sysvmsg = {
        .scheme = "sysvmsg",
        .size = sizeof(struct svmq_chan),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES | IPK_CAP_FD,
        .options = svmq_options,
        .listen = svmq_listen,
        .dial = svmq_dial,
        .send = svmq_send,
        .recv = svmq_recv,
        .pollfd = svmq_pollfd,
        .close = svmq_close,
};
