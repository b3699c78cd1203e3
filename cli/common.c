/*
 * common.c - usage errors, numbers, URL queries and opening for the
 * subcommands.  Errors with a hint are in hint.c, stopping in stop.c.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ipckit: %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ipckit %s --help')\n", verb);
	return EXIT_USAGE;
}

/* Whether word is "--NAME=..." for an option of table that takes no
 * value (getopt_long then leaves that option's val in optopt). */
static bool
opt_given_value(const char *word, const struct option *table)
{
	const char *eq = strchr(word, '=');
	if (strncmp(word, "--", 2) || !eq)
		return false;
	size_t n = (size_t)(eq - word - 2);
	for (; table && table->name; table++)
		if (table->has_arg == no_argument &&
		    !strncmp(table->name, word + 2, n))
			return true;
	return false;
}

int
cli_bad_option(const char *verb, int c, char **argv, const struct option *table)
{
	const char *word = argv[optind - 1];
	if (c == ':')
		return cli_usage(verb, "%s needs a value", word);
	/* optopt is the letter of a short option, and word is then not
	 * always the word it is in (-xs stops before optind moves on). */
	if (optopt && !opt_given_value(word, table))
		return cli_usage(verb, "unknown option '-%c'", optopt);
	return cli_usage(verb, "unknown option '%s'", word);
}

bool
cli_num(const char *s, long long lo, long long hi, long long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

/* The value of key in url's query ("" for a bare flag), or NULL. */
static const char *
url_value(const char *url, const char *key, size_t *len)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(key);
	while (q) {
		q++;
		size_t item = strcspn(q, "&");
		if (!strncmp(q, key, n) && (q[n] == '=' || n == item)) {
			const char *v = q[n] == '=' ? q + n + 1 : q + n;
			*len = item - (size_t)(v - q);
			return v;
		}
		q = strchr(q, '&');
	}
	return NULL;
}

bool
cli_url_flag(const char *url, const char *flag)
{
	size_t len;
	const char *v = url_value(url, flag, &len);
	return v && !(len == 1 && v[0] == '0');
}

long long
cli_url_num(const char *url, const char *key, long long dflt)
{
	size_t len;
	const char *v = url_value(url, key, &len);
	char buf[32];
	long long n;
	if (!v || len >= sizeof(buf))
		return dflt;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return cli_num(buf, 0, 0x7fffffff, &n) ? n : dflt;
}

bool
cli_scheme_in(const char *url, const char *list)
{
	size_t n = strcspn(url, ":");
	if (url[n] != ':' || n == 0)
		return false;
	for (const char *p = list; *p; p += strspn(p, " ")) {
		size_t w = strcspn(p, " ");
		if (w == n && !strncmp(p, url, n))
			return true;
		p += w;
	}
	return false;
}

char *
cli_url_timeout(const char *url, int timeout_ms)
{
	size_t n = strlen(url) + 32;
	char *s = malloc(n);
	if (!s)
		return NULL;
	size_t len;
	if (url_value(url, "timeout", &len))
		snprintf(s, n, "%s", url);
	else
		snprintf(s, n, "%s%ctimeout=%d", url,
		         strchr(url, '?') ? '&' : '?', timeout_ms);
	return s;
}

int
cli_open(const char *url, bool listen, bool want_conn, int timeout_ms,
         ipk_chan **owner, ipk_chan **conn)
{
	*owner = *conn = NULL;
	int rc;
	if (listen) {
		rc = ipk_listen(url, owner); /* its name stays the user's */
	} else {
		char *u = cli_url_timeout(url, timeout_ms);
		rc = u ? ipk_dial(u, owner) : -ENOMEM;
		free(u);
	}
	if (rc < 0)
		return rc;
	*conn = *owner;
	if (!listen || !want_conn)
		return 0;
	rc = ipk_accept(*owner, conn, timeout_ms);
	if (rc == -ENOTSUP) {
		*conn = *owner;
		return 0;
	}
	if (rc < 0) {
		ipk_close(*owner);
		*owner = *conn = NULL;
	}
	return rc;
}
