/*
 * contract_urls.h - every transport the contract suite runs, one row
 * each.  "{path}" becomes a fresh path under /tmp and "{key}" a fresh
 * number (unique per test process), so tests run side by side.  With
 * CT_SERVER, "{port}" is the port of the redis-server the suite starts.
 */
#ifndef IPK_CONTRACT_URLS_H
#define IPK_CONTRACT_URLS_H

#include <stddef.h>

enum {
	CT_PAIR = 1u << 0,    /* made by ipk_pair: a receives, b sends */
	CT_ACCEPT = 1u << 1,  /* the listener accepts a connection */
	CT_DUPLEX = 1u << 2,  /* the receiving side can answer */
	CT_NO_EOF = 1u << 3,  /* the receiver outlives its writers (fifo) */
	CT_NO_PEER = 1u << 4, /* no peer to lose (queues): skip peer-gone */
	CT_SERVER = 1u << 5,  /* {port}: a redis-server of the test's own */
};

struct ct_target {
	const char *name;
	const char *listen; /* or the pair URL with CT_PAIR */
	const char *dial;
	unsigned flags;
	size_t max; /* the largest message of these URLs */
};

static const struct ct_target ct_targets[] = {
        {"pipe", "pipe:?max=1048576", NULL, CT_PAIR, 1048576},
        {"fifo", "fifo:{path}?max=1048576", "fifo:{path}?max=1048576",
         CT_NO_EOF, 1048576},
        {"unix", "unix:{path}?max=1048576", "unix:{path}?max=1048576",
         CT_ACCEPT | CT_DUPLEX, 1048576},
        {"unixpacket", "unixpacket:{path}?max=131072",
         "unixpacket:{path}?max=131072", CT_ACCEPT | CT_DUPLEX, 131072},
        {"unixgram", "unixgram:{path}?max=131072", "unixgram:{path}?max=131072",
         CT_DUPLEX | CT_NO_EOF, 131072},
        {"tcp", "tcp://127.0.0.1:{port}?max=1048576",
         "tcp://127.0.0.1:{port}?max=1048576", CT_ACCEPT | CT_DUPLEX, 1048576},
        {"udp", "udp://127.0.0.1:{port}?max=65507",
         "udp://127.0.0.1:{port}?max=65507", CT_DUPLEX | CT_NO_EOF, 65507},
        {"sysvmsg", "sysvmsg:{key}?send=2&recv=1",
         "sysvmsg:{key}?send=1&recv=2", CT_DUPLEX | CT_NO_PEER, 8192},
        {"mq", "mq:/ipk-test-{key}?msgsize=8192", "mq:/ipk-test-{key}",
         CT_NO_PEER, 8192},
        {"shm", "shm:/ipk-test-{key}?size=4194304&max=1048576",
         "shm:/ipk-test-{key}?max=1048576", CT_DUPLEX | CT_NO_EOF, 1048576},
        {"shm-spin", "shm:/ipk-test-{key}?wait=spin&size=4194304&max=1048576",
         "shm:/ipk-test-{key}?wait=spin&max=1048576", CT_DUPLEX | CT_NO_EOF,
         1048576},
        {"shm-sleep", "shm:/ipk-test-{key}?wait=sleep&size=4194304&max=1048576",
         "shm:/ipk-test-{key}?wait=sleep&max=1048576", CT_DUPLEX | CT_NO_EOF,
         1048576},
        {"sysvshm", "sysvshm:{key}?size=4194304&max=1048576",
         "sysvshm:{key}?max=1048576", CT_DUPLEX | CT_NO_EOF, 1048576},
        {"sysvshm-sleep", "sysvshm:{key}?wait=sleep&size=4194304&max=1048576",
         "sysvshm:{key}?wait=sleep&max=1048576", CT_DUPLEX | CT_NO_EOF,
         1048576},
#ifdef IPK_HAVE_REDIS
        /* A durable queue: the stream and group outlive the listener, so
         * cleanup checks descriptors only (as for the key-named rows). */
        {"redis", "redis://127.0.0.1:{port}/ipk-test-{key}?max=1048576",
         "redis://127.0.0.1:{port}/ipk-test-{key}?max=1048576",
         CT_NO_PEER | CT_SERVER, 1048576},
#endif
};

#define CT_NTARGETS (sizeof(ct_targets) / sizeof(ct_targets[0]))

#endif
