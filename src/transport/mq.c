/*
 * mq.c - "mq:/name", the POSIX message queue (notes section 6.5, the
 * other half of its closing question).  Priorities order the queue, both
 * ends open it read-write, and the descriptor is pollable (ipk_fd).
 * "?depth=N&msgsize=N" size the queue when ipk_listen creates it.  Statics
 * are pmq_ because mq_ is libc's.
 */
#include "../core/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* mq_unlink wakes no waiter: waits are cut into slices to notice it. */
#define PMQ_SLICE_MS 50
#define PMQ_BLOCK_MS 250 /* the same for a call that blocks in the kernel */

struct pmq_chan {
	struct ipk_chan base;
	char *name;     /* the queue's name, for close to unlink */
	pid_t owner;    /* the process that created it, 0 if dialled */
	unsigned prio;  /* ?prio= for plain ipk_send */
	size_t msgsize; /* mq_msgsize: room of rx */
	char *rx;       /* receive buffer, and the held message */
	size_t held;    /* length of the held message */
	unsigned hprio; /* its priority */
	bool has_held;  /* rx holds a message too big for the last caller */
};

static const char *const pmq_options[] = {"depth", "msgsize", "prio", "share",
                                          NULL};

static int
pmq_parse(struct pmq_chan *q, const struct ipk_url *u)
{
	long long prio = 0;
	long max = sysconf(_SC_MQ_PRIO_MAX);
	if (ipk__url_num(u, "prio", 0, (max > 0 ? max : 32768) - 1, &prio) < 0)
		return -EINVAL;
	q->prio = (unsigned)prio;
	int rc = ipk__posix_name(u->rest, NAME_MAX);
	if (rc == 0 && !(q->name = strdup(u->rest)))
		rc = -ENOMEM;
	return rc;
}

static long
pmq_sysctl(const char *name, long dflt)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "re");
	long v = 0;
	if (f && fscanf(f, "%ld", &v) != 1)
		v = 0;
	if (f)
		fclose(f);
	return v > 0 ? v : dflt;
}

/* 1 and *a when ?depth or ?msgsize asks for a size, 0 for the defaults. */
static int
pmq_attr_parse(const struct ipk_url *u, struct mq_attr *a)
{
	long long depth = 0, size = 0;
	if (ipk__url_num(u, "depth", 1, LONG_MAX, &depth) < 0 ||
	    ipk__url_num(u, "msgsize", 1, LONG_MAX, &size) < 0)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->mq_maxmsg = depth ? (long)depth : pmq_sysctl("msg_default", 10);
	a->mq_msgsize = size ? (long)size : pmq_sysctl("msgsize_default", 8192);
	return depth || size;
}

static int
pmq_setup(struct pmq_chan *q)
{
	struct mq_attr a;
	if (mq_getattr(q->base.fd, &a) < 0)
		return -errno;
	q->msgsize = (size_t)a.mq_msgsize;
	if (q->base.max > q->msgsize)
		q->base.max = q->msgsize;
	q->rx = malloc(q->msgsize ? q->msgsize : 1);
	return q->rx ? 0 : -ENOMEM;
}

static void
pmq_undo(struct pmq_chan *q)
{
	if (q->base.fd >= 0)
		mq_close(q->base.fd);
	q->base.fd = -1;
	free(q->name);
	free(q->rx);
	q->name = q->rx = NULL;
}

static int
pmq_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct pmq_chan *q = (struct pmq_chan *)c;
	struct mq_attr a;
	int set = pmq_attr_parse(u, &a);
	if (set < 0 || ipk__url_has(u, "share"))
		return -EINVAL;
	int rc = pmq_parse(q, u);
	if (rc < 0)
		goto out_undo;
	c->fd = mq_open(q->name, O_RDWR | O_CREAT | O_EXCL, 0600,
	                set ? &a : NULL);
	if (c->fd < 0) {
		rc = -errno;
		goto out_undo;
	}
	/* mq_open's mode went through the umask: set the one asked for. */
	rc = fchmod(c->fd, c->mode | 0600) < 0 ? -errno : pmq_setup(q);
	if (rc < 0)
		goto out_unlink;
	q->owner = getpid();
	return 0;
out_unlink:
	mq_unlink(q->name);
out_undo:
	pmq_undo(q);
	return rc;
}

/* Wait for the queue to appear, as a dialler waits for a listener. */
static int
pmq_dial_open(const struct pmq_chan *q)
{
	int64_t deadline = ipk__deadline(q->base.timeout);
	int step = 1;
	for (;;) {
		mqd_t d = mq_open(q->name, O_RDWR);
		if (d >= 0 || errno != ENOENT)
			return d >= 0 ? d : -errno;
		int rc = ipk__backoff(&q->base, &step, deadline);
		if (rc < 0) /* as fifo: no listener came */
			return rc == -ECANCELED ? rc : -ETIMEDOUT;
	}
}

static int
pmq_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct pmq_chan *q = (struct pmq_chan *)c;
	struct mq_attr a; /* sizes are for listen: checked, not used */
	int share = ipk__url_flag(u, "share");
	if (share < 0 || pmq_attr_parse(u, &a) < 0)
		return -EINVAL;
	int rc = pmq_parse(q, u);
	if (rc == 0 && (rc = pmq_dial_open(q)) >= 0) {
		c->fd = rc;
		struct stat st;
		rc = fstat(c->fd, &st) < 0 ? -errno : 0;
		if (rc == 0 && !share)
			rc = ipk__check_owner(&st, c->mode | 0600);
		if (rc == 0)
			rc = pmq_setup(q);
	}
	if (rc < 0)
		pmq_undo(q);
	return rc < 0 ? rc : 0;
}

/* An absolute time long past: mq_timed* tries once and does not wait. */
static const struct timespec pmq_now = {0, 0};

/* Unlinked (mq_unlink, ipckit rm): the name no longer leads here. */
static bool
pmq_removed(const struct pmq_chan *q)
{
	struct stat st;
	return fstat(q->base.fd, &st) == 0 && st.st_nlink == 0;
}

/* With no deadline and no cancel descriptor, each attempt blocks in the
 * kernel for up to a slice (then looks for removal): one call a message.
 * Otherwise poll waits, on the monotonic clock, and the call does not. */
static bool
pmq_blocks(const struct pmq_chan *q, int64_t deadline)
{
	return deadline == IPK_NEVER && q->base.cancel < 0;
}

/* The time limit of one mq_timed* call: at once, or one slice ahead on
 * CLOCK_REALTIME (a clock step then only moves a removal check). */
static const struct timespec *
pmq_limit(const struct pmq_chan *q, int64_t deadline, struct timespec *ts)
{
	if (!pmq_blocks(q, deadline))
		return &pmq_now;
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += PMQ_BLOCK_MS * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
	return ts;
}

/*
 * Before an attempt with a deadline: poll up to a slice (mq_unlink wakes
 * nobody, so each slice looks for removal).  0 to try the call, 1 to
 * poll again, or the error.
 */
static int
pmq_ready(struct pmq_chan *q, short events, int64_t deadline)
{
	if (deadline == 0 || pmq_blocks(q, deadline))
		return 0;
	int64_t slice = ipk__now_ms() + PMQ_SLICE_MS;
	bool last = deadline <= slice;
	int rc = ipk__wait(&q->base, q->base.fd, events,
	                   last ? deadline : slice);
	if ((rc == -ETIMEDOUT || rc == -EAGAIN) && !last)
		return pmq_removed(q) ? ipk__break(&q->base, -EIDRM) : 1;
	return rc;
}

/* After an attempt that failed with err: 0 to go on, or the error. */
static int
pmq_failed(struct pmq_chan *q, int err, int64_t deadline)
{
	if (err == EINTR)
		return 0;
	if (err != ETIMEDOUT)
		return -err;
	if (pmq_removed(q))
		return ipk__break(&q->base, -EIDRM);
	return deadline == 0 ? -EAGAIN : 0;
}

static int
pmq_put(struct pmq_chan *q, const char *buf, size_t len, unsigned prio,
        int64_t deadline)
{
	/* A send is tried first: a queue with room is the common case. */
	for (bool first = true;; first = false) {
		int rc = first ? 0 : pmq_ready(q, POLLOUT, deadline);
		if (rc > 0)
			continue;
		if (rc < 0)
			return rc;
		struct timespec ts;
		if (mq_timedsend(q->base.fd, buf, len, prio,
		                 pmq_limit(q, deadline, &ts)) == 0)
			return 0;
		if ((rc = pmq_failed(q, errno, deadline)) < 0)
			return rc;
	}
}

static int
pmq_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	struct pmq_chan *q = (struct pmq_chan *)c;
	if (m->nfds)
		return -ENOTSUP;
	return pmq_put(q, m->len ? m->buf : "", m->len,
	               m->prio ? m->prio : q->prio, deadline);
}

/* Hand out the held message if it fits; it stays held if not. */
static ssize_t
pmq_give(struct pmq_chan *q, struct ipk_msg *m)
{
	size_t cap = m->len;
	m->len = q->held;
	m->prio = q->hprio;
	if (q->held > cap)
		return -EMSGSIZE;
	if (q->held)
		memcpy(m->buf, q->rx, q->held);
	q->has_held = false;
	return (ssize_t)q->held;
}

/*
 * mq_receive needs room for mq_msgsize bytes whatever the message, so a
 * smaller caller buffer receives through rx.  A message too big for it is
 * held in rx and handed to the next ipk_recv on this channel.
 */
static ssize_t
pmq_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct pmq_chan *q = (struct pmq_chan *)c;
	m->nfds = 0;
	if (q->has_held)
		return pmq_give(q, m);
	bool direct = m->len >= q->msgsize;
	char *buf = direct ? m->buf : q->rx;
	for (;;) {
		int rc = pmq_ready(q, POLLIN, deadline);
		if (rc > 0)
			continue;
		if (rc < 0)
			return rc;
		unsigned prio;
		struct timespec ts;
		ssize_t r = mq_timedreceive(c->fd, buf, q->msgsize, &prio,
		                            pmq_limit(q, deadline, &ts));
		if (r >= 0 && direct) {
			m->len = (size_t)r;
			m->prio = prio;
			return r;
		}
		if (r >= 0) {
			q->held = (size_t)r;
			q->hprio = prio;
			q->has_held = true;
			return pmq_give(q, m);
		}
		if ((rc = pmq_failed(q, errno, deadline)) < 0)
			return rc;
	}
}

/*
 * A held message goes back into the queue (at the end of its priority)
 * rather than being lost; the name is unlinked only if it is still ours.
 */
static void
pmq_close(struct ipk_chan *c)
{
	struct pmq_chan *q = (struct pmq_chan *)c;
	if (q->has_held && !c->broken)
		pmq_put(q, q->rx, q->held, q->hprio, ipk__deadline(c->timeout));
	if (q->owner == getpid() && !(c->flags & IPK__KEEP) && !pmq_removed(q))
		mq_unlink(q->name);
	pmq_undo(q);
}

const struct ipk_transport ipk__mq = {
        .scheme = "mq",
        .size = sizeof(struct pmq_chan),
        .caps = IPK_CAP_MESSAGES | IPK_CAP_FD,
        .options = pmq_options,
        .listen = pmq_listen,
        .dial = pmq_dial,
        .send = pmq_send,
        .recv = pmq_recv,
        .close = pmq_close,
};
