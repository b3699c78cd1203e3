/*
 * core.h - what the core shares with the transports: the channel object,
 * parsed URLs, deadlines, and the full read/write loops of io.c.  Nothing
 * here is public; every symbol is ipk__ and hidden.
 */
#ifndef IPK_CORE_H
#define IPK_CORE_H

#include "ipckit.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct ipk_transport;

#define IPK_NEVER INT64_MAX
#define IPK__RX_NOW (-1)
#define IPK_URL_MAXQ 16

/* A URL split in place: "scheme:rest?k=v&flag". */
struct ipk_url {
	char *buf; /* owned copy of the text */
	const char *scheme;
	const char *rest; /* after "scheme:" and an optional "//" */
	size_t nq;
	struct {
		const char *key;
		const char *val; /* NULL for a bare flag */
	} q[IPK_URL_MAXQ];
};

int ipk__url_parse(const char *text, struct ipk_url *u);
void ipk__url_free(struct ipk_url *u);
const char *ipk__url_get(const struct ipk_url *u, const char *key);
bool ipk__url_has(const struct ipk_url *u, const char *key);
/* A bare flag (or =1 / =0): 1 set, 0 absent or =0, -EINVAL otherwise. */
int ipk__url_flag(const struct ipk_url *u, const char *key);
/* 0 absent (*out untouched), 1 found, -EINVAL malformed or out of range. */
int ipk__url_num(const struct ipk_url *u, const char *key, long long lo,
                 long long hi, long long *out);

/* Byte-stream receive buffer: data[off, off+len) is unread. */
struct ipk__rbuf {
	char *data;
	size_t cap, off, len;
};

/* Tail of a frame the kernel took only part of before the deadline. */
struct ipk__pend {
	char *data;
	size_t len, off;
};

/* The channel-owned buffer of ipk_reserve / ipk_peek (chan.c). */
struct ipk__zc {
	char *buf;
	size_t cap, len;
	int64_t deadline;
	bool open;
};

/* A message arriving in chunks (chunk.c): len of total bytes so far. */
struct ipk__big {
	char *data;
	size_t cap, len, total;
};

enum {
	IPK__LISTENER = 1u << 0,  /* made by ipk_listen: owns the object */
	IPK__RAW = 1u << 1,       /* no framing on a byte stream */
	IPK__KEEP = 1u << 2,      /* leave the object on close */
	IPK__SOCK = 1u << 3,      /* fd is a socket: send with MSG_NOSIGNAL */
	IPK__ATOMIC = 1u << 4,    /* frames must fit PIPE_BUF (many writers) */
	IPK__NOSIGPIPE = 1u << 5, /* SIGPIPE was ignored when it was made */
	/* fd is in blocking mode and every call that must not block says so
	 * itself (MSG_DONTWAIT, RWF_NOWAIT): a wait without deadline or
	 * cancel descriptor is then the one blocking call a plain program
	 * makes, not a poll and a retry. */
	IPK__BLOCKFD = 1u << 6,
	/* With IPK__BLOCKFD: the kernel has no per-call non-blocking read
	 * for fd (a FIFO's read end: RWF_NOWAIT is EOPNOTSUPP), so a read
	 * that must not block polls first; one right after a wait that
	 * found fd readable is the plain read, as there is one reader. */
	IPK__POLLREAD = 1u << 7,
};

/* ?rxbudget= of a listener, shared with its connections (budget.c). */
struct ipk__budget {
	pthread_mutex_t lock;
	size_t limit, used;
	_Atomic long long shed;
	int refs;
	struct ipk_chan *head; /* the channels charged to it */
};

struct ipk_chan {
	const struct ipk_transport *tp;
	int fd;
	unsigned flags;
	_Atomic int broken; /* sticky error: every operation returns it */
	_Atomic int cancel; /* readable: waits end with -ECANCELED; or -1 */
	_Atomic bool shut;  /* ipk_shutdown was called: a reset then says
	                     * the peer threw away what we sent */
	mode_t mode;        /* ?mode= for created objects */
	size_t max;         /* largest message, ?max= */
	int timeout;        /* ?timeout= for dial/open, ms */
	char *url;          /* as given to listen/dial, for ipk_name */
	struct ipk__rbuf rx;
	/* When the unread partial frame began: 0 none, IPK__RX_NOW "no later
	 * than now" (set without a clock read when a message is taken). */
	int64_t rx_start;
	int frame_ms; /* a started frame must end this soon (0: no limit) */
	struct ipk__pend tx;
	struct ipk__big big;
	struct ipk__zc zc_tx, zc_rx;
	struct ipk__budget *budget;     /* listener's rxbudget, or NULL */
	struct ipk_chan *bnext, *bprev; /* in budget->head, under its lock */
	size_t charged;                 /* bytes charged to the budget */
	bool blinked;                   /* in the list (not dropped) */
	struct ipk__owner *owner;       /* listener's owner record, or NULL */
};

/* Free the buffers of ipk_reserve / ipk_peek (zc.c). */
void ipk__zc_free(struct ipk_chan *c);

struct ipk__budget *ipk__budget_new(size_t limit);
void ipk__budget_join(struct ipk__budget *b, struct ipk_chan *c);
void ipk__budget_leave(struct ipk_chan *c);
/* c now holds bytes beyond the base: 0, or -ENOBUFS when c is dropped. */
int ipk__budget_charge(struct ipk_chan *c, size_t bytes);
long long ipk__budget_shed(const struct ipk__budget *b);

/* Set the sticky error of c and return it. */
static inline int
ipk__break(struct ipk_chan *c, int err)
{
	c->broken = err;
	return err;
}

/* Deadlines: absolute CLOCK_MONOTONIC ms; IPK_NEVER when timeout < 0. */
int64_t ipk__now_ms(void);
int64_t ipk__now_ns(void);
int64_t ipk__deadline(int timeout_ms);
int ipk__remaining(int64_t deadline); /* for poll: -1 never, 0 passed */

/*
 * Wait for events on fd (a descriptor of c) until the deadline, or until
 * c's cancel descriptor is readable: 0, -ETIMEDOUT (-EAGAIN for deadline
 * 0), -ECANCELED or -errno.
 */
int ipk__wait(const struct ipk_chan *c, int fd, short events, int64_t deadline);
/* Sleep a little (backoff for retried opens): 0, -ETIMEDOUT, -ECANCELED. */
int ipk__backoff(const struct ipk_chan *c, int *step_ms, int64_t deadline);
/*
 * Between retries that never wait (a flood of refused peers): 0 to go
 * on, or -ETIMEDOUT / -EAGAIN past the deadline, -ECANCELED.
 */
int ipk__check_deadline(const struct ipk_chan *c, int64_t deadline);
/* Sleep us microseconds unless cancelled: 0 or -ECANCELED. */
int ipk__nap(const struct ipk_chan *c, long us);
/* An error that ends a wait, not the channel: deadline or cancel. */
bool ipk__is_wait_end(int rc);
/* The process-wide cancel descriptor (ipk_set_cancel(NULL, fd)). */
int ipk__cancel_default(void);

int ipk__set_nonblock(int fd);
/* Which process this is, without a system call: a number that changes in
 * the child of every fork (pthread_atfork; a raw clone() is not seen). */
unsigned ipk__fork_gen(void);
/*
 * SIGPIPE held off in this thread across the pipe and FIFO writes between
 * hold and release (nothing for sockets, or when SIGPIPE was ignored when
 * c was made); a hold inside another is a no-op.  errno is kept.
 */
struct ipk__sigguard {
	sigset_t old;
	bool active, was_blocked, was_pending, raised;
};
void ipk__sigpipe_hold(const struct ipk_chan *c, struct ipk__sigguard *g);
void ipk__sigpipe_release(struct ipk__sigguard *g);
/* writev (pwritev2 with RWF_NOWAIT when nowait) on a pipe or FIFO, under
 * a SIGPIPE hold of its own unless the caller holds one (sigpipe.c). */
ssize_t ipk__pipe_writev(const struct ipk_chan *c, const struct iovec *iov,
                         int n, bool nowait);
/* Make fd blocking and mark c IPK__BLOCKFD (socket and pipe channels). */
int ipk__set_blockfd(struct ipk_chan *c);

/* A call on c may block in the kernel: no deadline, no cancel, and fd
 * blocking.  Otherwise the call says MSG_DONTWAIT (or RWF_NOWAIT). */
static inline bool
ipk__may_block(const struct ipk_chan *c, int64_t deadline)
{
	return (c->flags & IPK__BLOCKFD) && deadline == IPK_NEVER &&
	       c->cancel < 0;
}
/* MSG_DONTWAIT unless the call may block. */
static inline int
ipk__msg_nowait(const struct ipk_chan *c, int64_t deadline)
{
	return ipk__may_block(c, deadline) ? 0 : MSG_DONTWAIT;
}
/* When the frame being read must be whole (0: no limit, or none begun);
 * a frame may take ?frame= ms plus IPK__FRAME_MS_PER_MIB per MiB. */
int64_t ipk__rx_frame_end(struct ipk_chan *c);
#define IPK__FRAME_MS_PER_MIB 1000

/*
 * Byte streams (pipe, fifo, unix, tcp).  ipk__stream_send writes the
 * frames of msgs (or raw bytes) whole, finishing an earlier partial frame
 * first; it returns how many messages it sent or a negative errno when it
 * sent none.  ipk__stream_recv returns one message (see ipk_recv).
 */
int ipk__stream_send(struct ipk_chan *c, const struct iovec *msgs, size_t n,
                     int64_t deadline);
int ipk__stream_send1(struct ipk_chan *c, const struct ipk_msg *m,
                      int64_t deadline);
ssize_t ipk__stream_recv(struct ipk_chan *c, struct ipk_msg *m,
                         int64_t deadline);
/*
 * A hook into the stream receiver for what rides beside the bytes
 * (src/sock/fdstream.c: descriptors).  read replaces read(2); deliver
 * hands out a whole frame of len bytes (see ipk__rx_take); eof is told
 * when the stream ends.  io.c knows nothing else of them.
 */
struct ipk__rxhook {
	ssize_t (*read)(struct ipk_chan *c, char *at, size_t len, bool block,
	                void *ctx);
	ssize_t (*deliver)(struct ipk_chan *c, struct ipk_msg *m, size_t len,
	                   void *ctx);
	void (*eof)(void *ctx);
	void *ctx;
};
ssize_t ipk__stream_recv_hook(struct ipk_chan *c, struct ipk_msg *m,
                              int64_t deadline, const struct ipk__rxhook *h);
/* io.c's pieces that fdstream.c shares (see there for each). */
void ipk__io_advance(struct iovec **iov, int *n, size_t r);
int ipk__io_write_all(struct ipk_chan *c, struct iovec *iov, int n,
                      int64_t deadline, size_t *done);
int ipk__io_pend(struct ipk_chan *c, const struct iovec *m, size_t skip);
int ipk__io_check_size(const struct ipk_chan *c, size_t len);
int ipk__io_errno_peer(int e);
/* Copy a whole message out of c->rx (skip header bytes first). */
ssize_t ipk__rx_take(struct ipk_chan *c, struct ipk_msg *m, size_t skip,
                     size_t len);
/* One read into c->rx (room for need unread bytes): 0 at EOF, >0, <0. */
ssize_t ipk__rx_fill(struct ipk_chan *c, size_t need, int64_t deadline,
                     const struct ipk__rxhook *h);
/*
 * chunk.c: messages above PIPE_BUF on a stream with several writers go
 * as atomic chunks, so a writer that dies leaves whole chunks only and
 * the reader can tell its message was cut.  send continues at *off.
 */
int ipk__chunk_send(struct ipk_chan *c, const char *buf, size_t len,
                    size_t *off, int64_t deadline);
ssize_t ipk__chunk_recv(struct ipk_chan *c, struct ipk_msg *m,
                        int64_t deadline);
/* Write what a timed-out send left; 0 when nothing is left. */
int ipk__stream_flush(struct ipk_chan *c, int64_t deadline);
/*
 * A reset from the kernel (-ECONNRESET): the peer gone between messages
 * is -EPIPE, except after our ipk_shutdown, when it tells that the peer
 * closed without reading what we sent.
 */
int ipk__reset_err(const struct ipk_chan *c, int rc);
/* True while a partial frame waits in c->rx. */
bool ipk__stream_midframe_rx(const struct ipk_chan *c);
/* The length the partial frame in c->rx announces (0: none known yet). */
size_t ipk__stream_announced(const struct ipk_chan *c);
void ipk__stream_free(struct ipk_chan *c);

/*
 * Names without a slash live in the private runtime directory
 * ($XDG_RUNTIME_DIR/ipckit or /tmp/ipckit-EUID, mode 0700, checked).
 * Writes the full path to out; -ENAMETOOLONG, -EPERM (unsafe dir).
 */
int ipk__runtime_path(const char *name, char *out, size_t size);

/*
 * A POSIX IPC name (mq, shm, sem): one leading slash and no other, not
 * "/", "/." or "/..", at most maxlen bytes after the slash.
 */
int ipk__posix_name(const char *name, size_t maxlen);

/*
 * Owner records (owner.c): a file per object in <runtime dir>/owners/,
 * OFD-locked while the owner lives, so `ipckit ls` tells live from
 * stale.  ipk__owner_new takes the URL a peer dials; NULL when there is
 * none (kernel-freed objects, IPC_PRIVATE) or it could not be written,
 * which never fails the caller.  ipk__owner_free removes the record when
 * called by the process that made it (a forked child only lets go).
 */
struct ipk__owner *ipk__owner_new(const char *url);
struct ipk__owner *ipk__owner_listen(const struct ipk_chan *c);
void ipk__owner_free(struct ipk__owner *ow);

/* Owner-only checks on an open object: -EPERM when not ours or too open. */
int ipk__check_owner(const struct stat *st, mode_t want);

#endif
