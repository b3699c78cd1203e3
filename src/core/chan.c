/*
 * chan.c - the public API: checks arguments once, parses the URL and the
 * options every channel has, then calls the transport's vtable.  A NULL
 * method is -ENOTSUP; a channel with a sticky error returns it.
 */
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const chan_options[] = {"mode", "max",     "raw",
                                           "keep", "timeout", NULL};

static bool
chan_known(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

static int
chan_flag(const struct ipk_url *u, const char *key, unsigned bit,
          unsigned *flags)
{
	int on = ipk__url_flag(u, key);
	if (on > 0)
		*flags |= bit;
	return on;
}

/* -EINVAL with the reason in why (when not NULL). */
static int chan_why(char *why, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
chan_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (why && size)
		vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Every key known to the core or to tp; the core's values in range. */
static int
chan_options_check(const struct ipk_transport *tp, const struct ipk_url *u,
                   char *why, size_t size)
{
	for (size_t i = 0; i < u->nq; i++)
		if (!chan_known(chan_options, u->q[i].key) &&
		    !chan_known(tp->options, u->q[i].key))
			return chan_why(why, size, "unknown option '%s'",
			                u->q[i].key);
	long long v;
	if (ipk__url_num(u, "mode", 0, 0777, &v) < 0)
		return chan_why(why, size, "%s",
		                "bad ?mode= (octal, 0 to 0777)");
	if (ipk__url_num(u, "max", 0, UINT32_MAX, &v) < 0)
		return chan_why(why, size, "%s",
		                "bad ?max= (bytes, 0 to 4294967295)");
	if (ipk__url_num(u, "timeout", -1, INT_MAX, &v) < 0)
		return chan_why(why, size, "%s",
		                "bad ?timeout= (ms, -1 for forever)");
	if (ipk__url_flag(u, "raw") < 0 || ipk__url_flag(u, "keep") < 0)
		return chan_why(why, size, "%s",
		                "?raw and ?keep take no value (or 0/1)");
	return 0;
}

int
ipk_url_check(const char *url, char *why, size_t size)
{
	if (why && size)
		why[0] = '\0';
	struct ipk_url u;
	int rc = ipk__url_parse(url, &u);
	if (rc < 0)
		return chan_why(why, size, "%s",
		                "malformed URL (scheme:rest?key=value&flag)");
	const struct ipk_transport *tp = ipk__transport_find(u.scheme);
	if (!tp) {
		chan_why(why, size, "unknown scheme '%s'", u.scheme);
		rc = -EPROTONOSUPPORT;
	}
	if (tp)
		rc = chan_options_check(tp, &u, why, size);
	if (rc == 0 && tp->check)
		rc = tp->check(&u, why, size);
	ipk__url_free(&u);
	return rc;
}

static int
chan_options_parse(struct ipk_chan *c, const struct ipk_url *u)
{
	int rc = chan_options_check(c->tp, u, NULL, 0);
	if (rc < 0)
		return rc;
	long long mode = 0600, max = IPK_DEFAULT_MAX;
	long long timeout = IPK_DEFAULT_TIMEOUT;
	ipk__url_num(u, "mode", 0, 0777, &mode);
	ipk__url_num(u, "max", 0, UINT32_MAX, &max);
	ipk__url_num(u, "timeout", -1, INT_MAX, &timeout);
	c->mode = (mode_t)mode;
	c->max = (size_t)max;
	c->timeout = (int)timeout;
	chan_flag(u, "raw", IPK__RAW, &c->flags);
	chan_flag(u, "keep", IPK__KEEP, &c->flags);
	return 0;
}

/*
 * A process that ignores SIGPIPE needs no per-write signal mask, which
 * saves two system calls a send on pipes and FIFOs.  Read once per
 * channel: a program that stops ignoring SIGPIPE later must reopen.
 */
static bool
chan_sigpipe_ignored(void)
{
	struct sigaction sa;
	return sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

static _Atomic int chan_cancel = -1;

int
ipk__cancel_default(void)
{
	return chan_cancel;
}

static int
chan_new(const struct ipk_url *u, struct ipk_chan **out)
{
	const struct ipk_transport *tp = ipk__transport_find(u->scheme);
	if (!tp)
		return -EPROTONOSUPPORT;
	struct ipk_chan *c = calloc(1, tp->size);
	if (!c)
		return -ENOMEM;
	c->tp = tp;
	c->fd = -1;
	c->cancel = chan_cancel;
	c->flags = chan_sigpipe_ignored() ? IPK__NOSIGPIPE : 0;
	int rc = chan_options_parse(c, u);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

typedef int (*chan_setup_fn)(struct ipk_chan *, const struct ipk_url *);

static int
chan_open(const char *url, ipk_chan **out, bool listen)
{
	if (!url || !out)
		return -EINVAL;
	*out = NULL;
	struct ipk_url u;
	int rc = ipk__url_parse(url, &u);
	if (rc < 0)
		return rc;
	struct ipk_chan *c;
	rc = chan_new(&u, &c);
	if (rc < 0)
		goto out_url;
	chan_setup_fn fn = listen ? c->tp->listen : c->tp->dial;
	rc = fn ? fn(c, &u) : -ENOTSUP;
	if (rc < 0) {
		ipk__stream_free(c);
		free(c);
		goto out_url;
	}
	if (listen)
		c->flags |= IPK__LISTENER;
	c->url = strdup(url);
	if (listen)
		c->owner = ipk__owner_listen(c);
	*out = c;
out_url:
	ipk__url_free(&u);
	return rc;
}

int
ipk_listen(const char *url, ipk_chan **out)
{
	return chan_open(url, out, true);
}

int
ipk_dial(const char *url, ipk_chan **out)
{
	return chan_open(url, out, false);
}

int
ipk_pair(const char *url, ipk_chan **a, ipk_chan **b)
{
	if (!url || !a || !b)
		return -EINVAL;
	*a = *b = NULL;
	struct ipk_url u;
	int rc = ipk__url_parse(url, &u);
	if (rc < 0)
		return rc;
	struct ipk_chan *ca = NULL, *cb = NULL;
	if ((rc = chan_new(&u, &ca)) < 0 || (rc = chan_new(&u, &cb)) < 0)
		goto out_free;
	rc = ca->tp->pair ? ca->tp->pair(ca, cb, &u) : -ENOTSUP;
	if (rc == 0) {
		*a = ca, *b = cb;
		ca = cb = NULL;
	}
out_free:
	free(ca);
	free(cb);
	ipk__url_free(&u);
	return rc;
}

int
ipk_accept(ipk_chan *l, ipk_chan **out, int timeout_ms)
{
	if (!l || !out)
		return -EINVAL;
	*out = NULL;
	if (!l->tp->accept || !(l->flags & IPK__LISTENER))
		return -ENOTSUP;
	struct ipk_chan *c = calloc(1, l->tp->size);
	if (!c)
		return -ENOMEM;
	c->tp = l->tp;
	c->fd = -1;
	c->mode = l->mode;
	c->max = l->max;
	c->timeout = l->timeout;
	c->cancel = l->cancel;
	c->flags = l->flags & ~(IPK__LISTENER | IPK__KEEP | IPK__NOSIGPIPE);
	c->flags |= chan_sigpipe_ignored() ? IPK__NOSIGPIPE : 0;
	int rc = l->tp->accept(l, c, ipk__deadline(timeout_ms));
	if (rc < 0) {
		free(c);
		return rc;
	}
	if (l->budget)
		ipk__budget_join(l->budget, c);
	*out = c;
	return 0;
}

static int
chan_usable(const ipk_chan *ch)
{
	if (!ch)
		return -EINVAL;
	return ch->broken;
}

int
ipk_sendmsg(ipk_chan *ch, const struct ipk_msg *m, int timeout_ms)
{
	int rc = chan_usable(ch);
	if (rc < 0)
		return rc;
	if (!m || (!m->buf && m->len) || (!m->fds && m->nfds))
		return -EINVAL;
	if (!ch->tp->send || (m->nfds && !(ch->tp->caps & IPK_CAP_FDPASS)))
		return -ENOTSUP;
	if (m->len > ch->max)
		return -EMSGSIZE;
	return ch->tp->send(ch, m, ipk__deadline(timeout_ms));
}

int
ipk_send(ipk_chan *ch, const void *buf, size_t len, int timeout_ms)
{
	struct ipk_msg m = {.buf = (void *)buf, .len = len};
	return ipk_sendmsg(ch, &m, timeout_ms);
}

int
ipk_send_batch(ipk_chan *ch, const struct iovec *msgs, size_t n, int timeout_ms)
{
	int rc = chan_usable(ch);
	if (rc < 0)
		return rc;
	if ((!msgs && n) || n > INT_MAX)
		return -EINVAL;
	if (!ch->tp->send)
		return -ENOTSUP;
	int64_t deadline = ipk__deadline(timeout_ms);
	if (ch->tp->send_batch)
		return ch->tp->send_batch(ch, msgs, n, deadline);
	size_t i = 0;
	for (; i < n; i++) {
		struct ipk_msg m = {.buf = msgs[i].iov_base,
		                    .len = msgs[i].iov_len};
		rc = m.len > ch->max ? -EMSGSIZE
		                     : ch->tp->send(ch, &m, deadline);
		if (rc < 0)
			return i ? (int)i : rc;
	}
	return (int)i;
}

/* Dropped for the listener's ?rxbudget=: say so, and free the memory. */
static ssize_t
chan_recv_failed(ipk_chan *ch, ssize_t r)
{
	if (ch->broken != -ENOBUFS)
		return r;
	free(ch->rx.data);
	memset(&ch->rx, 0, sizeof(ch->rx));
	return -ENOBUFS;
}

ssize_t
ipk_recvmsg(ipk_chan *ch, struct ipk_msg *m, int timeout_ms)
{
	int rc = chan_usable(ch);
	if (rc < 0)
		return rc;
	if (!m || (!m->buf && m->len) || (!m->fds && m->nfds))
		return -EINVAL;
	if (!ch->tp->recv)
		return -ENOTSUP;
	if (m->peer) {
		memset(m->peer, 0, sizeof(*m->peer));
		m->peer->pid = -1;
		m->peer->uid = (uid_t)-1;
		m->peer->gid = (gid_t)-1;
	}
	if (!(ch->tp->caps & IPK_CAP_FDPASS))
		m->nfds = 0;
	ssize_t r = ch->tp->recv(ch, m, ipk__deadline(timeout_ms));
	return r < 0 ? chan_recv_failed(ch, r) : r;
}

ssize_t
ipk_recv(ipk_chan *ch, void *buf, size_t cap, int timeout_ms)
{
	struct ipk_msg m = {.buf = buf, .len = cap};
	return ipk_recvmsg(ch, &m, timeout_ms);
}

int
ipk_fd(const ipk_chan *ch)
{
	if (!ch)
		return -EINVAL;
	if (!(ch->tp->caps & IPK_CAP_FD))
		return -ENOTSUP;
	if (ch->tp->pollfd) /* made on first use: the channel is not const */
		return ch->tp->pollfd((struct ipk_chan *)(uintptr_t)ch);
	return ch->fd >= 0 ? ch->fd : -ENOTSUP;
}

size_t
ipk_max(const ipk_chan *ch)
{
	return ch ? ch->max : 0;
}

const char *
ipk_scheme(const ipk_chan *ch)
{
	return ch ? ch->tp->scheme : NULL;
}

long long
ipk_drops(const ipk_chan *ch)
{
	if (!ch)
		return -EINVAL;
	return ch->tp->drops ? (long long)ch->tp->drops(ch) : -ENOTSUP;
}

int
ipk_name(const ipk_chan *ch, char *buf, size_t size)
{
	if (!ch || !buf || !size)
		return -EINVAL;
	int rc = ch->tp->name ? ch->tp->name(ch, buf, size) : -ENOTSUP;
	if (rc != -ENOTSUP)
		return rc;
	if (!ch->url)
		return -ENOTSUP;
	if (strlen(ch->url) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, ch->url);
	return 0;
}

int
ipk_set_cancel(ipk_chan *ch, int fd)
{
	if (fd < -1)
		return -EINVAL;
	if (ch)
		ch->cancel = fd;
	else
		chan_cancel = fd;
	return 0;
}

int
ipk_stats(const ipk_chan *ch, struct ipk_stats *st)
{
	if (!ch || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (ch->tp->drops)
		st->dropped = (long long)ch->tp->drops(ch);
	if (ch->budget && (ch->flags & IPK__LISTENER))
		st->shed = ipk__budget_shed(ch->budget);
	if (ch->tp->stats)
		ch->tp->stats(ch, st);
	return 0;
}

int
ipk_shutdown(ipk_chan *ch)
{
	int rc = chan_usable(ch);
	if (rc < 0)
		return rc;
	return ch->tp->shutdown ? ch->tp->shutdown(ch) : -ENOTSUP;
}

void
ipk_close(ipk_chan *ch)
{
	if (!ch)
		return;
	if (ch->budget)
		ipk__budget_leave(ch);
	if (ch->tx.len)
		ipk__stream_flush(ch, ipk__deadline(ch->timeout));
	if (ch->tp->close)
		ch->tp->close(ch);
	ipk__owner_free(ch->owner);
	if (ch->fd >= 0)
		close(ch->fd);
	ipk__stream_free(ch);
	ipk__zc_free(ch);
	free(ch->url);
	free(ch);
}

const char *
ipk_strerror(int err)
{
	if (err == INT_MIN)
		return "Unknown error";
	if (err < 0)
		err = -err;
	if (err == 0)
		return "Success";
	const char *s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}
