/*
 * recv.h - what recv.c and recvconn.c share: the state of one `ipckit
 * recv` run and receiving one message into it.
 */
#ifndef IPK_CLI_RECV_H
#define IPK_CLI_RECV_H

#include "cli.h"

#define RECV_MAXFDS 16

struct recv_ctx {
	const struct cli_opts *o;
	struct cli_out out;
	struct ipk_msg m;
	struct ipk_peer peer;
	int fds[RECV_MAXFDS];
	size_t cap;
	long long got;  /* messages written */
	long long lost; /* messages or connections lost, each reported */
	int out_err;    /* the output failed: stop */
	bool raw, meta;
};

/* Receive one message from ch and write it: 0, or a negative errno
 * (r->out_err set when it was the output that failed). */
int recv_one(struct recv_ctx *r, ipk_chan *ch, int timeout_ms);
/* -n reached, a signal, or the output failed. */
bool recv_done(const struct recv_ctx *r);
/* Report an error that cost one message or connection but not the
 * whole run (counted in r->lost). */
void recv_lost(struct recv_ctx *r, ipk_chan *ch, int err);
/* Serve a listener that accepts connections, first (may be NULL)
 * already accepted: until -n, a signal, the timeout, or (?raw) the
 * last peer's EOF. */
int recv_many(struct recv_ctx *r, ipk_chan *l, ipk_chan *first);

#endif
