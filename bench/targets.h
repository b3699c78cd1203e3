/*
 * targets.h - what `ipckit bench` measures, one row a transport.
 * "{path}" becomes a fresh path, "{key}" a fresh number and "{port}" a
 * loopback port.  A one-way transport (pipe, fifo) names a second URL for
 * the way back.
 */
#ifndef IPK_BENCH_TARGETS_H
#define IPK_BENCH_TARGETS_H

struct bench_target {
	const char *name;
	const char *fwd;  /* listen URL (pair URL when pair is set) */
	const char *back; /* second channel for replies; NULL when duplex */
	int pair;         /* made with ipk_pair before fork */
	int accept;       /* the listener accepts a connection */
};

static const struct bench_target bench_targets[] = {
        {"pipe", "pipe:", "pipe:", 1, 0},
        {"fifo", "fifo:{path}-a", "fifo:{path}-b", 0, 0},
        {"sysvmsg", "sysvmsg:{key}", "sysvmsg:-{key}", 0, 0},
        {"mq", "mq:/ipk-bench-{key}-a", "mq:/ipk-bench-{key}-b", 0, 0},
        {"unix", "unix:{path}.sock", 0, 0, 1},
        {"unixpacket", "unixpacket:{path}.pkt", 0, 0, 1},
        {"unixgram", "unixgram:{path}.gram", 0, 0, 0},
        {"tcp", "tcp://127.0.0.1:{port}", 0, 0, 1},
        {"udp", "udp://127.0.0.1:{port}", 0, 0, 0},
};

#define BENCH_NTARGETS (sizeof(bench_targets) / sizeof(bench_targets[0]))

#endif
