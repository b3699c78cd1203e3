/*
 * sock.h - what the five socket transports (unix, unixpacket, unixgram,
 * tcp, udp) share: one channel state, address parsing, connect with a
 * deadline, the stale-socket probe, SO_PEERCRED policy, SCM_RIGHTS and
 * whole-datagram I/O.  Implemented once in sock.c and sockmsg.c.
 */
#ifndef IPK_SOCK_H
#define IPK_SOCK_H

#include "../core/core.h"

#include <pthread.h>
#include <sys/un.h>

#define IPK__SCM_MAX 253 /* SCM_MAX_FD: more in one message is EINVAL */
#define IPK__FDQ_MAX 8
#define IPK__FRAME_MS 10000 /* default ?frame=, ms (RELIABILITY 6.10) */

struct ipk__saddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Who may connect to a Unix listener (?allow=any, ?uid=N). */
struct ipk__credpol {
	bool any;
	uid_t uid;
	uid_t self; /* our euid when the channel was made (no call per message)
	             */
};

/* Descriptors that arrived on a byte stream, by stream offset. */
struct ipk__fdq {
	uint64_t pos; /* stream offset of the first unread buffered byte */
	size_t n;
	struct {
		uint64_t at;
		int *fds;
		size_t nfds;
		bool lost; /* the kernel truncated them (MSG_CTRUNC) */
	} e[IPK__FDQ_MAX];
};

/* Live connections of a listener, shared with what it accepted. */
struct ipk__conns {
	_Atomic int live;
	_Atomic int refs;
	int max;
};

/* A datagram received whole into a buffer too short for it (or with
 * more descriptors than asked for): given on the next receive. */
struct ipk__held {
	size_t len, nfds;
	int fds[IPK__SCM_MAX];
	struct ipk_peer peer;
	char data[];
};

/* The state of every socket channel. */
struct ipk__sock {
	struct ipk_chan base;
	int family, type;
	struct ipk__saddr peer;    /* datagrams: where sends go */
	pthread_mutex_t peer_lock; /* peer: the receiver sets, senders read */
	bool connected;            /* peer-locked: send() without an address */
	bool owner;                /* bound the socket file: unlink on close */
	bool abstract;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	dev_t dev;
	ino_t ino;
	struct ipk__credpol pol;
	int spare;       /* listener: a reserve descriptor for EMFILE */
	int maxconn;     /* listener: connections it keeps at once */
	size_t rxbudget; /* listener: ?rxbudget= for partial messages */
	struct ipk__conns *conns; /* listener's count; accepted: counted in */
	bool counted;
	struct ipk__fdq fdq;    /* unix stream: descriptors not yet delivered */
	char *tail;             /* datagrams: room past a short buffer */
	size_t tail_len;        /* its mapped length */
	struct ipk__held *held; /* datagrams: one that did not fit the buffer */
	_Atomic long long discarded; /* datagrams: bytes above ?max= */
	_Atomic long long refused;   /* listener: peers the policy refused */
};

/* Query keys the socket transports accept. */
extern const char *const ipk__sock_unix_options[];
extern const char *const ipk__sock_inet_options[];

/* Addresses.  -ENAMETOOLONG before any system call when it does not fit. */
/* listen: "@" alone is a fresh random abstract name. */
int ipk__sock_unix_addr(const char *rest, bool listen, struct ipk__saddr *a);
int ipk__sock_name(const struct ipk_chan *c, char *buf, size_t size);
int ipk__sock_inet_addr(const char *rest, int type, struct ipk__saddr *a);
/* "host:port" syntax and the port's range, without resolving: 0, -EINVAL. */
int ipk__sock_inet_check(const char *rest);
bool ipk__sock_port_ok(const char *s);

/*
 * The methods every socket transport uses (see transport.h).  listen
 * binds (unix: stale probe, owner-only, no chmod window) and listens;
 * dial connects within ?timeout=, waiting for a listener to appear;
 * accept admits only peers the SO_PEERCRED policy allows and sheds a
 * connection on EMFILE; pair is socketpair.
 */
int ipk__sock_listen(struct ipk_chan *c, const struct ipk_url *u);
/* Options of a socket that will carry data (TCP_NODELAY, SO_PASSCRED...). */
int ipk__sock_setup(struct ipk__sock *s);
int ipk__sock_check(const struct ipk_url *u, char *why, size_t size);
int ipk__sock_dial(struct ipk_chan *c, const struct ipk_url *u);
int ipk__sock_pair(struct ipk_chan *a, struct ipk_chan *b,
                   const struct ipk_url *u);
int ipk__sock_accept(struct ipk_chan *l, struct ipk_chan *c, int64_t deadline);
int ipk__sock_shutdown(struct ipk_chan *c);
void ipk__sock_close(struct ipk_chan *c);
void ipk__sock_stats(const struct ipk_chan *c, struct ipk_stats *st);
/* ?allow=any / ?uid=N into pol (default: our own euid only). */
int ipk__sock_policy_parse(struct ipk__credpol *pol, const struct ipk_url *u);
/* SO_PEERCRED of a connected Unix socket into p. */
int ipk__sock_peercred(int fd, struct ipk_peer *p);
bool ipk__sock_allowed(const struct ipk__credpol *pol, uid_t uid);

/* Byte streams (unix, tcp): framing by io.c plus the frame deadline. */
int ipk__sock_stream_send(struct ipk_chan *c, const struct ipk_msg *m,
                          int64_t deadline);
ssize_t ipk__sock_stream_recv(struct ipk_chan *c, struct ipk_msg *m,
                              int64_t deadline);

/* Whole messages (unixgram, unixpacket, udp). */
int ipk__sock_dgram_send(struct ipk_chan *c, const struct ipk_msg *m,
                         int64_t deadline);
int ipk__sock_dgram_batch(struct ipk_chan *c, const struct iovec *msgs,
                          size_t n, int64_t deadline);
ssize_t ipk__sock_dgram_recv(struct ipk_chan *c, struct ipk_msg *m,
                             int64_t deadline);

/* SCM_RIGHTS.  The control buffer must hold IPK__SCM_MAX descriptors. */
#define IPK__CMSG_ROOM                                                         \
	(CMSG_SPACE(sizeof(int) * IPK__SCM_MAX) +                              \
	 CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(uint32_t)))
int ipk__sock_put_fds(struct msghdr *mh, void *ctl, const int *fds, size_t n);
/* Take descriptors out of mh into out[*n]; closes them all if truncated. */
int ipk__sock_take_fds(struct msghdr *mh, int *out, size_t *n);
void ipk__fdq_free(struct ipk__fdq *q);

/*
 * fdstream.c: Unix byte streams with descriptors (SCM_RIGHTS on a
 * frame's first byte); the queue q keeps those read ahead of their frame.
 */
int ipk__stream_send_fds(struct ipk_chan *c, const struct ipk_msg *m,
                         int64_t deadline);
ssize_t ipk__stream_recv_fds(struct ipk_chan *c, struct ipk_msg *m,
                             int64_t deadline, struct ipk__fdq *q);

/* Datagrams the kernel dropped on this udp channel (SO_MEMINFO). */
uint32_t ipk__sock_drops(const struct ipk_chan *c);

#endif
