/*
 * seg_bell.c - ipk_fd for the shared-memory transports: a doorbell FIFO
 * per direction, "<bell>.0" and "<bell>.1" beside the segment in
 * /dev/shm, so that a shm channel can sit in poll beside sockets.  Only
 * a consumer that asked for it pays: it sets the ring's bell flag, and
 * from then on the producer writes one byte after each publish.  The
 * consumer empties the FIFO whenever it has emptied the ring, then looks
 * at the ring once more (the same store-fence-load handshake as sleeps),
 * so the descriptor polls readable exactly while a message waits.
 */
#include "seg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define BELL_OPEN (O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)

static void
bell_path(const struct ipk__seg *s, int ring, char *out, size_t size)
{
	snprintf(out, size, "%s.%d", s->bell, ring);
}

/* Open the FIFO at path: ours, owner-only, a FIFO; else -EPERM. */
static int
bell_open(const char *path)
{
	int fd = open(path, BELL_OPEN);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) ||
	    ipk__check_owner(&st, 0600) < 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* The ring this side receives on: 1 for the listener, 0 the dialer. */
static int
bell_ring_in(const struct ipk__seg *s)
{
	return s->listener ? 1 : 0;
}

static void
bell_drain(int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

void
ipk__seg_bell_settle(struct ipk__seg *s)
{
	if (!ipk__ring_empty(&s->rx))
		return;
	bell_drain(s->bell_in);
	atomic_thread_fence(memory_order_seq_cst);
	if (!ipk__ring_empty(&s->rx) && write(s->bell_in, "", 1) < 0) {
		/* full: it is readable anyway */
	}
}

void
ipk__seg_bell_ring(void *seg)
{
	struct ipk__seg *s = seg;
	if (s->bell_out < 0) {
		char path[160];
		bell_path(s, bell_ring_in(s) ^ 1, path, sizeof(path));
		s->bell_out = bell_open(path);
		if (s->bell_out < 0)
			return; /* the peer's doorbell is not there (yet) */
	}
	if (write(s->bell_out, "", 1) < 0) {
		/* EAGAIN: 64 KiB of rings pending, readable anyway */
	}
}

int
ipk__seg_pollfd(struct ipk_chan *c)
{
	struct ipk__seg *s = (struct ipk__seg *)c;
	if (s->bell_in >= 0)
		return s->bell_in;
	if (!s->bell[0])
		return -ENOTSUP;
	char path[160];
	bell_path(s, bell_ring_in(s), path, sizeof(path));
	s->bell_made = mkfifo(path, 0600) == 0;
	if (!s->bell_made && errno != EEXIST)
		return -errno;
	int fd = bell_open(path);
	if (fd < 0)
		return fd;
	s->bell_in = fd;
	atomic_store(&s->hdr->ring[bell_ring_in(s)].bell, 1);
	atomic_thread_fence(memory_order_seq_cst);
	ipk__seg_bell_settle(s);
	if (!ipk__ring_empty(&s->rx) && write(fd, "", 1) < 0) {
		/* readable anyway */
	}
	return fd;
}

void
ipk__seg_bell_close(struct ipk__seg *s, bool remove_all)
{
	char path[160];
	if (s->bell_in >= 0) {
		if (s->hdr)
			atomic_store(&s->hdr->ring[bell_ring_in(s)].bell, 0);
		close(s->bell_in);
		bell_path(s, bell_ring_in(s), path, sizeof(path));
		if (s->bell_made || remove_all)
			unlink(path);
	}
	if (s->bell_out >= 0)
		close(s->bell_out);
	if (remove_all && s->bell[0]) {
		bell_path(s, bell_ring_in(s) ^ 1, path, sizeof(path));
		unlink(path);
	}
	s->bell_in = s->bell_out = -1;
}
