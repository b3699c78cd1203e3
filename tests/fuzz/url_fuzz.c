/*
 * url_fuzz.c - the URL parser (src/core/url.c) and what reads its result:
 * the option getters, the transport table, the SO_PEERCRED policy and the
 * socket address parsers.  Only parsing: no input reaches a call that
 * creates an object or asks a resolver (see url_addr).  The public
 * ipk_url_check must agree with the parser and fill its reason safely.
 */
#include "fuzz.h"

#include "core/transport.h"
#include "sock/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const char *const url_keys[] = {"mode",    "max",  "raw",    "keep",
                                       "timeout", "type", "prio",   "depth",
                                       "allow",   "uid",  "atomic", "x"};

/* Every option a scheme may read, read in every way a transport does. */
static void
url_options(const struct ipk_url *u)
{
	for (size_t i = 0; i < sizeof(url_keys) / sizeof(url_keys[0]); i++) {
		const char *k = url_keys[i];
		const char *v = ipk__url_get(u, k);
		FUZZ_ASSERT((v != NULL) == ipk__url_has(u, k));
		long long n = -12345;
		int rc = ipk__url_num(u, k, -1, 0777, &n);
		FUZZ_ASSERT(rc == 0 || rc == 1 || rc == -EINVAL);
		FUZZ_ASSERT(rc != 1 || (n >= -1 && n <= 0777));
		FUZZ_ASSERT(rc == 1 || n == -12345);
		FUZZ_ASSERT(rc == 0 || v != NULL);
		rc = ipk__url_num(u, k, 0, UINT32_MAX, &n);
		FUZZ_ASSERT(rc != 1 || (n >= 0 && n <= UINT32_MAX));
		rc = ipk__url_flag(u, k);
		FUZZ_ASSERT(rc == 0 || rc == 1 || rc == -EINVAL);
		FUZZ_ASSERT(v != NULL || rc == 0);
	}
}

/* The split is consistent: keys unique and non-empty, all inside buf. */
static void
url_shape(const struct ipk_url *u, size_t textlen)
{
	const char *end = u->buf + textlen;
	FUZZ_ASSERT(u->scheme == u->buf && *u->scheme != '\0');
	FUZZ_ASSERT(u->rest > u->scheme && u->rest <= end);
	FUZZ_ASSERT(strchr(u->rest, '?') == NULL);
	FUZZ_ASSERT(u->nq <= IPK_URL_MAXQ);
	for (size_t i = 0; i < u->nq; i++) {
		FUZZ_ASSERT(u->q[i].key > u->rest && u->q[i].key < end);
		FUZZ_ASSERT(*u->q[i].key != '\0');
		FUZZ_ASSERT(strchr(u->q[i].key, '&') == NULL);
		FUZZ_ASSERT(strchr(u->q[i].key, '=') == NULL);
		FUZZ_ASSERT(ipk__url_get(u, u->q[i].key) != NULL);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(u->q[i].key, u->q[j].key) != 0);
	}
}

/* True when host:port names a literal address (no resolver involved). */
static bool
url_numeric_host(const char *rest)
{
	char host[64];
	const char *h = rest, *colon;
	if (rest[0] == '[') {
		h = rest + 1;
		colon = strchr(rest, ']');
	} else {
		colon = strrchr(rest, ':');
	}
	if (!colon || (size_t)(colon - h) >= sizeof(host))
		return false;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	unsigned char a[16];
	return host[0] == '\0' || inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

static void
url_addr(const struct ipk_url *u)
{
	struct ipk__saddr a;
	int rc;
	const char *s = u->scheme;
	bool unix_like = !strcmp(s, "unix") || !strcmp(s, "unixgram") ||
	                 !strcmp(s, "unixpacket");
	/* A bare name would create the runtime directory: not here. */
	if (unix_like && (u->rest[0] == '@' || strchr(u->rest, '/'))) {
		rc = ipk__sock_unix_addr(u->rest, false, &a);
		FUZZ_ASSERT(rc <= 0);
		FUZZ_ASSERT(rc < 0 || a.len <= sizeof(struct sockaddr_un));
	}
	bool inet = !strcmp(s, "tcp") || !strcmp(s, "udp");
	if (inet && url_numeric_host(u->rest)) {
		rc = ipk__sock_inet_addr(u->rest, SOCK_STREAM, &a);
		FUZZ_ASSERT(rc <= 0);
		FUZZ_ASSERT(rc < 0 || a.len <= sizeof(a.ss));
	}
	if (unix_like) {
		struct ipk__credpol pol;
		rc = ipk__sock_policy_parse(&pol, u);
		FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	}
}

/* The reason fits any buffer; a URL the parser refuses is never valid. */
static void
url_check(const char *text, size_t wsize, int parsed)
{
	char why[72];
	memset(why, 'Z', sizeof(why));
	int rc = ipk_url_check(text, wsize ? why : NULL, wsize);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT);
	FUZZ_ASSERT(parsed == 0 || rc < 0);
	for (size_t i = wsize; i < sizeof(why); i++)
		FUZZ_ASSERT(why[i] == 'Z');
	if (wsize)
		FUZZ_ASSERT(memchr(why, '\0', wsize) != NULL);
	if (rc < 0 && wsize > 1)
		FUZZ_ASSERT(why[0] != '\0');
	if (rc == 0 && wsize)
		FUZZ_ASSERT(why[0] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct ipk_url u;
	int rc = ipk__url_parse(text, &u);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		url_shape(&u, strlen(text));
		url_options(&u);
		if (ipk__transport_find(u.scheme))
			url_addr(&u);
		ipk__url_free(&u);
	}
	url_check(text, size % 65, rc);
	free(text);
	return 0;
}
