/*
 * hint.c - the one-line errors of the command: "ipckit: VERB: URL: what
 * went wrong (hint)".  The hint depends on the mechanism and on whether
 * the error came while opening, sending or receiving; a hint is given
 * only where it names the likely cause.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>

#define ANY (CLI_OPEN | CLI_SEND | CLI_RECV)

static const char full_queue[] =
        "the queue is full and nobody reads it; start 'ipckit recv URL "
        "--dial' or wait longer with --timeout MS";
static const char full_fifo[] =
        "the FIFO is full and nobody reads it; start 'ipckit recv URL' "
        "or wait longer with --timeout MS";
static const char foreign_queue[] =
        "it belongs to another user or is open to group/others; add "
        "?share to use it anyway";
static const char no_resolve[] = "the host name does not resolve";
static const char datagram_big[] =
        "larger than one datagram can carry here, a limit of the kernel";

/* Hints for one mechanism ("" any), one errno, in some phases. */
static const struct {
	const char *scheme;
	int err;
	unsigned phases;
	const char *hint;
} hints[] = {
        {"mq", ETIMEDOUT, CLI_SEND, full_queue},
        {"mq", EAGAIN, CLI_SEND, full_queue},
        {"sysvmsg", ETIMEDOUT, CLI_SEND, full_queue},
        {"sysvmsg", EAGAIN, CLI_SEND, full_queue},
        {"fifo", ETIMEDOUT, CLI_SEND, full_fifo},
        {"fifo", EAGAIN, CLI_SEND, full_fifo},
        {"fifo", ETIMEDOUT, CLI_OPEN,
         "no reader opened the FIFO in time; start 'ipckit recv URL' "
         "first, or --timeout MS waits longer"},
        {"mq", EPERM, CLI_OPEN, foreign_queue},
        {"sysvmsg", EPERM, CLI_OPEN, foreign_queue},
        {"mq", EMFILE, ANY,
         "RLIMIT_MSGQUEUE is used up: raise it with 'ulimit -q' or remove "
         "queues; see 'ipckit limits'"},
        {"mq", EINVAL, CLI_OPEN,
         "bad name, or depth/msgsize above fs.mqueue.msg_max / "
         "msgsize_max; see 'ipckit limits'"},
        {"mq", ENOSPC, CLI_OPEN,
         "fs.mqueue.queues_max queues exist already; remove some or raise "
         "it; see 'ipckit limits'"},
        {"mq", EMSGSIZE, CLI_SEND,
         "larger than the queue's msgsize (?msgsize= when it is made)"},
        {"sysvmsg", EMSGSIZE, CLI_SEND,
         "larger than kernel.msgmax; see 'ipckit limits'"},
        {"sysvmsg", ENOSPC, CLI_OPEN,
         "kernel.msgmni queues exist already; remove some (ipckit rm) or "
         "raise it; see 'ipckit limits'"},
        {"sysvmsg", EEXIST, CLI_OPEN,
         "a queue with that key exists; remove it (ipcrm -Q KEY) or "
         "--dial it"},
        {"shm", EBUSY, CLI_OPEN,
         "another dialer is attached: a ring has one writer each way"},
        {"sysvshm", EBUSY, CLI_OPEN,
         "another dialer is attached: a ring has one writer each way"},
        {"shm", EPROTO, CLI_OPEN,
         "not an ipckit segment (or cut short); remove it or pick another "
         "name"},
        {"sysvshm", EPROTO, CLI_OPEN,
         "not an ipckit segment and semaphore set; remove them (ipcrm -M "
         "KEY -S KEY) or pick another key"},
        {"shm", EPIPE, CLI_SEND, "no dialer is attached to this listener"},
        {"", EBADMSG, ANY,
         "the shared ring is corrupt: the peer wrote outside the rules"},
        {"tcp", ENXIO, CLI_OPEN, no_resolve},
        {"udp", ENXIO, CLI_OPEN, no_resolve},
        {"tcp", ECONNREFUSED, CLI_OPEN,
         "nothing listens on that port; start 'ipckit recv URL' first"},
        {"udp", EMSGSIZE, CLI_SEND, datagram_big},
        {"unixgram", EMSGSIZE, CLI_SEND, datagram_big},
        {"unixpacket", EMSGSIZE, CLI_SEND, datagram_big},
        {"", EMSGSIZE, CLI_SEND,
         "larger than the channel's max; raise ?max= on both ends"},
        {"", ETIMEDOUT, CLI_SEND,
         "the peer does not read and its buffer is full"},
        {"", ETIMEDOUT, CLI_OPEN,
         "no peer within the timeout; is the other side running? "
         "--timeout MS waits longer"},
        {"", ECONNRESET, ANY, "the peer went away in the middle of a message"},
        {"", ENOBUFS, CLI_RECV,
         "the connection held more unread data than ?rxbudget= allows"},
        {"", EAGAIN, ANY, "it would block; try a timeout above 0"},
        {"", EADDRINUSE, CLI_OPEN,
         "a live listener owns it; stop it or pick another name"},
        {"", EPERM, CLI_OPEN,
         "it belongs to another user or is open to group/others; remove "
         "it or pick another name"},
        {"redis", EACCES, ANY,
         "the server refused the user or password (the URL's, or "
         "REDISCLI_AUTH)"},
        {"redis", ECONNREFUSED, ANY,
         "no Redis server at that address; start redis-server or check "
         "host:port"},
        {"", EEXIST, CLI_OPEN,
         "something else is at that name; remove it or pick another name"},
        {"", ENOENT, CLI_OPEN, "nothing there; start 'ipckit recv URL' first"},
        {"", EACCES, ANY, "permission denied by its mode or owner"},
        {"", EPIPE, ANY, "the peer went away"},
        {"", ENOTSUP, ANY,
         "this end of this mechanism cannot do that; see --listen/--dial"},
        {"", ENAMETOOLONG, CLI_OPEN, "the name is too long for this mechanism"},
        {"", EIDRM, ANY, "the object was removed while in use"},
};

static bool
hint_scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return n == 0 || (!strncmp(url, scheme, n) && url[n] == ':');
}

const char *
cli_hint(const char *url, int err, enum cli_phase phase)
{
	err = err < 0 ? -err : err;
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (hints[i].err == err && (hints[i].phases & phase) &&
		    hint_scheme_is(url, hints[i].scheme))
			return hints[i].hint;
	return NULL;
}

const char *
cli_shown_url(const char *url, char *buf, size_t size)
{
	const char *auth = strstr(url, "://");
	if (!auth)
		return url;
	auth += 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL, *colon = NULL;
	for (const char *p = auth; p < auth + alen; p++)
		if (*p == '@')
			at = p;
	for (const char *p = auth; at && p < at && !colon; p++)
		if (*p == ':')
			colon = p;
	if (!colon)
		return url;
	int n = snprintf(buf, size, "%.*s:***%s", (int)(colon - url), url, at);
	return n < 0 || (size_t)n >= size ? "(URL too long to show)" : buf;
}

int
cli_fail_hint(const char *verb, const char *url, int err, const char *hint)
{
	err = err < 0 ? -err : err;
	if (err == ECANCELED)
		return 1; /* stopped: the exit status says so */
	char shown[1024];
	url = cli_shown_url(url, shown, sizeof(shown));
	fprintf(stderr, "ipckit: %s: %s: %s%s%s%s\n", verb, url,
	        ipk_strerror(err), hint ? " (" : "", hint ? hint : "",
	        hint ? ")" : "");
	return 1;
}

int
cli_fail_at(const char *verb, const char *url, int err, enum cli_phase phase)
{
	return cli_fail_hint(verb, url, err, cli_hint(url, err, phase));
}

int
cli_fail(const char *verb, const char *url, int err)
{
	return cli_fail_at(verb, url, err, CLI_OPEN);
}

/* The guide page of a URL's mechanism, for "see docs/guide/...". */
static const char *
hint_guide(const char *url)
{
	static const char *const pages[][2] = {
	        {"fifo", "fifo"},          {"pipe", "pipe"},
	        {"mq", "message-queues"},  {"sysvmsg", "message-queues"},
	        {"unix", "sockets"},       {"unixgram", "sockets"},
	        {"unixpacket", "sockets"}, {"tcp", "sockets"},
	        {"udp", "sockets"},        {"redis", "redis"},
	        {"rediss", "redis"},
	};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (hint_scheme_is(url, pages[i][0]))
			return pages[i][1];
	return NULL;
}

int
cli_check_url(const char *verb, const char *url)
{
	char why[256];
	int rc = ipk_url_check(url, why, sizeof(why));
	if (rc == 0)
		return 0;
	const char *page = hint_guide(url);
	if (!why[0])
		snprintf(why, sizeof(why), "%s", ipk_strerror(rc));
	if (rc == -EPROTONOSUPPORT && hint_scheme_is(url, "rediss"))
		snprintf(why, sizeof(why),
		         "no TLS here (Debian's hiredis 0.14 has none): tunnel "
		         "it with stunnel or 'ssh -L PORT:HOST:6379' and use "
		         "redis://127.0.0.1:PORT/...");
	else if (rc == -EPROTONOSUPPORT && hint_scheme_is(url, "redis"))
		snprintf(why, sizeof(why),
		         "this ipckit was built without hiredis: install "
		         "libhiredis-dev and rebuild (cmake -DIPK_REDIS=ON)");
	char shown[1024];
	url = cli_shown_url(url, shown, sizeof(shown));
	if (page)
		fprintf(stderr, "ipckit: %s: %s: %s (see docs/guide/%s.md)\n",
		        verb, url, why, page);
	else
		fprintf(stderr,
		        "ipckit: %s: %s: %s ('ipckit --help' lists the "
		        "URLs)\n",
		        verb, url, why);
	return EXIT_USAGE;
}
