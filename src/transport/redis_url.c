/*
 * redis_url.c - what a redis:// URL says: the server, the credentials
 * (userinfo with %XX escapes, or $REDISCLI_AUTH), the stream's key, and
 * the same URL with its password hidden for everything that shows it.
 */
#include "redis_conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
rds_hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Copy [s, s+n) to out, decoding %XX: 0, or -EINVAL. */
static int
rds_unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++, o++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi = i + 2 < n ? rds_hex(s[i + 1]) : -1;
			int lo = hi >= 0 ? rds_hex(s[i + 2]) : -1;
			if (lo < 0)
				return -EINVAL;
			ch = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= size || ch == 0)
			return -EINVAL;
		out[o] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* "user:pass", ":pass" or "user" before the '@'. */
static int
rds_userinfo(const char *s, size_t n, struct ipk__rds_addr *a)
{
	const char *colon = memchr(s, ':', n);
	size_t ul = colon ? (size_t)(colon - s) : n;
	if (rds_unescape(s, ul, a->user, sizeof(a->user)) < 0)
		return -EINVAL;
	if (!colon)
		return 0;
	return rds_unescape(colon + 1, n - ul - 1, a->pass, sizeof(a->pass));
}

/* "host", "host:port", "[v6]" or "[v6]:port". */
static int
rds_hostport(const char *s, size_t n, struct ipk__rds_node *a)
{
	const char *end = s + n, *p = NULL;
	if (n && *s == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb || (rb + 1 < end && rb[1] != ':'))
			return -EINVAL;
		p = rb + 1 < end ? rb + 1 : NULL;
		s++, n = (size_t)(rb - s);
	} else if ((p = memchr(s, ':', n))) {
		n = (size_t)(p - s);
	}
	if (n == 0 || n >= sizeof(a->host))
		return -EINVAL;
	memcpy(a->host, s, n);
	a->host[n] = '\0';
	a->port = 6379;
	if (!p)
		return 0;
	char digits[8] = "";
	size_t dl = (size_t)(end - p - 1);
	if (dl == 0 || dl >= sizeof(digits) || strspn(p + 1, "0123456789") < dl)
		return -EINVAL;
	memcpy(digits, p + 1, dl);
	long port = strtol(digits, NULL, 10);
	if (port < 1 || port > 65535)
		return -EINVAL;
	a->port = (int)port;
	return 0;
}

int
ipk__rds_why(char *why, size_t size, const char *text)
{
	if (why && size)
		snprintf(why, size, "%s", text);
	return -EINVAL;
}

static int
rds_key(const char *path, struct ipk__rds_addr *a, char *why, size_t size)
{
	if (!path || !path[1])
		return ipk__rds_why(why, size,
		                    "redis:// needs a stream key: "
		                    "redis://host:port/stream");
	if (strspn(path + 1, "0123456789") == strlen(path + 1))
		return ipk__rds_why(
		        why, size,
		        "an all-digit path is a database number in "
		        "other Redis URLs: use ?db=N and a stream name");
	a->key = strdup(path + 1);
	return a->key ? 0 : -ENOMEM;
}

int
ipk__rds_addr_parse(const struct ipk_url *u, struct ipk__rds_addr *a, char *why,
                    size_t size)
{
	memset(a, 0, sizeof(*a));
	const char *rest = u->rest, *path = strchr(rest, '/');
	size_t auth = path ? (size_t)(path - rest) : strlen(rest);
	const char *at = NULL;
	for (size_t i = 0; i < auth; i++) /* the last '@': passwords hold any */
		if (rest[i] == '@')
			at = rest + i;
	if (at && rds_userinfo(rest, (size_t)(at - rest), a) < 0)
		return ipk__rds_why(why, size, "bad user:password before '@'");
	const char *hp = at ? at + 1 : rest;
	if (rds_hostport(hp, (size_t)(rest + auth - hp), &a->node) < 0)
		return ipk__rds_why(why, size,
		                    "bad host:port (a name, an IPv4 address or "
		                    "[IPv6], port 1 to 65535)");
	if (ipk__url_num(u, "db", 0, INT_MAX, &a->db) < 0)
		return ipk__rds_why(why, size, "bad ?db= (a database number)");
	const char *env = getenv("REDISCLI_AUTH");
	if (!a->pass[0] && env && strlen(env) < sizeof(a->pass))
		strcpy(a->pass, env);
	return rds_key(path, a, why, size);
}

void
ipk__rds_addr_free(struct ipk__rds_addr *a)
{
	free(a->key);
	memset(a, 0, sizeof(*a)); /* the password too */
}

char *
ipk__rds_redact(const char *text)
{
	const char *auth = strstr(text, "//");
	auth = auth ? auth + 2 : text;
	size_t n = strcspn(auth, "/?");
	const char *at = NULL, *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (at)
		colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon)
		return strdup(text);
	size_t head = (size_t)(colon + 1 - text);
	size_t len = head + 3 + strlen(at) + 1;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%.*s***%s", (int)head, text, at);
	return out;
}
