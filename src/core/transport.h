/*
 * transport.h - the contract between the core and one mechanism.  Each
 * src/transport/<scheme>.c embeds struct ipk_chan first in its state and
 * exports one const struct ipk_transport; src/core/transport.c lists them.
 */
#ifndef IPK_TRANSPORT_H
#define IPK_TRANSPORT_H

#include "core.h"

enum {
	IPK_CAP_DUPLEX = 1u << 0,   /* both ends send and receive */
	IPK_CAP_MESSAGES = 1u << 1, /* the kernel keeps message boundaries */
	IPK_CAP_ACCEPT = 1u << 2,   /* listeners accept connections */
	IPK_CAP_FD = 1u << 3,       /* ipk_fd gives a pollable descriptor */
	IPK_CAP_PAIR = 1u << 4,     /* ipk_pair makes two ends */
	IPK_CAP_FDPASS = 1u << 5,   /* messages carry descriptors */
};

/*
 * Methods.  A NULL method is -ENOTSUP to the caller.  The core has checked
 * arguments, the URL's options (against .options) and the sticky error
 * before calling; deadlines are absolute (ipk__deadline), IPK_NEVER for
 * none.  Every method returns 0, a count, or a negative errno.
 *
 * listen, dial  Set up c (already zeroed, c->fd == -1, options parsed).
 *               dial may block until the deadline in c->timeout.  On
 *               failure they leave nothing behind; close is not called.
 * pair          Set up two ends a and b from one URL.
 * accept        Block until a connection arrives; set up c like dial.
 * send          Send one whole message m (buf, len, type, prio, fds).
 *               Never blocks past the deadline.  Returns 0.
 * recv          Receive one whole message into m->buf (room m->len) and
 *               return its length; fill type/prio/peer/fds when asked.
 * send_batch    Optional: n messages at once; returns how many went.
 * reserve, commit, peek, release
 *               Optional zero-copy (see ipk_reserve): chan.c has checked
 *               len against ipk_max, one reserve or peek at a time, and
 *               commit's len against the reserve's.  commit never blocks.
 *               Without them chan.c uses a buffer and send / recv.
 * pollfd        Optional: the descriptor ipk_fd gives, where it is not
 *               c->fd (made on first use); without it, c->fd.
 * shutdown      Half-close the sending direction.
 * drops         Optional: messages the kernel dropped before this end.
 * check         Optional: what listen/dial would refuse in u's own
 *               options or address, found without system calls that
 *               create anything: 0, or -EINVAL with a sentence in why.
 * stats         Optional: fill what the transport counts (ipk_stats);
 *               st is zeroed and has dropped set from drops already.
 * name          Optional: the URL a peer dials (port 0 resolved); the
 *               core falls back to the URL the channel was made with.
 * close         Flush, remove what listen created unless IPK__KEEP,
 *               close descriptors.  Must not fail; the core frees c.
 */
struct ipk_transport {
	const char *scheme;
	size_t size;
	unsigned caps;
	const char *const *options; /* query keys it accepts beyond core's */
	int (*listen)(struct ipk_chan *c, const struct ipk_url *u);
	int (*dial)(struct ipk_chan *c, const struct ipk_url *u);
	int (*pair)(struct ipk_chan *a, struct ipk_chan *b,
	            const struct ipk_url *u);
	int (*accept)(struct ipk_chan *l, struct ipk_chan *c, int64_t deadline);
	int (*send)(struct ipk_chan *c, const struct ipk_msg *m,
	            int64_t deadline);
	ssize_t (*recv)(struct ipk_chan *c, struct ipk_msg *m,
	                int64_t deadline);
	int (*send_batch)(struct ipk_chan *c, const struct iovec *msgs,
	                  size_t n, int64_t deadline);
	int (*reserve)(struct ipk_chan *c, size_t len, void **ptr,
	               int64_t deadline);
	int (*commit)(struct ipk_chan *c, size_t len);
	int (*peek)(struct ipk_chan *c, const void **ptr, size_t *len,
	            int64_t deadline);
	int (*release)(struct ipk_chan *c);
	int (*pollfd)(struct ipk_chan *c);
	int (*shutdown)(struct ipk_chan *c);
	uint32_t (*drops)(const struct ipk_chan *c); /* kernel drops, udp */
	int (*check)(const struct ipk_url *u, char *why, size_t size);
	void (*stats)(const struct ipk_chan *c, struct ipk_stats *st);
	int (*name)(const struct ipk_chan *c, char *buf, size_t size);
	void (*close)(struct ipk_chan *c);
};

/* The table, in src/core/transport.c. */
const struct ipk_transport *ipk__transport_find(const char *scheme);
extern const struct ipk_transport *const ipk__transports[];

#endif
