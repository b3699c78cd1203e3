/*
 * shm.c - "shm:/name", POSIX shared memory (notes section 6.3): one
 * segment holding two rings (src/shm/ring.c), listener to dialer and
 * dialer to listener.  Each side holds an OFD lock on one byte of the
 * segment's descriptor while it lives (0 the listener, 1 the dialer), so
 * a dead peer is seen, and a second live dialer is refused.
 */
#include "../core/transport.h"
#include "../shm/ring.h"
#include "../sync/futex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_MAGIC 0x69706b73u /* "ipks" */
#define SHM_VERSION 1
#define SHM_HDR 4096
#define SHM_SIZE (1u << 20) /* per direction */
#define L2D 0               /* listener to dialer */
#define D2L 1

/* Page 0 of the segment.  Every field is untrusted to the reader. */
struct shm_hdr {
	_Atomic uint32_t magic; /* stored last by the listener */
	uint32_t version;
	uint64_t size;             /* bytes of each ring's data */
	int32_t creator;           /* the listener's pid, for ls / rm */
	_Atomic uint32_t closed_l; /* the listener closed */
	_Atomic uint32_t closed_d; /* the dialer closed */
	_Atomic uint32_t attached; /* a dialer is attached */
	_Alignas(64) struct ipk__ring_ctl ring[2];
};

struct shm_chan {
	struct ipk_chan base;
	char *name;
	bool listener;
	void *map;
	size_t maplen;
	struct shm_hdr *hdr;
	dev_t dev;
	ino_t ino;
	struct ipk__ring tx, rx;
	struct ipk__ring_waiter wtx, wrx;
};

static const char *const shm_options[] = {"size", "wait", NULL};

/* The lock of side 0 (listener) or 1 (dialer): take it, or test it. */
static int
shm_lock(int fd, int side, int cmd)
{
	struct flock fl = {.l_type = F_WRLCK,
	                   .l_whence = SEEK_SET,
	                   .l_start = side,
	                   .l_len = 1};
	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

static bool
shm_peer_alive(void *ctx)
{
	const struct shm_chan *s = ctx;
	return shm_lock(s->base.fd, s->listener ? 1 : 0, F_OFD_GETLK) == 1;
}

/* The listener waits for the next dialer rather than give up. */
static bool
shm_always(void *ctx)
{
	(void)ctx;
	return true;
}

static int
shm_parse(struct shm_chan *s, const struct ipk_url *u, uint64_t *size,
          int *wait)
{
	long long sz = SHM_SIZE;
	if (ipk__url_num(u, "size", IPK__RING_MIN, IPK__RING_MAX, &sz) < 0)
		return -EINVAL;
	*size = IPK__RING_MIN;
	while (*size < (uint64_t)sz)
		*size *= 2;
	const char *w = ipk__url_get(u, "wait");
	if (!w || !strcmp(w, "adaptive"))
		*wait = IPK__WAIT_ADAPTIVE;
	else if (!strcmp(w, "spin"))
		*wait = IPK__WAIT_SPIN;
	else if (!strcmp(w, "sleep"))
		*wait = IPK__WAIT_SLEEP;
	else
		return -EINVAL;
	int rc = ipk__posix_name(u->rest, NAME_MAX);
	if (rc == 0 && !(s->name = strdup(u->rest)))
		rc = -ENOMEM;
	return rc;
}

/* Both ends of this side: the rings, their waits, the channel's max. */
static int
shm_rings(struct shm_chan *s, int wait)
{
	struct shm_hdr *h = s->hdr;
	unsigned char *data = (unsigned char *)s->map + SHM_HDR;
	int out = s->listener ? L2D : D2L, in = s->listener ? D2L : L2D;
	const _Atomic uint32_t *closed =
	        s->listener ? &h->closed_d : &h->closed_l;
	s->wtx = (struct ipk__ring_waiter){.mode = wait,
	                                   .cancel = s->base.cancel,
	                                   .alive = shm_peer_alive,
	                                   .ctx = s,
	                                   .closed = closed};
	s->wrx = s->wtx;
	if (s->listener) { /* a dialer's leaving does not end its receives */
		s->wrx.alive = shm_always;
		s->wrx.closed = NULL;
	}
	int rc = ipk__ring_attach(&s->tx, &h->ring[out], data + out * h->size,
	                          h->size, true, &s->wtx);
	if (rc == 0)
		rc = ipk__ring_attach(&s->rx, &h->ring[in], data + in * h->size,
		                      h->size, false, &s->wrx);
	if (rc == 0 && s->base.max > s->tx.max)
		s->base.max = s->tx.max;
	return rc;
}

static void shm_unmap(struct shm_chan *s);

/* A failed listen or dial leaves nothing behind. */
static void
shm_undo(struct shm_chan *s)
{
	if (s->listener && s->base.fd >= 0)
		shm_unlink(s->name);
	shm_unmap(s);
	if (s->base.fd >= 0)
		close(s->base.fd);
	s->base.fd = -1;
	free(s->name);
	s->name = NULL;
}

static int
shm_map(struct shm_chan *s, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
	               s->base.fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->map = p;
	s->maplen = len;
	s->hdr = p;
	return 0;
}

/* A segment of ours whose listener died: removed, so a fresh one is made. */
static int
shm_remove_stale(const struct shm_chan *s, mode_t mode)
{
	int fd = shm_open(s->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0 && errno == ELOOP)
		return -EEXIST; /* a symlink: never ours to remove */
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && !S_ISREG(st.st_mode))
		rc = -EEXIST;
	if (rc == 0)
		rc = ipk__check_owner(&st, mode);
	if (rc == 0 && shm_lock(fd, 0, F_OFD_GETLK) != 0)
		rc = -EADDRINUSE;
	if (rc == 0 && shm_unlink(s->name) < 0 && errno != ENOENT)
		rc = -errno;
	close(fd);
	return rc;
}

static int
shm_create(struct shm_chan *s, uint64_t size)
{
	struct ipk_chan *c = &s->base;
	int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = shm_open(s->name, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		int rc = shm_remove_stale(s, c->mode | 0600);
		if (rc < 0)
			return rc;
		fd = shm_open(s->name, flags, 0600);
	}
	if (fd < 0)
		return errno == EEXIST ? -EADDRINUSE : -errno;
	c->fd = fd;
	struct stat st;
	size_t len = SHM_HDR + 2 * size;
	int rc = fchmod(fd, c->mode | 0600) < 0 ? -errno : 0;
	if (rc == 0 && (ftruncate(fd, (off_t)len) < 0 || fstat(fd, &st) < 0))
		rc = -errno;
	if (rc == 0)
		rc = shm_lock(fd, 0, F_OFD_SETLK);
	if (rc == 0)
		rc = shm_map(s, len);
	if (rc < 0)
		return rc;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->hdr->version = SHM_VERSION;
	s->hdr->size = size;
	s->hdr->creator = (int32_t)getpid();
	return 0;
}

static int
shm_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct shm_chan *s = (struct shm_chan *)c;
	uint64_t size;
	int wait;
	int rc = shm_parse(s, u, &size, &wait);
	s->listener = true;
	if (rc == 0)
		rc = shm_create(s, size);
	if (rc == 0)
		rc = shm_rings(s, wait);
	if (rc == 0)
		atomic_store(&s->hdr->magic, SHM_MAGIC);
	if (rc < 0)
		shm_undo(s);
	return rc;
}

/*
 * The header of a segment someone else made, read once and checked
 * before the rest is mapped: 1 when its listener is not ready yet.
 */
static int
shm_check_hdr(struct shm_chan *s, const struct stat *st)
{
	if ((size_t)st->st_size < SHM_HDR)
		return 1; /* the listener has not sized it yet */
	int rc = shm_map(s, SHM_HDR);
	if (rc < 0)
		return rc;
	uint32_t magic = atomic_load(&s->hdr->magic);
	uint32_t version = s->hdr->version;
	uint64_t size = s->hdr->size;
	munmap(s->map, s->maplen);
	s->map = s->hdr = NULL;
	if (magic == 0)
		return 1;
	if (magic != SHM_MAGIC || version != SHM_VERSION ||
	    !ipk__ring_size_ok(size) ||
	    (uint64_t)st->st_size != SHM_HDR + 2 * size)
		return -EPROTO;
	return shm_map(s, SHM_HDR + 2 * size);
}

/* Open, check and map; 1 when there is no live listener (yet). */
static int
shm_dial_once(struct shm_chan *s)
{
	struct ipk_chan *c = &s->base;
	int fd = shm_open(s->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	c->fd = fd;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0)
		rc = ipk__check_owner(&st, c->mode | 0600);
	if (rc == 0)
		rc = shm_check_hdr(s, &st);
	if (rc == 0 && shm_lock(fd, 0, F_OFD_GETLK) != 1)
		rc = 1; /* its listener died */
	if (rc == 0 && shm_lock(fd, 1, F_OFD_SETLK) < 0)
		rc = -EBUSY; /* another dialer is attached */
	if (rc != 0) {
		if (s->map)
			munmap(s->map, s->maplen);
		s->map = s->hdr = NULL;
		close(fd);
		c->fd = -1;
	}
	return rc;
}

static int
shm_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct shm_chan *s = (struct shm_chan *)c;
	uint64_t size;
	int wait, step = 1;
	int rc = shm_parse(s, u, &size, &wait);
	int64_t deadline = ipk__deadline(c->timeout);
	while (rc == 0 && (rc = shm_dial_once(s)) == 1) {
		rc = ipk__backoff(c, &step, deadline);
		if (rc < 0)
			rc = rc == -ECANCELED ? rc : -ETIMEDOUT;
	}
	if (rc == 0)
		rc = shm_rings(s, wait);
	if (rc == 0 && ipk__ring_drop_all(&s->rx) < 0)
		rc = -EPROTO;
	if (rc == 0) {
		atomic_store(&s->hdr->closed_d, 0);
		atomic_store(&s->hdr->attached, 1);
	}
	if (rc < 0)
		shm_undo(s);
	return rc;
}

static void
shm_unmap(struct shm_chan *s)
{
	if (s->map)
		munmap(s->map, s->maplen);
	s->map = s->hdr = NULL;
}

/* No dialer to send to, or a listener that closed: one shared load. */
static bool
shm_peer_gone(const struct shm_chan *s)
{
	if (s->listener)
		return !atomic_load_explicit(&s->hdr->attached,
		                             memory_order_relaxed);
	return atomic_load_explicit(&s->hdr->closed_l, memory_order_relaxed);
}

static int
shm_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	struct shm_chan *s = (struct shm_chan *)c;
	if (shm_peer_gone(s))
		return -EPIPE;
	void *p;
	int rc = ipk__ring_reserve(&s->tx, m->len, &p, deadline);
	if (rc < 0)
		return rc == -EBADMSG ? (c->broken = rc) : rc;
	if (m->len)
		memcpy(p, m->buf, m->len);
	ipk__ring_commit(&s->tx, m->len, true);
	return 0;
}

/*
 * Many messages, one index store: each is written without publishing,
 * and the head goes out once, or before a wait for room (the reader must
 * see what is there to make room).
 */
static int
shm_send_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
               int64_t deadline)
{
	struct shm_chan *s = (struct shm_chan *)c;
	if (shm_peer_gone(s))
		return -EPIPE;
	size_t i = 0;
	int rc = 0;
	for (; i < n; i++) {
		void *p;
		rc = ipk__ring_reserve(&s->tx, msgs[i].iov_len, &p, 0);
		if (rc == -EAGAIN) {
			ipk__ring_publish(&s->tx);
			rc = ipk__ring_reserve(&s->tx, msgs[i].iov_len, &p,
			                       deadline);
		}
		if (rc < 0)
			break;
		if (msgs[i].iov_len)
			memcpy(p, msgs[i].iov_base, msgs[i].iov_len);
		ipk__ring_commit(&s->tx, msgs[i].iov_len, false);
	}
	ipk__ring_publish(&s->tx);
	if (rc == -EBADMSG)
		c->broken = rc;
	return i ? (int)i : rc;
}

static ssize_t
shm_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct shm_chan *s = (struct shm_chan *)c;
	const void *p;
	size_t len;
	int rc = ipk__ring_peek(&s->rx, &p, &len, deadline);
	if (rc < 0)
		return rc == -EBADMSG ? (c->broken = rc) : rc;
	size_t cap = m->len;
	m->len = len;
	if (len > cap)
		return -EMSGSIZE; /* it stays for a bigger buffer */
	if (len)
		memcpy(m->buf, p, len);
	ipk__ring_release(&s->rx);
	return (ssize_t)len;
}

static int
shm_reserve(struct ipk_chan *c, size_t len, void **ptr, int64_t deadline)
{
	struct shm_chan *s = (struct shm_chan *)c;
	if (shm_peer_gone(s))
		return -EPIPE;
	int rc = ipk__ring_reserve(&s->tx, len, ptr, deadline);
	return rc == -EBADMSG ? (c->broken = rc) : rc;
}

static int
shm_commit(struct ipk_chan *c, size_t len)
{
	ipk__ring_commit(&((struct shm_chan *)c)->tx, len, true);
	return 0;
}

static int
shm_peek(struct ipk_chan *c, const void **ptr, size_t *len, int64_t deadline)
{
	struct shm_chan *s = (struct shm_chan *)c;
	int rc = ipk__ring_peek(&s->rx, ptr, len, deadline);
	return rc == -EBADMSG ? (c->broken = rc) : rc;
}

static int
shm_release(struct ipk_chan *c)
{
	ipk__ring_release(&((struct shm_chan *)c)->rx);
	return 0;
}

static uint32_t
shm_drops(const struct ipk_chan *c)
{
	const struct shm_chan *s = (const struct shm_chan *)c;
	return (uint32_t)atomic_load(&s->hdr->ring[L2D].dropped);
}

/* Tell the peer, wake it wherever it sleeps, and remove what we made. */
static void
shm_close(struct ipk_chan *c)
{
	struct shm_chan *s = (struct shm_chan *)c;
	struct shm_hdr *h = s->hdr;
	if (h && s->listener) {
		atomic_store(&h->closed_l, 1);
	} else if (h) {
		atomic_store(&h->attached, 0);
		atomic_store(&h->closed_d, 1);
	}
	for (int i = 0; h && i < 2; i++) {
		atomic_fetch_add(&h->ring[i].data_seq, 1);
		atomic_fetch_add(&h->ring[i].room_seq, 1);
		ipk__futex_wake(&h->ring[i].data_seq);
		ipk__futex_wake(&h->ring[i].room_seq);
	}
	struct stat st;
	int fd = s->listener && !(c->flags & IPK__KEEP)
	                 ? shm_open(s->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
	                            0)
	                 : -1;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		shm_unlink(s->name);
	if (fd >= 0)
		close(fd);
	shm_unmap(s);
	free(s->name);
	s->name = NULL;
}

const struct ipk_transport ipk__shm = {
        .scheme = "shm",
        .size = sizeof(struct shm_chan),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES,
        .options = shm_options,
        .listen = shm_listen,
        .dial = shm_dial,
        .send = shm_send,
        .recv = shm_recv,
        .send_batch = shm_send_batch,
        .reserve = shm_reserve,
        .commit = shm_commit,
        .peek = shm_peek,
        .release = shm_release,
        .drops = shm_drops,
        .close = shm_close,
};
