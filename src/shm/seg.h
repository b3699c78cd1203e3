/*
 * seg.h - what the two shared-memory transports (shm: and sysvshm:)
 * share above the ring: the segment's header, a channel made of two
 * rings (listener to dialer, dialer to listener), and the methods that
 * move messages.  The transports differ only in how the segment is made,
 * how a side sleeps and wakes, and how a dead peer is seen.
 */
#ifndef IPK_SEG_H
#define IPK_SEG_H

#include "../core/transport.h"
#include "ring.h"

#define IPK__SEG_HDR 4096        /* page 0: the header */
#define IPK__SEG_SIZE (1u << 20) /* default bytes per direction */

/* Page 0 of a segment.  Every field is untrusted to the reader. */
struct ipk__seg_hdr {
	_Atomic uint32_t magic; /* stored last by the listener */
	uint32_t version;
	uint64_t size;             /* bytes of each ring's data */
	int32_t creator;           /* the listener's pid, for ls / rm */
	_Atomic uint32_t closed_l; /* the listener closed */
	_Atomic uint32_t closed_d; /* the dialer closed */
	_Atomic uint32_t attached; /* a dialer is attached */
	_Alignas(64) struct ipk__ring_ctl ring[2];
};

/* A channel over a segment; a transport's state starts with it. */
struct ipk__seg {
	struct ipk_chan base;
	bool listener;
	int wait; /* IPK__WAIT_* */
	void *map;
	size_t maplen;
	struct ipk__seg_hdr *hdr;
	struct ipk__ring tx, rx;
	struct ipk__ring_waiter wtx, wrx;
	/* ipk_fd: a FIFO per direction, "<bell>.0" and "<bell>.1" */
	char bell[128];        /* set by the transport: where they live */
	int bell_in, bell_out; /* ours to poll; the peer's to ring; or -1 */
	bool bell_made;        /* we made bell_in's FIFO: unlink on close */
};

/* How a transport sleeps, wakes and tells that its peer lives. */
struct ipk__seg_ops {
	bool (*alive)(void *seg);
	int (*sleep)(void *seg, _Atomic uint32_t *seq, uint32_t seen, int ms);
	void (*wake)(void *seg, _Atomic uint32_t *seq);
};

extern const char *const ipk__seg_options[];

/* ?size= (rounded up to a power of two) and ?wait=: 0 or -EINVAL. */
int ipk__seg_parse(struct ipk__seg *s, const struct ipk_url *u, uint64_t *size);
/* Bytes of a segment with rings of size bytes. */
size_t ipk__seg_len(uint64_t size);
/* Listener: fill the header of a fresh mapping (magic comes last). */
void ipk__seg_format(struct ipk__seg *s, uint64_t size);
/*
 * Dialer: the header at hdr (have bytes mapped of total), read once:
 * 1 when the listener has not finished it, -EPROTO when it makes no
 * sense, else 0 and *size.
 */
int ipk__seg_check(const struct ipk__seg_hdr *hdr, size_t total,
                   uint64_t *size);
/* Both rings of this side, the waits, the channel's maximum. */
int ipk__seg_rings(struct ipk__seg *s, const struct ipk__seg_ops *ops);
/* Listener: ready for dialers.  Dialer: attached, old messages dropped. */
void ipk__seg_open(struct ipk__seg *s);
/* The rings, then open: the end of a listen. */
int ipk__seg_start(struct ipk__seg *s, const struct ipk__seg_ops *ops);
/*
 * The rest of a dial: once() until it finds a live listener (it returns
 * 1 while there is none yet) within ?timeout=, then start.
 */
int ipk__seg_dial(struct ipk__seg *s, int (*once)(struct ipk__seg *s),
                  const struct ipk__seg_ops *ops);
/*
 * Tell the peer this side leaves and wake it wherever it sleeps; close
 * the doorbells (a listener's close, unless ?keep, removes them).
 */
void ipk__seg_leave(struct ipk__seg *s, const struct ipk__seg_ops *ops);

int ipk__seg_send(struct ipk_chan *c, const struct ipk_msg *m,
                  int64_t deadline);
int ipk__seg_send_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                        int64_t deadline);
ssize_t ipk__seg_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline);
int ipk__seg_reserve(struct ipk_chan *c, size_t len, void **ptr,
                     int64_t deadline);
int ipk__seg_commit(struct ipk_chan *c, size_t len);
int ipk__seg_peek(struct ipk_chan *c, const void **ptr, size_t *len,
                  int64_t deadline);
int ipk__seg_release(struct ipk_chan *c);
uint32_t ipk__seg_drops(const struct ipk_chan *c);
/* ipk_fd: the doorbell FIFO of this side's receiving ring (seg_bell.c). */
int ipk__seg_pollfd(struct ipk_chan *c);
/* After a receive: keep the doorbell readable iff a message waits. */
void ipk__seg_bell_settle(struct ipk__seg *s);
/* The producer's side: ring the peer's doorbell (a ring waiter hook). */
void ipk__seg_bell_ring(void *seg);
/* Close both doorbells; the listener also removes every FIFO. */
void ipk__seg_bell_close(struct ipk__seg *s, bool remove_all);

#endif
