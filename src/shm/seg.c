/*
 * seg.c - a channel over a shared segment of two rings, for shm: and
 * sysvshm:.  Ring 0 carries the listener's messages to the dialer, ring
 * 1 the dialer's to the listener.  A listener outlives its dialers: a
 * dialer's leaving does not end its receives, and a new dialer drops
 * what was sent toward the one before (counted in ring 0's dropped).
 */
#include "seg.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SEG_MAGIC 0x69706b73u /* "ipks" */
#define SEG_VERSION 2 /* 2: the ring's wait words on a line of their own */
#define L2D 0
#define D2L 1

const char *const ipk__seg_options[] = {"size", "wait", NULL};

int
ipk__seg_parse(struct ipk__seg *s, const struct ipk_url *u, uint64_t *size)
{
	int *wait = &s->wait;
	s->bell_in = s->bell_out = -1;
	long long sz = IPK__SEG_SIZE;
	if (ipk__url_num(u, "size", IPK__RING_MIN, IPK__RING_MAX, &sz) < 0)
		return -EINVAL;
	*size = IPK__RING_MIN;
	while (*size < (uint64_t)sz)
		*size *= 2;
	const char *w = ipk__url_get(u, "wait");
	if (!w || !strcmp(w, "adaptive"))
		*wait = IPK__WAIT_ADAPTIVE;
	else if (!strcmp(w, "spin"))
		*wait = IPK__WAIT_SPIN;
	else if (!strcmp(w, "sleep"))
		*wait = IPK__WAIT_SLEEP;
	else
		return -EINVAL;
	return 0;
}

size_t
ipk__seg_len(uint64_t size)
{
	return IPK__SEG_HDR + 2 * (size_t)size;
}

void
ipk__seg_format(struct ipk__seg *s, uint64_t size)
{
	memset(s->hdr, 0, sizeof(*s->hdr));
	s->hdr->version = SEG_VERSION;
	s->hdr->size = size;
	s->hdr->creator = (int32_t)getpid();
}

int
ipk__seg_check(const struct ipk__seg_hdr *hdr, size_t total, uint64_t *size)
{
	uint32_t magic = atomic_load(&hdr->magic);
	uint32_t version = hdr->version;
	uint64_t sz = hdr->size;
	if (magic == 0)
		return 1;
	if (magic != SEG_MAGIC || version != SEG_VERSION ||
	    !ipk__ring_size_ok(sz) || total != ipk__seg_len(sz))
		return -EPROTO;
	*size = sz;
	return 0;
}

/* The listener waits for the next dialer rather than give up. */
static bool
seg_always(void *ctx)
{
	(void)ctx;
	return true;
}

int
ipk__seg_rings(struct ipk__seg *s, const struct ipk__seg_ops *ops)
{
	struct ipk__seg_hdr *h = s->hdr;
	unsigned char *data = (unsigned char *)s->map + IPK__SEG_HDR;
	int out = s->listener ? L2D : D2L, in = s->listener ? D2L : L2D;
	s->wtx = (struct ipk__ring_waiter){.mode = s->wait,
	                                   .cancel = &s->base.cancel,
	                                   .alive = ops->alive,
	                                   .ctx = s,
	                                   .closed = s->listener ? &h->closed_d
	                                                         : &h->closed_l,
	                                   .sleep = ops->sleep,
	                                   .wake = ops->wake,
	                                   .bell = ipk__seg_bell_ring};
	s->wrx = s->wtx;
	if (s->listener) { /* a dialer's leaving does not end its receives */
		s->wrx.alive = seg_always;
		s->wrx.closed = NULL;
	}
	int rc = ipk__ring_attach(&s->tx, &h->ring[out], data + out * h->size,
	                          h->size, true, &s->wtx);
	if (rc == 0)
		rc = ipk__ring_attach(&s->rx, &h->ring[in], data + in * h->size,
		                      h->size, false, &s->wrx);
	if (rc == 0 && s->base.max > s->tx.max)
		s->base.max = s->tx.max;
	return rc < 0 ? -EPROTO : 0;
}

int
ipk__seg_start(struct ipk__seg *s, const struct ipk__seg_ops *ops)
{
	int rc = ipk__seg_rings(s, ops);
	if (rc == 0)
		ipk__seg_open(s);
	return rc;
}

int
ipk__seg_dial(struct ipk__seg *s, int (*once)(struct ipk__seg *s),
              const struct ipk__seg_ops *ops)
{
	struct ipk_chan *c = &s->base;
	int64_t deadline = ipk__deadline(c->timeout);
	int step = 1, rc;
	while ((rc = once(s)) == 1) {
		rc = ipk__backoff(c, &step, deadline);
		if (rc < 0) /* no listener came */
			return rc == -ECANCELED ? rc : -ETIMEDOUT;
	}
	return rc < 0 ? rc : ipk__seg_start(s, ops);
}

void
ipk__seg_open(struct ipk__seg *s)
{
	if (s->listener) {
		atomic_store(&s->hdr->magic, SEG_MAGIC);
		return;
	}
	ipk__ring_drop_all(&s->rx);
	atomic_store(&s->hdr->closed_d, 0);
	atomic_store(&s->hdr->attached, 1);
}

void
ipk__seg_leave(struct ipk__seg *s, const struct ipk__seg_ops *ops)
{
	struct ipk__seg_hdr *h = s->hdr;
	ipk__seg_bell_close(s, s->listener && !(s->base.flags & IPK__KEEP));
	if (!h)
		return;
	if (s->listener) {
		atomic_store(&h->closed_l, 1);
	} else {
		atomic_store(&h->attached, 0);
		atomic_store(&h->closed_d, 1);
	}
	for (int i = 0; i < 2; i++) {
		atomic_fetch_add(&h->ring[i].data_seq, 1);
		atomic_fetch_add(&h->ring[i].room_seq, 1);
		ops->wake(s, &h->ring[i].data_seq);
		ops->wake(s, &h->ring[i].room_seq);
	}
}

/* No dialer to send to, or a listener that closed: one shared load. */
static bool
seg_peer_gone(const struct ipk__seg *s)
{
	if (s->listener)
		return !atomic_load_explicit(&s->hdr->attached,
		                             memory_order_relaxed);
	return atomic_load_explicit(&s->hdr->closed_l, memory_order_relaxed);
}

/* A corrupt ring breaks the channel; other errors pass through. */
static int
seg_err(struct ipk_chan *c, int rc)
{
	return rc == -EBADMSG ? ipk__break(c, rc) : rc;
}

/*
 * memcpy, except where it is slow: on this AMD EPYC, glibc 2.36 copies 3
 * KiB to 448 KiB with rep movsb, which runs 10 to 20 times slower when
 * dst is 1 to 63 bytes past src modulo a page (64 KiB: 30-40 us instead
 * of 2).  A ring's payloads drift through every page offset (8-byte
 * record headers), so some messages always hit it.  There, 64 bytes a
 * turn in 16-byte moves, which take 3 us whatever the offsets.  The
 * empty asm keeps the compiler from turning the loop back into memcpy.
 */
static void
seg_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__) && defined(__SSE2__)
	size_t d = ((uintptr_t)dst - (uintptr_t)src) & 4095, i = 0;
	if (n >= 2048 && d >= 1 && d < 64) {
		char *o = dst;
		const char *in = src;
		for (; i + 64 <= n; i += 64) {
			__asm__("" : "+r"(i));
			__m128i a = _mm_loadu_si128((const __m128i *)(in + i));
			__m128i b =
			        _mm_loadu_si128((const __m128i *)(in + i + 16));
			__m128i c =
			        _mm_loadu_si128((const __m128i *)(in + i + 32));
			__m128i e =
			        _mm_loadu_si128((const __m128i *)(in + i + 48));
			_mm_storeu_si128((__m128i *)(o + i), a);
			_mm_storeu_si128((__m128i *)(o + i + 16), b);
			_mm_storeu_si128((__m128i *)(o + i + 32), c);
			_mm_storeu_si128((__m128i *)(o + i + 48), e);
		}
		dst = o + i, src = in + i, n -= i;
	}
#endif
	memcpy(dst, src, n);
}

int
ipk__seg_reserve(struct ipk_chan *c, size_t len, void **ptr, int64_t deadline)
{
	struct ipk__seg *s = (struct ipk__seg *)c;
	if (seg_peer_gone(s))
		return -EPIPE;
	return seg_err(c, ipk__ring_reserve(&s->tx, len, ptr, deadline));
}

int
ipk__seg_commit(struct ipk_chan *c, size_t len)
{
	ipk__ring_commit(&((struct ipk__seg *)c)->tx, len, true);
	return 0;
}

int
ipk__seg_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	void *p;
	int rc = ipk__seg_reserve(c, m->len, &p, deadline);
	if (rc < 0)
		return rc;
	if (m->len)
		seg_copy(p, m->buf, m->len);
	return ipk__seg_commit(c, m->len);
}

/*
 * Many messages, one index store: each is written without publishing,
 * and the head goes out once (or before a wait for room: the ring's
 * reserve publishes first).
 */
int
ipk__seg_send_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                    int64_t deadline)
{
	struct ipk__seg *s = (struct ipk__seg *)c;
	if (seg_peer_gone(s))
		return -EPIPE;
	size_t i = 0;
	int rc = 0;
	for (; i < n; i++) {
		void *p;
		size_t len = msgs[i].iov_len;
		rc = ipk__ring_reserve(&s->tx, len, &p, deadline);
		if (rc < 0)
			break;
		if (len)
			seg_copy(p, msgs[i].iov_base, len);
		ipk__ring_commit(&s->tx, len, false);
	}
	ipk__ring_publish(&s->tx);
	rc = seg_err(c, rc);
	return i ? (int)i : rc;
}

int
ipk__seg_peek(struct ipk_chan *c, const void **ptr, size_t *len,
              int64_t deadline)
{
	struct ipk__seg *s = (struct ipk__seg *)c;
	return seg_err(c, ipk__ring_peek(&s->rx, ptr, len, deadline));
}

int
ipk__seg_release(struct ipk_chan *c)
{
	struct ipk__seg *s = (struct ipk__seg *)c;
	ipk__ring_release(&s->rx);
	if (s->bell_in >= 0)
		ipk__seg_bell_settle(s);
	return 0;
}

ssize_t
ipk__seg_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	const void *p;
	size_t len;
	int rc = ipk__seg_peek(c, &p, &len, deadline);
	if (rc < 0)
		return rc;
	size_t cap = m->len;
	m->len = len;
	if (len > cap)
		return -EMSGSIZE; /* it stays for a bigger buffer */
	if (len)
		seg_copy(m->buf, p, len);
	ipk__seg_release(c);
	return (ssize_t)len;
}

uint32_t
ipk__seg_drops(const struct ipk_chan *c)
{
	const struct ipk__seg *s = (const struct ipk__seg *)c;
	return (uint32_t)atomic_load(&s->hdr->ring[L2D].dropped);
}
