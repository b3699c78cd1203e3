/*
 * raw.h - the baselines: each mechanism's exchange with bare system
 * calls, as a careful plain program writes it.  prepare() runs in the
 * coordinator before the fork, open() in each child (role 0 driver, 1
 * server), cleanup() in the coordinator after both have exited.
 */
#ifndef IPK_BENCH_RAW_H
#define IPK_BENCH_RAW_H

#include "../bench.h"

#include <stdbool.h>

struct raw_mech;

struct raw_setup {
	const struct raw_mech *mech;
	size_t size;
	int timeout;       /* -1: block in the receive call; else wait first */
	int fd[4];         /* made before the fork; -1 unused */
	long id[2];        /* queue ids or descriptors: [0] forward, [1] back */
	char name[2][100]; /* paths or queue names */
	void *map;         /* shm: the shared mapping */
};

struct raw_mech {
	const char *name;
	int family, type; /* sockets only */
	bool zero_copy;   /* its ops have reserve/commit and peek/release */
	int (*prepare)(struct raw_setup *s);
	int (*open)(struct raw_setup *s, int role, struct bench_link *l);
	void (*cleanup)(struct raw_setup *s);
	/* Rows that need a server (redis): 0 when it is ready, else the
	 * row is left out.  NULL: none needed. */
	int (*server)(const struct bench_opts *o);
};

extern const struct raw_mech raw_pipe, raw_fifo, raw_unix, raw_unixpacket,
        raw_unixgram, raw_tcp, raw_udp, raw_mq, raw_sysvmsg, raw_shm,
        raw_sysvshm;

/* shm: bytes of each ring for messages of size (ipckit's ?size= too):
 * 1 MiB, ipckit's default, or 4 messages, a power of two. */
static inline size_t
bench_ring_bytes(size_t size)
{
	size_t r = 1u << 20;
	while (r < 4 * size)
		r *= 2;
	return r;
}

/* common.c */
/* One run of m's baseline for case c (coordinator side). */
int bench_raw_run(const struct raw_mech *m, const struct bench_case *c,
                  struct bench_run *r);
void raw_init(struct raw_setup *s, const struct raw_mech *m, size_t size,
              int timeout);
/* A fresh name for endpoint i: "/tmp/ipk-raw-PID-N-i" (mq: no /tmp). */
void raw_name(struct raw_setup *s, int i, bool path);
/* poll fd for input up to ms: 0, -ETIMEDOUT or -errno. */
int raw_wait(int fd, int ms);
/* Close every s->fd but keep (-1: none). */
void raw_close_fds(struct raw_setup *s, int keep1, int keep2);
/* A link over descriptors: a length-prefixed byte stream read through a
 * 64 KiB buffer, or one datagram per call. */
int raw_fd_link(struct bench_link *l, int rfd, int wfd, bool stream,
                int timeout);

/* sock.c: socket mechanisms (unix, unixpacket, tcp; unixgram, udp) */
int raw_sock_listen(struct raw_setup *s);
int raw_sock_connect(struct raw_setup *s, int role, struct bench_link *l);
int raw_sock_dgram(struct raw_setup *s);
int raw_sock_dgram_open(struct raw_setup *s, int role, struct bench_link *l);
void raw_sock_cleanup(struct raw_setup *s);

#endif
