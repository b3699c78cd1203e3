/*
 * relay.h - what the files of `ipckit relay` share: the two sides named
 * on the command line, the ends a pair of them opens (a channel or the
 * command's stdio), and the one-message buffer of each direction that
 * is all the relay ever holds (relay.c the loop, relayend.c one end,
 * relaypair.c the pairs and the poll set).
 */
#ifndef IPK_CLI_RELAY_H
#define IPK_CLI_RELAY_H

#include "cli.h"

#include <poll.h>
#include <stdint.h>

#define RELAY_PIECE 65536     /* stdin read, stdio:?raw message */
#define RELAY_OUT_STEP 4096   /* stdout write: fits what POLLOUT promises */
#define RELAY_BACKOFF_MIN 100 /* ms before the first redial */
#define RELAY_BACKOFF_MAX 5000
#define RELAY_DIAL_TIMEOUT 2000 /* ms one dial may wait (--timeout) */
#define RELAY_BURST 64          /* messages per direction per round */

/* FROM or TO as given on the command line. */
struct rside {
	const char *url;
	const char *what; /* "FROM" or "TO", for messages */
	char scheme[16];  /* "" for stdio: */
	bool listen;      /* made by us (ipk_listen), not dialled */
	bool stdio, raw;
	bool conn;    /* a connection transport: unix unixpacket tcp */
	bool outpoll; /* POLLOUT on ipk_fd says when a send can go */
	ipk_chan *l;  /* the listener, when this side accepts */
};

/* What brings an end back when it goes down. */
enum rrestore {
	RESTORE_NONE,   /* nothing: its pair ends */
	RESTORE_DIAL,   /* dial again, with backoff */
	RESTORE_ACCEPT, /* the next connection of the side's listener */
	RESTORE_FATAL,  /* a listener we made: losing it ends the relay */
};

/* Standard input split into lines (stdio: without ?raw). */
struct rlines {
	char *buf;
	size_t len, off, cap;
	bool eof;
};

/* One end of a pair: a channel (NULL while down) or stdio. */
struct rend {
	struct rside *side;
	ipk_chan *ch;
	enum rrestore restore;
	bool up;
	bool may_read; /* a receive may find something: poll said so */
	bool blocked;  /* a send found no room: wait for POLLOUT or a tick */
	bool tail;     /* the library holds part of a message sent */
	bool reported; /* its going down was reported (once per outage) */
	bool shared;   /* many pairs use it (fan-in, one at a time) */
	bool watching; /* polled only for its peer's close */
	int backoff;   /* ms until the next dial */
	int64_t retry_at;
	struct rlines in;
};

/* One direction of a pair, and the one message it may hold. */
struct rdir {
	struct rend *src, *dst;
	bool on;
	char *buf;
	size_t cap, len, off; /* off: bytes of it stdout has taken */
	size_t size;          /* the payload's bytes (len less a newline) */
	bool full;
	long type;
	unsigned prio;
	bool eof;  /* the source ended: pass a half-close on once empty */
	bool done; /* passed on (or nothing to pass): no more traffic */
	int idx;   /* 0 FROM -> TO, 1 back */
};

struct rpair {
	struct rend *a, *b; /* a on FROM's side, b on TO's */
	struct rdir ab, ba;
	bool dead;
};

enum rtopo {
	TOPO_SINGLE, /* one pair of two channels (or stdio) */
	TOPO_FANIN,  /* FROM accepts; each connection into one TO */
	TOPO_PAIRS,  /* FROM accepts; each connection dials its own TO */
	TOPO_ONE,    /* a side accepts one connection at a time */
};

struct rcount {
	long long msgs[2], bytes[2], drops, conns;
};

struct relay {
	struct rside from, to;
	bool both, duplex, json, help;
	int timeout; /* ms one dial may wait */
	int stats_s; /* --stats: seconds, 0 none */
	enum rtopo topo;
	struct rend *shared; /* the end every pair shares, or NULL */
	struct rpair **p;
	size_t n, cap;
	struct pollfd *pf;
	struct rend **pend; /* pf[i] belongs to pend[i] (NULL: listener) */
	size_t npf, pfcap;
	struct rcount c;
	int err; /* what ends the relay, 0 while it runs */
};

/* relayend.c */
int64_t relay_now(void);
int end_open(struct relay *r, struct rend *e);
void end_down(struct relay *r, struct rend *e, int err);
void end_free(struct rend *e);
int end_get(struct rdir *d);
int end_put(struct rdir *d);
int end_flush(struct rend *e);
int end_shutdown(struct rend *e);
int end_fd(const struct rend *e, bool out);
bool end_gone(int err);
void relay_report(const struct rside *s, const char *what, int err);

/* relaypair.c */
struct rpair *pair_new(struct relay *r, struct rend *a, struct rend *b);
void pair_free(struct relay *r, struct rpair *p);
bool pair_serve(struct relay *r, struct rpair *p);
void pair_reap(struct relay *r);
int pair_accept(struct relay *r, struct rside *s);
int relay_poll(struct relay *r, int timeout_ms, int tick_ms);

#endif
