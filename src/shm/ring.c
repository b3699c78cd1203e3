/*
 * ring.c - the single-producer / single-consumer ring that shm: and
 * sysvshm: share.  A record is a 4-byte length, 4 spare bytes and the
 * payload, padded to 8; one that does not fit before the end leaves a
 * pad marker and starts again at offset 0.  head and tail count bytes
 * forever (64 bits do not wrap), so full and empty are never confused.
 *
 * Ordering: the payload is written, then head is stored with release;
 * the consumer loads head with acquire, then reads the payload.  Sleeps
 * use a store-then-load handshake on both sides (flag, full fence, index
 * / index, full fence, flag), so a wake-up is never lost.
 */
#include "ring.h"

#include "../core/core.h"
#include "../sync/futex.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>

#define REC_HDR 8
#define PAD 0xffffffffu
#define SPIN_NS 20000 /* adaptive: spin this long before sleeping */
#define SLICE_MS 50   /* longest sleep before looking at the peer */

static uint64_t
rec_size(size_t len)
{
	return (REC_HDR + (uint64_t)len + 7) & ~(uint64_t)7;
}

bool
ipk__ring_size_ok(uint64_t size)
{
	return size >= IPK__RING_MIN && size <= IPK__RING_MAX &&
	       (size & (size - 1)) == 0;
}

size_t
ipk__ring_max(uint64_t size)
{
	return (size_t)(size / 2 - REC_HDR);
}

int
ipk__ring_attach(struct ipk__ring *r, struct ipk__ring_ctl *ctl, void *data,
                 uint64_t size, bool producer, const struct ipk__ring_waiter *w)
{
	memset(r, 0, sizeof(*r));
	uint64_t head = atomic_load_explicit(&ctl->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&ctl->tail, memory_order_acquire);
	if (!ipk__ring_size_ok(size) || head - tail > size || (head | tail) & 7)
		return -EBADMSG;
	r->ctl = ctl;
	r->data = data;
	r->size = size;
	r->max = ipk__ring_max(size);
	r->w = w;
	r->pos = producer ? head : tail;
	r->other = producer ? tail : head;
	r->shown = r->pos;
	return 0;
}

static void
ring_wake(const struct ipk__ring *r, _Atomic uint32_t *seq)
{
	atomic_fetch_add(seq, 1);
	if (r->w->wake)
		r->w->wake(r->w->ctx, seq);
	else
		ipk__futex_wake(seq);
}

/* Is what this side waits for there?  Refreshes r->other. */
static bool
ring_ready(struct ipk__ring *r, bool data, uint64_t need)
{
	if (data) {
		r->other = atomic_load_explicit(&r->ctl->head,
		                                memory_order_acquire);
		return r->other != r->pos;
	}
	r->other = atomic_load_explicit(&r->ctl->tail, memory_order_acquire);
	return r->pos + need - r->other <= r->size;
}

static int
ring_expired(int64_t deadline)
{
	return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
}

static bool
ring_cancelled(const struct ipk__ring_waiter *w)
{
	int fd = w->cancel ? *w->cancel : -1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Why the wait must end though nothing came: 0 if it need not. */
static int
ring_check(const struct ipk__ring *r, int64_t deadline, bool slept_out)
{
	const struct ipk__ring_waiter *w = r->w;
	if (w->closed && atomic_load(w->closed))
		return -EPIPE;
	if (ipk__remaining(deadline) == 0)
		return ring_expired(deadline);
	if (slept_out && w->alive && !w->alive(w->ctx))
		return -EPIPE;
	if (slept_out && ring_cancelled(w))
		return -ECANCELED;
	return 0;
}

static inline void
ring_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin for a while (or, in spin mode, until the deadline). */
static int
ring_spin(struct ipk__ring *r, bool data, uint64_t need, int64_t deadline)
{
	bool forever = r->w->mode == IPK__WAIT_SPIN;
	int64_t until = ipk__now_ns() + SPIN_NS;
	for (unsigned i = 1;; i++) {
		if (ring_ready(r, data, need))
			return 1;
		ring_relax();
		if (i % 256)
			continue;
		int rc = ring_check(r, deadline, i % 65536 == 0);
		if (rc < 0)
			return rc;
		if (!forever && ipk__now_ns() >= until)
			return 0;
	}
}

static int
ring_sleep(struct ipk__ring *r, _Atomic uint32_t *seq, uint32_t seen,
           int64_t deadline)
{
	int left = ipk__remaining(deadline);
	int ms = left < 0 || left > SLICE_MS ? SLICE_MS : left;
	if (r->w->sleep)
		return r->w->sleep(r->w->ctx, seq, seen, ms);
	return ipk__futex_wait(seq, seen, ms);
}

/*
 * Wait until data (consumer) or need bytes of room (producer) is there:
 * announce the sleep, fence, look again, and only then sleep; the other
 * side stores its index, fences, and wakes when it sees the flag.
 */
static int
ring_wait(struct ipk__ring *r, bool data, uint64_t need, int64_t deadline)
{
	int rc = ring_check(r, deadline, false);
	if (rc == 0 && r->w->mode != IPK__WAIT_SLEEP)
		rc = ring_spin(r, data, need, deadline);
	if (rc == -EPIPE && data && ring_ready(r, data, need))
		rc = 1;
	if (rc != 0)
		return rc < 0 ? rc : 0;
	_Atomic uint32_t *seq = data ? &r->ctl->data_seq : &r->ctl->room_seq;
	_Atomic uint32_t *flag = data ? &r->ctl->cons_wait : &r->ctl->prod_wait;
	for (;;) {
		uint32_t seen = atomic_load(seq);
		atomic_store(flag, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (ring_ready(r, data, need))
			break;
		int e = ring_sleep(r, seq, seen, deadline);
		rc = ring_check(r, deadline, e == -ETIMEDOUT);
		if (rc < 0)
			break;
	}
	atomic_store(flag, 0);
	/* A peer that sent, then left: what it sent comes first. */
	if (rc == -EPIPE && data && ring_ready(r, data, need))
		rc = 0;
	return rc;
}

int
ipk__ring_reserve(struct ipk__ring *r, size_t len, void **ptr, int64_t deadline)
{
	if (len > r->max)
		return -EMSGSIZE;
	uint64_t need = rec_size(len);
	uint64_t off = r->pos & (r->size - 1);
	uint64_t pad = r->size - off < need ? r->size - off : 0;
	while (r->pos + pad + need - r->other > r->size) {
		if (ring_ready(r, false, pad + need))
			break;
		if (r->pos - r->other > r->size)
			return -EBADMSG; /* a tail ahead of what we wrote */
		if (r->shown != r->pos)  /* the reader must see what is there */
			ipk__ring_publish(r);
		int rc = ring_wait(r, false, pad + need, deadline);
		if (rc < 0)
			return rc;
	}
	if (r->pos - r->other > r->size)
		return -EBADMSG;
	if (pad) {
		uint32_t mark = PAD;
		memcpy(r->data + off, &mark, sizeof(mark));
		r->pos += pad;
		off = 0;
	}
	r->held = need;
	*ptr = r->data + off + REC_HDR;
	return 0;
}

void
ipk__ring_publish(struct ipk__ring *r)
{
	r->shown = r->pos;
	/* A seq_cst exchange: the store, and the full fence that orders it
	 * before the load of cons_wait (the consumer stores cons_wait and
	 * then loads head) in one instruction, cheaper than store + mfence. */
	atomic_exchange_explicit(&r->ctl->head, r->pos, memory_order_seq_cst);
	if (atomic_load_explicit(&r->ctl->cons_wait, memory_order_relaxed))
		ring_wake(r, &r->ctl->data_seq);
	if (atomic_load_explicit(&r->ctl->bell, memory_order_relaxed) &&
	    r->w->bell)
		r->w->bell(r->w->ctx);
}

void
ipk__ring_commit(struct ipk__ring *r, size_t len, bool publish)
{
	uint32_t n = (uint32_t)len;
	memcpy(r->data + (r->pos & (r->size - 1)), &n, sizeof(n));
	r->pos += rec_size(len);
	r->held = 0;
	if (publish)
		ipk__ring_publish(r);
}

/* The record at r->pos, checked against what the producer published. */
static int
ring_record(struct ipk__ring *r, const void **ptr, size_t *len)
{
	for (;;) {
		uint64_t off = r->pos & (r->size - 1);
		uint32_t n;
		memcpy(&n, r->data + off, sizeof(n)); /* read once */
		if (n == PAD) {
			r->pos += r->size - off;
			if (r->pos > r->other)
				return -EBADMSG;
			if (r->pos == r->other)
				return 0;
			continue;
		}
		uint64_t need = rec_size(n);
		if (n > r->max || need > r->other - r->pos ||
		    off + need > r->size)
			return -EBADMSG;
		r->held = need;
		*ptr = r->data + off + REC_HDR;
		*len = n;
		return 1;
	}
}

int
ipk__ring_peek(struct ipk__ring *r, const void **ptr, size_t *len,
               int64_t deadline)
{
	for (;;) {
		if (r->pos == r->other && !ring_ready(r, true, 0)) {
			int rc = ring_wait(r, true, 0, deadline);
			if (rc < 0)
				return rc;
		}
		if (r->other - r->pos > r->size || (r->other & 7))
			return -EBADMSG;
		int rc = ring_record(r, ptr, len);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
}

/*
 * The tail is published once a quarter of the ring is free again, or
 * when nothing more is known to be waiting, so the producer's cache line
 * is not touched for every message of a burst.
 */
void
ipk__ring_release(struct ipk__ring *r)
{
	r->pos += r->held;
	r->held = 0;
	if (r->pos != r->other && r->pos - r->shown < r->size / 4)
		return;
	r->shown = r->pos;
	/* Store and full fence in one, as in ipk__ring_publish. */
	atomic_exchange_explicit(&r->ctl->tail, r->pos, memory_order_seq_cst);
	if (atomic_load_explicit(&r->ctl->prod_wait, memory_order_relaxed))
		ring_wake(r, &r->ctl->room_seq);
}

bool
ipk__ring_empty(struct ipk__ring *r)
{
	return !ring_ready(r, true, 0);
}

long long
ipk__ring_drop_all(struct ipk__ring *r)
{
	long long n = 0;
	const void *p;
	size_t len;
	r->other = atomic_load_explicit(&r->ctl->head, memory_order_acquire);
	if (r->other - r->pos > r->size || (r->other & 7))
		return -EBADMSG;
	int rc;
	while (r->pos != r->other && (rc = ring_record(r, &p, &len)) > 0) {
		r->pos += r->held;
		n++;
	}
	if (rc < 0)
		return rc;
	r->held = 0;
	r->pos = r->other;
	ipk__ring_release(r);
	atomic_fetch_add(&r->ctl->dropped, (uint64_t)n);
	return n;
}
