/*
 * shm.c - "shm:/name", POSIX shared memory (notes section 6.3): a
 * segment of two rings (src/shm/seg.c), futex sleeps.  Each side holds
 * an OFD lock on one byte of the segment's descriptor while it lives
 * (byte 0 the listener, 1 the dialer): the kernel drops it when the
 * process dies, so a dead peer is seen, a second live dialer is refused
 * and a segment left by a dead listener is replaced.
 */
#include "../shm/seg.h"
#include "../sync/futex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct shm_chan {
	struct ipk__seg seg;
	char *name;
	dev_t dev; /* listener: identity, so close unlinks only ours */
	ino_t ino;
};

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
	const struct ipk__seg *s = ctx;
	return shm_lock(s->base.fd, s->listener ? 1 : 0, F_OFD_GETLK) == 1;
}

static int
shm_sleep(void *ctx, _Atomic uint32_t *seq, uint32_t seen, int ms)
{
	(void)ctx;
	return ipk__futex_wait(seq, seen, ms);
}

static void
shm_wake(void *ctx, _Atomic uint32_t *seq)
{
	(void)ctx;
	ipk__futex_wake(seq);
}

static const struct ipk__seg_ops shm_ops = {shm_peer_alive, shm_sleep,
                                            shm_wake};

static int
shm_parse(struct shm_chan *s, const struct ipk_url *u, uint64_t *size)
{
	int rc = ipk__seg_parse(&s->seg, u, size);
	if (rc == 0)
		rc = ipk__posix_name(u->rest, NAME_MAX);
	if (rc == 0 && !(s->name = strdup(u->rest)))
		rc = -ENOMEM;
	if (rc == 0 &&
	    snprintf(s->seg.bell, sizeof(s->seg.bell), "/dev/shm%s.bell",
	             u->rest) >= (int)sizeof(s->seg.bell))
		s->seg.bell[0] = '\0'; /* a name too long for one: no ipk_fd */
	return rc;
}

static int
shm_map(struct shm_chan *s, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
	               s->seg.base.fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->seg.map = p;
	s->seg.maplen = len;
	s->seg.hdr = p;
	return 0;
}

static void
shm_unmap(struct shm_chan *s)
{
	if (s->seg.map)
		munmap(s->seg.map, s->seg.maplen);
	s->seg.map = s->seg.hdr = NULL;
}

/* A failed listen or dial leaves nothing behind. */
static void
shm_undo(struct shm_chan *s)
{
	int fd = s->seg.base.fd;
	if (s->seg.listener && fd >= 0)
		shm_unlink(s->name);
	shm_unmap(s);
	if (fd >= 0)
		close(fd);
	s->seg.base.fd = -1;
	free(s->name);
	s->name = NULL;
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
	struct ipk_chan *c = &s->seg.base;
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
	size_t len = ipk__seg_len(size);
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
	ipk__seg_format(&s->seg, size);
	return 0;
}

static int
shm_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct shm_chan *s = (struct shm_chan *)c;
	uint64_t size;
	s->seg.listener = true;
	int rc = shm_parse(s, u, &size);
	if (rc == 0)
		rc = shm_create(s, size);
	if (rc == 0)
		rc = ipk__seg_start(&s->seg, &shm_ops);
	if (rc < 0)
		shm_undo(s);
	return rc;
}

/* Map the header alone, check it, then map the whole: 1 if not ready. */
static int
shm_map_checked(struct shm_chan *s, const struct stat *st)
{
	if ((size_t)st->st_size < IPK__SEG_HDR)
		return 1; /* the listener has not sized it yet */
	int rc = shm_map(s, IPK__SEG_HDR);
	uint64_t size = 0;
	if (rc == 0)
		rc = ipk__seg_check(s->seg.hdr, (size_t)st->st_size, &size);
	shm_unmap(s);
	return rc != 0 ? rc : shm_map(s, ipk__seg_len(size));
}

/* Open, check and map; 1 when there is no live listener (yet). */
static int
shm_dial_once(struct ipk__seg *seg)
{
	struct shm_chan *s = (struct shm_chan *)seg;
	struct ipk_chan *c = &s->seg.base;
	int fd = shm_open(s->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	c->fd = fd;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0)
		rc = ipk__check_owner(&st, c->mode | 0600);
	if (rc == 0)
		rc = shm_map_checked(s, &st);
	if (rc == 0 && shm_lock(fd, 0, F_OFD_GETLK) != 1)
		rc = 1; /* its listener died */
	if (rc == 0 && shm_lock(fd, 1, F_OFD_SETLK) < 0)
		rc = -EBUSY; /* another dialer is attached */
	if (rc != 0) {
		shm_unmap(s);
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
	int rc = shm_parse(s, u, &size);
	if (rc == 0)
		rc = ipk__seg_dial(&s->seg, shm_dial_once, &shm_ops);
	if (rc < 0)
		shm_undo(s);
	return rc;
}

static void
shm_close(struct ipk_chan *c)
{
	struct shm_chan *s = (struct shm_chan *)c;
	ipk__seg_leave(&s->seg, &shm_ops);
	struct stat st;
	int fd = -1;
	if (s->seg.listener && !(c->flags & IPK__KEEP))
		fd = shm_open(s->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
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
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES | IPK_CAP_FD,
        .options = ipk__seg_options,
        .listen = shm_listen,
        .dial = shm_dial,
        .send = ipk__seg_send,
        .recv = ipk__seg_recv,
        .send_batch = ipk__seg_send_batch,
        .reserve = ipk__seg_reserve,
        .commit = ipk__seg_commit,
        .peek = ipk__seg_peek,
        .release = ipk__seg_release,
        .drops = ipk__seg_drops,
        .pollfd = ipk__seg_pollfd,
        .close = shm_close,
};
