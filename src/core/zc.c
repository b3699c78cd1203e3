/*
 * zc.c - the zero-copy calls (ipk_reserve / ipk_commit, ipk_peek /
 * ipk_release).  A transport with its own (shm: the ring) is called
 * directly; every other one gets a channel-owned buffer moved by its
 * send and recv, so code written against these calls runs on any URL.
 */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZC_MIN 65536

static int
zc_grow(struct ipk__zc *z, size_t need)
{
	if (need <= z->cap && z->buf)
		return 0;
	size_t cap = z->cap ? z->cap : ZC_MIN;
	while (cap < need)
		cap *= 2;
	char *b = realloc(z->buf, cap);
	if (!b)
		return -ENOMEM;
	z->buf = b;
	z->cap = cap;
	return 0;
}

int
ipk_reserve(ipk_chan *ch, size_t len, void **ptr, int timeout_ms)
{
	if (!ch || !ptr)
		return -EINVAL;
	if (ch->broken)
		return ch->broken;
	if (!ch->tp->send)
		return -ENOTSUP;
	if (len > ch->max)
		return -EMSGSIZE;
	struct ipk__zc *z = &ch->zc_tx;
	int64_t deadline = ipk__deadline(timeout_ms);
	if (ch->tp->reserve) {
		int rc = ch->tp->reserve(ch, len, ptr, deadline);
		z->open = rc == 0;
		z->len = len;
		return rc;
	}
	if (z->open && len > z->len)
		return -EBUSY; /* a kept buffer is given back, not grown */
	int rc = zc_grow(z, len);
	if (rc < 0)
		return rc;
	z->open = true;
	z->len = len;
	z->deadline = deadline;
	*ptr = z->buf;
	return 0;
}

int
ipk_commit(ipk_chan *ch, size_t len)
{
	if (!ch || !ch->zc_tx.open || len > ch->zc_tx.len)
		return -EINVAL;
	struct ipk__zc *z = &ch->zc_tx;
	if (ch->tp->commit) {
		z->open = false;
		return ch->tp->commit(ch, len);
	}
	struct ipk_msg m = {.buf = z->buf, .len = len};
	int rc = ch->broken ? ch->broken : ch->tp->send(ch, &m, z->deadline);
	if (!ipk__is_wait_end(rc))
		z->open = false;
	return rc;
}

/* Receive into the channel's buffer, growing it to what the message needs. */
static ssize_t
zc_recv(ipk_chan *ch, int64_t deadline)
{
	struct ipk__zc *z = &ch->zc_rx;
	for (;;) {
		int rc = zc_grow(z, z->cap ? z->cap : ZC_MIN);
		if (rc < 0)
			return rc;
		struct ipk_msg m = {.buf = z->buf, .len = z->cap};
		ssize_t r = ch->tp->recv(ch, &m, deadline);
		if (r != -EMSGSIZE || ch->broken || z->cap >= ch->max)
			return r;
		size_t want = m.len > z->cap ? m.len : z->cap * 2;
		rc = zc_grow(z, want < ch->max ? want : ch->max);
		if (rc < 0)
			return rc;
	}
}

int
ipk_peek(ipk_chan *ch, const void **ptr, size_t *len, int timeout_ms)
{
	if (!ch || !ptr || !len)
		return -EINVAL;
	if (ch->broken)
		return ch->broken;
	if (!ch->tp->recv)
		return -ENOTSUP;
	struct ipk__zc *z = &ch->zc_rx;
	int64_t deadline = ipk__deadline(timeout_ms);
	if (ch->tp->peek) {
		int rc = ch->tp->peek(ch, ptr, len, deadline);
		z->open = rc == 0;
		return rc;
	}
	if (!z->open) {
		ssize_t r = zc_recv(ch, deadline);
		if (r < 0)
			return (int)r;
		z->len = (size_t)r;
		z->open = true;
	}
	*ptr = z->buf;
	*len = z->len;
	return 0;
}

int
ipk_release(ipk_chan *ch)
{
	if (!ch || !ch->zc_rx.open)
		return -EINVAL;
	ch->zc_rx.open = false;
	return ch->tp->release ? ch->tp->release(ch) : 0;
}

void
ipk__zc_free(struct ipk_chan *c)
{
	free(c->zc_tx.buf);
	free(c->zc_rx.buf);
	memset(&c->zc_tx, 0, sizeof(c->zc_tx));
	memset(&c->zc_rx, 0, sizeof(c->zc_rx));
}
