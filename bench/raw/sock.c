/*
 * sock.c - what the raw socket baselines share.  Connected kinds (unix,
 * unixpacket, tcp): the coordinator binds and listens; the server
 * accepts, the driver connects.  Datagram kinds (unixgram, udp): the
 * coordinator binds two sockets and connects each to the other; each
 * child keeps one.  All descriptors block; TCP gets TCP_NODELAY, as
 * ipckit sets it.
 */
#include "raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Bind fd to endpoint i: a fresh path, or 127.0.0.1 with a kernel port. */
static int
sock_bind(struct raw_setup *s, int fd, int i)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (s->mech->family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		raw_name(s, i, true);
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, s->name[i], strlen(s->name[i]) + 1);
		len = sizeof(*un);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	}
	return bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

static int
sock_new(const struct raw_setup *s)
{
	int fd = socket(s->mech->family, s->mech->type | SOCK_CLOEXEC, 0);
	if (fd >= 0 && s->mech->family == AF_INET &&
	    s->mech->type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
		           sizeof(int));
	return fd < 0 ? -errno : fd;
}

/* connect fd to where s->fd[i] is bound. */
static int
sock_connect_to(const struct raw_setup *s, int fd, int i)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(s->fd[i], (struct sockaddr *)&ss, &len) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	return 0;
}

int
raw_sock_listen(struct raw_setup *s)
{
	int fd = sock_new(s);
	if (fd < 0)
		return fd;
	s->fd[0] = fd;
	int rc = sock_bind(s, fd, 0);
	return rc < 0 ? rc : listen(fd, 4) < 0 ? -errno : 0;
}

int
raw_sock_connect(struct raw_setup *s, int role, struct bench_link *l)
{
	int fd;
	if (role == 1) {
		fd = accept4(s->fd[0], NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return -errno;
	} else {
		fd = sock_new(s);
		int rc = fd < 0 ? fd : sock_connect_to(s, fd, 0);
		if (rc < 0)
			return rc;
	}
	raw_close_fds(s, fd, -1);
	return raw_fd_link(l, fd, fd, s->mech->type == SOCK_STREAM, s->timeout);
}

int
raw_sock_dgram(struct raw_setup *s)
{
	for (int i = 0; i < 2; i++) {
		s->fd[i] = sock_new(s);
		int rc = s->fd[i] < 0 ? s->fd[i] : sock_bind(s, s->fd[i], i);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < 2; i++) {
		int rc = sock_connect_to(s, s->fd[i], 1 - i);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
raw_sock_dgram_open(struct raw_setup *s, int role, struct bench_link *l)
{
	int fd = s->fd[role == 1 ? 0 : 1];
	raw_close_fds(s, fd, -1);
	int rc = raw_fd_link(l, fd, fd, false, s->timeout);
	l->lossy = s->mech->family == AF_INET;
	return rc;
}

void
raw_sock_cleanup(struct raw_setup *s)
{
	raw_close_fds(s, -1, -1);
	for (int i = 0; i < 2; i++)
		if (s->mech->family == AF_UNIX && s->name[i][0])
			unlink(s->name[i]);
}
