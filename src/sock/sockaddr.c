/*
 * sockaddr.c - who is at each end of a socket: addresses from URLs (Unix
 * paths checked against sun_path before any system call, bare names in
 * the private runtime directory, abstract "@name" with an explicit
 * length, "host:port" / "[v6]:port" through getaddrinfo), and the
 * SO_PEERCRED policy of Unix sockets (?allow=any, ?uid=N).
 */
#include "sock.h"
#include "../core/transport.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <sys/random.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "ipckit-" and 128 random bits in hex: an abstract name nobody guesses. */
static int
sock_random_name(char *out, size_t size)
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -errno;
	int n = snprintf(out, size, "ipckit-");
	for (size_t i = 0; i < sizeof(r); i++)
		n += snprintf(out + n, size - (size_t)n, "%02x", r[i]);
	return 0;
}

int
ipk__sock_unix_addr(const char *rest, bool listen, struct ipk__saddr *a)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	memset(a, 0, sizeof(*a));
	sun->sun_family = AF_UNIX;
	size_t room = sizeof(sun->sun_path);
	char name[64] = "@";
	if (!strcmp(rest, "@") && listen) {
		int rc = sock_random_name(name + 1, sizeof(name) - 1);
		if (rc < 0)
			return rc;
		rest = name; /* as if the URL had said "@ipckit-..." */
	}
	if (rest[0] == '@') {
		size_t n = strlen(rest + 1);
		if (n == 0)
			return -EINVAL;
		if (n + 1 > room)
			return -ENAMETOOLONG;
		memcpy(sun->sun_path + 1, rest + 1, n);
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		                     1 + n);
		return 0;
	}
	char path[PATH_MAX];
	int rc = ipk__runtime_path(rest, path, sizeof(path));
	if (rc < 0)
		return rc;
	size_t n = strlen(path);
	if (n + 1 > room) /* the kernel would cut it silently */
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, n + 1);
	a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* "host:port", "[v6]:port", ":port"; no host is 127.0.0.1. */
static int
sock_split_hostport(const char *rest, char *host, size_t hsize,
                    const char **port)
{
	const char *colon;
	const char *h = rest;
	size_t hl;
	if (rest[0] == '[') {
		const char *end = strchr(rest, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = rest + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon || memchr(rest, ':', (size_t)(colon - rest)))
			return -EINVAL;
		hl = (size_t)(colon - rest);
	}
	if (hl >= hsize)
		return -ENAMETOOLONG;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (hl == 0)
		strcpy(host, "127.0.0.1");
	*port = colon + 1;
	return ipk__sock_port_ok(*port) ? 0 : -EINVAL;
}

/* A decimal port, 0 to 65535: getaddrinfo would wrap 70000 to 4464. */
bool
ipk__sock_port_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && n <= 5 && s[n] == '\0' && strtol(s, NULL, 10) <= 65535;
}

int
ipk__sock_inet_check(const char *rest)
{
	char host[256];
	const char *port;
	return sock_split_hostport(rest, host, sizeof(host), &port);
}

int
ipk__sock_inet_addr(const char *rest, int type, struct ipk__saddr *a)
{
	char host[256];
	const char *port;
	int rc = sock_split_hostport(rest, host, sizeof(host), &port);
	if (rc < 0)
		return rc;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = type,
	                         .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_SYSTEM)
		return -errno;
	if (rc == EAI_FAMILY)
		return -EAFNOSUPPORT;
	if (rc != 0) /* the name does not resolve */
		return rc == EAI_MEMORY ? -ENOMEM : -ENXIO;
	memset(a, 0, sizeof(*a));
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
ipk__sock_policy_parse(struct ipk__credpol *pol, const struct ipk_url *u)
{
	const char *allow = ipk__url_get(u, "allow");
	pol->uid = pol->self = geteuid();
	if (allow && strcmp(allow, "any") != 0)
		return -EINVAL;
	pol->any = allow != NULL;
	long long uid = pol->uid;
	if (ipk__url_num(u, "uid", 0, UINT32_MAX - 1, &uid) < 0)
		return -EINVAL;
	pol->uid = (uid_t)uid;
	return 0;
}

bool
ipk__sock_allowed(const struct ipk__credpol *pol, uid_t uid)
{
	return pol->any || uid == pol->self || uid == pol->uid;
}

int
ipk__sock_peercred(int fd, struct ipk_peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	p->pid = uc.pid;
	p->uid = uc.uid;
	p->gid = uc.gid;
	return 0;
}

/* The URL a peer dials to reach c: its bound address, port 0 resolved. */
int
ipk__sock_name(const struct ipk_chan *c, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (c->fd < 0)
		return -ENOTSUP; /* no socket: ipk_name gives the URL */
	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	const char *scheme = c->tp->scheme;
	int n;
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
		size_t plen = len - offsetof(struct sockaddr_un, sun_path);
		if (plen > 0 && sun->sun_path[0] == '\0')
			n = snprintf(buf, size, "%s:@%.*s", scheme,
			             (int)plen - 1, sun->sun_path + 1);
		else
			n = snprintf(buf, size, "%s:%.*s", scheme, (int)plen,
			             sun->sun_path);
	} else {
		char host[NI_MAXHOST], port[NI_MAXSERV];
		int e = getnameinfo((struct sockaddr *)&ss, len, host,
		                    sizeof(host), port, sizeof(port),
		                    NI_NUMERICHOST | NI_NUMERICSERV);
		if (e)
			return -EINVAL;
		bool v6 = ss.ss_family == AF_INET6;
		n = snprintf(buf, size, "%s://%s%s%s:%s", scheme, v6 ? "[" : "",
		             host, v6 ? "]" : "", port);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
