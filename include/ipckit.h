/*
 * ipckit.h - the one public header of ipckit, a message API over every
 * classic Linux IPC mechanism.  An endpoint is a URL ("fifo:/run/x",
 * "mq:/orders", "tcp://127.0.0.1:9000"); a channel moves whole messages.
 * Every function that can fail returns a negative errno value.
 *
 * Threads: one thread may send while another receives on the same
 * channel, on every transport.  Two threads sending (or two receiving)
 * at once on one channel need a lock of the caller's; ipk_close must not
 * race with anything on that channel.  Different channels are
 * independent.  Every blocking call takes a timeout in ms (-1 forever,
 * 0 never blocks: -EAGAIN) and ends early with -ECANCELED when the
 * channel's cancel descriptor is readable (ipk_set_cancel).
 */
#ifndef IPCKIT_H
#define IPCKIT_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IPK_BUILDING)
#define IPK_API __attribute__((visibility("default")))
#else
#define IPK_API
#endif

#define IPK_VERSION_MAJOR 0
#define IPK_VERSION_MINOR 1
#define IPK_VERSION_PATCH 0

/* Default largest message a channel accepts (?max= changes it). */
#define IPK_DEFAULT_MAX (16u << 20)
/* Default wait of ipk_dial / ipk_listen for a peer, ms (?timeout=). */
#define IPK_DEFAULT_TIMEOUT 10000
/* Bytes of the length prefix on byte-stream transports. */
#define IPK_FRAME_HEADER 4

typedef struct ipk_chan ipk_chan;

/*
 * Who sent a message.  pid/uid/gid come from the kernel (SO_PEERCRED) on
 * Unix sockets and are -1 where unknown; addr is a datagram sender.
 */
struct ipk_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/*
 * The general message.  For send, buf/len is the payload; for receive, buf
 * has room for len bytes and len becomes the message's length (or, after
 * -EMSGSIZE, the size a buffer needs, where the mechanism can tell).
 */
struct ipk_msg {
	void *buf;
	size_t len;
	long type;             /* sysvmsg: type to send; selector on receive */
	unsigned prio;         /* mq: priority */
	int *fds;              /* unix*: descriptors to pass / room for them */
	size_t nfds;           /* in: count (send) or room (recv); out: got */
	struct ipk_peer *peer; /* recv: filled when not NULL */
};

/*
 * ipk_listen - create (or bind) the endpoint named by url and own it.
 * The object is made exclusively with mode 0600 unless ?mode= says
 * otherwise, and removed again by ipk_close unless ?keep.  An object left
 * by a dead owner is taken over; a live one is -EADDRINUSE.
 * Does not block beyond the system calls.  Returns 0 and *out, or
 * -EPROTONOSUPPORT (scheme), -EINVAL (URL, option), -EEXIST (something
 * else is at that name), -EPERM (it belongs to someone else or is open to
 * group/others), -EADDRINUSE, or the errno of the failing call.
 */
IPK_API int ipk_listen(const char *url, ipk_chan **out);

/*
 * ipk_dial - open an existing endpoint (connect to a listener).  Waits up
 * to ?timeout= ms (default IPK_DEFAULT_TIMEOUT, -1 forever, 0 not at all)
 * for the listener to appear.  Never removes anything.  Returns 0 and
 * *out, -ETIMEDOUT, -ENOENT, -EPERM, or the errno of the failing call.
 */
IPK_API int ipk_dial(const char *url, ipk_chan **out);

/*
 * ipk_accept - take the next connection of a listening channel.  Blocks
 * up to timeout_ms, and returns by then (-ETIMEDOUT) however many peers
 * it refuses meanwhile: peers the credential policy does not allow and
 * connections beyond ?maxconn= are closed at once and counted in
 * ipk_stats().refused.  -ENOTSUP on mechanisms without connections.
 * The connection takes the listener's cancel descriptor and ?rxbudget=.
 */
IPK_API int ipk_accept(ipk_chan *listener, ipk_chan **out, int timeout_ms);

/*
 * ipk_pair - make two connected channels at once ("pipe:": *a reads and
 * *b writes).  Typically followed by fork(); each process then calls
 * ipk_close on the end it does not use.  Descriptors are close-on-exec.
 */
IPK_API int ipk_pair(const char *url, ipk_chan **a, ipk_chan **b);

/*
 * ipk_send - send one whole message of len bytes.  Blocks up to
 * timeout_ms (-1 forever, 0 never).  Returns 0 or: -EMSGSIZE (too big
 * for the channel; nothing sent), -ETIMEDOUT / -EAGAIN (nothing sent),
 * -EPIPE (the peer is gone), -ENOTSUP (this end cannot send),
 * -ECANCELED (the cancel descriptor is readable).  A message
 * the kernel took only part of before the deadline is finished by the
 * next send or by ipk_close: a peer never sees part of a message.
 */
IPK_API int ipk_send(ipk_chan *ch, const void *buf, size_t len, int timeout_ms);

/*
 * ipk_recv - receive one whole message into buf (NULL with cap 0 is
 * fine for empty messages).  Blocks up to timeout_ms.  Returns its
 * length, or:
 * -EMSGSIZE    cap is too small: the message stays for a bigger buffer.
 *              Or the peer announced more than ?max=: nothing is
 *              allocated for it; a connection is then closed (-EPIPE
 *              after), while a fifo listener throws away what the writers
 *              of that moment send until they have all closed, returns
 *              -EMSGSIZE once (bytes counted in ipk_stats().discarded),
 *              and goes on with the next writer.
 * -ETIMEDOUT, -EAGAIN (timeout 0), -ECANCELED (cancel descriptor).
 * -EPIPE       the peer is gone (between messages).
 * -ECONNRESET  the peer went away in the middle of a message, or (unix,
 *              tcp) one message took longer than ?frame= ms from its first
 *              byte (default 10000, plus 1000 per MiB it announces): the
 *              connection is closed.  A fifo listener goes on after it.
 * -ENOBUFS     a connection of a stream listener dropped because the
 *              listener's ?rxbudget= (default 64 MiB) of partly received
 *              messages ran out and it held the most; close it.
 */
IPK_API ssize_t ipk_recv(ipk_chan *ch, void *buf, size_t cap, int timeout_ms);

/* ipk_sendmsg - ipk_send with the metadata of struct ipk_msg. */
IPK_API int ipk_sendmsg(ipk_chan *ch, const struct ipk_msg *m, int timeout_ms);

/*
 * ipk_recvmsg - ipk_recv with the metadata of struct ipk_msg; m->len is
 * set to the length received (or needed, after -EMSGSIZE).
 */
IPK_API ssize_t ipk_recvmsg(ipk_chan *ch, struct ipk_msg *m, int timeout_ms);

/*
 * ipk_send_batch - send n messages with as few system calls as the
 * mechanism allows.  Returns how many were sent (n unless the deadline
 * passed or the peer went away after some), or a negative errno when
 * none was.  n = 0 (msgs may be NULL) sends nothing new but finishes a
 * message that an earlier deadline left part-written on a byte stream:
 * 0 once nothing is pending, or the error (a flush).
 */
IPK_API int ipk_send_batch(ipk_chan *ch, const struct iovec *msgs, size_t n,
                           int timeout_ms);

/*
 * Zero-copy.  ipk_reserve gives room for a message of up to len bytes to
 * be written in place; ipk_commit sends its first len bytes.  On shm:
 * the room is in the ring itself (reserve waits up to timeout_ms for it)
 * and commit never blocks.  On every other transport the room is a
 * buffer the channel owns, and commit sends it with what is left of the
 * reserve's timeout; after -ETIMEDOUT / -EAGAIN / -ECANCELED the buffer
 * and its bytes stay reserved, and ipk_reserve again (same or smaller
 * len) gives them back with a new timeout.  One reserve at a time.
 * Returns 0, -EMSGSIZE (len above ipk_max), -EINVAL (commit without a
 * reserve, or more than reserved), or what ipk_send returns.
 */
IPK_API int ipk_reserve(ipk_chan *ch, size_t len, void **ptr, int timeout_ms);
IPK_API int ipk_commit(ipk_chan *ch, size_t len);

/*
 * ipk_peek - the next message, left in place: *ptr and *len stay valid
 * until ipk_release, which lets it go.  On shm: a pointer into the ring;
 * elsewhere into a buffer the channel owns (grown to the message, up to
 * ipk_max).  Peeking again before releasing gives the same message.
 * Blocks up to timeout_ms; errors as ipk_recv.  ipk_release: 0, or
 * -EINVAL when nothing is peeked.
 */
IPK_API int ipk_peek(ipk_chan *ch, const void **ptr, size_t *len,
                     int timeout_ms);
IPK_API int ipk_release(ipk_chan *ch);

/*
 * ipk_fd - a descriptor to poll for readability, or -ENOTSUP.  Poll it;
 * read through ipk_recv.  Socket, pipe and FIFO-listener descriptors are in
 * blocking mode (each call of ours that must not wait says so itself, or
 * polls first), so do not read or write them directly.
 */
IPK_API int ipk_fd(const ipk_chan *ch);

/* ipk_max - the largest message this channel sends or receives. */
IPK_API size_t ipk_max(const ipk_chan *ch);

/* ipk_scheme - the URL scheme of the channel ("fifo"). */
IPK_API const char *ipk_scheme(const ipk_chan *ch);

/*
 * ipk_name - the URL a peer uses to reach this endpoint, into buf: for
 * sockets the bound address (so "tcp://127.0.0.1:0" gives the port the
 * kernel chose, "unix:@" the random abstract name), else the URL the
 * channel was made with.  0, -ENAMETOOLONG (buf too small), -ENOTSUP.
 */
IPK_API int ipk_name(const ipk_chan *ch, char *buf, size_t size);

/*
 * ipk_drops - how many messages the kernel dropped before they reached
 * this end (udp: its receive buffer was full; the kernel's count for the
 * socket, read at the call).  -ENOTSUP where nothing is ever
 * dropped or the count is not known.
 */
IPK_API long long ipk_drops(const ipk_chan *ch);

/*
 * ipk_set_cancel - watch fd beside every wait of ch: from the moment fd
 * is readable, each call on ch that would block returns -ECANCELED at
 * once (what it had sent or received stays consistent, as after a
 * timeout; the channel stays usable once fd is drained).  The usual fd
 * is the read end of a pipe that a SIGINT handler writes a byte to: it
 * costs nothing while idle.  The library only polls fd; it never reads
 * or closes it.  ch NULL sets the process default, which channels made
 * afterwards take, and so do the waits inside ipk_listen and ipk_dial;
 * ipk_accept gives a connection its listener's.  fd -1 detaches.  It
 * may be called while another thread waits on ch; that wait sees the
 * new descriptor from its next look at it.
 * Returns 0, or -EINVAL (fd below -1).
 */
IPK_API int ipk_set_cancel(ipk_chan *ch, int fd);

/* Counters of what a channel lost or refused on purpose (ipk_stats). */
struct ipk_stats {
	long long dropped;   /* udp: datagrams the kernel dropped */
	long long discarded; /* fifo: bytes thrown away after a bad header;
	                      * datagrams: longer than ?max= and the buffer */
	long long refused;   /* listener: peers refused (policy, ?maxconn=) */
	long long shed;      /* listener: connections dropped for ?rxbudget= */
};

/*
 * ipk_stats - the counters of ch into *st (0 where the mechanism never
 * loses that way).  Thread-safe beside sends and receives.  0, -EINVAL.
 */
IPK_API int ipk_stats(const ipk_chan *ch, struct ipk_stats *st);

/*
 * ipk_shutdown - no more sends on this end; the peer reads what was sent,
 * then -EPIPE.  -ENOTSUP where the mechanism has no half-close.
 */
IPK_API int ipk_shutdown(ipk_chan *ch);

/*
 * ipk_close - flush what a timed-out send left (up to ?timeout= ms),
 * remove what ipk_listen created (unless ?keep), and free the channel.
 * NULL is ignored.
 */
IPK_API void ipk_close(ipk_chan *ch);

/*
 * ipk_url_check - whether ipk_listen / ipk_dial would accept url, as far
 * as can be told without touching the system: a known scheme, options
 * that scheme takes with values in range, a port of 0 to 65535.  Returns
 * 0, or -EPROTONOSUPPORT / -EINVAL with a sentence for a person in why
 * ("unknown option 'timout'"); why may be NULL.
 */
IPK_API int ipk_url_check(const char *url, char *why, size_t size);

/*
 * ipk_transport - the URL scheme of the i-th transport this build of the
 * library has ("pipe" for 0), or NULL for i past the last.  Never blocks.
 */
IPK_API const char *ipk_transport(size_t i);

/*
 * Semaphores (notes section 6.4): a count that P (wait) takes one from,
 * blocking at 0, and V (post) gives one back.  "sem:/name" is a POSIX
 * named semaphore (one leading slash, at most 251 characters);
 * "sysvsem:KEY?nsems=N&index=I" is member I (default 0) of a System V
 * set of N (default 1), KEY as for sysvmsg:.  Options: ?mode= (0600 by
 * default, exact whatever the umask), ?keep, ?share (open only: accept a
 * set or semaphore that is not ours or is open to group/others),
 * ?undo (sysvsem: SEM_UNDO, so the kernel gives a P back when its holder
 * dies: right for a lock, wrong for signalling), ?lock (sem: a lock of
 * value 0 or 1 whose holder's death the next waiter learns of, see
 * ipk_sem_wait; every user must give ?lock) and ?inherit (with ?lock: the
 * holder's liveness token survives exec, as `ipckit sem run` needs).
 * Unknown options are -EINVAL.  See docs/guide/semaphores.md.
 */
typedef struct ipk_sem ipk_sem;

/*
 * ipk_sem_create - make the semaphore of url, exclusively, with value
 * (every member of a SysV set gets it).  Removed again by the creating
 * process's ipk_sem_close unless ?keep.  Does not block.  Returns 0 and
 * *out, or -EEXIST, -EINVAL (URL, option, value above the maximum, or
 * above 1 with ?lock), -ENAMETOOLONG, -EPROTONOSUPPORT, -errno.
 */
IPK_API int ipk_sem_create(const char *url, unsigned value, ipk_sem **out);

/*
 * ipk_sem_open - open an existing semaphore.  Unless ?share, it must be
 * ours (owner and, for SysV, creator) and no more open than ?mode=:
 * -EPERM otherwise.  A SysV set that its creator is still initialising
 * (sem_otime 0) is waited for, up to a second; then -ETIMEDOUT, or, with
 * ?share, used as it is (sets made by ipcmk are never marked).  Returns
 * 0 and *out, or -ENOENT, -EACCES, -EPERM, -EINVAL (URL, option, index
 * beyond the set, ?nsems= not the set's), -ENOLCK (?lock on a semaphore
 * made without it), -ETIMEDOUT, -errno.
 */
IPK_API int ipk_sem_open(const char *url, ipk_sem **out);

/*
 * ipk_sem_wait - P: take one, waiting up to timeout_ms (-1 forever, 0
 * not at all), measured on CLOCK_MONOTONIC.  A signal does not end the
 * wait (it goes on with the time left) unless the process's cancel
 * descriptor (ipk_set_cancel(NULL, fd)) is readable then: -ECANCELED.
 * Returns 0, -EAGAIN (timeout 0), -ETIMEDOUT, -ECANCELED, -EIDRM (the
 * SysV set was removed), -EDEADLK (?lock: this handle holds it already),
 * or -EOWNERDEAD (?lock: the holder died holding it; the caller holds it
 * now, inherited: repair what it guarded, then ipk_sem_post as usual).
 */
IPK_API int ipk_sem_wait(ipk_sem *s, int timeout_ms);

/* ipk_sem_trywait - ipk_sem_wait(s, 0): 0, -EAGAIN, -EOWNERDEAD, -errno. */
IPK_API int ipk_sem_trywait(ipk_sem *s);

/*
 * ipk_sem_post - V: give one back, waking a waiter.  Never blocks.
 * Returns 0, -EOVERFLOW (already at the maximum), -EIDRM, or -EPERM
 * (?lock: this handle does not hold it).
 */
IPK_API int ipk_sem_post(ipk_sem *s);

/* ipk_sem_value - the current value (>= 0), or -EIDRM / -errno. */
IPK_API int ipk_sem_value(ipk_sem *s);

/*
 * ipk_sem_unlink - remove the semaphore now (sem_unlink, IPC_RMID): 0 or
 * -errno.  Handles still open keep a POSIX one usable; SysV waiters get
 * -EIDRM.
 */
IPK_API int ipk_sem_unlink(ipk_sem *s);

/*
 * ipk_sem_close - free the handle; the creating process's close removes
 * the semaphore unless ?keep or ipk_sem_unlink did.  A ?lock held by this
 * handle is not given back: the next waiter gets -EOWNERDEAD.  NULL is
 * ignored.
 */
IPK_API void ipk_sem_close(ipk_sem *s);

/* ipk_strerror - text for a negative (or positive) errno value. */
IPK_API const char *ipk_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
