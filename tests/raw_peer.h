/*
 * raw_peer.h - plain sockets, not ipckit, that reach an ipckit endpoint
 * by the URL ipk_name gives ("unix:/path", "unix:@name", "unixgram:@name",
 * "tcp://127.0.0.1:PORT"): the hostile peers of stream_test, flood_test
 * and threads_test.  Nothing here asserts: callers check what they need.
 */
#ifndef IPK_TEST_RAW_PEER_H
#define IPK_TEST_RAW_PEER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The socket address of an ipk_name URL, with its family and type. */
static inline int
raw_addr(const char *name, struct sockaddr_storage *ss, socklen_t *len,
         int *type)
{
	char rest[256];
	const char *colon = strchr(name, ':');
	if (!colon)
		return -EINVAL;
	size_t slen = (size_t)(colon - name);
	snprintf(rest, sizeof(rest), "%s", colon + 1);
	rest[strcspn(rest, "?")] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (slen == 3 && !strncmp(name, "tcp", 3)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		char *p = strrchr(rest, ':');
		if (strncmp(rest, "//", 2) || !p)
			return -EINVAL;
		*p = '\0';
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(p + 1));
		if (inet_pton(AF_INET, rest + 2, &sin->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*sin);
		*type = SOCK_STREAM;
		return 0;
	}
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	sun->sun_family = AF_UNIX;
	if (slen == 4 && !strncmp(name, "unix", 4))
		*type = SOCK_STREAM;
	else if (slen == 8 && !strncmp(name, "unixgram", 8))
		*type = SOCK_DGRAM;
	else if (slen == 10 && !strncmp(name, "unixpacket", 10))
		*type = SOCK_SEQPACKET;
	else
		return -EINVAL;
	size_t n = strlen(rest);
	if (n + 1 > sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, rest, n + 1);
	if (rest[0] == '@')
		sun->sun_path[0] = '\0'; /* abstract: exactly n bytes */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	                   (rest[0] == '@' ? 0 : 1));
	return 0;
}

/* A connected (stream) or addressed (datagram) plain socket; or -errno. */
static inline int
raw_connect(const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int type;
	int rc = raw_addr(name, &ss, &len, &type);
	if (rc < 0)
		return rc;
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Write all of buf (blocking socket): 0, or -errno (peer gone). */
static inline int
raw_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t r = send(fd, p, len, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Read exactly len bytes within timeout_ms: 0, -ETIMEDOUT, -EPIPE, -errno. */
static inline int
raw_read(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	while (len) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int n = poll(&pf, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ETIMEDOUT;
		ssize_t r = recv(fd, p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The peer hung up on fd within timeout_ms: EOF or a reset. */
static inline int
raw_hung_up(int fd, int timeout_ms)
{
	char b[256];
	for (;;) {
		int r = raw_read(fd, b, sizeof(b), timeout_ms);
		if (r == -EPIPE || r == -ECONNRESET)
			return 1;
		if (r < 0)
			return 0;
	}
}

/* The 4-byte big-endian length prefix of a frame. */
static inline void
raw_header(void *out, uint32_t len)
{
	uint32_t be = htonl(len);
	memcpy(out, &be, 4);
}

#endif
