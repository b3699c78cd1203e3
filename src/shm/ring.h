/*
 * ring.h - the shared-memory ring of notes section 6.3: one producer and
 * one consumer per direction, variable-size messages, lock-free, with
 * futex (or, for sysvshm:, semaphore) sleeps only when a side has
 * nothing to do.  It knows no URL and no transport.  Everything it reads
 * from the shared segment is untrusted: read once, checked, then used.
 */
#ifndef IPK_RING_H
#define IPK_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPK__RING_CTL 192  /* bytes of struct ipk__ring_ctl */
#define IPK__RING_MIN 4096 /* smallest data area */
#define IPK__RING_MAX (1ull << 30)

/*
 * The shared control block of one direction, three cache lines.  The
 * producer reads cons_wait and bell on every publish: they have a line
 * of their own, which the consumer writes only when it starts or stops
 * sleeping or asks for a doorbell, so that the publish does not pull in
 * the line of tail, which the consumer writes as it reads.
 */
struct ipk__ring_ctl {
	/* written by the producer */
	_Alignas(64) _Atomic uint64_t head; /* bytes committed, ever */
	_Atomic uint32_t data_seq;          /* the consumer sleeps on it */
	_Atomic uint32_t prod_wait;         /* the producer sleeps */
	/* written by the consumer as it reads */
	_Alignas(64) _Atomic uint64_t tail; /* bytes consumed, ever */
	_Atomic uint32_t room_seq;          /* the producer sleeps on it */
	_Atomic uint64_t dropped; /* messages a new consumer skipped */
	/* written by the consumer now and then, read on every publish */
	_Alignas(64) _Atomic uint32_t cons_wait; /* the consumer sleeps */
	_Atomic uint32_t bell; /* ring the doorbell on each publish */
};

enum { IPK__WAIT_ADAPTIVE, IPK__WAIT_SPIN, IPK__WAIT_SLEEP };

struct ipk__ring;

/* How one side waits, and how it learns that the other side is gone. */
struct ipk__ring_waiter {
	int mode; /* IPK__WAIT_* */
	/* a descriptor that ends waits when readable (or -1), or NULL */
	const _Atomic int *cancel;
	/* Checked each time a sleep runs out: false when the peer died. */
	bool (*alive)(void *ctx);
	void *ctx;
	const _Atomic uint32_t *closed; /* non-zero: the peer closed */
	/* Sleep on / wake a sequence word; NULL: futex. */
	int (*sleep)(void *ctx, _Atomic uint32_t *seq, uint32_t seen, int ms);
	void (*wake)(void *ctx, _Atomic uint32_t *seq);
	/* The consumer asked for a doorbell (ipk_fd): ring it. */
	void (*bell)(void *ctx);
};

/* One end of one direction, in this process. */
struct ipk__ring {
	struct ipk__ring_ctl *ctl;
	unsigned char *data;
	uint64_t size;  /* a power of two */
	uint64_t pos;   /* producer: the next head; consumer: the next tail */
	uint64_t other; /* the other side's index, as last read */
	uint64_t shown; /* the index (head or tail) last published */
	uint64_t held;  /* bytes of the open reserve or peek */
	size_t max;     /* largest message */
	const struct ipk__ring_waiter *w;
};

/* The largest message a ring of size bytes carries (half, less a header). */
size_t ipk__ring_max(uint64_t size);
/* Whether size is one a ring can have. */
bool ipk__ring_size_ok(uint64_t size);

/*
 * Take one end of a formatted (zeroed) or live ring.  The indices are
 * read once and checked: -EBADMSG when they make no sense.
 */
int ipk__ring_attach(struct ipk__ring *r, struct ipk__ring_ctl *ctl, void *data,
                     uint64_t size, bool producer,
                     const struct ipk__ring_waiter *w);

/*
 * Producer.  reserve waits for room for len bytes until the deadline
 * (publishing first what was committed, so the reader can make room)
 * and points *ptr into the ring; commit writes the header and publishes
 * (publish=false defers that to ipk__ring_publish, for batches).
 * -EMSGSIZE, -ETIMEDOUT, -EAGAIN, -ECANCELED, -EPIPE, -EBADMSG.
 */
int ipk__ring_reserve(struct ipk__ring *r, size_t len, void **ptr,
                      int64_t deadline);
void ipk__ring_commit(struct ipk__ring *r, size_t len, bool publish);
void ipk__ring_publish(struct ipk__ring *r);

/*
 * Consumer.  peek waits for the next message until the deadline and
 * points *ptr at it in the ring; release gives its room back.
 * -ETIMEDOUT, -EAGAIN, -ECANCELED, -EPIPE, -EBADMSG (corrupt ring).
 */
int ipk__ring_peek(struct ipk__ring *r, const void **ptr, size_t *len,
                   int64_t deadline);
void ipk__ring_release(struct ipk__ring *r);
/* Consumer: nothing published beyond what it has taken (reloads head). */
bool ipk__ring_empty(struct ipk__ring *r);
/* A new consumer throws away what the last one left: how many messages. */
long long ipk__ring_drop_all(struct ipk__ring *r);

#endif
