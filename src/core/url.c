/*
 * url.c - splits "scheme:rest?k=v&flag" in place.  Knows no scheme by
 * name: which keys a scheme accepts is the transport's business, checked
 * in chan.c.
 */
#include "core.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAXLEN 4096

static int
url_split_query(struct ipk_url *u, char *q)
{
	while (q && *q) {
		char *next = strchr(q, '&');
		if (next)
			*next++ = '\0';
		if (*q == '\0' || u->nq == IPK_URL_MAXQ)
			return -EINVAL;
		char *eq = strchr(q, '=');
		if (eq)
			*eq++ = '\0';
		if (*q == '\0' || ipk__url_has(u, q))
			return -EINVAL;
		u->q[u->nq].key = q;
		u->q[u->nq].val = eq;
		u->nq++;
		q = next;
	}
	return 0;
}

static bool
url_scheme_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '+' || *s == '-' || *s == '.'))
			return false;
	return true;
}

int
ipk__url_parse(const char *text, struct ipk_url *u)
{
	memset(u, 0, sizeof(*u));
	if (!text || strnlen(text, URL_MAXLEN) == URL_MAXLEN)
		return -EINVAL;
	u->buf = strdup(text);
	if (!u->buf)
		return -ENOMEM;
	char *colon = strchr(u->buf, ':');
	if (!colon)
		goto bad;
	*colon = '\0';
	if (!url_scheme_ok(u->buf))
		goto bad;
	u->scheme = u->buf;
	char *rest = colon + 1;
	if (strncmp(rest, "//", 2) == 0)
		rest += 2;
	char *q = strchr(rest, '?');
	if (q)
		*q++ = '\0';
	u->rest = rest;
	if (url_split_query(u, q) < 0)
		goto bad;
	return 0;
bad:
	ipk__url_free(u);
	return -EINVAL;
}

void
ipk__url_free(struct ipk_url *u)
{
	free(u->buf);
	memset(u, 0, sizeof(*u));
}

const char *
ipk__url_get(const struct ipk_url *u, const char *key)
{
	for (size_t i = 0; i < u->nq; i++)
		if (strcmp(u->q[i].key, key) == 0)
			return u->q[i].val ? u->q[i].val : "";
	return NULL;
}

bool
ipk__url_has(const struct ipk_url *u, const char *key)
{
	for (size_t i = 0; i < u->nq; i++)
		if (strcmp(u->q[i].key, key) == 0)
			return true;
	return false;
}

int
ipk__url_num(const struct ipk_url *u, const char *key, long long lo,
             long long hi, long long *out)
{
	const char *v = ipk__url_get(u, key);
	if (!v)
		return 0;
	if (*v == '\0')
		return -EINVAL;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 0);
	if (errno || *end != '\0' || n < lo || n > hi)
		return -EINVAL;
	*out = n;
	return 1;
}

int
ipk__url_flag(const struct ipk_url *u, const char *key)
{
	const char *v = ipk__url_get(u, key);
	if (!v || strcmp(v, "0") == 0)
		return 0;
	if (*v == '\0' || strcmp(v, "1") == 0)
		return 1;
	return -EINVAL;
}
