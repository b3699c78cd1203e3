/*
 * targets.h - what `ipckit bench` measures, one line a row: the ipckit
 * URLs and the raw baseline of the same mechanism.  "{path}" becomes a
 * fresh path, "{key}" a fresh number and "{port}" 0 (the kernel picks;
 * the dialer asks ipk_name).  A one-way transport (pipe, fifo) names a
 * second URL for the way back.  timeout > 0 pins a row to that finite
 * timeout: sysvmsg waits differently with one (a thread of the channel
 * blocks in msgrcv and wakes the receive through an eventfd).  shm runs
 * twice: its default (adaptive: spins, then sleeps on a futex) and
 * ?wait=spin; both beside the raw spin ring.  sysvshm runs its default
 * and ?wait=sleep, beside a raw semop ping-pong over the same rings.
 */
#ifndef IPK_BENCH_TARGETS_H
#define IPK_BENCH_TARGETS_H

#include "raw/raw.h"

struct bench_target {
	const char *name;
	const char *fwd;  /* listen URL (pair URL when pair is set) */
	const char *back; /* second channel for replies; NULL when duplex */
	int pair;         /* made with ipk_pair before fork */
	int accept;       /* the listener accepts a connection */
	const struct raw_mech *raw;
	int timeout; /* 0: the run's timeout (-1 unless --timeout) */
	int sized;   /* 1 mq: msgsize = the message size; 2 shm: ring size */
};

#define BENCH_TIMED_MS 1000

extern const struct raw_mech raw_redis;
extern char raw_redis_fwd[], raw_redis_back[];

static const struct bench_target bench_targets[] = {
        {"pipe", "pipe:", "pipe:", 1, 0, &raw_pipe, 0, 0},
        {"fifo", "fifo:{path}-a", "fifo:{path}-b", 0, 0, &raw_fifo, 0, 0},
        {"fifo-single", "fifo:{path}-a?single", "fifo:{path}-b?single", 0, 0,
         &raw_fifo, 0, 0},
        {"unix", "unix:{path}.sock", 0, 0, 1, &raw_unix, 0, 0},
        {"unixpacket", "unixpacket:{path}.pkt", 0, 0, 1, &raw_unixpacket, 0, 0},
        {"unixgram", "unixgram:{path}.gram", 0, 0, 0, &raw_unixgram, 0, 0},
        {"tcp", "tcp://127.0.0.1:{port}", 0, 0, 1, &raw_tcp, 0, 0},
        {"udp", "udp://127.0.0.1:{port}", 0, 0, 0, &raw_udp, 0, 0},
        {"mq", "mq:/ipk-bench-{key}-a", "mq:/ipk-bench-{key}-b", 0, 0, &raw_mq,
         0, 1},
        {"sysvmsg", "sysvmsg:{key}", "sysvmsg:-{key}", 0, 0, &raw_sysvmsg, 0,
         0},
        {"sysvmsg", "sysvmsg:{key}", "sysvmsg:-{key}", 0, 0, &raw_sysvmsg,
         BENCH_TIMED_MS, 0},
        {"shm", "shm:/ipk-bench-{key}", 0, 0, 0, &raw_shm, 0, 2},
        {"shm-spin", "shm:/ipk-bench-{key}?wait=spin", 0, 0, 0, &raw_shm, 0, 2},
        {"sysvshm", "sysvshm:{key}", 0, 0, 0, &raw_sysvshm, 0, 2},
        {"sysvshm-sleep", "sysvshm:{key}?wait=sleep", 0, 0, 0, &raw_sysvshm, 0,
         2},
#ifdef IPK_HAVE_REDIS /* URLs filled by raw/redis.c once a server is up */
        {"redis", raw_redis_fwd, raw_redis_back, 0, 0, &raw_redis, 0, 0},
#endif
};

#define BENCH_NTARGETS (sizeof(bench_targets) / sizeof(bench_targets[0]))

#endif
