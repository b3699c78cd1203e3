/*
 * chunk.c - messages above PIPE_BUF on a byte stream that several writers
 * share (fifo:).  They go as chunks of at most PIPE_BUF bytes, each one
 * atomic write with its own header, so a writer killed in the middle
 * leaves whole chunks only, and what follows them is seen to be a new
 * message: the reader reports -ECONNRESET, never a torn message.
 *
 * Chunk header, two big-endian words: CHUNK | FIRST? | length, then the
 * bytes of the message that follow this chunk.
 */
#include "core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 0x80000000u
#define FIRST 0x40000000u
#define CHUNK_HDR 8
#define CHUNK_MAX (PIPE_BUF - CHUNK_HDR)

int
ipk__chunk_send(struct ipk_chan *c, const char *buf, size_t len, size_t *off,
                int64_t deadline)
{
	while (*off < len) {
		size_t n = len - *off < CHUNK_MAX ? len - *off : CHUNK_MAX;
		uint32_t h[2] = {
		        htonl(CHUNK | (*off ? 0 : FIRST) | (uint32_t)n),
		        htonl((uint32_t)(len - *off - n))};
		struct iovec iov[2] = {{h, CHUNK_HDR}, {(char *)buf + *off, n}};
		size_t done;
		/* At most PIPE_BUF on a non-blocking pipe: all of it or none.
		 */
		int rc = ipk__io_write_all(c, iov, 2, deadline, &done);
		if (rc < 0)
			return rc;
		*off += n;
	}
	return 0;
}

/* Forget a message whose writer stopped sending it. */
static ssize_t
chunk_cut(struct ipk_chan *c)
{
	c->big.len = c->big.total = 0;
	return -ECONNRESET;
}

static ssize_t
chunk_deliver(struct ipk_chan *c, struct ipk_msg *m)
{
	struct ipk__big *g = &c->big;
	size_t cap = m->len;
	m->len = g->total;
	if (g->total > cap)
		return -EMSGSIZE; /* kept for a bigger buffer */
	if (g->total)
		memcpy(m->buf, g->data, g->total);
	g->len = g->total = 0;
	if (g->cap > (1u << 20)) { /* keep little while idle */
		free(g->data);
		g->data = NULL;
		g->cap = 0;
	}
	return (ssize_t)m->len;
}

static int
chunk_reserve(struct ipk__big *g, size_t need)
{
	if (need <= g->cap)
		return 0;
	size_t cap = g->cap ? g->cap : 2 * CHUNK_MAX;
	while (cap < need)
		cap *= 2;
	if (cap > g->total)
		cap = g->total;
	char *d = realloc(g->data, cap);
	if (!d)
		return -ENOMEM;
	g->data = d;
	g->cap = cap;
	return 0;
}

/* Add the whole chunk at the head of c->rx to the message it belongs to. */
static ssize_t
chunk_take(struct ipk_chan *c, uint32_t w0, uint32_t rest, struct ipk_msg *m)
{
	struct ipk__big *g = &c->big;
	size_t n = w0 & ~(CHUNK | FIRST);
	if ((w0 & FIRST) && g->total)
		return chunk_cut(c); /* a new message: the old one was cut */
	if (w0 & FIRST) {
		if ((uint64_t)n + rest > c->max) {
			c->broken = -EPIPE;
			m->len = (size_t)n + rest;
			return -EMSGSIZE;
		}
		g->total = n + rest;
	}
	bool fits = g->total && g->total - g->len == n + rest;
	c->rx.off += CHUNK_HDR;
	c->rx.len -= CHUNK_HDR;
	int rc = fits ? chunk_reserve(g, g->len + n) : 0;
	if (fits && rc == 0 && n) { /* a first chunk may be empty */
		memcpy(g->data + g->len, c->rx.data + c->rx.off, n);
		g->len += n;
	}
	c->rx.off += n;
	c->rx.len -= n;
	if (rc < 0)
		return rc;
	return fits ? 0 : chunk_cut(c); /* the rest of a message we lost */
}

static ssize_t
chunk_fill(struct ipk_chan *c, size_t need, int64_t deadline)
{
	ssize_t r = ipk__rx_fill(c, need, deadline, NULL);
	if (r != 0)
		return r < 0 ? r : 0;
	if (c->rx.len == 0 && c->big.total == 0)
		return -EPIPE;
	c->rx.len = c->rx.off = 0; /* every writer left in mid-message */
	return chunk_cut(c);
}

ssize_t
ipk__chunk_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	for (;;) {
		if (c->big.total && c->big.len == c->big.total)
			return chunk_deliver(c, m);
		ssize_t r;
		if (c->rx.len < IPK_FRAME_HEADER) {
			r = chunk_fill(c, IPK_FRAME_HEADER, deadline);
			if (r < 0)
				return r;
			continue;
		}
		uint32_t w[2];
		memcpy(w, c->rx.data + c->rx.off, IPK_FRAME_HEADER);
		w[0] = ntohl(w[0]);
		if (!(w[0] & CHUNK))
			return c->big.total ? chunk_cut(c)
			                    : ipk__stream_recv(c, m, deadline);
		size_t n = w[0] & ~(CHUNK | FIRST);
		if (n > CHUNK_MAX) { /* or a frame claiming 2 GiB or more */
			c->broken = -EPIPE;
			m->len = w[0];
			return -EMSGSIZE;
		}
		if (c->rx.len < CHUNK_HDR + n) {
			r = chunk_fill(c, CHUNK_HDR + n, deadline);
			if (r < 0)
				return r;
			continue;
		}
		memcpy(w, c->rx.data + c->rx.off, CHUNK_HDR);
		r = chunk_take(c, ntohl(w[0]), ntohl(w[1]), m);
		if (r < 0)
			return r;
	}
}
