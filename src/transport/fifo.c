/*
 * fifo.c - "fifo:/path", the named pipe of notes section 6.2.  The
 * listener makes the FIFO and reads; dialers write.  The listener holds a
 * read lock on byte 0 while it lives, so a FIFO left by a dead listener
 * can be told from a live one.  Writers hold a shared flock; a frame that
 * does not fit PIPE_BUF needs the exclusive one (no other writer), since
 * only PIPE_BUF-sized writes are atomic.  A writer that says ?single
 * holds the exclusive lock for its life and writes plain frames of any
 * size, as a pipe's writer does: a second writer is then refused.
 */
#include "../core/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct fifo_chan {
	struct ipk_chan base;
	char *path; /* listener: the FIFO it will unlink */
	int lockfd; /* listener: holds the liveness lock */
	dev_t dev;  /* listener: identity, so close unlinks only ours */
	ino_t ino;
	bool writer;
	int lock;    /* writer: the flock it holds: 0, LOCK_SH or LOCK_EX */
	bool single; /* writer: ?single, LOCK_EX for life: plain frames */
	char *tail;  /* writer: a big message the deadline cut, from tail_off */
	size_t tail_len, tail_off;
	bool heard;      /* raw listener: bytes came since the last EOF */
	bool discarding; /* listener: throwing bytes away after a bad header */
	size_t bad_len;  /* the length that header claimed */
	_Atomic long long discarded; /* bytes thrown away so far */
};

static const char *const fifo_options[] = {"uid", "single", NULL};

#define FIFO_OPEN (O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)

static int
fifo_lock_op(int fd, int cmd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_len = 1};
	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

/* 1 when a live listener holds the FIFO open at fd's inode. */
static int
fifo_listener_alive(int fd)
{
	return fifo_lock_op(fd, F_OFD_GETLK, F_WRLCK);
}

/*
 * The read end blocks, so a receive without deadline or cancel is one
 * read, as in a plain program; a FIFO has no RWF_NOWAIT, so the reads
 * that must not block poll first (IPK__POLLREAD).  It was opened
 * non-blocking, since a blocking open waits for a writer.
 */
static int
fifo_reader_blocks(struct ipk_chan *c)
{
	int rc = ipk__set_blockfd(c);
	if (rc == 0)
		c->flags |= IPK__POLLREAD;
	return rc;
}

static int
fifo_open_checked(const char *path, int flags, struct stat *st)
{
	int fd = open(path, flags | FIFO_OPEN);
	if (fd < 0)
		return errno == ELOOP ? -EEXIST : -errno;
	if (fstat(fd, st) < 0 || !S_ISFIFO(st->st_mode)) {
		close(fd);
		return -EEXIST;
	}
	return fd;
}

/* Open what is at path as the listener's FIFO: ours, idle, owner-only. */
static int
fifo_adopt(struct fifo_chan *f, bool created)
{
	struct ipk_chan *c = &f->base;
	struct stat st;
	int fd = fifo_open_checked(f->path, O_RDONLY, &st);
	if (fd < 0)
		return fd;
	int rc = created ? 0 : ipk__check_owner(&st, c->mode | 0600);
	if (rc == 0 && fifo_listener_alive(fd) > 0)
		rc = -EADDRINUSE;
	if (rc == 0 && fchmod(fd, c->mode | 0600) < 0)
		rc = -errno;
	f->lockfd = rc == 0 ? open(f->path, O_RDONLY | FIFO_OPEN) : -1;
	if (rc == 0 && f->lockfd < 0)
		rc = -errno;
	if (rc == 0)
		rc = fifo_lock_op(f->lockfd, F_OFD_SETLK, F_RDLCK);
	if (rc < 0) {
		close(fd);
		if (f->lockfd >= 0)
			close(f->lockfd);
		f->lockfd = -1;
		return rc;
	}
	c->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return fifo_reader_blocks(c);
}

static int
fifo_path(const struct ipk_url *u, char **out)
{
	char buf[PATH_MAX];
	int rc = ipk__runtime_path(u->rest, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int
fifo_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct fifo_chan *f = (struct fifo_chan *)c;
	/* ?single is the writers' (the reader reads both forms): the same
	 * URL may serve both ends. */
	if (ipk__url_has(u, "uid") || ipk__url_flag(u, "single") < 0)
		return -EINVAL;
	int rc = fifo_path(u, &f->path);
	if (rc < 0)
		return rc;
	bool created = mkfifo(f->path, 0600) == 0;
	if (!created && errno != EEXIST)
		rc = -errno;
	else
		rc = fifo_adopt(f, created);
	if (rc < 0) {
		if (created)
			unlink(f->path);
		free(f->path);
		f->path = NULL;
	}
	return rc;
}

/* Take the writers' lock (shared or exclusive) within the deadline. */
static int
fifo_flock(const struct ipk_chan *c, int fd, int op, int64_t deadline)
{
	int step = 1;
	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		int rc = ipk__backoff(c, &step, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A writer's open waits for a reader: poll non-blocking opens until then. */
static int
fifo_dial_open(struct ipk_chan *c, const char *path, uid_t owner,
               struct stat *st)
{
	int64_t deadline = ipk__deadline(c->timeout);
	int step = 1;
	for (;;) {
		int fd = fifo_open_checked(path, O_WRONLY, st);
		if (fd >= 0 || (fd != -ENXIO && fd != -ENOENT))
			return fd;
		/* Not waiting for a reader of someone else's FIFO (the check
		 * that counts is the one on the open descriptor). */
		if (fd == -ENXIO && lstat(path, st) == 0 && st->st_uid != owner)
			return -EPERM;
		int rc = ipk__backoff(c, &step, deadline);
		if (rc < 0) /* no listener came, or no FIFO */
			return rc == -ECANCELED ? rc : -ETIMEDOUT;
	}
}

static int
fifo_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct fifo_chan *f = (struct fifo_chan *)c;
	long long uid = geteuid();
	if (ipk__url_num(u, "uid", 0, UINT32_MAX - 1, &uid) < 0)
		return -EINVAL;
	int single = ipk__url_flag(u, "single");
	if (single < 0)
		return single;
	char *path;
	int rc = fifo_path(u, &path);
	if (rc < 0)
		return rc;
	struct stat st;
	int fd = fifo_dial_open(c, path, (uid_t)uid, &st);
	free(path);
	if (fd < 0)
		return fd;
	rc = st.st_uid == (uid_t)uid ? 0 : -EPERM;
	/* ?single: the only writer, or none (another writer holds a lock). */
	if (rc == 0 && single && flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
	else if (rc == 0 && !single)
		rc = fifo_flock(c, fd, LOCK_SH, ipk__deadline(c->timeout));
	if (rc < 0) {
		close(fd);
		return rc;
	}
	c->fd = fd;
	f->writer = true;
	f->single = single;
	f->lock = single ? LOCK_EX : LOCK_SH;
	if (!(c->flags & IPK__RAW) && !single)
		c->flags |= IPK__ATOMIC;
	return 0;
}

static bool
fifo_is_big(const struct ipk_chan *c, const struct iovec *m)
{
	return !(c->flags & IPK__RAW) &&
	       m->iov_len + IPK_FRAME_HEADER > PIPE_BUF;
}

/* Take the shared lock if a failed upgrade left this writer without. */
static int
fifo_lock_shared(struct fifo_chan *f, int64_t deadline)
{
	if (f->lock)
		return 0;
	int rc = fifo_flock(&f->base, f->base.fd, LOCK_SH, deadline);
	if (rc == 0)
		f->lock = LOCK_SH;
	return rc;
}

/* A big message needs the only writer: upgrade to LOCK_EX or -EMSGSIZE. */
static int
fifo_lock_exclusive(struct fifo_chan *f, int64_t deadline)
{
	if (f->lock == LOCK_EX)
		return 0;
	if (flock(f->base.fd, LOCK_EX | LOCK_NB) == 0) {
		f->lock = LOCK_EX;
		return 0;
	}
	f->lock = 0; /* a failed conversion drops the shared lock */
	int rc = fifo_lock_shared(f, deadline);
	return rc < 0 ? rc : -EMSGSIZE;
}

static void
fifo_unlock_exclusive(struct fifo_chan *f)
{
	if (f->lock == LOCK_EX && !f->tail)
		f->lock =
		        flock(f->base.fd, LOCK_SH | LOCK_NB) == 0 ? LOCK_SH : 0;
}

/* Finish a big message that an earlier deadline cut: 0 when none is left. */
static int
fifo_send_tail(struct fifo_chan *f, int64_t deadline)
{
	if (!f->tail)
		return 0;
	int rc = ipk__chunk_send(&f->base, f->tail, f->tail_len, &f->tail_off,
	                         deadline);
	if (rc == 0 || rc == -EPIPE) {
		free(f->tail);
		f->tail = NULL;
		fifo_unlock_exclusive(f);
	}
	return rc;
}

/*
 * A message above PIPE_BUF goes in atomic chunks under the exclusive
 * lock.  Once a chunk went, the message counts as sent: what the deadline
 * left is kept and finished first by the next send or by close.
 */
static int
fifo_send_big(struct fifo_chan *f, const struct iovec *m, int64_t deadline)
{
	if (m->iov_len > f->base.max)
		return -EMSGSIZE;
	int rc = fifo_lock_exclusive(f, deadline);
	size_t off = 0;
	if (rc == 0)
		rc = ipk__chunk_send(&f->base, m->iov_base, m->iov_len, &off,
		                     deadline);
	if (rc < 0 && off && ipk__is_wait_end(rc)) {
		f->tail = malloc(m->iov_len);
		if (f->tail) {
			memcpy(f->tail, m->iov_base, m->iov_len);
			f->tail_len = m->iov_len;
			f->tail_off = off;
			return 0;
		}
	}
	fifo_unlock_exclusive(f);
	return rc;
}

/*
 * Writes up to PIPE_BUF are atomic, so several writers never interleave
 * them (IPK__ATOMIC groups frames into such writes); bigger messages go
 * by fifo_send_big.  Returns how many messages went.
 */
static int
fifo_send_groups(struct fifo_chan *f, const struct iovec *msgs, size_t n,
                 int64_t deadline)
{
	struct ipk_chan *c = &f->base;
	int rc = fifo_send_tail(f, deadline);
	if (rc == 0)
		rc = fifo_lock_shared(f, deadline);
	size_t sent = 0;
	while (rc == 0 && sent < n) {
		size_t k = 0;
		while (sent + k < n && !fifo_is_big(c, &msgs[sent + k]))
			k++;
		if (k == 0) {
			rc = fifo_send_big(f, &msgs[sent], deadline);
			sent += rc == 0;
			continue;
		}
		int got = ipk__stream_send(c, msgs + sent, k, deadline);
		sent += got > 0 ? (size_t)got : 0;
		if (got < 0 || (size_t)got < k)
			rc = got < 0 ? got
			             : -EAGAIN; /* stop: some did not go */
	}
	return sent ? (int)sent : rc;
}

static int
fifo_send_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                int64_t deadline)
{
	struct fifo_chan *f = (struct fifo_chan *)c;
	if (!f->writer)
		return -ENOTSUP;
	/* Nobody to interleave with: plain frames of any size, no lock. */
	if (f->single)
		return ipk__stream_send(c, msgs, n, deadline);
	struct ipk__sigguard g; /* once for all the groups and chunks */
	ipk__sigpipe_hold(c, &g);
	int rc = fifo_send_groups(f, msgs, n, deadline);
	ipk__sigpipe_release(&g);
	return rc;
}

static int
fifo_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	struct iovec one = {m->buf, m->len};
	int rc = fifo_send_batch(c, &one, 1, deadline);
	return rc < 0 ? rc : 0;
}

/*
 * All writers gone.  A read end opened now does not report the hang-up
 * of writers it never saw, so poll waits for the next writer instead of
 * spinning; dup3 keeps the descriptor number that ipk_fd handed out.
 */
static int
fifo_reopen(struct fifo_chan *f)
{
	int fd = open(f->path, O_RDONLY | FIFO_OPEN);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && (st.st_dev != f->dev || st.st_ino != f->ino))
		rc = -EIDRM; /* the FIFO was removed or replaced */
	if (rc == 0 && dup3(fd, f->base.fd, O_CLOEXEC) < 0)
		rc = -errno;
	close(fd);
	return rc < 0 ? rc : fifo_reader_blocks(&f->base);
}

/* Read and throw away until every writer has closed: 0 then. */
static int
fifo_drain(struct fifo_chan *f, int64_t deadline)
{
	char buf[PIPE_BUF];
	for (;;) {
		/* The read end blocks: read only what poll says is there. */
		int rc = ipk__wait(&f->base, f->base.fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
		ssize_t r = read(f->base.fd, buf, sizeof(buf));
		if (r > 0)
			f->discarded += r;
		else if (r == 0)
			return 0;
		else if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/*
 * A header above ?max= (or not a header at all): the shared byte stream
 * cannot be resynchronised, so what the writers of this moment send is
 * thrown away until they have all closed; then -EMSGSIZE once, and the
 * next writer starts clean.  A deadline in between leaves it draining.
 */
static ssize_t
fifo_resync(struct fifo_chan *f, struct ipk_msg *m, int64_t deadline)
{
	struct ipk_chan *c = &f->base;
	if (!f->discarding) {
		f->discarding = true;
		f->bad_len = m->len;
		f->discarded += (long long)c->rx.len;
		c->rx.len = c->rx.off = 0;
		c->big.len = c->big.total = 0;
		c->broken = 0;
	}
	int rc = fifo_drain(f, deadline);
	if (rc == 0)
		rc = fifo_reopen(f);
	if (rc < 0)
		return ipk__is_wait_end(rc) ? rc : ipk__break(c, rc);
	f->discarding = false;
	m->len = f->bad_len;
	return -EMSGSIZE;
}

static ssize_t
fifo_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct fifo_chan *f = (struct fifo_chan *)c;
	if (f->writer)
		return -ENOTSUP;
	if (f->discarding)
		return fifo_resync(f, m, deadline);
	for (;;) {
		ssize_t r = (c->flags & IPK__RAW)
		                    ? ipk__stream_recv(c, m, deadline)
		                    : ipk__chunk_recv(c, m, deadline);
		if (r == -EMSGSIZE && c->broken)
			return fifo_resync(f, m, deadline);
		f->heard |= r > 0;
		if ((r != -EPIPE && r != -ECONNRESET) || c->broken)
			return r;
		int rc = fifo_reopen(f);
		if (rc < 0)
			return ipk__break(c, rc);
		/* Raw bytes have no boundaries but the writers' end: say it
		 * once, as cat would stop; the next call waits for more. */
		bool eof = (c->flags & IPK__RAW) && f->heard;
		f->heard = false;
		if (r == -ECONNRESET || eof)
			return r;
		/* read() of a FIFO without writers is 0 at once: poll first. */
		rc = ipk__wait(c, c->fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}

/*
 * A writer's half-close is its close (the listener reads on until every
 * writer is gone).  What a timed-out send left is finished first, within
 * ?timeout=: -ETIMEDOUT when it could not be (the listener sees that
 * message cut), so a caller knows its last message did not arrive.
 */
static int
fifo_shutdown(struct ipk_chan *c)
{
	struct fifo_chan *f = (struct fifo_chan *)c;
	if (!f->writer)
		return -ENOTSUP;
	int64_t deadline = ipk__deadline(c->timeout);
	int rc = fifo_send_tail(f, deadline);
	if (rc == 0)
		rc = ipk__stream_flush(c, deadline);
	free(f->tail);
	f->tail = NULL;
	close(c->fd);
	c->fd = -1;
	c->broken = -EPIPE;
	return rc;
}

static void
fifo_stats(const struct ipk_chan *c, struct ipk_stats *st)
{
	st->discarded = ((const struct fifo_chan *)c)->discarded;
}

static void
fifo_close(struct ipk_chan *c)
{
	struct fifo_chan *f = (struct fifo_chan *)c;
	if (f->tail && fifo_send_tail(f, ipk__deadline(c->timeout)) < 0) {
		free(f->tail); /* the reader sees this message cut */
		f->tail = NULL;
	}
	struct stat st;
	if (f->path && !(c->flags & IPK__KEEP) && lstat(f->path, &st) == 0 &&
	    st.st_dev == f->dev && st.st_ino == f->ino)
		unlink(f->path);
	if (f->path)
		close(f->lockfd);
	free(f->path);
}

const struct ipk_transport ipk__fifo = {
        .scheme = "fifo",
        .size = sizeof(struct fifo_chan),
        .caps = IPK_CAP_FD,
        .options = fifo_options,
        .listen = fifo_listen,
        .dial = fifo_dial,
        .send = fifo_send,
        .recv = fifo_recv,
        .send_batch = fifo_send_batch,
        .stats = fifo_stats,
        .shutdown = fifo_shutdown,
        .close = fifo_close,
};
